//! The prison's own services' signed API (docs/services.md): `/service-api/{service_id}/…`, each
//! message signed with one of that service's own keys, Standard Webhooks style, verified by the
//! same code as the processor's webhooks and the PMS feed
//! (`processor_protocol::signature::verify`). The use cases are
//! `crate::services::prison_services`.
mod authorize;
mod step;
mod subscribe;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use processor_protocol::signature::{self, SignatureError, WebhookHeaders};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::problem::Problem;
use crate::services::prison_services::{self, ServiceView};
use crate::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(authorize::authorize))
        .routes(routes!(step::step))
        .routes(routes!(subscribe::subscribe))
}

pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(axum::middleware::from_fn(crate::http::security_headers))
}

/// The service a message names, once its signature is one of that service's live keys. An
/// unknown service and a bad signature answer alike (401), and leave a security log line only.
async fn verified(
    state: &AppState,
    service_id: Uuid,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ServiceView, Problem> {
    let secrets = prison_services::live_secrets(&state.pool, service_id).await?;
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let received = WebhookHeaders {
        id: text(signature::HEADER_ID),
        timestamp: text(signature::HEADER_TIMESTAMP),
        signature: text(signature::HEADER_SIGNATURE),
    };
    let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
    signature::verify(&secrets, received, body, now_unix).map_err(|error| {
        tracing::warn!(
            security_event = "service_message_rejected",
            %service_id,
            error.code = error.code(),
            body_bytes = body.len(),
            "prison service message failed verification"
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
            Some("the message is not an authentic message of this service".into()),
        )
    })?;
    let client = state.pool.get().await?;
    Ok(prison_services::service_in(&client, None, service_id).await?)
}

/// A JSON body that does not read: `400 malformed_json`, `422 invalid_body`.
fn read_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|error| {
        if error.is_data() {
            Problem::unprocessable("invalid_body", "the body does not have the expected fields")
        } else {
            Problem::bad_request("malformed_json", "the body is not JSON")
        }
    })
}
