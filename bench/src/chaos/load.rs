//! `saldo-chaos load`: N tasks, each sending an authorization request for one of the seeded
//! cards and, for a share of the approvals, its final clearing; every delivery appended to the
//! record with what was acknowledged. Connection errors and 5xx are recorded too (unacknowledged:
//! `redeliver` sends them again), and the load goes on: the server may be down for a while.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;
use rand::{Rng, SeedableRng};

use super::record::{self, CardStart, Line, Recorder};
use super::{Message, Target, deliver};
use crate::load::{self as bench_load, Outcome, authorization_body, clearing_body};

/// A card no one has: its requests are declined (UNKNOWN_CARD), so declines are audited too.
pub const UNKNOWN_CARD: &str = "card_chaos_unknown";

#[derive(Debug, Clone, Args)]
pub struct LoadOptions {
    #[command(flatten)]
    pub target: Target,
    /// The database the server uses: the cards and their balances at the start are read from it
    /// (the audit's baseline), nothing is written.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// How long to send.
    #[arg(long, default_value_t = 10)]
    pub duration_s: u64,
    /// Stop each task after this many authorization requests (default: only the duration).
    #[arg(long)]
    pub max_requests_per_task: Option<u64>,
    /// The record to append to (created if missing).
    #[arg(long)]
    pub record: PathBuf,
    /// fsync the record after every line (slower; for runs that kill the machine itself).
    #[arg(long)]
    pub fsync: bool,
    /// Active cards to use (the first N by card id).
    #[arg(long, default_value_t = 100)]
    pub cards: i64,
    /// Approvals followed by their final clearing, in percent.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub clear_percent: u32,
    /// Requests for a card that does not exist (declined), in percent.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub unknown_card_percent: u32,
    /// Amounts are drawn from 1..=max (minor units).
    #[arg(long, default_value_t = 500)]
    pub max_amount_minor: i64,
    /// Pause after a failed delivery, so a down server is not hammered.
    #[arg(long, default_value_t = 50)]
    pub error_pause_ms: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

async fn cards(database_url: &str, limit: i64) -> anyhow::Result<Vec<CardStart>> {
    let client = super::connect(database_url).await?;
    let rows = client
        .query(
            "select c.card_id, c.account_id, b.posted_minor, b.held_minor
             from card.cards c join account_balances b on b.account_id = c.account_id
             where c.state = 'ACTIVE' order by c.card_id limit $1",
            &[&limit],
        )
        .await?;
    let cards: Vec<CardStart> = rows
        .iter()
        .map(|row| CardStart {
            card_id: row.get("card_id"),
            account_id: row.get("account_id"),
            posted_minor: row.get("posted_minor"),
            held_minor: row.get("held_minor"),
        })
        .collect();
    anyhow::ensure!(
        !cards.is_empty(),
        "no active card in the database: run `saldo-chaos seed` first"
    );
    Ok(cards)
}

pub async fn run(options: &LoadOptions) -> anyhow::Result<bool> {
    let secret = Arc::new(options.target.secret()?);
    let url = Arc::new(options.target.webhook_url());
    let cards = cards(&options.database_url, options.cards).await?;
    let run_id = format!(
        "{}{}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let recorder = Recorder::open(&options.record, options.fsync)?;
    recorder.write(&Line::Start {
        run_id: run_id.clone(),
        cards: cards.clone(),
    })?;
    let n = options.concurrency.max(1);
    let client = bench_load::http_client(n);
    let card_ids: Arc<Vec<String>> = Arc::new(cards.into_iter().map(|c| c.card_id).collect());
    let shared = Arc::new(options.clone());
    let job: bench_load::Job =
        Arc::new(move |task, k| {
            let (client, url, secret, recorder, card_ids, options, run_id) = (
                client.clone(),
                url.clone(),
                secret.clone(),
                recorder.clone(),
                card_ids.clone(),
                shared.clone(),
                run_id.clone(),
            );
            Box::pin(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(
                    options.seed ^ (u64::try_from(task).unwrap_or(0) << 40) ^ k,
                );
                let id = format!("{run_id}_{task}_{k}");
                let card_id = if rng.random_ratio(options.unknown_card_percent, 100) {
                    UNKNOWN_CARD.to_owned()
                } else {
                    card_ids[rng.random_range(0..card_ids.len())].clone()
                };
                let amount_minor = rng.random_range(1..=options.max_amount_minor.max(1));
                let authorization_id = format!("auth_{id}");
                let timestamp = bench_load::now_rfc3339();
                let request = Message {
                    event_id: format!("msg_{id}_req"),
                    event_type: record::AUTHORIZATION_REQUEST,
                    authorization_id: authorization_id.clone(),
                    card_id: card_id.clone(),
                    amount_minor,
                    transaction_id: None,
                    body: authorization_body(&timestamp, &card_id, &authorization_id, amount_minor),
                };
                let answered = deliver(&client, &url, &secret, &request, false).await;
                if let Err(error) = recorder.write(&Line::Delivery(answered.clone())) {
                    return Outcome::Error(format!("record: {error}"));
                }
                if !answered.acked {
                    tokio::time::sleep(Duration::from_millis(options.error_pause_ms)).await;
                    return Outcome::Error(answered.error.unwrap_or_else(|| {
                        format!("HTTP {}", answered.status.unwrap_or_default())
                    }));
                }
                let answer = answered.answer.unwrap_or_default();
                if answer["decision"] != "APPROVE" {
                    return Outcome::Declined(answer["decline_reason"].to_string());
                }
                let approved_minor = answer["approved_amount"].as_i64().unwrap_or(amount_minor);
                if rng.random_ratio(options.clear_percent, 100) {
                    let transaction_id = format!("txn_{id}");
                    let clearing = Message {
                        event_id: format!("msg_{id}_clr"),
                        event_type: record::TRANSACTION_CLEARING,
                        authorization_id: authorization_id.clone(),
                        card_id: card_id.clone(),
                        amount_minor: approved_minor,
                        transaction_id: Some(transaction_id.clone()),
                        body: clearing_body(
                            &timestamp,
                            &transaction_id,
                            &authorization_id,
                            &card_id,
                            approved_minor,
                        ),
                    };
                    let cleared = deliver(&client, &url, &secret, &clearing, false).await;
                    if let Err(error) = recorder.write(&Line::Delivery(cleared.clone())) {
                        return Outcome::Error(format!("record: {error}"));
                    }
                    if !cleared.acked {
                        tokio::time::sleep(Duration::from_millis(options.error_pause_ms)).await;
                    }
                }
                Outcome::Approved(authorization_id, card_id, approved_minor)
            })
        });
    // SIGTERM or Ctrl-C: stop sending, let what is in flight be answered and recorded.
    let stop = Arc::new(AtomicBool::new(false));
    tokio::spawn(stop_on_signal(stop.clone()));
    let result = bench_load::drive_until(
        n,
        Duration::from_secs(options.duration_s.max(1)),
        options.max_requests_per_task,
        stop,
        job,
    )
    .await;
    println!(
        "load: {} requests, {} approved, {} declined, {} unacknowledged, p99 of a request with its clearing {} ms{}",
        result.requests,
        result.approved,
        result.declined,
        result.errors,
        super::percentile_ms(&result.latencies_us, 99),
        result
            .first_error
            .as_deref()
            .map(|e| format!("; first error: {e:.200}"))
            .unwrap_or_default()
    );
    Ok(true)
}

async fn stop_on_signal(stop: Arc<AtomicBool>) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
    stop.store(true, Ordering::Relaxed);
}
