//! What the kiosk shows about the card: its mode and what is left of this week's limit.
//!
//! Read from the spending controls (`card_adapter::controls::kiosk_limits`).
use uuid::Uuid;

use super::i18n::ModeShown;

#[derive(Debug, Clone, Default)]
pub struct CardStatus {
    /// `None` without a placement.
    pub mode: Option<ModeShown>,
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
            mode: Some(match limits.mode {
                EffectiveMode::Inside => ModeShown::Inside,
                EffectiveMode::Leave { .. } => ModeShown::Leave,
                EffectiveMode::Released => ModeShown::Released,
                EffectiveMode::Frozen => ModeShown::Frozen,
                EffectiveMode::ReleaseEnded => ModeShown::Closed,
            }),
            weekly_limit_left: limits.room.week,
        },
        Ok(None) => CardStatus::default(),
        Err(error) => {
            tracing::warn!(error.code = error.code(), "kiosk card status unavailable");
            CardStatus::default()
        }
    }
}

/// A card payment as the prisoner sees it: where, how much, and what was decided.
#[derive(Debug, Clone)]
pub struct CardPayment {
    pub at: time::OffsetDateTime,
    /// The merchant's name as the processor sent it; `None` until the request or advice came.
    pub merchant: Option<String>,
    pub requested: ledger::Money,
    /// `APPROVE`, `DECLINE`, or `None` while only later events have been seen.
    pub decision: Option<String>,
    /// The stored reason key of a decline (or partial approval).
    pub reason_key: Option<String>,
}

/// The person's newest card payments, approved and declined, over all their cards.
pub async fn recent_card_payments(
    client: &impl deadpool_postgres::GenericClient,
    person_id: Uuid,
    count: i64,
) -> Result<Vec<CardPayment>, crate::problem::Problem> {
    let rows = client
        .query(
            "select a.created_at, a.merchant ->> 'name' as merchant, a.currency::text as currency,
                    a.requested_minor,
                    a.decision, a.reason_key
               from card.authorizations a
               join card.cards c on c.card_id = a.card_id
              where c.person_id = $1
              order by a.created_at desc, a.authorization_id desc
              limit $2",
            &[&person_id, &count],
        )
        .await?;
    let mut payments = Vec::with_capacity(rows.len());
    for row in rows {
        let code: String = row.get("currency");
        let Ok(currency) = ledger::Currency::from_code(&code) else {
            // The webhook accepts only supported currencies; a row outside them is not shown.
            continue;
        };
        payments.push(CardPayment {
            at: row.get("created_at"),
            merchant: row.get("merchant"),
            requested: ledger::Money::new(row.get("requested_minor"), currency),
            decision: row.get("decision"),
            reason_key: row.get("reason_key"),
        });
    }
    Ok(payments)
}
