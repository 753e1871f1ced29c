//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/bank-reference`: the prisoner's
//! structured reference (ISO 11649 `RF…`) that families quote when they pay by bank transfer to
//! the trust account (docs/payouts.md). Random, issued on first asking; it reveals nothing about
//! the person. Consulted like the record (logged).
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use super::PrisonerPath;
use crate::auth::{CaseReaders, RequireRole};
use crate::http::{ApiPath, StatedPurpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct BankReference {
    pub person_id: Uuid,
    /// Normal form: what the bank statement carries.
    #[schema(example = "RF18539007547034")]
    pub reference: String,
    /// Grouped by four, for printing and reading aloud.
    #[schema(example = "RF18 5390 0754 7034")]
    pub reference_grouped: String,
}

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/bank-reference", tag = "payouts",
    description = "Roles: officer, finance, finance_approver in the path's prison. The prisoner's \
        structured creditor reference for family bank transfers (issued on first asking).",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: a code from the closed list (access log)", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference", pattern = r"^[A-Za-z0-9_./-]{1,64}$")),
    responses(
        (status = 200, description = "The reference", body = BankReference),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
) -> Result<Json<BankReference>, Problem> {
    let prison_id = access.prison()?;
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::consult_prisoner(
        &tx,
        &who,
        Some(prison_id),
        path.person_id,
        &[PrisonerField::Placement],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    let reference =
        crate::services::bank_rail::reference_of(&tx, path.person_id, &access.staff.id.to_string())
            .await?;
    tx.commit().await?;
    Ok(Json(BankReference {
        person_id: path.person_id,
        reference_grouped: ledger::rf_reference::grouped(&reference),
        reference,
    }))
}
