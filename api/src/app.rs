//! The HTTP application: the router over every route, and the server loop with graceful
//! shutdown. The state it serves is `crate::state`.
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::http::{MAX_BODY_BYTES, REQUEST_TIMEOUT_MS};
use crate::problem::Problem;
use crate::schema::Status;
use crate::state::AppState;

/// How often held amounts past their expiry are released.
const HOLD_EXPIRY_INTERVAL_MS: u64 = 60_000;
const HOLD_EXPIRY_BATCH: i64 = 500;

/// The processor's signed webhooks: their own state (the decision seam), merged into the app.
fn webhook_router(state: &AppState) -> Router {
    card_adapter::webhook::router(card_adapter::webhook::WebhookState {
        pool: state.pool.clone(),
        secrets: state.webhook_secrets.as_ref().clone(),
        processors: state.processor_webhook_secrets.as_ref().clone(),
        decide: card_adapter::controls::SpendingControls,
    })
}

pub fn router(state: AppState) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    let webhooks = webhook_router(&state);
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(crate::metrics::render))
        .route("/openapi.json", get(crate::openapi::serve))
        .merge(crate::routes::staff::router())
        .merge(crate::routes::pages::router())
        .merge(crate::routes::kiosk::router())
        .merge(crate::routes::recon::router())
        .merge(crate::routes::privacy::router())
        .merge(crate::routes::pms::router())
        .merge(crate::routes::services::router())
        .fallback(not_found)
        .with_state(state)
        .merge(webhooks)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(
            crate::http::oversized_as_problem,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_millis(REQUEST_TIMEOUT_MS),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", None).into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Alive: the process answers.
async fn health() -> Response {
    axum::Json(Status {
        status: "ok".to_owned(),
    })
    .into_response()
}

/// Ready: a primary answers (a session that can write) and every migration is applied. During a
/// failover this is 503 until the pool reaches the new primary.
async fn ready(State(state): State<AppState>) -> Response {
    let check = async {
        let client = state.pool.get().await.ok()?;
        if !ledger::db::accepts_writes(&client).await.ok()? {
            return Some(Readiness::ReadOnly);
        }
        match ledger::db::migrations_current(&client).await.ok()? {
            true => Some(Readiness::Ready),
            false => Some(Readiness::MigrationsPending),
        }
    };
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Some(Readiness::Ready)) => axum::Json(Status {
            status: "ready".to_owned(),
        })
        .into_response(),
        Ok(Some(Readiness::MigrationsPending)) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "migrations_pending",
            Some("the database schema is not current".to_owned()),
        )
        .into_response(),
        Ok(Some(Readiness::ReadOnly)) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_read_only",
            Some("the database answers but cannot write (a standby)".to_owned()),
        )
        .into_response(),
        _ => Problem::database_unavailable().into_response(),
    }
}

enum Readiness {
    Ready,
    MigrationsPending,
    ReadOnly,
}

async fn not_found() -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not_found",
        Some("no such route".to_owned()),
    )
    .into_response()
}

/// Serves until SIGINT/SIGTERM, then lets requests in flight finish.
pub async fn serve(state: AppState, listener: TcpListener) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    crate::metrics::handle();
    tracing::info!(%address, "saldo listening");
    let expiry = tokio::spawn(expire_holds_forever(state.ledger.clone()));
    let subscriptions = tokio::spawn(charge_subscriptions_forever(state.pool.clone()));
    let result = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    expiry.abort();
    subscriptions.abort();
    tracing::info!("saldo stopped");
    Ok(result?)
}

async fn expire_holds_forever(ledger: ledger::Ledger) {
    let mut interval = tokio::time::interval(Duration::from_millis(HOLD_EXPIRY_INTERVAL_MS));
    loop {
        interval.tick().await;
        match ledger
            .expire_due_holds(time::OffsetDateTime::now_utc(), HOLD_EXPIRY_BATCH)
            .await
        {
            Ok(0) => {}
            Ok(count) => tracing::info!(holds.expired = count, "expired holds released"),
            Err(error) => tracing::warn!(error.code = error.code(), "hold expiry run failed"),
        }
    }
}

/// The prison services' recurring charges (docs/services.md), every minute.
async fn charge_subscriptions_forever(pool: deadpool_postgres::Pool) {
    let mut interval = tokio::time::interval(Duration::from_millis(SUBSCRIPTION_INTERVAL_MS));
    loop {
        interval.tick().await;
        match crate::services::prison_services::charge_due(&pool, time::OffsetDateTime::now_utc())
            .await
        {
            Ok(run) if run == Default::default() => {}
            Ok(run) => tracing::info!(
                charged = run.charged,
                declined = run.declined,
                stopped = run.stopped,
                "subscription charges"
            ),
            Err(error) => tracing::warn!(error = %error, "subscription charge run failed"),
        }
    }
}

const SUBSCRIPTION_INTERVAL_MS: u64 = 60_000;

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
