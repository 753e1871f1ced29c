//! `saldo-chaos`: load with a durable record of what was acknowledged, redelivery as the
//! processor would do it, and an audit of the database against the record (docs/reliability.md).
//!
//! Made to run while things break: the server killed and restarted, PostgreSQL restarted or
//! failed over. `load` keeps going through connection errors and 5xx (recorded as
//! unacknowledged), `redeliver` retries until every message is acknowledged, and `audit` says
//! whether anything acknowledged was lost or applied twice.

pub mod audit;
pub mod load;
pub mod record;
pub mod redeliver;

use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use processor_protocol::signature::WebhookSecret;
use tokio_postgres::NoTls;

use crate::load::send_webhook;
use record::Delivery;

/// The processor's deadline for an authorization request (protocol 3.3): later is no answer.
pub const AUTHORIZATION_DEADLINE_MS: u64 = 2_000;
/// The processor waits 10 s for an asynchronous message (protocol 3.2).
pub const ASYNC_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Parser)]
#[command(
    name = "saldo-chaos",
    about = "Load Saldo's webhook path with a durable record, redeliver, audit",
    long_about = "Load Saldo's webhook path with a durable record of every acknowledged message, \
redeliver as the processor would, and audit the database against the record.\n\n\
A run: `seed` (once, on an empty database), `load` against a running `saldo serve` while \
things break, `redeliver` once the server is back, then `audit`. Exit status: 0 all good, \
1 a check failed (loss, duplicate, changed answer, ledger invariant), 2 the tool could not run."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate an empty database and load prisoners, each with an active card and a deposit.
    Seed(SeedOptions),
    /// Print a fresh webhook signing secret (`whsec_…`) for SALDO_WEBHOOK_SECRETS.
    Secret,
    /// Send signed authorization requests and clearings, appending every delivery to --record.
    Load(load::LoadOptions),
    /// Redeliver everything unacknowledged (an unanswered authorization request becomes its
    /// TIMEOUT advice) and a share of what was acknowledged, checking the answers are the same.
    Redeliver(redeliver::RedeliverOptions),
    /// Check the database against the record: nothing acknowledged lost or applied twice,
    /// balances, `saldo verify`. Prints the figures; exits 1 on any failure.
    Audit(audit::AuditOptions),
}

#[derive(Debug, Args)]
pub struct SeedOptions {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Prisoners to load, each with a card and a deposit of 1,000,000.00 EUR.
    #[arg(long, default_value_t = 100)]
    pub prisoners: usize,
}

/// The server and how to sign for it, shared by `load` and `redeliver`.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Saldo's base URL, e.g. http://127.0.0.1:8080 (the webhook path is added).
    #[arg(long)]
    pub url: String,
    /// The webhook signing secret the server has in SALDO_WEBHOOK_SECRETS (the first one is
    /// used when several are given).
    #[arg(long, env = "SALDO_WEBHOOK_SECRETS", hide_env_values = true)]
    pub webhook_secret: String,
}

impl Target {
    pub fn secret(&self) -> anyhow::Result<WebhookSecret> {
        let first = self
            .webhook_secret
            .split_whitespace()
            .next()
            .unwrap_or_default();
        WebhookSecret::parse(first).map_err(|error| anyhow::anyhow!("--webhook-secret: {error:?}"))
    }

    pub fn webhook_url(&self) -> String {
        format!(
            "{}{}",
            self.url.trim_end_matches('/'),
            card_adapter::webhook::PATH
        )
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Seed(options) => {
            seed(&options).await?;
            Ok(true)
        }
        Command::Secret => {
            println!("{}", WebhookSecret::generate().to_whsec());
            Ok(true)
        }
        Command::Load(options) => load::run(&options).await,
        Command::Redeliver(options) => redeliver::run(&options).await,
        Command::Audit(options) => audit::run(&options).await,
    }
}

async fn seed(options: &SeedOptions) -> anyhow::Result<()> {
    let config: tokio_postgres::Config = options.database_url.parse()?;
    ledger::db::migrate(&config).await?;
    let pool = ledger::db::pool(config, 2)?;
    let data = crate::data::load(&pool, options.prisoners).await?;
    println!(
        "seeded {} prisoners with a card and {} minor units each ({} for the first {}) (prison {})",
        data.cards.len(),
        crate::data::OPENING_DEPOSIT_MINOR,
        crate::data::HOT_OPENING_DEPOSIT_MINOR,
        crate::data::HOT_CARDS,
        data.prison_id
    );
    Ok(())
}

pub async fn connect(database_url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let config: tokio_postgres::Config = database_url.parse()?;
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// What one message is, before it is sent.
#[derive(Debug, Clone)]
pub struct Message {
    pub event_id: String,
    pub event_type: &'static str,
    pub authorization_id: String,
    pub card_id: String,
    pub amount_minor: i64,
    pub transaction_id: Option<String>,
    pub body: String,
}

impl Message {
    pub fn from_delivery(delivery: &Delivery, event_type: &'static str) -> Message {
        Message {
            event_id: delivery.event_id.clone(),
            event_type,
            authorization_id: delivery.authorization_id.clone(),
            card_id: delivery.card_id.clone(),
            amount_minor: delivery.amount_minor,
            transaction_id: delivery.transaction_id.clone(),
            body: delivery.body.clone(),
        }
    }
}

/// Sends one message and says what the processor would make of the answer.
pub async fn deliver(
    client: &reqwest::Client,
    url: &str,
    secret: &WebhookSecret,
    message: &Message,
    redelivery: bool,
) -> Delivery {
    let timeout_ms = if message.event_type == record::AUTHORIZATION_REQUEST {
        AUTHORIZATION_DEADLINE_MS
    } else {
        ASYNC_TIMEOUT_MS
    };
    let sent_unix_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(0);
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_millis(timeout_ms),
        send_webhook(client, url, secret, &message.event_id, message.body.clone()),
    )
    .await;
    let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let (status, answer, error) = match answer {
        Err(_) => (None, None, Some(format!("no answer in {timeout_ms} ms"))),
        Ok(Err(error)) => (None, None, Some(error)),
        Ok(Ok((status, text))) => {
            let json = serde_json::from_str::<serde_json::Value>(&text).ok();
            let error = if json.is_none() {
                Some(format!("answer is not JSON: {text:.200}"))
            } else {
                None
            };
            (Some(status.as_u16()), json, error)
        }
    };
    let success = status.is_some_and(|code| (200..300).contains(&code));
    // A request is answered only by 200 with a decision (protocol 3.3: else it declines).
    let acked = success
        && answer.as_ref().is_some_and(|answer| {
            message.event_type != record::AUTHORIZATION_REQUEST
                || answer["decision"].as_str().is_some()
        });
    Delivery {
        event_id: message.event_id.clone(),
        event_type: message.event_type.to_owned(),
        authorization_id: message.authorization_id.clone(),
        card_id: message.card_id.clone(),
        amount_minor: message.amount_minor,
        transaction_id: message.transaction_id.clone(),
        body: message.body.clone(),
        acked,
        status,
        answer,
        error,
        latency_us,
        sent_unix_ms,
        redelivery,
    }
}

/// The event type as one of the record's constants.
pub fn event_type(name: &str) -> Option<&'static str> {
    [
        record::AUTHORIZATION_REQUEST,
        record::AUTHORIZATION_ADVICE,
        record::TRANSACTION_CLEARING,
    ]
    .into_iter()
    .find(|known| *known == name)
}

pub fn percentile_ms(sorted_us: &[u64], p: u64) -> u64 {
    crate::report::percentile(sorted_us, p) / 1000
}
