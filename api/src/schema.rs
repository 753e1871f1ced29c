//! The response bodies the staff handlers send: each handler returns one of these types, and the
//! OpenAPI document (`crate::openapi`) describes the same structs, so what is sent and what is
//! described cannot drift. A `…Doc` type describes a type of a crate below (`ledger`, `identity`)
//! that carries no schema of its own; the field naming it says `value_type`.
//!
//! Below the routes and the services, so both name them without importing the document.
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// An amount: integer minor units and an ISO 4217 currency (never a float).
#[derive(Serialize, ToSchema)]
#[schema(as = Money)]
pub struct MoneyDoc {
    #[schema(example = 1250)]
    pub amount_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
}

/// A currency the ledger keeps (ISO 4217), as `ledger::Currency` reads it.
#[derive(Serialize, ToSchema)]
#[schema(as = Currency)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum CurrencyDoc {
    EUR,
    SEK,
    NOK,
    DKK,
    PLN,
    CZK,
    HUF,
    RON,
    BGN,
    CHF,
    GBP,
    ISK,
}

/// The currency of prisoners' accounts: only EUR is accepted where a prisoner's money moves.
#[derive(Serialize, ToSchema)]
#[schema(as = AccountCurrency)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum AccountCurrencyDoc {
    EUR,
}

/// A prisoner's sub-account (`crate::services::SUB_ACCOUNTS`).
#[derive(Serialize, ToSchema)]
#[schema(as = SubAccount)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SubAccountDoc {
    Spendable,
    ReleaseSavings,
    HeldDeposits,
}

/// An institution account an adjustment may move money against
/// (`crate::services::adjustments::INSTITUTION_ACCOUNTS`).
#[derive(Serialize, ToSchema)]
#[schema(as = InstitutionAccount)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum InstitutionAccountDoc {
    Suspense,
    FeesIncome,
    CashOnHand,
    BankTrust,
    WagesExpense,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    pub staff_id: Uuid,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub idle_timeout_seconds: i32,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub staff_id: Uuid,
    pub username: String,
    pub grants: Vec<crate::auth::Grant>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffCreated {
    pub staff_id: Uuid,
    pub grants: Vec<crate::auth::Grant>,
}

#[derive(Serialize, ToSchema)]
pub struct SendAs {
    #[schema(example = "Saldo-Kiosk-Device")]
    pub header: String,
    #[schema(example = "saldo_kiosk_device")]
    pub or_cookie: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceIssued {
    pub device_id: Uuid,
    pub prison_id: Uuid,
    /// Shown once; only its hash is kept.
    pub device_token: String,
    pub send_as: SendAs,
}

#[derive(Serialize, ToSchema)]
pub struct OpenedAccount {
    pub account_id: Uuid,
    #[schema(example = "spendable")]
    pub purpose: String,
    #[schema(example = "EUR")]
    pub currency: String,
}

#[derive(Serialize, ToSchema)]
pub struct Admitted {
    pub person_id: Uuid,
    pub prison_id: Uuid,
    /// The data-protection regime of the record (`led` for prisoners).
    pub regime: crate::identity::Regime,
    /// The prison regime whose policy the card follows.
    #[schema(example = "closed_prison")]
    pub prison_regime: String,
    pub accounts: Vec<OpenedAccount>,
}

#[derive(Serialize, ToSchema)]
pub struct StatementLineDoc {
    pub posting_id: i64,
    pub entry_id: Uuid,
    #[schema(format = Date)]
    pub effective_date: String,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub description: String,
    /// In the account's normal direction: positive adds to the balance.
    pub amount: MoneyDoc,
}

#[derive(Serialize, ToSchema)]
pub struct StatementResponse {
    pub person_id: Uuid,
    pub account_id: Uuid,
    #[schema(example = "spendable")]
    pub account: String,
    #[schema(value_type = Vec<StatementLineDoc>)]
    pub lines: Vec<ledger::StatementLine>,
    /// Pass as `after_posting_id` for the next page; null on the last page.
    pub next_after_posting_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct BalanceDoc {
    pub account_id: Uuid,
    pub posted: MoneyDoc,
    pub held: MoneyDoc,
    pub available: MoneyDoc,
}

#[derive(Serialize, ToSchema)]
pub struct DepositPosted {
    /// The receipt's entry: the allocation, or the credit to held_deposits when held.
    pub entry_id: Uuid,
    #[schema(format = Date)]
    pub effective_date: String,
    pub amount_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(value_type = BalanceDoc)]
    pub spendable: ledger::Balance,
    /// Family deposits only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposit_id: Option<Uuid>,
    /// Family deposits only: `accepted` or `pending_review`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "pending_review")]
    pub state: Option<ledger::deposits::DepositState>,
    /// Why it waits for review: `above_review_threshold` or `over_max_balance`.
    // Absent for cash, null for a family deposit that was not held.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub held_because: Option<Option<String>>,
    /// Monitoring rules the deposit raised (they never stop it): `many_senders_to_prisoner`,
    /// `sender_to_many_prisoners`, `high_amount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct DepositorCreated {
    pub person_id: Uuid,
    pub regime: crate::identity::Regime,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLogRow {
    pub id: i64,
    #[schema(format = DateTime)]
    pub logged_at: String,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub subject_kind: String,
    pub subject_person_id: Option<Uuid>,
    pub prison_id: Option<Uuid>,
    /// Field names only, never values.
    pub fields: Vec<String>,
    pub purpose: String,
    pub case_ref: Option<String>,
    pub recipient: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLogPage {
    #[schema(value_type = Vec<AccessLogRow>)]
    pub rows: Vec<crate::identity::access_log::LogRow>,
    pub next_after_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
}
