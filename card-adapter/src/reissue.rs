//! Replacement cards (protocol §2.2, `POST /v1/cards/{card_id}/reissue`), queued through the
//! outbox in the caller's transaction like every other call to the processor.
use deadpool_postgres::Transaction;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::booking::BookingResult;
use crate::outbox;

/// Why a card is replaced: the processor's closed list. `Lost` and `Stolen` close the old card at
/// once; the others keep it usable until the new one is activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReissueReason {
    Lost,
    Stolen,
    Damaged,
    Expired,
}

impl ReissueReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ReissueReason::Lost => "LOST",
            ReissueReason::Stolen => "STOLEN",
            ReissueReason::Damaged => "DAMAGED",
            ReissueReason::Expired => "EXPIRED",
        }
    }
}

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
