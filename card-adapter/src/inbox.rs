//! The inbox of processor messages (`card.inbox`): every authentic message is recorded once, by
//! its `webhook-id`, in the transaction that acts on it. Below `authorization`, `decisions` and
//! `process`, which all record what became of a message here.

use deadpool_postgres::Transaction;

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

pub(crate) async fn lock_webhook(
    tx: &Transaction<'_>,
    processor_id: &str,
    webhook_id: &str,
) -> BookingResult<bool> {
    let lock = tx
        .prepare_cached("select pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 11))")
        .await?;
    let seen = tx
        .prepare_cached("select 1 from card.inbox where processor_id = $1 and webhook_id = $2")
        .await?;
    // Pipelined: PostgreSQL runs the lookup after the lock, in one round trip.
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&processor_id, &webhook_id];
    let (_, found) = tokio::try_join!(tx.execute(&lock, &params), tx.query_opt(&seen, &params))?;
    Ok(found.is_some())
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
    tx: &Transaction<'_>,
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
