//! An authorization request (protocol 3.3) and its one-request decision path: the types the
//! webhook, `controls`, `decisions` (requests decided in batches) and `process` (the entry point
//! and the other messages) share, and the path for a request a batch does not take (an
//! incremental authorization, a row earlier events touched, a batch that failed).
//!
//! It sits below `decisions` and `process`: `decisions` decides batches and hands what does not
//! fit to `authorize_alone`; `process::authorize` is a batch of one.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool, Transaction};
use ledger::{Money, Overdraft};
use time::OffsetDateTime;

use crate::booking::{
    self, AuthorizationRow, AuthorizationSource, BookingError, BookingResult, Card, RequestDetails,
};
use crate::inbox::{Applied, InboxMessage, record_inbox};
use crate::states::{self, Named};
use ledger::controls::DeclineCode;
use processor_protocol::{self as protocol, CardState};

/// Our own budget for an authorization decision, well inside the processor's 2000 ms deadline
/// (protocol 3.3): network time both ways must fit in what is left.
pub const DECISION_BUDGET_MS: u64 = 1_200;

#[derive(Debug, Clone, serde::Serialize)]
pub struct MerchantFacts {
    pub id: String,
    pub name: String,
    pub mcc: String,
    pub city: String,
    pub country: String,
}

/// An authorization to decide (protocol 3.3) or advised (3.4).
#[derive(Debug, Clone)]
pub struct AuthorizationInput {
    pub authorization_id: String,
    pub card_id: String,
    pub amount: Money,
    pub merchant: MerchantFacts,
    pub channel: String,
    pub partial_approval_capable: bool,
    pub parent_authorization_id: Option<String>,
    /// The moment that decides the request: its spend windows, the card's mode (a leave, the
    /// release period) and the policy in effect. The processor's `requested_at`, unless that was
    /// beyond [`REQUEST_TIME_TOLERANCE_SECONDS`] of our clock ([`AuthorizationInput::on_our_clock`]).
    pub at: OffsetDateTime,
    /// The request's time as the processor's envelope said it, kept on the row.
    pub requested_at: OffsetDateTime,
}

/// How far a request's own time may be from our clock and still decide it: the webhook's own
/// tolerance for its signed timestamp (protocol 3.1), since a request is decided as it arrives.
pub const REQUEST_TIME_TOLERANCE_SECONDS: u64 =
    processor_protocol::signature::TIMESTAMP_TOLERANCE_SECONDS;

impl AuthorizationInput {
    /// Decides on our clock, `now`, a request whose own time is more than the tolerance away
    /// from it: the envelope's time would otherwise choose the spend window (another day's room),
    /// the leave and the release period. The claim stays in `requested_at` for staff.
    pub fn on_our_clock(mut self, now: OffsetDateTime) -> AuthorizationInput {
        let skew = self.requested_at - now;
        if skew.unsigned_abs() > Duration::from_secs(REQUEST_TIME_TOLERANCE_SECONDS) {
            tracing::warn!(
                security_event = "request_time_out_of_tolerance",
                authorization_id = %self.authorization_id,
                skew_seconds = skew.whole_seconds(),
                "authorization request's own time is far from our clock: decided on our clock"
            );
            self.at = now;
        }
        self
    }
}

/// Our answer to an authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationOutcome {
    pub approve: bool,
    pub approved_minor: i64,
    /// One of the protocol's decline codes when declined.
    pub decline_reason: Option<String>,
    /// A stable key for the plain-language reason shown to the prisoner.
    pub reason_key: Option<String>,
}

impl AuthorizationOutcome {
    pub fn decline(code: DeclineCode, reason_key: &str) -> AuthorizationOutcome {
        AuthorizationOutcome {
            approve: false,
            approved_minor: 0,
            decline_reason: Some(code.name().to_owned()),
            reason_key: Some(reason_key.to_owned()),
        }
    }

    pub(crate) fn approved(approved_minor: i64) -> AuthorizationOutcome {
        // A zero approval is malformed (protocol 3.3); the ledger holds a part only when some
        // money is available.
        debug_assert!(approved_minor > 0, "an approval of {approved_minor}");
        AuthorizationOutcome {
            approve: true,
            approved_minor,
            decline_reason: None,
            reason_key: None,
        }
    }

    /// Writes this decision, ours, on the authorization's row.
    pub(crate) fn record_on(&self, row: &mut AuthorizationRow) {
        row.decision = Some(states::decision(self.approve));
        row.approved_minor = self.approved_minor;
        row.decline_reason = self.decline_reason.clone();
        row.reason_key = self.reason_key.clone();
        row.source = AuthorizationSource::Request;
    }

    pub(crate) fn from_row(row: &AuthorizationRow) -> Option<AuthorizationOutcome> {
        let decision = row.decision?;
        Some(AuthorizationOutcome {
            approve: decision == protocol::Decision::Approve,
            approved_minor: row.approved_minor,
            decline_reason: row.decline_reason.clone(),
            reason_key: row.reason_key.clone(),
        })
    }
}

/// Decides an authorization from what Saldo knows of the card: the seam where spending
/// controls plug in. In steps so that a batch of requests reads what it needs together
/// ([`Decide::controls`] with the cards, [`Decide::load`] under the balance rows' locks: a
/// statement or two for all) and is then decided one request after another in memory
/// ([`Decide::verdict`]), each counting the approvals before it.
pub trait Decide: Send + Sync {
    /// What a request's verdict needs that money does not move (the person's mode and policy):
    /// read in the batch's first round trip, before any balance row is locked.
    type Controls: Send + Sync;
    /// What it needs that money moves (the spend, the balance): read under the locks.
    type Loaded: Send + Sync;

    /// Reads, for each request in order, its controls, finding the person through the
    /// request's card (an unknown card's are never used).
    fn controls(
        &self,
        client: &impl GenericClient,
        requests: &[&AuthorizationInput],
    ) -> impl std::future::Future<Output = BookingResult<Vec<Self::Controls>>> + Send;

    /// Reads, for each `(card, request, controls)` in order, the rest of what its verdict needs.
    fn load(
        &self,
        client: &impl GenericClient,
        requests: &[(&Card, &AuthorizationInput, &Self::Controls)],
    ) -> impl std::future::Future<Output = BookingResult<Vec<Self::Loaded>>> + Send;

    /// Decides one request; `earlier` are the approvals this transaction made before it (not yet
    /// in what was loaded). `decline: None` lets the ledger decide on the available balance.
    fn verdict(
        &self,
        controls: &Self::Controls,
        loaded: &Self::Loaded,
        card: &Card,
        input: &AuthorizationInput,
        earlier: &[EarlierApproval],
    ) -> BookingResult<ControlVerdict>;
}

/// An approval made earlier in the same transaction, which a later request must count.
#[derive(Debug, Clone, Copy)]
pub struct EarlierApproval {
    pub person_id: uuid::Uuid,
    pub account_id: uuid::Uuid,
    pub at: OffsetDateTime,
    pub amount: Money,
}

#[derive(Debug, Clone)]
pub struct ControlVerdict {
    /// `Some` declines with this outcome.
    pub decline: Option<AuthorizationOutcome>,
    /// Approve at most this much (a limit that leaves room for part of the amount).
    pub max_approve_minor: Option<i64>,
    pub policy_version: Option<String>,
    /// The control that capped a partial approval, recorded on the authorization.
    pub limited_by: Option<String>,
}

/// Card state and balance only: used when no spending controls are configured.
pub struct CardStateOnly;

impl Decide for CardStateOnly {
    type Controls = ();
    type Loaded = ();

    async fn controls(
        &self,
        _client: &impl GenericClient,
        requests: &[&AuthorizationInput],
    ) -> BookingResult<Vec<()>> {
        Ok(vec![(); requests.len()])
    }

    async fn load(
        &self,
        _client: &impl GenericClient,
        requests: &[(&Card, &AuthorizationInput, &())],
    ) -> BookingResult<Vec<()>> {
        Ok(vec![(); requests.len()])
    }

    fn verdict(
        &self,
        _controls: &(),
        _loaded: &(),
        _card: &Card,
        _input: &AuthorizationInput,
        _earlier: &[EarlierApproval],
    ) -> BookingResult<ControlVerdict> {
        Ok(ControlVerdict {
            decline: None,
            max_approve_minor: None,
            policy_version: None,
            limited_by: None,
        })
    }
}

fn merchant_json(merchant: &MerchantFacts) -> serde_json::Value {
    serde_json::to_value(merchant).unwrap_or(serde_json::Value::Null)
}

/// What a request or advice says of itself; the controls add the policy version and `limited_by`.
pub(crate) fn request_details(
    input: &AuthorizationInput,
    authorized_at: Option<OffsetDateTime>,
) -> RequestDetails {
    RequestDetails {
        parent_authorization_id: input.parent_authorization_id.clone(),
        requested_minor: input.amount.amount_minor,
        merchant: merchant_json(&input.merchant),
        channel: input.channel.clone(),
        policy_version: None,
        authorized_at,
        limited_by: None,
        // With the decision's time, the processor's claim (they differ beyond the tolerance).
        request_timestamp: authorized_at.map(|_| input.requested_at),
    }
}

/// What deciding a request came to.
#[derive(Debug, Clone)]
pub(crate) enum Decision {
    /// Durable: committed now, or read from the authorization's row or its recorded decline.
    Decided(AuthorizationOutcome),
    /// A row it needs is locked by another transaction: to be tried again.
    Blocked,
    /// Nothing was decided (its deadline passed, or a failure): its answer is a recorded decline.
    Undecided,
}

/// Decides one request in its own transaction, the decision by `deadline` (the COMMIT is waited
/// for: what it makes durable is what is answered): the path for what a batch does not take (an
/// incremental authorization, a row earlier events touched, ...).
pub(crate) async fn authorize_alone(
    pool: &Pool,
    decide: &impl Decide,
    message: &InboxMessage<'_>,
    input: &AuthorizationInput,
    deadline: tokio::time::Instant,
) -> Decision {
    let mut client = match tokio::time::timeout_at(deadline, pool.get()).await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => {
            tracing::error!(error = ?error, "authorization failed: no connection");
            return Decision::Undecided;
        }
        Err(_) => return over_budget(),
    };
    let tx = match client.transaction().await {
        Ok(tx) => tx,
        Err(error) => {
            tracing::error!(error = ?error, "authorization failed: no transaction");
            return Decision::Undecided;
        }
    };
    match tokio::time::timeout_at(deadline, decide_in_transaction(&tx, decide, message, input))
        .await
    {
        Ok(Ok(outcome)) => match tx.commit().await {
            Ok(()) => Decision::Decided(outcome),
            Err(error) => {
                tracing::error!(error = ?error, "authorization not committed");
                Decision::Undecided
            }
        },
        Ok(Err(error)) if error.is_lock_timeout() => Decision::Blocked,
        Ok(Err(error)) => {
            tracing::error!(error.code = error.code(), error = ?error, "authorization failed");
            Decision::Undecided
        }
        // The transaction is dropped unfinished: rolled back, nothing of it durable.
        Err(_) => over_budget(),
    }
}

fn over_budget() -> Decision {
    tracing::warn!(
        budget_ms = DECISION_BUDGET_MS,
        "authorization decision over budget"
    );
    Decision::Undecided
}

/// Everything of a one-request decision but its COMMIT.
async fn decide_in_transaction(
    tx: &Transaction<'_>,
    decide: &impl Decide,
    message: &InboxMessage<'_>,
    input: &AuthorizationInput,
) -> BookingResult<AuthorizationOutcome> {
    // The authorization's row, created if new and locked, is what makes a request (and any
    // redelivery of its webhook) decided once: no separate webhook lock on this path; the inbox
    // row is written once whatever the order (`on conflict do nothing`). The card and a decline
    // recorded at an earlier delivery's deadline are read in the same round trip, after the lock.
    let ids = [input.authorization_id.as_str()];
    let (_, mut row, card, declined) = tokio::try_join!(
        biased;
        booking::plan_decision_statements(tx),
        booking::lock_authorization(
            tx,
            &input.authorization_id,
            &input.card_id,
            input.amount.currency.code(),
        ),
        booking::card(tx, &input.card_id),
        booking::deadline_declined(tx, &ids)
    )?;
    if !declined.is_empty() {
        // Answered DECLINE at an earlier delivery's deadline: that answer wins, and whatever a
        // late commit held for it is released.
        let details = request_details(input, Some(input.at));
        settle_declined(tx, &mut row, true, Some(&details)).await?;
        record_inbox(tx, message, Applied::Duplicate, None).await?;
        return Ok(AuthorizationOutcome::decline(
            DeclineCode::Other,
            "technical_problem",
        ));
    }
    if let Some(outcome) = AuthorizationOutcome::from_row(&row) {
        // The same authorization id is answered the same way every time, and held once.
        record_inbox(tx, message, Applied::Duplicate, None).await?;
        return Ok(outcome);
    }
    let mut details = request_details(input, Some(input.at));
    let outcome = decide_and_hold(tx, decide, &mut row, card, input, &mut details).await?;
    outcome.record_on(&mut row);
    // Two independent writes, pipelined.
    tokio::try_join!(
        booking::save_authorization(tx, &row, Some(&details)),
        record_inbox(tx, message, Applied::Applied, None)
    )?;
    Ok(outcome)
}

/// Makes an authorization's row say the decline that was answered for it. A row without a
/// decision gets the decline. An approval is undone (its hold, or an increment's part of its
/// parent's hold, released) only when `recorded_decline`: the webhook recorded a decline at the
/// deadline and answered it; without that record the webhook answered what was durable, the
/// approval itself. Any other decision stays.
pub(crate) async fn settle_declined(
    tx: &Transaction<'_>,
    row: &mut AuthorizationRow,
    recorded_decline: bool,
    details: Option<&RequestDetails>,
) -> BookingResult<()> {
    let approved = row.decision == Some(protocol::Decision::Approve);
    if row.decision.is_some() && !(approved && recorded_decline) {
        return Ok(());
    }
    if approved {
        let release_key = format!("card:deadline-release:{}", row.authorization_id);
        if row.hold_id.is_some() {
            booking::release_authorization(tx, row, None, &release_key).await?;
        } else if row.approved_minor > 0 {
            release_increment(tx, row, &release_key).await?;
        }
        tracing::warn!(
            authorization_id = %row.authorization_id,
            "an approval committed after its declined answer: released"
        );
    }
    AuthorizationOutcome::decline(DeclineCode::Other, "technical_problem").record_on(row);
    booking::save_authorization(tx, row, details).await
}

/// Gives back what an incremental authorization added to its parent's hold.
async fn release_increment(
    tx: &Transaction<'_>,
    row: &AuthorizationRow,
    release_key: &str,
) -> BookingResult<()> {
    let statement = tx
        .prepare_cached(
            "select parent_authorization_id, currency from card.authorizations
             where authorization_id = $1",
        )
        .await?;
    let found = tx.query_one(&statement, &[&row.authorization_id]).await?;
    let (Some(parent_id), currency) = (
        found.get::<_, Option<String>>("parent_authorization_id"),
        found.get::<_, String>("currency"),
    ) else {
        return Ok(());
    };
    let mut parent = booking::lock_authorization(tx, &parent_id, &row.card_id, &currency).await?;
    let currency = ledger::Currency::from_code(&currency)?;
    booking::release_authorization(
        tx,
        &mut parent,
        Some(Money::new(row.approved_minor, currency)),
        release_key,
    )
    .await?;
    booking::save_authorization(tx, &parent, None).await
}

async fn decide_and_hold(
    tx: &Transaction<'_>,
    decide: &impl Decide,
    row: &mut AuthorizationRow,
    card: Option<Card>,
    input: &AuthorizationInput,
    details: &mut RequestDetails,
) -> BookingResult<AuthorizationOutcome> {
    if !input.amount.is_positive() {
        return Ok(AuthorizationOutcome::decline(
            DeclineCode::Other,
            "invalid_amount",
        ));
    }
    let card = match usable_card(card.as_ref()) {
        Ok(card) => card,
        Err(decline) => return Ok(decline),
    };
    let controls = decide.controls(tx, &[input]).await?;
    let Some(controls) = controls.first() else {
        return Err(ledger::LedgerError::invalid("controls_missing", "no controls read").into());
    };
    let loaded = decide.load(tx, &[(card, input, controls)]).await?;
    let Some(loaded) = loaded.first() else {
        return Err(ledger::LedgerError::invalid("controls_missing", "nothing loaded").into());
    };
    let verdict = decide.verdict(controls, loaded, card, input, &[])?;
    details.policy_version = verdict.policy_version;
    details.limited_by = verdict.limited_by;
    let amount = match verdict.decline {
        Some(decline) => Err(decline),
        None => approvable_amount(verdict.max_approve_minor, input),
    };
    let amount = match amount {
        Ok(amount) => amount,
        Err(decline) => return Ok(decline),
    };
    debug_assert!(
        amount.is_positive() && amount.amount_minor <= input.amount.amount_minor,
        "an approval holds part or all of what was asked"
    );
    hold_approved(tx, row, card, input, amount).await
}

/// Holds what a request was approved for: on its own hold, or for an incremental authorization
/// on its parent's; declined when the money is not there or the parent holds nothing.
async fn hold_approved(
    tx: &Transaction<'_>,
    row: &mut AuthorizationRow,
    card: &Card,
    input: &AuthorizationInput,
    amount: Money,
) -> BookingResult<AuthorizationOutcome> {
    let held = match &input.parent_authorization_id {
        Some(parent_id) => {
            let parent =
                booking::lock_authorization(tx, parent_id, &input.card_id, amount.currency.code())
                    .await?;
            if parent.hold_id.is_none() || parent.card_id != input.card_id {
                return Ok(AuthorizationOutcome::decline(
                    DeclineCode::Other,
                    "unknown_parent_authorization",
                ));
            }
            let held = booking::increase_authorization_hold(
                tx,
                &parent,
                &input.authorization_id,
                amount,
                input.partial_approval_capable,
                Overdraft::Refuse,
            )
            .await;
            match held {
                // Counted in the window it was checked against: the request's own.
                Ok(held) => booking::record_increment(tx, parent_id, input.at, held)
                    .await
                    .map(|()| held),
                Err(error) => Err(error),
            }
        }
        None => {
            booking::place_authorization_hold(
                tx,
                row,
                card,
                amount,
                input.partial_approval_capable,
                Overdraft::Refuse,
            )
            .await
        }
    };
    match held {
        Ok(held) => Ok(AuthorizationOutcome::approved(held.amount_minor)),
        Err(BookingError::Ledger(ledger::LedgerError::InsufficientFunds { .. })) => Ok(
            AuthorizationOutcome::decline(DeclineCode::InsufficientFunds, "insufficient_funds"),
        ),
        Err(error) => Err(error),
    }
}

/// The card a request can be held on, or why not: unknown, or not `ACTIVE`.
pub(crate) fn usable_card(card: Option<&Card>) -> Result<&Card, AuthorizationOutcome> {
    match card {
        None => Err(AuthorizationOutcome::decline(
            DeclineCode::UnknownCard,
            "unknown_card",
        )),
        // Paused: a staff freeze (or the processor's fraud team) froze it.
        Some(card) if card.state == CardState::Paused => Err(AuthorizationOutcome::decline(
            DeclineCode::CardInactive,
            "card_frozen",
        )),
        Some(card) if card.state != CardState::Active => Err(AuthorizationOutcome::decline(
            DeclineCode::CardInactive,
            "card_inactive",
        )),
        Some(card) => Ok(card),
    }
}

/// The amount to hold: all of it, or the controls' limit when the terminal takes a partial
/// approval; else the decline.
pub(crate) fn approvable_amount(
    max_approve_minor: Option<i64>,
    input: &AuthorizationInput,
) -> Result<Money, AuthorizationOutcome> {
    let amount = input.amount;
    match max_approve_minor {
        Some(max_minor) if max_minor < amount.amount_minor => {
            if !input.partial_approval_capable || max_minor <= 0 {
                Err(AuthorizationOutcome::decline(
                    DeclineCode::LimitExceeded,
                    "limit_exceeded",
                ))
            } else {
                Ok(Money::new(max_minor, amount.currency))
            }
        }
        _ => Ok(amount),
    }
}
