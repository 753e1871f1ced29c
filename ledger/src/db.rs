//! Connecting to PostgreSQL and applying the schema.
//!
//! `migrations/` is one ordered history for the whole database (ledger, card adapter, API);
//! it is embedded here so every binary and test applies exactly the same schema.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use deadpool_postgres::{
    Hook, HookError, Manager, ManagerConfig, Pool, QueueMode, RecyclingMethod,
};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// Serialises migration runs across processes: two `saldo` processes starting at once must not
/// both apply the same migration.
const MIGRATION_LOCK_KEY: i64 = 0x5a1d_0001;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("could not connect to PostgreSQL: {0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Postgres(tokio_postgres::Error),
    #[error(transparent)]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("could not build the connection pool: {0}")]
    Build(String),
}

crate::database_error_from!(DbError, Postgres);

pub fn parse_config(url: &str) -> Result<tokio_postgres::Config, DbError> {
    url.parse::<tokio_postgres::Config>()
        .map_err(|error| DbError::InvalidUrl(error.to_string()))
}

/// The pool every binary uses. A connection the server closed (the primary died, or was demoted,
/// which restarts it) is dropped at checkout and a new one is opened, to whichever host of a
/// multi-host URL satisfies `target_session_attrs`: a failover needs no restart of Saldo.
///
/// The connection returned last is handed out first (LIFO): under light or moderate load a few
/// sessions do all the work and stay warm, instead of every request waking the backend that
/// has waited longest (measured in docs/performance.md, 2026-12-07, sixth session).
pub fn pool(config: tokio_postgres::Config, max_size: usize) -> Result<Pool, DbError> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    LazyLock::force(&PROCESS_START);
    Pool::builder(manager)
        .max_size(max_size)
        .queue_mode(QueueMode::Lifo)
        .pre_recycle(Hook::sync_fn(|_, metrics| {
            if made_before_lost_connection(metrics.created) {
                return Err(HookError::message("opened before a lost connection"));
            }
            Ok(())
        }))
        .build()
        .map_err(|error| DbError::Build(error.to_string()))
}

/// A transaction whose BEGIN goes out in the same round trip as its first statements, instead
/// of in one of its own (tokio-postgres's `transaction()` waits for BEGIN's answer). The
/// authorization and clearing batches run a handful of round trips each, one after another, and
/// every round trip is a wake-up of both the backend and the server: one fewer is a batch that
/// holds its rows and its connection for less time.
///
/// [`begin`](Self::begin) must be the first statement polled (a `biased` join): the statements
/// that follow it on [`client`](Self::client) then run inside the transaction, as PostgreSQL
/// runs a connection's messages in order. Ended only by [`commit`](Self::commit); dropped any
/// other way (an error, a deadline, a panic) its ROLLBACK is queued before its connection goes
/// back to the pool, as tokio-postgres's own transactions do.
pub struct PipelinedTransaction {
    client: Option<deadpool_postgres::Object>,
}

impl PipelinedTransaction {
    pub fn new(client: deadpool_postgres::Object) -> PipelinedTransaction {
        PipelinedTransaction {
            client: Some(client),
        }
    }

    /// The connection, for the transaction's statements.
    pub fn client(&self) -> &deadpool_postgres::Object {
        self.client
            .as_ref()
            .expect("a pipelined transaction has its connection until it ends")
    }

    /// BEGIN and the transaction's `set local` settings, in one simple-query message.
    pub async fn begin(&self, settings: &str) -> Result<(), tokio_postgres::Error> {
        self.client()
            .batch_execute(&format!("begin; {settings}"))
            .await
    }

    /// Commits and waits for the outcome. Whatever it is, the transaction is over: a failed
    /// COMMIT has rolled back, or its connection is lost.
    pub async fn commit(mut self) -> Result<(), tokio_postgres::Error> {
        let committed = self.client().batch_execute("commit").await;
        // Ended: the connection goes back to the pool as it is.
        drop(self.client.take());
        committed
    }
}

impl Drop for PipelinedTransaction {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // ROLLBACK is queued on the connection before it goes back to the pool, so the next
        // user's statements run after it, outside this transaction; its answer is not waited
        // for. tokio-postgres's transactions do the same: the first poll of a statement's
        // future sends it (a test holds this: a dropped transaction's row is not seen after).
        let mut rollback = std::pin::pin!(client.batch_execute("rollback"));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let _ = rollback.as_mut().poll(&mut context);
    }
}

/// When a statement last failed because its connection was lost ([`is_unavailable`]: closed,
/// class 08, the server shutting down) or can no longer write (SQLSTATE 25006: a standby now, or
/// writes frozen). The failed connection itself goes back to the pool, and its end may not be
/// seen yet at the next checkout, which would hand the dead session out once more; so every
/// connection opened before the error is reopened instead. Process-wide because errors do not
/// know their pool or connection; a needless reconnect is cheap, a failed payment is not.
/// Microseconds since `PROCESS_START`, plus one (0: never). An atomic, not a lock: every pool
/// checkout (the authorization path's too) reads it.
static LOST_CONNECTION_AT_US: AtomicU64 = AtomicU64::new(0);

static PROCESS_START: LazyLock<Instant> = LazyLock::new(Instant::now);

fn micros_since_start(at: Instant) -> u64 {
    let micros = at.saturating_duration_since(*PROCESS_START).as_micros();
    u64::try_from(micros).unwrap_or(u64::MAX - 1) + 1
}

/// Told of every database error on its way into an error type (`database_error_from!`): a lost
/// connection or a read-only error makes every connection opened before it be discarded at its
/// next checkout, so work reopens on a live primary instead of failing again on the same session.
pub fn note_error(error: &tokio_postgres::Error) {
    if is_unavailable(error) {
        LOST_CONNECTION_AT_US.fetch_max(micros_since_start(Instant::now()), Ordering::Relaxed);
    }
}

/// The server went away or cannot write (a failover in progress): a retry on a new connection
/// may succeed (a statement in flight when the connection broke may or may not have committed,
/// which is why writes carry idempotency keys). Anything else is a fault.
pub fn is_unavailable(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    error.code().is_some_and(|code| {
        let state = code.code();
        // 08: connection exception; 57P01-57P03: the server is shutting down or starting.
        state.starts_with("08")
            || matches!(state, "57P01" | "57P02" | "57P03")
            || *code == SqlState::READ_ONLY_SQL_TRANSACTION
    })
}

fn made_before_lost_connection(created: Instant) -> bool {
    let at = LOST_CONNECTION_AT_US.load(Ordering::Relaxed);
    at != 0 && micros_since_start(created) <= at
}

/// `From<tokio_postgres::Error>` for an error type's database variant, passing the error by
/// [`note_error`] first: every error type that wraps database errors uses this, not `#[from]`.
#[macro_export]
macro_rules! database_error_from {
    ($error:ty, $variant:ident) => {
        impl From<::tokio_postgres::Error> for $error {
            fn from(error: ::tokio_postgres::Error) -> Self {
                $crate::db::note_error(&error);
                Self::$variant(error)
            }
        }
    };
}

/// Applies every pending migration; safe to run twice and from two processes at once.
pub async fn migrate(config: &tokio_postgres::Config) -> Result<MigrationReport, DbError> {
    let (mut client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|error| DbError::Connect(error.to_string()))?;
    let connection_task = tokio::spawn(connection);
    client
        .execute("select pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let result = embedded::migrations::runner()
        .set_abort_divergent(true)
        .run_async(&mut client)
        .await;
    client
        .execute("select pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    drop(client);
    let _ = connection_task.await;
    let report = result.map_err(|error| DbError::Migration(error.to_string()))?;
    Ok(MigrationReport {
        applied: report
            .applied_migrations()
            .iter()
            .map(|m| m.to_string())
            .collect(),
    })
}

#[derive(Debug, Clone)]
pub struct MigrationReport {
    pub applied: Vec<String>,
}

/// Names and checksums of the embedded migrations: a fingerprint of the schema, used to key
/// test template databases and to tell whether a database is current.
pub fn embedded_migrations() -> Vec<(i32, String, u64)> {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| (m.version(), m.name().to_owned(), m.checksum()))
        .collect()
}

/// True when this session may write: false on a standby, or with writes frozen (for `/ready`).
pub async fn accepts_writes(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<bool, DbError> {
    let row = client
        .query_one(
            "select current_setting('transaction_read_only') = 'off' as writable",
            &[],
        )
        .await?;
    Ok(row.get("writable"))
}

/// True when every embedded migration has been applied (for `/ready`).
pub async fn migrations_current(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<bool, DbError> {
    let latest = embedded_migrations().iter().map(|m| m.0).max().unwrap_or(0);
    let row = client
        .query_opt(
            "select max(version) as version from refinery_schema_history",
            &[],
        )
        .await;
    match row {
        Ok(Some(row)) => Ok(row.get::<_, Option<i32>>("version").unwrap_or(0) >= latest),
        Ok(None) => Ok(false),
        // No history table yet: nothing applied.
        Err(_) => Ok(false),
    }
}
