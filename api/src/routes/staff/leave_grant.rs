//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/leave`: an officer grants a leave.
//! In `[from, until)` the card works outside within the leave's limits; before and after, it
//! behaves as inside by itself.
use axum::Json;
use axum::extract::State;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::problem::Problem;
use crate::services::lifecycle::{LeaveRequest, PlacementView, grant_checked};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/leave",
    tag = "lifecycle",
    description = "Role: officer in the path's prison. Grants a leave in [from, until). Idempotent \
        on the key (409 idempotency_conflict for another body under it).",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = LeaveRequest,
    responses(
        (status = 200, description = "The card's placement with the leave", body = PlacementView),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "leave_overlaps (a leave is granted that has not ended: end it first), mode_conflict (frozen or released card), idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "leave_invalid, limit_invalid, idempotency_key_invalid, no_policy (no limits given and the prison has no policy)", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn grant(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<LeaveRequest>,
) -> Result<Json<PlacementView>, Problem> {
    let prison_id = access.prison()?;
    grant_checked(&state, &access.staff, prison_id, path.person_id, &request)
        .await
        .map(Json)
        .map_err(Problem::from)
}
