//! Income (wages, allowances, deposits) split over a prisoner's sub-accounts by the prison's
//! allocation rules and posted as ONE balanced entry whose parts sum exactly to the income.
//!
//! Rule sets live in `controls.allocation_rule_sets`, one versioned list per prison and income
//! kind; the latest version is current and each rule carries its own effective dates.

// Cent amounts are grouped as euros_cents: `1_500_00` is 1 500.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]

use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::accounts::{PersonAccounts, institution_account};
use crate::allocation::{AllocationError, AllocationRule, Purpose, allocate_on};
use crate::error::{LedgerError, LedgerResult};
use crate::model::institution_purpose;
use crate::model::{AccountType, EntryDraft, ExternalRef, Overdraft, PostingDraft};
use crate::money::{Currency, Money};
use crate::store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeKind {
    Wages,
    Allowance,
    Deposit,
}

impl IncomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncomeKind::Wages => "wages",
            IncomeKind::Allowance => "allowance",
            IncomeKind::Deposit => "deposit",
        }
    }
}

pub(crate) fn allocation_error(error: AllocationError) -> LedgerError {
    match error {
        AllocationError::Money(error) => error.into(),
        other => LedgerError::invalid("allocation_invalid", other.to_string()),
    }
}

/// The allocation rules of one prison for one kind of income.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    pub prison_id: Uuid,
    pub income_kind: IncomeKind,
    pub version: u32,
    pub rules: Vec<AllocationRule>,
    /// Spendable never gets less than `min(this, income)` (European Prison Rules 26).
    pub minimum_spendable: Money,
}

impl RuleSet {
    /// No rules: everything to spendable.
    pub fn everything_spendable(
        prison_id: Uuid,
        income_kind: IncomeKind,
        currency: Currency,
    ) -> RuleSet {
        RuleSet {
            prison_id,
            income_kind,
            version: 0,
            rules: Vec::new(),
            minimum_spendable: Money::zero(currency),
        }
    }

    /// The parts of one income on `on`, given the sub-accounts' current balances.
    pub fn split(
        &self,
        on: Date,
        income: Money,
        balances: &BTreeMap<Purpose, Money>,
    ) -> LedgerResult<Vec<(Purpose, Money)>> {
        allocate_on(on, income, &self.rules, balances, self.minimum_spendable)
            .map_err(allocation_error)
    }
}

/// Stores the next version of a prison's rules for one income kind. The rules are validated
/// (percentages, amounts, currency) before anything is written.
pub async fn publish_rule_set(
    tx: &Transaction<'_>,
    prison_id: Uuid,
    income_kind: IncomeKind,
    rules: &[AllocationRule],
    minimum_spendable: Money,
    created_by: &str,
) -> LedgerResult<RuleSet> {
    if created_by.trim().is_empty() || created_by.len() > 100 {
        return Err(LedgerError::invalid(
            "actor_invalid",
            "a staff id is required",
        ));
    }
    // `allocate` validates every rule whatever the income.
    crate::allocation::allocate(
        Money::zero(minimum_spendable.currency),
        rules,
        &BTreeMap::new(),
        minimum_spendable,
    )
    .map_err(allocation_error)?;
    let lock = tx
        .prepare_cached("select pg_advisory_xact_lock(hashtextextended($1, 4006))")
        .await?;
    tx.execute(
        &lock,
        &[&format!("rules:{prison_id}:{}", income_kind.as_str())],
    )
    .await?;
    let next = tx
        .prepare_cached(
            "select coalesce(max(version), 0) + 1 as version from controls.allocation_rule_sets
             where prison_id = $1 and income_kind = $2",
        )
        .await?;
    let version: i32 = tx
        .query_one(&next, &[&prison_id, &income_kind.as_str()])
        .await?
        .get("version");
    let insert = tx
        .prepare_cached(
            "insert into controls.allocation_rule_sets
                (prison_id, income_kind, version, currency, rules, minimum_spendable_minor, created_by)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &prison_id,
            &income_kind.as_str(),
            &version,
            &minimum_spendable.currency.code(),
            &serde_json::to_value(rules)?,
            &minimum_spendable.amount_minor,
            &created_by,
        ],
    )
    .await?;
    Ok(RuleSet {
        prison_id,
        income_kind,
        version: u32::try_from(version).unwrap_or(u32::MAX),
        rules: rules.to_vec(),
        minimum_spendable,
    })
}

/// The current rules of a prison for one income kind; everything to spendable when none were
/// published.
pub async fn current_rule_set(
    client: &impl GenericClient,
    prison_id: Uuid,
    income_kind: IncomeKind,
    currency: Currency,
) -> LedgerResult<RuleSet> {
    let statement = client
        .prepare_cached(
            "select version, currency, rules, minimum_spendable_minor
             from controls.allocation_rule_sets where prison_id = $1 and income_kind = $2
             order by version desc limit 1",
        )
        .await?;
    let Some(row) = client
        .query_opt(&statement, &[&prison_id, &income_kind.as_str()])
        .await?
    else {
        return Ok(RuleSet::everything_spendable(
            prison_id,
            income_kind,
            currency,
        ));
    };
    let stored_currency = Currency::from_code(row.get::<_, &str>("currency"))?;
    if stored_currency != currency {
        return Err(LedgerError::invalid(
            "currency_mismatch",
            format!("the prison's rules are in {stored_currency}; the income is in {currency}"),
        ));
    }
    Ok(RuleSet {
        prison_id,
        income_kind,
        version: u32::try_from(row.get::<_, i32>("version")).unwrap_or(0),
        rules: serde_json::from_value(row.get("rules"))?,
        minimum_spendable: Money::new(row.get("minimum_spendable_minor"), currency),
    })
}

/// Current posted balances of the sub-accounts allocation rules can target.
pub(crate) async fn allocation_balances(
    client: &impl GenericClient,
    accounts: &PersonAccounts,
    currency: Currency,
) -> LedgerResult<BTreeMap<Purpose, Money>> {
    let statement = client
        .prepare_cached(
            "select account_id, posted_minor from account_balances where account_id = any($1)",
        )
        .await?;
    let ids = [
        accounts.spendable,
        accounts.release_savings,
        accounts.restitution,
    ];
    let rows = client.query(&statement, &[&ids.as_slice()]).await?;
    let mut balances = BTreeMap::new();
    for row in rows {
        let id: Uuid = row.get("account_id");
        let purpose = if id == accounts.spendable {
            Purpose::Spendable
        } else if id == accounts.release_savings {
            Purpose::ReleaseSavings
        } else {
            Purpose::Restitution
        };
        balances.insert(purpose, Money::new(row.get("posted_minor"), currency));
    }
    Ok(balances)
}

/// The credit postings of an allocation, one per part.
pub(crate) fn credit_parts(
    accounts: &PersonAccounts,
    parts: &[(Purpose, Money)],
) -> LedgerResult<Vec<PostingDraft>> {
    parts
        .iter()
        .map(|(purpose, amount)| {
            let account = match purpose {
                Purpose::Spendable => accounts.spendable,
                Purpose::ReleaseSavings => accounts.release_savings,
                Purpose::Restitution => accounts.restitution,
            };
            PostingDraft::credit(account, *amount)
        })
        .collect()
}

/// Where an income comes from: the account debited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IncomeSource {
    /// Wages and allowances: the institution's `wages_expense`.
    WagesExpense,
    /// Money that arrived in the trust bank account (a deposit accepted at once).
    BankTrust,
    /// A deposit held for review and now accepted: the prisoner's `held_deposits`.
    HeldDeposits,
}

/// One income for one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Income {
    pub idempotency_key: String,
    pub person_id: Uuid,
    pub kind: IncomeKind,
    pub source: IncomeSource,
    pub amount: Money,
    #[serde(with = "crate::model::date_format")]
    pub effective_date: Date,
    pub description: String,
    pub metadata: serde_json::Value,
    pub external_refs: Vec<ExternalRef>,
}

/// Allocates and posts one income in the person's current prison: one entry, debit the source,
/// credit each part. Idempotent on `idempotency_key` (the ledger's own key table).
pub async fn post_income(tx: &Transaction<'_>, income: &Income) -> LedgerResult<crate::Entry> {
    if !income.amount.is_positive() {
        return Err(crate::MoneyError::NotPositive.into());
    }
    // Keyed on the income itself, not on the entry: a replay must not depend on rules or
    // balances that changed since (a fill-to-target part would differ).
    let claim = match crate::idempotency::begin(
        tx,
        &format!("income:{}", income.idempotency_key),
        "post_income",
        income,
    )
    .await?
    {
        crate::idempotency::Begun::Replayed(entry) => return Ok(entry),
        crate::idempotency::Begun::Fresh(claim) => claim,
    };
    let placement = crate::policy_store::require_placement(tx, income.person_id).await?;
    let currency = income.amount.currency;
    let accounts = PersonAccounts::of(tx, income.person_id, currency).await?;
    let rules = current_rule_set(tx, placement.prison_id, income.kind, currency).await?;
    let balances = allocation_balances(tx, &accounts, currency).await?;
    let parts = rules.split(income.effective_date, income.amount, &balances)?;
    let debit = match income.source {
        IncomeSource::WagesExpense => {
            institution_account(
                tx,
                institution_purpose::WAGES_EXPENSE,
                AccountType::Expense,
                currency,
            )
            .await?
        }
        IncomeSource::BankTrust => {
            institution_account(
                tx,
                institution_purpose::BANK_TRUST,
                AccountType::Asset,
                currency,
            )
            .await?
        }
        IncomeSource::HeldDeposits => accounts.held_deposits,
    };
    let mut postings = vec![PostingDraft::debit(debit, income.amount)];
    postings.extend(credit_parts(&accounts, &parts)?);
    let mut metadata = income.metadata.clone();
    if let Some(object) = metadata.as_object_mut() {
        object.insert("income_kind".into(), income.kind.as_str().into());
        object.insert("prison_id".into(), placement.prison_id.to_string().into());
        object.insert("rule_set_version".into(), rules.version.into());
    }
    let entry = store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: income.idempotency_key.clone(),
            effective_date: income.effective_date,
            description: income.description.clone(),
            metadata,
            external_refs: income.external_refs.clone(),
            postings,
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    crate::idempotency::finish(tx, claim, &entry).await?;
    Ok(entry)
}
