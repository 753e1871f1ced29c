//! `GET /api/staff/dead-letters?limit=`: processor calls the outbox parked as dead, newest first;
//! `GET /api/staff/dead-letters/{outbox_id}`: one of them, or one staff put back, as it is now
//! (so a retry can be followed to its delivery). Only the operation, method, path, attempts,
//! error code and status and the times are shown: never the body or whose call it was.
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{OutboxOperators, RequireRole};
use crate::http::{ApiPath, ApiQuery};
use crate::problem::Problem;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// 1 to 500 (default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

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

fn outbox_unavailable(error: card_adapter::booking::BookingError) -> Problem {
    tracing::error!(error.code = error.code(), "dead letters unavailable");
    Problem::internal()
}

/// The dead calls, reduced to what staff may see.
pub async fn load(state: &AppState, limit: i64) -> Result<Vec<DeadLetter>, Problem> {
    let client = state.pool.get().await?;
    let calls = card_adapter::outbox::dead_letters(&client, limit)
        .await
        .map_err(outbox_unavailable)?;
    Ok(calls.into_iter().map(DeadLetter::from).collect())
}

#[utoipa::path(
    get,
    path = "/api/staff/dead-letters",
    tag = "outbox",
    description = "Roles: admin, finance, finance_approver (in any prison: the outbox is service-wide).",
    params(DeadLetterQuery),
    responses((status = 200, description = "Dead calls, newest first", body = DeadLetters)),
)]
pub async fn list(
    State(state): State<AppState>,
    _access: RequireRole<OutboxOperators>,
    ApiQuery(query): ApiQuery<DeadLetterQuery>,
) -> Result<Json<DeadLetters>, Problem> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::bad_request("invalid_query", "limit is 1 to 500"));
    }
    Ok(Json(DeadLetters {
        dead_letters: load(&state, limit).await?,
    }))
}

#[derive(Deserialize)]
pub struct DeadLetterPath {
    outbox_id: Uuid,
}

#[utoipa::path(
    get,
    path = "/api/staff/dead-letters/{outbox_id}",
    tag = "outbox",
    description = "Roles: admin, finance, finance_approver (in any prison). A dead call, or one staff put back, as it is now: `pending` with its next attempt, `sending`, `delivered`, `dead` again, or `superseded` (a later call for the same card's state replaced it). 404 for any other id.",
    params(("outbox_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The call now", body = DeadLetter)),
)]
pub async fn show(
    State(state): State<AppState>,
    _access: RequireRole<OutboxOperators>,
    ApiPath(path): ApiPath<DeadLetterPath>,
) -> Result<Json<DeadLetter>, Problem> {
    let client = state.pool.get().await?;
    match card_adapter::outbox::dead_letter(&client, path.outbox_id)
        .await
        .map_err(outbox_unavailable)?
    {
        Some(call) => Ok(Json(call.into())),
        None => Err(Problem::not_found("dead letter")),
    }
}
