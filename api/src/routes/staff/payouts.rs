//! `GET /api/staff/prisons/{prison_id}/payouts?pending=`: the prison's payouts by bank transfer
//! (release payouts and returns of money Saldo could not take), with their state. Ids and
//! amounts only: the payees' names and accounts stay in the identity store.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::auth::{FinanceStaff, RequireRole};
use crate::http::ApiQuery;
use crate::problem::Problem;
use crate::services::bank_rail::{PayoutView, list_payouts};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PayoutQuery {
    /// `true`: only those in no payment file yet.
    #[serde(default)]
    pub pending: bool,
}

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/payouts", tag = "payouts",
    description = "Roles: finance, finance_approver in the path's prison. Payouts by bank \
        transfer, oldest first (at most 500): pending (in no file yet), in_file, settled (the \
        bank's debit is on a statement) or returned.",
    params(("prison_id" = uuid::Uuid, Path), PayoutQuery),
    responses((status = 200, description = "The payouts", body = Vec<PayoutView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
    ApiQuery(query): ApiQuery<PayoutQuery>,
) -> Result<Json<Vec<PayoutView>>, Problem> {
    let prison_id = access.prison()?;
    Ok(Json(
        list_payouts(&state.pool, prison_id, query.pending).await?,
    ))
}
