//! The processors Saldo talks to (`card.processors`, V22). Every card, outbox call, inbox message
//! and egress register row names one. `p1` is the default: the processor configured by
//! `SALDO_PROCESSOR_URL` / `SALDO_WEBHOOK_SECRETS`, whose webhooks arrive at
//! `/webhooks/processor`, and the processor of everything recorded before V22. Others are added
//! by configuration (`SALDO_PROCESSORS`) and registered here when Saldo starts.
use deadpool_postgres::GenericClient;

use crate::booking::BookingResult;

/// The default processor's id.
pub const DEFAULT_PROCESSOR: &str = "p1";

/// Where a processor stands in a switch-over (`card.processors.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorStatus {
    /// New cards are issued there.
    Active,
    /// Its cards are being moved away; its authorizations are still decided.
    Draining,
    /// Every card moved and closed there.
    Closed,
}

impl crate::states::Named for ProcessorStatus {
    const SET: &'static str = "processor status";
    const ALL: &'static [ProcessorStatus] = &[
        ProcessorStatus::Active,
        ProcessorStatus::Draining,
        ProcessorStatus::Closed,
    ];

    fn name(self) -> &'static str {
        match self {
            ProcessorStatus::Active => "active",
            ProcessorStatus::Draining => "draining",
            ProcessorStatus::Closed => "closed",
        }
    }
}

/// A processor id is 1 to 16 of `[a-z0-9_]`, starting with a letter (it is a path segment of
/// the webhook route and part of idempotency keys).
pub fn is_valid_id(processor_id: &str) -> bool {
    let mut bytes = processor_id.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && processor_id.len() <= 16
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Registers a configured processor (nothing if it is known already).
pub async fn register(client: &impl GenericClient, processor_id: &str) -> BookingResult<()> {
    if !is_valid_id(processor_id) {
        return Err(ledger::LedgerError::invalid(
            "invalid_processor_id",
            "a processor id is 1 to 16 of a-z, 0-9 and _, starting with a letter",
        )
        .into());
    }
    client
        .execute(
            "insert into card.processors (processor_id) values ($1)
             on conflict (processor_id) do nothing",
            &[&processor_id],
        )
        .await?;
    Ok(())
}

/// Where new cards are issued: the default processor while it is `active`, else the processor
/// registered last that is (once a switch-over started, new admissions get their card at the
/// new processor); the default when none is.
pub async fn issuing(client: &impl GenericClient) -> BookingResult<String> {
    let statement = client
        .prepare_cached(
            "select processor_id from card.processors where status = 'active'
             order by processor_id = $1 desc, created_at desc, processor_id limit 1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&DEFAULT_PROCESSOR])
        .await?
        .map_or_else(
            || DEFAULT_PROCESSOR.to_owned(),
            |row| row.get("processor_id"),
        ))
}

/// A processor's status; `None` if it is not registered.
pub async fn status(
    client: &impl GenericClient,
    processor_id: &str,
) -> BookingResult<Option<ProcessorStatus>> {
    use crate::states::Named;
    let row = client
        .query_opt(
            "select status from card.processors where processor_id = $1",
            &[&processor_id],
        )
        .await?;
    Ok(row
        .map(|row| ProcessorStatus::from_name(row.get("status")))
        .transpose()?)
}

/// Sets a processor's status (a switch-over marks the old one draining, then closed).
pub async fn set_status(
    client: &impl GenericClient,
    processor_id: &str,
    status: ProcessorStatus,
) -> BookingResult<()> {
    use crate::states::Named;
    client
        .execute(
            "update card.processors set status = $2, status_changed_at = now()
             where processor_id = $1 and status <> $2",
            &[&processor_id, &status.name()],
        )
        .await?;
    Ok(())
}

/// The processors a message names, in one round trip: the card's, and the card's of an
/// authorization already recorded under that id (`card.authorizations` is keyed by the
/// processor's authorization id: one processor must not reuse, or answer for, another's).
pub async fn of_card_and_authorization(
    client: &impl GenericClient,
    card_id: &str,
    authorization_id: Option<&str>,
) -> BookingResult<(Option<String>, Option<String>)> {
    let statement = client
        .prepare_cached(
            "select (select processor_id from card.cards where card_id = $1) as card_processor,
                    (select c.processor_id from card.authorizations a
                     join card.cards c on c.card_id = a.card_id
                     where a.authorization_id = $2) as authorization_processor",
        )
        .await?;
    let row = client
        .query_one(&statement, &[&card_id, &authorization_id])
        .await?;
    Ok((
        row.get("card_processor"),
        row.get("authorization_processor"),
    ))
}

/// `key` made unique across processors: another processor's carries its id (`p2:<key>`); the
/// default processor's keeps its form from before there were two.
pub fn qualified(processor_id: &str, key: &str) -> String {
    if processor_id == DEFAULT_PROCESSOR {
        key.to_owned()
    } else {
        format!("{processor_id}:{key}")
    }
}

/// Whether Saldo has ever known a processor besides the default (`card.processors`, where
/// `saldo serve` registers each configured one): only then can a message be about another
/// processor's card.
pub async fn any_besides_default(client: &impl GenericClient) -> BookingResult<bool> {
    let statement = client
        .prepare_cached("select exists (select 1 from card.processors where processor_id <> $1)")
        .await?;
    Ok(client
        .query_one(&statement, &[&DEFAULT_PROCESSOR])
        .await?
        .get(0))
}

/// The processor a card is at; `None` for a card Saldo does not know.
pub async fn of_card(client: &impl GenericClient, card_id: &str) -> BookingResult<Option<String>> {
    let statement = client
        .prepare_cached("select processor_id from card.cards where card_id = $1")
        .await?;
    Ok(client
        .query_opt(&statement, &[&card_id])
        .await?
        .map(|row| row.get("processor_id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processor_ids_are_short_lower_case_tokens() {
        for good in ["p1", "p2", "nordic_2027", "a"] {
            assert!(is_valid_id(good), "{good}");
        }
        for bad in [
            "",
            "P1",
            "1p",
            "p-2",
            "p/2",
            "a_very_long_processor_id",
            "p 2",
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
