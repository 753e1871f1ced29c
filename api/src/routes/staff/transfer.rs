//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/transfer`: an officer of the
//! origin prison moves a prisoner to another prison. In one transaction the card is placed at the
//! destination under its policy (balances untouched, a running leave or freeze stays) and the
//! identity record moves too: from then on the destination's staff see the prisoner and the
//! origin's no longer do.
use axum::Json;
use axum::extract::State;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::problem::Problem;
use crate::services::lifecycle::{TransferRequest, Transferred, transfer_checked};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/transfer",
    tag = "lifecycle",
    description = "Role: officer in the path's (origin) prison; none is needed at the destination. \
        Moves the card's placement and the identity record to the destination prison. Idempotent \
        on the key: a repeat returns the first answer although the prisoner has left the path's \
        prison.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "Transferred", body = Transferred),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "person_released (admit them again instead), idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "prison_unknown, transfer_same_prison, unit_invalid, idempotency_key_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn transfer(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<TransferRequest>,
) -> Result<Json<Transferred>, Problem> {
    let prison_id = access.prison()?;
    transfer_checked(&state, &access.staff, prison_id, path.person_id, &request)
        .await
        .map(Json)
        .map_err(Problem::from)
}
