//! `POST /api/staff/prisons/{prison_id}/pms/events/{event_id}/replay` and `…/dismiss`: an
//! officer acts on a feed event in review. Replay applies it again (its cause fixed: a prison
//! created, a policy published…); dismiss drops it for good. Either is recorded with the member
//! of staff, and the person's later events then apply in their order.
use axum::Json;
use axum::extract::State;

use super::EventPath;
use crate::auth::{Officers, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::pms_feed::{self, EventReceived, ReviewAction};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/pms/events/{event_id}/replay",
    tag = "pms feed",
    description = "Role: officer in the path's prison. Applies an event in review again; it may \
        land in review again with a new reason. 404 when the prison has no such event in review.",
    params(("prison_id" = uuid::Uuid, Path), ("event_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The event's status after the replay", body = EventReceived),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn replay(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<EventPath>,
) -> Result<Json<EventReceived>, Problem> {
    act(&state, &access, path, ReviewAction::Replay).await
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/pms/events/{event_id}/dismiss",
    tag = "pms feed",
    description = "Role: officer in the path's prison. Dismisses an event in review: it never \
        applies, its sealed body is deleted, the person's next event becomes due. 404 when the \
        prison has no such event in review.",
    params(("prison_id" = uuid::Uuid, Path), ("event_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The event, dismissed", body = EventReceived),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn dismiss(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<EventPath>,
) -> Result<Json<EventReceived>, Problem> {
    act(&state, &access, path, ReviewAction::Dismiss).await
}

async fn act(
    state: &AppState,
    access: &RequireRole<Officers>,
    path: EventPath,
    action: ReviewAction,
) -> Result<Json<EventReceived>, Problem> {
    let prison_id = access.prison()?;
    Ok(Json(
        pms_feed::act_on_review(state, access.staff.id, prison_id, path.event_id, action).await?,
    ))
}
