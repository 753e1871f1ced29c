//! What the officers' lifecycle routes (grant leave, end leave, transfer, release) share: the
//! gate every one of them passes, the placement as the API shows it, command keys and the
//! mapping of the ledger's refusals. The handlers are in `leave_grant.rs`, `leave_end.rs`,
//! `transfer.rs` and `release.rs`; each has a `…_checked` function the staff pages call too.
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
use crate::problem::Problem;

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
    pub fn to_limits(self) -> Result<Limits, Problem> {
        let money = |minor: Option<i64>| match minor {
            Some(minor) if minor < 0 => Err(Problem::unprocessable(
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
) -> Result<String, Problem> {
    if client_key.is_empty() || client_key.len() > 100 {
        return Err(Problem::unprocessable(
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
) -> Result<Begun<T>, Problem> {
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
) -> Result<Option<(PrisonerView, Placement)>, Problem> {
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
pub async fn sync_fence(tx: &Transaction<'_>, person_id: Uuid) -> Result<(), Problem> {
    card_adapter::fence::request_sync(tx, person_id)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "fence sync could not be queued");
            Problem::internal()
        })
}

/// The ledger's refusals: a card in the wrong mode for the command is a conflict (`409
/// mode_conflict`, `person_released`); the rest keep their usual status and stable code.
pub fn refused(error: LedgerError) -> Problem {
    match error.code() {
        code @ ("mode_conflict" | "person_released") => Problem::conflict(code, error.to_string()),
        _ => error.into(),
    }
}
