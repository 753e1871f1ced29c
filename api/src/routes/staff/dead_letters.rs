//! `GET /api/staff/dead-letters?limit=`: processor calls the outbox parked as dead, newest first.
//! Only the operation, method, path, attempt count and error code are shown: never the body or
//! whose call it was.
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{OutboxOperators, RequireRole};
use crate::http::ApiQuery;
use crate::problem::Problem;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// 1 to 500 (default 100).
    #[serde(default)]
    limit: Option<i64>,
}

/// A dead call as staff see it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: Uuid,
    #[schema(example = "set_card_state")]
    pub operation: String,
    #[schema(example = "POST")]
    pub method: String,
    #[schema(example = "/v1/cards/card_123/state")]
    pub path: String,
    pub attempts: i32,
    /// An error code such as `egress_personal_value` or `http_409`.
    pub last_error: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadLetters {
    pub dead_letters: Vec<DeadLetter>,
}

/// The dead calls, reduced to what staff may see.
pub async fn load(state: &AppState, limit: i64) -> Result<Vec<DeadLetter>, Problem> {
    let client = state.pool.get().await?;
    let calls = card_adapter::outbox::dead_letters(&client, limit)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "dead letters unavailable");
            Problem::internal()
        })?;
    Ok(calls
        .into_iter()
        .map(|call| DeadLetter {
            id: call.id,
            operation: call.operation,
            method: call.method,
            path: call.path,
            attempts: call.attempts,
            last_error: call.last_error,
        })
        .collect())
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
