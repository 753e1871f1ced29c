//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/subject-access`: everything held
//! about the person, as JSON (auditors; logged as a data subject request).
use axum::Json;
use axum::extract::State;

use super::PersonPath;
use crate::app::AppState;
use crate::auth::{Auditors, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/subject-access", tag = "privacy", description = "Role: auditor in the path's prison. Identity, accounts, transactions, card decisions, consultations, disclosures to the processor. Logged (data_subject_request).", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)), responses((status = 200, description = "The export", body = serde_json::Value)),
)]
pub async fn subject_access_export(
    State(state): State<AppState>,
    access: RequireRole<Auditors>,
    ApiPath(path): ApiPath<PersonPath>,
) -> Result<Json<serde_json::Value>, Problem> {
    let export = super::build(&state, &access, path.person_id).await?;
    Ok(Json(
        serde_json::to_value(export).map_err(|_| Problem::internal())?,
    ))
}
