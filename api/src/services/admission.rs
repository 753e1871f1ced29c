//! Admission: the identity record, the ledger sub-accounts, the card's placement and the card
//! request, in the caller's transaction. The officers' route (`routes/staff/admit.rs`, which
//! also sets the kiosk PIN) and the PMS feed (`services/pms_feed.rs`) both admit through here.
use deadpool_postgres::Transaction;
use ledger::controls::Regime;
use ledger::{Currency, NewAccount};
use uuid::Uuid;

use crate::identity::access_log::Accessor;
use crate::identity::{self, NewPrisoner};
use crate::schema::OpenedAccount;
use crate::services::{SUB_ACCOUNTS, ServiceError};

/// Admits a prisoner to the prison: returns the new person id and the accounts opened.
/// `admitted_by` is recorded with the placement (a staff id, or `pms:<feed id>`).
pub async fn admit_in(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    prisoner: &NewPrisoner,
    regime: Regime,
    admitted_by: &str,
) -> Result<(Uuid, Vec<OpenedAccount>), ServiceError> {
    let person_id = identity::store::admit_prisoner(tx, who, prison_id, prisoner).await?;
    let mut accounts = Vec::new();
    for purpose in SUB_ACCOUNTS {
        let account = ledger::store::open_account(
            tx,
            &format!("admit:{person_id}:{purpose}"),
            &NewAccount::person(person_id, purpose, Currency::EUR),
        )
        .await?;
        accounts.push(OpenedAccount {
            account_id: account.id,
            purpose: account.purpose,
            currency: account.currency.code().to_owned(),
        });
    }
    // The card's placement: this prison, its regime, card in `inside` mode. It also opens the
    // restitution sub-account the allocation rules may use.
    ledger::lifecycle::admit(
        tx,
        &ledger::lifecycle::Admission {
            idempotency_key: person_id.to_string(),
            person_id,
            prison_id,
            regime,
            currency: Currency::EUR,
            admitted_by: admitted_by.to_owned(),
        },
    )
    .await?;
    // The card is requested in the same transaction: the outbox delivers it to the processor.
    card_adapter::outbox::request_card(tx, person_id)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "card request not queued");
            ServiceError::Internal
        })?;
    Ok((person_id, accounts))
}
