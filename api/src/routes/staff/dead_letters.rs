//! `GET /api/staff/dead-letters?limit=`: processor calls the outbox parked as dead, newest first;
//! `GET /api/staff/dead-letters/{outbox_id}`: one of them, or one staff put back, as it is now
//! (so a retry can be followed to its delivery). Only the operation, method, path, attempts,
//! error code and status and the times are shown: never the body or whose call it was.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{OutboxOperators, RequireRole};
use crate::http::{ApiPath, ApiQuery};
use crate::problem::Problem;
use crate::services::dead_letters::{DeadLetter, DeadLetters, load, outbox_unavailable};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// 1 to 500 (default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
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
