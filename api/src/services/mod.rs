//! The use cases between the HTTP routes and pages and the crates below: routes and pages call
//! these, never each other. They answer with [`ServiceError`], never with HTTP: `crate::problem`
//! maps it to problem+json.
use deadpool_postgres::Transaction;
use ledger::{AccountType, Currency, NewAccount, person_purpose};
use uuid::Uuid;

pub mod adjustments;
pub mod admission;
pub mod balances;
pub mod bank_rail;
pub mod books;
pub mod dead_letters;
pub mod deposits;
pub mod entitlements;
pub mod fees;
pub mod lifecycle;
pub mod payroll;
pub mod pms_feed;
pub mod policies;
pub mod prison_services;

/// Why a use case did not happen. The codes are stable (they reach clients as problem+json
/// `code`s through `crate::problem`); the texts are safe to show.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such thing, or one in another prison: the same answer, so scope leaks nothing.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request cannot be done as asked (a value out of range, a missing field).
    #[error("{1}")]
    Invalid(&'static str, String),
    /// The state of things refuses it (already decided, superseded, a mode in the way).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// Refused to this person whatever the state (four-eyes: the maker never decides).
    #[error("{1}")]
    NotAllowed(&'static str, String),
    /// Something below failed in a way no request can fix; already logged where it happened.
    #[error("internal error")]
    Internal,
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error("database error")]
    Database(tokio_postgres::Error),
    #[error("database pool error")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    #[error(transparent)]
    AccessLog(#[from] crate::identity::access_log::RecordError),
}

ledger::database_error_from!(ServiceError, Database);

impl ServiceError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> ServiceError {
        ServiceError::Invalid(code, detail.into())
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ServiceError {
        ServiceError::Conflict(code, detail.into())
    }
}

/// The sub-accounts every prisoner gets at admission.
pub const SUB_ACCOUNTS: [&str; 3] = [
    person_purpose::SPENDABLE,
    person_purpose::RELEASE_SAVINGS,
    person_purpose::HELD_DEPOSITS,
];

/// An institutional account, opened on first use. The idempotency key is derived from the code,
/// so concurrent first uses open it once.
pub async fn institution_account(
    tx: &Transaction<'_>,
    purpose: &str,
    account_type: AccountType,
) -> Result<Uuid, ServiceError> {
    let account = NewAccount::institution(purpose, account_type, Currency::EUR);
    if let Some(existing) = ledger::store::account_by_code(tx, &account.code).await? {
        return Ok(existing.id);
    }
    let opened =
        ledger::store::open_account(tx, &format!("open:{}", account.code), &account).await?;
    Ok(opened.id)
}

/// Today in the prison's own time zone: the business date of the entry.
pub fn prison_today(time_zone: &str) -> time::Date {
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC))
        .date();
    time::Month::try_from(today.month().unsigned_abs())
        .ok()
        .and_then(|month| {
            time::Date::from_calendar_date(
                i32::from(today.year()),
                month,
                today.day().unsigned_abs(),
            )
            .ok()
        })
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().date())
}

/// A prisoner in another prison, or none at all: the same 404, so scope leaks nothing.
pub fn no_such_prisoner() -> ServiceError {
    ServiceError::NotFound("prisoner")
}
