//! `POST /api/staff/dead-letters/{outbox_id}/retry`: puts a dead processor call back in the
//! queue, due now, and answers it as it is then (follow it with
//! `GET /api/staff/dead-letters/{outbox_id}`). A call the processor refused with a 4xx is sent
//! under a key of this retry's own, as the processor would replay its refusal for the old key; any
//! other keeps its key, so a call that did reach the processor is not repeated there
//! (`card_adapter::outbox::retry_dead`). The staff action is recorded in the same transaction.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::dead_letters::DeadLetter;
use crate::app::AppState;
use crate::auth::{OutboxOperators, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;

#[derive(Deserialize)]
pub struct RetryPath {
    outbox_id: Uuid,
}

/// Requeues one dead call; `Ok(None)` when there is no dead call with that id.
pub async fn requeue(
    state: &AppState,
    staff_id: Uuid,
    outbox_id: Uuid,
) -> Result<Option<DeadLetter>, Problem> {
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let requeued = card_adapter::outbox::retry_dead(&tx, outbox_id)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "dead letter retry failed");
            Problem::internal()
        })?;
    let Some(call) = requeued else {
        return Ok(None);
    };
    tx.execute(
        "insert into audit.staff_actions (id, staff_id, action, outbox_id)
         values ($1, $2, 'dead_letter_retry', $3)",
        &[&Uuid::now_v7(), &staff_id, &outbox_id],
    )
    .await?;
    tx.commit().await?;
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
    description = "Roles: admin, finance, finance_approver (in any prison). 404 when no dead call has that id.",
    params(("outbox_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Queued again: the call now (`pending`, attempts 0, due now)", body = DeadLetter)),
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
