//! Replacement cards (protocol §2.2, `POST /v1/cards/{card_id}/reissue`), queued through the
//! outbox in the caller's transaction like every other call to the processor.
use deadpool_postgres::Transaction;
use processor_protocol::ReissueReason;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::booking::BookingResult;
use crate::outbox;

/// The outbox operation name of a reissue call.
pub const OPERATION: &str = "reissue_card";

/// Queues a replacement of `card_id`. `request_id` makes the call's idempotency key, so the same
/// request queued twice is one call.
pub async fn request_reissue(
    tx: &Transaction<'_>,
    card_id: &str,
    person_id: Option<Uuid>,
    reason: ReissueReason,
    request_id: Uuid,
) -> BookingResult<()> {
    outbox::enqueue(
        tx,
        &format!("ri_{}", request_id.simple()),
        OPERATION,
        &Method::POST,
        &format!("/v1/cards/{card_id}/reissue"),
        Some(&json!({"reason": reason.as_str()})),
        person_id,
    )
    .await
}
