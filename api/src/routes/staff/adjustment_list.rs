//! `GET /api/staff/prisons/{prison_id}/adjustments?state=proposed&limit=`: a prison's adjustment
//! proposals, newest first, for the makers and the approvers.
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::auth::{FinanceStaff, RequireRole};
use crate::http::ApiQuery;
use crate::problem::Problem;
use crate::services::adjustments::{self, Proposal};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `proposed`, `approved` or `rejected`; all when absent.
    #[serde(default)]
    state: Option<String>,
    /// 1 to 500 (default 100).
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProposalList {
    pub adjustments: Vec<Proposal>,
}

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/adjustments",
    tag = "adjustments",
    description = "Roles: finance, finance_approver in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path), ListQuery),
    responses((status = 200, description = "Proposals, newest first", body = ProposalList)),
)]
pub async fn list(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ProposalList>, Problem> {
    let prison_id = access.prison()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::bad_request("invalid_query", "limit is 1 to 500"));
    }
    if let Some(state) = query.state.as_deref()
        && !matches!(state, "proposed" | "approved" | "rejected")
    {
        return Err(Problem::bad_request(
            "invalid_query",
            "state is proposed, approved or rejected",
        ));
    }
    let client = state.pool.get().await?;
    let adjustments = adjustments::list(&client, prison_id, query.state.as_deref(), limit).await?;
    Ok(Json(ProposalList { adjustments }))
}
