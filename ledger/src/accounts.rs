//! A prisoner's sub-accounts and the institution's accounts, as the books name them. Below
//! `lifecycle` (which opens a person's accounts at admission), `income`, `deposits` and `payroll`
//! (which post to them), so that none of those imports another for the accounts it posts to.

use deadpool_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{LedgerError, LedgerResult};
use crate::model::{AccountType, NewAccount, person_purpose};
use crate::money::Currency;
use crate::store;

/// A prisoner's four sub-accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonAccounts {
    pub spendable: Uuid,
    pub release_savings: Uuid,
    pub held_deposits: Uuid,
    pub restitution: Uuid,
}

impl PersonAccounts {
    /// The person's accounts in `currency`; `unknown_account` if admission did not open them.
    pub async fn of(
        client: &impl GenericClient,
        person_id: Uuid,
        currency: Currency,
    ) -> LedgerResult<PersonAccounts> {
        let statement = client
            .prepare_cached(
                "select purpose, id from ledger_accounts
                 where person_id = $1 and currency = $2 and purpose = any($3)",
            )
            .await?;
        let purposes = [
            person_purpose::SPENDABLE,
            person_purpose::RELEASE_SAVINGS,
            person_purpose::HELD_DEPOSITS,
            person_purpose::RESTITUTION,
        ];
        let rows = client
            .query(
                &statement,
                &[&person_id, &currency.code(), &purposes.as_slice()],
            )
            .await?;
        let find = |purpose: &str| {
            rows.iter()
                .find(|row| row.get::<_, &str>("purpose") == purpose)
                .map(|row| row.get::<_, Uuid>("id"))
                .ok_or_else(|| {
                    LedgerError::invalid(
                        "person_accounts_missing",
                        format!("the person has no {purpose} account in {currency}"),
                    )
                })
        };
        Ok(PersonAccounts {
            spendable: find(person_purpose::SPENDABLE)?,
            release_savings: find(person_purpose::RELEASE_SAVINGS)?,
            held_deposits: find(person_purpose::HELD_DEPOSITS)?,
            restitution: find(person_purpose::RESTITUTION)?,
        })
    }

    pub fn all(&self) -> [Uuid; 4] {
        [
            self.spendable,
            self.release_savings,
            self.held_deposits,
            self.restitution,
        ]
    }
}

/// An institutional account, opened on first use. The key is derived from the code, so
/// concurrent first uses open it once.
pub async fn institution_account(
    tx: &Transaction<'_>,
    purpose: &str,
    account_type: AccountType,
    currency: Currency,
) -> LedgerResult<Uuid> {
    let account = NewAccount::institution(purpose, account_type, currency);
    if let Some(existing) = store::account_by_code(tx, &account.code).await? {
        return Ok(existing.id);
    }
    Ok(
        store::open_account(tx, &format!("open:{}", account.code), &account)
            .await?
            .id,
    )
}

/// The purposes a prisoner has, for callers that list sub-accounts.
pub const PERSON_PURPOSES: [&str; 4] = [
    person_purpose::SPENDABLE,
    person_purpose::RELEASE_SAVINGS,
    person_purpose::HELD_DEPOSITS,
    person_purpose::RESTITUTION,
];
