//! The inbox of processor messages (`card.inbox`): every authentic message is recorded once, by
//! its `webhook-id`, in the transaction that acts on it. Below `authorization`, `decisions` and
//! `process`, which all record what became of a message here.

use std::collections::HashSet;

use axum::body::Bytes;
use deadpool_postgres::{GenericClient, Transaction};

use crate::booking::BookingResult;

/// An authentic message as it came off the wire.
#[derive(Debug, Clone)]
pub struct InboxMessage<'a> {
    /// The processor that sent it (webhook ids are unique per processor only).
    pub processor_id: &'a str,
    pub webhook_id: &'a str,
    pub webhook_timestamp: i64,
    pub event_type: &'a str,
    pub body: &'a [u8],
}

/// An [`InboxMessage`] that owns its parts, for a queue that outlives the handler's borrow (the
/// decision and clearing workers).
pub struct OwnedInboxMessage {
    processor_id: String,
    webhook_id: String,
    webhook_timestamp: i64,
    event_type: String,
    body: Bytes,
}

impl OwnedInboxMessage {
    /// `body` is the message's body as received, shared rather than copied.
    pub fn new(message: &InboxMessage<'_>, body: Bytes) -> OwnedInboxMessage {
        OwnedInboxMessage {
            processor_id: message.processor_id.to_owned(),
            webhook_id: message.webhook_id.to_owned(),
            webhook_timestamp: message.webhook_timestamp,
            event_type: message.event_type.to_owned(),
            body,
        }
    }

    pub fn message(&self) -> InboxMessage<'_> {
        InboxMessage {
            processor_id: &self.processor_id,
            webhook_id: &self.webhook_id,
            webhook_timestamp: self.webhook_timestamp,
            event_type: &self.event_type,
            body: &self.body,
        }
    }
}

/// What became of an asynchronous message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    Duplicate,
    Ignored,
    /// Authentic but not bookable (e.g. an unknown card): kept in the inbox for staff.
    Rejected,
}

impl Applied {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Applied::Applied => "applied",
            Applied::Duplicate => "duplicate",
            Applied::Ignored => "ignored",
            Applied::Rejected => "rejected",
        }
    }
}

/// A webhook's advisory-lock key, as SQL over its processor and webhook id expressions: one
/// webhook's deliveries are applied one at a time, by whichever path takes them (one event, or a
/// batch of clearings), so both paths build their key here. A macro, so that each statement
/// stays one literal.
macro_rules! webhook_lock_key {
    ($processor_id:literal, $webhook_id:literal) => {
        concat!(
            "hashtextextended(",
            $processor_id,
            " || ':' || ",
            $webhook_id,
            ", 11)"
        )
    };
}

/// Takes the webhook's lock and says whether it is in the inbox already.
pub(crate) async fn lock_webhook(
    tx: &Transaction<'_>,
    processor_id: &str,
    webhook_id: &str,
) -> BookingResult<bool> {
    let lock = tx
        .prepare_cached(concat!(
            "select pg_advisory_xact_lock(",
            webhook_lock_key!("$1", "$2"),
            ")"
        ))
        .await?;
    let seen = tx
        .prepare_cached("select 1 from card.inbox where processor_id = $1 and webhook_id = $2")
        .await?;
    // Pipelined: PostgreSQL runs the lookup after the lock, in one round trip.
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&processor_id, &webhook_id];
    let (_, found) = tokio::try_join!(tx.execute(&lock, &params), tx.query_opt(&seen, &params))?;
    Ok(found.is_some())
}

/// [`lock_webhook`] for many webhooks, `(processor_id, webhook_id)` sorted and without repeats
/// (so that two batches take their locks in one order and cannot deadlock): the locks in that
/// order, then those already in the inbox, in one round trip.
pub(crate) async fn lock_webhooks(
    tx: &impl GenericClient,
    webhooks: &[(&str, &str)],
) -> BookingResult<HashSet<(String, String)>> {
    debug_assert!(webhooks.windows(2).all(|pair| pair[0] < pair[1]));
    let lock = tx
        .prepare_cached(concat!(
            "select pg_advisory_xact_lock(",
            webhook_lock_key!("p", "w"),
            ") from unnest($1::text[], $2::text[]) with ordinality as u(p, w, n) order by n"
        ))
        .await?;
    let seen = tx
        .prepare_cached(
            "select i.processor_id, i.webhook_id
             from unnest($1::text[], $2::text[]) as u(p, w)
             join card.inbox i on i.processor_id = u.p and i.webhook_id = u.w",
        )
        .await?;
    let processor_ids: Vec<&str> = webhooks.iter().map(|w| w.0).collect();
    let webhook_ids: Vec<&str> = webhooks.iter().map(|w| w.1).collect();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&processor_ids, &webhook_ids];
    let (_, seen) = tokio::try_join!(tx.execute(&lock, &params), tx.query(&seen, &params))?;
    Ok(seen
        .iter()
        .map(|row| (row.get("processor_id"), row.get("webhook_id")))
        .collect())
}

pub(crate) async fn record_inbox(
    tx: &Transaction<'_>,
    message: &InboxMessage<'_>,
    applied: Applied,
    detail: Option<&str>,
) -> BookingResult<()> {
    let insert = tx
        .prepare_cached(
            "insert into card.inbox
                 (webhook_id, event_type, webhook_timestamp, body, outcome, detail, processor_id)
             values ($1, $2, $3, $4, $5, $6, $7) on conflict (processor_id, webhook_id) do nothing",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &message.webhook_id,
            &message.event_type,
            &message.webhook_timestamp,
            &message.body,
            &applied.as_str(),
            &detail,
            &message.processor_id,
        ],
    )
    .await?;
    Ok(())
}

/// [`record_inbox`] for many messages, each with its outcome: one statement.
pub(crate) async fn record_inbox_many(
    tx: &impl GenericClient,
    messages: &[(&InboxMessage<'_>, Applied)],
) -> BookingResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let insert = tx
        .prepare_cached(
            "insert into card.inbox
                 (webhook_id, event_type, webhook_timestamp, body, outcome, processor_id)
             select * from unnest($1::text[], $2::text[], $3::int8[], $4::bytea[], $5::text[],
                                  $6::text[])
             on conflict (processor_id, webhook_id) do nothing",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &messages
                .iter()
                .map(|(m, _)| m.webhook_id)
                .collect::<Vec<_>>(),
            &messages
                .iter()
                .map(|(m, _)| m.event_type)
                .collect::<Vec<_>>(),
            &messages
                .iter()
                .map(|(m, _)| m.webhook_timestamp)
                .collect::<Vec<_>>(),
            &messages.iter().map(|(m, _)| m.body).collect::<Vec<_>>(),
            &messages
                .iter()
                .map(|(_, applied)| applied.as_str())
                .collect::<Vec<_>>(),
            &messages
                .iter()
                .map(|(m, _)| m.processor_id)
                .collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}
