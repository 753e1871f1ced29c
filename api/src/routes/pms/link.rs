//! `PUT /api/staff/prisons/{prison_id}/prisoners/{person_id}/pms-reference`: an officer links
//! the prison-management system's reference to a prisoner admitted before the feed named them,
//! so the feed's events for that reference (from `next_sequence` on) apply to them. Events that
//! were waiting for the reference apply at once.
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::problem::Problem;
use crate::services::pms_feed::{self, LinkRequest};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PrisonerPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    person_id: Uuid,
}

#[utoipa::path(
    put,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/pms-reference",
    tag = "pms feed",
    description = "Role: officer in the path's prison. Logged as a change of pms_reference. \
        409 person_ref_linked (the reference names a person already, or its events went past \
        next_sequence), person_linked (the prisoner has another reference); 422 \
        person_ref_invalid, sequence_invalid.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = LinkRequest,
    responses(
        (status = 204, description = "Linked; waiting events applied"),
        (status = 404, description = "not_found: no such prisoner in this prison", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "person_ref_linked, person_linked", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn link(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<LinkRequest>,
) -> Result<StatusCode, Problem> {
    let prison_id = access.prison()?;
    pms_feed::link(&state, &access.staff, prison_id, path.person_id, &request).await?;
    Ok(StatusCode::NO_CONTENT)
}
