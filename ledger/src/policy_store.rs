//! Policies, per-person overrides and card modes in PostgreSQL (schema `controls`, migration
//! V4). Everything is append-only: a policy change is a new version, an override change a new
//! override version, a mode change a new `card_modes` row. The pure decision lives in
//! [`crate::controls`]; this module loads what it needs.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::controls::{
    CardMode, ControlsError, EffectiveMode, Policy, PolicyOverride, PolicyRef, Regime, SpendWindows,
};
use crate::error::{LedgerError, LedgerResult};

/// The zone spend windows roll over in when a prison's assignment names none.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Helsinki";

pub fn regime_str(regime: Regime) -> &'static str {
    match regime {
        Regime::ClosedPrison => "closed_prison",
        Regime::OpenPrison => "open_prison",
        Regime::Remand => "remand",
    }
}

pub fn parse_regime(text: &str) -> LedgerResult<Regime> {
    match text {
        "closed_prison" => Ok(Regime::ClosedPrison),
        "open_prison" => Ok(Regime::OpenPrison),
        "remand" => Ok(Regime::Remand),
        _ => Err(LedgerError::invalid(
            "regime_invalid",
            "a regime is closed_prison, open_prison or remand",
        )),
    }
}

pub(crate) fn controls_error(error: ControlsError) -> LedgerError {
    match error {
        ControlsError::Money(error) => error.into(),
        ControlsError::InvalidOverride { id, problem } => {
            LedgerError::invalid("override_invalid", format!("override {id:?}: {problem}"))
        }
        other => LedgerError::invalid("controls_invalid", other.to_string()),
    }
}

/// A time zone by IANA name, from jiff's bundled database.
pub fn time_zone(name: &str) -> LedgerResult<TimeZone> {
    TimeZone::get(name).map_err(|_| {
        LedgerError::invalid("time_zone_invalid", format!("unknown time zone {name:?}"))
    })
}

/// The day, week and month containing `at` in the named zone.
pub fn spend_windows(at: OffsetDateTime, time_zone_name: &str) -> LedgerResult<SpendWindows> {
    SpendWindows::containing(at, &time_zone(time_zone_name)?).map_err(controls_error)
}

/// `"id@version"`, then `"+override@version"` for every override applied, e.g.
/// `"closed-fi@3+ovr-17@2"`: what `card.authorizations.policy_version` records.
pub fn policy_version_text(reference: &PolicyRef) -> String {
    let mut text = format!("{}@{}", reference.id, reference.version);
    for item in &reference.overrides {
        text.push_str(&format!("+{}@{}", item.id, item.version));
    }
    text
}

/// Serialises commands about one person (mode changes, overrides, lifecycle), so two staff
/// members acting at once cannot interleave.
pub(crate) async fn lock_person(tx: &Transaction<'_>, person_id: Uuid) -> LedgerResult<()> {
    let statement = tx
        .prepare_cached("select pg_advisory_xact_lock(hashtextextended($1, 4004))")
        .await?;
    tx.execute(&statement, &[&person_id.to_string()]).await?;
    Ok(())
}

async fn lock_name(tx: &Transaction<'_>, name: &str) -> LedgerResult<()> {
    let statement = tx
        .prepare_cached("select pg_advisory_xact_lock(hashtextextended($1, 4005))")
        .await?;
    tx.execute(&statement, &[&name]).await?;
    Ok(())
}

fn check_actor(actor: &str) -> LedgerResult<()> {
    if actor.trim().is_empty() || actor.len() > 100 {
        return Err(LedgerError::invalid(
            "actor_invalid",
            "a staff id of 1 to 100 bytes is required",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Policies and their assignment to prisons

/// Stores `policy` as the next version of `policy.id` (the version field is ignored and
/// assigned here) and returns it as stored.
pub async fn publish_policy(
    tx: &Transaction<'_>,
    policy: &Policy,
    prison_id: Option<Uuid>,
    effective_from: OffsetDateTime,
    created_by: &str,
) -> LedgerResult<Policy> {
    check_actor(created_by)?;
    if !policy.overrides.is_empty() {
        return Err(LedgerError::invalid(
            "policy_invalid",
            "a template carries no per-person overrides",
        ));
    }
    // Validates the limits and amounts the same way an override would.
    policy.with_overrides(&[]).map_err(controls_error)?;
    lock_name(tx, &format!("policy:{}", policy.id)).await?;
    let next = tx
        .prepare_cached(
            "select coalesce(max(version), 0) + 1 as version from controls.policies
             where policy_id = $1",
        )
        .await?;
    let version: i32 = tx.query_one(&next, &[&policy.id]).await?.get("version");
    let mut stored = policy.clone();
    stored.version = u32::try_from(version)
        .map_err(|_| LedgerError::invalid("policy_invalid", "version out of range"))?;
    let insert = tx
        .prepare_cached(
            "insert into controls.policies
                (policy_id, version, prison_id, regime, policy, effective_from, created_by)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &stored.id,
            &version,
            &prison_id,
            &regime_str(stored.regime),
            &serde_json::to_value(&stored)?,
            &effective_from,
            &created_by,
        ],
    )
    .await
    .map_err(|error| match error.code() {
        Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION) => {
            LedgerError::invalid("policy_invalid", "the policy id is not a valid identifier")
        }
        _ => LedgerError::Database(error),
    })?;
    Ok(stored)
}

/// Makes `policy_id` the policy of a prison's regime from `effective_from`, with the prison's
/// time zone. Earlier assignments stay as history.
pub async fn assign_policy(
    tx: &Transaction<'_>,
    prison_id: Uuid,
    regime: Regime,
    policy_id: &str,
    time_zone_name: &str,
    effective_from: OffsetDateTime,
    assigned_by: &str,
) -> LedgerResult<()> {
    check_actor(assigned_by)?;
    time_zone(time_zone_name)?;
    let find = tx
        .prepare_cached("select regime from controls.policies where policy_id = $1 limit 1")
        .await?;
    let Some(row) = tx.query_opt(&find, &[&policy_id]).await? else {
        return Err(LedgerError::invalid(
            "unknown_policy",
            format!("no policy {policy_id:?}"),
        ));
    };
    if row.get::<_, String>("regime") != regime_str(regime) {
        return Err(LedgerError::invalid(
            "policy_regime_mismatch",
            "the policy was written for another regime",
        ));
    }
    let insert = tx
        .prepare_cached(
            "insert into controls.prison_policies
                (prison_id, regime, policy_id, time_zone, effective_from, assigned_by)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &prison_id,
            &regime_str(regime),
            &policy_id,
            &time_zone_name,
            &effective_from,
            &assigned_by,
        ],
    )
    .await?;
    Ok(())
}

/// A prison regime's policy assignment in effect at an instant, with the template it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedPolicy {
    pub prison_id: Uuid,
    pub regime: Regime,
    pub policy_id: String,
    pub time_zone: String,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
    pub assigned_by: String,
    /// The template's latest version in effect at the instant (`None` if none is yet).
    pub policy: Option<Policy>,
}

/// The assignment of `regime` in `prison_id` in effect at `at`, as [`effective_controls`] reads
/// it; `None` when the regime has none.
pub async fn assigned_policy(
    client: &impl GenericClient,
    prison_id: Uuid,
    regime: Regime,
    at: OffsetDateTime,
) -> LedgerResult<Option<AssignedPolicy>> {
    let statement = client
        .prepare_cached(
            "with a as (
                 select pp.policy_id, pp.time_zone, pp.effective_from, pp.assigned_by
                 from controls.prison_policies pp
                 where pp.prison_id = $1 and pp.regime = $2 and pp.effective_from <= $3
                 order by pp.effective_from desc, pp.id desc limit 1
             )
             select a.policy_id, a.time_zone, a.effective_from, a.assigned_by,
                    (select cp.policy from controls.policies cp
                     where cp.policy_id = a.policy_id and cp.effective_from <= $3
                     order by cp.version desc limit 1) as policy
             from a",
        )
        .await?;
    let Some(row) = client
        .query_opt(&statement, &[&prison_id, &regime_str(regime), &at])
        .await?
    else {
        return Ok(None);
    };
    let policy = row
        .get::<_, Option<serde_json::Value>>("policy")
        .map(serde_json::from_value)
        .transpose()?;
    Ok(Some(AssignedPolicy {
        prison_id,
        regime,
        policy_id: row.get("policy_id"),
        time_zone: row.get("time_zone"),
        effective_from: row.get("effective_from"),
        assigned_by: row.get("assigned_by"),
        policy,
    }))
}

/// The prison a policy id was last published for (`Some(None)`: a national template; `None`:
/// no such policy).
pub async fn policy_owner(
    client: &impl GenericClient,
    policy_id: &str,
) -> LedgerResult<Option<Option<Uuid>>> {
    let statement = client
        .prepare_cached(
            "select prison_id from controls.policies where policy_id = $1
             order by version desc limit 1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&policy_id])
        .await?
        .map(|row| row.get("prison_id")))
}

// ---------------------------------------------------------------------------------------------
// Card modes

/// Where a person is and what their card may do, as of the latest `card_modes` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub person_id: Uuid,
    pub prison_id: Uuid,
    pub regime: Regime,
    pub mode: CardMode,
    /// Why the latest row was written: `admission`, `transfer`, `leave`, `release`, …
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

fn placement_from_row(person_id: Uuid, row: &tokio_postgres::Row) -> LedgerResult<Placement> {
    Ok(Placement {
        person_id,
        prison_id: row.get("prison_id"),
        regime: parse_regime(row.get("regime"))?,
        mode: serde_json::from_value(row.get("mode"))?,
        reason: row.get("reason"),
        since: row.get("effective_from"),
    })
}

/// The person's current placement and mode; `None` before admission.
pub async fn current_placement(
    client: &impl GenericClient,
    person_id: Uuid,
) -> LedgerResult<Option<Placement>> {
    let statement = client
        .prepare_cached(
            "select prison_id, regime, mode, reason, effective_from from controls.card_modes
             where person_id = $1 and effective_from <= clock_timestamp()
             order by effective_from desc, id desc limit 1",
        )
        .await?;
    client
        .query_opt(&statement, &[&person_id])
        .await?
        .map(|row| placement_from_row(person_id, &row))
        .transpose()
}

/// Every person whose current placement is in the prison (any mode), for comparing with the
/// prison-management system's population.
pub async fn placed_in(
    client: &impl GenericClient,
    prison_id: Uuid,
) -> LedgerResult<Vec<Placement>> {
    let statement = client
        .prepare_cached(
            "select * from (
                 select distinct on (person_id) person_id, prison_id, regime, mode, reason,
                        effective_from
                 from controls.card_modes
                 where effective_from <= clock_timestamp()
                 order by person_id, effective_from desc, id desc
             ) latest where prison_id = $1 order by person_id",
        )
        .await?;
    client
        .query(&statement, &[&prison_id])
        .await?
        .iter()
        .map(|row| placement_from_row(row.get("person_id"), row))
        .collect()
}

/// The mode history, newest first (for staff and the audit trail).
pub async fn mode_history(
    client: &impl GenericClient,
    person_id: Uuid,
    limit: i64,
) -> LedgerResult<Vec<Placement>> {
    let statement = client
        .prepare_cached(
            "select prison_id, regime, mode, reason, effective_from from controls.card_modes
             where person_id = $1 order by effective_from desc, id desc limit $2",
        )
        .await?;
    client
        .query(&statement, &[&person_id, &limit.clamp(1, 500)])
        .await?
        .iter()
        .map(|row| placement_from_row(person_id, row))
        .collect()
}

/// One `card_modes` row to append.
pub(crate) struct ModeRow<'a> {
    pub person_id: Uuid,
    pub prison_id: Uuid,
    pub regime: Regime,
    pub mode: &'a CardMode,
    pub reason: &'a str,
    pub note: Option<&'a str>,
    pub changed_by: &'a str,
}

/// Appends a mode row, effective at once. Callers hold the person lock.
pub(crate) async fn record_mode(tx: &Transaction<'_>, row: ModeRow<'_>) -> LedgerResult<Placement> {
    let ModeRow {
        person_id,
        prison_id,
        regime,
        mode,
        reason,
        note,
        changed_by,
    } = row;
    check_actor(changed_by)?;
    if let CardMode::Leave { from, until, .. } = mode
        && from >= until
    {
        return Err(LedgerError::invalid(
            "leave_invalid",
            "a leave ends after it starts",
        ));
    }
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(LedgerError::invalid(
            "note_invalid",
            "a note is at most 500 characters",
        ));
    }
    let insert = tx
        .prepare_cached(
            "insert into controls.card_modes
                (person_id, prison_id, regime, mode, reason, note, changed_by)
             values ($1, $2, $3, $4, $5, $6, $7) returning effective_from",
        )
        .await?;
    let since: OffsetDateTime = tx
        .query_one(
            &insert,
            &[
                &person_id,
                &prison_id,
                &regime_str(regime),
                &serde_json::to_value(mode)?,
                &reason,
                &note,
                &changed_by,
            ],
        )
        .await?
        .get("effective_from");
    Ok(Placement {
        person_id,
        prison_id,
        regime,
        mode: *mode,
        reason: reason.to_owned(),
        since,
    })
}

/// Sets a person's card mode at once, in their current prison (staff: freeze a lost card,
/// end a leave early…). The lifecycle functions in [`crate::lifecycle`] are the usual way.
pub async fn set_card_mode(
    tx: &Transaction<'_>,
    person_id: Uuid,
    mode: &CardMode,
    note: Option<&str>,
    changed_by: &str,
) -> LedgerResult<Placement> {
    lock_person(tx, person_id).await?;
    let current = require_placement(tx, person_id).await?;
    record_mode(
        tx,
        ModeRow {
            person_id,
            prison_id: current.prison_id,
            regime: current.regime,
            mode,
            reason: "set",
            note,
            changed_by,
        },
    )
    .await
}

pub(crate) async fn require_placement(
    client: &impl GenericClient,
    person_id: Uuid,
) -> LedgerResult<Placement> {
    current_placement(client, person_id)
        .await?
        .ok_or_else(|| LedgerError::invalid("person_not_admitted", "the person has no placement"))
}

// ---------------------------------------------------------------------------------------------
// Overrides

/// A per-person override to store: its id names it across versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantOverride {
    pub person_id: Uuid,
    /// `version` is ignored: the next version of `override.id` is assigned.
    pub item: PolicyOverride,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
    /// Exclusive; `None` until revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub effective_until: Option<OffsetDateTime>,
}

/// Stores an override (or a new version of one) for the person's current prison. It is
/// validated against the prison's policy first (four eyes, reason, amounts in its currency).
pub async fn grant_override(
    tx: &Transaction<'_>,
    command: &GrantOverride,
) -> LedgerResult<PolicyOverride> {
    lock_person(tx, command.person_id).await?;
    let placement = require_placement(tx, command.person_id).await?;
    let controls = effective_controls(tx, command.person_id, command.effective_from)
        .await?
        .ok_or_else(|| {
            LedgerError::invalid("no_policy", "the person's prison has no policy in effect")
        })?;
    controls
        .policy
        .with_overrides(std::slice::from_ref(&command.item))
        .map_err(controls_error)?;
    if let Some(until) = command.effective_until
        && until <= command.effective_from
    {
        return Err(LedgerError::invalid(
            "override_invalid",
            "an override ends after it starts",
        ));
    }
    let existing = tx
        .prepare_cached(
            "select person_id, coalesce(max(version), 0) as version from controls.policy_overrides
             where override_id = $1 group by person_id",
        )
        .await?;
    let rows = tx.query(&existing, &[&command.item.id]).await?;
    if rows
        .iter()
        .any(|row| row.get::<_, Uuid>("person_id") != command.person_id)
    {
        return Err(LedgerError::invalid(
            "override_invalid",
            "the override id belongs to another person",
        ));
    }
    let revoked = tx
        .prepare_cached("select 1 from controls.override_revocations where override_id = $1")
        .await?;
    if tx.query_opt(&revoked, &[&command.item.id]).await?.is_some() {
        return Err(LedgerError::invalid(
            "override_revoked",
            "a revoked override cannot get new versions; grant a new one",
        ));
    }
    let version = rows.first().map_or(0, |row| row.get::<_, i32>("version")) + 1;
    let insert = tx
        .prepare_cached(
            "insert into controls.policy_overrides
                (override_id, version, person_id, prison_id, change, reason, requested_by,
                 approved_by, effective_from, effective_until)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &command.item.id,
            &version,
            &command.person_id,
            &placement.prison_id,
            &serde_json::to_value(&command.item.change)?,
            &command.item.reason,
            &command.item.requested_by,
            &command.item.approved_by,
            &command.effective_from,
            &command.effective_until,
        ],
    )
    .await
    .map_err(|error| match error.code() {
        Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION) => LedgerError::invalid(
            "override_invalid",
            "the override id or its texts are not valid",
        ),
        _ => LedgerError::Database(error),
    })?;
    Ok(PolicyOverride {
        version: u32::try_from(version)
            .map_err(|_| LedgerError::invalid("override_invalid", "version out of range"))?,
        ..command.item.clone()
    })
}

/// An override's latest version as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOverride {
    pub person_id: Uuid,
    pub prison_id: Uuid,
    pub item: PolicyOverride,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub effective_until: Option<OffsetDateTime>,
    pub revoked: bool,
}

/// The latest version of an override, if it exists (revoked or not).
pub async fn latest_override(
    client: &impl GenericClient,
    override_id: &str,
) -> LedgerResult<Option<StoredOverride>> {
    let statement = client
        .prepare_cached(
            "select o.person_id, o.prison_id, o.version, o.change, o.reason, o.requested_by,
                    o.approved_by, o.effective_from, o.effective_until,
                    exists (select 1 from controls.override_revocations r
                            where r.override_id = o.override_id) as revoked
             from controls.policy_overrides o where o.override_id = $1
             order by o.version desc limit 1",
        )
        .await?;
    let Some(row) = client.query_opt(&statement, &[&override_id]).await? else {
        return Ok(None);
    };
    Ok(Some(StoredOverride {
        person_id: row.get("person_id"),
        prison_id: row.get("prison_id"),
        item: PolicyOverride {
            id: override_id.to_owned(),
            version: u32::try_from(row.get::<_, i32>("version")).unwrap_or(0),
            change: serde_json::from_value(row.get("change"))?,
            reason: row.get("reason"),
            requested_by: row.get("requested_by"),
            approved_by: row.get("approved_by"),
        },
        effective_from: row.get("effective_from"),
        effective_until: row.get("effective_until"),
        revoked: row.get("revoked"),
    }))
}

/// Ends an override from now on. Decisions already made keep their record of it.
pub async fn revoke_override(
    tx: &Transaction<'_>,
    person_id: Uuid,
    override_id: &str,
    reason: &str,
    revoked_by: &str,
) -> LedgerResult<()> {
    check_actor(revoked_by)?;
    lock_person(tx, person_id).await?;
    let owner = tx
        .prepare_cached(
            "select 1 from controls.policy_overrides where override_id = $1 and person_id = $2
             limit 1",
        )
        .await?;
    if tx
        .query_opt(&owner, &[&override_id, &person_id])
        .await?
        .is_none()
    {
        return Err(LedgerError::invalid(
            "unknown_override",
            "no such override for this person",
        ));
    }
    let insert = tx
        .prepare_cached(
            "insert into controls.override_revocations (override_id, person_id, reason, revoked_by)
             values ($1, $2, $3, $4) on conflict (override_id) do nothing",
        )
        .await?;
    if reason.trim().is_empty() {
        return Err(LedgerError::invalid(
            "reason_required",
            "a revocation has a reason",
        ));
    }
    tx.execute(&insert, &[&override_id, &person_id, &reason, &revoked_by])
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The effective controls of a person at one instant

/// Everything the authorization decision needs about a person except spend and balance.
#[derive(Debug, Clone)]
pub struct EffectiveControls {
    pub placement: Placement,
    /// The template in effect with the person's overrides applied.
    pub policy: Policy,
    /// The prison's IANA time zone (spend windows roll over at its midnight).
    pub time_zone_name: String,
}

impl EffectiveControls {
    pub fn effective_mode(&self, at: OffsetDateTime) -> EffectiveMode {
        self.placement.mode.effective_at(at)
    }

    pub fn windows(&self, at: OffsetDateTime) -> LedgerResult<SpendWindows> {
        spend_windows(at, &self.time_zone_name)
    }
}

/// Loads the person's mode, their prison's policy in effect at `at` and their overrides in effect
/// at `at`, in one statement (it runs inside every card authorization). `None` when the person
/// has no placement or the prison no policy: the caller fails closed.
pub async fn effective_controls(
    client: &impl GenericClient,
    person_id: Uuid,
    at: OffsetDateTime,
) -> LedgerResult<Option<EffectiveControls>> {
    let mut controls = effective_controls_many(client, &[(person_id, at)]).await?;
    Ok(controls.pop().flatten())
}

/// [`effective_controls`] for many (person, moment) pairs in one statement, in their order: a
/// batch of card authorizations reads all its persons' controls at once.
pub async fn effective_controls_many(
    client: &impl GenericClient,
    requests: &[(Uuid, OffsetDateTime)],
) -> LedgerResult<Vec<Option<EffectiveControls>>> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        effective_controls_sql(
            "unnest($1::uuid[], $2::timestamptz[]) with ordinality as r(person_id, at, n)",
        )
    });
    let statement = client.prepare_cached(&SQL).await?;
    let person_ids: Vec<Uuid> = requests.iter().map(|(person_id, _)| *person_id).collect();
    let moments: Vec<OffsetDateTime> = requests.iter().map(|(_, at)| *at).collect();
    let rows = client.query(&statement, &[&person_ids, &moments]).await?;
    controls_in_order(&rows, requests.len())
}

/// The statement that finds the effective controls of each row `r(person_id, at, n)` of
/// `source`: the mode in effect now, the prison's policy and the person's overrides in effect at
/// `at`. One row per source row that has a placement, with `person_id` and the row number `n`;
/// [`controls_in_order`] reads them. Shared with callers that find the persons another way (the
/// card adapter, by card).
pub fn effective_controls_sql(source: &str) -> String {
    format!(
        "select r.person_id, m.prison_id, m.regime, m.mode, m.reason, m.effective_from,
                a.time_zone, p.policy, o.overrides, r.n
         from {source}
         cross join lateral (
             select cm.prison_id, cm.regime, cm.mode, cm.reason, cm.effective_from
             from controls.card_modes cm
             where cm.person_id = r.person_id and cm.effective_from <= clock_timestamp()
             order by cm.effective_from desc, cm.id desc limit 1
         ) m
         left join lateral (
             select pp.policy_id, pp.time_zone from controls.prison_policies pp
             where pp.prison_id = m.prison_id and pp.regime = m.regime
               and pp.effective_from <= r.at
             order by pp.effective_from desc, pp.id desc limit 1
         ) a on true
         left join lateral (
             select cp.policy from controls.policies cp
             where cp.policy_id = a.policy_id and cp.effective_from <= r.at
             order by cp.version desc limit 1
         ) p on true
         cross join lateral (
             select coalesce(jsonb_agg(jsonb_build_object(
                        'id', o.override_id, 'version', o.version, 'reason', o.reason,
                        'requested_by', o.requested_by, 'approved_by', o.approved_by,
                        'change', o.change) order by o.created_at, o.override_id),
                    '[]'::jsonb) as overrides
             from (select distinct on (ov.override_id) ov.* from controls.policy_overrides ov
                   where ov.person_id = r.person_id and ov.prison_id = m.prison_id
                   order by ov.override_id, ov.version desc) o
             where o.effective_from <= r.at
               and (o.effective_until is null or r.at < o.effective_until)
               and not exists (select 1 from controls.override_revocations rv
                               where rv.override_id = o.override_id
                                 and rv.revoked_at <= r.at)
         ) o"
    )
}

/// The rows of an [`effective_controls_sql`] statement as `count` controls in source order:
/// `None` where the source row had no placement or its prison no policy.
pub fn controls_in_order(
    rows: &[tokio_postgres::Row],
    count: usize,
) -> LedgerResult<Vec<Option<EffectiveControls>>> {
    let mut controls: Vec<Option<EffectiveControls>> = vec![None; count];
    for row in rows {
        let index = usize::try_from(row.get::<_, i64>("n") - 1)
            .map_err(|_| LedgerError::invalid("ordinality", "row number out of range"))?;
        let Some(slot) = controls.get_mut(index) else {
            continue;
        };
        *slot = controls_from_row(row.get("person_id"), row)?;
    }
    Ok(controls)
}

fn controls_from_row(
    person_id: Uuid,
    row: &tokio_postgres::Row,
) -> LedgerResult<Option<EffectiveControls>> {
    let placement = placement_from_row(person_id, row)?;
    let Some(template) = row.get::<_, Option<serde_json::Value>>("policy") else {
        return Ok(None);
    };
    let template: Policy = serde_json::from_value(template)?;
    let overrides: Vec<PolicyOverride> = serde_json::from_value(row.get("overrides"))?;
    let policy = template
        .with_overrides(&overrides)
        .map_err(controls_error)?;
    let time_zone_name = row
        .get::<_, Option<String>>("time_zone")
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_owned());
    Ok(Some(EffectiveControls {
        placement,
        policy,
        time_zone_name,
    }))
}
