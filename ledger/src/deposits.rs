//! Family deposits: only from approved senders, held for review above a threshold (or when they
//! would take the prisoner over the policy's maximum balance), then accepted (allocated like
//! any income) or rejected and refunded. Monitoring rules flag unusual patterns for staff; they
//! never stop a deposit.
//!
//! Senders are pseudonymous ids from the identity store (a depositor's `person_id`); who they
//! are is known only there.

// Cent amounts are grouped as euros_cents: `1_500_00` is 1 500.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]

use deadpool_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::accounts::{PersonAccounts, institution_account};
use crate::controls::MaxBalanceCheck;
use crate::entry_text::EntryText;
use crate::error::{LedgerError, LedgerResult};
use crate::idempotency::{self, Begun};
use crate::income::{Income, IncomeKind, IncomeSource, post_income};
use crate::model::{
    AccountType, EntryDraft, ExternalRef, Overdraft, PostingDraft, institution_purpose,
};
use crate::money::{Currency, Money, MoneyError};
use crate::policy_store::{self, lock_person, require_placement};
use crate::store;

/// A prison's deposit settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRules {
    pub prison_id: Uuid,
    pub version: u32,
    /// Deposits above this wait for review in `held_deposits`.
    pub review_threshold: Money,
    /// The look-back of the pattern rules.
    pub monitoring_window_days: u32,
    /// More distinct senders than this to one prisoner in the window: flag.
    pub max_senders_per_prisoner: u32,
    /// One sender to more prisoners than this in the window: flag.
    pub max_prisoners_per_sender: u32,
    /// A deposit of at least this: flag.
    pub high_amount: Money,
}

impl DepositRules {
    /// Used until a prison publishes its own (HMPPS's monitoring rules: more than four senders,
    /// more than four prisoners, high amounts).
    pub fn defaults(prison_id: Uuid, currency: Currency) -> DepositRules {
        DepositRules {
            prison_id,
            version: 0,
            review_threshold: Money::new(250_00, currency),
            monitoring_window_days: 28,
            max_senders_per_prisoner: 4,
            max_prisoners_per_sender: 4,
            high_amount: Money::new(150_00, currency),
        }
    }
}

pub async fn publish_deposit_rules(
    tx: &Transaction<'_>,
    rules: &DepositRules,
    created_by: &str,
) -> LedgerResult<DepositRules> {
    if rules.review_threshold.currency != rules.high_amount.currency {
        return Err(LedgerError::invalid(
            "currency_mismatch",
            "threshold and high amount are in one currency",
        ));
    }
    let next = tx
        .prepare_cached(
            "select coalesce(max(version), 0) + 1 as version from controls.deposit_rules
             where prison_id = $1",
        )
        .await?;
    let version: i32 = tx
        .query_one(&next, &[&rules.prison_id])
        .await?
        .get("version");
    let to_i32 = |n: u32| i32::try_from(n).map_err(|_| LedgerError::from(MoneyError::Overflow));
    let insert = tx
        .prepare_cached(
            "insert into controls.deposit_rules
                (prison_id, version, currency, review_threshold_minor, monitoring_window_days,
                 max_senders_per_prisoner, max_prisoners_per_sender, high_amount_minor, created_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &rules.prison_id,
            &version,
            &rules.review_threshold.currency.code(),
            &rules.review_threshold.amount_minor,
            &to_i32(rules.monitoring_window_days)?,
            &to_i32(rules.max_senders_per_prisoner)?,
            &to_i32(rules.max_prisoners_per_sender)?,
            &rules.high_amount.amount_minor,
            &created_by,
        ],
    )
    .await
    .map_err(|error| match error.code() {
        Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION) => LedgerError::invalid(
            "deposit_rules_invalid",
            "amounts are positive, the window 1 to 366 days, counts at least 1",
        ),
        _ => LedgerError::Database(error),
    })?;
    Ok(DepositRules {
        version: u32::try_from(version).unwrap_or(0),
        ..*rules
    })
}

pub async fn deposit_rules(
    client: &impl GenericClient,
    prison_id: Uuid,
    currency: Currency,
) -> LedgerResult<DepositRules> {
    let statement = client
        .prepare_cached(
            "select version, currency, review_threshold_minor, monitoring_window_days,
                    max_senders_per_prisoner, max_prisoners_per_sender, high_amount_minor
             from controls.deposit_rules where prison_id = $1 order by version desc limit 1",
        )
        .await?;
    let Some(row) = client.query_opt(&statement, &[&prison_id]).await? else {
        return Ok(DepositRules::defaults(prison_id, currency));
    };
    let stored = Currency::from_code(row.get::<_, &str>("currency"))?;
    let count = |column: &str| u32::try_from(row.get::<_, i32>(column)).unwrap_or(1);
    Ok(DepositRules {
        prison_id,
        version: count("version"),
        review_threshold: Money::new(row.get("review_threshold_minor"), stored),
        monitoring_window_days: count("monitoring_window_days"),
        max_senders_per_prisoner: count("max_senders_per_prisoner"),
        max_prisoners_per_sender: count("max_prisoners_per_sender"),
        high_amount: Money::new(row.get("high_amount_minor"), stored),
    })
}

// ---------------------------------------------------------------------------------------------
// Approved senders

/// Approves (or withdraws the approval of) a sender for a prisoner. The latest decision counts.
pub async fn set_sender_approval(
    tx: &Transaction<'_>,
    person_id: Uuid,
    sender_id: Uuid,
    approved: bool,
    decided_by: &str,
) -> LedgerResult<()> {
    lock_person(tx, person_id).await?;
    let placement = require_placement(tx, person_id).await?;
    let insert = tx
        .prepare_cached(
            "insert into controls.approved_senders (person_id, prison_id, sender_id, approved, decided_by)
             values ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &person_id,
            &placement.prison_id,
            &sender_id,
            &approved,
            &decided_by,
        ],
    )
    .await?;
    Ok(())
}

pub async fn is_sender_approved(
    client: &impl GenericClient,
    person_id: Uuid,
    sender_id: Uuid,
) -> LedgerResult<bool> {
    let statement = client
        .prepare_cached(
            "select approved from controls.approved_senders
             where person_id = $1 and sender_id = $2 order by id desc limit 1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&person_id, &sender_id])
        .await?
        .is_some_and(|row| row.get("approved")))
}

// ---------------------------------------------------------------------------------------------
// Deposits

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositState {
    PendingReview,
    Accepted,
    Rejected,
}

impl DepositState {
    pub fn as_str(self) -> &'static str {
        match self {
            DepositState::PendingReview => "pending_review",
            DepositState::Accepted => "accepted",
            DepositState::Rejected => "rejected",
        }
    }

    /// A review decision as `controls.deposit_decisions` stores it: accepted or rejected, and
    /// anything else an error (never read as a default).
    fn decided(text: &str) -> LedgerResult<DepositState> {
        [DepositState::Accepted, DepositState::Rejected]
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| {
                LedgerError::invalid("deposit_state_invalid", "unknown deposit decision state")
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    pub deposit_id: Uuid,
    pub person_id: Uuid,
    pub prison_id: Uuid,
    pub sender_id: Uuid,
    pub amount: Money,
    pub state: DepositState,
    /// The entry at receipt: the allocation (accepted at once) or the credit to held_deposits.
    pub received_entry_id: Uuid,
    /// The entry of the review decision (allocation or refund), if reviewed.
    pub decision_entry_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveDeposit {
    pub idempotency_key: String,
    pub person_id: Uuid,
    pub sender_id: Uuid,
    pub amount: Money,
    #[serde(with = "crate::model::date_format")]
    pub effective_date: Date,
    pub received_by: String,
    /// The camt.053 end-to-end reference of a deposit taken from the bank statement (the bank
    /// rail, docs/payouts.md): the receipt entry carries it, so the statement line reconciles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_end_to_end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    pub deposit: Deposit,
    /// Why it waits for review: `above_review_threshold`, `over_max_balance`.
    pub held_because: Option<String>,
    /// Monitoring rules this deposit raised.
    pub flags: Vec<String>,
}

fn deposit_ref(kind: &str, deposit_id: Uuid) -> ExternalRef {
    ExternalRef {
        kind: kind.into(),
        value: deposit_id.to_string(),
        unique: true,
    }
}

/// Books a family deposit that arrived in the trust bank account. Refused
/// (`sender_not_approved`) unless the sender is approved for this prisoner: nothing is written
/// and finance returns the money. Above the prison's review threshold, or beyond the policy's
/// maximum balance, it goes to `held_deposits` pending review; otherwise it is allocated at once.
pub async fn receive_deposit(
    tx: &Transaction<'_>,
    command: &ReceiveDeposit,
) -> LedgerResult<Received> {
    if command.idempotency_key.is_empty() || command.idempotency_key.len() > 150 {
        return Err(LedgerError::invalid(
            "idempotency_key_invalid",
            "a deposit key is 1 to 150 bytes",
        ));
    }
    if !command.amount.is_positive() {
        return Err(MoneyError::NotPositive.into());
    }
    let claim = match idempotency::begin(
        tx,
        &format!("deposit:{}", command.idempotency_key),
        "controls.receive_deposit",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    lock_person(tx, command.person_id).await?;
    let placement = require_placement(tx, command.person_id).await?;
    if !is_sender_approved(tx, command.person_id, command.sender_id).await? {
        return Err(LedgerError::invalid(
            "sender_not_approved",
            "the sender is not approved for this prisoner",
        ));
    }
    let currency = command.amount.currency;
    let accounts = PersonAccounts::of(tx, command.person_id, currency).await?;
    let rules = deposit_rules(tx, placement.prison_id, currency).await?;
    let mut held_because = None;
    if command.amount.amount_minor > rules.review_threshold.amount_minor {
        held_because = Some("above_review_threshold");
    } else if let Some((_, MaxBalanceCheck::Exceeds { .. })) =
        max_balance_check(tx, command.person_id, &accounts, command.amount).await?
    {
        held_because = Some("over_max_balance");
    }
    let deposit_id = Uuid::now_v7();
    let mut receipt_refs = vec![deposit_ref("deposit", deposit_id)];
    if let Some(end_to_end) = &command.bank_end_to_end {
        receipt_refs.push(ExternalRef {
            kind: crate::bank_rail::ref_kind::BANK_END_TO_END.into(),
            value: end_to_end.clone(),
            unique: true,
        });
    }
    // Who recorded it travels with the receipt entry: the review refuses them (four eyes).
    let metadata = serde_json::json!({
        "deposit_id": deposit_id,
        "sender_id": command.sender_id,
        "prison_id": placement.prison_id,
        "received_by": command.received_by,
    });
    let entry_id = if held_because.is_some() {
        let bank = institution_account(
            tx,
            institution_purpose::BANK_TRUST,
            AccountType::Asset,
            currency,
        )
        .await?;
        store::post_entry(
            tx,
            &EntryDraft {
                idempotency_key: format!("deposit:{deposit_id}:held"),
                effective_date: command.effective_date,
                description: EntryText::FamilyDepositHeldForReview.english().into(),
                metadata,
                external_refs: receipt_refs,
                postings: vec![
                    PostingDraft::debit(bank, command.amount),
                    PostingDraft::credit(accounts.held_deposits, command.amount)?,
                ],
                overdraft: Overdraft::Refuse,
            },
        )
        .await?
        .id
    } else {
        post_income(
            tx,
            &Income {
                idempotency_key: format!("deposit:{deposit_id}:accepted"),
                person_id: command.person_id,
                kind: IncomeKind::Deposit,
                source: IncomeSource::BankTrust,
                amount: command.amount,
                effective_date: command.effective_date,
                description: EntryText::FamilyDeposit.english().into(),
                metadata,
                external_refs: receipt_refs,
            },
        )
        .await?
        .id
    };
    let insert = tx
        .prepare_cached(
            "insert into controls.deposits
                (deposit_id, idempotency_key, person_id, prison_id, sender_id, amount_minor,
                 currency, received_entry_id, held_for_review)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &deposit_id,
            &command.idempotency_key,
            &command.person_id,
            &placement.prison_id,
            &command.sender_id,
            &command.amount.amount_minor,
            &currency.code(),
            &entry_id,
            &held_because.is_some(),
        ],
    )
    .await?;
    let flags = raise_flags(tx, &rules, deposit_id, command, placement.prison_id).await?;
    let done = Received {
        deposit: Deposit {
            deposit_id,
            person_id: command.person_id,
            prison_id: placement.prison_id,
            sender_id: command.sender_id,
            amount: command.amount,
            state: if held_because.is_some() {
                DepositState::PendingReview
            } else {
                DepositState::Accepted
            },
            received_entry_id: entry_id,
            decision_entry_id: None,
        },
        held_because: held_because.map(str::to_owned),
        flags,
    };
    idempotency::finish(tx, claim, &done).await?;
    Ok(done)
}

/// Whether a credit of `amount` to the person fits under their policy's maximum balance (over
/// spendable, release savings and restitution, as posted now), with the maximum. None: no policy
/// applies, or it sets no maximum. Callers hold the person's lock.
async fn max_balance_check(
    tx: &Transaction<'_>,
    person_id: Uuid,
    accounts: &PersonAccounts,
    amount: Money,
) -> LedgerResult<Option<(Money, MaxBalanceCheck)>> {
    let Some(controls) =
        policy_store::effective_controls(tx, person_id, time::OffsetDateTime::now_utc()).await?
    else {
        return Ok(None);
    };
    let Some(max) = controls.policy.max_balance else {
        return Ok(None);
    };
    let mut total = Money::zero(amount.currency);
    for account in [
        accounts.spendable,
        accounts.release_savings,
        accounts.restitution,
    ] {
        total = total.checked_add(store::balance(tx, account).await?.posted)?;
    }
    Ok(controls
        .policy
        .check_max_balance(total, amount)
        .ok()
        .map(|check| (max, check)))
}

/// The maximum-balance rule for money credited outside [`receive_deposit`] (cash at intake):
/// takes the person's lock (so two credits cannot both fit alone and overflow together, nor race
/// a family deposit), then checks `amount` against the policy's maximum. Returns the maximum and
/// the check; None when no maximum applies.
pub async fn check_credit_against_max_balance(
    tx: &Transaction<'_>,
    person_id: Uuid,
    amount: Money,
) -> LedgerResult<Option<(Money, MaxBalanceCheck)>> {
    if !amount.is_positive() {
        return Err(MoneyError::NotPositive.into());
    }
    lock_person(tx, person_id).await?;
    let accounts = PersonAccounts::of(tx, person_id, amount.currency).await?;
    max_balance_check(tx, person_id, &accounts, amount).await
}

/// The monitoring rules over the window ending now; returns the rules that raised a flag.
async fn raise_flags(
    tx: &Transaction<'_>,
    rules: &DepositRules,
    deposit_id: Uuid,
    command: &ReceiveDeposit,
    prison_id: Uuid,
) -> LedgerResult<Vec<String>> {
    let counts = tx
        .prepare_cached(
            "select
                (select count(distinct sender_id) from controls.deposits
                 where person_id = $1 and received_at > clock_timestamp() - make_interval(days => $3)) as senders,
                (select count(distinct person_id) from controls.deposits
                 where sender_id = $2 and received_at > clock_timestamp() - make_interval(days => $3))
                as prisoners",
        )
        .await?;
    let window_days = i32::try_from(rules.monitoring_window_days).unwrap_or(28);
    let row = tx
        .query_one(
            &counts,
            &[&command.person_id, &command.sender_id, &window_days],
        )
        .await?;
    let senders: i64 = row.get("senders");
    let prisoners: i64 = row.get("prisoners");
    let mut raised = Vec::new();
    if senders > i64::from(rules.max_senders_per_prisoner) {
        raised.push((
            "many_senders_to_prisoner",
            serde_json::json!({"distinct_senders": senders, "window_days": window_days}),
        ));
    }
    if prisoners > i64::from(rules.max_prisoners_per_sender) {
        raised.push((
            "sender_to_many_prisoners",
            serde_json::json!({"distinct_prisoners": prisoners, "window_days": window_days}),
        ));
    }
    if command.amount.currency == rules.high_amount.currency
        && command.amount.amount_minor >= rules.high_amount.amount_minor
    {
        raised.push((
            "high_amount",
            serde_json::json!({"amount": command.amount, "high_amount": rules.high_amount}),
        ));
    }
    let insert = tx
        .prepare_cached(
            "insert into controls.monitoring_flags (prison_id, rule, person_id, sender_id, deposit_id, detail)
             values ($1, $2, $3, $4, $5, $6) on conflict (rule, deposit_id) do nothing",
        )
        .await?;
    for (rule, detail) in &raised {
        tx.execute(
            &insert,
            &[
                &prison_id,
                rule,
                &command.person_id,
                &command.sender_id,
                &deposit_id,
                detail,
            ],
        )
        .await?;
    }
    Ok(raised
        .into_iter()
        .map(|(rule, _)| rule.to_owned())
        .collect())
}

pub async fn deposit(client: &impl GenericClient, deposit_id: Uuid) -> LedgerResult<Deposit> {
    let statement = client
        .prepare_cached(
            "select d.person_id, d.prison_id, d.sender_id, d.amount_minor, d.currency,
                    d.received_entry_id, d.held_for_review, r.state, r.entry_id
             from controls.deposits d
             left join controls.deposit_decisions r on r.deposit_id = d.deposit_id
             where d.deposit_id = $1",
        )
        .await?;
    let row = client
        .query_opt(&statement, &[&deposit_id])
        .await?
        .ok_or_else(|| LedgerError::invalid("unknown_deposit", "no such deposit"))?;
    let currency = Currency::from_code(row.get::<_, &str>("currency"))?;
    let held: bool = row.get("held_for_review");
    let decided: Option<&str> = row.get("state");
    let state = match decided {
        Some(text) => DepositState::decided(text)?,
        None if held => DepositState::PendingReview,
        None => DepositState::Accepted,
    };
    Ok(Deposit {
        deposit_id,
        person_id: row.get("person_id"),
        prison_id: row.get("prison_id"),
        sender_id: row.get("sender_id"),
        amount: Money::new(row.get("amount_minor"), currency),
        state,
        received_entry_id: row.get("received_entry_id"),
        decision_entry_id: row.get("entry_id"),
    })
}

/// Deposits waiting for review in a prison, oldest first.
pub async fn pending_deposits(
    client: &impl GenericClient,
    prison_id: Uuid,
    limit: i64,
) -> LedgerResult<Vec<Uuid>> {
    let statement = client
        .prepare_cached(
            "select d.deposit_id from controls.deposits d
             where d.prison_id = $1 and d.held_for_review
               and not exists (select 1 from controls.deposit_decisions r
                               where r.deposit_id = d.deposit_id)
             order by d.received_at limit $2",
        )
        .await?;
    Ok(client
        .query(&statement, &[&prison_id, &limit.clamp(1, 500)])
        .await?
        .iter()
        .map(|row| row.get("deposit_id"))
        .collect())
}

/// Who recorded a deposit, from its receipt entry (`None` for deposits booked before it was
/// recorded there).
pub async fn received_by(
    client: &impl GenericClient,
    received_entry_id: Uuid,
) -> LedgerResult<Option<String>> {
    let statement = client
        .prepare_cached(
            "select metadata->>'received_by' as received_by from journal_entries where id = $1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&received_entry_id])
        .await?
        .and_then(|row| row.get("received_by")))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDeposit {
    pub deposit_id: Uuid,
    pub accept: bool,
    pub reason: Option<String>,
    #[serde(with = "crate::model::date_format")]
    pub effective_date: Date,
    pub decided_by: String,
}

/// Accepts (allocated from `held_deposits` like any deposit) or rejects (refunded: debit
/// `held_deposits`, credit `bank_trust`, reference `refund`; finance returns the money to the
/// sender; a bank transfer's goes back by itself, [`crate::bank_rail::return_rejected_deposit`])
/// a held deposit. A second decision is `deposit_already_decided`; the member of staff
/// who recorded the deposit cannot decide it (`four_eyes`).
pub async fn review_deposit(
    tx: &Transaction<'_>,
    command: &ReviewDeposit,
) -> LedgerResult<Deposit> {
    let current = deposit(tx, command.deposit_id).await?;
    lock_person(tx, current.person_id).await?;
    let current = deposit(tx, command.deposit_id).await?;
    if current.state != DepositState::PendingReview {
        return Err(LedgerError::invalid(
            "deposit_already_decided",
            "the deposit is not pending review",
        ));
    }
    if received_by(tx, current.received_entry_id).await?.as_deref()
        == Some(command.decided_by.as_str())
    {
        return Err(LedgerError::invalid(
            "four_eyes",
            "the member of staff who recorded a deposit cannot review it",
        ));
    }
    if !command.accept
        && command
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        return Err(LedgerError::invalid(
            "reason_required",
            "a rejection has a reason",
        ));
    }
    let metadata = serde_json::json!({
        "deposit_id": current.deposit_id,
        "sender_id": current.sender_id,
    });
    let entry_id = if command.accept {
        post_income(
            tx,
            &Income {
                idempotency_key: format!("deposit:{}:review", current.deposit_id),
                person_id: current.person_id,
                kind: IncomeKind::Deposit,
                source: IncomeSource::HeldDeposits,
                amount: current.amount,
                effective_date: command.effective_date,
                description: EntryText::FamilyDepositAccepted.english().into(),
                metadata,
                external_refs: vec![deposit_ref("deposit_accepted", current.deposit_id)],
            },
        )
        .await?
        .id
    } else if let Some(bank_end_to_end) =
        crate::bank_rail::bank_end_to_end_of(tx, current.received_entry_id).await?
    {
        // It came by bank transfer: it goes back to the sender's account in the next payment
        // file, never left for someone to return by hand.
        crate::bank_rail::return_rejected_deposit(
            tx,
            &current,
            &bank_end_to_end,
            command.effective_date,
            &command.decided_by,
        )
        .await?
    } else {
        let accounts = PersonAccounts::of(tx, current.person_id, current.amount.currency).await?;
        let bank = institution_account(
            tx,
            institution_purpose::BANK_TRUST,
            AccountType::Asset,
            current.amount.currency,
        )
        .await?;
        store::post_entry(
            tx,
            &EntryDraft {
                idempotency_key: format!("deposit:{}:review", current.deposit_id),
                effective_date: command.effective_date,
                description: EntryText::FamilyDepositRefunded.english().into(),
                metadata,
                external_refs: vec![deposit_ref("refund", current.deposit_id)],
                postings: vec![
                    PostingDraft::debit(accounts.held_deposits, current.amount),
                    PostingDraft::credit(bank, current.amount)?,
                ],
                overdraft: Overdraft::Refuse,
            },
        )
        .await?
        .id
    };
    let insert = tx
        .prepare_cached(
            "insert into controls.deposit_decisions (deposit_id, state, entry_id, reason, decided_by)
             values ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &current.deposit_id,
            &if command.accept {
                DepositState::Accepted.as_str()
            } else {
                DepositState::Rejected.as_str()
            },
            &entry_id,
            &command.reason,
            &command.decided_by,
        ],
    )
    .await?;
    deposit(tx, command.deposit_id).await
}

// ---------------------------------------------------------------------------------------------
// Monitoring flags

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringFlag {
    pub id: i64,
    pub prison_id: Uuid,
    pub rule: String,
    pub person_id: Option<Uuid>,
    pub sender_id: Option<Uuid>,
    pub deposit_id: Uuid,
    pub detail: serde_json::Value,
}

/// Flags of a prison nobody has reviewed yet, oldest first.
pub async fn open_flags(
    client: &impl GenericClient,
    prison_id: Uuid,
    limit: i64,
) -> LedgerResult<Vec<MonitoringFlag>> {
    let statement = client
        .prepare_cached(
            "select f.id, f.rule, f.person_id, f.sender_id, f.deposit_id, f.detail
             from controls.monitoring_flags f
             where f.prison_id = $1
               and not exists (select 1 from controls.flag_reviews r where r.flag_id = f.id)
             order by f.id limit $2",
        )
        .await?;
    Ok(client
        .query(&statement, &[&prison_id, &limit.clamp(1, 500)])
        .await?
        .iter()
        .map(|row| MonitoringFlag {
            id: row.get("id"),
            prison_id,
            rule: row.get("rule"),
            person_id: row.get("person_id"),
            sender_id: row.get("sender_id"),
            deposit_id: row.get("deposit_id"),
            detail: row.get("detail"),
        })
        .collect())
}

/// Records a staff review of a flag (`no_concern` or `referred`); once per flag.
pub async fn review_flag(
    tx: &Transaction<'_>,
    flag_id: i64,
    outcome: &str,
    note: Option<&str>,
    reviewed_by: &str,
) -> LedgerResult<()> {
    let insert = tx
        .prepare_cached(
            "insert into controls.flag_reviews (flag_id, outcome, note, reviewed_by)
             values ($1, $2, $3, $4)",
        )
        .await?;
    tx.execute(&insert, &[&flag_id, &outcome, &note, &reviewed_by])
        .await
        .map_err(|error| match error.code() {
            Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                LedgerError::invalid("flag_already_reviewed", "the flag was reviewed already")
            }
            Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) => {
                LedgerError::invalid("unknown_flag", "no such flag")
            }
            Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION) => {
                LedgerError::invalid("outcome_invalid", "no_concern or referred")
            }
            _ => LedgerError::Database(error),
        })?;
    Ok(())
}
