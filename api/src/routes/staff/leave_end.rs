//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/leave/end`: the prisoner came back
//! (or the leave is called off before it starts): the card is inside at once.
use axum::Json;
use axum::extract::State;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PrisonerPath;
use super::lifecycle::{self, PlacementView};
use crate::app::AppState;
use crate::auth::{Officers, RequireRole, Staff};
use crate::http::ApiPath;
use crate::problem::Problem;

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
}

/// Ends the leave of a prisoner whose card is placed in the prison (logged, one transaction).
/// Shared with the staff pages.
pub async fn end_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
) -> Result<PlacementView, Problem> {
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    if lifecycle::gate(&tx, staff, prison_id, person_id, &[])
        .await?
        .is_none()
    {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    }
    // Refused `mode_conflict` unless the card is on leave: a repeat changes nothing.
    let placement = ledger::lifecycle::end_leave(&tx, person_id, &staff.id.to_string())
        .await
        .map_err(lifecycle::refused)?;
    lifecycle::sync_fence(&tx, person_id).await?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "leave ended");
    Ok(PlacementView::of(&placement, OffsetDateTime::now_utc()))
}
