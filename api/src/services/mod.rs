//! The use cases between the HTTP routes and pages and the crates below: routes and pages call
//! these, never each other.
use deadpool_postgres::Transaction;
use ledger::{AccountType, Currency, NewAccount, person_purpose};
use uuid::Uuid;

use crate::problem::Problem;

pub mod adjustments;
pub mod balances;
pub mod books;
pub mod dead_letters;
pub mod deposits;
pub mod lifecycle;
pub mod payroll;
pub mod policies;

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
) -> Result<Uuid, Problem> {
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
pub fn no_such_prisoner() -> Problem {
    Problem::not_found("prisoner")
}
