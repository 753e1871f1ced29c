//! `POST /api/staff/prisons/{prison_id}/services/{service_id}/keys`: a fresh signing secret for a
//! service's signed API (Standard Webhooks, `whsec_…`), shown once. Earlier keys stay live, so a
//! service rotates without a gap (docs/services.md). `DELETE …/keys/{key_id}` revokes one.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{PolicyMakers, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::prison_services;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ServicePath {
    #[allow(dead_code)]
    prison_id: Uuid,
    service_id: Uuid,
}

#[derive(Deserialize)]
pub struct KeyPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    service_id: Uuid,
    key_id: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    pub service_id: Uuid,
    /// The key's id, to revoke it later.
    pub key_id: i64,
    /// `whsec_<base64>`: give it to the service; Saldo never shows it again.
    pub secret: String,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/services/{service_id}/keys",
    tag = "prison services",
    description = "Roles: finance_approver, admin in the path's prison. Issues a signing secret \
        for the service's signed API; 404 for a service of another prison.",
    params(("prison_id" = Uuid, Path), ("service_id" = Uuid, Path)),
    responses(
        (status = 201, description = "The secret, once", body = IssuedKey),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn issue(
    State(state): State<AppState>,
    access: RequireRole<PolicyMakers>,
    ApiPath(path): ApiPath<ServicePath>,
) -> Result<(StatusCode, Json<IssuedKey>), Problem> {
    let prison_id = access.prison()?;
    let (key_id, secret) = prison_services::issue_key(
        &state.pool,
        prison_id,
        path.service_id,
        access.staff.id.to_string(),
    )
    .await?;
    // The secret itself is never logged.
    tracing::info!(%prison_id, staff.id = %access.staff.id, service_id = %path.service_id, "service key issued");
    Ok((
        StatusCode::CREATED,
        Json(IssuedKey {
            service_id: path.service_id,
            key_id,
            secret,
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/staff/prisons/{prison_id}/services/{service_id}/keys/{key_id}",
    tag = "prison services",
    description = "Roles: finance_approver, admin in the path's prison. Revokes a key of the \
        service: messages signed with it are refused from now on (401). The key stays on \
        record; revoking it again changes nothing. 404 for a key or service not of the prison.",
    params(("prison_id" = Uuid, Path), ("service_id" = Uuid, Path), ("key_id" = i64, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn revoke(
    State(state): State<AppState>,
    access: RequireRole<PolicyMakers>,
    ApiPath(path): ApiPath<KeyPath>,
) -> Result<StatusCode, Problem> {
    let prison_id = access.prison()?;
    prison_services::revoke_key(&state.pool, prison_id, path.service_id, path.key_id).await?;
    tracing::info!(%prison_id, staff.id = %access.staff.id, service_id = %path.service_id, key_id = path.key_id, "service key revoked");
    Ok(StatusCode::NO_CONTENT)
}
