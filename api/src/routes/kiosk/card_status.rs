//! What the kiosk shows about the card: its mode and what is left of this week's limit.
//!
//! Read from the spending controls (`card_adapter::controls::kiosk_limits`).
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct CardStatus {
    /// `inside`, `leave`, `released`, `frozen` or `closed`; `None` without a placement.
    pub mode: Option<String>,
    /// What may still be spent this week (the prison's local week); `None` while unknown.
    pub weekly_limit_left: Option<ledger::Money>,
}

/// The card's status for a person: its mode now, and the room left in this (local) week.
pub async fn card_status(
    client: &impl deadpool_postgres::GenericClient,
    person_id: Uuid,
) -> CardStatus {
    use ledger::controls::EffectiveMode;
    let now = time::OffsetDateTime::now_utc();
    match card_adapter::controls::kiosk_limits(client, person_id, now).await {
        Ok(Some(limits)) => CardStatus {
            mode: Some(
                match limits.mode {
                    EffectiveMode::Inside => "inside",
                    EffectiveMode::Leave { .. } => "leave",
                    EffectiveMode::Released => "released",
                    EffectiveMode::Frozen => "frozen",
                    EffectiveMode::ReleaseEnded => "closed",
                }
                .to_owned(),
            ),
            weekly_limit_left: limits.room.week,
        },
        Ok(None) => CardStatus::default(),
        Err(error) => {
            tracing::warn!(error.code = error.code(), "kiosk card status unavailable");
            CardStatus::default()
        }
    }
}
