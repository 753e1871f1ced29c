//! `GET /api/staff/processor-events/parked?limit=`: authentic processor events acknowledged but
//! not booked (an unknown card, a clearing or refund of zero, an amount beyond the currency's
//! bound), newest first, for staff to settle. The ids, the amount and why: never the merchant.
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::auth::{OutboxOperators, RequireRole};
use crate::http::ApiQuery;
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParkedQuery {
    /// 1 to 500 (default 100).
    #[serde(default)]
    limit: Option<i64>,
}

/// A parked event as staff see it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ParkedEvent {
    #[schema(example = "msg_2Yx")]
    pub webhook_id: String,
    #[schema(example = "transaction.clearing")]
    pub event_type: String,
    #[schema(format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: time::OffsetDateTime,
    /// Why it was not booked: `unknown_card`, `zero_amount` or `amount_beyond_bound`.
    #[schema(example = "amount_beyond_bound")]
    pub detail: Option<String>,
    #[schema(example = "txn_123")]
    pub transaction_id: Option<String>,
    pub authorization_id: Option<String>,
    #[schema(example = "card_123")]
    pub card_id: Option<String>,
    /// As the processor sent it, in minor units.
    #[schema(example = 9223372036854775807_i64)]
    pub amount_minor: Option<i64>,
    #[schema(example = "EUR")]
    pub currency: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ParkedEvents {
    pub parked_events: Vec<ParkedEvent>,
}

#[utoipa::path(
    get,
    path = "/api/staff/processor-events/parked",
    tag = "outbox",
    description = "Roles: admin, finance, finance_approver (in any prison: the processor's \
                   events are service-wide).",
    params(ParkedQuery),
    responses((status = 200, description = "Parked events, newest first", body = ParkedEvents)),
)]
pub async fn list(
    State(state): State<AppState>,
    _access: RequireRole<OutboxOperators>,
    ApiQuery(query): ApiQuery<ParkedQuery>,
) -> Result<Json<ParkedEvents>, Problem> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::bad_request("invalid_query", "limit is 1 to 500"));
    }
    let client = state.pool.get().await?;
    let events = card_adapter::process::parked_events(&client, limit)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "parked events unavailable");
            Problem::internal()
        })?;
    Ok(Json(ParkedEvents {
        parked_events: events
            .into_iter()
            .map(|event| ParkedEvent {
                webhook_id: event.webhook_id,
                event_type: event.event_type,
                received_at: event.received_at,
                detail: event.detail,
                transaction_id: event.transaction_id,
                authorization_id: event.authorization_id,
                card_id: event.card_id,
                amount_minor: event.amount_minor,
                currency: event.currency,
            })
            .collect(),
    }))
}
