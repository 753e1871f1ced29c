//! Reading the books: the trial balance.
use crate::services::ServiceError;
use crate::state::AppState;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Line {
    /// An institutional account's code, or `prisoners:<purpose>:<currency>` for the sum of all
    /// prisoners' accounts of that purpose.
    pub account: String,
    pub account_type: String,
    pub currency: String,
    pub accounts: i64,
    pub debit_minor: i64,
    pub credit_minor: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Total {
    pub currency: String,
    pub debit_minor: i64,
    pub credit_minor: i64,
    pub balanced: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TrialBalance {
    pub lines: Vec<Line>,
    pub totals: Vec<Total>,
}

pub fn overflow() -> ServiceError {
    ServiceError::invalid("amount_overflow", "a total does not fit in 64 bits")
}

pub async fn compute(state: &AppState) -> Result<TrialBalance, ServiceError> {
    let client = state.pool.get().await?;
    let rows = client
        .query(
            "select case when a.owner_kind = 'person'
                         then 'prisoners:' || a.purpose || ':' || a.currency
                         else a.code end as account,
                    a.account_type, a.currency::text as currency, count(distinct a.id) as accounts,
                    coalesce(sum(p.amount_minor), 0)::bigint as net_minor
             from ledger_accounts a left join journal_postings p on p.account_id = a.id
             group by 1, 2, 3 order by 3, 1",
            &[],
        )
        .await?;
    let mut lines = Vec::new();
    let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for row in rows {
        let net_minor: i64 = row.get("net_minor");
        let currency: String = row.get("currency");
        let (debit_minor, credit_minor) = if net_minor >= 0 {
            (net_minor, 0)
        } else {
            (0, net_minor.checked_neg().ok_or_else(overflow)?)
        };
        let total = totals.entry(currency.clone()).or_insert((0, 0));
        total.0 = total.0.checked_add(debit_minor).ok_or_else(overflow)?;
        total.1 = total.1.checked_add(credit_minor).ok_or_else(overflow)?;
        lines.push(Line {
            account: row.get("account"),
            account_type: row.get("account_type"),
            currency,
            accounts: row.get("accounts"),
            debit_minor,
            credit_minor,
        });
    }
    Ok(TrialBalance {
        lines,
        totals: totals
            .into_iter()
            .map(|(currency, (debit_minor, credit_minor))| Total {
                currency,
                debit_minor,
                credit_minor,
                balanced: debit_minor == credit_minor,
            })
            .collect(),
    })
}
