//! `POST /api/staff/prisons/{prison_id}/adjustments/{adjustment_id}/approve` and `…/reject`: a
//! finance approver other than the maker decides a proposal. Approval posts the entry in the
//! same transaction as the decision.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Approvers, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::adjustments::{Proposal, decide_checked};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct AdjustmentPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    adjustment_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/adjustments/{adjustment_id}/approve",
    tag = "adjustments",
    description = "Role: finance_approver in the path's prison, and not the maker (403 four_eyes). \
        Posts the entry (idempotent by the proposal id); 409 already_decided the second time.",
    params(("prison_id" = uuid::Uuid, Path), ("adjustment_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Approved and posted", body = Proposal)),
)]
pub async fn approve(
    State(state): State<AppState>,
    access: RequireRole<Approvers>,
    ApiPath(path): ApiPath<AdjustmentPath>,
) -> Result<Json<Proposal>, Problem> {
    decide_checked(
        &state,
        &access.staff,
        access.prison()?,
        path.adjustment_id,
        true,
    )
    .await
    .map(Json)
    .map_err(Problem::from)
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/adjustments/{adjustment_id}/reject",
    tag = "adjustments",
    description = "Role: finance_approver in the path's prison, and not the maker. Nothing is posted.",
    params(("prison_id" = uuid::Uuid, Path), ("adjustment_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Rejected", body = Proposal)),
)]
pub async fn reject(
    State(state): State<AppState>,
    access: RequireRole<Approvers>,
    ApiPath(path): ApiPath<AdjustmentPath>,
) -> Result<Json<Proposal>, Problem> {
    decide_checked(
        &state,
        &access.staff,
        access.prison()?,
        path.adjustment_id,
        false,
    )
    .await
    .map(Json)
    .map_err(Problem::from)
}
