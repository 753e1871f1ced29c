//! The shared test harness: every test gets its own fresh PostgreSQL database.
//!
//! A template database is migrated once per schema version (keyed by a fingerprint of the
//! embedded migrations, built under an advisory lock so parallel test processes don't race), and
//! each test clones it with `CREATE DATABASE … TEMPLATE`, which takes milliseconds.
//!
//! Connection settings: `TEST_DATABASE_URL` or `DATABASE_URL`, else the standard `PGHOST`,
//! `PGPORT`, `PGUSER`, `PGPASSWORD` variables, else `127.0.0.1:5432` as `postgres`.

use std::hash::{Hash, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use deadpool_postgres::Pool;
use tokio::sync::OnceCell;
use tokio_postgres::NoTls;

const TEMPLATE_LOCK_KEY: i64 = 0x5a1d_7e57;
/// Test databases older than this are dropped by later runs (a crashed run leaves its own). An
/// hour outlives any run, and keeps a failed test's database for a look without filling the disk.
const STALE_TEST_DB_SECONDS: u64 = 3600;
const TEST_DB_PREFIX: &str = "saldo_test_";

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The server the tests use, from the environment.
pub fn server_config() -> tokio_postgres::Config {
    for variable in ["TEST_DATABASE_URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(variable) {
            return url.parse().unwrap_or_else(|error| {
                panic!("{variable} is not a valid PostgreSQL URL: {error}")
            });
        }
    }
    let mut config = tokio_postgres::Config::new();
    config.host(std::env::var("PGHOST").as_deref().unwrap_or("127.0.0.1"));
    config.port(
        std::env::var("PGPORT")
            .ok()
            .and_then(|port| port.parse().ok())
            .unwrap_or(5432),
    );
    config.user(std::env::var("PGUSER").as_deref().unwrap_or("postgres"));
    if let Ok(password) = std::env::var("PGPASSWORD") {
        config.password(password);
    }
    config.dbname("postgres");
    config
}

fn with_dbname(config: &tokio_postgres::Config, dbname: &str) -> tokio_postgres::Config {
    let mut config = config.clone();
    config.dbname(dbname);
    config
}

async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = match config.connect(NoTls).await {
        Ok(pair) => pair,
        Err(error) => panic!(
            "\n\nThe tests need a PostgreSQL server and could not reach one ({error}).\n\
             Start the machine's cluster:   pg_ctlcluster 15 main start\n\
             or point the tests at one:     TEST_DATABASE_URL=postgres://user@host:port/postgres\n\
             or run them in a throwaway cluster: pg_virtualenv cargo test --workspace\n\
             (see README.md, 'Running the tests').\n"
        ),
    };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

fn migrations_fingerprint() -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    ledger::db::embedded_migrations().hash(&mut hasher);
    hasher.finish()
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn template_name() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let server = server_config();
            let template = format!("saldo_template_{:016x}", migrations_fingerprint());
            let admin = connect(&server).await;
            admin
                .execute("select pg_advisory_lock($1)", &[&TEMPLATE_LOCK_KEY])
                .await
                .expect("advisory lock");
            let exists = admin
                .query_opt("select 1 from pg_database where datname = $1", &[&template])
                .await
                .expect("look up template")
                .is_some();
            if !exists {
                // Built under another name and renamed, so nobody clones a half-migrated template.
                let building = format!("{template}_building");
                admin
                    .batch_execute(&format!("drop database if exists {building}"))
                    .await
                    .expect("drop half-built template");
                admin
                    .batch_execute(&format!("create database {building}"))
                    .await
                    .expect("create template");
                ledger::db::migrate(&with_dbname(&server, &building))
                    .await
                    .expect("migrate template");
                admin
                    .batch_execute(&format!("alter database {building} rename to {template}"))
                    .await
                    .expect("rename template");
            }
            sweep_stale_databases(&admin).await;
            admin
                .execute("select pg_advisory_unlock($1)", &[&TEMPLATE_LOCK_KEY])
                .await
                .expect("advisory unlock");
            template
        })
        .await
        .clone()
}

async fn sweep_stale_databases(admin: &tokio_postgres::Client) {
    let rows = admin
        .query(
            "select datname from pg_database where datname like $1",
            &[&format!("{TEST_DB_PREFIX}%")],
        )
        .await
        .expect("list test databases");
    let now = unix_seconds();
    for row in rows {
        let name: String = row.get(0);
        let created = name
            .trim_start_matches(TEST_DB_PREFIX)
            .split('_')
            .next()
            .and_then(|seconds| seconds.parse::<u64>().ok());
        if let Some(created) = created
            && now.saturating_sub(created) > STALE_TEST_DB_SECONDS
        {
            let _ = admin
                .batch_execute(&format!("drop database if exists {name} with (force)"))
                .await;
        }
    }
}

/// A fresh, migrated database of its own for one test.
pub struct TestDb {
    pub name: String,
    pub config: tokio_postgres::Config,
    pub pool: Pool,
}

impl TestDb {
    pub async fn new() -> TestDb {
        TestDb::with_pool_size(16).await
    }

    pub async fn with_pool_size(max_connections: usize) -> TestDb {
        let template = template_name().await;
        let server = server_config();
        let name = format!(
            "{TEST_DB_PREFIX}{}_{}",
            unix_seconds(),
            uuid::Uuid::new_v4().simple()
        );
        connect(&server)
            .await
            .batch_execute(&format!("create database {name} template {template}"))
            .await
            .expect("clone the template database");
        let config = with_dbname(&server, &name);
        let pool = ledger::db::pool(config.clone(), max_connections).expect("pool");
        TestDb { name, config, pool }
    }

    /// A database with no schema at all, for migration tests.
    pub async fn empty() -> TestDb {
        // Also sweeps stale databases and checks the server is reachable.
        template_name().await;
        let server = server_config();
        let name = format!(
            "{TEST_DB_PREFIX}{}_{}",
            unix_seconds(),
            uuid::Uuid::new_v4().simple()
        );
        connect(&server)
            .await
            .batch_execute(&format!("create database {name}"))
            .await
            .expect("create an empty database");
        let config = with_dbname(&server, &name);
        let pool = ledger::db::pool(config.clone(), 4).expect("pool");
        TestDb { name, config, pool }
    }

    pub fn ledger(&self) -> ledger::Ledger {
        ledger::Ledger::new(self.pool.clone())
    }

    /// A URL for this database, for binaries started by tests.
    pub fn url(&self) -> String {
        let server = server_config();
        let host = match server.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "127.0.0.1".to_owned(),
        };
        let port = server.get_ports().first().copied().unwrap_or(5432);
        let user = server.get_user().unwrap_or("postgres");
        let password = server
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        format!("postgres://{user}{password}@{host}:{port}/{}", self.name)
    }

    /// A raw connection, for tests that act behind the ledger's back (as a superuser would).
    pub async fn raw_client(&self) -> tokio_postgres::Client {
        connect(&self.config).await
    }
}
