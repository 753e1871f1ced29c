//! The transactional outbox of calls to the processor.
//!
//! A business change that needs the processor (admission needs a card, staff freeze a card)
//! writes its call into `card.outbox` in the same transaction as the change itself. A worker
//! delivers due calls with their `Idempotency-Key`, retries 429, 5xx and timeouts with
//! exponential backoff and jitter (never before `Retry-After`), and parks calls that keep
//! failing, or that the egress guard refuses, as `dead` for staff to see and retry. If the
//! process dies between the commit and the call, the call is still in the table: nothing is
//! lost, and the processor's idempotency makes a repeated call harmless.
//!
//! Calls go out concurrently (at most [`MAX_CALLS_IN_FLIGHT`] per worker), so one slow answer
//! holds up only its own call. Calls about the same card (or, before there is a card, the same
//! person) keep their order: one is sent only when every earlier due call with its
//! `ordering_key` is delivered or dead, so a freeze and the unfreeze after it never swap places.
//!
//! A card-state call (freeze, unfreeze, activation, close) is never sent once a later one for the
//! same card is queued or delivered: it is marked `superseded` instead, so a stale instruction (an
//! old freeze retried after an unfreeze) cannot override a newer one.
//!
//! Every request that leaves, and every one the egress guard refuses, is written to the egress
//! register (`card.egress_register`) for the data protection officer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool, Transaction};
use processor_protocol::{
    CardForm, CardState, CreateCardRequest, CreateCardholderRequest, SetCardStateRequest,
};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::booking::{self, BookingError, BookingResult};
use crate::client::{self, ClientError, ProcessorClient};
use crate::egress::EgressRecord;
use crate::processors::DEFAULT_PROCESSOR;
use crate::pseudonym::PseudonymKeys;
use crate::states::Named;
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// After this many failed attempts a call is parked as dead.
pub const MAX_ATTEMPTS: i32 = 12;
/// A claimed call is someone's for this long; if its worker dies, another takes it over.
const CLAIM_LEASE_SECONDS: i32 = 120;
/// Calls one worker has at the processor at once: enough that a slow answer (the processor may
/// take 10 s) does not hold up a freeze, few enough for the processor's rate limits and our
/// connection pool (each call takes a connection for moments, never while it waits).
pub const MAX_CALLS_IN_FLIGHT: usize = 8;
/// An Idempotency-Key is at most 64 characters (protocol 2).
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 64;
/// Who changed a card's state, on `card.card_state_events`, when our own call changed it.
const CHANGED_BY_OUTBOX: &str = "SALDO";
/// The one call that carries a card's desired state (`POST /v1/cards/{id}/state`).
pub const CARD_STATE_OPERATION: &str = "set_card_state";

/// The latest later call for the same card's state (a [`CARD_STATE_OPERATION`] on the same
/// path) as the outer row `stale` that is queued or delivered: the call that makes `stale` stale.
const NEWER_CARD_STATE_CALL: &str = "select newer.id from card.outbox newer
     where newer.operation = 'set_card_state' and newer.path = stale.path
       and newer.state in ('pending', 'delivered')
       and (newer.scheduled_at, newer.id) > (stale.scheduled_at, stale.id)
     order by newer.scheduled_at desc, newer.id desc
     limit 1";

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The identity store, as the outbox sees it: the personal data of one person, for the egress
/// guard to look for, and the place where disclosures to the processor are logged.
pub trait PersonalData: Send + Sync {
    fn values_for(&self, person_id: Uuid) -> BoxFuture<'_, Vec<String>>;
    /// Called after a request about `person_id` was sent (it carried a pseudonym only).
    fn record_disclosure<'a>(
        &'a self,
        person_id: Uuid,
        sent: &'a EgressRecord,
    ) -> BoxFuture<'a, ()>;
}

/// For deployments and tests without an identity store: the guard still refuses personal
/// fields and free text by shape, but has no values to look for.
pub struct NoPersonalData;

impl PersonalData for NoPersonalData {
    fn values_for(&self, _person_id: Uuid) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async { Vec::new() })
    }

    fn record_disclosure<'a>(
        &'a self,
        _person_id: Uuid,
        _sent: &'a EgressRecord,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[derive(Debug, Clone)]
pub struct OutboxCall {
    pub id: Uuid,
    /// The processor the call goes to (`card.processors`).
    pub processor_id: String,
    /// The key the call was queued under (one call per key).
    pub idempotency_key: String,
    pub operation: String,
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
    pub person_id: Option<Uuid>,
    pub state: CallState,
    /// Attempts since the call was queued, or since staff last put it back.
    pub attempts: i32,
    /// The code of the last failure (`invalid_state_transition`, `transient`, `egress_…`).
    pub last_error: Option<String>,
    /// The processor's HTTP status of that failure; `None` without an answer.
    pub last_error_status: Option<i32>,
    /// Bumped when staff put back a call the processor refused with a 4xx (see [`retry_dead`]).
    pub idempotency_round: i32,
    /// When the call is due (for a pending call, its next attempt).
    pub next_attempt_at: OffsetDateTime,
    /// A worker is sending it now.
    pub in_flight: bool,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    /// Times staff put it back after it was parked dead.
    pub staff_retries: i32,
    /// For a `superseded` call: the later call for the same card's state that replaced it.
    pub superseded_by: Option<Uuid>,
}

/// Where a call is (`card.outbox.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Waiting for its next attempt, or being sent.
    Pending,
    Delivered,
    /// Parked: out of attempts, refused by the processor or by the egress guard.
    Dead,
    /// A card-state call a later one for the same card replaced.
    Superseded,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        self.name()
    }
}

impl Named for CallState {
    const SET: &'static str = "outbox call state";
    const ALL: &'static [CallState] = &[
        CallState::Pending,
        CallState::Delivered,
        CallState::Dead,
        CallState::Superseded,
    ];

    fn name(self) -> &'static str {
        match self {
            CallState::Pending => "pending",
            CallState::Delivered => "delivered",
            CallState::Dead => "dead",
            CallState::Superseded => "superseded",
        }
    }
}

impl OutboxCall {
    /// The Idempotency-Key this attempt carries: the queued key, or after a staff retry of a
    /// call the processor refused, a key of that retry's own (see [`retry_dead`]).
    pub fn idempotency_key_to_send(&self) -> String {
        round_key(&self.idempotency_key, self.idempotency_round)
    }
}

/// `key` for round 0; `key_r<round>` after; a hash of `key` with the round when that would
/// be longer than the protocol allows. Deterministic, so a lost answer's retry reuses it.
pub fn round_key(key: &str, round: i32) -> String {
    if round <= 0 {
        return key.to_owned();
    }
    let suffixed = format!("{key}_r{round}");
    if suffixed.len() <= MAX_IDEMPOTENCY_KEY_CHARS {
        return suffixed;
    }
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    format!("r{round}_{}", &digest[..40])
}

/// `key` with the first 64 bits of the body's SHA-256 (`<key>_<16 hex>`), within the protocol's
/// 64 characters (a longer key is itself replaced by a digest).
fn with_body_digest(key: &str, body: &Value) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(crate::egress::body_bytes(body)));
    let base = if key.len() + 17 <= MAX_IDEMPOTENCY_KEY_CHARS {
        key.to_owned()
    } else {
        hex::encode(sha2::Sha256::digest(key.as_bytes()))[..40].to_owned()
    };
    format!("{base}_{}", &digest[..16])
}

/// The columns an [`OutboxCall`] is read from, by name.
const CALL_COLUMNS: &str =
    "id, processor_id, idempotency_key, operation, method, path, body, person_id, state,
    attempts, last_error, last_error_status, idempotency_round, next_attempt_at,
    coalesce(claimed_until > now(), false) as in_flight, last_attempt_at, delivered_at,
    staff_retries, superseded_by";

/// Writes a call into the outbox, in the caller's transaction. The same idempotency key twice
/// is one call.
pub async fn enqueue(
    tx: &Transaction<'_>,
    idempotency_key: &str,
    operation: &str,
    method: &Method,
    path: &str,
    body: Option<&Value>,
    person_id: Option<Uuid>,
) -> BookingResult<()> {
    enqueue_at(
        tx,
        idempotency_key,
        operation,
        method,
        path,
        body,
        person_id,
        OffsetDateTime::now_utc(),
    )
    .await
}

/// [`enqueue`], to be sent no earlier than `not_before`. The call goes to the processor of the
/// card in its path, else to the default processor.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue_at(
    tx: &Transaction<'_>,
    idempotency_key: &str,
    operation: &str,
    method: &Method,
    path: &str,
    body: Option<&Value>,
    person_id: Option<Uuid>,
    not_before: OffsetDateTime,
) -> BookingResult<()> {
    let call = QueuedCall {
        idempotency_key,
        operation,
        method,
        path,
        body,
        person_id,
    };
    enqueue_to(tx, None, &call, not_before).await
}

/// A call as it is queued.
pub struct QueuedCall<'a> {
    pub idempotency_key: &'a str,
    pub operation: &'a str,
    pub method: &'a Method,
    pub path: &'a str,
    pub body: Option<&'a Value>,
    pub person_id: Option<Uuid>,
}

/// Queues `call` for `processor_id`; `None`: the processor of the card in its path, else the
/// default processor.
pub async fn enqueue_to(
    tx: &Transaction<'_>,
    processor_id: Option<&str>,
    call: &QueuedCall<'_>,
    not_before: OffsetDateTime,
) -> BookingResult<()> {
    // `scheduled_at` is the call's place among the calls about the same card; retries move
    // `next_attempt_at` only.
    let insert = tx
        .prepare_cached(
            "insert into card.outbox
                 (id, idempotency_key, operation, method, path, body, person_id, next_attempt_at,
                  scheduled_at, processor_id)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $8,
                     coalesce($9::text,
                              (select processor_id from card.cards
                               where card_id = substring($5 from '^/v1/cards/([^/]+)')),
                              $10))
             on conflict (idempotency_key) do nothing",
        )
        .await?;
    let QueuedCall {
        idempotency_key,
        operation,
        method,
        path,
        body,
        person_id,
    } = *call;
    tx.execute(
        &insert,
        &[
            &Uuid::now_v7(),
            &idempotency_key,
            &operation,
            &method.as_str(),
            &path,
            &body,
            &person_id,
            &not_before,
            &processor_id,
            &DEFAULT_PROCESSOR,
        ],
    )
    .await?;
    Ok(())
}

/// Idempotency keys are 1..64 of [A-Za-z0-9_-]: a uuid's simple form with a short prefix fits.
fn key(prefix: &str, id: Uuid) -> String {
    format!("{prefix}_{}", id.simple())
}

/// Requests a card for a person (admission): a pseudonymous cardholder, then a card, then its
/// activation, each call queued once the previous one answered. The pseudonym is computed when
/// the call is sent, under the key current then. The card is issued where new cards go
/// ([`crate::processors::issuing`]): the default processor, unless a switch-over moved the
/// program away from it.
pub async fn request_card(tx: &Transaction<'_>, person_id: Uuid) -> BookingResult<()> {
    let processor_id = crate::processors::issuing(tx).await?;
    request_card_at(tx, &processor_id, person_id).await
}

/// [`request_card`] at a given processor (a switch-over's new card): a cardholder of its own
/// there, under that processor's pseudonym key.
pub async fn request_card_at(
    tx: &Transaction<'_>,
    processor_id: &str,
    person_id: Uuid,
) -> BookingResult<()> {
    let call = QueuedCall {
        idempotency_key: &processor_key("ch", processor_id, person_id),
        operation: "create_cardholder",
        method: &Method::POST,
        path: "/v1/cardholders",
        body: None,
        person_id: Some(person_id),
    };
    enqueue_to(tx, Some(processor_id), &call, OffsetDateTime::now_utc()).await
}

/// A key per person and processor: the default processor's keep their form from before V22
/// (`ch_<person>`), another's carry its id (`ch_p2_<person>`), so a person's cardholder at each
/// processor is one call.
fn processor_key(prefix: &str, processor_id: &str, person_id: Uuid) -> String {
    if processor_id == DEFAULT_PROCESSOR {
        key(prefix, person_id)
    } else {
        format!("{prefix}_{processor_id}_{}", person_id.simple())
    }
}

/// Asks the processor to change a card's state (freeze, unfreeze, close).
pub async fn request_card_state(
    tx: &Transaction<'_>,
    card_id: &str,
    person_id: Option<Uuid>,
    state: CardState,
    reason: &str,
    request_id: Uuid,
) -> BookingResult<()> {
    let body = serde_json::to_value(SetCardStateRequest {
        state,
        reason: Some(reason.to_owned()),
    })
    .map_err(|e| ledger::LedgerError::invalid("body", e.to_string()))?;
    enqueue(
        tx,
        &key("st", request_id),
        CARD_STATE_OPERATION,
        &Method::POST,
        &format!("/v1/cards/{card_id}/state"),
        Some(&body),
        person_id,
    )
    .await
}

/// Tells this process's outbox worker that a call is due now (a staff retry, a staff card
/// action), so it claims at once instead of at its next poll. A call queued by another process
/// waits for this worker's poll.
#[derive(Clone, Default)]
pub struct OutboxWake(Arc<Notify>);

impl OutboxWake {
    /// Call after the transaction that queued the call committed, or the worker may not see it.
    pub fn wake(&self) {
        // One stored permit if the worker is busy: the wake is not lost, and many are one.
        self.0.notify_one();
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}

/// What the worker needs.
#[derive(Clone)]
pub struct OutboxWorker {
    /// The processor this worker sends to: it claims that processor's calls only.
    pub processor_id: String,
    pub pool: Pool,
    pub client: ProcessorClient,
    pub personal_data: Arc<dyn PersonalData>,
    /// The program's card name, embossed on every card.
    pub program_card_name: String,
    /// Keys for the `external_ref` pseudonyms (versioned: rotation keeps old refs resolvable).
    pub pseudonyms: PseudonymKeys,
    /// The card program's name at the processor, e.g. `prison-fi`.
    pub program: String,
    /// Makes [`OutboxWorker::run`] claim before its next poll.
    pub wake: OutboxWake,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
}

impl OutboxWorker {
    /// Delivers up to `batch` due calls once, [`MAX_CALLS_IN_FLIGHT`] at a time, and waits for
    /// all of them. Returns what happened to them; a database error of any call is returned
    /// after the others finished (that call comes back when its lease ends).
    pub async fn deliver_due(&self, batch: i64) -> BookingResult<DeliveryReport> {
        let mut waiting = self.claim(batch).await?.into_iter();
        let worker = Arc::new(self.clone());
        let mut in_flight = JoinSet::new();
        let mut report = DeliveryReport::default();
        let mut first_error = None;
        loop {
            while in_flight.len() < MAX_CALLS_IN_FLIGHT {
                let Some(call) = waiting.next() else { break };
                let worker = Arc::clone(&worker);
                in_flight.spawn(async move { worker.deliver(&call).await });
            }
            let Some(joined) = in_flight.join_next().await else {
                break;
            };
            match joined {
                Ok(Ok(Outcome::Delivered)) => report.delivered += 1,
                Ok(Ok(Outcome::Retry)) => report.retried += 1,
                Ok(Ok(Outcome::Dead)) => report.dead += 1,
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(panic) => tracing::error!(error = %panic, "outbox delivery panicked"),
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// Delivers the outbox until the process ends. Every `poll_ms`, and whenever woken
    /// ([`OutboxWake`]), it claims due calls for its free slots and sends each as a task of its
    /// own: a slow answer holds its own slot (and the calls behind it for the same card), never
    /// the rest, and a call queued meanwhile goes out at the next poll or wake.
    pub async fn run(self: Arc<Self>, poll_ms: u64) {
        let mut in_flight: JoinSet<BookingResult<Outcome>> = JoinSet::new();
        let mut interval = tokio::time::interval(Duration::from_millis(poll_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = self.wake.woken() => {}
                Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                    match joined {
                        Ok(Ok(outcome)) => {
                            tracing::debug!(outcome = outcome.as_str(), "outbox call");
                        }
                        Ok(Err(error)) => {
                            tracing::warn!(error.code = error.code(), "outbox delivery failed");
                        }
                        Err(panic) => tracing::error!(error = %panic, "outbox delivery panicked"),
                    }
                    continue;
                }
            }
            let free = MAX_CALLS_IN_FLIGHT.saturating_sub(in_flight.len());
            if free == 0 {
                continue;
            }
            match self.claim(i64::try_from(free).unwrap_or(1)).await {
                Ok(calls) => {
                    for call in calls {
                        let worker = Arc::clone(&self);
                        in_flight.spawn(async move { worker.deliver(&call).await });
                    }
                }
                Err(error) => {
                    tracing::warn!(error.code = error.code(), "outbox claim failed");
                }
            }
        }
    }

    /// Takes due calls under a lease, so two workers never send the same call at once and a
    /// dead worker's calls come back by themselves. A call is due only when no earlier due call
    /// with its `ordering_key` is still pending (being sent, or waiting for a retry): calls about
    /// one card reach the processor in the order they were queued. A call queued for later (a
    /// leave's start) holds nothing up before its time.
    ///
    /// Card-state calls made stale by a later one are first marked superseded, so they are
    /// never claimed and hold nothing up.
    async fn claim(&self, batch: i64) -> BookingResult<Vec<OutboxCall>> {
        let client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        supersede_stale_card_states(&client).await?;
        let rows = client
            .query(
                &format!(
                    "with due as (
                         select c.id as due_id from card.outbox c
                         where c.state = 'pending' and c.next_attempt_at <= now()
                           and c.processor_id = $3
                           and (c.claimed_until is null or c.claimed_until <= now())
                           and not exists (
                               select 1 from card.outbox earlier
                               where earlier.ordering_key = c.ordering_key
                                 and earlier.processor_id = c.processor_id
                                 and earlier.state = 'pending'
                                 and earlier.scheduled_at <= now()
                                 and (earlier.scheduled_at, earlier.id) < (c.scheduled_at, c.id))
                         order by c.next_attempt_at
                         limit $1
                         for update of c skip locked)
                     update card.outbox
                        set claimed_until = now() + $2::int * interval '1 second',
                            last_attempt_at = now()
                       from due where id = due.due_id
                     returning {CALL_COLUMNS}"
                ),
                &[&batch, &CLAIM_LEASE_SECONDS, &self.processor_id],
            )
            .await?;
        rows.iter().map(OutboxCall::try_from).collect()
    }

    async fn deliver(&self, call: &OutboxCall) -> BookingResult<Outcome> {
        let personal_values = match call.person_id {
            Some(person_id) => self.personal_data.values_for(person_id).await,
            None => Vec::new(),
        };
        let method = Method::from_bytes(call.method.as_bytes()).unwrap_or(Method::POST);
        let body = self.body_to_send(call).await?;
        let idempotency_key = key_to_send(call, body.as_ref());
        let prepared = match self.client.prepare(
            method,
            &call.path,
            body.as_ref(),
            Some(&idempotency_key),
            &personal_values,
        ) {
            Ok(prepared) => prepared.concerning(call.person_id),
            Err(error) => {
                // Refused before anything left: a security event, and never retried.
                tracing::warn!(
                    security_event = "egress_refused",
                    outbox_id = %call.id,
                    error.code = error.code(),
                    "outbound processor call refused"
                );
                if let ClientError::Refused(_) = &error {
                    self.register_refusal(call).await?;
                }
                self.fail(call, CallState::Dead, error.code(), None, 0)
                    .await?;
                return Ok(Outcome::Dead);
            }
        };
        // The client writes the egress register row for what it sends.
        let result = self.client.send::<Value>(&prepared).await;
        let status = match &result {
            Ok(_) => None,
            Err(ClientError::Transient { status, .. }) => status.map(i32::from),
            Err(ClientError::Permanent { status, .. }) => Some(i32::from(*status)),
            Err(_) => None,
        };
        if let Some(person_id) = call.person_id {
            self.personal_data
                .record_disclosure(person_id, prepared.egress())
                .await;
        }
        match result {
            Ok(response) => {
                self.on_delivered(call, &response).await?;
                Ok(Outcome::Delivered)
            }
            Err(ClientError::Permanent {
                code, existing_id, ..
            }) if code == "cardholder_exists" && existing_id.is_some() => {
                // Created by an earlier attempt whose answer we lost: carry on with it.
                let response = json!({"id": existing_id});
                self.on_delivered(call, &response).await?;
                Ok(Outcome::Delivered)
            }
            Err(error) if error.is_transient() && call.attempts + 1 < MAX_ATTEMPTS => {
                let attempt = u32::try_from(call.attempts).unwrap_or(0);
                let delay_ms = client::backoff_delay_ms(
                    attempt,
                    error.retry_after_ms(),
                    client::random_jitter,
                );
                self.fail(call, CallState::Pending, error.code(), status, delay_ms)
                    .await?;
                Ok(Outcome::Retry)
            }
            Err(error) => {
                tracing::warn!(outbox_id = %call.id, operation = %call.operation, error.code = error.code(), "processor call parked as dead");
                self.fail(call, CallState::Dead, error.code(), status, 0)
                    .await?;
                Ok(Outcome::Dead)
            }
        }
    }

    /// The body this attempt sends: computed now for a cardholder (the pseudonym under the key
    /// current now) and a fence sync (the fence now), else the queued body.
    async fn body_to_send(&self, call: &OutboxCall) -> BookingResult<Option<Value>> {
        let body = match (call.operation.as_str(), call.person_id, &call.body) {
            ("create_cardholder", Some(person_id), None) => Some(
                serde_json::to_value(CreateCardholderRequest::pseudonymous(
                    self.pseudonyms.pseudonym_for(person_id),
                    self.program.clone(),
                ))
                .map_err(|e| ledger::LedgerError::invalid("body", e.to_string()))?,
            ),
            (crate::fence_controls::SYNC_OPERATION, Some(person_id), None) => {
                let client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
                let controls =
                    crate::fence_controls::current_spend_controls(&client, person_id).await?;
                Some(
                    serde_json::to_value(controls)
                        .map_err(|e| ledger::LedgerError::invalid("body", e.to_string()))?,
                )
            }
            _ => call.body.clone(),
        };
        Ok(body)
    }

    /// Marks the call delivered and does what its answer calls for, in one transaction.
    async fn on_delivered(&self, call: &OutboxCall, response: &Value) -> BookingResult<()> {
        let mut client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        let tx = client.transaction().await?;
        match call.operation.as_str() {
            "create_cardholder" => self.request_card_for(&tx, call, response).await?,
            "create_card" => register_issued_card(&tx, call, response).await?,
            "reissue_card" => register_replacement(&tx, call, response).await?,
            CARD_STATE_OPERATION => mirror_card_state(&tx, response).await?,
            _ => {}
        }
        tx.execute(
            "update card.outbox set state = 'delivered', attempts = attempts + 1, response = $2,
                    delivered_at = now(), claimed_until = null
             where id = $1",
            &[&call.id, &response],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A cardholder was created: its card is requested, with the fence for the person's mode.
    async fn request_card_for(
        &self,
        tx: &Transaction<'_>,
        call: &OutboxCall,
        response: &Value,
    ) -> BookingResult<()> {
        let cardholder_id = response["id"].as_str().unwrap_or_default().to_owned();
        let person_id = call.person_id.unwrap_or_default();
        // The fence for the person's mode now; later changes queue syncs (`fence`).
        let spend_controls = crate::fence_controls::current_spend_controls(tx, person_id).await?;
        let body = serde_json::to_value(CreateCardRequest {
            cardholder_id,
            form: CardForm::Physical,
            embossed_name: Some(self.program_card_name.clone()),
            spend_controls: Some(spend_controls),
            memo: None,
        })
        .map_err(|e| ledger::LedgerError::invalid("body", e.to_string()))?;
        let card_call = QueuedCall {
            idempotency_key: &processor_key("cd", &call.processor_id, person_id),
            operation: "create_card",
            method: &Method::POST,
            path: "/v1/cards",
            body: Some(&body),
            person_id: Some(person_id),
        };
        enqueue_to(
            tx,
            Some(&call.processor_id),
            &card_call,
            OffsetDateTime::now_utc(),
        )
        .await?;
        Ok(())
    }

    /// Records a failed attempt: `pending` again after `delay_ms`, or parked `dead`. The code
    /// and status replace the last ones, so staff see why the latest attempt failed.
    async fn fail(
        &self,
        call: &OutboxCall,
        state: CallState,
        error_code: &str,
        status: Option<i32>,
        delay_ms: u64,
    ) -> BookingResult<()> {
        let client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        let delay_ms = i64::try_from(delay_ms).unwrap_or(i64::MAX);
        client
            .execute(
                "update card.outbox set state = $2, attempts = attempts + 1, last_error = $3,
                        last_error_status = $4, claimed_until = null,
                        next_attempt_at = now() + $5::bigint * interval '1 millisecond'
                 where id = $1",
                &[&call.id, &state.name(), &error_code, &status, &delay_ms],
            )
            .await?;
        Ok(())
    }

    async fn register_refusal(&self, call: &OutboxCall) -> BookingResult<()> {
        // The refused body is not kept anywhere: only its hash.
        let body_sha256 = call
            .body
            .as_ref()
            .map(|body| {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(crate::egress::body_bytes(body)))
            })
            .unwrap_or_default();
        self.client
            .register()
            .refused(&call.method, &call.path, call.person_id, &body_sha256)
            .await
            .map_err(|_| {
                ledger::LedgerError::invalid(
                    "egress_register_unavailable",
                    "the refusal could not be recorded",
                )
            })?;
        Ok(())
    }
}

/// A card was created: it is registered on the person's open spendable account, and its
/// activation is queued.
async fn register_issued_card(
    tx: &Transaction<'_>,
    call: &OutboxCall,
    response: &Value,
) -> BookingResult<()> {
    let person_id = call.person_id.unwrap_or_default();
    let cardholder_id = response["cardholder_id"].as_str().unwrap_or_default();
    let spendable = ledger::store::accounts_of_person(tx, person_id)
        .await?
        .into_iter()
        .find(|a| a.purpose == ledger::person_purpose::SPENDABLE && a.closed_at.is_none())
        .ok_or_else(|| {
            ledger::LedgerError::invalid(
                "no_spendable_account",
                "the person has no open spendable account",
            )
        })?;
    let owner = CardOwner {
        cardholder_id,
        person_id,
        account_id: spendable.id,
    };
    register_and_activate(tx, call, response, owner, "issued").await
}

/// Whose card the processor's answer describes: the cardholder there, the person and account here.
struct CardOwner<'a> {
    cardholder_id: &'a str,
    person_id: Uuid,
    account_id: Uuid,
}

/// Registers the card the processor's answer describes and queues its activation.
async fn register_and_activate(
    tx: &Transaction<'_>,
    call: &OutboxCall,
    response: &Value,
    owner: CardOwner<'_>,
    reason: &str,
) -> BookingResult<()> {
    let card_id = response["id"].as_str().unwrap_or_default();
    booking::register_card_at(
        tx,
        &call.processor_id,
        card_id,
        owner.cardholder_id,
        owner.person_id,
        owner.account_id,
        response["state"]
            .as_str()
            .unwrap_or(CardState::Inactive.as_str()),
        response["last4"].as_str(),
    )
    .await?;
    request_card_state(
        tx,
        card_id,
        Some(call.person_id.unwrap_or_default()),
        CardState::Active,
        reason,
        call.id,
    )
    .await
}

/// A replacement card was issued: it is registered on the old card's person and account, and
/// its activation is queued.
async fn register_replacement(
    tx: &Transaction<'_>,
    call: &OutboxCall,
    response: &Value,
) -> BookingResult<()> {
    // The replacement belongs to the same person and account; the old card closes by
    // the processor's rules (at once for LOST/STOLEN, else on activation), which
    // its card.state_changed webhook mirrors.
    let old_card_id = call
        .path
        .trim_start_matches("/v1/cards/")
        .trim_end_matches("/reissue");
    if let Some(old) = booking::card(tx, old_card_id).await? {
        let owner = CardOwner {
            cardholder_id: response["cardholder_id"].as_str().unwrap_or_default(),
            person_id: old.person_id,
            account_id: old.account_id,
        };
        register_and_activate(tx, call, response, owner, "replacement issued").await?;
    }
    Ok(())
}

/// The processor set a card's state: mirrored, with the change recorded.
async fn mirror_card_state(tx: &Transaction<'_>, response: &Value) -> BookingResult<()> {
    let card_id = response["id"].as_str().unwrap_or_default();
    let state = response["state"].as_str().unwrap_or_default();
    let previous = booking::card(tx, card_id)
        .await?
        .map(|card| card.state.name());
    if state == CardState::Active.as_str() {
        // A switch-over's new card is active: the card it replaces can close.
        crate::switch_over::close_replaced_cards(tx, card_id).await?;
    }
    if previous != Some(state) {
        match booking::record_card_state(
            tx,
            card_id,
            previous,
            state,
            Some("outbox"),
            CHANGED_BY_OUTBOX,
        )
        .await
        {
            Ok(()) | Err(BookingError::UnknownCard) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The Idempotency-Key this attempt carries.
fn key_to_send(call: &OutboxCall, body: Option<&Value>) -> String {
    match (call.operation.as_str(), body) {
        // A fence is computed when it is sent, so a retry after a lost answer can carry
        // another body; under the same key the processor would answer 409
        // idempotency_conflict and the call would die. A key per body: the same fence
        // replays, a newer one is applied (a PATCH of the whole fence, harmless twice).
        (crate::fence_controls::SYNC_OPERATION, Some(body)) => {
            with_body_digest(&call.idempotency_key_to_send(), body)
        }
        _ => call.idempotency_key_to_send(),
    }
}

enum Outcome {
    Delivered,
    Retry,
    Dead,
}

impl Outcome {
    fn as_str(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Dead => "dead",
        }
    }
}

impl TryFrom<&tokio_postgres::Row> for OutboxCall {
    type Error = BookingError;

    fn try_from(row: &tokio_postgres::Row) -> BookingResult<OutboxCall> {
        Ok(OutboxCall {
            id: row.get("id"),
            processor_id: row.get("processor_id"),
            idempotency_key: row.get("idempotency_key"),
            operation: row.get("operation"),
            method: row.get("method"),
            path: row.get("path"),
            body: row.get("body"),
            person_id: row.get("person_id"),
            state: CallState::from_name(row.get("state"))?,
            attempts: row.get("attempts"),
            last_error: row.get("last_error"),
            last_error_status: row.get("last_error_status"),
            idempotency_round: row.get("idempotency_round"),
            next_attempt_at: row.get("next_attempt_at"),
            in_flight: row.get("in_flight"),
            last_attempt_at: row.get("last_attempt_at"),
            delivered_at: row.get("delivered_at"),
            staff_retries: row.get("staff_retries"),
            superseded_by: row.get("superseded_by"),
        })
    }
}

/// Calls parked as dead, newest first, for staff.
pub async fn dead_letters(
    client: &impl GenericClient,
    limit: i64,
) -> BookingResult<Vec<OutboxCall>> {
    let rows = client
        .query(
            &format!(
                "select {CALL_COLUMNS} from card.outbox where state = 'dead'
                 order by created_at desc, id desc limit $1"
            ),
            &[&limit],
        )
        .await?;
    rows.iter().map(OutboxCall::try_from).collect()
}

/// A call that is dead, was dead and put back by staff, or was superseded, as it is now: whether
/// the retry was delivered, is waiting (and till when), or died again. `None` for any other call.
pub async fn dead_letter(
    client: &impl GenericClient,
    id: Uuid,
) -> BookingResult<Option<OutboxCall>> {
    let row = client
        .query_opt(
            &format!(
                "select {CALL_COLUMNS} from card.outbox
                 where id = $1 and (state in ('dead', 'superseded') or staff_retries > 0)"
            ),
            &[&id],
        )
        .await?;
    row.as_ref().map(OutboxCall::try_from).transpose()
}

/// What a staff retry of a call came to.
#[derive(Debug)]
pub enum Retry {
    /// Put back, due now: the call as it is then.
    Requeued(OutboxCall),
    /// A card-state call that a later one for the same card replaced: not put back, and kept as
    /// `superseded` (sending it would override the newer instruction).
    Superseded(OutboxCall),
    /// No dead or superseded call has that id.
    NotDead,
}

/// Marks every pending card-state call that a later one for the same card replaced (queued or
/// delivered after it) as `superseded`, unless a worker is sending it now (its answer is
/// recorded as usual, and the later call goes after it). Returns how many.
pub async fn supersede_stale_card_states(client: &impl GenericClient) -> BookingResult<u64> {
    let superseded = client
        .execute(
            &format!(
                "update card.outbox stale
                    set state = 'superseded', superseded_by = ({NEWER_CARD_STATE_CALL}),
                        claimed_until = null
                  where stale.operation = $1 and stale.state = 'pending'
                    and (stale.claimed_until is null or stale.claimed_until <= now())
                    and exists ({NEWER_CARD_STATE_CALL})"
            ),
            &[&CARD_STATE_OPERATION],
        )
        .await?;
    if superseded > 0 {
        tracing::info!(
            outbox.superseded = superseded,
            "stale card-state calls superseded"
        );
    }
    Ok(superseded)
}

/// Puts a dead call back in the queue, due now (staff action), and answers it as it is then.
/// It gets a fresh set of attempts. A card-state call that a later one for the same card
/// replaced is not put back: it is marked `superseded` ([`Retry::Superseded`]).
///
/// The key: a call that died on a 4xx answer gets a key of this retry's own
/// (`idempotency_round` + 1), because the processor replays its stored answer for a key it has
/// seen (protocol 2), and replaying that 4xx is all a retry under the old key would get; a 4xx
/// means the processor did nothing, so the new key cannot make it act twice. Any other dead call
/// (refused by the egress guard: never sent; out of attempts on 5xx or timeouts: perhaps done)
/// keeps its key, so a call the processor did carry out is not done again.
pub async fn retry_dead(client: &impl GenericClient, id: Uuid) -> BookingResult<Retry> {
    let superseded = client
        .query_opt(
            &format!(
                "update card.outbox stale
                    set state = 'superseded', superseded_by = ({NEWER_CARD_STATE_CALL})
                  where stale.id = $1 and stale.state = 'dead' and stale.operation = $2
                    and exists ({NEWER_CARD_STATE_CALL})
                 returning {CALL_COLUMNS}"
            ),
            &[&id, &CARD_STATE_OPERATION],
        )
        .await?;
    if let Some(row) = superseded {
        return Ok(Retry::Superseded(OutboxCall::try_from(&row)?));
    }
    let already_superseded = client
        .query_opt(
            &format!(
                "select {CALL_COLUMNS} from card.outbox where id = $1 and state = 'superseded'"
            ),
            &[&id],
        )
        .await?;
    if let Some(row) = already_superseded {
        return Ok(Retry::Superseded(OutboxCall::try_from(&row)?));
    }
    let row = client
        .query_opt(
            &format!(
                "update card.outbox
                    set state = 'pending', attempts = 0, next_attempt_at = now(),
                        claimed_until = null, staff_retries = staff_retries + 1,
                        idempotency_round = idempotency_round
                            + case when last_error_status between 400 and 499 then 1 else 0 end
                  where id = $1 and state = 'dead'
                 returning {CALL_COLUMNS}"
            ),
            &[&id],
        )
        .await?;
    Ok(match row {
        Some(row) => Retry::Requeued(OutboxCall::try_from(&row)?),
        None => Retry::NotDead,
    })
}

/// Calls a worker is sending now, under a lease that has not run out (for `/metrics`).
pub async fn in_flight_count(client: &impl GenericClient) -> BookingResult<i64> {
    Ok(client
        .query_one(
            "select count(*) as in_flight from card.outbox
             where state = 'pending' and claimed_until > now()",
            &[],
        )
        .await?
        .get("in_flight"))
}

/// Calls not yet delivered (for `/metrics`: the outbox depth).
pub async fn pending_count(client: &impl GenericClient) -> BookingResult<i64> {
    Ok(client
        .query_one(
            "select count(*) as pending from card.outbox where state = 'pending'",
            &[],
        )
        .await?
        .get("pending"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_valid_idempotency_keys() {
        let long = "k".repeat(64);
        assert_eq!(round_key("st_1", 0), "st_1");
        assert_eq!(round_key("st_1", 2), "st_1_r2");
        assert!(round_key(&long, 1).len() <= 64);
        assert_ne!(round_key(&long, 1), round_key(&long, 2));
        let fence = json!({"daily_max": 0});
        let keyed = with_body_digest("sc_1", &fence);
        assert!(keyed.starts_with("sc_1_") && keyed.len() == "sc_1_".len() + 16);
        assert_eq!(
            keyed,
            with_body_digest("sc_1", &fence),
            "the same body, the same key"
        );
        assert_ne!(keyed, with_body_digest("sc_1", &json!({"daily_max": 1})));
        assert!(with_body_digest(&round_key(&long, 3), &fence).len() <= 64);
        for key in [round_key(&long, 1), with_body_digest(&long, &fence)] {
            assert!(processor_protocol::is_token_1_64(&key), "{key}");
        }
    }
}
