//! Ledger reads shared by the staff API and the kiosk, on the caller's transaction (so they sit in
//! the same transaction as the access log row that records them).
use deadpool_postgres::GenericClient;
use serde::Serialize;
use uuid::Uuid;

use crate::services::ServiceError;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubAccountBalance {
    pub account_id: Uuid,
    pub purpose: String,
    #[schema(value_type = crate::schema::MoneyDoc)]
    pub posted: ledger::Money,
    #[schema(value_type = crate::schema::MoneyDoc)]
    pub held: ledger::Money,
    #[schema(value_type = crate::schema::MoneyDoc)]
    pub available: ledger::Money,
    pub closed: bool,
}

/// Every sub-account of a person with its balance.
pub async fn balances_of(
    client: &impl GenericClient,
    person_id: Uuid,
) -> Result<Vec<SubAccountBalance>, ServiceError> {
    let mut out = Vec::new();
    for account in ledger::store::accounts_of_person(client, person_id).await? {
        let balance = ledger::store::balance(client, account.id).await?;
        out.push(SubAccountBalance {
            account_id: account.id,
            purpose: account.purpose,
            posted: balance.posted,
            held: balance.held,
            available: balance.available,
            closed: account.closed_at.is_some(),
        });
    }
    Ok(out)
}

/// The newest `count` lines of an account, newest first.
pub async fn recent_lines(
    client: &impl GenericClient,
    account_id: Uuid,
    count: usize,
) -> Result<Vec<ledger::StatementLine>, ServiceError> {
    let count = i64::try_from(count).unwrap_or(ledger::store::MAX_STATEMENT_PAGE);
    Ok(ledger::store::latest_statement_lines(client, account_id, count).await?)
}
