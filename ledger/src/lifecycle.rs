//! A prisoner's life in the books: admission, transfer, leave, release (grace period, then
//! payout and closing), and freezes for death or escape that staff resolve.
//!
//! Every command takes the person lock, appends a `controls.card_modes` row (effective at once)
//! and posts whatever entries it needs, in the caller's transaction, and is idempotent on its
//! key: a replay returns the first result and writes nothing.

use deadpool_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::{PersonAccounts, institution_account};
use crate::controls::{CardMode, EffectiveMode, Limits, Regime};
use crate::entry_text::EntryText;
use crate::error::{LedgerError, LedgerResult};
use crate::idempotency::{self, Begun};
use crate::model::{
    AccountType, EntryDraft, ExternalRef, NewAccount, Overdraft, PostingDraft, institution_purpose,
    person_purpose,
};
use crate::money::{Currency, Money};
use crate::policy_store::{self, ModeRow, Placement, lock_person, record_mode, require_placement};
use crate::store;

async fn person_account(
    tx: &Transaction<'_>,
    person_id: Uuid,
    purpose: &str,
    currency: Currency,
) -> LedgerResult<Uuid> {
    let account = NewAccount::person(person_id, purpose, currency);
    if let Some(existing) = store::account_by_code(tx, &account.code).await? {
        if existing.closed_at.is_some() {
            return Err(LedgerError::AccountClosed(existing.id));
        }
        return Ok(existing.id);
    }
    Ok(
        store::open_account(tx, &format!("open:{}", account.code), &account)
            .await?
            .id,
    )
}

fn finish_key(key: &str) -> LedgerResult<()> {
    if key.is_empty() || key.len() > 150 {
        return Err(LedgerError::invalid(
            "idempotency_key_invalid",
            "a command key is 1 to 150 bytes",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Admission and transfer

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    pub idempotency_key: String,
    /// The pseudonymous id the identity store gave the prisoner.
    pub person_id: Uuid,
    pub prison_id: Uuid,
    pub regime: Regime,
    pub currency: Currency,
    pub admitted_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admitted {
    pub accounts: PersonAccounts,
    pub placement: Placement,
}

/// Opens the four sub-accounts (or finds them: a returning prisoner keeps their person id) and
/// puts the card in `Inside` mode at the prison.
pub async fn admit(tx: &Transaction<'_>, command: &Admission) -> LedgerResult<Admitted> {
    finish_key(&command.idempotency_key)?;
    let claim = match idempotency::begin(
        tx,
        &format!("admit:{}", command.idempotency_key),
        "controls.admit",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    lock_person(tx, command.person_id).await?;
    let mut ids = Vec::with_capacity(4);
    for purpose in crate::accounts::PERSON_PURPOSES {
        ids.push(person_account(tx, command.person_id, purpose, command.currency).await?);
    }
    let accounts = PersonAccounts {
        spendable: ids[0],
        release_savings: ids[1],
        held_deposits: ids[2],
        restitution: ids[3],
    };
    let placement = record_mode(
        tx,
        ModeRow {
            person_id: command.person_id,
            prison_id: command.prison_id,
            regime: command.regime,
            mode: &CardMode::Inside,
            reason: "admission",
            note: None,
            changed_by: &command.admitted_by,
        },
    )
    .await?;
    let done = Admitted {
        accounts,
        placement,
    };
    idempotency::finish(tx, claim, &done).await?;
    Ok(done)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub idempotency_key: String,
    pub person_id: Uuid,
    pub to_prison_id: Uuid,
    pub to_regime: Regime,
    pub transferred_by: String,
}

/// Moves a person (their accounts and card come along: they are the person's, not the
/// prison's) to another prison. The new prison's policy applies from now on; the old prison's
/// per-person overrides no longer do; balances are untouched. A running leave or freeze stays.
pub async fn transfer(tx: &Transaction<'_>, command: &Transfer) -> LedgerResult<Placement> {
    finish_key(&command.idempotency_key)?;
    let claim = match idempotency::begin(
        tx,
        &format!("transfer:{}", command.idempotency_key),
        "controls.transfer",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    lock_person(tx, command.person_id).await?;
    let current = require_placement(tx, command.person_id).await?;
    if matches!(current.mode, CardMode::Released { .. }) {
        return Err(LedgerError::invalid(
            "person_released",
            "a released person is not transferred; admit them again",
        ));
    }
    let placement = record_mode(
        tx,
        ModeRow {
            person_id: command.person_id,
            prison_id: command.to_prison_id,
            regime: command.to_regime,
            mode: &current.mode,
            reason: "transfer",
            note: None,
            changed_by: &command.transferred_by,
        },
    )
    .await?;
    idempotency::finish(tx, claim, &placement).await?;
    Ok(placement)
}

// ---------------------------------------------------------------------------------------------
// Leave

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantLeave {
    pub idempotency_key: String,
    pub person_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// `None`: the policy's `default_leave_limits`.
    pub limits: Option<Limits>,
    pub granted_by: String,
}

/// A leave in `[from, until)`: the card works outside within the leave's limits, and falls back
/// to `Inside` by itself when the leave ends. Refused on a frozen or released card.
pub async fn grant_leave(tx: &Transaction<'_>, command: &GrantLeave) -> LedgerResult<Placement> {
    finish_key(&command.idempotency_key)?;
    let claim = match idempotency::begin(
        tx,
        &format!("leave:{}", command.idempotency_key),
        "controls.grant_leave",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    lock_person(tx, command.person_id).await?;
    let current = require_placement(tx, command.person_id).await?;
    if matches!(current.mode, CardMode::Frozen | CardMode::Released { .. }) {
        return Err(LedgerError::invalid(
            "mode_conflict",
            "a frozen or released card gets no leave",
        ));
    }
    let limits = match command.limits {
        Some(limits) => limits,
        None => {
            policy_store::effective_controls(tx, command.person_id, command.from)
                .await?
                .ok_or_else(|| {
                    LedgerError::invalid("no_policy", "the person's prison has no policy")
                })?
                .policy
                .default_leave_limits
        }
    };
    let placement = record_mode(
        tx,
        ModeRow {
            person_id: command.person_id,
            prison_id: current.prison_id,
            regime: current.regime,
            mode: &CardMode::Leave {
                from: command.from,
                until: command.until,
                limits,
            },
            reason: "leave",
            note: None,
            changed_by: &command.granted_by,
        },
    )
    .await?;
    idempotency::finish(tx, claim, &placement).await?;
    Ok(placement)
}

/// Ends a leave early (the prisoner came back): `Inside` at once.
pub async fn end_leave(
    tx: &Transaction<'_>,
    person_id: Uuid,
    ended_by: &str,
) -> LedgerResult<Placement> {
    lock_person(tx, person_id).await?;
    let current = require_placement(tx, person_id).await?;
    if !matches!(current.mode, CardMode::Leave { .. }) {
        return Err(LedgerError::invalid(
            "mode_conflict",
            "the card is not on leave",
        ));
    }
    record_mode(
        tx,
        ModeRow {
            person_id,
            prison_id: current.prison_id,
            regime: current.regime,
            mode: &CardMode::Inside,
            reason: "leave_ended",
            note: None,
            changed_by: ended_by,
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Release

/// What happens to the release savings at release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavingsOnRelease {
    /// Moved to spendable: usable on the card during the grace period.
    ToSpendable,
    /// Paid to the person's bank account (the identity store knows it; the entry carries a
    /// `payout` reference the bank transfer is made under).
    PayOut,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub idempotency_key: String,
    pub person_id: Uuid,
    pub savings: SavingsOnRelease,
    /// End of the grace period (exclusive); see [`release_grace_until`] for the usual rule.
    #[serde(with = "time::serde::rfc3339")]
    pub grace_until: OffsetDateTime,
    #[serde(with = "crate::model::date_format")]
    pub effective_date: Date,
    pub released_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    pub placement: Placement,
    /// The entry that moved or paid out the release savings (none when they were empty).
    pub savings_entry_id: Option<Uuid>,
    pub savings: Money,
}

/// The usual grace period (Finland): the card works until the end of the month after the
/// release month, local time: released 2026-04-10 in Helsinki → until 2026-05-31T21:00Z.
pub fn release_grace_until(
    released_at: OffsetDateTime,
    time_zone_name: &str,
) -> LedgerResult<OffsetDateTime> {
    let windows = policy_store::spend_windows(released_at, time_zone_name)?;
    // The month after next starts where the next month's window ends.
    let next_month_start = windows.month.end;
    let next = policy_store::spend_windows(next_month_start, time_zone_name)?;
    Ok(next.month.end)
}

/// The payout reference of an entry: unique, so a payout is never booked twice.
fn payout_ref(value: String) -> ExternalRef {
    ExternalRef {
        kind: "payout".into(),
        value,
        unique: true,
    }
}

/// Releases a person: release savings to spendable or paid out, card `Released` until
/// `grace_until` (after which it is declined `release_period_ended` by itself), then
/// [`close_after_release`] pays out the rest and closes the accounts.
pub async fn release(tx: &Transaction<'_>, command: &Release) -> LedgerResult<Released> {
    finish_key(&command.idempotency_key)?;
    let claim = match idempotency::begin(
        tx,
        &format!("release:{}", command.idempotency_key),
        "controls.release",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    lock_person(tx, command.person_id).await?;
    let current = require_placement(tx, command.person_id).await?;
    if matches!(current.mode, CardMode::Released { .. }) {
        return Err(LedgerError::invalid("mode_conflict", "already released"));
    }
    let currency = currency_of_person(tx, command.person_id).await?;
    let accounts = PersonAccounts::of(tx, command.person_id, currency).await?;
    let savings = store::balance(tx, accounts.release_savings)
        .await?
        .available;
    let mut savings_entry_id = None;
    if savings.is_positive() {
        let (counter, description, refs) = match command.savings {
            SavingsOnRelease::ToSpendable => (
                accounts.spendable,
                EntryText::SavingsToSpendableAtRelease.english(),
                vec![],
            ),
            SavingsOnRelease::PayOut => (
                institution_account(
                    tx,
                    institution_purpose::BANK_TRUST,
                    AccountType::Asset,
                    currency,
                )
                .await?,
                EntryText::SavingsPaidOutAtRelease.english(),
                vec![payout_ref(format!("{}:savings", command.idempotency_key))],
            ),
        };
        let entry = store::post_entry(
            tx,
            &EntryDraft {
                idempotency_key: format!("release:{}:savings", command.idempotency_key),
                effective_date: command.effective_date,
                description: description.into(),
                metadata: serde_json::json!({
                    "person_id": command.person_id,
                    "lifecycle": "release",
                }),
                external_refs: refs,
                postings: vec![
                    PostingDraft::debit(accounts.release_savings, savings),
                    PostingDraft::credit(counter, savings)?,
                ],
                overdraft: Overdraft::Refuse,
            },
        )
        .await?;
        savings_entry_id = Some(entry.id);
    }
    call_credit_to_spendable(tx, command, currency, accounts.spendable).await?;
    let placement = record_mode(
        tx,
        ModeRow {
            person_id: command.person_id,
            prison_id: current.prison_id,
            regime: current.regime,
            mode: &CardMode::Released {
                until: command.grace_until,
            },
            reason: "release",
            note: None,
            changed_by: &command.released_by,
        },
    )
    .await?;
    let done = Released {
        placement,
        savings_entry_id,
        savings,
    };
    idempotency::finish(tx, claim, &done).await?;
    Ok(done)
}

/// Unspent call credit (docs/services.md) is the person's money: at release it goes back to
/// spendable, so it is paid out with the rest. What a call in progress still holds stays.
async fn call_credit_to_spendable(
    tx: &Transaction<'_>,
    command: &Release,
    currency: Currency,
    spendable: Uuid,
) -> LedgerResult<()> {
    let code = NewAccount::person(command.person_id, person_purpose::CALL_CREDIT, currency).code;
    let Some(call_credit) = store::account_by_code(tx, &code).await? else {
        return Ok(());
    };
    let left = store::balance(tx, call_credit.id).await?.available;
    if !left.is_positive() {
        return Ok(());
    }
    store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: format!("release:{}:call_credit", command.idempotency_key),
            effective_date: command.effective_date,
            description: EntryText::CallCreditToSpendableAtRelease.english().into(),
            metadata: serde_json::json!({
                "person_id": command.person_id,
                "lifecycle": "release",
            }),
            external_refs: vec![],
            postings: vec![
                PostingDraft::debit(call_credit.id, left),
                PostingDraft::credit(spendable, left)?,
            ],
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub idempotency_key: String,
    pub person_id: Uuid,
    #[serde(with = "crate::model::date_format")]
    pub effective_date: Date,
    pub closed_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    /// The payout entry (spendable and savings to the bank), none when nothing was left.
    pub payout_entry_id: Option<Uuid>,
    pub paid_out: Money,
    pub closed_accounts: Vec<Uuid>,
    /// Accounts left open because they still hold money that is not the person's to take
    /// (restitution owed to victims).
    pub left_open: Vec<Uuid>,
    pub placement: Placement,
}

/// After the grace period: pays what is left on spendable and release savings to the person's
/// bank account (one entry, debit the sub-accounts, credit `bank_trust`, reference `payout`),
/// closes the emptied accounts and leaves the card frozen (`closed`). Refused while the grace
/// period runs (`grace_period_running`), while card payments are still held (`holds_open`:
/// their clearings must book first) or while a deposit awaits review.
pub async fn close_after_release(tx: &Transaction<'_>, command: &Closure) -> LedgerResult<Closed> {
    close(tx, command, "release").await
}

async fn close(tx: &Transaction<'_>, command: &Closure, why: &'static str) -> LedgerResult<Closed> {
    finish_key(&command.idempotency_key)?;
    let claim = match idempotency::begin(
        tx,
        &format!("close:{}", command.idempotency_key),
        "controls.close",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    lock_person(tx, command.person_id).await?;
    let current = require_placement(tx, command.person_id).await?;
    refuse_if_closed(&current)?;
    let now = db_now(tx).await?;
    match (why, current.mode) {
        ("release", CardMode::Released { until }) => {
            if now < until {
                return Err(LedgerError::invalid(
                    "grace_period_running",
                    "the release grace period has not ended",
                ));
            }
        }
        ("release", _) => {
            return Err(LedgerError::invalid(
                "mode_conflict",
                "the person is not released",
            ));
        }
        (_, CardMode::Frozen) => {}
        _ => {
            return Err(LedgerError::invalid(
                "mode_conflict",
                "the card is not frozen",
            ));
        }
    }
    let currency = currency_of_person(tx, command.person_id).await?;
    let accounts = PersonAccounts::of(tx, command.person_id, currency).await?;
    let spendable = store::balance(tx, accounts.spendable).await?;
    if spendable.held.is_positive() {
        return Err(LedgerError::invalid(
            "holds_open",
            "card payments are still held; close once they have cleared or expired",
        ));
    }
    if store::balance(tx, accounts.held_deposits)
        .await?
        .posted
        .is_positive()
    {
        return Err(LedgerError::invalid(
            "deposits_pending_review",
            "a held deposit must be accepted or rejected first",
        ));
    }
    let savings = store::balance(tx, accounts.release_savings).await?.posted;
    let mut postings = Vec::new();
    let mut paid_out = Money::zero(currency);
    for (account, amount) in [
        (accounts.spendable, spendable.posted),
        (accounts.release_savings, savings),
    ] {
        if amount.is_positive() {
            postings.push(PostingDraft::debit(account, amount));
            paid_out = paid_out.checked_add(amount)?;
        }
    }
    let mut payout_entry_id = None;
    if paid_out.is_positive() {
        let bank = institution_account(
            tx,
            institution_purpose::BANK_TRUST,
            AccountType::Asset,
            currency,
        )
        .await?;
        postings.push(PostingDraft::credit(bank, paid_out)?);
        let entry = store::post_entry(
            tx,
            &EntryDraft {
                idempotency_key: format!("close:{}:payout", command.idempotency_key),
                effective_date: command.effective_date,
                description: match why {
                    "release" => EntryText::FinalPayoutAfterRelease.english().into(),
                    _ => EntryText::PayoutOnClosing.english().into(),
                },
                metadata: serde_json::json!({
                    "person_id": command.person_id,
                    "lifecycle": why,
                }),
                external_refs: vec![payout_ref(format!("{}:final", command.idempotency_key))],
                postings,
                overdraft: Overdraft::Refuse,
            },
        )
        .await?;
        payout_entry_id = Some(entry.id);
    }
    let mut closed_accounts = Vec::new();
    let mut left_open = Vec::new();
    for account in accounts.all() {
        let balance = store::balance(tx, account).await?;
        if balance.posted.amount_minor == 0 && balance.held.amount_minor == 0 {
            store::close_account(
                tx,
                &format!("close:{}:{account}", command.idempotency_key),
                account,
            )
            .await?;
            closed_accounts.push(account);
        } else {
            left_open.push(account);
        }
    }
    let placement = record_mode(
        tx,
        ModeRow {
            person_id: command.person_id,
            prison_id: current.prison_id,
            regime: current.regime,
            mode: &CardMode::Frozen,
            reason: "closed",
            note: Some(why),
            changed_by: &command.closed_by,
        },
    )
    .await?;
    let done = Closed {
        payout_entry_id,
        paid_out,
        closed_accounts,
        left_open,
        placement,
    };
    idempotency::finish(tx, claim, &done).await?;
    Ok(done)
}

async fn db_now(tx: &Transaction<'_>) -> LedgerResult<OffsetDateTime> {
    let statement = tx.prepare_cached("select clock_timestamp() as now").await?;
    Ok(tx.query_one(&statement, &[]).await?.get("now"))
}

async fn currency_of_person(tx: &Transaction<'_>, person_id: Uuid) -> LedgerResult<Currency> {
    let statement = tx
        .prepare_cached(
            "select currency from ledger_accounts where person_id = $1 and purpose = $2
             order by created_at limit 1",
        )
        .await?;
    let row = tx
        .query_opt(&statement, &[&person_id, &person_purpose::SPENDABLE])
        .await?
        .ok_or_else(|| {
            LedgerError::invalid("person_accounts_missing", "the person has no accounts")
        })?;
    Ok(Currency::from_code(row.get::<_, &str>("currency"))?)
}

// ---------------------------------------------------------------------------------------------
// Freezes

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FreezeCause {
    /// Lost card, investigation, staff decision.
    Staff,
    Death,
    Escape,
}

impl FreezeCause {
    fn reason(self) -> &'static str {
        match self {
            FreezeCause::Staff => "freeze",
            FreezeCause::Death => "freeze_death",
            FreezeCause::Escape => "freeze_escape",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    pub idempotency_key: String,
    pub person_id: Uuid,
    pub cause: FreezeCause,
    pub note: Option<String>,
    pub frozen_by: String,
}

/// Freezes the card at once: every authorization is declined `CARD_INACTIVE` / `card_frozen`.
/// Money stays where it is until staff resolve the freeze.
pub async fn freeze(tx: &Transaction<'_>, command: &Freeze) -> LedgerResult<Placement> {
    finish_key(&command.idempotency_key)?;
    let claim = match idempotency::begin(
        tx,
        &format!("freeze:{}", command.idempotency_key),
        "controls.freeze",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    lock_person(tx, command.person_id).await?;
    let current = require_placement(tx, command.person_id).await?;
    refuse_if_closed(&current)?;
    let placement = record_mode(
        tx,
        ModeRow {
            person_id: command.person_id,
            prison_id: current.prison_id,
            regime: current.regime,
            mode: &CardMode::Frozen,
            reason: command.cause.reason(),
            note: command.note.as_deref(),
            changed_by: &command.frozen_by,
        },
    )
    .await?;
    idempotency::finish(tx, claim, &placement).await?;
    Ok(placement)
}

/// How staff resolve a freeze.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "resolution", rename_all = "snake_case")]
pub enum Resolution {
    /// Back to the mode before the freeze (a dated leave that has passed means `Inside`).
    Restore,
    /// Recaptured or returned to another prison: `Inside` there, under its policy.
    ReturnTo { prison_id: Uuid, regime: Regime },
    /// Death (or a decision to close): everything paid out to the payout account (the estate),
    /// accounts closed.
    PayOutAndClose {
        #[serde(with = "crate::model::date_format")]
        effective_date: Date,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveFreeze {
    pub idempotency_key: String,
    pub person_id: Uuid,
    pub resolution: Resolution,
    pub resolved_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub placement: Placement,
    pub closed: Option<Closed>,
}

pub async fn resolve_freeze(
    tx: &Transaction<'_>,
    command: &ResolveFreeze,
) -> LedgerResult<Resolved> {
    finish_key(&command.idempotency_key)?;
    lock_person(tx, command.person_id).await?;
    let current = require_placement(tx, command.person_id).await?;
    if let Resolution::PayOutAndClose { effective_date } = command.resolution {
        let closed = close(
            tx,
            &Closure {
                idempotency_key: command.idempotency_key.clone(),
                person_id: command.person_id,
                effective_date,
                closed_by: command.resolved_by.clone(),
            },
            "freeze_resolved",
        )
        .await?;
        return Ok(Resolved {
            placement: closed.placement.clone(),
            closed: Some(closed),
        });
    }
    let claim = match idempotency::begin(
        tx,
        &format!("unfreeze:{}", command.idempotency_key),
        "controls.resolve_freeze",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    refuse_if_closed(&current)?;
    if current.mode != CardMode::Frozen {
        return Err(LedgerError::invalid(
            "mode_conflict",
            "the card is not frozen",
        ));
    }
    let (prison_id, regime, mode) = match command.resolution {
        Resolution::ReturnTo { prison_id, regime } => (prison_id, regime, CardMode::Inside),
        // PayOutAndClose returned above.
        Resolution::Restore | Resolution::PayOutAndClose { .. } => {
            let before = mode_before_freeze(tx, command.person_id).await?;
            (current.prison_id, current.regime, before)
        }
    };
    let placement = record_mode(
        tx,
        ModeRow {
            person_id: command.person_id,
            prison_id,
            regime,
            mode: &mode,
            reason: "unfreeze",
            note: None,
            changed_by: &command.resolved_by,
        },
    )
    .await?;
    let done = Resolved {
        placement,
        closed: None,
    };
    idempotency::finish(tx, claim, &done).await?;
    Ok(done)
}

/// Closed accounts stay closed: a closure's `Frozen` is an end state, not a freeze to lift or
/// replace (restoring the mode before it would reopen a card on closed accounts).
fn refuse_if_closed(current: &Placement) -> LedgerResult<()> {
    if current.mode == CardMode::Frozen && current.reason == "closed" {
        return Err(LedgerError::invalid(
            "accounts_closed",
            "the person's accounts are closed",
        ));
    }
    Ok(())
}

/// The latest mode that was not a freeze; `Inside` if there was none.
async fn mode_before_freeze(tx: &Transaction<'_>, person_id: Uuid) -> LedgerResult<CardMode> {
    let statement = tx
        .prepare_cached(
            "select mode from controls.card_modes
             where person_id = $1 and mode->>'mode' <> 'frozen'
             order by effective_from desc, id desc limit 1",
        )
        .await?;
    match tx.query_opt(&statement, &[&person_id]).await? {
        Some(row) => Ok(serde_json::from_value(row.get("mode"))?),
        None => Ok(CardMode::Inside),
    }
}

/// The person's mode at `at`, as the card sees it (the kiosk's "your card works inside only").
pub async fn effective_mode(
    client: &impl GenericClient,
    person_id: Uuid,
    at: OffsetDateTime,
) -> LedgerResult<Option<EffectiveMode>> {
    Ok(policy_store::current_placement(client, person_id)
        .await?
        .map(|placement| placement.mode.effective_at(at)))
}
