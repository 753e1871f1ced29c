//! The application's state: what every handler and extractor reads (the pool, the ledger, the
//! webhook secrets, the hashing gate, trusted proxies, the outbox wake). Below `auth`, the
//! services, the routes and `app`, which all take it.
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use card_adapter::outbox::OutboxWake;
use card_adapter::webhook::ProcessorSecrets;
use deadpool_postgres::Pool;
use processor_protocol::signature::WebhookSecret;

use crate::http::{ClientOrigin, TrustedProxies};
use crate::secret::{HashingLimits, PasswordHashing};

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub ledger: ledger::Ledger,
    /// The processor's webhook signing secrets (two during a rotation). None: every webhook is
    /// refused.
    pub webhook_secrets: Arc<Vec<WebhookSecret>>,
    /// Every other processor's webhook secrets, each verified at its own route
    /// (`/webhooks/processor/{processor_id}`; none: only the default processor's).
    pub processor_webhook_secrets: Arc<Vec<ProcessorSecrets>>,
    /// The gate every argon2 hash and verification (sign-ins, PINs) goes through.
    pub password_hashing: PasswordHashing,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Wakes this process's outbox worker when staff queue or retry a call, so it goes out now
    /// rather than at the next poll.
    pub outbox_wake: OutboxWake,
    /// Session cookies are `Secure` whatever the connection (`SALDO_COOKIE_SECURE=true`).
    pub cookie_secure: bool,
    /// Signs entitlement statements (docs/switch-over.md); `None`: the statement routes fail.
    pub statement_key: Option<Arc<entitlements::ed25519_dalek::SigningKey>>,
    /// The prison-management system's feed: its id and signing secrets (none: its messages are
    /// refused).
    pub pms_feed: Arc<crate::services::pms_feed::FeedConfig>,
}

impl AppState {
    pub fn new(pool: Pool) -> AppState {
        AppState {
            ledger: ledger::Ledger::new(pool.clone()),
            pool,
            webhook_secrets: Arc::new(Vec::new()),
            processor_webhook_secrets: Arc::new(Vec::new()),
            password_hashing: PasswordHashing::default(),
            trusted_proxies: Arc::new(TrustedProxies::none()),
            outbox_wake: OutboxWake::default(),
            cookie_secure: false,
            statement_key: None,
            pms_feed: Arc::new(crate::services::pms_feed::FeedConfig {
                feed_id: crate::services::pms_feed::DEFAULT_FEED_ID.to_owned(),
                secrets: Vec::new(),
                gap_window_ms: crate::services::pms_feed::DEFAULT_GAP_WINDOW_MS,
            }),
        }
    }

    pub fn with_password_hashing(mut self, limits: HashingLimits) -> AppState {
        self.password_hashing = PasswordHashing::new(limits);
        self
    }

    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> AppState {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// The key that signs entitlement statements.
    pub fn with_statement_key(mut self, key: entitlements::ed25519_dalek::SigningKey) -> AppState {
        self.statement_key = Some(Arc::new(key));
        self
    }

    /// Session cookies `Secure` whatever the connection says (behind a TLS proxy that is not
    /// trusted).
    pub fn with_cookie_secure(mut self, cookie_secure: bool) -> AppState {
        self.cookie_secure = cookie_secure;
        self
    }

    /// The wake of the outbox worker running in this process (`OutboxWorker::wake`).
    pub fn with_outbox_wake(mut self, wake: OutboxWake) -> AppState {
        self.outbox_wake = wake;
        self
    }

    /// The prison-management system's feed (`SALDO_PMS_SECRETS`, `SALDO_PMS_FEED_ID`).
    pub fn with_pms_feed(mut self, feed: crate::services::pms_feed::FeedConfig) -> AppState {
        self.pms_feed = Arc::new(feed);
        self
    }

    pub fn with_webhook_secrets(mut self, secrets: Vec<WebhookSecret>) -> AppState {
        self.webhook_secrets = Arc::new(secrets);
        self
    }

    /// The webhook secrets of the processors beside the default one.
    pub fn with_processor_webhook_secrets(mut self, processors: Vec<ProcessorSecrets>) -> AppState {
        self.processor_webhook_secrets = Arc::new(processors);
        self
    }
}

/// Where a request came from, as the trusted proxies and the cookie setting say.
impl FromRequestParts<AppState> for ClientOrigin {
    type Rejection = crate::problem::Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientOrigin::of(
            parts,
            &state.trusted_proxies,
            state.cookie_secure,
        ))
    }
}
