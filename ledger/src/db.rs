//! Connecting to PostgreSQL and applying the schema.
//!
//! `migrations/` is one ordered history for the whole database (ledger, card adapter, API);
//! it is embedded here so every binary and test applies exactly the same schema.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

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
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("could not build the connection pool: {0}")]
    Build(String),
}

pub fn parse_config(url: &str) -> Result<tokio_postgres::Config, DbError> {
    url.parse::<tokio_postgres::Config>()
        .map_err(|error| DbError::InvalidUrl(error.to_string()))
}

pub fn pool(config: tokio_postgres::Config, max_size: usize) -> Result<Pool, DbError> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|error| DbError::Build(error.to_string()))
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
