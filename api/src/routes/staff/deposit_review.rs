//! Family deposits held for review (`ledger::deposits`): `GET
//! /api/staff/prisons/{prison_id}/deposits/pending` lists them; `POST …/deposits/{deposit_id}/approve`
//! allocates one like any income, `…/reject` refunds it to the trust bank account (finance then
//! returns the money to the sender). Four eyes: whoever recorded a deposit cannot review it.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ledger::deposits::{self, Deposit, DepositState, ReviewDeposit};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Approvers, FinanceStaff, RequireRole, Staff};
use crate::http::{ApiJson, ApiPath, ApiQuery};
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;

/// A deposit as staff see it: pseudonymous ids and the amount, no names.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DepositView {
    pub deposit_id: Uuid,
    pub person_id: Uuid,
    /// The depositor's pseudonymous id.
    pub sender_id: Uuid,
    pub amount_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    /// `pending_review`, `accepted` or `rejected`.
    #[schema(example = "pending_review")]
    pub state: String,
    /// The staff id of whoever recorded it (they cannot review it).
    pub received_by: Option<String>,
    pub received_entry_id: Uuid,
    pub decision_entry_id: Option<Uuid>,
}

fn state_str(state: DepositState) -> &'static str {
    match state {
        DepositState::PendingReview => "pending_review",
        DepositState::Accepted => "accepted",
        DepositState::Rejected => "rejected",
    }
}

async fn view(
    client: &impl deadpool_postgres::GenericClient,
    deposit: Deposit,
) -> Result<DepositView, Problem> {
    let received_by = deposits::received_by(client, deposit.received_entry_id).await?;
    Ok(DepositView {
        deposit_id: deposit.deposit_id,
        person_id: deposit.person_id,
        sender_id: deposit.sender_id,
        amount_minor: deposit.amount.amount_minor,
        currency: deposit.amount.currency.code().to_owned(),
        state: state_str(deposit.state).to_owned(),
        received_by,
        received_entry_id: deposit.received_entry_id,
        decision_entry_id: deposit.decision_entry_id,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingDeposits {
    /// Oldest first.
    pub deposits: Vec<DepositView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PendingQuery {
    /// 1 to 500 (default 100).
    #[serde(default)]
    limit: Option<i64>,
}

/// The prison's deposits waiting for review, oldest first. Shared with the deposits page.
pub async fn pending(
    state: &AppState,
    prison_id: Uuid,
    limit: i64,
) -> Result<Vec<DepositView>, Problem> {
    let client = state.pool.get().await?;
    let mut views = Vec::new();
    for deposit_id in deposits::pending_deposits(&client, prison_id, limit).await? {
        let deposit = deposits::deposit(&client, deposit_id).await?;
        views.push(view(&client, deposit).await?);
    }
    Ok(views)
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

/// Ledger refusals of a review, with the statuses the adjustments use.
fn review_problem(error: ledger::LedgerError) -> Problem {
    match error.code() {
        "deposit_already_decided" => Problem::conflict(
            "deposit_already_decided",
            "the deposit is not pending review",
        ),
        "four_eyes" => Problem::new(
            StatusCode::FORBIDDEN,
            "four_eyes",
            Some("whoever recorded a deposit cannot review it".to_owned()),
        ),
        "unknown_deposit" => Problem::not_found("deposit"),
        _ => Problem::from(error),
    }
}

/// Decides a held deposit of `prison_id` (the caller holds finance_approver there), in one
/// transaction with the access log row for the prisoner. Shared with the deposits page.
pub async fn decide(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    deposit_id: Uuid,
    accept: bool,
    reason: Option<String>,
) -> Result<DepositView, Problem> {
    if let Some(reason) = &reason
        && (reason.trim().is_empty() || reason.chars().count() > 500)
    {
        return Err(Problem::unprocessable(
            "reason_invalid",
            "a reason is 1 to 500 characters",
        ));
    }
    if !accept && reason.is_none() {
        return Err(Problem::unprocessable(
            "reason_required",
            "a rejection has a reason",
        ));
    }
    let who = staff.accessor(Purpose::Deposit, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let current = deposits::deposit(&tx, deposit_id)
        .await
        .map_err(review_problem)?;
    // Another prison's deposit is "not found", like one that does not exist.
    if current.prison_id != prison_id {
        return Err(Problem::not_found("deposit"));
    }
    let found = identity::store::access_prisoner(
        &tx,
        &who,
        Some(prison_id),
        current.person_id,
        Action::Change,
        &[PrisonerField::Deposit],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(Problem::not_found("deposit"));
    }
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or_else(|| Problem::not_found("prison"))?;
    // Any refusal rolls back the whole transaction: no decision, no entry, no log row.
    let decided = deposits::review_deposit(
        &tx,
        &ReviewDeposit {
            deposit_id,
            accept,
            reason,
            effective_date: crate::services::prison_today(&prison.time_zone),
            decided_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(review_problem)?;
    let answer = view(&tx, decided).await?;
    tx.commit().await?;
    tracing::info!(deposit.id = %deposit_id, staff.id = %staff.id, accept, "deposit reviewed");
    Ok(answer)
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
    #[schema(example = "sender could not be verified")]
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
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/deposits/{deposit_id}/reject",
    tag = "money",
    description = "Role: finance_approver in the path's prison, and not whoever recorded the \
        deposit. Refunds it from held_deposits to the trust bank account; the reason is kept \
        with the decision.",
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
}
