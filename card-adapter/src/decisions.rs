//! Authorization requests decided in batches: requests that arrive together are decided in one
//! transaction, each step one statement for all of them, as TigerBeetle batches its transfers.
//!
//! One decision per transaction costs PostgreSQL about ten statements (BEGIN, the authorization
//! row, the card, the controls, the spend, the balance-row lock, the hold, the decision, the
//! inbox, COMMIT), and statements, not rows, are what a decision's CPU goes to
//! (docs/performance.md). A batch runs the same ten for all its requests, in four round trips:
//! BEGIN with the `set local` of its plans and lock timeout (`booking::decision_settings`,
//! through `ledger::db::PipelinedTransaction`), the existing authorization rows, the cards, any
//! declines recorded at a deadline (V17) and the persons' controls (found by card); then the
//! balance rows not held elsewhere locked together in id order and the spend read under them;
//! then, after the requests are decided one after another in memory in arrival order, each
//! counting the approvals before it (two requests on one card see each other's holds), the
//! holds, the new authorization rows (inserted once, with their decisions) and the inbox rows
//! written, one statement each; then COMMIT.
//!
//! Batches form by themselves: [`DecisionQueue`] has [`DECISION_WORKERS`] workers, each
//! with its own queue and its share of the cards; an idle worker takes the first waiting request
//! and everything queued behind it (up to [`MAX_BATCH_REQUESTS`]). Under
//! light load a batch is one request; under load, requests that waited for a worker go
//! together. A single request (`process::authorize`) is a batch of one.
//!
//! What does not fit a batch takes the one-request path after the batch commits, in arrival
//! order: an incremental authorization (its parent's hold), a second request with the same
//! authorization id, an authorization whose row events created first or whose earlier delivery
//! was answered with a recorded decline, an account without a balance row or that refuses the
//! hold for a reason other than money. If the batch's transaction fails, each of its requests is
//! decided alone the same way: nothing of the batch was committed, and the authorization row
//! makes every request decided once whatever happens.
//!
//! What is answered is what is durable. A request's decision must be made by its deadline
//! ([`DECLINE_RESERVE_MS`] before the answer is due): a batch not ready to COMMIT by then is
//! rolled back. Once COMMIT is sent its outcome is waited for, however long it takes, and only a
//! committed decision is answered. The webhook does not wait past the deadline: it records a
//! decline ([`record_deadline_decline`], V17) in a statement that waits for nothing a batch holds
//! and answers that. The recorded decline wins: a COMMIT that lands later has its holds released
//! and its rows set to DECLINE by the worker ([`settle_unanswered`]), every later delivery is
//! answered DECLINE from the record, and after a crash the sweep ([`settle_recorded_declines`])
//! does what the worker did not. An advisory lock per authorization orders the recording against
//! the worker's settling: a decline is recorded only over a row whose commit had not landed, and
//! the worker releases only under a recorded decline.
//!
//! A balance row another transaction holds (a payroll, a long staff transaction) never stalls a
//! batch: the batch locks balance rows with SKIP LOCKED, and the requests of a locked account are
//! tried again in the worker's next batches (every [`BLOCKED_RETRY_MS`] when nothing else
//! arrives) until they are decided or their deadline passes. Every other lock a decision waits
//! for is bounded by `booking::DECISION_LOCK_TIMEOUT_MS`, then the request is tried again too.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use deadpool_postgres::{GenericClient, Pool, Transaction};
use ledger::db::PipelinedTransaction;
use ledger::{LedgerError, Overdraft};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::authorization::{
    self, AuthorizationInput, AuthorizationOutcome, Decide, Decision, EarlierApproval,
};
use crate::booking::{self, BookingError, BookingResult, RequestDetails};
use crate::inbox::{self, Applied, InboxMessage, OwnedInboxMessage};
use crate::states::Named;
use ledger::controls::DeclineCode;
use processor_protocol as protocol;

/// Requests decided in one transaction at most: bounds the statements' arrays and how long one
/// batch holds its balance rows. One worker's batch takes what two workers' batches of 32 took.
pub const MAX_BATCH_REQUESTS: usize = 64;
/// Workers deciding batches at once, each for its share of the cards. Fewer workers make bigger
/// batches, and a decision's cost is mostly per statement, not per row: 2 workers decided more
/// per second than 3, 4, 6 or 8, and since the pool hands out the session returned last, one
/// worker (its batches' commits overlapping, [`MAX_BATCHES_IN_FLIGHT`]) more than 2 at 8 and 16
/// connections, with a lower p99, and as much at 32 and 64 (docs/performance.md, seventh
/// session). The queues and the sharding stay: a card's worker is fixed however many there are.
pub const DECISION_WORKERS: usize = 1;
/// Requests waiting for one worker before the webhook handler waits to queue (back-pressure,
/// itself bounded by the request's deadline).
const QUEUE_CAPACITY: usize = 4 * 1024;
/// Of the decision budget, what is kept after the decision's own deadline to record a decline
/// when no decision was made: one short statement.
pub const DECLINE_RESERVE_MS: u64 = 200;
/// How soon requests whose balance row another transaction holds are tried again when no new
/// request arrives to go with them.
pub const BLOCKED_RETRY_MS: u64 = 20;
/// Of a batch, at most this many places go to requests tried again, so that new arrivals are
/// never starved by many locked accounts.
const MAX_RETRIED_PER_BATCH: usize = MAX_BATCH_REQUESTS / 2;
/// Batches of one worker in flight at once, from before their reads until they end (so
/// committing, too): bounds the connections they and a stalled COMMIT keep (eight, as when two
/// workers had four each).
const MAX_BATCHES_IN_FLIGHT: usize = 8;
/// The advisory-lock namespace (`hashtextextended(authorization_id, seed)`) that orders the
/// recording of a deadline decline against the settling of a late commit.
const ANSWER_LOCK_SEED: i64 = 21;
/// How often the webhook's process looks for approvals under a recorded decline that no worker
/// settled (after a crash).
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// An authorization request waiting for its decision.
struct Request {
    webhook: OwnedInboxMessage,
    input: AuthorizationInput,
    /// When the decision must be made; the answer is due [`DECLINE_RESERVE_MS`] later.
    deadline: Instant,
}

/// A request and the webhook handler waiting for its decision. The handler closes the channel
/// at the deadline; a decision sent after that is not answered, and is settled instead.
struct Pending {
    request: Request,
    reply: oneshot::Sender<AuthorizationOutcome>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// What is durable for the authorization: its committed decision, or a recorded decline.
    Outcome(AuthorizationOutcome),
    /// Nothing could be decided nor recorded by the time the answer was due (the database does
    /// not commit): no decision is given, which the processor takes as a decline, followed by
    /// its TIMEOUT advice that releases whatever a late commit held (protocol 3.3).
    Unrecorded,
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
            tokio::spawn(sweep(self.pool.clone()));
            (0..DECISION_WORKERS)
                .map(|_| {
                    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
                    tokio::spawn(work(self.pool.clone(), Arc::clone(&self.decide), receiver));
                    sender
                })
                .collect()
        });
        &senders[worker_of(card_id, senders.len())]
    }

    /// Answers the request by [`authorization::DECISION_BUDGET_MS`] from now, however long the queue
    /// or the database takes: its committed decision when there is one by the decision's
    /// deadline, else a decline recorded so that it wins (fail closed).
    pub async fn decide(
        &self,
        message: &InboxMessage<'_>,
        body: Bytes,
        input: AuthorizationInput,
    ) -> Answer {
        let answer_by = Instant::now() + Duration::from_millis(authorization::DECISION_BUDGET_MS);
        let deadline = answer_by - Duration::from_millis(DECLINE_RESERVE_MS);
        let facts = DeclineFacts::of(&input);
        let (reply, mut answer) = oneshot::channel();
        let pending = Pending {
            request: Request {
                webhook: OwnedInboxMessage::new(message, body),
                input,
                deadline,
            },
            reply,
        };
        // A full queue is waited for only until the deadline.
        let queued =
            tokio::time::timeout_at(deadline, self.sender(&facts.card_id).send(pending)).await;
        if matches!(queued, Ok(Ok(()))) {
            match tokio::time::timeout_at(deadline, &mut answer).await {
                Ok(Ok(outcome)) => return Answer::Outcome(outcome),
                // The worker could not decide it (dropped the reply): a decline, recorded.
                Ok(Err(_)) => {}
                Err(_) => {
                    // From here the worker's decision is not answered; one sent just before is.
                    answer.close();
                    if let Ok(outcome) = answer.try_recv() {
                        return Answer::Outcome(outcome);
                    }
                }
            }
        }
        metrics::counter!("saldo_card_decision_deadline_declines_total").increment(1);
        match tokio::time::timeout_at(answer_by, record_deadline_decline(&self.pool, &facts)).await
        {
            Ok(Ok(outcome)) => Answer::Outcome(outcome),
            Ok(Err(error)) => {
                tracing::error!(
                    authorization_id = %facts.authorization_id,
                    error.code = error.code(),
                    error = ?error,
                    "deadline decline not recorded: no answer"
                );
                Answer::Unrecorded
            }
            Err(_) => {
                tracing::error!(
                    authorization_id = %facts.authorization_id,
                    "deadline decline not recorded in time: no answer"
                );
                Answer::Unrecorded
            }
        }
    }
}

/// Which of `workers` workers takes a card's messages: always the same one (here and in
/// `crate::clearings`).
pub(crate) fn worker_of(card_id: &str, workers: usize) -> usize {
    debug_assert!(workers > 0);
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(card_id, &mut hasher);
    let shard = std::hash::Hasher::finish(&hasher) % workers.max(1) as u64;
    usize::try_from(shard).unwrap_or(0)
}

/// What a deadline decline records of its request.
struct DeclineFacts {
    authorization_id: String,
    card_id: String,
    currency: String,
    requested_minor: i64,
}

impl DeclineFacts {
    fn of(input: &AuthorizationInput) -> DeclineFacts {
        DeclineFacts {
            authorization_id: input.authorization_id.clone(),
            card_id: input.card_id.clone(),
            currency: input.amount.currency.code().to_owned(),
            requested_minor: input.amount.amount_minor,
        }
    }
}

/// The answer to a request not decided by its deadline, made durable before it is given: the
/// authorization's committed decision if one is visible (an earlier delivery's, or this one's
/// commit that just landed), else a decline recorded in `card.authorization_deadline_declines`,
/// which then wins over any decision that commits later. Takes no row lock, so it never waits for
/// a batch still committing; the advisory lock orders it against [`settle_unanswered`].
async fn record_deadline_decline(
    pool: &Pool,
    facts: &DeclineFacts,
) -> BookingResult<AuthorizationOutcome> {
    let mut client = pool.get().await.map_err(LedgerError::from)?;
    let tx = client.transaction().await?;
    let lock = tx
        .prepare_cached("select pg_advisory_xact_lock(hashtextextended($1, $2))")
        .await?;
    let decide = tx
        .prepare_cached(
            "with declined as (
                 select 1 from card.authorization_deadline_declines where authorization_id = $1
             ), answered as (
                 select decision, approved_minor, decline_reason, reason_key
                 from card.authorizations
                 where authorization_id = $1 and decision is not null
                   and not exists (select 1 from declined)
             ), recorded as (
                 insert into card.authorization_deadline_declines
                     (authorization_id, card_id, currency, requested_minor)
                 select $1, $2, $3, $4 where not exists (select 1 from answered)
                 on conflict (authorization_id) do nothing
             )
             select decision, approved_minor, decline_reason, reason_key from answered",
        )
        .await?;
    // Pipelined: the second statement runs (and takes its snapshot) once the lock is held.
    let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
        [&facts.authorization_id, &ANSWER_LOCK_SEED];
    let decide_params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
        &facts.authorization_id,
        &facts.card_id,
        &facts.currency,
        &facts.requested_minor,
    ];
    let (_, answered) = tokio::try_join!(
        tx.execute(&lock, &lock_params),
        tx.query_opt(&decide, &decide_params)
    )?;
    tx.commit().await?;
    Ok(match answered {
        Some(row) => AuthorizationOutcome {
            approve: protocol::Decision::from_name(row.get("decision"))?
                == protocol::Decision::Approve,
            approved_minor: row.get("approved_minor"),
            decline_reason: row.get("decline_reason"),
            reason_key: row.get("reason_key"),
        },
        None => AuthorizationOutcome::decline(DeclineCode::Other, "technical_problem"),
    })
}

/// Writes on their rows the declines answered for requests whose decision was not answered:
/// those the webhook answered at the deadline (from the queue, or while their COMMIT was
/// landing), those whose caller was gone. See [`authorization::settle_declined`] for the rule. One
/// transaction, the authorizations in id order.
async fn settle_unanswered(pool: &Pool, requests: &[&Request]) -> BookingResult<()> {
    let mut requests: Vec<&Request> = requests.to_vec();
    requests.sort_by(|a, b| a.input.authorization_id.cmp(&b.input.authorization_id));
    requests.dedup_by(|a, b| a.input.authorization_id == b.input.authorization_id);
    let mut client = pool.get().await.map_err(LedgerError::from)?;
    let tx = client.transaction().await?;
    for request in requests {
        let input = &request.input;
        let details = authorization::request_details(input, Some(input.at));
        settle_one(
            &tx,
            &input.authorization_id,
            &input.card_id,
            input.amount.currency.code(),
            Some(&details),
        )
        .await?;
        inbox::record_inbox(
            &tx,
            &request.webhook.message(),
            Applied::Applied,
            Some("deadline_decline"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Settles one authorization under the answer lock; see [`settle_unanswered`].
async fn settle_one(
    tx: &Transaction<'_>,
    authorization_id: &str,
    card_id: &str,
    currency: &str,
    details: Option<&RequestDetails>,
) -> BookingResult<()> {
    let lock = tx
        .prepare_cached("select pg_advisory_xact_lock(hashtextextended($1, $2))")
        .await?;
    // In order: the answer lock, the row, then whether a decline was recorded (seen as of after
    // the lock).
    let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
        [&authorization_id, &ANSWER_LOCK_SEED];
    let ids = [authorization_id];
    let (_, mut row, declined) = tokio::try_join!(
        biased;
        async { Ok::<_, BookingError>(tx.execute(&lock, &lock_params).await?) },
        booking::lock_authorization(tx, authorization_id, card_id, currency),
        booking::deadline_declined(tx, &ids)
    )?;
    authorization::settle_declined(tx, &mut row, !declined.is_empty(), details).await
}

/// Settles approvals that committed under a recorded decline and that no worker settled (the
/// process stopped between the late COMMIT and the settling). Declines younger than a hold can
/// live; each in its own transaction.
pub async fn settle_recorded_declines(pool: &Pool) -> BookingResult<usize> {
    let client = pool.get().await.map_err(LedgerError::from)?;
    let unsettled = client
        .query(
            "select d.authorization_id, d.card_id, d.currency
             from card.authorization_deadline_declines d
             join card.authorizations a on a.authorization_id = d.authorization_id
             where d.recorded_at > now() - make_interval(days => $1)
               and a.decision = 'APPROVE'
             order by d.authorization_id",
            &[&i32::try_from(booking::HOLD_LIFETIME_DAYS + 1).unwrap_or(i32::MAX)],
        )
        .await?;
    drop(client);
    for row in &unsettled {
        let (authorization_id, card_id, currency): (String, String, String) = (
            row.get("authorization_id"),
            row.get("card_id"),
            row.get("currency"),
        );
        let mut client = pool.get().await.map_err(LedgerError::from)?;
        let tx = client.transaction().await?;
        settle_one(&tx, &authorization_id, &card_id, &currency, None).await?;
        tx.commit().await?;
    }
    Ok(unsettled.len())
}

/// Runs [`settle_recorded_declines`] when the webhook starts and every [`SWEEP_INTERVAL`].
async fn sweep(pool: Pool) {
    loop {
        match settle_recorded_declines(&pool).await {
            Ok(0) => {}
            Ok(settled) => tracing::warn!(settled, "approvals under recorded declines settled"),
            Err(error) => {
                tracing::warn!(error.code = error.code(), error = ?error, "decline sweep failed")
            }
        }
        tokio::time::sleep(SWEEP_INTERVAL).await;
    }
}

/// `saldo verify`'s card check: no authorization holds money under a declined answer (its row's
/// decision, or a decline recorded at its deadline). It cannot see an increment's part of its
/// parent's hold, nor an answer the processor took as a decline without one being recorded
/// (no answer at all: its TIMEOUT advice releases that).
pub async fn verify_declined_answers_hold_nothing(
    client: &impl GenericClient,
) -> Result<ledger::check::Check, tokio_postgres::Error> {
    let row = client
        .query_one(
            "with v(example) as (
                 select a.authorization_id || ' ' || coalesce(a.decision, 'undecided')
                        || case when d.authorization_id is not null
                                then ' (declined at its deadline)' else '' end
                        || ' holds ' || a.held_minor || ' ' || a.currency
                 from card.authorizations a
                 left join card.authorization_deadline_declines d
                        on d.authorization_id = a.authorization_id
                 where a.held_minor > 0
                   and (a.decision = 'DECLINE' or d.authorization_id is not null))
             select count(*) as violations, coalesce((select array_agg(example) from
                 (select example from v order by example limit 10) l), '{}') as examples
             from v",
            &[],
        )
        .await?;
    Ok(ledger::check::Check {
        name: "declined_hold_nothing",
        description: "no card authorization holds money under a declined answer",
        violations: row.get("violations"),
        examples: row.get("examples"),
    })
}

/// Decides batches from one queue: the requests tried again first, then the first waiting
/// request and whatever queued behind it. Each batch runs as a task of its own. The worker waits
/// for a batch only until its decisions are made and its COMMIT is sent, then forms the next
/// batch while that one commits: a commit's flush of the WAL is the longest step of a batch,
/// and overlapping them lets PostgreSQL flush several batches' commits at once (group commit)
/// when few requests are in flight, instead of one worker's batches waiting for each other's
/// flush. A request whose card is in a batch still committing waits for that batch to end (its
/// balance row stays locked until then), so one card's requests are still decided in arrival
/// order, and the rest go on. At most [`MAX_BATCHES_IN_FLIGHT`] batches of a worker are
/// committing at once, which bounds the connections a stalled COMMIT keeps. A batch that panics
/// (a bug) drops its requests' reply channels, which makes their handlers record declines, and
/// the worker goes on instead of leaving its share of the cards declined until the server
/// restarts.
async fn work<D: Decide + 'static>(
    pool: Pool,
    decide: Arc<D>,
    mut receiver: mpsc::Receiver<Pending>,
) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_BATCHES_IN_FLIGHT));
    // Requests a batch found blocked come back here when the batch ends.
    let (retry, mut retried) = mpsc::unbounded_channel::<Vec<Pending>>();
    // Requests whose balance row another transaction held, oldest first.
    let mut blocked: Vec<Pending> = Vec::new();
    // The cards of this worker's batches not yet ended, by batch number; and the requests on
    // those cards, oldest first, until their batch ends.
    let (ended, mut ended_batches) = mpsc::unbounded_channel::<u64>();
    let mut committing: HashMap<u64, HashSet<String>> = HashMap::new();
    let mut behind_commit: Vec<Pending> = Vec::new();
    let mut batch_number: u64 = 0;
    loop {
        while let Ok(back) = retried.try_recv() {
            blocked.splice(0..0, back);
        }
        while let Ok(number) = ended_batches.try_recv() {
            committing.remove(&number);
        }
        release_behind_commit(&committing, &mut behind_commit, &mut blocked);
        let retry_wait = if blocked.is_empty() {
            Duration::from_secs(3600)
        } else {
            Duration::from_millis(BLOCKED_RETRY_MS)
        };
        // Something new goes with a retry; else the retry goes after a short wait.
        tokio::select! {
            Some(back) = retried.recv() => {
                blocked.splice(0..0, back);
            }
            Some(number) = ended_batches.recv() => {
                committing.remove(&number);
                release_behind_commit(&committing, &mut behind_commit, &mut blocked);
            }
            next = receiver.recv() => match next {
                Some(pending) => blocked.push(pending),
                None => return,
            },
            () = tokio::time::sleep(retry_wait) => {}
        }
        let mut batch = next_batch(&mut blocked, &mut receiver);
        if !committing.is_empty() {
            let (free, waiting): (Vec<Pending>, Vec<Pending>) =
                batch.into_iter().partition(|pending| {
                    !committing
                        .values()
                        .any(|cards| cards.contains(&pending.request.input.card_id))
                });
            behind_commit.extend(waiting);
            batch = free;
        }
        if batch.is_empty() {
            continue;
        }
        let requests = batch.len();
        // How many requests each transaction carries: how much batching the load gives.
        metrics::histogram!("saldo_card_decision_batch_requests")
            .record(u32::try_from(requests).unwrap_or(u32::MAX));
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        batch_number = batch_number.wrapping_add(1);
        committing.insert(
            batch_number,
            batch
                .iter()
                .map(|pending| pending.request.input.card_id.clone())
                .collect(),
        );
        let (ready, is_ready) = oneshot::channel();
        let task = tokio::spawn(decide_and_answer(
            pool.clone(),
            Arc::clone(&decide),
            batch,
            ready,
            retry.clone(),
            permit,
        ));
        let ended = ended.clone();
        let number = batch_number;
        tokio::spawn(async move {
            log_batch_failure(task.await, requests);
            let _ = ended.send(number);
        });
        // Sent once the decisions are made and the COMMIT goes out, or dropped when the batch
        // ends without (it fails, or it has requests for the one-request path, which are
        // decided after its COMMIT and before anything later of the worker).
        let _ = is_ready.await;
    }
}

/// Moves the requests that waited for a batch to end, and whose cards are in no batch still
/// committing, to the front of `blocked`, oldest first.
fn release_behind_commit(
    committing: &HashMap<u64, HashSet<String>>,
    behind_commit: &mut Vec<Pending>,
    blocked: &mut Vec<Pending>,
) {
    if behind_commit.is_empty() {
        return;
    }
    let (free, waiting): (Vec<Pending>, Vec<Pending>) = std::mem::take(behind_commit)
        .into_iter()
        .partition(|pending| {
            !committing
                .values()
                .any(|cards| cards.contains(&pending.request.input.card_id))
        });
    *behind_commit = waiting;
    blocked.splice(0..0, free);
}

/// The next batch: the requests tried again first, oldest first, in at most
/// [`MAX_RETRIED_PER_BATCH`] places, then what waits in the queue, up to [`MAX_BATCH_REQUESTS`].
fn next_batch(blocked: &mut Vec<Pending>, receiver: &mut mpsc::Receiver<Pending>) -> Vec<Pending> {
    let retried_now = blocked.len().min(MAX_RETRIED_PER_BATCH);
    let mut batch: Vec<Pending> = blocked.drain(..retried_now).collect();
    while batch.len() < MAX_BATCH_REQUESTS {
        match receiver.try_recv() {
            Ok(pending) => batch.push(pending),
            Err(_) => break,
        }
    }
    debug_assert!(batch.len() <= MAX_BATCH_REQUESTS);
    batch
}

fn log_batch_failure(ended: Result<(), tokio::task::JoinError>, requests: usize) {
    if let Err(error) = ended {
        tracing::error!(
            requests,
            panicked = error.is_panic(),
            "an authorization batch failed: its requests get recorded declines"
        );
    }
}

/// Decides one batch and answers it; sends `ready` as soon as the worker may start the next
/// batch, and the requests to try again to `retry` at the end.
async fn decide_and_answer<D: Decide>(
    pool: Pool,
    decide: Arc<D>,
    batch: Vec<Pending>,
    ready: oneshot::Sender<()>,
    retry: mpsc::UnboundedSender<Vec<Pending>>,
    _in_flight: tokio::sync::OwnedSemaphorePermit,
) {
    let mut ready = Some(ready);
    let now = Instant::now();
    // Answered already at their deadline, or their caller is gone: not decided any more.
    let (live, gone): (Vec<Pending>, Vec<Pending>) = batch
        .into_iter()
        .partition(|pending| !pending.reply.is_closed() && now < pending.request.deadline);
    let decisions = {
        let requests: Vec<(InboxMessage<'_>, &AuthorizationInput, Instant)> = live
            .iter()
            .map(|p| {
                (
                    p.request.webhook.message(),
                    &p.request.input,
                    p.request.deadline,
                )
            })
            .collect();
        decide_requests(&pool, decide.as_ref(), &requests, &mut ready).await
    };
    debug_assert_eq!(decisions.len(), live.len(), "one decision per request");
    let mut unanswered: Vec<Request> = gone.into_iter().map(|p| p.request).collect();
    let mut still_blocked = Vec::new();
    for (pending, decision) in live.into_iter().zip(decisions) {
        match decision {
            Decision::Decided(outcome) => {
                if pending.reply.send(outcome).is_err() {
                    // The handler answered at its deadline (or its caller left) before this
                    // decision's COMMIT returned.
                    unanswered.push(pending.request);
                }
            }
            Decision::Blocked if Instant::now() < pending.request.deadline => {
                still_blocked.push(pending);
            }
            // Dropping the reply makes the handler record and answer a decline.
            Decision::Blocked | Decision::Undecided => unanswered.push(pending.request),
        }
    }
    // The worker may go on now if it did not already.
    drop(ready);
    if !still_blocked.is_empty() {
        // The worker is gone only when the server stops: their handlers record declines.
        let _ = retry.send(still_blocked);
    }
    if !unanswered.is_empty() {
        let requests: Vec<&Request> = unanswered.iter().collect();
        if let Err(error) = settle_unanswered(&pool, &requests).await {
            // Left to the next delivery of each and to the sweep: the recorded declines win.
            tracing::error!(
                requests = requests.len(),
                error.code = error.code(),
                error = ?error,
                "answered declines not settled on their rows"
            );
        }
    }
}

/// Decides the requests (each by its own deadline) and returns their answers in order. A
/// request whose rows stay locked is tried again until its deadline; one not decided by then is
/// answered with a recorded decline, as the webhook does.
pub async fn authorize_batch(
    pool: &Pool,
    decide: &impl Decide,
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
) -> Vec<AuthorizationOutcome> {
    let mut decisions = decide_requests(pool, decide, requests, &mut None).await;
    loop {
        let blocked: Vec<usize> = (0..requests.len())
            .filter(|&index| {
                matches!(decisions[index], Decision::Blocked) && Instant::now() < requests[index].2
            })
            .collect();
        if blocked.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(BLOCKED_RETRY_MS)).await;
        let retry: Vec<(InboxMessage<'_>, &AuthorizationInput, Instant)> = blocked
            .iter()
            .map(|&index| requests[index].clone())
            .collect();
        for (index, decision) in blocked
            .into_iter()
            .zip(decide_requests(pool, decide, &retry, &mut None).await)
        {
            decisions[index] = decision;
        }
    }
    debug_assert_eq!(decisions.len(), requests.len(), "one decision per request");
    let mut outcomes = Vec::with_capacity(requests.len());
    for ((_, input, _), decision) in requests.iter().zip(decisions) {
        outcomes.push(match decision {
            Decision::Decided(outcome) => outcome,
            Decision::Blocked | Decision::Undecided => {
                record_deadline_decline(pool, &DeclineFacts::of(input))
                    .await
                    .unwrap_or_else(|error| {
                        tracing::error!(error.code = error.code(), "deadline decline not recorded");
                        AuthorizationOutcome::decline(DeclineCode::Other, "technical_problem")
                    })
            }
        });
    }
    outcomes
}

/// One attempt at the requests: each decided, blocked by a lock, or undecided. `ready` is sent
/// once the batch's decisions are made and it is committing, if no request is left for the
/// one-request path (those are decided after the COMMIT, in arrival order, before anything
/// later of the worker).
pub(crate) async fn decide_requests(
    pool: &Pool,
    decide: &impl Decide,
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
    ready: &mut Option<oneshot::Sender<()>>,
) -> Vec<Decision> {
    let mut seen = HashSet::with_capacity(requests.len());
    let (mut batched, mut alone): (Vec<usize>, Vec<usize>) =
        (0..requests.len()).partition(|&index| {
            let input = requests[index].1;
            input.parent_authorization_id.is_none()
                && input.amount.is_positive()
                && seen.insert(input.authorization_id.as_str())
        });
    let mut decisions: Vec<Option<Decision>> = vec![None; requests.len()];
    if !batched.is_empty() {
        let ready = if alone.is_empty() { ready } else { &mut None };
        match batch_in_transaction(pool, decide, requests, &batched, ready).await {
            Ok(decided) => {
                for (index, outcome) in decided.outcomes {
                    decisions[index] = Some(Decision::Decided(outcome));
                }
                for index in decided.blocked {
                    decisions[index] = Some(Decision::Blocked);
                }
                alone.extend(decided.alone);
            }
            Err(BatchFailure::OverBudget) => {
                tracing::warn!(
                    budget_ms = authorization::DECISION_BUDGET_MS,
                    requests = batched.len(),
                    "authorization batch over budget: rolled back"
                );
                for &index in &batched {
                    decisions[index] = Some(Decision::Undecided);
                }
            }
            Err(BatchFailure::Failed(error)) => {
                // Nothing of it was committed: each request is decided on its own instead.
                tracing::warn!(
                    error.code = error.code(),
                    error = ?error,
                    requests = batched.len(),
                    "authorization batch failed: deciding its requests one by one"
                );
                alone.append(&mut batched);
            }
        }
    }
    alone.sort_unstable();
    for index in alone {
        let (message, input, deadline) = &requests[index];
        decisions[index] =
            Some(authorization::authorize_alone(pool, decide, message, input, *deadline).await);
    }
    debug_assert!(
        decisions.iter().all(Option::is_some),
        "every request is decided, blocked or undecided"
    );
    decisions
        .into_iter()
        .map(|decision| decision.unwrap_or(Decision::Undecided))
        .collect()
}

/// Why a batch's transaction did not commit.
enum BatchFailure {
    /// Not ready to COMMIT by the earliest deadline among its requests: rolled back.
    OverBudget,
    Failed(BookingError),
}

impl<E: Into<BookingError>> From<E> for BatchFailure {
    fn from(error: E) -> BatchFailure {
        BatchFailure::Failed(error.into())
    }
}

struct Decided {
    outcomes: Vec<(usize, AuthorizationOutcome)>,
    /// Left for the one-request path.
    alone: Vec<usize>,
    /// Their account's balance row is held by another transaction: to be tried again.
    blocked: Vec<usize>,
}

/// One batch's transaction: see the module documentation for the steps. Everything up to the
/// COMMIT must be done by the earliest deadline among the requests, else it is rolled back; the
/// COMMIT itself is waited for, so that only what is durable is answered.
async fn batch_in_transaction(
    pool: &Pool,
    decide: &impl Decide,
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
    batched: &[usize],
    ready: &mut Option<oneshot::Sender<()>>,
) -> Result<Decided, BatchFailure> {
    let deadline = batched
        .iter()
        .map(|&index| requests[index].2)
        .min()
        .unwrap_or_else(Instant::now);
    let client = match tokio::time::timeout_at(deadline, pool.get()).await {
        Ok(client) => client.map_err(LedgerError::from)?,
        Err(_) => return Err(BatchFailure::OverBudget),
    };
    // Begun with the batch's first reads (`prepare_batch`).
    let tx = PipelinedTransaction::new(client);
    let decided = match tokio::time::timeout_at(
        deadline,
        prepare_batch(&tx, decide, requests, batched),
    )
    .await
    {
        Ok(decided) => decided?,
        // Dropped before its COMMIT: rolled back, nothing of it durable.
        Err(_) => return Err(BatchFailure::OverBudget),
    };
    if decided.alone.is_empty()
        && let Some(ready) = ready.take()
    {
        let _ = ready.send(());
    }
    tx.commit().await?;
    Ok(decided)
}

/// A batch's decisions and writes, all but the COMMIT; its BEGIN goes out with its reads.
async fn prepare_batch<D: Decide>(
    tx: &PipelinedTransaction,
    decide: &D,
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
    batched: &[usize],
) -> BookingResult<Decided> {
    debug_assert!(batched.iter().all(|&index| {
        let input = requests[index].1;
        input.parent_authorization_id.is_none() && input.amount.is_positive()
    }));
    let ids: Vec<&str> = batched
        .iter()
        .map(|&index| requests[index].1.authorization_id.as_str())
        .collect();
    let card_ids: Vec<&str> = batched
        .iter()
        .map(|&index| requests[index].1.card_id.as_str())
        .collect();
    let inputs: Vec<&AuthorizationInput> = batched.iter().map(|&index| requests[index].1).collect();
    let client = tx.client();
    // The first round trip: BEGIN with the plans' settings, then the rows, the cards, the
    // recorded declines and the controls (by card: they need no lock).
    let (_, existing, cards, declined, controls) = tokio::try_join!(
        biased;
        async {
            tx.begin(booking::decision_settings())
                .await
                .map_err(BookingError::from)
        },
        booking::lock_existing_authorizations(client, &ids),
        booking::cards(client, &card_ids),
        booking::deadline_declined(client, &ids),
        decide.controls(client, &inputs)
    )?;
    if controls.len() != batched.len() {
        return Err(missing("controls"));
    }
    let controls_by_request: HashMap<usize, &D::Controls> =
        batched.iter().copied().zip(&controls).collect();

    let mut decided = Decided {
        outcomes: Vec::with_capacity(batched.len()),
        alone: Vec::new(),
        blocked: Vec::new(),
    };
    let mut inbox: Vec<(usize, Applied)> = Vec::with_capacity(batched.len());
    let to_decide = answer_known(
        requests,
        batched,
        &existing,
        &declined,
        &mut decided,
        &mut inbox,
    );
    // The cards a hold can go on: their balance rows locked, and their controls and spend read,
    // in one round trip. The lock goes first and PostgreSQL runs the statements in order, so
    // the spend is read under it. Balance rows others hold are skipped, not waited for: their
    // requests are tried again (what was read for them is not used).
    let usable: Vec<(&booking::Card, &AuthorizationInput, &D::Controls)> = to_decide
        .iter()
        .filter_map(|&index| {
            let input = requests[index].1;
            let card = authorization::usable_card(cards.get(&input.card_id)).ok()?;
            Some((card, input, *controls_by_request.get(&index)?))
        })
        .collect();
    let account_ids: Vec<uuid::Uuid> = usable.iter().map(|(card, _, _)| card.account_id).collect();
    let ((mut accounts, locked_elsewhere), loaded) = if usable.is_empty() {
        ((HashMap::new(), Vec::new()), Vec::new())
    } else {
        tokio::try_join!(
            biased;
            async {
                Ok::<_, BookingError>(
                    ledger::store::lock_accounts_for_holds_skip_locked(client, &account_ids)
                        .await?,
                )
            },
            decide.load(client, &usable)
        )?
    };
    if loaded.len() != usable.len() {
        return Err(missing("controls"));
    }
    let loaded_by_request: HashMap<&str, &D::Loaded> = usable
        .iter()
        .zip(&loaded)
        .map(|((_, input, _), loaded)| (input.authorization_id.as_str(), loaded))
        .collect();

    let mut saved: Vec<Saved> = Vec::with_capacity(to_decide.len());
    let with_controls = sort_by_card(
        requests,
        &to_decide,
        &cards,
        &accounts,
        &locked_elsewhere,
        &mut saved,
        &mut decided,
    );
    let loaded: Vec<(&D::Controls, &D::Loaded)> = with_controls
        .iter()
        .map(|(index, _, _)| {
            let controls = controls_by_request.get(index).copied();
            let loaded = loaded_by_request
                .get(requests[*index].1.authorization_id.as_str())
                .copied();
            controls.zip(loaded).ok_or_else(|| missing("controls"))
        })
        .collect::<BookingResult<_>>()?;
    let holds = plan_holds(
        decide,
        requests,
        with_controls,
        &loaded,
        &mut accounts,
        &mut saved,
        &mut decided.alone,
    )?;
    write_batch(client, requests, &saved, &holds, inbox).await?;
    decided.outcomes.extend(
        saved
            .into_iter()
            .map(|decision| (decision.index, decision.outcome)),
    );
    debug_assert!(
        each_once(batched, &decided),
        "a batch gives each of its requests exactly one decision or path"
    );
    Ok(decided)
}

/// Sorts a batch's requests by what their rows say: a decline recorded at an earlier delivery's
/// deadline and a row events created first go to the one-request path, an authorization decided
/// before is answered the same way again; the new authorizations, to decide, are returned in
/// arrival order.
fn answer_known(
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
    batched: &[usize],
    existing: &HashMap<String, booking::AuthorizationRow>,
    declined: &HashSet<String>,
    decided: &mut Decided,
    inbox: &mut Vec<(usize, Applied)>,
) -> Vec<usize> {
    let mut to_decide = Vec::with_capacity(batched.len());
    for &index in batched {
        let input = requests[index].1;
        if declined.contains(&input.authorization_id) {
            // An earlier delivery was answered with a recorded decline: the one-request path
            // answers it and settles the row.
            decided.alone.push(index);
            continue;
        }
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
    to_decide
}

/// The card decides before the controls: unknown and inactive cards are declined as such (into
/// `saved`), a card whose balance row another transaction holds is blocked, one whose account has
/// no balance row goes to the one-request path; the rest, with their cards, go to the controls.
fn sort_by_card<'c>(
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
    to_decide: &[usize],
    cards: &'c HashMap<String, booking::Card>,
    accounts: &HashMap<uuid::Uuid, ledger::store::HoldAccount>,
    locked_elsewhere: &[uuid::Uuid],
    saved: &mut Vec<Saved>,
    decided: &mut Decided,
) -> Vec<(usize, &'c booking::Card, RequestDetails)> {
    let mut with_controls = Vec::with_capacity(to_decide.len());
    for &index in to_decide {
        let input = requests[index].1;
        let details = authorization::request_details(input, Some(input.at));
        match authorization::usable_card(cards.get(&input.card_id)) {
            Err(outcome) => saved.push(Saved::new(index, outcome, details)),
            Ok(card) if locked_elsewhere.contains(&card.account_id) => {
                decided.blocked.push(index);
            }
            Ok(card) if !accounts.contains_key(&card.account_id) => decided.alone.push(index),
            Ok(card) => with_controls.push((index, card, details)),
        }
    }
    with_controls
}

/// Decides, in memory and in arrival order, the requests whose card and balance row the batch
/// holds: each counts the approvals before it. The approvals' holds are planned on their locked
/// balance rows and returned; every decision goes to `saved`, and what the ledger refuses for a
/// reason other than money to `alone`.
fn plan_holds<D: Decide>(
    decide: &D,
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
    with_controls: Vec<(usize, &booking::Card, RequestDetails)>,
    loaded: &[(&D::Controls, &D::Loaded)],
    accounts: &mut HashMap<uuid::Uuid, ledger::store::HoldAccount>,
    saved: &mut Vec<Saved>,
    alone: &mut Vec<usize>,
) -> BookingResult<Vec<ledger::store::PlannedHold>> {
    let mut earlier: Vec<EarlierApproval> = Vec::with_capacity(loaded.len());
    let mut holds = Vec::with_capacity(loaded.len());
    for ((index, card, mut details), (controls, loaded)) in with_controls.into_iter().zip(loaded) {
        let input = requests[index].1;
        let verdict = decide.verdict(controls, loaded, card, input, &earlier)?;
        details.policy_version = verdict.policy_version;
        details.limited_by = verdict.limited_by;
        let amount = match verdict.decline {
            Some(decline) => Err(decline),
            None => authorization::approvable_amount(verdict.max_approve_minor, input),
        };
        let amount = match amount {
            Ok(amount) => amount,
            Err(decline) => {
                saved.push(Saved::new(index, decline, details));
                continue;
            }
        };
        debug_assert!(
            amount.is_positive() && amount.amount_minor <= input.amount.amount_minor,
            "an approval holds part or all of what was asked"
        );
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
                AuthorizationOutcome::decline(DeclineCode::InsufficientFunds, "insufficient_funds"),
                details,
            )),
            // Closed, hot, another currency: the one-request path gives its usual answer.
            Err(_) => alone.push(index),
        }
    }
    Ok(holds)
}

/// The batch's three writes in one round trip: the planned holds, the new authorization rows
/// with their decisions, and the inbox rows of every message the batch answered.
async fn write_batch(
    tx: &impl GenericClient,
    requests: &[(InboxMessage<'_>, &AuthorizationInput, Instant)],
    saved: &[Saved],
    holds: &[ledger::store::PlannedHold],
    mut inbox: Vec<(usize, Applied)>,
) -> BookingResult<()> {
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
        async { Ok::<_, BookingError>(ledger::store::insert_holds(tx, holds).await?) },
        booking::insert_decisions(tx, &decisions),
        inbox::record_inbox_many(tx, &messages)
    )?;
    Ok(())
}

/// True when every request of the batch is answered, left for the one-request path or blocked,
/// and only once (checked in debug builds).
fn each_once(batched: &[usize], decided: &Decided) -> bool {
    let mut seen: Vec<usize> = decided
        .outcomes
        .iter()
        .map(|(index, _)| *index)
        .chain(decided.alone.iter().copied())
        .chain(decided.blocked.iter().copied())
        .collect();
    let mut expected = batched.to_vec();
    seen.sort_unstable();
    expected.sort_unstable();
    seen == expected
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
