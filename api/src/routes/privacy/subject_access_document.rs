//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/subject-access.txt`: the same
//! export as a readable plain-text document for the person.
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::PersonPath;
use crate::app::AppState;
use crate::auth::{Auditors, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/subject-access.txt", tag = "privacy", description = "Role: auditor in the path's prison. The subject-access export as a plain-text document. Logged (data_subject_request).", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)), responses((status = 200, description = "The document", body = String, content_type = "text/plain")),
)]
pub async fn subject_access_document(
    State(state): State<AppState>,
    access: RequireRole<Auditors>,
    ApiPath(path): ApiPath<PersonPath>,
) -> Result<Response, Problem> {
    let export = super::build(&state, &access, path.person_id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::privacy::subject_access::render_text(&export),
    )
        .into_response())
}
