//! Which database Saldo uses: `DATABASE_URL` when set, else the embedded default cluster.
use std::path::PathBuf;

use anyhow::Context;

use crate::embedded_pg::EmbeddedPostgres;

pub struct Database {
    pub config: tokio_postgres::Config,
    /// Kept alive for as long as the database is in use; stops the cluster it started on drop.
    pub embedded: Option<EmbeddedPostgres>,
}

pub struct DatabaseOptions {
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub embedded_port: u16,
    /// A command that only reads: without `DATABASE_URL` it uses the embedded cluster only if it
    /// exists already, and never creates one.
    pub read_only: bool,
}

pub fn open(options: &DatabaseOptions) -> anyhow::Result<Database> {
    if let Some(url) = &options.database_url {
        let config = ledger::db::parse_config(url).context("DATABASE_URL")?;
        return Ok(Database {
            config,
            embedded: None,
        });
    }
    let data_dir = options
        .data_dir
        .clone()
        .unwrap_or_else(crate::embedded_pg::default_data_dir);
    let mut embedded = EmbeddedPostgres::new(data_dir, options.embedded_port)?;
    let url = if options.read_only {
        embedded.start_existing()?
    } else {
        embedded.start()?
    };
    Ok(Database {
        config: ledger::db::parse_config(&url)?,
        embedded: Some(embedded),
    })
}
