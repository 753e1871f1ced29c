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

use card_adapter::outbox::Retry;

use super::dead_letters::DeadLetter;
use crate::app::AppState;
use crate::auth::{OutboxOperators, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;

#[derive(Deserialize)]
pub struct RetryPath {
    outbox_id: Uuid,
}

fn superseded() -> Problem {
    Problem::conflict(
        "call_superseded",
        "a later call for the same card's state was queued or delivered since: this one is \
         stale and is not sent",
    )
}

/// Requeues one dead call; `Ok(None)` when there is no dead call with that id; `409
/// call_superseded` for a card-state call a later one replaced.
pub async fn requeue(
    state: &AppState,
    staff_id: Uuid,
    outbox_id: Uuid,
) -> Result<Option<DeadLetter>, Problem> {
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let retried = card_adapter::outbox::retry_dead(&tx, outbox_id)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "dead letter retry failed");
            Problem::internal()
        })?;
    let call = match retried {
        Retry::Requeued(call) => call,
        Retry::NotDead => return Ok(None),
        Retry::Superseded(call) => {
            // Kept, marked for staff to see: not sent, not deleted.
            tx.commit().await?;
            tracing::info!(
                outbox_id = %outbox_id,
                staff.id = %staff_id,
                outbox.superseded_by = ?call.superseded_by,
                "stale card-state call not requeued: superseded"
            );
            return Err(superseded());
        }
    };
    tx.execute(
        "insert into audit.staff_actions (id, staff_id, action, outbox_id)
         values ($1, $2, 'dead_letter_retry', $3)",
        &[&Uuid::now_v7(), &staff_id, &outbox_id],
    )
    .await?;
    tx.commit().await?;
    state.outbox_wake.wake();
    tracing::info!(
        outbox_id = %outbox_id,
        staff.id = %staff_id,
        outbox.staff_retries = call.staff_retries,
        outbox.idempotency_round = call.idempotency_round,
        "dead processor call requeued"
    );
    Ok(Some(call.into()))
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
