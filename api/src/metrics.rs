//! `/metrics` in Prometheus text format: request rates and latencies, card authorization
//! decisions by outcome, requests per decision batch, outbox depth and calls in flight, database
//! pool use, password hashes running (and their peak and bound) and sign-ins refused because
//! hashing was busy. Labels carry routes and codes only,
//! never ids or personal data.
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds: card decisions must stay far below the 2 s deadline.
const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0,
];

/// Requests per card decision batch: one under light load, up to the batch limit
/// (`card_adapter::decisions::MAX_BATCH_REQUESTS`, 64).
const BATCH_REQUESTS_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
// The top bucket is the batch limit: a change to the limit fails to build until the buckets
// follow it.
const _: () = assert!(card_adapter::decisions::MAX_BATCH_REQUESTS == 64);

/// Installs the process-wide recorder once; later calls reuse it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".to_owned()),
                LATENCY_BUCKETS_SECONDS,
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full("saldo_card_decision_batch_requests".to_owned()),
                    BATCH_REQUESTS_BUCKETS,
                )
            })
            .and_then(|builder| builder.install_recorder())
            .unwrap_or_else(|_| {
                // Another recorder is installed (a test harness): render an empty registry.
                PrometheusBuilder::new().build_recorder().handle()
            })
    })
}

/// Counts every request by method, matched route and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("saldo_http_requests_total", &labels).increment(1);
    metrics::histogram!("saldo_http_request_duration_seconds", &labels).record(started.elapsed());
    response
}

pub async fn render(State(state): State<AppState>) -> Response {
    let pool = state.pool.status();
    metrics::gauge!("saldo_db_pool_connections").set(u32::try_from(pool.size).unwrap_or(u32::MAX));
    metrics::gauge!("saldo_db_pool_available")
        .set(u32::try_from(pool.available).unwrap_or(u32::MAX));
    metrics::gauge!("saldo_db_pool_waiting").set(u32::try_from(pool.waiting).unwrap_or(u32::MAX));
    let hashing = &state.password_hashing;
    metrics::gauge!("saldo_password_hashes_running")
        .set(u32::try_from(hashing.running()).unwrap_or(u32::MAX));
    metrics::gauge!("saldo_password_hashes_running_peak")
        .set(u32::try_from(hashing.peak_running()).unwrap_or(u32::MAX));
    metrics::gauge!("saldo_password_hashes_max_running")
        .set(u32::try_from(hashing.limits().max_running).unwrap_or(u32::MAX));
    if let Ok(client) = state.pool.get().await {
        if let Ok(depth) = card_adapter::outbox::pending_count(&client).await {
            metrics::gauge!("saldo_outbox_pending").set(u32::try_from(depth).unwrap_or(u32::MAX));
        }
        // Calls at the processor now, across workers: a count only, no call or card.
        if let Ok(in_flight) = card_adapter::outbox::in_flight_count(&client).await {
            metrics::gauge!("saldo_outbox_in_flight")
                .set(u32::try_from(in_flight).unwrap_or(u32::MAX));
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}
