//! `POST /api/staff/dead-letters/{outbox_id}/retry`: puts a dead processor call back in the
//! queue, due now, and answers it as it is then (follow it with
//! `GET /api/staff/dead-letters/{outbox_id}`). A call the processor refused with a 4xx is sent
//! under a key of this retry's own, as the processor would replay its refusal for the old key; any
//! other keeps its key, so a call that did reach the processor is not repeated there
//! (`card_adapter::outbox::retry_dead`). The staff action is recorded in the same transaction.
//! A card-state call that a later one for the same card replaced is not put back: sending it
//! would override the newer instruction (a stale freeze pausing a card unfrozen since), so it is
//! kept as `superseded` and the answer is `409 call_superseded`.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{OutboxOperators, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::dead_letters::{DeadLetter, requeue};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct RetryPath {
    outbox_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/api/staff/dead-letters/{outbox_id}/retry",
    tag = "outbox",
    description = "Roles: admin, finance, finance_approver (in any prison). 404 when no dead call has that id. 409 call_superseded for a card-state call that a later one for the same card replaced (queued or delivered since): it is not sent, and shows as `superseded`.",
    params(("outbox_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Queued again: the call now (`pending`, attempts 0, due now)", body = DeadLetter),
        (status = 409, description = "call_superseded: a later call for the same card's state replaced it", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn retry(
    State(state): State<AppState>,
    access: RequireRole<OutboxOperators>,
    ApiPath(path): ApiPath<RetryPath>,
) -> Result<Json<DeadLetter>, Problem> {
    match requeue(&state, access.staff.id, path.outbox_id).await? {
        Some(call) => Ok(Json(call)),
        None => Err(Problem::not_found("dead letter")),
    }
}
