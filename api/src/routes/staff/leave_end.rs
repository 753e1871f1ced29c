//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/leave/end`: the prisoner came back
//! (or the leave is called off before it starts): the card is inside at once.
use axum::Json;
use axum::extract::State;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::lifecycle::{PlacementView, end_checked};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/leave/end",
    tag = "lifecycle",
    description = "Role: officer in the path's prison. Ends the card's leave (running or still to \
        come): inside at once. A repeat finds no leave: 409 mode_conflict, nothing changed.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The card's placement, inside", body = PlacementView),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "mode_conflict: the card is not on leave", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn end(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
) -> Result<Json<PlacementView>, Problem> {
    let prison_id = access.prison()?;
    end_checked(&state, &access.staff, prison_id, path.person_id)
        .await
        .map(Json)
        .map_err(Problem::from)
}
