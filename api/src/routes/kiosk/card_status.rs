//! What the kiosk shows about the card: its mode and what is left of this week's limit.
//!
//! A placeholder until the spending-controls work (ledger/src/controls) stores modes and limits:
//! [`card_status`] is the one place that will read them; the page already renders both fields.
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct CardStatus {
    /// e.g. `closed`, `open`, `leave`, `released`; `None` while controls are not wired in.
    pub mode: Option<String>,
    /// What may still be spent this week (the prison's local week); `None` while unknown.
    pub weekly_limit_left: Option<ledger::Money>,
}

/// The card's status for a person. Replace the body when controls land; keep the signature.
pub async fn card_status(
    _client: &impl deadpool_postgres::GenericClient,
    _person_id: Uuid,
) -> CardStatus {
    CardStatus::default()
}
