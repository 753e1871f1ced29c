//! `POST /webhooks/pms`: a signed batch of the PMS's lifecycle events. Verified first (Standard
//! Webhooks, `SALDO_PMS_SECRETS`), then every event is checked (one bad event refuses the batch
//! and nothing is stored), stored durably and idempotently by `event_id`, and only then applied
//! and answered.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::problem::Problem;
use crate::services::pms_feed::{self, BatchReceived, EventBatch};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/webhooks/pms",
    tag = "pms feed",
    description = "The prison-management system's signed event feed (docs/pms-feed.md, \
        docs/pms-feed.schema.json). Standard Webhooks signature with a secret of \
        SALDO_PMS_SECRETS (401 signature_mismatch, webhook_timestamp_out_of_tolerance, \
        no_secrets). 1 to 200 events; at-least-once and in any order: a repeated event_id with \
        the same body changes nothing (409 event_id_conflict with another body; 409 \
        sequence_taken when another event has that person's sequence). 422 pms_event_invalid, \
        prison_unknown and the identity store's own codes (name_invalid…): nothing is stored.",
    params(("webhook-id" = String, Header), ("webhook-timestamp" = String, Header),
           ("webhook-signature" = String, Header)),
    request_body = EventBatch,
    responses(
        (status = 200, description = "Stored: each event's status (applied, pending, review)", body = BatchReceived),
        (status = 401, description = "Not signed by the feed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "event_id_conflict, sequence_taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "pms_event_invalid, pms_batch_invalid, prison_unknown, …", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<BatchReceived>, Problem> {
    super::verify(&state.pms_feed, &headers, &body)?;
    let batch: EventBatch = super::read_json(&body)?;
    Ok(Json(
        pms_feed::receive(&state, &state.pms_feed, batch).await?,
    ))
}
