//! `POST /api/staff/prisons/{prison_id}/adjustments/{adjustment_id}/approve` and `…/reject`: a
//! finance approver other than the maker decides a proposal. Approval posts the entry in the
//! same transaction as the decision.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::adjustments::{self, Proposal};
use crate::app::AppState;
use crate::auth::{Approvers, RequireRole, Staff};
use crate::http::ApiPath;
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;

#[derive(Deserialize)]
pub struct AdjustmentPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    adjustment_id: Uuid,
}

/// Decides a proposal of `prison_id` (the caller holds finance_approver there). Shared with the
/// staff pages.
pub async fn decide(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    adjustment_id: Uuid,
    approve: bool,
) -> Result<Proposal, Problem> {
    let who = staff.accessor(Purpose::CaseManagement, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let person_id = adjustments::person_of(&tx, prison_id, adjustment_id).await?;
    let found = identity::store::access_prisoner(
        &tx,
        &who,
        Some(prison_id),
        person_id,
        Action::Change,
        &[PrisonerField::Adjustment],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    }
    // Any refusal below rolls the whole transaction back: no decision, no entry, no log row.
    let proposal = adjustments::decide(&tx, staff.id, prison_id, adjustment_id, approve).await?;
    tx.commit().await?;
    tracing::info!(adjustment.id = %adjustment_id, staff.id = %staff.id, decision = %proposal.state, "adjustment decided");
    Ok(proposal)
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
    decide(
        &state,
        &access.staff,
        access.prison()?,
        path.adjustment_id,
        true,
    )
    .await
    .map(Json)
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
    decide(
        &state,
        &access.staff,
        access.prison()?,
        path.adjustment_id,
        false,
    )
    .await
    .map(Json)
}
