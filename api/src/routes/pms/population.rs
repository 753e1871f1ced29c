//! `GET /api/staff/prisons/{prison_id}/pms/population`: the PMS's latest population snapshot of
//! the prison against Saldo's placements now: who is in one and not the other, who Saldo places
//! in another prison. Person ids only.
use axum::Json;
use axum::extract::State;

use crate::auth::{CaseReaders, RequireRole};
use crate::problem::Problem;
use crate::services::pms_feed::{self, PopulationDifferences};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/pms/population",
    tag = "pms feed",
    description = "Roles: officer, finance, finance_approver in the path's prison. 404 before the \
        PMS has sent a population snapshot of the prison.",
    params(("prison_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The differences", body = PopulationDifferences),
        (status = 404, description = "not_found: no snapshot yet", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
) -> Result<Json<PopulationDifferences>, Problem> {
    let prison_id = access.prison()?;
    pms_feed::differences(&state, prison_id)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("population snapshot"))
}
