//! The ledger's nouns: accounts, entries, postings, holds, balances.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::{LedgerError, LedgerResult};
use crate::money::{Currency, Money};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    Asset,
    Liability,
    Income,
    Expense,
    Equity,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Asset => "asset",
            AccountType::Liability => "liability",
            AccountType::Income => "income",
            AccountType::Expense => "expense",
            AccountType::Equity => "equity",
        }
    }

    pub fn parse(text: &str) -> LedgerResult<AccountType> {
        Ok(match text {
            "asset" => AccountType::Asset,
            "liability" => AccountType::Liability,
            "income" => AccountType::Income,
            "expense" => AccountType::Expense,
            "equity" => AccountType::Equity,
            _ => {
                return Err(LedgerError::invalid(
                    "account_type_invalid",
                    "unknown account type",
                ));
            }
        })
    }

    /// Assets and expenses grow with debits; the others with credits. Postings are stored with
    /// debit positive, so an account's balance is `sign * sum(postings)`.
    pub fn normal_sign(self) -> i64 {
        match self {
            AccountType::Asset | AccountType::Expense => 1,
            AccountType::Liability | AccountType::Income | AccountType::Equity => -1,
        }
    }
}

/// Whose money an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    /// A prisoner (or other person), by pseudonymous id only.
    Person {
        person_id: Uuid,
    },
    Institution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceRule {
    NonNegative,
    MayGoNegative,
}

impl BalanceRule {
    pub fn as_str(self) -> &'static str {
        match self {
            BalanceRule::NonNegative => "non_negative",
            BalanceRule::MayGoNegative => "may_go_negative",
        }
    }

    pub fn parse(text: &str) -> LedgerResult<BalanceRule> {
        match text {
            "non_negative" => Ok(BalanceRule::NonNegative),
            "may_go_negative" => Ok(BalanceRule::MayGoNegative),
            _ => Err(LedgerError::invalid(
                "balance_rule_invalid",
                "unknown balance rule",
            )),
        }
    }
}

/// Purposes of a prisoner's sub-accounts.
pub mod person_purpose {
    pub const SPENDABLE: &str = "spendable";
    pub const RELEASE_SAVINGS: &str = "release_savings";
    pub const HELD_DEPOSITS: &str = "held_deposits";
    pub const RESTITUTION: &str = "restitution";
    /// Call credit at the prison's telephony service (docs/services.md): opened at the first
    /// top-up, not at admission; back to spendable at release.
    pub const CALL_CREDIT: &str = "call_credit";
}

/// Purposes of the institution's accounts.
pub mod institution_purpose {
    pub const BANK_TRUST: &str = "bank_trust";
    pub const PROCESSOR_FUNDING: &str = "processor_funding";
    pub const CARD_SETTLEMENT_PAYABLE: &str = "card_settlement_payable";
    pub const FEES_INCOME: &str = "fees_income";
    pub const SUSPENSE: &str = "suspense";
    pub const WAGES_EXPENSE: &str = "wages_expense";
    pub const CASH_ON_HAND: &str = "cash_on_hand";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub code: String,
    pub account_type: AccountType,
    pub currency: Currency,
    pub owner: Owner,
    pub purpose: String,
    pub balance_rule: BalanceRule,
    /// Shared by many prisoners' transactions: no running balance row (see docs/ledger.md).
    pub is_hot: bool,
}

impl NewAccount {
    /// A prisoner's sub-account: a liability of the institution that may not go negative.
    pub fn person(person_id: Uuid, purpose: &str, currency: Currency) -> NewAccount {
        NewAccount {
            code: format!("person:{person_id}:{purpose}:{currency}"),
            account_type: AccountType::Liability,
            currency,
            owner: Owner::Person { person_id },
            purpose: purpose.to_owned(),
            balance_rule: BalanceRule::NonNegative,
            is_hot: false,
        }
    }

    /// A shared institutional account: hot, balance derived from postings.
    pub fn institution(purpose: &str, account_type: AccountType, currency: Currency) -> NewAccount {
        NewAccount {
            code: format!("institution:{purpose}:{currency}"),
            account_type,
            currency,
            owner: Owner::Institution,
            purpose: purpose.to_owned(),
            balance_rule: BalanceRule::MayGoNegative,
            is_hot: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub code: String,
    pub account_type: AccountType,
    pub currency: Currency,
    pub owner: Owner,
    pub purpose: String,
    pub balance_rule: BalanceRule,
    pub is_hot: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

/// One line of an entry: debit positive, credit negative, in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostingDraft {
    pub account_id: Uuid,
    pub amount: Money,
}

impl PostingDraft {
    pub fn debit(account_id: Uuid, amount: Money) -> PostingDraft {
        PostingDraft { account_id, amount }
    }

    pub fn credit(account_id: Uuid, amount: Money) -> LedgerResult<PostingDraft> {
        Ok(PostingDraft {
            account_id,
            amount: amount.checked_neg()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRef {
    pub kind: String,
    pub value: String,
    /// At most one entry may carry a unique reference (e.g. a processor transaction id).
    pub unique: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Overdraft {
    /// A non-negative account may not go below zero: the command fails.
    #[default]
    Refuse,
    /// Book it anyway and flag the entry (stand-in approvals, force posts, late clearings).
    AllowAndFlag,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryDraft {
    pub idempotency_key: String,
    #[serde(with = "date_format")]
    pub effective_date: Date,
    pub description: String,
    pub metadata: serde_json::Value,
    pub external_refs: Vec<ExternalRef>,
    pub postings: Vec<PostingDraft>,
    pub overdraft: Overdraft,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub id: i64,
    pub account_id: Uuid,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: Uuid,
    pub seq: i64,
    #[serde(with = "date_format")]
    pub effective_date: Date,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub description: String,
    pub metadata: serde_json::Value,
    pub reverses_entry_id: Option<Uuid>,
    pub overdraft_flagged: bool,
    pub postings: Vec<Posting>,
    pub external_refs: Vec<ExternalRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub id: Uuid,
    pub account_id: Uuid,
    /// The amount held now: placed plus increases, less what was captured, released or expired.
    pub remaining: Money,
    /// The amount first placed.
    pub placed: Money,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// Balances in the account's normal direction: positive means the account holds money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub account_id: Uuid,
    pub posted: Money,
    pub held: Money,
    pub available: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub posting_id: i64,
    pub entry_id: Uuid,
    #[serde(with = "date_format")]
    pub effective_date: Date,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub description: String,
    /// In the account's normal direction: positive adds to the balance.
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementPage {
    pub lines: Vec<StatementLine>,
    /// Pass as `after_posting_id` to get the next page; `None` on the last page.
    pub next_after_posting_id: Option<i64>,
}

/// Dates as `YYYY-MM-DD`.
pub mod date_format {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::format_description::well_known::Iso8601;
    use time::macros::format_description;

    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text = date
            .format(format_description!("[year]-[month]-[day]"))
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text, &Iso8601::DATE).map_err(serde::de::Error::custom)
    }

    /// `YYYY-MM-DD` read from a path, a query or a file; `None` for anything else.
    pub fn parse(text: &str) -> Option<Date> {
        Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
    }
}
