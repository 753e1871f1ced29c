//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/release`: an officer releases a
//! prisoner. The release savings move to spendable (or are paid out to the payout account on
//! record), the card works as a normal card within its balance until the end of the grace period
//! (the end of the month after the release month, the prison's local time), and the identity
//! record notes the release (its retention counts from it).
use axum::Json;
use axum::extract::State;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::problem::Problem;
use crate::services::lifecycle::{ReleaseRequest, Released, release_checked};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/release",
    tag = "lifecycle",
    description = "Role: officer in the path's prison. Releases the prisoner: release savings to \
        spendable or paid out, card in released mode until the end of the month after this one \
        (the prison's local time), the release noted on the identity record. Idempotent on the \
        key; another release of a released prisoner is 409 mode_conflict.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = ReleaseRequest,
    responses(
        (status = 200, description = "Released", body = Released),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "mode_conflict (already released), idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "payout_account_missing, idempotency_key_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn release(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<ReleaseRequest>,
) -> Result<Json<Released>, Problem> {
    let prison_id = access.prison()?;
    release_checked(&state, &access.staff, prison_id, path.person_id, &request)
        .await
        .map(Json)
        .map_err(Problem::from)
}
