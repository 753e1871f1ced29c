//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}`: a prisoner's record (logged).
use axum::Json;
use axum::extract::State;

use super::PrisonerPath;
use crate::auth::{CaseReaders, RequireRole};
use crate::http::{ApiPath, StatedPurpose};
use crate::identity::{self, PrisonerField, PrisonerView};
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}", tag = "prisoners", description = "Roles: officer, finance, finance_approver in the path's prison.", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: a code from the closed list (access log)", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference", pattern = r"^[A-Za-z0-9_./-]{1,64}$")), responses((status = 200, description = "The record", body = crate::identity::PrisonerView)),
)]
pub async fn show(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
) -> Result<Json<PrisonerView>, Problem> {
    let prison_id = access.prison()?;
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::consult_prisoner(
        &tx,
        &who,
        Some(prison_id),
        path.person_id,
        &PrisonerField::RECORD,
    )
    .await?;
    tx.commit().await?;
    found
        .map(Json)
        .ok_or_else(|| crate::services::no_such_prisoner().into())
}
