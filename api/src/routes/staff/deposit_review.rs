//! Family deposits held for review (`ledger::deposits`): `GET
//! /api/staff/prisons/{prison_id}/deposits/pending` lists them; `POST …/deposits/{deposit_id}/approve`
//! allocates one like any income, `…/reject` refunds it to the trust bank account (finance then
//! returns the money to the sender). Four eyes: whoever recorded a deposit cannot review it.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Approvers, FinanceStaff, RequireRole};
use crate::http::{ApiJson, ApiPath, ApiQuery};
use crate::problem::Problem;
use crate::services::deposits::{DepositView, PendingDeposits, decide, pending};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PendingQuery {
    /// 1 to 500 (default 100).
    #[serde(default)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/deposits/pending",
    tag = "money",
    description = "Roles: finance, finance_approver in the path's prison. Family deposits held for \
        review (above the prison's review threshold or the policy's maximum balance), oldest first.",
    params(("prison_id" = uuid::Uuid, Path), PendingQuery),
    responses((status = 200, description = "Held deposits", body = PendingDeposits)),
)]
pub async fn list(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
    ApiQuery(query): ApiQuery<PendingQuery>,
) -> Result<Json<PendingDeposits>, Problem> {
    let prison_id = access.prison()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::bad_request("invalid_query", "limit is 1 to 500"));
    }
    Ok(Json(PendingDeposits {
        deposits: pending(&state, prison_id, limit).await?,
    }))
}

#[derive(Deserialize)]
pub struct DepositPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    deposit_id: Uuid,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// 1 to 500 characters: why the money goes back to the sender.
    #[schema(
        example = "sender could not be verified",
        min_length = 1,
        max_length = 500,
        pattern = r"\S"
    )]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/deposits/{deposit_id}/approve",
    tag = "money",
    description = "Role: finance_approver in the path's prison, and not whoever recorded the \
        deposit (403 four_eyes). Allocates the held deposit like any income; 409 \
        deposit_already_decided the second time.",
    params(("prison_id" = uuid::Uuid, Path), ("deposit_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Accepted and allocated", body = DepositView)),
)]
pub async fn approve(
    State(state): State<AppState>,
    access: RequireRole<Approvers>,
    ApiPath(path): ApiPath<DepositPath>,
) -> Result<Json<DepositView>, Problem> {
    decide(
        &state,
        &access.staff,
        access.prison()?,
        path.deposit_id,
        true,
        None,
    )
    .await
    .map(Json)
    .map_err(Problem::from)
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/deposits/{deposit_id}/reject",
    tag = "money",
    description = "Role: finance_approver in the path's prison, and not whoever recorded the \
        deposit. Refunds it from held_deposits to the trust bank account (one that came by \
        bank transfer goes back to its sender in the next pain.001 file, reason MS02); the \
        reason is kept with the decision.",
    params(("prison_id" = uuid::Uuid, Path), ("deposit_id" = uuid::Uuid, Path)),
    request_body = RejectRequest,
    responses((status = 200, description = "Rejected and refunded", body = DepositView)),
)]
pub async fn reject(
    State(state): State<AppState>,
    access: RequireRole<Approvers>,
    ApiPath(path): ApiPath<DepositPath>,
    ApiJson(request): ApiJson<RejectRequest>,
) -> Result<Json<DepositView>, Problem> {
    decide(
        &state,
        &access.staff,
        access.prison()?,
        path.deposit_id,
        false,
        Some(request.reason),
    )
    .await
    .map(Json)
    .map_err(Problem::from)
}
