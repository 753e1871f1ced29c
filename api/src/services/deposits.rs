//! Held family deposits: the review queue and the decision.
use crate::auth::Staff;
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::services::ServiceError;
use crate::state::AppState;
use ledger::deposits::{self, Deposit, DepositState, ReviewDeposit};
use serde::Serialize;
use uuid::Uuid;

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

pub fn state_str(state: DepositState) -> &'static str {
    match state {
        DepositState::PendingReview => "pending_review",
        DepositState::Accepted => "accepted",
        DepositState::Rejected => "rejected",
    }
}

pub async fn view(
    client: &impl deadpool_postgres::GenericClient,
    deposit: Deposit,
) -> Result<DepositView, ServiceError> {
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

/// The prison's deposits waiting for review, oldest first. Shared with the deposits page.
pub async fn pending(
    state: &AppState,
    prison_id: Uuid,
    limit: i64,
) -> Result<Vec<DepositView>, ServiceError> {
    let client = state.pool.get().await?;
    let mut views = Vec::new();
    for deposit_id in deposits::pending_deposits(&client, prison_id, limit).await? {
        let deposit = deposits::deposit(&client, deposit_id).await?;
        views.push(view(&client, deposit).await?);
    }
    Ok(views)
}

/// Ledger refusals of a review, of the kinds the adjustments use.
pub fn review_refused(error: ledger::LedgerError) -> ServiceError {
    match error.code() {
        "deposit_already_decided" => ServiceError::conflict(
            "deposit_already_decided",
            "the deposit is not pending review",
        ),
        "four_eyes" => ServiceError::NotAllowed(
            "four_eyes",
            "whoever recorded a deposit cannot review it".to_owned(),
        ),
        "unknown_deposit" => ServiceError::NotFound("deposit"),
        _ => ServiceError::from(error),
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
) -> Result<DepositView, ServiceError> {
    if let Some(reason) = &reason
        && (reason.trim().is_empty() || reason.chars().count() > 500)
    {
        return Err(ServiceError::invalid(
            "reason_invalid",
            "a reason is 1 to 500 characters",
        ));
    }
    if !accept && reason.is_none() {
        return Err(ServiceError::invalid(
            "reason_required",
            "a rejection has a reason",
        ));
    }
    let who = staff.accessor(Purpose::Deposit, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let current = deposits::deposit(&tx, deposit_id)
        .await
        .map_err(review_refused)?;
    // Another prison's deposit is "not found", like one that does not exist.
    if current.prison_id != prison_id {
        return Err(ServiceError::NotFound("deposit"));
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
        return Err(ServiceError::NotFound("deposit"));
    }
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("prison"))?;
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
    .map_err(review_refused)?;
    let answer = view(&tx, decided).await?;
    tx.commit().await?;
    tracing::info!(deposit.id = %deposit_id, staff.id = %staff.id, accept, "deposit reviewed");
    Ok(answer)
}
