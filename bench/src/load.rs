//! The load generator: N tasks over a pool of N keep-alive connections, each sending one request
//! after another until the time is up, recording every request's latency in microseconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use processor_protocol::signature::{self, WebhookSecret};

use crate::report::{per_second, percentile};

#[derive(Debug, Clone)]
pub enum Outcome {
    /// Authorization approved: (authorization id, card id, approved amount).
    Approved(String, String, i64),
    Declined(String),
    Ok,
    Error(String),
}

#[derive(Debug, Default)]
pub struct LoadResult {
    pub requests: u64,
    pub ok: u64,
    pub approved: u64,
    pub declined: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub first_decline: Option<String>,
    pub elapsed_us: u64,
    /// Sorted.
    pub latencies_us: Vec<u64>,
    pub approvals: Vec<(String, String, i64)>,
}

impl LoadResult {
    pub fn per_second(&self) -> u64 {
        per_second(self.requests, self.elapsed_us)
    }
    pub fn p(&self, p: u64) -> u64 {
        percentile(&self.latencies_us, p)
    }
    pub fn max(&self) -> u64 {
        self.latencies_us.last().copied().unwrap_or(0)
    }
    pub fn summary(&self) -> String {
        format!(
            "{} requests in {} ms: {}/s, {} approved, {} declined, {} errors, p50 {} µs, p99 {} µs, max {} µs{}{}",
            self.requests,
            self.elapsed_us / 1000,
            self.per_second(),
            self.approved,
            self.declined,
            self.errors,
            self.p(50),
            self.p(99),
            self.max(),
            self.first_error
                .as_deref()
                .map(|e| format!("; first error: {e}"))
                .unwrap_or_default(),
            self.first_decline
                .as_deref()
                .map(|e| format!("; first decline: {e}"))
                .unwrap_or_default(),
        )
    }
}

pub type Job =
    Arc<dyn Fn(usize, u64) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// Runs `job(task, n)` in `concurrency` tasks until `duration` is over, or a task's job says
/// there is no more work (`max_per_task`).
pub async fn drive(
    concurrency: usize,
    duration: Duration,
    max_per_task: Option<u64>,
    job: Job,
) -> LoadResult {
    drive_until(
        concurrency,
        duration,
        max_per_task,
        Arc::new(AtomicBool::new(false)),
        job,
    )
    .await
}

/// `drive`, also stopping (after the jobs in flight) once `stop` is set.
pub async fn drive_until(
    concurrency: usize,
    duration: Duration,
    max_per_task: Option<u64>,
    stop: Arc<AtomicBool>,
    job: Job,
) -> LoadResult {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        let job = job.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut result = LoadResult::default();
            let mut n = 0_u64;
            while Instant::now() < deadline
                && max_per_task.is_none_or(|max| n < max)
                && !stop.load(Ordering::Relaxed)
            {
                let sent = Instant::now();
                let outcome = job(task, n).await;
                let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                result.latencies_us.push(micros);
                result.requests += 1;
                match outcome {
                    Outcome::Approved(authorization, card, amount) => {
                        result.ok += 1;
                        result.approved += 1;
                        result.approvals.push((authorization, card, amount));
                    }
                    Outcome::Declined(reason) => {
                        result.ok += 1;
                        result.declined += 1;
                        result.first_decline.get_or_insert(reason);
                    }
                    Outcome::Ok => result.ok += 1,
                    Outcome::Error(error) => {
                        result.errors += 1;
                        result.first_error.get_or_insert(error);
                    }
                }
                n += 1;
            }
            result
        }));
    }
    let mut total = LoadResult::default();
    for task in tasks {
        if let Ok(result) = task.await {
            total.requests += result.requests;
            total.ok += result.ok;
            total.approved += result.approved;
            total.declined += result.declined;
            total.errors += result.errors;
            if total.first_error.is_none() {
                total.first_error = result.first_error;
            }
            if total.first_decline.is_none() {
                total.first_decline = result.first_decline;
            }
            total.latencies_us.extend(result.latencies_us);
            total.approvals.extend(result.approvals);
        }
    }
    total.elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    total.latencies_us.sort_unstable();
    total
}

pub fn http_client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// One signed webhook, as the processor sends it.
pub async fn send_webhook(
    client: &reqwest::Client,
    url: &str,
    secret: &WebhookSecret,
    webhook_id: &str,
    body: String,
) -> Result<(reqwest::StatusCode, String), String> {
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = signature::sign(secret, webhook_id, timestamp, body.as_bytes());
    let response = client
        .post(url)
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|error| format!("request failed: {error}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|error| format!("answer unreadable: {error}"))?;
    Ok((status, text))
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "2026-11-26T10:15:02Z".to_owned())
}

pub fn authorization_body(
    timestamp: &str,
    card_id: &str,
    authorization_id: &str,
    amount_minor: i64,
) -> String {
    format!(
        r#"{{"type":"authorization.request","timestamp":"{timestamp}","data":{{"authorization_id":"{authorization_id}","card_id":"{card_id}","cardholder_id":"ch_bench","amount":{amount_minor},"currency":"EUR","merchant_amount":{amount_minor},"merchant_currency":"EUR","merchant":{{"id":"m_canteen","name":"CANTEEN","mcc":"5411","city":"HAMEENLINNA","country":"FI"}},"channel":"POS","partial_approval_capable":false,"parent_authorization_id":null}}}}"#
    )
}

pub fn clearing_body(
    timestamp: &str,
    transaction_id: &str,
    authorization_id: &str,
    card_id: &str,
    amount_minor: i64,
) -> String {
    format!(
        r#"{{"type":"transaction.clearing","timestamp":"{timestamp}","data":{{"transaction_id":"{transaction_id}","authorization_id":"{authorization_id}","card_id":"{card_id}","amount":{amount_minor},"currency":"EUR","merchant":{{"id":"m_canteen","name":"CANTEEN","mcc":"5411","city":"HAMEENLINNA","country":"FI"}},"cleared_at":"{timestamp}","final":true}}}}"#
    )
}

/// Reads the processor's answer to an authorization request.
pub fn authorization_outcome(
    answer: Result<(reqwest::StatusCode, String), String>,
    authorization_id: String,
    card_id: String,
) -> Outcome {
    match answer {
        Err(error) => Outcome::Error(error),
        Ok((status, text)) if !status.is_success() => {
            Outcome::Error(format!("HTTP {status}: {text}"))
        }
        Ok((_, text)) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(answer) if answer["decision"] == "APPROVE" => Outcome::Approved(
                authorization_id,
                card_id,
                answer["approved_amount"].as_i64().unwrap_or(0),
            ),
            Ok(answer) => Outcome::Declined(answer["decline_reason"].to_string()),
            Err(_) => Outcome::Error(format!("not JSON: {text}")),
        },
    }
}
