//! `POST /service-api/{service_id}/authorizations`: a service asks to hold money for a purchase,
//! a call-credit top-up, a call or an offline stand-in reservation.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use uuid::Uuid;

use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::prison_services::{self, AuthorizeRequest, PurchaseView};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/service-api/{service_id}/authorizations",
    tag = "prison services",
    description = "Signed by the service (Standard Webhooks headers, one of its own keys; 401 \
        signature_mismatch, no_secrets, webhook_timestamp_out_of_tolerance). Decided by the \
        card path's spending controls (mode, policy, the same day/week/month windows as card \
        spend, balance) and held. 200 with approved false and decline_reason (the kiosk's \
        reason key) when declined. Idempotent by request_id: the same again answers the same; \
        409 request_id_conflict with another body. 404 for a person not placed in the \
        service's prison. 422 amount_invalid, currency_invalid, purpose_invalid, \
        purpose_not_for_service, request_id_invalid.",
    params(("service_id" = Uuid, Path), ("webhook-id" = String, Header),
           ("webhook-timestamp" = String, Header), ("webhook-signature" = String, Header)),
    request_body = AuthorizeRequest,
    responses(
        (status = 200, description = "Decided", body = PurchaseView),
        (status = 401, description = "Not signed by the service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown prisoner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "request_id_conflict", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn authorize(
    State(state): State<AppState>,
    ApiPath(service_id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PurchaseView>, Problem> {
    let service = super::verified(&state, service_id, &headers, &body).await?;
    let request: AuthorizeRequest = super::read_json(&body)?;
    let view = prison_services::authorize(&state.pool, &service, &request).await?;
    tracing::info!(%service_id, purchase_id = %view.purchase_id, approved = view.approved, "service authorization");
    Ok(Json(view))
}
