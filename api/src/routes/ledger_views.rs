//! Ledger reads shared by the staff API and the kiosk, on the caller's transaction (so they sit in
//! the same transaction as the access log row that records them).
use deadpool_postgres::GenericClient;
use serde::Serialize;
use uuid::Uuid;

use crate::problem::Problem;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubAccountBalance {
    pub account_id: Uuid,
    pub purpose: String,
    #[schema(value_type = crate::openapi::MoneyDoc)]
    pub posted: ledger::Money,
    #[schema(value_type = crate::openapi::MoneyDoc)]
    pub held: ledger::Money,
    #[schema(value_type = crate::openapi::MoneyDoc)]
    pub available: ledger::Money,
    pub closed: bool,
}

/// Every sub-account of a person with its balance.
pub async fn balances_of(
    client: &impl GenericClient,
    person_id: Uuid,
) -> Result<Vec<SubAccountBalance>, Problem> {
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

/// The newest `count` lines of an account, newest first. The ledger pages oldest-first, so this
/// walks the pages (at most 500 lines each) and keeps the tail.
pub async fn recent_lines(
    client: &impl GenericClient,
    account_id: Uuid,
    count: usize,
) -> Result<Vec<ledger::StatementLine>, Problem> {
    let mut tail: std::collections::VecDeque<ledger::StatementLine> =
        std::collections::VecDeque::with_capacity(count + 1);
    let mut after = None;
    loop {
        let page =
            ledger::store::statement(client, account_id, after, ledger::store::MAX_STATEMENT_PAGE)
                .await?;
        for line in page.lines {
            tail.push_back(line);
            if tail.len() > count {
                tail.pop_front();
            }
        }
        match page.next_after_posting_id {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(tail.into_iter().rev().collect())
}
