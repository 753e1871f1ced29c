//! `POST /service-api/{service_id}/authorizations/{request_id}/{step}`: capture, release,
//! refund, or an offline advice against a reservation.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use uuid::Uuid;

use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::prison_services::{self, PurchaseView, Step, StepRequest};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/service-api/{service_id}/authorizations/{request_id}/{step}",
    tag = "prison services",
    description = "Signed by the service. step: capture (amount_minor; final_capture, default \
        true, releases the rest), release (everything still held), refund (amount_minor, at \
        most what was captured and not refunded), advice (an offline purchase within a \
        reservation: amount_minor at most what remains reserved; 409 beyond_reservation \
        otherwise, nothing booked). Idempotent by event_id (409 request_id_conflict with \
        another body). 409 nothing_held, beyond_hold, beyond_captured, not_a_reservation; \
        404 unknown purchase or step.",
    params(("service_id" = Uuid, Path), ("request_id" = String, Path), ("step" = String, Path),
           ("webhook-id" = String, Header), ("webhook-timestamp" = String, Header),
           ("webhook-signature" = String, Header)),
    request_body = StepRequest,
    responses(
        (status = 200, description = "Where the purchase stands", body = PurchaseView),
        (status = 401, description = "Not signed by the service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown purchase or step", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused by the purchase's state", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn step(
    State(state): State<AppState>,
    ApiPath((service_id, request_id, step)): ApiPath<(Uuid, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PurchaseView>, Problem> {
    let service = super::verified(&state, service_id, &headers, &body).await?;
    let step = match step.as_str() {
        "capture" => Step::Capture,
        "release" => Step::Release,
        "refund" => Step::Refund,
        "advice" => Step::Advice,
        _ => return Err(Problem::not_found("step")),
    };
    let request: StepRequest = super::read_json(&body)?;
    let view = prison_services::step(&state.pool, &service, &request_id, step, &request).await?;
    tracing::info!(%service_id, purchase_id = %view.purchase_id, "service step");
    Ok(Json(view))
}
