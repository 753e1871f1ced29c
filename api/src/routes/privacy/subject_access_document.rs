//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/subject-access.txt`: the same
//! export as a readable plain-text document for the person.
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::PersonPath;
use crate::auth::{Auditors, RequireRole};
use crate::http::{ApiPath, StatedPurpose};
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/subject-access.txt", tag = "privacy", description = "Role: auditor in the path's prison. The subject-access export as a plain-text document. Logged under the stated purpose and case reference; 400 purpose_required, purpose_invalid, case_ref_invalid.", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: data_subject_request, audit or complaint (access log)", pattern = r"^(data_subject_request|audit|complaint)$"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference (access log)", pattern = r"^[A-Za-z0-9_./-]{1,64}$")), responses((status = 200, description = "The document", body = String, content_type = "text/plain")),
)]
pub async fn subject_access_document(
    State(state): State<AppState>,
    access: RequireRole<Auditors>,
    ApiPath(path): ApiPath<PersonPath>,
    stated: StatedPurpose,
) -> Result<Response, Problem> {
    let export = super::build(&state, &access, stated, path.person_id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::identity::subject_access::render_text(&export),
    )
        .into_response())
}
