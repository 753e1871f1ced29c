//! `POST /api/staff/dead-letters/{outbox_id}/retry`: puts a dead processor call back in the
//! queue (same idempotency key, so a call that did reach the processor is not repeated there).
//! The staff action is recorded in the same transaction.
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{OutboxOperators, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;

#[derive(Deserialize)]
pub struct RetryPath {
    outbox_id: Uuid,
}

/// Requeues one dead call; `Ok(false)` when there is no dead call with that id.
pub async fn requeue(state: &AppState, staff_id: Uuid, outbox_id: Uuid) -> Result<bool, Problem> {
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let requeued = card_adapter::outbox::retry_dead(&tx, outbox_id)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "dead letter retry failed");
            Problem::internal()
        })?;
    if !requeued {
        return Ok(false);
    }
    tx.execute(
        "insert into audit.staff_actions (id, staff_id, action, outbox_id)
         values ($1, $2, 'dead_letter_retry', $3)",
        &[&Uuid::now_v7(), &staff_id, &outbox_id],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(outbox_id = %outbox_id, staff.id = %staff_id, "dead processor call requeued");
    Ok(true)
}

#[utoipa::path(
    post,
    path = "/api/staff/dead-letters/{outbox_id}/retry",
    tag = "outbox",
    description = "Roles: admin, finance, finance_approver (in any prison). 404 when no dead call has that id.",
    params(("outbox_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Queued again")),
)]
pub async fn retry(
    State(state): State<AppState>,
    access: RequireRole<OutboxOperators>,
    ApiPath(path): ApiPath<RetryPath>,
) -> Result<StatusCode, Problem> {
    if requeue(&state, access.staff.id, path.outbox_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("dead letter"))
    }
}
