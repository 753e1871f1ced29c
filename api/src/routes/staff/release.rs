//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/release`: an officer releases a
//! prisoner. The release savings move to spendable (or are paid out to the payout account on
//! record), the card works as a normal card within its balance until the end of the grace period
//! (the end of the month after the release month, the prison's local time), and the identity
//! record notes the release (its retention counts from it).
use axum::Json;
use axum::extract::State;
use ledger::Money;
use ledger::idempotency::Begun;
use ledger::lifecycle::{Release, SavingsOnRelease};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::PrisonerPath;
use super::lifecycle::{self, PlacementView};
use crate::app::AppState;
use crate::auth::{Officers, RequireRole, Staff};
use crate::http::{ApiJson, ApiPath};
use crate::identity::access_log::Purpose;
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::routes::ledger_views::balances_of;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// 1 to 100 bytes. The same key and body again returns the first answer and changes nothing.
    #[schema(example = "release-2026-05-01")]
    pub idempotency_key: String,
    /// `to_spendable`: usable on the card during the grace period; `pay_out`: to the payout
    /// account on record (`422 payout_account_missing` without one).
    #[schema(value_type = String, example = "to_spendable")]
    pub savings: SavingsOnRelease,
}

/// A sub-account's balance after the release.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BalanceAfter {
    #[schema(example = "spendable")]
    pub purpose: String,
    #[schema(value_type = crate::openapi::MoneyDoc)]
    pub posted: Money,
    #[schema(value_type = crate::openapi::MoneyDoc)]
    pub available: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Released {
    /// The card's placement: mode `released` until the grace period ends.
    pub placement: PlacementView,
    /// `to_spendable` or `pay_out`.
    #[schema(example = "to_spendable")]
    pub savings: String,
    /// What the release savings held and was moved or paid out (zero: nothing was).
    #[schema(value_type = crate::openapi::MoneyDoc)]
    pub savings_moved: Money,
    /// The entry that moved or paid them; absent when they were empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub savings_entry_id: Option<Uuid>,
    /// The card is declined from then on (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub grace_until: OffsetDateTime,
    /// The business date of the entries (the prison's local date).
    #[schema(format = Date, example = "2026-05-01")]
    pub effective_date: String,
    pub balances: Vec<BalanceAfter>,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/release",
    tag = "lifecycle",
    description = "Role: officer in the path's prison. Releases the prisoner: release savings to \
        spendable or paid out, card in released mode until the end of the month after this one \
        (the prison's local time), the release noted on the identity record. Idempotent on the \
        key; another release of a released prisoner is 409 mode_conflict.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = ReleaseRequest,
    responses(
        (status = 200, description = "Released", body = Released),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "mode_conflict (already released), idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "payout_account_missing, idempotency_key_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn release(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<ReleaseRequest>,
) -> Result<Json<Released>, Problem> {
    let prison_id = access.prison()?;
    release_checked(&state, &access.staff, prison_id, path.person_id, &request)
        .await
        .map(Json)
}

fn savings_str(savings: SavingsOnRelease) -> &'static str {
    match savings {
        SavingsOnRelease::ToSpendable => "to_spendable",
        SavingsOnRelease::PayOut => "pay_out",
    }
}

/// Checks the request, then (logged, in one transaction) releases a prisoner whose card is
/// placed in the prison. Shared with the staff pages.
pub async fn release_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
    request: &ReleaseRequest,
) -> Result<Released, Problem> {
    let key = lifecycle::command_key(
        "release",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match lifecycle::begin(&tx, &key, "api.release", request).await? {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or_else(|| Problem::not_found("prison"))?;
    // Paying out needs the account to pay to; only then is it consulted (and logged).
    let extra: &[PrisonerField] = match request.savings {
        SavingsOnRelease::PayOut => &[PrisonerField::PayoutIban],
        SavingsOnRelease::ToSpendable => &[],
    };
    let Some((record, _)) = lifecycle::gate(&tx, staff, prison_id, person_id, extra).await? else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    };
    if request.savings == SavingsOnRelease::PayOut && record.payout_iban.is_none() {
        return Err(Problem::unprocessable(
            "payout_account_missing",
            "the record has no payout account to pay the savings to",
        ));
    }
    let now = OffsetDateTime::now_utc();
    let grace_until = ledger::lifecycle::release_grace_until(now, &prison.time_zone)
        .map_err(lifecycle::refused)?;
    let effective_date = crate::services::prison_today(&prison.time_zone);
    let released = ledger::lifecycle::release(
        &tx,
        &Release {
            idempotency_key: key,
            person_id,
            savings: request.savings,
            grace_until,
            effective_date,
            released_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(lifecycle::refused)?;
    let who = staff.accessor(Purpose::ReleasePreparation, None);
    identity::store::record_release(&tx, &who, person_id, now).await?;
    lifecycle::sync_fence(&tx, person_id).await?;
    let balances = balances_of(&tx, person_id)
        .await?
        .into_iter()
        .map(|balance| BalanceAfter {
            purpose: balance.purpose,
            posted: balance.posted,
            available: balance.available,
        })
        .collect();
    let done = Released {
        placement: PlacementView::of(&released.placement, now),
        savings: savings_str(request.savings).to_owned(),
        savings_moved: released.savings,
        savings_entry_id: released.savings_entry_id,
        grace_until,
        effective_date: effective_date.to_string(),
        balances,
    };
    ledger::idempotency::finish(&tx, claim, &done)
        .await
        .map_err(lifecycle::refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "prisoner released");
    Ok(done)
}
