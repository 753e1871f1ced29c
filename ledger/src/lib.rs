//! Saldo's double-entry ledger: money, accounts, append-only entries, two-phase holds, balances
//! and verification, stored in PostgreSQL. It knows nothing of HTTP, people or the processor.
pub mod accounts;
pub mod allocation;
pub mod bank_rail;
pub mod batch;
pub mod check;
pub mod controls;
pub mod db;
pub mod deposits;
pub mod entitlements;
pub mod entry_text;
pub mod error;
pub mod fees;
pub mod iban;
pub mod idempotency;
pub mod income;
pub mod lifecycle;
pub mod model;
pub mod money;
pub mod payroll;
pub mod payroll_file;
pub mod policy_store;
pub mod rf_reference;
pub mod seal;
pub mod store;
pub mod verify;

use deadpool_postgres::Pool;
use uuid::Uuid;

pub use error::{LedgerError, LedgerResult};
pub use model::*;
pub use money::{Currency, Money, MoneyError};
pub use store::{Capture, CaptureHold, IncreaseHold, PlaceHold, ReleaseHold, ReverseEntry};

/// A transient conflict (deadlock, serialisation failure) is retried this many times.
const MAX_ATTEMPTS: u32 = 3;

/// The ledger over a connection pool: each command in its own transaction.
#[derive(Clone)]
pub struct Ledger {
    pool: Pool,
}

macro_rules! in_transaction {
    ($self:ident, |$tx:ident| $body:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = $self.pool.get().await?;
            let $tx = client.transaction().await?;
            let result = $body;
            match result {
                Ok(value) => match $tx.commit().await {
                    Ok(()) => break Ok(value),
                    Err(error) if is_transient(&error) && attempt < MAX_ATTEMPTS => continue,
                    Err(error) => break Err(LedgerError::from(error)),
                },
                Err(LedgerError::Database(error))
                    if is_transient(&error) && attempt < MAX_ATTEMPTS =>
                {
                    continue;
                }
                Err(error) => break Err(error),
            }
        }
    }};
}

fn is_transient(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(
        error.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED) | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
    )
}

impl Ledger {
    pub fn new(pool: Pool) -> Ledger {
        Ledger { pool }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub async fn open_account(
        &self,
        idempotency_key: &str,
        account: &NewAccount,
    ) -> LedgerResult<Account> {
        in_transaction!(self, |tx| store::open_account(
            &tx,
            idempotency_key,
            account
        )
        .await)
    }

    pub async fn close_account(
        &self,
        idempotency_key: &str,
        account_id: Uuid,
    ) -> LedgerResult<Account> {
        in_transaction!(self, |tx| store::close_account(
            &tx,
            idempotency_key,
            account_id
        )
        .await)
    }

    pub async fn post_entry(&self, draft: &EntryDraft) -> LedgerResult<Entry> {
        in_transaction!(self, |tx| store::post_entry(&tx, draft).await)
    }

    pub async fn reverse_entry(&self, command: &ReverseEntry) -> LedgerResult<Entry> {
        in_transaction!(self, |tx| store::reverse_entry(&tx, command).await)
    }

    pub async fn place_hold(&self, command: &PlaceHold) -> LedgerResult<Hold> {
        in_transaction!(self, |tx| store::place_hold(&tx, command).await)
    }

    pub async fn increase_hold(&self, command: &IncreaseHold) -> LedgerResult<Hold> {
        in_transaction!(self, |tx| store::increase_hold(&tx, command).await)
    }

    pub async fn capture_hold(&self, command: &CaptureHold) -> LedgerResult<Capture> {
        in_transaction!(self, |tx| store::capture_hold(&tx, command).await)
    }

    pub async fn release_hold(&self, command: &ReleaseHold) -> LedgerResult<Hold> {
        in_transaction!(self, |tx| store::release_hold(&tx, command).await)
    }

    pub async fn expire_hold(&self, idempotency_key: &str, hold_id: Uuid) -> LedgerResult<Hold> {
        in_transaction!(self, |tx| store::expire_hold(&tx, idempotency_key, hold_id)
            .await)
    }

    pub async fn account(&self, account_id: Uuid) -> LedgerResult<Account> {
        store::account(&self.pool.get().await?, account_id).await
    }

    pub async fn balance(&self, account_id: Uuid) -> LedgerResult<Balance> {
        store::balance(&self.pool.get().await?, account_id).await
    }

    pub async fn balance_as_of(
        &self,
        account_id: Uuid,
        as_of: time::OffsetDateTime,
    ) -> LedgerResult<Money> {
        store::balance_as_of(&self.pool.get().await?, account_id, as_of).await
    }

    pub async fn statement(
        &self,
        account_id: Uuid,
        after_posting_id: Option<i64>,
        limit: i64,
    ) -> LedgerResult<StatementPage> {
        store::statement(&self.pool.get().await?, account_id, after_posting_id, limit).await
    }

    pub async fn entry(&self, entry_id: Uuid) -> LedgerResult<Entry> {
        store::entry(&self.pool.get().await?, entry_id).await
    }

    pub async fn hold(&self, hold_id: Uuid) -> LedgerResult<Hold> {
        in_transaction!(self, |tx| store::hold(&tx, hold_id).await)
    }

    /// Expires holds whose time has passed; returns how many. Runs in batches (a limit on
    /// everything), each hold in its own transaction so one failure does not block the rest.
    pub async fn expire_due_holds(
        &self,
        now: time::OffsetDateTime,
        batch: i64,
    ) -> LedgerResult<usize> {
        let due = store::due_holds(&self.pool.get().await?, now, batch).await?;
        let mut expired = 0;
        for hold_id in due {
            match self
                .expire_hold(&format!("expire:{hold_id}"), hold_id)
                .await
            {
                Ok(_) => expired += 1,
                // Captured or released meanwhile: nothing left to expire.
                Err(LedgerError::ExceedsHold { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(expired)
    }

    /// `saldo verify`, in one read-only snapshot, so that its counts and checks are of one moment
    /// while the ledger is written. It only reads: a session lost under it (a killed backend, a
    /// failover: the pool may hand out a session whose end it has not seen yet) is tried once
    /// more on a new one, which the lost connection's error makes the pool open.
    pub async fn verify(&self) -> LedgerResult<verify::VerifyReport> {
        match self.verify_in_snapshot().await {
            Err(LedgerError::Database(error)) if db::is_unavailable(&error) => {
                tracing::warn!(error = %error, "verify lost its session: trying once more");
                self.verify_in_snapshot().await
            }
            verified => verified,
        }
    }

    async fn verify_in_snapshot(&self) -> LedgerResult<verify::VerifyReport> {
        let mut first = self.pool.get().await?;
        let first = snapshot_transaction(&mut first).await?;
        // A second session only if the pool has one free now: waiting for one could wait on
        // whoever holds them, and one session checks everything too, only slower.
        let no_wait = deadpool_postgres::Timeouts {
            wait: Some(std::time::Duration::ZERO),
            ..deadpool_postgres::Timeouts::default()
        };
        let mut second = self.pool.timeout_get(&no_wait).await.ok();
        let sessions = match second.as_mut() {
            None => vec![first],
            Some(second) => {
                let snapshot: String = first
                    .query_one("select pg_export_snapshot()", &[])
                    .await?
                    .get(0);
                let second = snapshot_transaction(second).await?;
                // Snapshot names are hex digits and dashes (e.g. `00000003-0000001B-1`).
                assert!(
                    snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
                    "a snapshot name: {snapshot}"
                );
                second
                    .batch_execute(&format!("set transaction snapshot '{snapshot}'"))
                    .await?;
                // Each check as one process: two sessions on two cores do more than one session
                // with PostgreSQL's parallel workers, whose partial groups are merged again
                // (a million entries: entries_balance 2.2 s alone, 2.7 s with two workers).
                for session in [&first, &second] {
                    session
                        .batch_execute("set local max_parallel_workers_per_gather = 0")
                        .await?;
                }
                vec![first, second]
            }
        };
        let report = verify::verify(&sessions).await?;
        for session in sessions {
            session.commit().await?;
        }
        Ok(report)
    }
}

/// A read-only transaction whose reads are all of one moment, with the memory its per-entry and
/// per-account aggregates need to stay off disk (a million entries: ~200 MB of groups).
async fn snapshot_transaction(
    client: &mut deadpool_postgres::Object,
) -> LedgerResult<deadpool_postgres::Transaction<'_>> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    tx.batch_execute("set local work_mem = '128MB'").await?;
    Ok(tx)
}
