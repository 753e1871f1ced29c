//! The prison-management system's (PMS) feed (docs/pms-feed.md): its signed inbound routes
//! (events, population snapshots) and the staff routes over them (review queue, replay,
//! dismiss, population differences). The use cases are `crate::services::pms_feed`.
mod events_in;
mod link;
mod population;
mod population_in;
mod review_action;
mod review_list;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use processor_protocol::signature::{self, SignatureError, WebhookHeaders};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::problem::Problem;
use crate::services::pms_feed::FeedConfig;
use crate::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events_in::receive))
        .routes(routes!(population_in::receive))
        .routes(routes!(review_list::list))
        .routes(routes!(review_action::replay))
        .routes(routes!(review_action::dismiss))
        .routes(routes!(population::show))
        .routes(routes!(link::link))
}

pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(axum::middleware::from_fn(crate::http::same_origin_only))
        .layer(axum::middleware::from_fn(crate::http::security_headers))
}

/// Verifies the Standard Webhooks signature over the raw body with the feed's secrets: a
/// message that fails leaves nothing behind but a security log line (never its body).
fn verify(feed: &FeedConfig, headers: &HeaderMap, body: &[u8]) -> Result<(), Problem> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let received = WebhookHeaders {
        id: text(signature::HEADER_ID),
        timestamp: text(signature::HEADER_TIMESTAMP),
        signature: text(signature::HEADER_SIGNATURE),
    };
    let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
    signature::verify(&feed.secrets, received, body, now_unix).map_err(|error| {
        tracing::warn!(
            security_event = "pms_feed_rejected",
            error.code = error.code(),
            body_bytes = body.len(),
            "pms feed message failed verification"
        );
        let status = match error {
            SignatureError::NoMatch
            | SignatureError::TimestampOutOfTolerance
            | SignatureError::NoSecrets => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        Problem::new(
            status,
            error.code(),
            Some("the message is not an authentic message of the prison-management feed".into()),
        )
    })
}

/// A JSON body that does not read: `400 malformed_json` (nothing of it is quoted back).
fn read_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|error| {
        if error.is_data() {
            Problem::unprocessable("invalid_body", "the body does not have the expected fields")
        } else {
            Problem::bad_request("malformed_json", "the body is not JSON")
        }
    })
}

/// `{prison_id}/pms/events/{event_id}`.
#[derive(serde::Deserialize)]
struct EventPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    event_id: Uuid,
}
