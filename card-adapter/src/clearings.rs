//! Clearings booked in batches: clearings that arrive together are booked in one transaction,
//! each step one statement for all of them, as `decisions` does for authorization requests.
//!
//! One clearing in its own transaction cost PostgreSQL about seventeen statements and ten round
//! trips (the webhook's lock and look-up, the card, the transaction reference, the
//! authorization's row, the settlement account, the hold and its balance row, the entry, its
//! postings, reference and balance, the hold events, the row's update, the inbox, COMMIT), and
//! per statement is where a clearing's time went (docs/performance.md). A batch runs about the
//! same statements for all its clearings, in five round trips: BEGIN; the webhooks' locks, the
//! inbox, the cards, the transaction references, the authorization rows (locked in id order)
//! and the settlement accounts, read together; the holds' balance rows locked in id order and
//! the holds read under them, with the rows' and the inbox's writes; the entries, postings,
//! references, balances and hold events (`ledger::store::capture_holds_deduplicated_by_caller`);
//! COMMIT.
//!
//! A batch books only the usual clearing: of an authorization whose hold is placed, of a known
//! card, not booked before, not an ATM withdrawal (its fee), of a non-zero amount within the
//! bound. Everything else (a force post, a clearing before its authorization, a duplicate, a
//! second clearing of one authorization or transaction in the batch, an ATM withdrawal, what
//! cannot be booked) takes the one-event path (`process::apply`) after the batch commits, in
//! arrival order; so does every clearing of a batch whose transaction fails. What is answered is
//! what committed: a clearing is acknowledged only after its batch's (or its own) COMMIT.
//!
//! Batches form by themselves ([`ClearingQueue`]): [`CLEARING_WORKERS`] workers, each with
//! its own queue and its share of the cards; an idle worker takes the first waiting clearing and
//! everything queued behind it, up to [`MAX_BATCH_CLEARINGS`], and forms the next batch while
//! that one commits (see [`work`]). One card's clearings always go to one worker, and a batch
//! waits on its rows' locks for the batch before it to commit, so they are booked in arrival
//! order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use deadpool_postgres::{GenericClient, Pool};
use ledger::db::PipelinedTransaction;
use ledger::{CaptureHold, LedgerError};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::booking::{self, AuthorizationRow, BookingError, BookingResult, Card, Clearing};
use crate::inbox::{self, Applied, InboxMessage, OwnedInboxMessage};
use crate::process::{self, CardEvent};

/// Clearings booked in one transaction at most: bounds the statements' arrays and how long one
/// batch keeps its rows locked.
pub const MAX_BATCH_CLEARINGS: usize = 32;
/// Workers booking batches at once, each for its share of the cards: one, for the biggest
/// batches, as for decisions (`crate::decisions::DECISION_WORKERS`, docs/performance.md).
pub const CLEARING_WORKERS: usize = 1;
/// Batches of one worker in flight at once, from before their reads until they end (so
/// committing, too): bounds the connections they and a stalled COMMIT keep (eight, as when two
/// workers had four each).
const MAX_BATCHES_IN_FLIGHT: usize = 8;
/// Clearings waiting for one worker before the webhook handler waits to queue (back-pressure).
const QUEUE_CAPACITY: usize = 4 * 1024;

/// A clearing waiting for its batch, with the handler waiting for what became of it.
struct Queued {
    webhook: OwnedInboxMessage,
    event: CardEvent,
    reply: oneshot::Sender<BookingResult<Applied>>,
}

/// The webhook's way to book a clearing: queues it for the batch worker of its card.
pub struct ClearingQueue {
    pool: Pool,
    /// One queue per worker; started on first use, inside the runtime that serves the webhooks.
    senders: OnceLock<Vec<mpsc::Sender<Queued>>>,
}

impl ClearingQueue {
    pub fn new(pool: Pool) -> ClearingQueue {
        ClearingQueue {
            pool,
            senders: OnceLock::new(),
        }
    }

    fn sender(&self, card_id: &str) -> &mpsc::Sender<Queued> {
        let senders = self.senders.get_or_init(|| {
            (0..CLEARING_WORKERS)
                .map(|_| {
                    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
                    tokio::spawn(work(self.pool.clone(), receiver));
                    sender
                })
                .collect()
        });
        &senders[crate::decisions::worker_of(card_id, senders.len())]
    }

    /// Applies an asynchronous event and returns once it is committed: a clearing with the
    /// others queued for its card's worker, any other event on its own (`process::apply`).
    /// Should the worker be gone (a panic, a bug), the clearing is applied on its own here
    /// instead: nothing of its batch was answered.
    pub async fn apply(
        &self,
        message: &InboxMessage<'_>,
        body: Bytes,
        event: CardEvent,
    ) -> BookingResult<Applied> {
        let CardEvent::Clearing { card_id, .. } = &event else {
            return process::apply(&self.pool, message, &event).await;
        };
        let sender = self.sender(card_id).clone();
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            webhook: OwnedInboxMessage::new(message, body),
            event: event.clone(),
            reply,
        };
        if sender.send(queued).await.is_ok()
            && let Ok(applied) = answer.await
        {
            return applied;
        }
        tracing::error!(
            webhook_id = message.webhook_id,
            "clearing worker gone: applying the clearing alone"
        );
        process::apply(&self.pool, message, &event).await
    }
}

/// Books batches from one queue: the first waiting clearing and whatever queued behind it. Each
/// batch runs as a task of its own, and the worker waits for it only until its COMMIT is sent:
/// a commit's flush of the WAL is the longest step of a batch, and overlapping them lets
/// PostgreSQL flush several batches' commits at once. The next batch's clearings of the same
/// cards wait for that commit on their rows' locks, so one card's clearings are still booked in
/// arrival order. A batch with clearings for the one-event path keeps the worker until they are
/// applied too, for the same reason. At most [`MAX_BATCHES_IN_FLIGHT`] batches of a worker are
/// committing at once, which bounds the connections a stalled COMMIT keeps.
async fn work(pool: Pool, mut receiver: mpsc::Receiver<Queued>) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_BATCHES_IN_FLIGHT));
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_CLEARINGS {
            match receiver.try_recv() {
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        metrics::histogram!("saldo_card_clearing_batch_events")
            .record(u32::try_from(batch.len()).unwrap_or(u32::MAX));
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let (ready, is_ready) = oneshot::channel();
        let pool = pool.clone();
        // A batch that panics (a bug) drops its replies: their handlers apply them alone.
        tokio::spawn(async move {
            let _permit = permit;
            let results = {
                let events: Vec<(InboxMessage<'_>, &CardEvent)> = batch
                    .iter()
                    .map(|queued| (queued.webhook.message(), &queued.event))
                    .collect();
                apply_batch_then_ready(&pool, &events, Some(ready)).await
            };
            for (queued, result) in batch.into_iter().zip(results) {
                // A handler that is gone left its processor to deliver the message again.
                let _ = queued.reply.send(result);
            }
        });
        // Sent once the batch's COMMIT goes out, or dropped when the batch ends without.
        let _ = is_ready.await;
    }
}

/// Applies the events in arrival order and returns what became of each: the usual clearings
/// booked together in one transaction, the others (and all of them, should that transaction
/// fail) one at a time after it, as `process::apply` applies them.
pub async fn apply_batch(
    pool: &Pool,
    events: &[(InboxMessage<'_>, &CardEvent)],
) -> Vec<BookingResult<Applied>> {
    apply_batch_then_ready(pool, events, None).await
}

/// [`apply_batch`], sending `ready` as soon as the batch's COMMIT is sent when none of its
/// events is left for the one-event path.
async fn apply_batch_then_ready(
    pool: &Pool,
    events: &[(InboxMessage<'_>, &CardEvent)],
    mut ready: Option<oneshot::Sender<()>>,
) -> Vec<BookingResult<Applied>> {
    let clearings: Vec<(usize, UsualClearing<'_>)> = events
        .iter()
        .enumerate()
        .filter_map(|(index, (_, event))| usual_clearing(event).map(|clearing| (index, clearing)))
        .collect();
    if clearings.len() < events.len() {
        ready = None;
    }
    let mut booked: HashSet<usize> = HashSet::new();
    if !clearings.is_empty() {
        match book_in_transaction(pool, events, &clearings, ready).await {
            Ok(indices) => booked.extend(indices),
            Err(error) => tracing::warn!(
                error.code = error.code(),
                error = ?error,
                clearings = clearings.len(),
                "clearing batch failed: applying its clearings one by one"
            ),
        }
    }
    let mut results = Vec::with_capacity(events.len());
    for (index, (message, event)) in events.iter().enumerate() {
        results.push(if booked.contains(&index) {
            Ok(Applied::Applied)
        } else {
            process::apply(pool, message, event).await
        });
    }
    results
}

/// A clearing's facts, when it is one a batch may book: of an authorization, of something, and
/// bookable as it stands.
struct UsualClearing<'a> {
    transaction_id: &'a str,
    authorization_id: &'a str,
    card_id: &'a str,
    amount: ledger::Money,
    merchant: &'a serde_json::Value,
    cleared_at: time::OffsetDateTime,
    final_clearing: bool,
}

fn usual_clearing(event: &CardEvent) -> Option<UsualClearing<'_>> {
    match event {
        CardEvent::Clearing {
            transaction_id,
            authorization_id: Some(authorization_id),
            card_id,
            amount,
            merchant,
            cleared_at,
            final_clearing,
        } if amount.is_positive() && process::not_bookable(event).is_none() => {
            Some(UsualClearing {
                transaction_id,
                authorization_id,
                card_id,
                amount: *amount,
                merchant,
                cleared_at: *cleared_at,
                final_clearing: *final_clearing,
            })
        }
        _ => None,
    }
}

/// What a batch reads before it books: one round trip.
struct Read {
    seen_webhooks: HashSet<(String, String)>,
    cards: HashMap<String, Card>,
    booked_transactions: HashSet<String>,
    rows: HashMap<String, AuthorizationRow>,
    /// By code.
    settlement_accounts: HashMap<String, Uuid>,
}

/// Books those of the usual clearings (by their index in `events`) a batch may book, in one
/// transaction; returns their indices. Nothing is committed on an error.
async fn book_in_transaction(
    pool: &Pool,
    events: &[(InboxMessage<'_>, &CardEvent)],
    clearings: &[(usize, UsualClearing<'_>)],
    ready: Option<oneshot::Sender<()>>,
) -> BookingResult<Vec<usize>> {
    let client = pool.get().await.map_err(LedgerError::from)?;
    // Begun with the batch's reads (`read`).
    let tx = PipelinedTransaction::new(client);
    let read = read(&tx, events, clearings).await?;

    // In arrival order, those a batch may book; the first of a webhook, transaction or
    // authorization only (a repeat takes the one-event path after the batch, as a duplicate or
    // the next clearing of its authorization).
    let mut webhooks = HashSet::new();
    let mut transactions = HashSet::new();
    let mut authorizations = HashSet::new();
    // (index, the row as the clearing leaves it, its capture)
    let mut chosen: Vec<(usize, AuthorizationRow, CaptureHold)> = Vec::new();
    for (index, clearing) in clearings {
        let message = &events[*index].0;
        let webhook = (
            message.processor_id.to_owned(),
            message.webhook_id.to_owned(),
        );
        if read.seen_webhooks.contains(&webhook) || !webhooks.insert(webhook) {
            continue;
        }
        let Some(card) = read.cards.get(clearing.card_id) else {
            continue;
        };
        if read.booked_transactions.contains(clearing.transaction_id)
            || !transactions.insert(clearing.transaction_id)
        {
            continue;
        }
        let Some(row) = read.rows.get(clearing.authorization_id) else {
            continue;
        };
        let Some(hold_id) = row.hold_id else {
            continue;
        };
        if crate::fees::is_atm_withdrawal(Some(row), clearing.merchant)
            || !authorizations.insert(clearing.authorization_id)
        {
            continue;
        }
        let Some(&settlement_account_id) = read
            .settlement_accounts
            .get(&booking::settlement_account_code(clearing.amount.currency))
        else {
            continue;
        };
        let capture = booking::clearing_capture(
            hold_id,
            Clearing {
                transaction_id: clearing.transaction_id,
                card,
                settlement_account_id,
                amount: clearing.amount,
                final_clearing: clearing.final_clearing,
                effective_date: clearing.cleared_at.date(),
                metadata: booking::clearing_metadata(
                    clearing.card_id,
                    Some(clearing.authorization_id),
                    clearing.merchant,
                ),
            },
        );
        let mut row = row.clone();
        booking::count_clearing(&mut row, clearing.amount, clearing.final_clearing)?;
        chosen.push((*index, row, capture));
    }
    if chosen.is_empty() {
        return Ok(Vec::new());
    }

    let captures: Vec<CaptureHold> = chosen.iter().map(|c| c.2.clone()).collect();
    let rows: Vec<&AuthorizationRow> = chosen.iter().map(|c| &c.1).collect();
    let messages: Vec<(&InboxMessage<'_>, Applied)> = chosen
        .iter()
        .map(|c| (&events[c.0].0, Applied::Applied))
        .collect();
    // Sent together: the captures' first round trip, then the rows and the inbox.
    tokio::try_join!(
        biased;
        async {
            ledger::store::capture_holds_deduplicated_by_caller(tx.client(), &captures)
                .await
                .map_err(BookingError::from)
        },
        save_cleared(tx.client(), &rows),
        inbox::record_inbox_many(tx.client(), &messages)
    )?;
    // Every clearing of the batch is in it: the worker may form the next batch while this one
    // commits (a clearing left out takes the one-event path after the commit, so not then).
    if chosen.len() == clearings.len()
        && let Some(ready) = ready
    {
        let _ = ready.send(());
    }
    tx.commit().await?;
    Ok(chosen.iter().map(|c| c.0).collect())
}

/// The batch's reads, in one round trip, in this order: BEGIN with the plans' settings, the
/// webhooks' locks (in a fixed order, so that two batches cannot deadlock on them), then under them the
/// inbox, the cards, the transactions booked, the authorization rows (locked in id order) and
/// the settlement accounts.
async fn read(
    tx: &PipelinedTransaction,
    events: &[(InboxMessage<'_>, &CardEvent)],
    clearings: &[(usize, UsualClearing<'_>)],
) -> BookingResult<Read> {
    let mut webhooks: Vec<(&str, &str)> = clearings
        .iter()
        .map(|(index, _)| (events[*index].0.processor_id, events[*index].0.webhook_id))
        .collect();
    webhooks.sort_unstable();
    webhooks.dedup();
    let card_ids: Vec<&str> = clearings.iter().map(|c| c.1.card_id).collect();
    let transaction_ids: Vec<&str> = clearings.iter().map(|c| c.1.transaction_id).collect();
    let authorization_ids: Vec<&str> = clearings.iter().map(|c| c.1.authorization_id).collect();
    let mut settlement_codes: Vec<String> = clearings
        .iter()
        .map(|c| booking::settlement_account_code(c.1.amount.currency))
        .collect();
    settlement_codes.sort_unstable();
    settlement_codes.dedup();

    let client = tx.client();
    let booked = client
        .prepare_cached(
            // One index probe per transaction (the lateral `limit` keeps the probes apart
            // from the outer query): as `ref_value = any($1)` under the batch's generic plans
            // it took 0.42 ms a batch of about four (the server's statement log).
            "select r.ref_value from unnest($1::text[]) as t(id)
             cross join lateral (
                 select ref_value from journal_entry_refs
                 where ref_kind = 'processor_transaction' and ref_value = t.id limit 1
             ) r",
        )
        .await?;
    let settlement = client
        .prepare_cached("select code, id from ledger_accounts where code = any($1)")
        .await?;
    let (_, seen_webhooks, cards, booked, rows, settlement) = tokio::try_join!(
        biased;
        async { tx.begin(booking::BATCH_PLANS).await.map_err(BookingError::from) },
        inbox::lock_webhooks(client, &webhooks),
        booking::cards(client, &card_ids),
        async { Ok(client.query(&booked, &[&transaction_ids]).await?) },
        booking::lock_existing_authorizations(client, &authorization_ids),
        async { Ok(client.query(&settlement, &[&settlement_codes]).await?) }
    )?;
    Ok(Read {
        seen_webhooks,
        cards,
        booked_transactions: booked.iter().map(|row| row.get("ref_value")).collect(),
        rows,
        settlement_accounts: settlement
            .iter()
            .map(|row| (row.get("code"), row.get("id")))
            .collect(),
    })
}

/// Writes the clearings' counts on their authorization rows: one statement.
async fn save_cleared(tx: &impl GenericClient, rows: &[&AuthorizationRow]) -> BookingResult<()> {
    let update = tx
        .prepare_cached(
            "update card.authorizations a
                set cleared_minor = u.cleared_minor, final_cleared = u.final_cleared,
                    updated_at = clock_timestamp()
               from unnest($1::text[], $2::int8[], $3::bool[])
                    as u(authorization_id, cleared_minor, final_cleared)
              where a.authorization_id = any($1) and a.authorization_id = u.authorization_id",
        )
        .await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.authorization_id.as_str()).collect();
    let cleared: Vec<i64> = rows.iter().map(|r| r.cleared_minor).collect();
    let finals: Vec<bool> = rows.iter().map(|r| r.final_cleared).collect();
    tx.execute(&update, &[&ids, &cleared, &finals]).await?;
    Ok(())
}
