//! The processor simulator: the processor's side of protocol v1, in memory, over real HTTP.
//!
//! Tests start it in-process ([`Simulator::start`] on `127.0.0.1:0`) and drive it through its
//! Rust API; the `processor-sim` binary serves the same thing with control endpoints under
//! `/_sim/` (see `docs/processor-simulator.md`). It implements the REST API of section 2
//! (Bearer check, idempotency keys, cardholders, the card state machine, reissue, spend
//! controls, funding, settlement files), signs and delivers webhooks as 3.1-3.2 say (retries
//! with the same webhook-id, optional duplicates and shuffling), asks for authorization
//! decisions synchronously with the 2000 ms deadline and fails closed or stands in as 3.3-3.4
//! say, and records every request it received so tests can assert what crossed the boundary.

mod delivery;
mod http;
mod scenarios;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ledger::controls::{Channel, DeclineCode};
use processor_protocol::settlement::{
    SettlementRow, SettlementTrailer, SettlementType, SettlementWriter,
};
use processor_protocol::signature::WebhookSecret;
use processor_protocol::{
    AdviceReason, AuthorizationAdvice, AuthorizationExpired, AuthorizationRequest,
    AuthorizationResponse, AuthorizationReversal, Card, CardState, CardStateChanged, Cardholder,
    ChangedBy, Country, CurrencyCode, Decision, Mcc, Merchant, RequestMerchant,
    TransactionClearing, TransactionRefund, WebhookEnvelope, WebhookEvent,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use tokio::sync::{Notify, mpsc, watch};

pub use delivery::{AttemptKind, DeliveryAttempt};
pub use scenarios::{Scenario, ScenarioReport};

/// How the simulator is set up. [`SimConfig::new`] gives production-like delays,
/// [`SimConfig::for_tests`] small ones.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub listen: SocketAddr,
    pub api_key: String,
    /// Where webhooks go; `None` until set (then every delivery fails and stands in).
    pub webhook_url: Option<String>,
    /// Webhooks are signed with every secret here (two during a rotation).
    pub webhook_secrets: Vec<WebhookSecret>,
    pub currency: CurrencyCode,
    pub initial_funding_minor: i64,
    /// One FEE row of this amount in every settlement file (none when 0).
    pub settlement_fee_minor: i64,
    /// The synchronous decision deadline of 3.3.
    pub auth_deadline_ms: u64,
    /// How long an asynchronous delivery may take before it counts as failed (3.2: 10 s).
    pub webhook_timeout_ms: u64,
    /// First retry delay; doubles per attempt, capped at [`MAX_RETRY_DELAY_MS`].
    pub retry_base_delay_ms: u64,
    /// Attempts per asynchronous message, the first included (the real processor: 72 h).
    pub max_delivery_attempts: u32,
    /// Approve within spend controls when our endpoint cannot be reached (3.3).
    pub stand_in: bool,
    /// Seed of the shuffle of held messages, so a shuffled test run is reproducible.
    pub shuffle_seed: u64,
}

pub const MAX_RETRY_DELAY_MS: u64 = 60_000;

impl SimConfig {
    pub fn new(api_key: impl Into<String>, webhook_secret: WebhookSecret) -> SimConfig {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: api_key.into(),
            webhook_url: None,
            webhook_secrets: vec![webhook_secret],
            currency: CurrencyCode::eur(),
            initial_funding_minor: 10_000_000,
            settlement_fee_minor: 250,
            auth_deadline_ms: 2_000,
            webhook_timeout_ms: 10_000,
            retry_base_delay_ms: 1_000,
            max_delivery_attempts: 8,
            stand_in: true,
            shuffle_seed: 7,
        }
    }

    /// Same, with delays small enough for a fast test suite.
    pub fn for_tests(api_key: impl Into<String>, webhook_secret: WebhookSecret) -> SimConfig {
        SimConfig {
            webhook_timeout_ms: 1_000,
            retry_base_delay_ms: 20,
            max_delivery_attempts: 4,
            ..SimConfig::new(api_key, webhook_secret)
        }
    }
}

/// Errors of the simulator's own control API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("conflict: {0}")]
    Conflict(String),
}

/// One request the simulator received on its processor API (not the `/_sim` controls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub seq: u64,
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// All headers except `authorization`, names lower case.
    pub headers: Vec<(String, String)>,
    /// The raw body (lossy UTF-8).
    pub body: String,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A switchable fault: the next `count` processor-API requests get it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// `429` with `Retry-After: retry_after_s`.
    RateLimit { count: u32, retry_after_s: u64 },
    /// A `5xx`. With `after_processing` the request is carried out (and its idempotency key
    /// stored) but the answer is lost: a retry must get the original answer.
    ServerError {
        count: u32,
        #[serde(default = "default_5xx")]
        status: u16,
        #[serde(default)]
        after_processing: bool,
    },
    /// The answer comes after `delay_ms`.
    Slow { count: u32, delay_ms: u64 },
    /// The processor refuses the request with `status` (a 4xx) and error `code`, as if it had
    /// processed it: the answer is stored under the request's Idempotency-Key like any 4xx, so
    /// the same key and body get it again (protocol 2). Nothing else changes.
    Refuse {
        count: u32,
        #[serde(default = "default_4xx")]
        status: u16,
        #[serde(default = "default_refusal_code")]
        code: String,
    },
    /// The connection breaks before an answer is complete: the status line may have left, the
    /// body never does. With `after_processing` the request is carried out first (as a lost
    /// answer), else nothing happens.
    Reset {
        count: u32,
        #[serde(default)]
        after_processing: bool,
    },
}

fn default_5xx() -> u16 {
    503
}

fn default_4xx() -> u16 {
    409
}

fn default_refusal_code() -> String {
    "conflict".to_owned()
}

impl Fault {
    fn count_mut(&mut self) -> &mut u32 {
        match self {
            Fault::RateLimit { count, .. }
            | Fault::ServerError { count, .. }
            | Fault::Slow { count, .. }
            | Fault::Refuse { count, .. }
            | Fault::Reset { count, .. } => count,
        }
    }
}

/// A queued fault, for every processor-API request or only those whose path contains
/// `path_contains` (e.g. one card's id). `POST /_sim/faults` takes the fault's fields and
/// `path_contains` side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub fault: Fault,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
}

impl FaultRule {
    fn applies_to(&self, path: &str) -> bool {
        self.path_contains
            .as_deref()
            .is_none_or(|part| path.contains(part))
    }
}

/// How asynchronous webhooks are delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSettings {
    pub url: Option<String>,
    /// Our endpoint is treated as unreachable (stand-in, failed deliveries).
    #[serde(default)]
    pub down: bool,
    /// Every asynchronous message is delivered twice (same webhook-id), and every authorization
    /// request twice (same authorization_id).
    #[serde(default)]
    pub duplicate: bool,
    /// Asynchronous messages are held until [`Simulator::flush_webhooks`], then sent shuffled.
    #[serde(default)]
    pub shuffle: bool,
}

/// A merchant for scenarios and manual authorizations.
pub fn merchant_canteen() -> Merchant {
    merchant("m_canteen_01", "CANTEEN HML", "5411", "HAMEENLINNA", "FI")
}
/// The canteen of the Belgian demo prison.
pub fn merchant_canteen_haren() -> Merchant {
    merchant("m_canteen_har", "CANTINE HAREN", "5411", "BRUXELLES", "BE")
}
pub fn merchant_online_casino() -> Merchant {
    merchant(
        "m_casino_01",
        "LUCKY SPINS ONLINE",
        "7995",
        "VALLETTA",
        "MT",
    )
}
pub fn merchant_online_books() -> Merchant {
    merchant("m_books_01", "BOOKS ONLINE", "5942", "HELSINKI", "FI")
}

fn merchant(id: &str, name: &str, mcc: &str, city: &str, country: &str) -> Merchant {
    Merchant {
        id: id.to_owned(),
        name: name.to_owned(),
        mcc: Mcc::new(mcc).unwrap_or_else(|e| panic!("{e}")),
        city: city.to_owned(),
        country: Country::new(country).unwrap_or_else(|e| panic!("{e}")),
    }
}

/// Input of one authorization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizeInput {
    pub card_id: String,
    pub amount_minor: i64,
    #[serde(default = "merchant_canteen")]
    pub merchant: Merchant,
    #[serde(default = "default_channel")]
    pub channel: Channel,
    #[serde(default)]
    pub partial_approval_capable: bool,
    #[serde(default)]
    pub parent_authorization_id: Option<String>,
}

fn default_channel() -> Channel {
    Channel::Pos
}

impl AuthorizeInput {
    pub fn new(card_id: impl Into<String>, amount_minor: i64, merchant: Merchant) -> Self {
        AuthorizeInput {
            card_id: card_id.into(),
            amount_minor,
            merchant,
            channel: Channel::Pos,
            partial_approval_capable: false,
            parent_authorization_id: None,
        }
    }
}

/// Who decided an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DecidedBy {
    /// Our answer, in time and well-formed.
    Saldo,
    /// No usable answer in time: declined, advice TIMEOUT follows.
    Timeout,
    /// Our endpoint unreachable: the processor applied the spend controls, advice STAND_IN.
    StandIn,
    /// The processor's own fence (card state, spend controls): advice PROCESSOR_RULE.
    ProcessorRule,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationOutcome {
    pub authorization_id: String,
    pub decision: Decision,
    pub approved_amount_minor: i64,
    pub decided_by: DecidedBy,
    pub decline_reason: Option<DeclineCode>,
    /// Why a Saldo answer was not used (timeout, status, malformed), never its body.
    pub failure: Option<String>,
    /// With duplicate delivery on: whether the second answer equalled the first.
    pub duplicate_answer_matched: Option<bool>,
}

/// Something the processor sent as a webhook, in the order it was emitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmittedMessage {
    pub msg_id: String,
    pub event_type: String,
    pub body: String,
}

#[derive(Debug, Clone)]
struct CardRec {
    card: Card,
    /// The card this one replaces, closed when this one is activated (non-LOST/STOLEN reissue).
    replaces: Option<String>,
}

#[derive(Debug, Clone)]
struct AuthRec {
    card_id: String,
    merchant: RequestMerchant,
    approved_minor: i64,
    cleared_minor: i64,
    reversed_minor: i64,
    created_on: Date,
    approved: bool,
    expired: bool,
}

#[derive(Debug, Clone)]
struct TxnRec {
    id: String,
    kind: SettlementType,
    authorization_id: Option<String>,
    card_id: String,
    amount_minor: i64,
    mcc: Mcc,
    cleared_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
struct IdempotencyEntry {
    fingerprint: String,
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

struct SimState {
    cardholders: BTreeMap<String, Cardholder>,
    cardholder_by_ref: HashMap<(String, String), String>,
    cards: BTreeMap<String, CardRec>,
    authorizations: BTreeMap<String, AuthRec>,
    transactions: BTreeMap<String, TxnRec>,
    unsettled: Vec<TxnRec>,
    settlements: BTreeMap<Date, Vec<u8>>,
    funding_balance_minor: i64,
    idempotency: HashMap<String, IdempotencyEntry>,
    faults: Vec<FaultRule>,
    requests: Vec<RecordedRequest>,
    deliveries: Vec<DeliveryAttempt>,
    emitted: Vec<EmittedMessage>,
    privacy_flags: Vec<String>,
    webhook: WebhookSettings,
    held: Vec<delivery::Message>,
    shuffle_rng: StdRng,
    next_record: u64,
}

pub(crate) struct Inner {
    config: SimConfig,
    state: Mutex<SimState>,
    http: reqwest::Client,
    queue: mpsc::UnboundedSender<delivery::Message>,
    /// Asynchronous messages queued or being delivered (retries included).
    outstanding: AtomicUsize,
    idle: Notify,
}

/// A running simulator. Cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
    local_addr: SocketAddr,
    shutdown: Arc<watch::Sender<bool>>,
}

/// `prefix_` + 20 random characters: unique across simulator restarts, so a restarted simulator
/// never reuses an id Saldo has already seen.
pub(crate) fn new_id(prefix: &str) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    format!("{prefix}_{suffix}")
}

pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, SimState> {
        // A panic elsewhere must not wedge the simulator for the rest of a test run.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues (or holds, when shuffling) an asynchronous webhook.
    fn emit(&self, event: WebhookEvent) {
        let envelope = WebhookEnvelope::new(event, now());
        let body = envelope.to_vec().unwrap_or_default();
        let message = delivery::Message {
            msg_id: new_id("msg"),
            event_type: envelope.event.event_type().to_owned(),
            body: Arc::new(body),
        };
        let mut state = self.state();
        state.emitted.push(EmittedMessage {
            msg_id: message.msg_id.clone(),
            event_type: message.event_type.clone(),
            body: String::from_utf8_lossy(&message.body).into_owned(),
        });
        if state.webhook.shuffle {
            state.held.push(message);
        } else {
            self.enqueue(message);
        }
    }

    fn enqueue(&self, message: delivery::Message) {
        self.outstanding.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(message).is_err() {
            self.finish_one();
        }
    }

    fn finish_one(&self) {
        if self.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }
}

impl Simulator {
    /// Binds `config.listen`, serves the processor API and the controls, and starts the
    /// webhook delivery worker.
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("processor-sim/1")
            .build()
            .map_err(std::io::Error::other)?;
        let (queue, receiver) = mpsc::unbounded_channel();
        let state = SimState {
            cardholders: BTreeMap::new(),
            cardholder_by_ref: HashMap::new(),
            cards: BTreeMap::new(),
            authorizations: BTreeMap::new(),
            transactions: BTreeMap::new(),
            unsettled: Vec::new(),
            settlements: BTreeMap::new(),
            funding_balance_minor: config.initial_funding_minor,
            idempotency: HashMap::new(),
            faults: Vec::new(),
            requests: Vec::new(),
            deliveries: Vec::new(),
            emitted: Vec::new(),
            privacy_flags: Vec::new(),
            webhook: WebhookSettings {
                url: config.webhook_url.clone(),
                ..WebhookSettings::default()
            },
            held: Vec::new(),
            shuffle_rng: StdRng::seed_from_u64(config.shuffle_seed),
            next_record: 1,
        };
        let inner = Arc::new(Inner {
            config,
            state: Mutex::new(state),
            http,
            queue,
            outstanding: AtomicUsize::new(0),
            idle: Notify::new(),
        });
        tokio::spawn(delivery::worker(inner.clone(), receiver));
        let (shutdown, mut shutdown_rx) = watch::channel(false);
        let app = http::router(inner.clone());
        tokio::spawn(async move {
            let stop = async move {
                let _ = shutdown_rx.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(%error, "simulator server stopped");
            }
        });
        Ok(Simulator {
            inner,
            local_addr,
            shutdown: Arc::new(shutdown),
        })
    }

    /// `http://127.0.0.1:PORT`, to give to a `ProcessorClient`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting requests (in-flight ones finish).
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    // --- what crossed the boundary -------------------------------------------------------

    /// Every processor-API request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.state().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.inner.state().requests.clear();
    }

    /// Every webhook delivery attempt so far (synchronous ones included).
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.inner.state().deliveries.clone()
    }

    /// Every webhook message emitted, in emission order (before any shuffling).
    pub fn emitted(&self) -> Vec<EmittedMessage> {
        self.inner.state().emitted.clone()
    }

    /// Personal data the processor received although section 1 forbids it (field names only).
    pub fn privacy_flags(&self) -> Vec<String> {
        self.inner.state().privacy_flags.clone()
    }

    // --- switches ------------------------------------------------------------------------

    pub fn webhook_settings(&self) -> WebhookSettings {
        self.inner.state().webhook.clone()
    }

    pub fn set_webhook_settings(&self, settings: WebhookSettings) {
        let release = {
            let mut state = self.inner.state();
            let was_shuffling = state.webhook.shuffle;
            state.webhook = settings;
            was_shuffling && !state.webhook.shuffle
        };
        // Turning shuffling off must not strand the held messages.
        if release {
            self.flush_webhooks();
        }
    }

    pub fn set_webhook_url(&self, url: Option<String>) {
        self.inner.state().webhook.url = url;
    }

    pub fn set_webhook_down(&self, down: bool) {
        self.inner.state().webhook.down = down;
    }

    pub fn push_fault(&self, fault: Fault) {
        self.push_fault_rule(FaultRule {
            fault,
            path_contains: None,
        });
    }

    /// A fault for the requests whose path contains `path_contains` only.
    pub fn push_fault_for(&self, path_contains: impl Into<String>, fault: Fault) {
        self.push_fault_rule(FaultRule {
            fault,
            path_contains: Some(path_contains.into()),
        });
    }

    pub fn push_fault_rule(&self, rule: FaultRule) {
        self.inner.state().faults.push(rule);
    }

    pub fn clear_faults(&self) {
        self.inner.state().faults.clear();
    }

    /// Sends the held messages, shuffled (never in emission order when there are two or more).
    /// Returns their webhook-ids in the order they go out.
    pub fn flush_webhooks(&self) -> Vec<String> {
        use rand::seq::SliceRandom;
        let mut state = self.inner.state();
        let mut held = std::mem::take(&mut state.held);
        let original: Vec<String> = held.iter().map(|m| m.msg_id.clone()).collect();
        held.shuffle(&mut state.shuffle_rng);
        if held.len() > 1 && held.iter().map(|m| &m.msg_id).eq(original.iter()) {
            held.reverse();
        }
        let order = held.iter().map(|m| m.msg_id.clone()).collect();
        for message in held {
            self.inner.enqueue(message);
        }
        order
    }

    /// Waits until every queued asynchronous message is delivered or given up.
    /// `false` on timeout.
    pub async fn wait_for_deliveries(&self, timeout_ms: u64) -> bool {
        let wait = async {
            loop {
                let notified = self.inner.idle.notified();
                if self.inner.outstanding.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_millis(timeout_ms), wait)
            .await
            .is_ok()
    }

    pub fn add_funding(&self, amount_minor: i64) -> Result<i64, SimError> {
        let mut state = self.inner.state();
        state.funding_balance_minor = state
            .funding_balance_minor
            .checked_add(amount_minor)
            .ok_or_else(|| SimError::Invalid("funding overflows".into()))?;
        Ok(state.funding_balance_minor)
    }

    /// Every cardholder the processor has, in id order.
    pub fn cardholders(&self) -> Vec<Cardholder> {
        self.inner.state().cardholders.values().cloned().collect()
    }

    /// Every card the processor has, in id order.
    pub fn cards(&self) -> Vec<Card> {
        self.inner
            .state()
            .cards
            .values()
            .map(|c| c.card.clone())
            .collect()
    }

    pub fn card(&self, card_id: &str) -> Option<Card> {
        self.inner
            .state()
            .cards
            .get(card_id)
            .map(|c| c.card.clone())
    }

    // --- card activity -------------------------------------------------------------------

    /// A card authorization: the processor's own checks, then `authorization.request` to
    /// Saldo with the deadline, then stand-in or fail-closed handling and the advice.
    pub async fn authorize(&self, input: AuthorizeInput) -> Result<AuthorizationOutcome, SimError> {
        delivery::authorize(&self.inner, input).await
    }

    /// `transaction.clearing` against an authorization.
    pub fn clear(
        &self,
        authorization_id: &str,
        amount_minor: i64,
        is_final: bool,
    ) -> Result<String, SimError> {
        let clearing = {
            let mut state = self.inner.state();
            let currency = self.inner.config.currency.clone();
            let auth = state
                .authorizations
                .get_mut(authorization_id)
                .ok_or_else(|| SimError::NotFound(authorization_id.to_owned()))?;
            if !auth.approved {
                return Err(SimError::Invalid("authorization was declined".into()));
            }
            auth.cleared_minor = checked_add(auth.cleared_minor, amount_minor)?;
            let (card_id, merchant) = (auth.card_id.clone(), auth.merchant.clone());
            let clearing = TransactionClearing {
                transaction_id: new_id("txn"),
                authorization_id: Some(authorization_id.to_owned()),
                card_id,
                amount: non_negative(amount_minor)?,
                currency,
                merchant: Merchant::try_from(merchant).map_err(SimError::Invalid)?,
                cleared_at: now(),
                is_final,
            };
            record_txn(&mut state, &clearing_txn(&clearing));
            clearing
        };
        let id = clearing.transaction_id.clone();
        self.inner.emit(WebhookEvent::TransactionClearing(clearing));
        Ok(id)
    }

    /// A force post: `transaction.clearing` with `authorization_id: null`.
    pub fn force_post(
        &self,
        card_id: &str,
        amount_minor: i64,
        merchant: Merchant,
    ) -> Result<String, SimError> {
        let clearing = {
            let mut state = self.inner.state();
            if !state.cards.contains_key(card_id) {
                return Err(SimError::NotFound(card_id.to_owned()));
            }
            let clearing = TransactionClearing {
                transaction_id: new_id("txn"),
                authorization_id: None,
                card_id: card_id.to_owned(),
                amount: non_negative(amount_minor)?,
                currency: self.inner.config.currency.clone(),
                merchant,
                cleared_at: now(),
                is_final: true,
            };
            record_txn(&mut state, &clearing_txn(&clearing));
            clearing
        };
        let id = clearing.transaction_id.clone();
        self.inner.emit(WebhookEvent::TransactionClearing(clearing));
        Ok(id)
    }

    /// `authorization.reversal` of `amount_minor` (sent as asked, even beyond what remains).
    pub fn reverse(&self, authorization_id: &str, amount_minor: i64) -> Result<(), SimError> {
        let reversal = {
            let mut state = self.inner.state();
            let auth = state
                .authorizations
                .get_mut(authorization_id)
                .ok_or_else(|| SimError::NotFound(authorization_id.to_owned()))?;
            auth.reversed_minor = checked_add(auth.reversed_minor, amount_minor)?;
            AuthorizationReversal {
                authorization_id: authorization_id.to_owned(),
                card_id: auth.card_id.clone(),
                amount: non_negative(amount_minor)?,
                currency: self.inner.config.currency.clone(),
            }
        };
        self.inner
            .emit(WebhookEvent::AuthorizationReversal(reversal));
        Ok(())
    }

    /// `authorization.expired`.
    pub fn expire(&self, authorization_id: &str) -> Result<(), SimError> {
        let expired = {
            let mut state = self.inner.state();
            let auth = state
                .authorizations
                .get_mut(authorization_id)
                .ok_or_else(|| SimError::NotFound(authorization_id.to_owned()))?;
            auth.expired = true;
            AuthorizationExpired {
                authorization_id: authorization_id.to_owned(),
                card_id: auth.card_id.clone(),
            }
        };
        self.inner.emit(WebhookEvent::AuthorizationExpired(expired));
        Ok(())
    }

    /// `transaction.refund`: money back to the card.
    pub fn refund(
        &self,
        card_id: &str,
        original_transaction_id: Option<&str>,
        amount_minor: i64,
        merchant: Merchant,
    ) -> Result<String, SimError> {
        let refund = {
            let mut state = self.inner.state();
            if !state.cards.contains_key(card_id) {
                return Err(SimError::NotFound(card_id.to_owned()));
            }
            if let Some(original) = original_transaction_id
                && !state.transactions.contains_key(original)
            {
                return Err(SimError::NotFound(original.to_owned()));
            }
            let refund = TransactionRefund {
                transaction_id: new_id("txn"),
                original_transaction_id: original_transaction_id.map(str::to_owned),
                card_id: card_id.to_owned(),
                amount: non_negative(amount_minor)?,
                currency: self.inner.config.currency.clone(),
                merchant: merchant.clone(),
                cleared_at: now(),
            };
            let txn = TxnRec {
                id: refund.transaction_id.clone(),
                kind: SettlementType::Refund,
                authorization_id: None,
                card_id: card_id.to_owned(),
                amount_minor: amount_minor.checked_neg().ok_or_else(overflow)?,
                mcc: merchant.mcc,
                cleared_at: refund.cleared_at,
            };
            record_txn(&mut state, &txn);
            refund
        };
        let id = refund.transaction_id.clone();
        self.inner.emit(WebhookEvent::TransactionRefund(refund));
        Ok(id)
    }

    /// A state change made by the processor itself (e.g. its fraud team pauses a card).
    pub fn processor_set_card_state(
        &self,
        card_id: &str,
        new_state: CardState,
        reason: &str,
    ) -> Result<Card, SimError> {
        let (card, events) = {
            let mut state = self.inner.state();
            let mut events = Vec::new();
            let card = change_state(
                &mut state,
                card_id,
                new_state,
                Some(reason.to_owned()),
                ChangedBy::Processor,
                &mut events,
            )
            .map_err(|e| match e {
                StateChangeError::NotFound => SimError::NotFound(card_id.to_owned()),
                StateChangeError::Invalid => {
                    SimError::Conflict("invalid_state_transition".to_owned())
                }
            })?;
            (card, events)
        };
        for event in events {
            self.inner.emit(event);
        }
        Ok(card)
    }

    /// Settles every clearing and refund not yet settled into the file for `date`, adds the
    /// FEE row, writes the TRAILER and debits the funding account with the net.
    pub fn close_settlement_day(&self, date: Date) -> Result<SettlementTrailer, SimError> {
        let mut state = self.inner.state();
        if state.settlements.contains_key(&date) {
            return Err(SimError::Conflict(format!("{date} is already settled")));
        }
        let currency = self.inner.config.currency.clone();
        let mut writer = SettlementWriter::new(Vec::new(), date)
            .map_err(|e| SimError::Invalid(e.to_string()))?;
        let items = std::mem::take(&mut state.unsettled);
        let mut rows = Vec::with_capacity(items.len().saturating_add(1));
        for txn in &items {
            rows.push(SettlementRow {
                record_id: format!("rec_{:08}", state.next_record),
                settlement_date: date,
                kind: txn.kind,
                transaction_id: Some(txn.id.clone()),
                authorization_id: txn.authorization_id.clone(),
                card_id: Some(txn.card_id.clone()),
                amount_minor: txn.amount_minor,
                currency: currency.clone(),
                mcc: Some(txn.mcc.clone()),
                cleared_at: Some(txn.cleared_at),
            });
            state.next_record = state.next_record.saturating_add(1);
        }
        if self.inner.config.settlement_fee_minor != 0 {
            rows.push(SettlementRow {
                record_id: format!("rec_{:08}", state.next_record),
                settlement_date: date,
                kind: SettlementType::Fee,
                transaction_id: None,
                authorization_id: None,
                card_id: None,
                amount_minor: self.inner.config.settlement_fee_minor,
                currency,
                mcc: None,
                cleared_at: None,
            });
            state.next_record = state.next_record.saturating_add(1);
        }
        for row in &rows {
            writer
                .write_row(row)
                .map_err(|e| SimError::Invalid(e.to_string()))?;
        }
        let (file, trailer) = writer
            .finish()
            .map_err(|e| SimError::Invalid(e.to_string()))?;
        state.funding_balance_minor = state
            .funding_balance_minor
            .checked_sub(trailer.net_minor)
            .ok_or_else(overflow)?;
        state.settlements.insert(date, file);
        Ok(trailer)
    }

    /// Runs one of the scripted scenarios on an (active) card.
    pub async fn run_scenario(
        &self,
        scenario: Scenario,
        card_id: &str,
    ) -> Result<ScenarioReport, SimError> {
        scenarios::run(self, scenario, card_id, merchant_canteen()).await
    }

    /// The same story at another prison's canteen (the Belgian demo prison's, say).
    pub async fn run_scenario_at(
        &self,
        scenario: Scenario,
        card_id: &str,
        canteen: Merchant,
    ) -> Result<ScenarioReport, SimError> {
        scenarios::run(self, scenario, card_id, canteen).await
    }
}

fn overflow() -> SimError {
    SimError::Invalid("amount overflows".into())
}

fn checked_add(a: i64, b: i64) -> Result<i64, SimError> {
    a.checked_add(b).ok_or_else(overflow)
}

fn non_negative(amount_minor: i64) -> Result<i64, SimError> {
    if amount_minor < 0 {
        Err(SimError::Invalid("amount must not be negative".into()))
    } else {
        Ok(amount_minor)
    }
}

fn clearing_txn(clearing: &TransactionClearing) -> TxnRec {
    TxnRec {
        id: clearing.transaction_id.clone(),
        kind: SettlementType::Clearing,
        authorization_id: clearing.authorization_id.clone(),
        card_id: clearing.card_id.clone(),
        amount_minor: clearing.amount,
        mcc: clearing.merchant.mcc.clone(),
        cleared_at: clearing.cleared_at,
    }
}

fn record_txn(state: &mut SimState, txn: &TxnRec) {
    state.transactions.insert(txn.id.clone(), txn.clone());
    state.unsettled.push(txn.clone());
}

enum StateChangeError {
    NotFound,
    Invalid,
}

/// The state machine of 2.2, with the reissue rule: activating a replacement closes the card it
/// replaces. Emits `card.state_changed` for every real change.
fn change_state(
    state: &mut SimState,
    card_id: &str,
    new_state: CardState,
    reason: Option<String>,
    changed_by: ChangedBy,
    events: &mut Vec<WebhookEvent>,
) -> Result<Card, StateChangeError> {
    let rec = state
        .cards
        .get_mut(card_id)
        .ok_or(StateChangeError::NotFound)?;
    let previous = rec.card.state;
    if !previous.can_become(new_state) {
        return Err(StateChangeError::Invalid);
    }
    if previous == new_state {
        return Ok(rec.card.clone());
    }
    rec.card.state = new_state;
    let card = rec.card.clone();
    let replaces = if new_state == CardState::Active {
        rec.replaces.take()
    } else {
        None
    };
    events.push(WebhookEvent::CardStateChanged(CardStateChanged {
        card_id: card_id.to_owned(),
        state: new_state,
        previous_state: previous,
        reason,
        changed_by,
    }));
    if let Some(old_id) = replaces
        && let Some(old) = state.cards.get_mut(&old_id)
        && old.card.state != CardState::Closed
    {
        let old_previous = old.card.state;
        old.card.state = CardState::Closed;
        events.push(WebhookEvent::CardStateChanged(CardStateChanged {
            card_id: old_id,
            state: CardState::Closed,
            previous_state: old_previous,
            reason: Some("REPLACEMENT_ACTIVATED".to_owned()),
            changed_by,
        }));
    }
    Ok(card)
}

/// The processor's own fence: card state and spend controls (2.2, 3.3). `None` = passes.
fn processor_rule(state: &SimState, card: &Card, input: &AuthorizeInput) -> Option<DeclineCode> {
    if card.state != CardState::Active {
        return Some(DeclineCode::CardInactive);
    }
    let controls = card.spend_controls.clone().unwrap_or_default();
    if controls
        .blocked_mcc
        .as_ref()
        .is_some_and(|blocked| blocked.contains(&input.merchant.mcc))
    {
        return Some(DeclineCode::MerchantBlocked);
    }
    if controls
        .per_authorization_max
        .is_some_and(|max| input.amount_minor > max)
    {
        return Some(DeclineCode::LimitExceeded);
    }
    if let Some(daily_max) = controls.daily_max {
        let today = now().date();
        let spent = state
            .authorizations
            .values()
            .filter(|a| a.card_id == card.id && a.approved && a.created_on == today)
            .try_fold(0i64, |sum, a| sum.checked_add(a.approved_minor));
        match spent.and_then(|s| s.checked_add(input.amount_minor)) {
            Some(total) if total <= daily_max => {}
            _ => return Some(DeclineCode::LimitExceeded),
        }
    }
    None
}

/// Builds the `authorization.request` data for an input, or says why the processor declines it
/// on its own.
fn prepare_authorization(
    state: &SimState,
    config: &SimConfig,
    input: &AuthorizeInput,
) -> Result<(AuthorizationRequest, Option<DeclineCode>), SimError> {
    let rec = state
        .cards
        .get(&input.card_id)
        .ok_or_else(|| SimError::NotFound(input.card_id.clone()))?;
    non_negative(input.amount_minor)?;
    let mut rule = processor_rule(state, &rec.card, input);
    if let Some(parent) = &input.parent_authorization_id {
        match state.authorizations.get(parent) {
            Some(p) if p.card_id == input.card_id => {
                if !p.approved || p.expired {
                    rule = rule.or(Some(DeclineCode::Other));
                }
            }
            _ => return Err(SimError::NotFound(parent.clone())),
        }
    }
    let request = AuthorizationRequest {
        authorization_id: new_id("auth"),
        card_id: input.card_id.clone(),
        cardholder_id: rec.card.cardholder_id.clone(),
        amount: input.amount_minor,
        currency: config.currency.clone(),
        merchant_amount: input.amount_minor,
        merchant_currency: config.currency.clone(),
        merchant: input.merchant.clone().into(),
        channel: input.channel,
        partial_approval_capable: input.partial_approval_capable,
        parent_authorization_id: input.parent_authorization_id.clone(),
    };
    Ok((request, rule))
}

/// Books the decision into the simulator's state; returns the advice to send, if any.
fn record_authorization(
    state: &mut SimState,
    request: &AuthorizationRequest,
    decision: Decision,
    approved_minor: i64,
    advice_reason: Option<AdviceReason>,
) -> Option<AuthorizationAdvice> {
    let approved = decision == Decision::Approve;
    state.authorizations.insert(
        request.authorization_id.clone(),
        AuthRec {
            card_id: request.card_id.clone(),
            merchant: request.merchant.clone(),
            approved_minor,
            cleared_minor: 0,
            reversed_minor: 0,
            created_on: now().date(),
            approved,
            expired: false,
        },
    );
    // An approved increment grows its parent, which is what later clears.
    if approved
        && let Some(parent) = &request.parent_authorization_id
        && let Some(p) = state.authorizations.get_mut(parent)
    {
        p.approved_minor = p.approved_minor.saturating_add(approved_minor);
    }
    advice_reason.map(|reason| AuthorizationAdvice {
        authorization: request.clone(),
        decision,
        approved_amount: Some(approved_minor),
        reason,
    })
}

/// The answer to give a valid Saldo response, or why it is unusable.
fn judge_answer(
    request: &AuthorizationRequest,
    status: u16,
    body: &[u8],
) -> Result<(AuthorizationResponse, i64), String> {
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let answer: AuthorizationResponse =
        serde_json::from_slice(body).map_err(|e| format!("malformed answer: {e}"))?;
    let approved = answer.approved_amount_for(request)?;
    Ok((answer, approved))
}
