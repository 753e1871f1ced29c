//! Applying authentic processor messages: record in the inbox and change the ledger in one
//! transaction, so a message is acknowledged only once it is durably recorded, and a duplicate
//! (same `webhook-id`, or same authorization or transaction id under another `webhook-id`)
//! changes nothing.
//!
//! The top of the message path: authorization requests are decided in `decisions` (batches)
//! and `authorization` (one request), whose types are re-exported here; the asynchronous
//! events (advice, reversal, clearing, refund, card state) are applied here.

use std::time::Duration;

use deadpool_postgres::{Pool, Transaction};
use ledger::{Money, Overdraft};
use time::OffsetDateTime;

use crate::authorization::request_details;
use crate::authorization::{AuthorizationInput, AuthorizationOutcome, DECISION_BUDGET_MS, Decide};
use crate::booking::{
    self, AuthorizationRow, AuthorizationSource, BookingError, BookingResult, Card, Clearing,
};
use crate::inbox::{Applied, InboxMessage};
use crate::inbox::{lock_webhook, record_inbox};
use crate::states::Named;
use ledger::controls::DeclineCode;
use processor_protocol::Decision;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdviceReason {
    StandIn,
    Timeout,
    ProcessorRule,
}

impl AdviceReason {
    pub fn as_str(self) -> &'static str {
        AuthorizationSource::from(self).name()
    }
}

/// An advised authorization's source is the advice's reason.
impl From<AdviceReason> for AuthorizationSource {
    fn from(reason: AdviceReason) -> AuthorizationSource {
        match reason {
            AdviceReason::StandIn => AuthorizationSource::StandIn,
            AdviceReason::Timeout => AuthorizationSource::Timeout,
            AdviceReason::ProcessorRule => AuthorizationSource::ProcessorRule,
        }
    }
}

/// The asynchronous events (protocol 3.4 to 3.9), in domain terms.
#[derive(Debug, Clone)]
pub enum CardEvent {
    Advice {
        input: AuthorizationInput,
        approved: bool,
        approved_minor: i64,
        reason: AdviceReason,
    },
    Reversal {
        authorization_id: String,
        card_id: String,
        amount: Money,
    },
    Expired {
        authorization_id: String,
        card_id: String,
    },
    Clearing {
        transaction_id: String,
        authorization_id: Option<String>,
        card_id: String,
        amount: Money,
        merchant: serde_json::Value,
        cleared_at: OffsetDateTime,
        final_clearing: bool,
    },
    Refund {
        transaction_id: String,
        original_transaction_id: Option<String>,
        card_id: String,
        amount: Money,
        merchant: serde_json::Value,
        cleared_at: OffsetDateTime,
    },
    CardStateChanged {
        card_id: String,
        state: String,
        previous_state: Option<String>,
        reason: Option<String>,
        changed_by: String,
    },
    /// A type this version does not know: recorded and acknowledged, nothing else.
    Unknown,
}

/// Answers `authorization.request` by [`DECISION_BUDGET_MS`]: a batch of one
/// (`crate::decisions`), with the webhook's own rules for a request not decided in time (a
/// recorded decline). The webhook batches requests that arrive together.
pub async fn authorize(
    pool: &Pool,
    decide: &impl Decide,
    message: &InboxMessage<'_>,
    input: &AuthorizationInput,
) -> AuthorizationOutcome {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(DECISION_BUDGET_MS);
    crate::decisions::authorize_batch(pool, decide, &[(message.clone(), input, deadline)])
        .await
        .pop()
        .unwrap_or_else(|| AuthorizationOutcome::decline(DeclineCode::Other, "technical_problem"))
}

/// Applies an asynchronous message. Returns only once it is committed (or was a duplicate).
pub async fn apply(
    pool: &Pool,
    message: &InboxMessage<'_>,
    event: &CardEvent,
) -> BookingResult<Applied> {
    let mut client = pool.get().await.map_err(ledger::LedgerError::from)?;
    let tx = client.transaction().await?;
    if lock_webhook(&tx, message.processor_id, message.webhook_id).await? {
        tx.commit().await?;
        return Ok(Applied::Duplicate);
    }
    let (applied, detail) = match not_bookable(event) {
        Some(detail) => (Applied::Rejected, Some(detail)),
        None => match apply_event(&tx, message, event).await {
            Ok(applied) => (applied, None),
            Err(BookingError::UnknownCard) => (Applied::Rejected, Some("unknown_card")),
            Err(error) => return Err(error),
        },
    };
    if applied == Applied::Rejected {
        // Nothing of the event was booked: start over in a clean transaction to record it.
        drop(tx);
        let tx = client.transaction().await?;
        if !lock_webhook(&tx, message.processor_id, message.webhook_id).await? {
            record_inbox(&tx, message, applied, detail).await?;
        }
        tx.commit().await?;
        tracing::warn!(
            webhook_id = message.webhook_id,
            event_type = message.event_type,
            detail,
            "processor event not bookable; kept in the inbox"
        );
        return Ok(applied);
    }
    record_inbox(&tx, message, applied, detail).await?;
    tx.commit().await?;
    Ok(applied)
}

/// Why an authentic event can never be booked as it stands, found before anything is written.
/// Such an event is acknowledged and kept in the inbox (`rejected`, with this detail) for staff:
/// refusing it would only make the processor deliver it again for 72 hours.
/// - `amount_beyond_bound`: an amount beyond the currency's bound ([`ledger::Currency::max_amount_minor`]);
///   a reversal is not checked, it only frees what is held, capped at what remains.
/// - `zero_amount`: a clearing or refund of nothing, except a final clearing of an authorization,
///   which frees what the hold still holds ([`apply_event`]).
pub(crate) fn not_bookable(event: &CardEvent) -> Option<&'static str> {
    let beyond = |amount: &Money| amount.within_bound().is_err();
    match event {
        CardEvent::Advice {
            input,
            approved_minor,
            ..
        } if beyond(&input.amount)
            || beyond(&Money::new(*approved_minor, input.amount.currency)) =>
        {
            Some("amount_beyond_bound")
        }
        CardEvent::Clearing { amount, .. } | CardEvent::Refund { amount, .. } if beyond(amount) => {
            Some("amount_beyond_bound")
        }
        CardEvent::Clearing {
            amount,
            authorization_id: Some(_),
            final_clearing: true,
            ..
        } if amount.amount_minor == 0 => None,
        CardEvent::Clearing { amount, .. } | CardEvent::Refund { amount, .. }
            if amount.amount_minor == 0 =>
        {
            Some("zero_amount")
        }
        _ => None,
    }
}

async fn known_card(tx: &Transaction<'_>, card_id: &str) -> BookingResult<Card> {
    booking::card(tx, card_id)
        .await?
        .ok_or(BookingError::UnknownCard)
}

async fn apply_event(
    tx: &Transaction<'_>,
    message: &InboxMessage<'_>,
    event: &CardEvent,
) -> BookingResult<Applied> {
    match event {
        CardEvent::Advice {
            input,
            approved,
            approved_minor,
            reason,
        } => apply_advice(tx, input, *approved, *approved_minor, *reason).await,
        CardEvent::Reversal {
            authorization_id,
            card_id,
            amount,
        } => apply_reversal(tx, message, authorization_id, card_id, *amount).await,
        CardEvent::Expired {
            authorization_id,
            card_id,
        } => apply_expiry(tx, authorization_id, card_id).await,
        CardEvent::Clearing {
            transaction_id,
            authorization_id,
            card_id,
            amount,
            merchant,
            cleared_at,
            final_clearing,
        } => {
            apply_clearing(
                tx,
                ClearingEvent {
                    transaction_id,
                    authorization_id: authorization_id.as_deref(),
                    card_id,
                    amount: *amount,
                    merchant,
                    cleared_at: *cleared_at,
                    final_clearing: *final_clearing,
                },
            )
            .await
        }
        CardEvent::Refund {
            transaction_id,
            original_transaction_id,
            card_id,
            amount,
            merchant,
            cleared_at,
        } => {
            let metadata = serde_json::json!({
                "card_id": card_id,
                "original_transaction_id": original_transaction_id,
                "merchant": merchant,
            });
            apply_refund(tx, transaction_id, card_id, *amount, *cleared_at, metadata).await
        }
        CardEvent::CardStateChanged {
            card_id,
            state,
            previous_state,
            reason,
            changed_by,
        } => {
            booking::record_card_state(
                tx,
                card_id,
                previous_state.as_deref(),
                state,
                reason.as_deref(),
                changed_by,
            )
            .await?;
            Ok(Applied::Applied)
        }
        CardEvent::Unknown => Ok(Applied::Ignored),
    }
}

/// A reversal (protocol 3.5): part of the hold is released, capped at what remains.
async fn apply_reversal(
    tx: &Transaction<'_>,
    message: &InboxMessage<'_>,
    authorization_id: &str,
    card_id: &str,
    amount: Money,
) -> BookingResult<Applied> {
    known_card(tx, card_id).await?;
    let mut row =
        booking::lock_authorization(tx, authorization_id, card_id, amount.currency.code()).await?;
    booking::release_authorization(tx, &mut row, Some(amount), &reversal_key(message)).await?;
    booking::save_authorization(tx, &row, None).await?;
    Ok(Applied::Applied)
}

/// An expiry (protocol 3.6): what remains of the hold is released.
async fn apply_expiry(
    tx: &Transaction<'_>,
    authorization_id: &str,
    card_id: &str,
) -> BookingResult<Applied> {
    let card = known_card(tx, card_id).await?;
    let currency = ledger::store::account(tx, card.account_id).await?.currency;
    let mut row =
        booking::lock_authorization(tx, authorization_id, card_id, currency.code()).await?;
    booking::expire_authorization(tx, &mut row).await?;
    booking::save_authorization(tx, &row, None).await?;
    Ok(Applied::Applied)
}

/// A refund (protocol 3.8): money back to the card, booked once per processor transaction.
async fn apply_refund(
    tx: &Transaction<'_>,
    transaction_id: &str,
    card_id: &str,
    amount: Money,
    cleared_at: OffsetDateTime,
    metadata: serde_json::Value,
) -> BookingResult<Applied> {
    let card = known_card(tx, card_id).await?;
    if booking::transaction_booked(tx, transaction_id).await? {
        return Ok(Applied::Duplicate);
    }
    booking::book_refund(
        tx,
        transaction_id,
        &card,
        amount,
        cleared_at.date(),
        metadata,
    )
    .await?;
    Ok(Applied::Applied)
}

/// An advice (protocol 3.4): the processor's own decision, booked whatever our balance says.
async fn apply_advice(
    tx: &Transaction<'_>,
    input: &AuthorizationInput,
    approved: bool,
    approved_minor: i64,
    reason: AdviceReason,
) -> BookingResult<Applied> {
    let card = known_card(tx, &input.card_id).await?;
    let mut row = booking::lock_authorization(
        tx,
        &input.authorization_id,
        &input.card_id,
        input.amount.currency.code(),
    )
    .await?;
    if approved {
        if row.hold_id.is_none() {
            // The processor approved without us: book it even beyond the balance.
            let amount = Money::new(approved_minor, input.amount.currency);
            if amount.is_positive() {
                hold_advised(tx, &mut row, &card, input, amount).await?;
            }
        }
        row.decision = Some(Decision::Approve);
        row.approved_minor = approved_minor;
    } else {
        // TIMEOUT or a processor rule declined it: release anything we held.
        booking::release_authorization(
            tx,
            &mut row,
            None,
            &format!("card:advice-release:{}", input.authorization_id),
        )
        .await?;
        row.decision = Some(Decision::Decline);
        row.approved_minor = 0;
        row.decline_reason
            .get_or_insert_with(|| DeclineCode::Other.name().to_owned());
    }
    row.source = AuthorizationSource::from(reason);
    // An advice is not placed in a spend window by its request time (it was not ours).
    booking::save_authorization(tx, &row, Some(&request_details(input, None))).await?;
    Ok(Applied::Applied)
}

/// Holds what an advice approved: an increment grows its parent's hold when the parent holds
/// something, anything else is a hold of its own.
async fn hold_advised(
    tx: &Transaction<'_>,
    row: &mut AuthorizationRow,
    card: &Card,
    input: &AuthorizationInput,
    amount: Money,
) -> BookingResult<()> {
    if let Some(parent_id) = &input.parent_authorization_id {
        let parent =
            booking::lock_authorization(tx, parent_id, &input.card_id, amount.currency.code())
                .await?;
        if parent.hold_id.is_some() {
            let held = booking::increase_authorization_hold(
                tx,
                &parent,
                &input.authorization_id,
                amount,
                false,
                Overdraft::AllowAndFlag,
            )
            .await?;
            // Not ours, so not at its request time: when recorded.
            booking::record_increment(tx, parent_id, OffsetDateTime::now_utc(), held).await?;
            return Ok(());
        }
    }
    booking::place_authorization_hold(tx, row, card, amount, false, Overdraft::AllowAndFlag)
        .await?;
    Ok(())
}

/// A clearing's facts (protocol 3.7), borrowed from its [`CardEvent::Clearing`].
struct ClearingEvent<'a> {
    transaction_id: &'a str,
    authorization_id: Option<&'a str>,
    card_id: &'a str,
    amount: Money,
    merchant: &'a serde_json::Value,
    cleared_at: OffsetDateTime,
    final_clearing: bool,
}

async fn apply_clearing(tx: &Transaction<'_>, event: ClearingEvent<'_>) -> BookingResult<Applied> {
    let ClearingEvent {
        transaction_id,
        authorization_id,
        card_id,
        amount,
        merchant,
        cleared_at,
        final_clearing,
    } = event;
    // What the clearing needs, read in one round trip (run in this order, after the webhook's
    // lock): the card, whether the transaction was booked, the authorization's row (locked, or
    // created as `unknown` for a clearing that came first) and the settlement account.
    let (card, booked, mut row, settlement_account_id) = tokio::try_join!(
        biased;
        known_card(tx, card_id),
        booking::transaction_booked(tx, transaction_id),
        async {
            match authorization_id {
                Some(authorization_id) => booking::lock_authorization(
                    tx,
                    authorization_id,
                    card_id,
                    amount.currency.code(),
                )
                .await
                .map(Some),
                None => Ok(None),
            }
        },
        booking::settlement_account(tx, amount)
    )?;
    if booked {
        return Ok(Applied::Duplicate);
    }
    debug_assert_eq!(
        row.is_some(),
        authorization_id.is_some(),
        "a clearing of an authorization has its row"
    );
    if amount.amount_minor == 0
        && let Some(row) = row.as_mut()
    {
        // A final clearing of nothing (`not_bookable` lets only final ones through): the
        // purchase cleared at zero, so what the hold still holds is freed, as any final
        // clearing frees it. No entry: nothing moved.
        debug_assert!(
            final_clearing,
            "not_bookable parks a zero clearing that is not final"
        );
        row.final_cleared = true;
        if row.hold_id.is_some() {
            booking::release_authorization(
                tx,
                row,
                None,
                &format!("card:clearing:{transaction_id}"),
            )
            .await?;
        }
        booking::save_authorization(tx, row, None).await?;
        return Ok(Applied::Applied);
    }
    debug_assert!(
        amount.is_positive(),
        "not_bookable parks a clearing of nothing"
    );
    let clearing = Clearing {
        transaction_id,
        card: &card,
        settlement_account_id,
        amount,
        final_clearing,
        effective_date: cleared_at.date(),
        metadata: booking::clearing_metadata(card_id, authorization_id, merchant),
    };
    let row = match row {
        Some(mut row) => {
            booking::book_clearing(tx, Some(&mut row), clearing).await?;
            booking::save_authorization(tx, &row, None).await?;
            Some(row)
        }
        None => {
            booking::book_clearing(tx, None, clearing).await?;
            None
        }
    };
    if crate::fees::is_atm_withdrawal(row.as_ref(), merchant) {
        crate::fees::charge_atm_fee(tx, &card, transaction_id, amount, cleared_at.date()).await?;
    }
    Ok(Applied::Applied)
}

/// An authentic processor event kept in the inbox as `rejected`: acknowledged, never booked,
/// for staff to settle (an unknown card, a zero amount, an amount beyond the bound).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParkedEvent {
    pub webhook_id: String,
    pub event_type: String,
    pub received_at: OffsetDateTime,
    /// Why: `unknown_card`, `zero_amount`, `amount_beyond_bound`.
    pub detail: Option<String>,
    pub transaction_id: Option<String>,
    pub authorization_id: Option<String>,
    pub card_id: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
}

/// The ledger key of a reversal's release: by webhook id, which is unique per processor only.
fn reversal_key(message: &InboxMessage<'_>) -> String {
    format!(
        "card:reversal:{}",
        crate::processors::qualified(message.processor_id, message.webhook_id)
    )
}

/// The parked events, newest first. The ids and the amount are read from the kept body; nothing
/// else of it (the merchant) is shown.
pub async fn parked_events(
    client: &impl deadpool_postgres::GenericClient,
    limit: i64,
) -> BookingResult<Vec<ParkedEvent>> {
    let rows = client
        .query(
            "select webhook_id, event_type, received_at, detail, body from card.inbox
             where outcome = 'rejected' order by received_at desc, webhook_id limit $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let body: Vec<u8> = row.get("body");
            let data = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|envelope| envelope.get("data").cloned())
                .unwrap_or(serde_json::Value::Null);
            let text = |field: &str| data.get(field).and_then(|v| v.as_str()).map(str::to_owned);
            ParkedEvent {
                webhook_id: row.get("webhook_id"),
                event_type: row.get("event_type"),
                received_at: row.get("received_at"),
                detail: row.get("detail"),
                transaction_id: text("transaction_id"),
                authorization_id: text("authorization_id"),
                card_id: text("card_id"),
                amount_minor: data.get("amount").and_then(|v| v.as_i64()),
                currency: text("currency"),
            }
        })
        .collect())
}
