//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/subject-access`: everything held
//! about the person, as JSON (auditors; logged as a data subject request).
use axum::Json;
use axum::extract::State;

use super::PersonPath;
use crate::auth::{Auditors, RequireRole};
use crate::http::{ApiPath, StatedPurpose};
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/subject-access", tag = "privacy", description = "Role: auditor in the path's prison. Identity, accounts, transactions, card decisions, consultations, disclosures to the processor. Logged under the stated purpose and case reference; 400 purpose_required, purpose_invalid, case_ref_invalid.", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: data_subject_request, audit or complaint (access log)", pattern = r"^(data_subject_request|audit|complaint)$"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference (access log)", pattern = r"^[A-Za-z0-9_./-]{1,64}$")), responses((status = 200, description = "The export", body = serde_json::Value)),
)]
pub async fn subject_access_export(
    State(state): State<AppState>,
    access: RequireRole<Auditors>,
    ApiPath(path): ApiPath<PersonPath>,
    stated: StatedPurpose,
) -> Result<Json<serde_json::Value>, Problem> {
    let export = super::build(&state, &access, stated, path.person_id).await?;
    Ok(Json(
        serde_json::to_value(export).map_err(|_| Problem::internal())?,
    ))
}
