//! Processor events become ledger operations.
//!
//! Every event about one authorization locks that authorization's row in `card.authorizations`
//! first, so events apply one at a time whatever order they arrive in. Events that arrive before
//! the authorization they belong to (a reversal, an expiry or a clearing before the stand-in
//! advice) are remembered on that row and applied when the hold is placed: the ledger ends the
//! same whatever the order of delivery.
//!
//! | event | ledger |
//! |---|---|
//! | authorization approved | hold on the prisoner's spendable account |
//! | incremental authorization | the parent's hold grows |
//! | stand-in approval (advice) | hold, even beyond the balance (flagged) |
//! | timeout / processor-rule decline (advice) | what we held is released |
//! | reversal | part or all of the hold is released, capped at what remains |
//! | expiry | what remains of the hold is released |
//! | clearing | the hold is captured: debit spendable, credit card settlement payable; the final clearing releases the rest |
//! | clearing with no hold (force post, or before its authorization) | the same entry, without a hold, even beyond the balance (flagged) |
//! | refund | debit card settlement payable, credit spendable |
//! | an ATM withdrawal's clearing | also its fee per the prison's policy (`crate::fees`, docs/fees.md) |

use deadpool_postgres::{GenericClient, Transaction};
use ledger::entry_text::EntryText;
use ledger::store;
use ledger::{
    AccountType, CaptureHold, EntryDraft, ExternalRef, IncreaseHold, LedgerError, Money,
    NewAccount, Overdraft, PlaceHold, PostingDraft, ReleaseHold, institution_purpose,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::states::{Named, UnknownName};
use processor_protocol::{CardState, Decision};

/// Holds live as long as the processor's authorizations (7 days, protocol 3.6) plus a day, so
/// the processor's own expiry event normally comes first.
pub const HOLD_LIFETIME_DAYS: i64 = 8;

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("database error")]
    Database(tokio_postgres::Error),
    #[error("unknown card")]
    UnknownCard,
    /// A row says a state, decision or source that is none of its set's.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),
}

ledger::database_error_from!(BookingError, Database);

impl BookingError {
    /// A lock wait ran out ([`DECISION_LOCK_TIMEOUT_MS`]): someone else holds the row; worth
    /// trying again, not an answer.
    pub fn is_lock_timeout(&self) -> bool {
        let database = match self {
            BookingError::Database(error) => Some(error),
            BookingError::Ledger(LedgerError::Database(error)) => Some(error),
            _ => None,
        };
        database.and_then(|error| error.code())
            == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE)
    }

    pub fn code(&self) -> &'static str {
        match self {
            BookingError::Ledger(error) => error.code(),
            BookingError::Database(_) | BookingError::UnknownName(_) => "internal",
            BookingError::UnknownCard => "unknown_card",
        }
    }
}

impl From<ledger::MoneyError> for BookingError {
    fn from(error: ledger::MoneyError) -> BookingError {
        BookingError::Ledger(error.into())
    }
}

pub type BookingResult<T> = Result<T, BookingError>;

/// A card as Saldo knows it.
#[derive(Debug, Clone)]
pub struct Card {
    pub card_id: String,
    pub person_id: Uuid,
    pub account_id: Uuid,
    pub state: CardState,
}

pub async fn card(tx: &Transaction<'_>, card_id: &str) -> BookingResult<Option<Card>> {
    let statement = tx
        .prepare_cached(
            "select card_id, person_id, account_id, state from card.cards where card_id = $1",
        )
        .await?;
    tx.query_opt(&statement, &[&card_id])
        .await?
        .map(|row| Card::try_from(&row))
        .transpose()
}

impl TryFrom<&tokio_postgres::Row> for Card {
    type Error = BookingError;

    fn try_from(row: &tokio_postgres::Row) -> BookingResult<Card> {
        Ok(Card {
            card_id: row.get("card_id"),
            person_id: row.get("person_id"),
            account_id: row.get("account_id"),
            state: CardState::from_name(row.get("state"))?,
        })
    }
}

/// The cards with these ids that exist, by id: one statement.
pub async fn cards(
    tx: &impl GenericClient,
    card_ids: &[&str],
) -> BookingResult<std::collections::HashMap<String, Card>> {
    let statement = tx
        .prepare_cached(
            "select card_id, person_id, account_id, state from card.cards
             where card_id = any($1)",
        )
        .await?;
    tx.query(&statement, &[&card_ids])
        .await?
        .iter()
        .map(|row| {
            let card = Card::try_from(row)?;
            Ok((card.card_id.clone(), card))
        })
        .collect()
}

/// How PostgreSQL plans the rest of an authorization decision's transaction: sent first, in
/// the same round trip as the decision's first statements (`biased` joins).
///
/// Generic plans: the decision's statements take arrays (a batch of any size), and in the
/// default mode the plan cache plans them anew on every call, because their custom plans, which
/// see the arrays' lengths, look cheaper than the generic ones. That cost about 3 ms of
/// planning per batch for the controls and spend (measured in the server's log), and 0.07 ms
/// for the two look-ups by primary key (pg_stat_statements).
///
/// No sequential scans: a connection keeps its generic plan until the table's statistics
/// change. A plan made while `card.authorizations` was nearly empty, on a new database, scanned
/// the whole table for every batch afterwards (23 million rows read in one benchmark run).
/// Every statement of a decision is an index look-up driven by its arrays.
///
/// And no long lock waits: a decision waits at most [`DECISION_LOCK_TIMEOUT_MS`] for any row
/// lock (an authorization row another event holds, a spend row), then fails with
/// `lock_not_available` ([`BookingError::is_lock_timeout`]) and its request is tried again
/// later, so that a row held by a long transaction delays only the requests that need it.
pub async fn plan_decision_statements(tx: &Transaction<'_>) -> BookingResult<()> {
    tx.batch_execute(decision_settings()).await?;
    Ok(())
}

/// The `set local` statements of [`plan_decision_statements`], for a transaction that sends
/// them with its BEGIN (`ledger::db::PipelinedTransaction`). Formatted once, not per batch.
pub fn decision_settings() -> &'static str {
    static SETTINGS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("{BATCH_PLANS}; set local lock_timeout = {DECISION_LOCK_TIMEOUT_MS}")
    });
    &SETTINGS
}

/// Generic plans, and no sequential scans: see [`plan_decision_statements`]. A clearing batch's
/// statements are planned so too, without the decision's lock timeout (a clearing has no
/// deadline; the processor waits for its answer).
pub const BATCH_PLANS: &str =
    "set local plan_cache_mode = force_generic_plan; set local enable_seqscan = off";

/// The longest a decision's statement waits for a row lock (see [`plan_decision_statements`]):
/// long enough for another short transaction on the same rows to finish, short against the
/// decision's budget.
pub const DECISION_LOCK_TIMEOUT_MS: u64 = 50;

/// Those of these authorizations whose answer was a decline recorded at the deadline
/// (V17): they are answered DECLINE whatever their row says. One statement.
pub async fn deadline_declined(
    tx: &impl GenericClient,
    authorization_ids: &[&str],
) -> BookingResult<std::collections::HashSet<String>> {
    let statement = tx
        .prepare_cached(
            "select authorization_id from card.authorization_deadline_declines
             where authorization_id = any($1)",
        )
        .await?;
    Ok(tx
        .query(&statement, &[&authorization_ids])
        .await?
        .iter()
        .map(|row| row.get("authorization_id"))
        .collect())
}

/// The code of the card settlement payable account for a currency.
pub fn settlement_account_code(currency: ledger::Currency) -> String {
    settlement_account_of(currency).code
}

fn settlement_account_of(currency: ledger::Currency) -> NewAccount {
    NewAccount::institution(
        institution_purpose::CARD_SETTLEMENT_PAYABLE,
        AccountType::Liability,
        currency,
    )
}

/// The card settlement payable account for a currency, opened on first use.
pub async fn settlement_account(tx: &Transaction<'_>, money: Money) -> BookingResult<Uuid> {
    let account = settlement_account_of(money.currency);
    if let Some(existing) = store::account_by_code(tx, &account.code).await? {
        return Ok(existing.id);
    }
    let key = format!("open:{}", account.code);
    Ok(store::open_account(tx, &key, &account).await?.id)
}

/// The row of one authorization, locked for this transaction.
#[derive(Debug, Clone)]
pub struct AuthorizationRow {
    pub authorization_id: String,
    pub card_id: String,
    pub decision: Option<Decision>,
    pub approved_minor: i64,
    pub decline_reason: Option<String>,
    pub reason_key: Option<String>,
    pub source: AuthorizationSource,
    pub hold_id: Option<Uuid>,
    pub pending_release_minor: i64,
    pub expired: bool,
    pub cleared_minor: i64,
    pub final_cleared: bool,
    /// The channel its request or advice named (`ATM`, `POS`…), read only.
    pub channel: Option<String>,
}

impl AuthorizationRow {
    /// The row of an authorization no event has touched yet.
    pub fn new(authorization_id: &str, card_id: &str) -> AuthorizationRow {
        AuthorizationRow {
            authorization_id: authorization_id.to_owned(),
            card_id: card_id.to_owned(),
            decision: None,
            approved_minor: 0,
            decline_reason: None,
            reason_key: None,
            source: AuthorizationSource::Unknown,
            hold_id: None,
            pending_release_minor: 0,
            expired: false,
            cleared_minor: 0,
            final_cleared: false,
            channel: None,
        }
    }
}

/// Who decided an authorization (`card.authorizations.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationSource {
    /// Only later events seen so far: the request or advice has not arrived yet.
    Unknown,
    /// We decided it.
    Request,
    /// The processor decided it and advised us (protocol 3.4).
    StandIn,
    Timeout,
    ProcessorRule,
}

impl Named for AuthorizationSource {
    const SET: &'static str = "authorization source";
    const ALL: &'static [AuthorizationSource] = &[
        AuthorizationSource::Unknown,
        AuthorizationSource::Request,
        AuthorizationSource::StandIn,
        AuthorizationSource::Timeout,
        AuthorizationSource::ProcessorRule,
    ];

    fn name(self) -> &'static str {
        match self {
            AuthorizationSource::Unknown => "unknown",
            AuthorizationSource::Request => "request",
            AuthorizationSource::StandIn => "STAND_IN",
            AuthorizationSource::Timeout => "TIMEOUT",
            AuthorizationSource::ProcessorRule => "PROCESSOR_RULE",
        }
    }
}

const AUTHORIZATION_COLUMNS: &str = "authorization_id, card_id, decision, approved_minor, \
     decline_reason, reason_key, source, hold_id, pending_release_minor, expired, cleared_minor, \
     final_cleared, channel";

impl TryFrom<&tokio_postgres::Row> for AuthorizationRow {
    type Error = BookingError;

    fn try_from(row: &tokio_postgres::Row) -> BookingResult<AuthorizationRow> {
        Ok(AuthorizationRow {
            authorization_id: row.get("authorization_id"),
            card_id: row.get("card_id"),
            decision: row
                .get::<_, Option<&str>>("decision")
                .map(Decision::from_name)
                .transpose()?,
            approved_minor: row.get("approved_minor"),
            decline_reason: row.get("decline_reason"),
            reason_key: row.get("reason_key"),
            source: AuthorizationSource::from_name(row.get("source"))?,
            hold_id: row.get("hold_id"),
            pending_release_minor: row.get("pending_release_minor"),
            expired: row.get("expired"),
            cleared_minor: row.get("cleared_minor"),
            final_cleared: row.get("final_cleared"),
            channel: row.get("channel"),
        })
    }
}

/// Locks the authorization's row, creating it if this is the first event about the
/// authorization. `FOR UPDATE` waits for whoever holds the row and returns it as committed; the
/// insert's `on conflict do update` does the same when another transaction created it first.
pub async fn lock_authorization(
    tx: &Transaction<'_>,
    authorization_id: &str,
    card_id: &str,
    currency: &str,
) -> BookingResult<AuthorizationRow> {
    // Nearly always the row exists (its request came first): locked without writing a row
    // version. Else it is created, or locked if another transaction just created it.
    let existing = tx
        .prepare_cached(&format!(
            "select {AUTHORIZATION_COLUMNS} from card.authorizations
             where authorization_id = $1 for update"
        ))
        .await?;
    if let Some(row) = tx.query_opt(&existing, &[&authorization_id]).await? {
        return AuthorizationRow::try_from(&row);
    }
    let statement = tx
        .prepare_cached(&format!(
            "insert into card.authorizations (authorization_id, card_id, currency, source)
             values ($1, $2, $3, 'unknown')
             on conflict (authorization_id) do update set authorization_id = excluded.authorization_id
             returning {AUTHORIZATION_COLUMNS}"
        ))
        .await?;
    let row = tx
        .query_one(&statement, &[&authorization_id, &card_id, &currency])
        .await?;
    AuthorizationRow::try_from(&row)
}

/// The rows of those of these authorizations that exist, locked (in id order, so that two
/// batches cannot deadlock on each other), by id: one statement. A batch inserts the rows of new
/// authorizations with their decisions ([`insert_decisions`]), one row version each.
pub async fn lock_existing_authorizations(
    tx: &impl GenericClient,
    authorization_ids: &[&str],
) -> BookingResult<std::collections::HashMap<String, AuthorizationRow>> {
    let statement = tx
        .prepare_cached(&format!(
            "select {AUTHORIZATION_COLUMNS} from card.authorizations
             where authorization_id = any($1)
             order by authorization_id
             for update"
        ))
        .await?;
    tx.query(&statement, &[&authorization_ids])
        .await?
        .iter()
        .map(|row| {
            let row = AuthorizationRow::try_from(row)?;
            Ok((row.authorization_id.clone(), row))
        })
        .collect()
}

/// What an authorization request asked for and how the controls placed it, written together
/// with the decision (one update of the row, not one per fact).
#[derive(Debug, Clone)]
pub struct RequestDetails {
    pub parent_authorization_id: Option<String>,
    pub requested_minor: i64,
    pub merchant: serde_json::Value,
    pub channel: String,
    /// Kept when `None` (an advice does not replace the version we decided under).
    pub policy_version: Option<String>,
    /// The moment that places the authorization in its spend windows; kept once set.
    pub authorized_at: Option<OffsetDateTime>,
    /// The control that capped a partial approval (e.g. `weekly_limit_exceeded`).
    pub limited_by: Option<String>,
    /// The request's own time as the processor said it; kept once set.
    pub request_timestamp: Option<OffsetDateTime>,
}

/// Writes the row back as this event left it, with the request's details when the event
/// carried them (a request or an advice): one statement either way.
pub async fn save_authorization(
    tx: &Transaction<'_>,
    row: &AuthorizationRow,
    details: Option<&RequestDetails>,
) -> BookingResult<()> {
    let update = tx
        .prepare_cached(
            "update card.authorizations set decision = $2, approved_minor = $3, decline_reason = $4,
                    reason_key = $5, source = $6, hold_id = $7, pending_release_minor = $8,
                    expired = $9, cleared_minor = $10, final_cleared = $11,
                    requested_minor = coalesce($12, requested_minor),
                    merchant = coalesce($13, merchant), channel = coalesce($14, channel),
                    parent_authorization_id = coalesce($15, parent_authorization_id),
                    policy_version = coalesce($16, policy_version),
                    authorized_at = coalesce(authorized_at, $17),
                    limited_by = coalesce($18, limited_by),
                    request_timestamp = coalesce(request_timestamp, $19),
                    updated_at = clock_timestamp()
             where authorization_id = $1",
        )
        .await?;
    tx.execute(
        &update,
        &[
            &row.authorization_id,
            &row.decision.map(Named::name),
            &row.approved_minor,
            &row.decline_reason,
            &row.reason_key,
            &row.source.name(),
            &row.hold_id,
            &row.pending_release_minor,
            &row.expired,
            &row.cleared_minor,
            &row.final_cleared,
            &details.map(|d| d.requested_minor),
            &details.map(|d| &d.merchant),
            &details.map(|d| d.channel.as_str()),
            &details.and_then(|d| d.parent_authorization_id.as_deref()),
            &details.and_then(|d| d.policy_version.as_deref()),
            &details.and_then(|d| d.authorized_at),
            &details.and_then(|d| d.limited_by.as_deref()),
            &details.and_then(|d| d.request_timestamp),
        ],
    )
    .await?;
    Ok(())
}

/// A new authorization decided by a batch: its row as decided, the request's currency and details.
pub struct NewDecision<'a> {
    pub row: &'a AuthorizationRow,
    pub currency: &'a str,
    pub details: &'a RequestDetails,
}

impl NewDecision<'_> {
    /// What the row's hold holds (V12 checks it): the approved amount, since the hold was placed
    /// for it earlier in the transaction and nothing has touched it since; 0 without a hold.
    fn held_minor(&self) -> i64 {
        self.row.hold_id.map_or(0, |_| self.row.approved_minor)
    }
}

/// Inserts the rows of new authorizations with their decisions: one statement. Two deliveries of
/// one new authorization decided at once meet here: the second fails on the primary key and its
/// batch is rolled back, then decided again one request at a time (answered from the row).
pub async fn insert_decisions(
    tx: &impl GenericClient,
    decisions: &[NewDecision<'_>],
) -> BookingResult<()> {
    if decisions.is_empty() {
        return Ok(());
    }
    let insert = tx
        .prepare_cached(
            "insert into card.authorizations
                 (authorization_id, card_id, currency, decision, approved_minor, decline_reason,
                  reason_key, source, hold_id, requested_minor, merchant, channel,
                  parent_authorization_id, policy_version, authorized_at, limited_by, held_minor,
                  request_timestamp)
             select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[],
                                  $6::text[], $7::text[], $8::text[], $9::uuid[], $10::int8[],
                                  $11::jsonb[], $12::text[], $13::text[], $14::text[],
                                  $15::timestamptz[], $16::text[], $17::int8[],
                                  $18::timestamptz[])",
        )
        .await?;
    let rows = || decisions.iter().map(|d| d.row);
    let details = || decisions.iter().map(|d| d.details);
    tx.execute(
        &insert,
        &[
            &rows()
                .map(|r| r.authorization_id.as_str())
                .collect::<Vec<_>>(),
            &rows().map(|r| r.card_id.as_str()).collect::<Vec<_>>(),
            &decisions.iter().map(|d| d.currency).collect::<Vec<_>>(),
            &rows()
                .map(|r| r.decision.map(Named::name))
                .collect::<Vec<_>>(),
            &rows().map(|r| r.approved_minor).collect::<Vec<_>>(),
            &rows()
                .map(|r| r.decline_reason.as_deref())
                .collect::<Vec<_>>(),
            &rows().map(|r| r.reason_key.as_deref()).collect::<Vec<_>>(),
            &rows().map(|r| r.source.name()).collect::<Vec<_>>(),
            &rows().map(|r| r.hold_id).collect::<Vec<_>>(),
            &details().map(|d| d.requested_minor).collect::<Vec<_>>(),
            &details().map(|d| &d.merchant).collect::<Vec<_>>(),
            &details().map(|d| d.channel.as_str()).collect::<Vec<_>>(),
            &details()
                .map(|d| d.parent_authorization_id.as_deref())
                .collect::<Vec<_>>(),
            &details()
                .map(|d| d.policy_version.as_deref())
                .collect::<Vec<_>>(),
            &details().map(|d| d.authorized_at).collect::<Vec<_>>(),
            &details()
                .map(|d| d.limited_by.as_deref())
                .collect::<Vec<_>>(),
            &decisions
                .iter()
                .map(NewDecision::held_minor)
                .collect::<Vec<_>>(),
            &details().map(|d| d.request_timestamp).collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}

fn hold_expiry() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(HOLD_LIFETIME_DAYS)
}

/// The hold an approved authorization places on its card's spendable account.
pub fn hold_command(
    authorization_id: &str,
    card: &Card,
    amount: Money,
    allow_partial: bool,
    overdraft: Overdraft,
) -> PlaceHold {
    PlaceHold {
        idempotency_key: format!("card:hold:{authorization_id}"),
        account_id: card.account_id,
        amount,
        expires_at: Some(hold_expiry()),
        description: "card authorization".into(),
        metadata: serde_json::json!({
            "authorization_id": authorization_id,
            "card_id": card.card_id,
        }),
        allow_partial,
        overdraft,
    }
}

/// Places the hold for an approved authorization (ours or the processor's stand-in), then
/// applies whatever arrived before it: reversals, an expiry, clearings. Returns the amount held.
pub async fn place_authorization_hold(
    tx: &Transaction<'_>,
    row: &mut AuthorizationRow,
    card: &Card,
    amount: Money,
    allow_partial: bool,
    overdraft: Overdraft,
) -> BookingResult<Money> {
    // The authorization row (locked by the caller, answered from its decision when seen again)
    // is what makes this hold happen once: no second, ledger-level idempotency record.
    let hold = store::place_hold_deduplicated_by_caller(
        tx,
        &hold_command(
            &row.authorization_id,
            card,
            amount,
            allow_partial,
            overdraft,
        ),
    )
    .await?;
    row.hold_id = Some(hold.id);
    let held = hold.remaining;
    settle_early_events(tx, row, hold.id, held).await?;
    Ok(held)
}

/// Applies to a new hold what earlier events said: clearings already booked use it up, pending
/// reversals release part of it, an expiry or a final clearing releases the rest.
async fn settle_early_events(
    tx: &Transaction<'_>,
    row: &mut AuthorizationRow,
    hold_id: Uuid,
    held: Money,
) -> BookingResult<()> {
    let already_used = row
        .cleared_minor
        .checked_add(row.pending_release_minor)
        .ok_or(ledger::MoneyError::Overflow)?;
    let release_minor = if row.expired || row.final_cleared {
        held.amount_minor
    } else {
        already_used.min(held.amount_minor)
    };
    if release_minor > 0 {
        store::release_hold(
            tx,
            &ReleaseHold {
                idempotency_key: format!("card:early:{}", row.authorization_id),
                hold_id,
                amount: Some(Money::new(release_minor, held.currency)),
            },
        )
        .await?;
    }
    row.pending_release_minor = 0;
    Ok(())
}

/// Grows the parent authorization's hold by an incremental authorization.
pub async fn increase_authorization_hold(
    tx: &Transaction<'_>,
    parent: &AuthorizationRow,
    child_authorization_id: &str,
    amount: Money,
    allow_partial: bool,
    overdraft: Overdraft,
) -> BookingResult<Money> {
    let Some(hold_id) = parent.hold_id else {
        return Err(LedgerError::invalid(
            "no_parent_hold",
            "the parent authorization holds nothing",
        )
        .into());
    };
    let before = store::hold(tx, hold_id).await?.remaining;
    let after = store::increase_hold(
        tx,
        &IncreaseHold {
            idempotency_key: format!("card:increase:{child_authorization_id}"),
            hold_id,
            amount,
            allow_partial,
            overdraft,
        },
    )
    .await?
    .remaining;
    Ok(after.checked_sub(before)?)
}

/// Records on the parent's row an increment its hold just grew by, so that the increment's amount
/// is counted in the spend window of `at`, the moment it was approved, not in the parent's
/// (V16's `card.authorization_spend_parts`). Nothing for an increment of zero.
pub async fn record_increment(
    tx: &Transaction<'_>,
    parent_authorization_id: &str,
    at: OffsetDateTime,
    amount: Money,
) -> BookingResult<()> {
    if !amount.is_positive() {
        return Ok(());
    }
    let update = tx
        .prepare_cached(
            "update card.authorizations
                set increment_at = increment_at || $2::timestamptz,
                    increment_minor = increment_minor || $3::int8
              where authorization_id = $1",
        )
        .await?;
    tx.execute(
        &update,
        &[&parent_authorization_id, &at, &amount.amount_minor],
    )
    .await?;
    Ok(())
}

/// Releases part (`Some`) or all (`None`) of what an authorization holds, capped at what
/// remains; remembered for later when no hold exists yet.
pub async fn release_authorization(
    tx: &Transaction<'_>,
    row: &mut AuthorizationRow,
    amount: Option<Money>,
    idempotency_key: &str,
) -> BookingResult<()> {
    match row.hold_id {
        Some(hold_id) => {
            let remaining = store::hold(tx, hold_id).await?.remaining;
            let release_minor = amount
                .map(|a| a.amount_minor.min(remaining.amount_minor))
                .unwrap_or(remaining.amount_minor);
            if release_minor > 0 {
                store::release_hold(
                    tx,
                    &ReleaseHold {
                        idempotency_key: idempotency_key.to_owned(),
                        hold_id,
                        amount: Some(Money::new(release_minor, remaining.currency)),
                    },
                )
                .await?;
            }
        }
        None => match amount {
            Some(amount) => {
                row.pending_release_minor = row
                    .pending_release_minor
                    .checked_add(amount.amount_minor)
                    .ok_or(ledger::MoneyError::Overflow)?;
            }
            None => row.expired = true,
        },
    }
    Ok(())
}

/// Frees what remains at the processor's expiry; a clearing may still follow.
pub async fn expire_authorization(
    tx: &Transaction<'_>,
    row: &mut AuthorizationRow,
) -> BookingResult<()> {
    row.expired = true;
    if let Some(hold_id) = row.hold_id {
        let remaining = store::hold(tx, hold_id).await?.remaining;
        if remaining.amount_minor > 0 {
            store::expire_hold(
                tx,
                &format!("card:expire:{}", row.authorization_id),
                hold_id,
            )
            .await?;
        }
    }
    Ok(())
}

pub struct Clearing<'a> {
    pub transaction_id: &'a str,
    pub card: &'a Card,
    /// The card settlement payable of the amount's currency ([`settlement_account`]).
    pub settlement_account_id: Uuid,
    pub amount: Money,
    pub final_clearing: bool,
    pub effective_date: time::Date,
    pub metadata: serde_json::Value,
}

fn transaction_ref(transaction_id: &str) -> ExternalRef {
    ExternalRef {
        kind: "processor_transaction".into(),
        value: transaction_id.to_owned(),
        unique: true,
    }
}

/// True when an entry for this processor transaction exists already (a duplicate delivery under
/// another webhook id).
pub async fn transaction_booked(tx: &Transaction<'_>, transaction_id: &str) -> BookingResult<bool> {
    Ok(
        store::entry_by_external_ref(tx, "processor_transaction", transaction_id)
            .await?
            .is_some(),
    )
}

/// What a clearing's entry says beside its postings: the card, the authorization, the merchant.
pub fn clearing_metadata(
    card_id: &str,
    authorization_id: Option<&str>,
    merchant: &serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "card_id": card_id,
        "authorization_id": authorization_id,
        "merchant": merchant,
    })
}

/// The capture of the authorization's hold `hold_id` that books a clearing. The webhook's inbox
/// look-up, the unique transaction reference checked before and the locked authorization row
/// make a clearing booked once, so the ledger's own idempotency record is not used.
pub fn clearing_capture(hold_id: Uuid, clearing: Clearing<'_>) -> CaptureHold {
    CaptureHold {
        idempotency_key: format!("card:clearing:{}", clearing.transaction_id),
        hold_id,
        amount: clearing.amount,
        counter_account_id: clearing.settlement_account_id,
        allow_over_capture: true,
        final_capture: clearing.final_clearing,
        effective_date: clearing.effective_date,
        description: EntryText::CardPurchase.english().into(),
        metadata: clearing.metadata,
        external_refs: vec![transaction_ref(clearing.transaction_id)],
        overdraft: Overdraft::AllowAndFlag,
    }
}

/// Counts a booked clearing on its authorization's row.
pub fn count_clearing(
    row: &mut AuthorizationRow,
    amount: Money,
    final_clearing: bool,
) -> BookingResult<()> {
    row.cleared_minor = row
        .cleared_minor
        .checked_add(amount.amount_minor)
        .ok_or(ledger::MoneyError::Overflow)?;
    if final_clearing {
        row.final_cleared = true;
    }
    Ok(())
}

/// Books a clearing: captures the authorization's hold when there is one, else posts directly
/// (a force post, or a clearing that arrived before its authorization). Money already spent is
/// booked even beyond the balance, and flagged.
pub async fn book_clearing(
    tx: &Transaction<'_>,
    row: Option<&mut AuthorizationRow>,
    clearing: Clearing<'_>,
) -> BookingResult<Uuid> {
    let (amount, final_clearing) = (clearing.amount, clearing.final_clearing);
    let entry_id = match row.as_ref().and_then(|r| r.hold_id) {
        Some(hold_id) => {
            store::capture_hold_deduplicated_by_caller(tx, &clearing_capture(hold_id, clearing))
                .await?
                .entry
                .id
        }
        None => {
            let description = if row.is_some() {
                EntryText::CardPurchase
            } else {
                EntryText::CardPurchaseForcePost
            }
            .english();
            store::post_entry(
                tx,
                &EntryDraft {
                    idempotency_key: format!("card:clearing:{}", clearing.transaction_id),
                    effective_date: clearing.effective_date,
                    description: description.into(),
                    metadata: clearing.metadata,
                    external_refs: vec![transaction_ref(clearing.transaction_id)],
                    postings: vec![
                        PostingDraft::debit(clearing.card.account_id, clearing.amount),
                        PostingDraft::credit(clearing.settlement_account_id, clearing.amount)?,
                    ],
                    overdraft: Overdraft::AllowAndFlag,
                },
            )
            .await?
            .id
        }
    };
    if let Some(row) = row {
        count_clearing(row, amount, final_clearing)?;
    }
    Ok(entry_id)
}

/// Money back to the card: debit the settlement payable, credit the prisoner's spendable.
pub async fn book_refund(
    tx: &Transaction<'_>,
    transaction_id: &str,
    card: &Card,
    amount: Money,
    effective_date: time::Date,
    metadata: serde_json::Value,
) -> BookingResult<Uuid> {
    let settlement = settlement_account(tx, amount).await?;
    Ok(store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: format!("card:refund:{transaction_id}"),
            effective_date,
            description: EntryText::CardRefund.english().into(),
            metadata,
            external_refs: vec![transaction_ref(transaction_id)],
            postings: vec![
                PostingDraft::debit(settlement, amount),
                PostingDraft::credit(card.account_id, amount)?,
            ],
            overdraft: Overdraft::Refuse,
        },
    )
    .await?
    .id)
}

/// Mirrors a card state change and records it.
pub async fn record_card_state(
    tx: &Transaction<'_>,
    card_id: &str,
    previous_state: Option<&str>,
    state: &str,
    reason: Option<&str>,
    changed_by: &str,
) -> BookingResult<()> {
    let update = tx
        .prepare_cached("update card.cards set state = $2, updated_at = now() where card_id = $1")
        .await?;
    if tx.execute(&update, &[&card_id, &state]).await? == 0 {
        return Err(BookingError::UnknownCard);
    }
    let insert = tx
        .prepare_cached(
            "insert into card.card_state_events (card_id, previous_state, state, reason, changed_by)
             values ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(
        &insert,
        &[&card_id, &previous_state, &state, &reason, &changed_by],
    )
    .await?;
    Ok(())
}

/// Registers a card the default processor issued for a person's spendable account.
pub async fn register_card(
    tx: &Transaction<'_>,
    card_id: &str,
    cardholder_id: &str,
    person_id: Uuid,
    account_id: Uuid,
    state: &str,
    last4: Option<&str>,
) -> BookingResult<()> {
    register_card_at(
        tx,
        crate::processors::DEFAULT_PROCESSOR,
        card_id,
        cardholder_id,
        person_id,
        account_id,
        state,
        last4,
    )
    .await
}

/// Registers a card `processor_id` issued for a person's spendable account.
#[allow(clippy::too_many_arguments)]
pub async fn register_card_at(
    tx: &Transaction<'_>,
    processor_id: &str,
    card_id: &str,
    cardholder_id: &str,
    person_id: Uuid,
    account_id: Uuid,
    state: &str,
    last4: Option<&str>,
) -> BookingResult<()> {
    let insert = tx
        .prepare_cached(
            "insert into card.cards
                 (card_id, cardholder_id, person_id, account_id, state, last4, processor_id)
             values ($1, $2, $3, $4, $5, $6, $7) on conflict (card_id) do nothing",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &card_id,
            &cardholder_id,
            &person_id,
            &account_id,
            &state,
            &last4,
            &processor_id,
        ],
    )
    .await?;
    Ok(())
}
