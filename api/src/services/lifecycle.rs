//! The officers' lifecycle use cases (grant leave, end leave, transfer, release) and what they
//! share: the gate every one of them passes, the placement as the API shows it, command keys and
//! the mapping of the ledger's refusals. The staff routes (`routes/staff/leave_grant.rs`,
//! `leave_end.rs`, `transfer.rs`, `release.rs`) and the staff pages call the `…_checked`
//! functions here.
use deadpool_postgres::Transaction;
use ledger::controls::{CardMode, EffectiveMode, Limits};
use ledger::idempotency::Begun;
use ledger::policy_store::{self, Placement};
use ledger::{Currency, LedgerError, Money};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Staff;
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField, PrisonerView};
use crate::services::ServiceError;
use crate::services::balances::balances_of;
use crate::state::AppState;
use ledger::controls::Regime;
use ledger::lifecycle::{GrantLeave, Release, SavingsOnRelease, Transfer};

/// A leave's spending limits in minor units of the prisoner's currency (EUR); an absent limit
/// means no limit of that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 5000)]
    pub per_authorization_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 10000)]
    pub daily_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_minor: Option<i64>,
}

impl LeaveLimits {
    /// The ledger's limits; a negative limit is `422 limit_invalid`.
    pub fn to_limits(self) -> Result<Limits, ServiceError> {
        let money = |minor: Option<i64>| match minor {
            Some(minor) if minor < 0 => Err(ServiceError::invalid(
                "limit_invalid",
                "a limit is zero or more minor units",
            )),
            other => Ok(other.map(|minor| Money::new(minor, Currency::EUR))),
        };
        Ok(Limits {
            per_authorization: money(self.per_authorization_minor)?,
            daily: money(self.daily_minor)?,
            weekly: money(self.weekly_minor)?,
            monthly: money(self.monthly_minor)?,
        })
    }

    fn of(limits: &Limits) -> LeaveLimits {
        let minor = |money: Option<Money>| money.map(|money| money.amount_minor);
        LeaveLimits {
            per_authorization_minor: minor(limits.per_authorization),
            daily_minor: minor(limits.daily),
            weekly_minor: minor(limits.weekly),
            monthly_minor: minor(limits.monthly),
        }
    }
}

/// Where the prisoner's card is placed and what it may do there.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlacementView {
    pub person_id: Uuid,
    pub prison_id: Uuid,
    /// `closed_prison`, `open_prison` or `remand`.
    #[schema(example = "closed_prison")]
    pub regime: String,
    /// The mode staff set: `inside`, `leave`, `released` or `frozen`.
    #[schema(example = "leave")]
    pub mode: String,
    /// What the mode means now: `inside` (also before and after a leave's dates), `leave`,
    /// `released`, `release_ended` or `frozen`.
    #[schema(example = "inside")]
    pub effective_mode: String,
    /// A leave's start.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from: Option<OffsetDateTime>,
    /// A leave's end, or the end of a release's grace period (exclusive).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    /// A leave's limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LeaveLimits>,
    /// Why the mode was last set: `admission`, `transfer`, `leave`, `leave_ended`, `release`, …
    #[schema(example = "leave")]
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
}

impl PlacementView {
    pub fn of(placement: &Placement, now: OffsetDateTime) -> PlacementView {
        let (mode, from, until, limits) = match placement.mode {
            CardMode::Inside => ("inside", None, None, None),
            CardMode::Leave {
                from,
                until,
                limits,
            } => (
                "leave",
                Some(from),
                Some(until),
                Some(LeaveLimits::of(&limits)),
            ),
            CardMode::Released { until } => ("released", None, Some(until), None),
            CardMode::Frozen => ("frozen", None, None, None),
        };
        PlacementView {
            person_id: placement.person_id,
            prison_id: placement.prison_id,
            regime: policy_store::regime_str(placement.regime).to_owned(),
            mode: mode.to_owned(),
            effective_mode: effective_mode_str(&placement.mode.effective_at(now)).to_owned(),
            from,
            until,
            limits,
            reason: placement.reason.clone(),
            since: placement.since,
        }
    }
}

pub fn effective_mode_str(mode: &EffectiveMode) -> &'static str {
    match mode {
        EffectiveMode::Inside => "inside",
        EffectiveMode::Leave { .. } => "leave",
        EffectiveMode::Released => "released",
        EffectiveMode::ReleaseEnded => "release_ended",
        EffectiveMode::Frozen => "frozen",
    }
}

/// The key a command is stored under: the client's key scoped to the command, prison, prisoner
/// and member of staff, so two officers' keys never meet (and a key used in another prison
/// reveals nothing). A client key is 1 to 100 bytes.
pub fn command_key(
    command: &str,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
    client_key: &str,
) -> Result<String, ServiceError> {
    if client_key.is_empty() || client_key.len() > 100 {
        return Err(ServiceError::invalid(
            "idempotency_key_invalid",
            "an idempotency key is 1 to 100 bytes",
        ));
    }
    let digest = Sha256::digest(format!(
        "{command}\n{prison_id}\n{person_id}\n{}\n{client_key}",
        staff.id
    ));
    Ok(format!("{command}:{}", hex::encode(digest)))
}

/// Claims the command's key for this request, or returns the first answer to it. The answer is
/// stored with the command (`finish`), so a repeat returns it even once the state has moved on
/// (a transferred prisoner is no longer in the path's prison; a release's grace period is
/// computed from the clock).
pub async fn begin<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    key: &str,
    command: &'static str,
    request: &impl Serialize,
) -> Result<Begun<T>, ServiceError> {
    ledger::idempotency::begin(tx, &format!("api:{key}"), command, request)
        .await
        .map_err(refused)
}

/// The gate of every lifecycle command: logs the change (`placement` and `extra` fields) through
/// the identity store, then checks the card is placed at the path's prison. `None` (the same 404
/// for a prisoner of another prison, none at all, or one never placed): the caller commits, so
/// the attempt stays logged.
pub async fn gate(
    tx: &Transaction<'_>,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
    extra: &[PrisonerField],
) -> Result<Option<(PrisonerView, Placement)>, ServiceError> {
    let who = staff.accessor(Purpose::CaseManagement, None);
    let mut fields = vec![PrisonerField::Placement];
    fields.extend_from_slice(extra);
    let Some(found) = identity::store::access_prisoner(
        tx,
        &who,
        Some(prison_id),
        person_id,
        Action::Change,
        &fields,
    )
    .await?
    else {
        return Ok(None);
    };
    let placement = policy_store::current_placement(tx, person_id)
        .await
        .map_err(refused)?;
    Ok(placement
        .filter(|placement| placement.prison_id == prison_id)
        .map(|placement| (found, placement)))
}

/// Queues the processor fence's sync for the person's new mode (`card_adapter::fence`), in the
/// transaction that changed it.
pub async fn sync_fence(tx: &Transaction<'_>, person_id: Uuid) -> Result<(), ServiceError> {
    card_adapter::fence::request_sync(tx, person_id)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "fence sync could not be queued");
            ServiceError::Internal
        })
}

/// The ledger's refusals: a card in the wrong mode for the command is a conflict (`409
/// mode_conflict`, `person_released`); the rest keep their usual status and stable code.
pub fn refused(error: LedgerError) -> ServiceError {
    match error.code() {
        code @ ("mode_conflict" | "person_released") => {
            ServiceError::conflict(code, error.to_string())
        }
        _ => error.into(),
    }
}

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
    /// How the person takes their money (every choice is free): absent or `card_grace`, the
    /// card works through the grace period as before; `sepa`, everything is paid by SEPA credit
    /// transfer to the account named (IBAN checked; the name and IBAN go to the identity store
    /// only); `cash`, everything is paid in cash at the gate against a receipt. With `sepa` or
    /// `cash` the release savings move to spendable first and `savings` must be `to_spendable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<PayoutChoice>,
}

/// The release payout choice (docs/payouts.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PayoutChoice {
    CardGrace,
    Sepa {
        /// Spaces and lower case accepted; the ISO 13616 check must hold (`422 iban_invalid`).
        #[schema(example = "DE89 3704 0044 0532 0130 00")]
        iban: String,
        /// The account holder's name (1 to 200 characters, `422 name_invalid`).
        holder_name: String,
    },
    Cash,
}

/// What the release paid out, when it paid anything.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PayoutDone {
    /// `sepa` or `cash`.
    #[schema(example = "sepa")]
    pub kind: String,
    #[schema(value_type = crate::schema::MoneyDoc)]
    pub amount: Money,
    /// A SEPA payout's id and the end-to-end reference the bank echoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_id: Option<String>,
    /// A cash payout's receipt number (the staff page prints the receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<String>,
}

/// A sub-account's balance after the release.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BalanceAfter {
    #[schema(example = "spendable")]
    pub purpose: String,
    #[schema(value_type = crate::schema::MoneyDoc)]
    pub posted: Money,
    #[schema(value_type = crate::schema::MoneyDoc)]
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
    #[schema(value_type = crate::schema::MoneyDoc)]
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
    /// The payout the release made (`sepa` or `cash`); absent for `card_grace` or when
    /// nothing was left to pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<PayoutDone>,
}

/// A SEPA payee's account, checked: the IBAN in normal form and the holder's name.
fn sepa_payee(choice: Option<&PayoutChoice>) -> Result<Option<(String, String)>, ServiceError> {
    let Some(PayoutChoice::Sepa { iban, holder_name }) = choice else {
        return Ok(None);
    };
    let iban = recon::trust_account::normalize_iban(iban);
    if !ledger::iban::is_valid(&iban) {
        return Err(ServiceError::invalid(
            "iban_invalid",
            "not a valid IBAN (ISO 13616 check)",
        ));
    }
    let holder_name = holder_name.trim().to_owned();
    crate::identity::validate::name(&holder_name)?;
    Ok(Some((iban, holder_name)))
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
) -> Result<Released, ServiceError> {
    let key = command_key(
        "release",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match begin(&tx, &key, "api.release", request).await? {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("prison"))?;
    // Paying out needs the account to pay to; only then is it consulted (and logged).
    let extra: &[PrisonerField] = match request.savings {
        SavingsOnRelease::PayOut => &[PrisonerField::PayoutIban],
        SavingsOnRelease::ToSpendable => &[],
    };
    let Some((record, _)) = gate(&tx, staff, prison_id, person_id, extra).await? else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    };
    let pays_out_now = matches!(
        request.payout,
        Some(PayoutChoice::Sepa { .. } | PayoutChoice::Cash)
    );
    if pays_out_now && request.savings != SavingsOnRelease::ToSpendable {
        return Err(ServiceError::invalid(
            "payout_choice_conflict",
            "a sepa or cash payout pays everything: savings must be to_spendable",
        ));
    }
    let sepa = sepa_payee(request.payout.as_ref())?;
    if request.savings == SavingsOnRelease::PayOut && record.payout_iban.is_none() {
        return Err(ServiceError::invalid(
            "payout_account_missing",
            "the record has no payout account to pay the savings to",
        ));
    }
    let now = OffsetDateTime::now_utc();
    let grace_until =
        ledger::lifecycle::release_grace_until(now, &prison.time_zone).map_err(refused)?;
    let effective_date = crate::services::prison_today(&prison.time_zone);
    let released = ledger::lifecycle::release(
        &tx,
        &Release {
            idempotency_key: key.clone(),
            person_id,
            savings: request.savings,
            grace_until,
            effective_date,
            released_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(refused)?;
    let who = staff.accessor(Purpose::ReleasePreparation, None);
    identity::store::record_release(&tx, &who, person_id, now).await?;
    let payout = release_payout(
        &tx,
        staff,
        &who,
        ReleasePayout {
            prison_id,
            person_id,
            key: &key,
            sepa,
            cash: request.payout == Some(PayoutChoice::Cash),
            effective_date,
        },
    )
    .await?;
    sync_fence(&tx, person_id).await?;
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
        payout,
    };
    ledger::idempotency::finish(&tx, claim, &done)
        .await
        .map_err(refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "prisoner released");
    Ok(done)
}

struct ReleasePayout<'a> {
    prison_id: Uuid,
    person_id: Uuid,
    key: &'a str,
    sepa: Option<(String, String)>,
    cash: bool,
    effective_date: time::Date,
}

/// The release's payout: by SEPA (the payee recorded in the identity store, the money to
/// `payouts_in_transit` until the bank debits it) or in cash at the gate. Free: no fee.
async fn release_payout(
    tx: &Transaction<'_>,
    staff: &Staff,
    who: &identity::access_log::Accessor,
    payout: ReleasePayout<'_>,
) -> Result<Option<PayoutDone>, ServiceError> {
    if let Some((iban, holder_name)) = payout.sepa {
        let payee_id = identity::store::find_or_create_counterparty(
            tx,
            who,
            payout.prison_id,
            Some(&holder_name),
            &iban,
        )
        .await?;
        let instructed = ledger::bank_rail::instruct_release_payout(
            tx,
            &ledger::bank_rail::InstructReleasePayout {
                idempotency_key: payout.key.to_owned(),
                person_id: payout.person_id,
                payee_id,
                effective_date: payout.effective_date,
                instructed_by: staff.id.to_string(),
            },
        )
        .await
        .map_err(refused)?;
        return Ok(instructed.map(|done| PayoutDone {
            kind: "sepa".into(),
            amount: done.amount,
            payout_id: Some(done.payout_id),
            end_to_end_id: Some(done.end_to_end_id),
            receipt_no: None,
        }));
    }
    if payout.cash {
        let paid = ledger::bank_rail::pay_cash(
            tx,
            &ledger::bank_rail::PayCash {
                idempotency_key: payout.key.to_owned(),
                person_id: payout.person_id,
                effective_date: payout.effective_date,
                paid_by: staff.id.to_string(),
            },
        )
        .await
        .map_err(refused)?;
        return Ok(paid.map(|done| PayoutDone {
            kind: "cash".into(),
            amount: done.amount,
            payout_id: None,
            end_to_end_id: None,
            receipt_no: Some(done.receipt_no),
        }));
    }
    Ok(None)
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// 1 to 100 bytes. The same key and body again returns the first answer and changes nothing.
    #[schema(example = "transfer-2026-05-01")]
    pub idempotency_key: String,
    pub to_prison_id: Uuid,
    /// The regime at the destination: `closed_prison`, `open_prison` or `remand`. Absent: the
    /// current one.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "open_prison")]
    pub regime: Option<Regime>,
    /// The prisoner's unit at the destination, 1 to 64 characters. Absent: none (the origin's
    /// unit means nothing there).
    #[serde(default)]
    #[schema(example = "C1")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transferred {
    pub from_prison_id: Uuid,
    pub placement: PlacementView,
    /// False when the destination has no spending-controls policy for the regime: every card
    /// payment is then declined until it gets one.
    pub destination_has_policy: bool,
}

/// Checks the request, then (logged, in one transaction) moves the prisoner's placement and
/// identity record from `prison_id` to the destination. Shared with the staff pages.
pub async fn transfer_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
    request: &TransferRequest,
) -> Result<Transferred, ServiceError> {
    // Shape first: a malformed request changes nothing, not even the access log.
    let key = command_key(
        "transfer",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    if request.to_prison_id == prison_id {
        return Err(ServiceError::invalid(
            "transfer_same_prison",
            "the destination is the prison the prisoner is in",
        ));
    }
    if let Some(unit) = &request.unit {
        identity::validate::short_text(unit, "unit_invalid", "a unit is 1 to 64 characters", 64)?;
    }
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match begin(&tx, &key, "api.transfer", request).await? {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    if identity::store::prison(&tx, request.to_prison_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::invalid(
            "prison_unknown",
            "no prison has that id",
        ));
    }
    let Some((_, current)) = gate(&tx, staff, prison_id, person_id, &[PrisonerField::Unit]).await?
    else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    };
    let placement = ledger::lifecycle::transfer(
        &tx,
        &Transfer {
            idempotency_key: key,
            person_id,
            to_prison_id: request.to_prison_id,
            to_regime: request.regime.unwrap_or(current.regime),
            transferred_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(refused)?;
    let who = staff.accessor(Purpose::CaseManagement, None);
    let moved = identity::store::transfer_prisoner(
        &tx,
        &who,
        prison_id,
        person_id,
        request.to_prison_id,
        request.unit.clone(),
    )
    .await?;
    if !moved {
        // The gate found the record in this prison inside this transaction.
        tracing::error!(%person_id, "identity record not moved on transfer");
        return Err(ServiceError::Internal);
    }
    // The destination's policy sets the fence from now on (shut if it has none).
    sync_fence(&tx, person_id).await?;
    let now = OffsetDateTime::now_utc();
    let destination_has_policy = ledger::policy_store::effective_controls(&tx, person_id, now)
        .await
        .map_err(refused)?
        .is_some();
    let done = Transferred {
        from_prison_id: prison_id,
        placement: PlacementView::of(&placement, now),
        destination_has_policy,
    };
    ledger::idempotency::finish(&tx, claim, &done)
        .await
        .map_err(refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, from.prison_id = %prison_id, to.prison_id = %request.to_prison_id,
        staff.id = %staff.id, "prisoner transferred");
    Ok(done)
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveRequest {
    /// 1 to 100 bytes. The same key and body again returns the first answer and changes nothing.
    #[schema(example = "leave-2026-05-01")]
    pub idempotency_key: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-05-01T08:00:00+03:00")]
    pub from: OffsetDateTime,
    /// Exclusive; after `from` and in the future.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-05-03T20:00:00+03:00")]
    pub until: OffsetDateTime,
    /// Absent: the prison policy's default leave limits (`422 no_policy` without a policy).
    #[serde(default)]
    pub limits: Option<LeaveLimits>,
}

fn leave_invalid(detail: &str) -> ServiceError {
    ServiceError::invalid("leave_invalid", detail)
}

/// Checks the request, then (logged, in one transaction) that the prisoner's card is placed in
/// the prison, and grants the leave. Shared with the staff pages.
pub async fn grant_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
    request: &LeaveRequest,
) -> Result<PlacementView, ServiceError> {
    // Shape first: a malformed request changes nothing, not even the access log.
    let key = command_key(
        "leave",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    if request.until <= request.from {
        return Err(leave_invalid("a leave ends after it starts"));
    }
    let limits = request.limits.map(LeaveLimits::to_limits).transpose()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match begin(&tx, &key, "api.grant_leave", request).await? {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    let now = OffsetDateTime::now_utc();
    if request.until <= now {
        return Err(leave_invalid("the leave has already ended"));
    }
    let Some((_, current)) = gate(&tx, staff, prison_id, person_id, &[]).await? else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    };
    // A second leave would silently replace the first: staff end the first one instead.
    if let CardMode::Leave { until, .. } = current.mode
        && until > now
    {
        return Err(ServiceError::conflict(
            "leave_overlaps",
            "a leave is granted that has not ended; end it first",
        ));
    }
    let placement = ledger::lifecycle::grant_leave(
        &tx,
        &GrantLeave {
            idempotency_key: key,
            person_id,
            from: request.from,
            until: request.until,
            limits,
            granted_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(refused)?;
    sync_fence(&tx, person_id).await?;
    let view = PlacementView::of(&placement, now);
    ledger::idempotency::finish(&tx, claim, &view)
        .await
        .map_err(refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "leave granted");
    Ok(view)
}

/// Ends the leave of a prisoner whose card is placed in the prison (logged, one transaction).
/// Shared with the staff pages.
pub async fn end_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
) -> Result<PlacementView, ServiceError> {
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    if gate(&tx, staff, prison_id, person_id, &[]).await?.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    }
    // Refused `mode_conflict` unless the card is on leave: a repeat changes nothing.
    let placement = ledger::lifecycle::end_leave(&tx, person_id, &staff.id.to_string())
        .await
        .map_err(refused)?;
    sync_fence(&tx, person_id).await?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "leave ended");
    Ok(PlacementView::of(&placement, OffsetDateTime::now_utc()))
}
