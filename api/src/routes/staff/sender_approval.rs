//! `POST /api/staff/prisons/{prison_id}/depositors/{depositor_id}/approval`: approves (or
//! withdraws the approval of) a registered depositor as a sender of money to one prisoner. A
//! family deposit from a sender not approved for the prisoner is refused. The latest decision
//! counts; each is kept.
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{FinanceStaff, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct DepositorPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    depositor_id: Uuid,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// The prisoner (of this prison) the depositor may send money to.
    person_id: Uuid,
    /// `false` withdraws an approval.
    approved: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SenderApproval {
    pub person_id: Uuid,
    pub depositor_id: Uuid,
    pub approved: bool,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/depositors/{depositor_id}/approval",
    tag = "money",
    description = "Roles: finance, finance_approver in the path's prison. The depositor and the \
        prisoner must both belong to this prison (404 otherwise).",
    params(("prison_id" = uuid::Uuid, Path), ("depositor_id" = uuid::Uuid, Path)),
    request_body = ApprovalRequest,
    responses((status = 200, description = "Recorded", body = SenderApproval)),
)]
pub async fn set(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
    ApiPath(path): ApiPath<DepositorPath>,
    ApiJson(request): ApiJson<ApprovalRequest>,
) -> Result<Json<SenderApproval>, Problem> {
    let prison_id = access.prison()?;
    let who = access.staff.accessor(Purpose::Deposit, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::access_prisoner(
        &tx,
        &who,
        Some(prison_id),
        request.person_id,
        Action::Change,
        &[PrisonerField::Deposit],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    if !identity::store::depositor_exists(&tx, &who, prison_id, path.depositor_id).await? {
        tx.commit().await?;
        return Err(Problem::not_found("depositor"));
    }
    ledger::deposits::set_sender_approval(
        &tx,
        request.person_id,
        path.depositor_id,
        request.approved,
        &access.staff.id.to_string(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(staff.id = %access.staff.id, approved = request.approved, "sender approval recorded");
    Ok(Json(SenderApproval {
        person_id: request.person_id,
        depositor_id: path.depositor_id,
        approved: request.approved,
    }))
}
