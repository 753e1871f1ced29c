//! Authorization requests decided in batches: requests that arrive together are decided in one
//! transaction, each step one statement for all of them, as TigerBeetle batches its transfers.
//!
//! One decision per transaction costs PostgreSQL about ten statements (BEGIN, the authorization
//! row, the card, the controls, the spend, the balance-row lock, the hold, the decision, the
//! inbox, COMMIT), and statements, not rows, are what a decision's CPU goes to
//! (docs/performance.md). A batch runs the same ten for all its requests (and one `set local`
//! of its plans, pipelined with them: `booking::plan_decision_statements`): existing authorization
//! rows and the cards read together, the balance rows locked together in id order, the controls
//! and spend of all the persons read together, then the requests decided one after another in
//! memory in arrival order, each counting the approvals before it (two requests on one card see
//! each other's holds); then the holds, the new authorization rows (inserted once, with their
//! decisions) and the inbox rows written, one statement each.
//!
//! Batches form by themselves: [`DecisionQueue`] has a few workers, each with its own queue and
//! its share of the cards; an idle worker takes the first waiting request and everything queued
//! behind it (up to [`MAX_BATCH_REQUESTS`]). Under
//! light load a batch is one request; under load, requests that waited for a worker go
//! together. A single request (`process::authorize`) is a batch of one.
//!
//! What does not fit a batch takes the one-request path after the batch commits, in arrival
//! order: an incremental authorization (its parent's hold), a second request with the same
//! authorization id, an authorization whose row events created first, an account without a
//! balance row or that refuses the hold for a reason other than money. If the batch's transaction fails, each
//! of its requests is decided alone the same way: nothing of the batch was committed, and the
//! authorization row makes every request decided once whatever happens.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use deadpool_postgres::{Pool, Transaction};
use ledger::{LedgerError, Overdraft};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::booking::{self, BookingError, BookingResult, RequestDetails};
use crate::process::{
    self, Applied, AuthorizationInput, AuthorizationOutcome, Decide, EarlierApproval, InboxMessage,
};

/// Requests decided in one transaction at most: bounds the statements' arrays and how long one
/// batch holds its balance rows.
pub const MAX_BATCH_REQUESTS: usize = 32;
/// Workers deciding batches at once, each for its share of the cards. Fewer workers make bigger
/// batches, and a decision's cost is mostly per statement, not per row. Measured on two cores
/// (docs/performance.md): with 10,000 cards 2 workers decided ~10 % more per second than 3, 3
/// ~8 % more than 4, and 6 or 8 fewer still. Before V13 the 100-card figure kept it at 3.
pub const DECISION_WORKERS: usize = 2;
/// Requests waiting for one worker before the webhook handler waits to queue (back-pressure).
const QUEUE_CAPACITY: usize = 4 * 1024;

/// An authorization request waiting for its decision.
struct Pending {
    webhook_id: String,
    webhook_timestamp: i64,
    event_type: String,
    body: Bytes,
    input: AuthorizationInput,
    deadline: Instant,
    reply: oneshot::Sender<AuthorizationOutcome>,
}

impl Pending {
    fn message(&self) -> InboxMessage<'_> {
        InboxMessage {
            webhook_id: &self.webhook_id,
            webhook_timestamp: self.webhook_timestamp,
            event_type: &self.event_type,
            body: &self.body,
        }
    }
}

/// The webhook's way to a decision: queues the request for the batch worker of its card.
pub struct DecisionQueue<D> {
    pool: Pool,
    decide: Arc<D>,
    /// One queue per worker; started on first use, inside the runtime that serves the webhooks.
    senders: OnceLock<Vec<mpsc::Sender<Pending>>>,
}

impl<D: Decide + 'static> DecisionQueue<D> {
    pub fn new(pool: Pool, decide: D) -> DecisionQueue<D> {
        DecisionQueue {
            pool,
            decide: Arc::new(decide),
            senders: OnceLock::new(),
        }
    }

    /// The queue of the worker that decides this card's requests. One card's requests always go
    /// to one worker, so two batches never wait for each other's balance-row locks (a busy
    /// card's requests are decided together in one transaction instead).
    fn sender(&self, card_id: &str) -> &mpsc::Sender<Pending> {
        let senders = self.senders.get_or_init(|| {
            (0..DECISION_WORKERS)
                .map(|_| {
                    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
                    tokio::spawn(work(self.pool.clone(), Arc::clone(&self.decide), receiver));
                    sender
                })
                .collect()
        });
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(card_id, &mut hasher);
        let shard = std::hash::Hasher::finish(&hasher) % senders.len() as u64;
        &senders[usize::try_from(shard).unwrap_or(0)]
    }

    /// Decides the request within [`process::DECISION_BUDGET_MS`] of now, else declines (fail
    /// closed).
    pub async fn decide(
        &self,
        message: &InboxMessage<'_>,
        body: Bytes,
        input: AuthorizationInput,
    ) -> AuthorizationOutcome {
        let deadline =
            Instant::now() + std::time::Duration::from_millis(process::DECISION_BUDGET_MS);
        let (reply, answer) = oneshot::channel();
        let sender = self.sender(&input.card_id);
        let pending = Pending {
            webhook_id: message.webhook_id.to_owned(),
            webhook_timestamp: message.webhook_timestamp,
            event_type: message.event_type.to_owned(),
            body,
            input,
            deadline,
            reply,
        };
        if sender.send(pending).await.is_err() {
            tracing::error!("authorization worker stopped: declining");
            return AuthorizationOutcome::decline("OTHER", "technical_problem");
        }
        // The worker answers by the deadline (its transaction is cut off there); a worker that
        // died answers nothing, which is a decline.
        answer
            .await
            .unwrap_or_else(|_| AuthorizationOutcome::decline("OTHER", "technical_problem"))
    }
}

/// Decides batches from one queue: the first waiting request and whatever queued behind it.
/// Each batch runs as a task of its own and the worker waits for it, so batches stay one at a
/// time; a batch that panics (a bug) drops its requests' reply channels, which declines them,
/// and the worker goes on with the next batch instead of leaving its share of the cards
/// declined until the server restarts.
async fn work<D: Decide + 'static>(
    pool: Pool,
    decide: Arc<D>,
    mut receiver: mpsc::Receiver<Pending>,
) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_REQUESTS {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let requests = batch.len();
        // How many requests each transaction carries: how much batching the load gives.
        metrics::histogram!("saldo_card_decision_batch_requests")
            .record(u32::try_from(requests).unwrap_or(u32::MAX));
        let decided =
            tokio::spawn(decide_and_answer(pool.clone(), Arc::clone(&decide), batch)).await;
        if let Err(error) = decided {
            tracing::error!(
                requests,
                panicked = error.is_panic(),
                "an authorization batch failed: its requests were declined"
            );
        }
    }
}

async fn decide_and_answer<D: Decide>(pool: Pool, decide: Arc<D>, batch: Vec<Pending>) {
    let outcomes = {
        let requests: Vec<(InboxMessage<'_>, &AuthorizationInput, Instant)> = batch
            .iter()
            .map(|p| (p.message(), &p.input, p.deadline))
            .collect();
        authorize_batch(&pool, decide.as_ref(), &requests).await
    };
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        // The webhook's caller may be gone (connection closed): nothing to answer then.
        let _ = pending.reply.send(outcome);
    }
}

/// Decides the requests (each by its own deadline) and returns their answers in order.
pub async fn authorize_batch(
    pool: &Pool,
    decide: &impl Decide,
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
) -> Vec<AuthorizationOutcome> {
    let mut seen = HashSet::with_capacity(requests.len());
    let (mut batched, mut alone): (Vec<usize>, Vec<usize>) =
        (0..requests.len()).partition(|&index| {
            let input = requests[index].1;
            input.parent_authorization_id.is_none()
                && input.amount.is_positive()
                && seen.insert(input.authorization_id.as_str())
        });
    let mut outcomes: Vec<Option<AuthorizationOutcome>> = vec![None; requests.len()];
    if !batched.is_empty() {
        let deadline = batched
            .iter()
            .map(|&index| requests[index].2)
            .min()
            .unwrap_or_else(Instant::now);
        let result = tokio::time::timeout_at(
            deadline,
            batch_in_transaction(pool, decide, requests, &batched),
        )
        .await;
        match result {
            Ok(Ok(decided)) => {
                for (index, outcome) in decided.outcomes {
                    outcomes[index] = Some(outcome);
                }
                alone.extend(decided.alone);
            }
            Ok(Err(error)) => {
                // Nothing of it was committed: each request is decided on its own instead.
                tracing::warn!(
                    error.code = error.code(),
                    error = ?error,
                    requests = batched.len(),
                    "authorization batch failed: deciding its requests one by one"
                );
                alone.append(&mut batched);
            }
            Err(_) => {
                tracing::warn!(
                    budget_ms = process::DECISION_BUDGET_MS,
                    requests = batched.len(),
                    "authorization batch over budget: declining"
                );
                for &index in &batched {
                    outcomes[index] =
                        Some(AuthorizationOutcome::decline("OTHER", "technical_problem"));
                }
            }
        }
    }
    alone.sort_unstable();
    for index in alone {
        let (message, input, deadline) = &requests[index];
        outcomes[index] =
            Some(process::authorize_alone(pool, decide, message, input, *deadline).await);
    }
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| AuthorizationOutcome::decline("OTHER", "technical_problem"))
        })
        .collect()
}

struct Decided {
    outcomes: Vec<(usize, AuthorizationOutcome)>,
    /// Left for the one-request path.
    alone: Vec<usize>,
}

/// One batch's transaction: see the module documentation for the steps.
async fn batch_in_transaction(
    pool: &Pool,
    decide: &impl Decide,
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
    batched: &[usize],
) -> BookingResult<Decided> {
    let mut client = pool.get().await.map_err(LedgerError::from)?;
    let tx = client.transaction().await?;
    let ids: Vec<&str> = batched
        .iter()
        .map(|&index| requests[index].1.authorization_id.as_str())
        .collect();
    let card_ids: Vec<&str> = batched
        .iter()
        .map(|&index| requests[index].1.card_id.as_str())
        .collect();
    let (_, existing, cards) = tokio::try_join!(
        biased;
        booking::plan_decision_statements(&tx),
        booking::lock_existing_authorizations(&tx, &ids),
        booking::cards(&tx, &card_ids)
    )?;

    let mut decided = Decided {
        outcomes: Vec::with_capacity(batched.len()),
        alone: Vec::new(),
    };
    let mut inbox: Vec<(usize, Applied)> = Vec::with_capacity(batched.len());
    // New authorizations to decide, in arrival order.
    let mut to_decide = Vec::with_capacity(batched.len());
    for &index in batched {
        let input = requests[index].1;
        match existing.get(&input.authorization_id) {
            None => to_decide.push(index),
            Some(row) => match AuthorizationOutcome::from_row(row) {
                Some(outcome) => {
                    // Decided before: the same answer, held once.
                    decided.outcomes.push((index, outcome));
                    inbox.push((index, Applied::Duplicate));
                }
                // Events came first (an early reversal, say): their row is updated alone.
                None => decided.alone.push(index),
            },
        }
    }
    // Only the accounts of cards a hold can go on.
    let account_ids: Vec<uuid::Uuid> = to_decide
        .iter()
        .filter_map(|&index| process::usable_card(cards.get(&requests[index].1.card_id)).ok())
        .map(|card| card.account_id)
        .collect();
    let mut accounts = if account_ids.is_empty() {
        HashMap::new()
    } else {
        ledger::store::lock_accounts_for_holds(&tx, &account_ids).await?
    };

    // The card decides before the controls: unknown and inactive cards are declined as such.
    let mut with_controls = Vec::with_capacity(to_decide.len());
    let mut saved: Vec<Saved> = Vec::with_capacity(to_decide.len());
    for &index in &to_decide {
        let input = requests[index].1;
        let details = process::request_details(input, Some(input.at));
        match process::usable_card(cards.get(&input.card_id)) {
            Err(outcome) => saved.push(Saved::new(index, outcome, details)),
            Ok(card) if !accounts.contains_key(&card.account_id) => decided.alone.push(index),
            Ok(card) => with_controls.push((index, card, details)),
        }
    }
    let pairs: Vec<(&booking::Card, &AuthorizationInput)> = with_controls
        .iter()
        .map(|(index, card, _)| (*card, requests[*index].1))
        .collect();
    let loaded = decide.load(&tx, &pairs).await?;
    if loaded.len() != pairs.len() {
        return Err(missing("controls"));
    }

    let mut earlier: Vec<EarlierApproval> = Vec::with_capacity(pairs.len());
    let mut holds = Vec::with_capacity(pairs.len());
    for ((index, card, mut details), loaded) in with_controls.into_iter().zip(&loaded) {
        let input = requests[index].1;
        let verdict = decide.verdict(loaded, card, input, &earlier)?;
        details.policy_version = verdict.policy_version;
        details.limited_by = verdict.limited_by;
        let amount = match verdict.decline {
            Some(decline) => Err(decline),
            None => process::approvable_amount(verdict.max_approve_minor, input),
        };
        let amount = match amount {
            Ok(amount) => amount,
            Err(decline) => {
                saved.push(Saved::new(index, decline, details));
                continue;
            }
        };
        let Some(account) = accounts.get_mut(&card.account_id) else {
            return Err(missing("locked account"));
        };
        let command = booking::hold_command(
            &input.authorization_id,
            card,
            amount,
            input.partial_approval_capable,
            Overdraft::Refuse,
        );
        match account.plan(&command) {
            Ok(planned) => {
                let held = planned.hold.remaining;
                earlier.push(EarlierApproval {
                    person_id: card.person_id,
                    account_id: card.account_id,
                    at: input.at,
                    amount: held,
                });
                let outcome = AuthorizationOutcome::approved(held.amount_minor);
                saved.push(Saved {
                    hold_id: Some(planned.hold.id),
                    ..Saved::new(index, outcome, details)
                });
                holds.push(planned);
            }
            Err(LedgerError::InsufficientFunds { .. }) => saved.push(Saved::new(
                index,
                AuthorizationOutcome::decline("INSUFFICIENT_FUNDS", "insufficient_funds"),
                details,
            )),
            // Closed, hot, another currency: the one-request path gives its usual answer.
            Err(_) => decided.alone.push(index),
        }
    }

    let rows: Vec<booking::AuthorizationRow> = saved
        .iter()
        .map(|decision| {
            let input = requests[decision.index].1;
            let mut row = booking::AuthorizationRow::new(&input.authorization_id, &input.card_id);
            decision.outcome.record_on(&mut row);
            row.hold_id = decision.hold_id;
            row
        })
        .collect();
    let decisions: Vec<booking::NewDecision<'_>> = saved
        .iter()
        .zip(&rows)
        .map(|(decision, row)| booking::NewDecision {
            row,
            currency: requests[decision.index].1.amount.currency.code(),
            details: &decision.details,
        })
        .collect();
    inbox.extend(
        saved
            .iter()
            .map(|decision| (decision.index, Applied::Applied)),
    );
    let messages: Vec<(&InboxMessage<'_>, Applied)> = inbox
        .iter()
        .map(|(index, applied)| (&requests[*index].0, *applied))
        .collect();
    // The three writes in one round trip. `biased`: polled in this order, so sent in this order
    // (the holds before the rows that point at them and whose `held_minor` V12 checks), and of
    // two failures the earlier statement's is returned.
    tokio::try_join!(
        biased;
        async { Ok::<_, BookingError>(ledger::store::insert_holds(&tx, &holds).await?) },
        booking::insert_decisions(&tx, &decisions),
        record_inbox_many(&tx, &messages)
    )?;
    tx.commit().await?;
    decided.outcomes.extend(
        saved
            .into_iter()
            .map(|decision| (decision.index, decision.outcome)),
    );
    Ok(decided)
}

/// A new authorization this batch decided: its row is inserted with the decision.
struct Saved {
    index: usize,
    outcome: AuthorizationOutcome,
    details: RequestDetails,
    hold_id: Option<uuid::Uuid>,
}

impl Saved {
    fn new(index: usize, outcome: AuthorizationOutcome, details: RequestDetails) -> Saved {
        Saved {
            index,
            outcome,
            details,
            hold_id: None,
        }
    }
}

fn missing(what: &str) -> BookingError {
    LedgerError::invalid("batch_inconsistent", format!("{what} missing in a batch")).into()
}

/// The inbox rows of a batch's messages: one statement.
async fn record_inbox_many(
    tx: &Transaction<'_>,
    messages: &[(&InboxMessage<'_>, Applied)],
) -> BookingResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let insert = tx
        .prepare_cached(
            "insert into card.inbox (webhook_id, event_type, webhook_timestamp, body, outcome)
             select * from unnest($1::text[], $2::text[], $3::int8[], $4::bytea[], $5::text[])
             on conflict (webhook_id) do nothing",
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
        ],
    )
    .await?;
    Ok(())
}
