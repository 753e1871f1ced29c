//! `POST /service-api/{service_id}/subscriptions`: a recurring charge (a TV rental per week).
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use uuid::Uuid;

use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::prison_services::{self, SubscribeRequest, SubscriptionView};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/service-api/{service_id}/subscriptions",
    tag = "prison services",
    description = "Signed by the service. A charge every period_days, the first due now; each \
        charge is decided by the spending controls and captured at once; it stops at the \
        person's release or transfer. Idempotent by request_id (409 request_id_conflict with \
        another body). 404 for a person not placed in the service's prison; 422 amount_invalid, \
        currency_invalid, period_invalid.",
    params(("service_id" = Uuid, Path), ("webhook-id" = String, Header),
           ("webhook-timestamp" = String, Header), ("webhook-signature" = String, Header)),
    request_body = SubscribeRequest,
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 401, description = "Not signed by the service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown prisoner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "request_id_conflict", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn subscribe(
    State(state): State<AppState>,
    ApiPath(service_id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SubscriptionView>, Problem> {
    let service = super::verified(&state, service_id, &headers, &body).await?;
    let request: SubscribeRequest = super::read_json(&body)?;
    Ok(Json(
        prison_services::subscribe(&state.pool, &service, &request).await?,
    ))
}
