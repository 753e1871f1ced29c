//! `GET` and `POST /api/staff/prisons/{prison_id}/services`: the prison's own services
//! (canteen, telephony, TV rental, any other) as merchants inside Saldo (docs/services.md).
//! Institutional data, no personal data.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::auth::{PolicyMakers, PolicyReaders, RequireRole};
use crate::http::ApiJson;
use crate::problem::Problem;
use crate::services::prison_services::{self, NewService, ServiceView};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceRequest {
    /// The prison's short name for it: 1 to 32 of a-z, 0-9 and _, starting with a letter.
    #[schema(example = "canteen", pattern = "^[a-z][a-z0-9_]{0,31}$")]
    pub code: String,
    /// `canteen`, `telephony`, `tv_rental` or `other`.
    #[schema(example = "canteen")]
    pub kind: String,
    /// The merchant category the spending controls check (blocked categories apply).
    #[schema(example = "5411", pattern = "^[0-9]{4}$")]
    pub mcc: String,
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/services",
    tag = "prison services",
    description = "Roles: finance, finance_approver, admin in the path's prison. The prison's \
        own services, merchants inside Saldo (docs/services.md).",
    params(("prison_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The prison's services", body = Vec<ServiceView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    access: RequireRole<PolicyReaders>,
) -> Result<Json<Vec<ServiceView>>, Problem> {
    Ok(Json(
        prison_services::services_of(&state.pool, access.prison()?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/services",
    tag = "prison services",
    description = "Roles: finance_approver, admin in the path's prison. Adds a service to the \
        prison's catalogue. 422 service_code_invalid, service_kind_invalid, mcc_invalid, \
        currency_invalid; 409 service_code_taken.",
    params(("prison_id" = uuid::Uuid, Path)),
    request_body = NewServiceRequest,
    responses(
        (status = 201, description = "The service", body = ServiceView),
        (status = 409, description = "service_code_taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    access: RequireRole<PolicyMakers>,
    ApiJson(request): ApiJson<NewServiceRequest>,
) -> Result<(StatusCode, Json<ServiceView>), Problem> {
    let prison_id = access.prison()?;
    let service = prison_services::create_service(
        &state.pool,
        NewService {
            prison_id,
            code: &request.code,
            kind: &request.kind,
            mcc: &request.mcc,
            currency: &request.currency,
            created_by: access.staff.id.to_string(),
        },
    )
    .await?;
    tracing::info!(%prison_id, staff.id = %access.staff.id, service_id = %service.service_id, "prison service added");
    Ok((StatusCode::CREATED, Json(service)))
}
