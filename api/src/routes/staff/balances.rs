//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/balances`: posted, held and
//! available per sub-account. Consulting a prisoner's money is logged like their record.
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use super::PrisonerPath;
use crate::auth::{CaseReaders, RequireRole};
use crate::http::{ApiPath, StatedPurpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::services::balances::{SubAccountBalance, balances_of};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Balances {
    pub person_id: Uuid,
    pub accounts: Vec<SubAccountBalance>,
}

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/balances", tag = "prisoners", description = "Roles: officer, finance, finance_approver in the path's prison.", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: a code from the closed list (access log)", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference", pattern = r"^[A-Za-z0-9_./-]{1,64}$")), responses((status = 200, description = "Posted, held and available per sub-account", body = Balances)),
)]
pub async fn show(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
) -> Result<Json<Balances>, Problem> {
    let prison_id = access.prison()?;
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::consult_prisoner(
        &tx,
        &who,
        Some(prison_id),
        path.person_id,
        &[PrisonerField::Balances],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    let accounts = balances_of(&tx, path.person_id).await?;
    tx.commit().await?;
    Ok(Json(Balances {
        person_id: path.person_id,
        accounts,
    }))
}
