//! Card processor calls that gave up: listing them and putting one back in the queue.
use crate::services::ServiceError;
use crate::state::AppState;
use card_adapter::outbox::Retry;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Parked: it will not be sent again unless staff retry it.
    Dead,
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// A worker has it at the processor now.
    Sending,
    /// The processor answered with success.
    Delivered,
    /// Never sent again: a later call for the same card's state was queued or delivered after
    /// it (`superseded_by`), so sending it would override a newer instruction.
    Superseded,
}

/// A dead call (or one staff put back) as staff see it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: Uuid,
    #[schema(example = "set_card_state")]
    pub operation: String,
    #[schema(example = "POST")]
    pub method: String,
    #[schema(example = "/v1/cards/card_123/state")]
    pub path: String,
    pub state: CallState,
    /// Attempts since the call was queued, or since staff last put it back; it is parked after
    /// 12, or at once on a refusal.
    #[schema(minimum = 0, maximum = 12)]
    pub attempts: i32,
    /// Times staff put it back after it was parked.
    #[schema(minimum = 0)]
    pub staff_retries: i32,
    /// The code of the last failure, such as `invalid_state_transition` (the processor's),
    /// `transient` (429, 5xx or no answer) or `egress_personal_value` (refused before sending).
    /// Kept after a later success, as history.
    pub last_error: Option<String>,
    /// The processor's HTTP status of that failure; null when no answer came or nothing was
    /// sent.
    #[schema(minimum = 100, maximum = 599)]
    pub last_error_status: Option<i32>,
    /// When the last attempt started.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// When the next attempt is due: only while `pending`.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<OffsetDateTime>,
    /// For a `superseded` call: the later call that replaced it.
    pub superseded_by: Option<Uuid>,
}

impl From<card_adapter::outbox::OutboxCall> for DeadLetter {
    fn from(call: card_adapter::outbox::OutboxCall) -> DeadLetter {
        let state = match call.state.as_str() {
            "delivered" => CallState::Delivered,
            "superseded" => CallState::Superseded,
            "pending" if call.in_flight => CallState::Sending,
            "pending" => CallState::Pending,
            _ => CallState::Dead,
        };
        DeadLetter {
            id: call.id,
            operation: call.operation,
            method: call.method,
            path: call.path,
            state,
            attempts: call.attempts,
            staff_retries: call.staff_retries,
            last_error: call.last_error,
            last_error_status: call.last_error_status,
            last_attempt_at: call.last_attempt_at,
            next_attempt_at: (state == CallState::Pending).then_some(call.next_attempt_at),
            delivered_at: call.delivered_at,
            superseded_by: call.superseded_by,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadLetters {
    pub dead_letters: Vec<DeadLetter>,
}

pub fn outbox_unavailable(error: card_adapter::booking::BookingError) -> ServiceError {
    tracing::error!(error.code = error.code(), "dead letters unavailable");
    ServiceError::Internal
}

/// The dead calls, reduced to what staff may see.
pub async fn load(state: &AppState, limit: i64) -> Result<Vec<DeadLetter>, ServiceError> {
    let client = state.pool.get().await?;
    let calls = card_adapter::outbox::dead_letters(&client, limit)
        .await
        .map_err(outbox_unavailable)?;
    Ok(calls.into_iter().map(DeadLetter::from).collect())
}

pub fn superseded() -> ServiceError {
    ServiceError::conflict(
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
) -> Result<Option<DeadLetter>, ServiceError> {
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let retried = card_adapter::outbox::retry_dead(&tx, outbox_id)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "dead letter retry failed");
            ServiceError::Internal
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
