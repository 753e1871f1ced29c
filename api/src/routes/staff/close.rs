//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/close`: after a released
//! prisoner's grace period, an officer closes their money (`ledger::lifecycle::close_after_release`):
//! what is left on spendable and release savings is paid out to the payout account on record in
//! one entry, the emptied accounts are closed and the card stays frozen (`closed`).
use axum::Json;
use axum::extract::State;
use deadpool_postgres::Transaction;
use ledger::Money;
use ledger::controls::CardMode;
use ledger::idempotency::Begun;
use ledger::lifecycle::{Closed, Closure};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::identity::{self, PrisonerField, PrisonerView};
use crate::problem::Problem;
use crate::services::balances::balances_of;
use crate::services::lifecycle::{self, PlacementView};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// 1 to 100 bytes. The same key and body again returns the first answer and changes nothing.
    #[schema(example = "close-2026-07-01", min_length = 1, max_length = 100)]
    pub idempotency_key: String,
}

/// What closing did.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClosedView {
    /// Mode `frozen`, reason `closed`.
    pub placement: PlacementView,
    /// What was paid out (zero: nothing was left).
    #[schema(value_type = crate::schema::MoneyDoc)]
    pub paid_out: Money,
    /// The payout entry (debit the sub-accounts, credit the trust bank account, reference
    /// `payout`); absent when nothing was left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_entry_id: Option<Uuid>,
    pub closed_accounts: Vec<Uuid>,
    /// Accounts that still hold money that is not the person's to take (restitution owed).
    pub left_open: Vec<Uuid>,
    /// The business date of the payout (the prison's local date).
    #[schema(format = Date, example = "2026-07-01")]
    pub effective_date: String,
}

impl ClosedView {
    pub(super) fn of(closed: &Closed, effective_date: time::Date) -> ClosedView {
        ClosedView {
            placement: PlacementView::of(&closed.placement, OffsetDateTime::now_utc()),
            paid_out: closed.paid_out,
            payout_entry_id: closed.payout_entry_id,
            closed_accounts: closed.closed_accounts.clone(),
            left_open: closed.left_open.clone(),
            effective_date: effective_date.to_string(),
        }
    }
}

/// A payout needs the account to pay to: refused before anything moves when money is left on
/// spendable or release savings and the record names no payout account.
pub(super) async fn require_payout_account(
    tx: &Transaction<'_>,
    record: &PrisonerView,
    person_id: Uuid,
) -> Result<(), Problem> {
    if record.payout_iban.is_some() {
        return Ok(());
    }
    let money_left = balances_of(tx, person_id).await?.iter().any(|balance| {
        matches!(
            balance.purpose.as_str(),
            ledger::person_purpose::SPENDABLE | ledger::person_purpose::RELEASE_SAVINGS
        ) && balance.posted.is_positive()
    });
    if money_left {
        return Err(Problem::unprocessable(
            "payout_account_missing",
            "money is left to pay out and the record has no payout account: rectify the record \
             first",
        ));
    }
    Ok(())
}

/// The ledger's refusals of a closure: states that a later request can pass are conflicts.
pub(super) fn close_refused(error: ledger::LedgerError) -> Problem {
    match error.code() {
        code @ ("grace_period_running"
        | "holds_open"
        | "deposits_pending_review"
        | "accounts_closed") => Problem::conflict(code, error.to_string()),
        _ => lifecycle::refused(error).into(),
    }
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/close",
    tag = "lifecycle",
    description = "Role: officer in the path's prison. After a release's grace period: pays what \
        is left on spendable and release savings to the payout account on record (one entry), \
        closes the emptied accounts, leaves the card frozen (closed). Idempotent on the key.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = CloseRequest,
    responses(
        (status = 200, description = "Closed", body = ClosedView),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "not_released, accounts_closed, grace_period_running, holds_open, deposits_pending_review, idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "payout_account_missing, idempotency_key_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn close(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<CloseRequest>,
) -> Result<Json<ClosedView>, Problem> {
    let prison_id = access.prison()?;
    let staff = &access.staff;
    let person_id = path.person_id;
    let key = lifecycle::command_key(
        "close",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match lifecycle::begin(&tx, &key, "api.close", &request).await? {
        Begun::Replayed(done) => return Ok(Json(done)),
        Begun::Fresh(claim) => claim,
    };
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or_else(|| Problem::not_found("prison"))?;
    let Some((record, current)) = lifecycle::gate(
        &tx,
        staff,
        prison_id,
        person_id,
        &[PrisonerField::PayoutIban],
    )
    .await?
    else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    };
    match current.mode {
        CardMode::Released { .. } => {}
        _ if super::freeze::is_closed(&current) => {
            return Err(Problem::conflict(
                "accounts_closed",
                "the prisoner's accounts are already closed",
            ));
        }
        _ => {
            return Err(Problem::conflict(
                "not_released",
                "only a released prisoner's accounts are closed this way (a death or escape: \
                 freeze, then resolve the freeze)",
            ));
        }
    }
    require_payout_account(&tx, &record, person_id).await?;
    let effective_date = crate::services::prison_today(&prison.time_zone);
    let closed = ledger::lifecycle::close_after_release(
        &tx,
        &Closure {
            idempotency_key: key,
            person_id,
            effective_date,
            closed_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(close_refused)?;
    lifecycle::sync_fence(&tx, person_id).await?;
    let done = ClosedView::of(&closed, effective_date);
    ledger::idempotency::finish(&tx, claim, &done)
        .await
        .map_err(lifecycle::refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "accounts closed after release");
    Ok(Json(done))
}
