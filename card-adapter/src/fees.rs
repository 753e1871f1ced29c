//! Card-level fees booked with the card event that causes them (`ledger::fees`): an ATM
//! withdrawal's fee with its clearing, in the clearing's transaction, so the fee is booked
//! exactly when the clearing is and a redelivered clearing books neither again.
use deadpool_postgres::Transaction;
use ledger::Money;
use ledger::fees::{CardFeeEvent, FeeCharge, FeeKind};

use crate::booking::{BookingResult, Card};

/// The merchant category of automated cash disbursements (ISO 18245).
pub const ATM_MCC: &str = "6011";

/// True when a clearing is a cash withdrawal at an ATM: its authorization (the row the clearing
/// locked) was requested on the `ATM` channel, or (a force post, or a clearing before its
/// authorization) its merchant's category is 6011.
pub fn is_atm_withdrawal(
    authorization: Option<&crate::booking::AuthorizationRow>,
    merchant: &serde_json::Value,
) -> bool {
    merchant.get("mcc").and_then(|mcc| mcc.as_str()) == Some(ATM_MCC)
        || authorization.and_then(|row| row.channel.as_deref()) == Some("ATM")
}

/// Books the ATM fee of a withdrawal clearing per the card holder's prison's policy (nothing
/// when the policy sets no fee, or the person has no prison on record).
pub async fn charge_atm_fee(
    tx: &Transaction<'_>,
    card: &Card,
    transaction_id: &str,
    amount: Money,
    effective_date: time::Date,
) -> BookingResult<Option<FeeCharge>> {
    let Some(prison_id) = ledger::fees::prison_of_person(tx, card.person_id).await? else {
        return Ok(None);
    };
    Ok(ledger::fees::charge_card_fee(
        tx,
        &CardFeeEvent {
            fee_kind: FeeKind::AtmWithdrawal,
            prison_id,
            spendable_account_id: card.account_id,
            currency: amount.currency,
            source_ref: transaction_id,
            effective_date,
        },
    )
    .await?)
}

/// Books the replacement fee of a reissue staff asked for, per the prison's policy, in the
/// transaction that queues the reissue (`request_id` is the staff action's id: one fee per
/// action).
pub async fn charge_replacement_fee(
    tx: &Transaction<'_>,
    card_id: &str,
    prison_id: uuid::Uuid,
    request_id: uuid::Uuid,
) -> BookingResult<Option<FeeCharge>> {
    let Some(card) = crate::booking::card(tx, card_id).await? else {
        return Err(crate::booking::BookingError::UnknownCard);
    };
    let account = ledger::store::account(tx, card.account_id).await?;
    Ok(ledger::fees::charge_card_fee(
        tx,
        &CardFeeEvent {
            fee_kind: FeeKind::CardReplacement,
            prison_id,
            spendable_account_id: card.account_id,
            currency: account.currency,
            source_ref: &request_id.to_string(),
            effective_date: time::OffsetDateTime::now_utc().date(),
        },
    )
    .await?)
}
