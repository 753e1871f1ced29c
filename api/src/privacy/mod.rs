//! Privacy wiring for the `saldo` binary: installs the identity store's keys, checks the data
//! location before serving, and runs the sealing and retention jobs. The domain code (retention,
//! subject access, data location, the access log's tamper evidence) is in the `identity` crate.
//! See docs/data-protection.md.
pub mod command;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;

use crate::identity::crypto::{self, Keyring};
use crate::identity::{log_seal, residency, retention};
use crate::settings::Settings;

/// How often the journal and the access log are sealed, and how long a sealer waits for older
/// transactions to end before trying again later.
const SEAL_INTERVAL: Duration = Duration::from_secs(60);
const SEAL_WAIT: Duration = Duration::from_secs(5);
/// How often the retention run looks for what is due.
const RETENTION_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Loads the identity keys (environment, key file, or a new key file in the data dir) and makes
/// them the process's.
pub fn install_keys(
    settings: &Settings,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<Arc<Keyring>> {
    let data_dir = data_dir.unwrap_or_else(crate::embedded_pg::default_data_dir);
    let keyring = settings.key_source(data_dir).load()?;
    crypto::install(keyring);
    Ok(crypto::current())
}

/// After migrating: keys installed and checked against the database, records written before
/// encryption sealed.
pub async fn prepare_identity_store(
    pool: &Pool,
    settings: &Settings,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let keys = install_keys(settings, data_dir)?;
    let mut client = pool.get().await?;
    crate::identity::store::register_keys(&client, &keys).await?;
    let sealed = crate::identity::store::seal_legacy_records(&mut client).await?;
    if sealed > 0 {
        tracing::info!(records = sealed, "identity records sealed at rest");
    }
    Ok(())
}

/// Everything `saldo serve` does for privacy before it answers: refuses a data location outside
/// the EU/EEA, prepares the identity store, and starts the sealing and retention jobs.
pub async fn before_serving(
    pool: &Pool,
    settings: &Settings,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    residency::check_before_serving(&settings.data_locations()?)?;
    let policy = settings.retention()?;
    prepare_identity_store(pool, settings, data_dir).await?;
    tokio::spawn(seal_forever(pool.clone()));
    tokio::spawn(retention_forever(pool.clone(), policy));
    Ok(())
}

/// Checkpoints added by one sealing pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sealed {
    pub journal: usize,
    pub accounts: usize,
    pub access_log: usize,
}

/// Seals the journal, the accounts and the access log once.
pub async fn seal_once(pool: &Pool, wait: Duration) -> anyhow::Result<Sealed> {
    let mut client = pool.get().await?;
    let journal = ledger::seal::seal_journal(&mut client, wait).await?;
    let accounts = ledger::seal::seal_accounts(&mut client, wait).await?;
    let log = log_seal::seal(&mut client, wait).await?;
    Ok(Sealed {
        journal: journal.len(),
        accounts: accounts.len(),
        access_log: log.len(),
    })
}

async fn seal_forever(pool: Pool) {
    let mut interval = tokio::time::interval(SEAL_INTERVAL);
    loop {
        interval.tick().await;
        match seal_once(&pool, SEAL_WAIT).await {
            Ok(sealed) if sealed == Sealed::default() => {}
            Ok(sealed) => {
                tracing::info!(
                    checkpoints.journal = sealed.journal,
                    checkpoints.accounts = sealed.accounts,
                    checkpoints.access_log = sealed.access_log,
                    "sealed"
                )
            }
            Err(_) => tracing::warn!("sealing checkpoints failed; retried next time"),
        }
    }
}

async fn retention_forever(pool: Pool, policy: retention::RetentionPolicy) {
    let mut interval = tokio::time::interval(RETENTION_INTERVAL);
    loop {
        interval.tick().await;
        // Seal first, so the access log's due checkpoints exist.
        let _ = seal_once(&pool, SEAL_WAIT).await;
        if retention::run(&pool, &policy, time::OffsetDateTime::now_utc(), false)
            .await
            .is_err()
        {
            tracing::warn!("retention run failed; retried next time");
        }
    }
}
