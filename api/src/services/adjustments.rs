//! Ledger adjustments with four-eyes approval: finance staff propose a balanced entry between one
//! of a prisoner's sub-accounts and an institutional account; a finance approver other than the
//! maker approves it, and only then is it posted (idempotent by the proposal id). Proposals and
//! decisions are append-only (`migrations/V6__adjustments.sql`); the database also refuses a
//! decision by the maker.
use deadpool_postgres::{GenericClient, Transaction};
use ledger::entry_text::EntryText;
use ledger::{AccountType, Currency, EntryDraft, Money, Overdraft, PostingDraft};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Staff;
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::services::ServiceError;
use crate::state::AppState;

/// Which side of the entry the prisoner's account is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Money to the prisoner: the institutional account is debited.
    CreditPrisoner,
    /// Money from the prisoner: the institutional account is credited.
    DebitPrisoner,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::CreditPrisoner => "credit_prisoner",
            Direction::DebitPrisoner => "debit_prisoner",
        }
    }

    /// `None` for any other text: never a guess.
    pub fn parse(text: &str) -> Option<Direction> {
        [Direction::CreditPrisoner, Direction::DebitPrisoner]
            .into_iter()
            .find(|direction| direction.as_str() == text)
    }
}

/// Why: a closed list, so the ledger entry's description (which the prisoner sees at the kiosk)
/// never carries free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    Correction,
    Refund,
    WriteOff,
    SuspenseClearing,
    Other,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 5] = [
        ReasonCode::Correction,
        ReasonCode::Refund,
        ReasonCode::WriteOff,
        ReasonCode::SuspenseClearing,
        ReasonCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Correction => "correction",
            ReasonCode::Refund => "refund",
            ReasonCode::WriteOff => "write_off",
            ReasonCode::SuspenseClearing => "suspense_clearing",
            ReasonCode::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<ReasonCode> {
        ReasonCode::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
    }

    fn description(self) -> &'static str {
        match self {
            ReasonCode::Correction => EntryText::AdjustmentCorrection,
            ReasonCode::Refund => EntryText::AdjustmentRefund,
            ReasonCode::WriteOff => EntryText::AdjustmentWriteOff,
            ReasonCode::SuspenseClearing => EntryText::AdjustmentSuspenseClearing,
            ReasonCode::Other => EntryText::Adjustment,
        }
        .english()
    }
}

/// The institutional accounts an adjustment may use, with the type each is opened with.
pub const INSTITUTION_ACCOUNTS: [(&str, AccountType); 5] = [
    (
        ledger::institution_purpose::SUSPENSE,
        AccountType::Liability,
    ),
    (
        ledger::institution_purpose::FEES_INCOME,
        AccountType::Income,
    ),
    (
        ledger::institution_purpose::CASH_ON_HAND,
        AccountType::Asset,
    ),
    (ledger::institution_purpose::BANK_TRUST, AccountType::Asset),
    (
        ledger::institution_purpose::WAGES_EXPENSE,
        AccountType::Expense,
    ),
];

/// What the maker proposes.
#[derive(Debug, Clone)]
pub struct Draft {
    pub person_id: Uuid,
    /// `spendable`, `release_savings` or `held_deposits`.
    pub account: String,
    /// One of [`INSTITUTION_ACCOUNTS`].
    pub institution_account: String,
    pub direction: Direction,
    pub amount_minor: i64,
    pub reason_code: ReasonCode,
    pub reason: String,
}

/// A proposal and, once decided, its decision.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Proposal {
    pub id: Uuid,
    pub prison_id: Uuid,
    pub person_id: Uuid,
    /// The prisoner's sub-account (`spendable`, `release_savings`, `held_deposits`).
    pub account: String,
    /// The institutional account's purpose (`suspense`, `fees_income`…).
    pub institution_account: String,
    pub direction: Direction,
    pub amount_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    pub reason_code: ReasonCode,
    pub reason: String,
    pub proposed_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub proposed_at: OffsetDateTime,
    /// `proposed`, `approved` or `rejected`.
    #[schema(example = "proposed")]
    pub state: String,
    pub decided_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
    /// The posted entry (approved proposals only).
    pub entry_id: Option<Uuid>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdjustmentError {
    #[error("no such adjustment")]
    NotFound,
    #[error("this adjustment has already been decided")]
    AlreadyDecided,
    #[error("the maker of an adjustment cannot decide it; another finance approver must")]
    OwnProposal,
    #[error("{1}")]
    Invalid(&'static str, &'static str),
    /// A stored proposal whose column holds a value no version of Saldo writes: a corrupt row.
    #[error("adjustment row with an unknown {0}")]
    Corrupt(&'static str),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error("database error")]
    Database(tokio_postgres::Error),
    /// The checks around the decision: the prisoner's record, the access log, the pool.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

ledger::database_error_from!(AdjustmentError, Database);

macro_rules! adjustment_error_via_service {
    ($($error:ty),*) => {$(
        impl From<$error> for AdjustmentError {
            fn from(error: $error) -> AdjustmentError {
                AdjustmentError::Service(ServiceError::from(error))
            }
        }
    )*};
}
adjustment_error_via_service!(
    deadpool_postgres::PoolError,
    crate::identity::IdentityError,
    crate::identity::access_log::RecordError
);

type Result<T> = std::result::Result<T, AdjustmentError>;

/// Checks a draft's shape before anything is read or written.
pub fn validate(draft: &Draft) -> Result<()> {
    if !crate::services::SUB_ACCOUNTS.contains(&draft.account.as_str()) {
        return Err(AdjustmentError::Invalid(
            "account_invalid",
            "account is spendable, release_savings or held_deposits",
        ));
    }
    if !INSTITUTION_ACCOUNTS
        .iter()
        .any(|(purpose, _)| *purpose == draft.institution_account)
    {
        return Err(AdjustmentError::Invalid(
            "institution_account_invalid",
            "institution_account is suspense, fees_income, cash_on_hand, bank_trust or wages_expense",
        ));
    }
    if draft.amount_minor <= 0 {
        return Err(AdjustmentError::Invalid(
            "amount_not_positive",
            "an adjustment is a positive amount; direction says which way",
        ));
    }
    let length = draft.reason.trim().chars().count();
    if !(1..=500).contains(&length) {
        return Err(AdjustmentError::Invalid(
            "reason_invalid",
            "a reason is 1 to 500 characters",
        ));
    }
    Ok(())
}

const COLUMNS: &str = "p.id, p.prison_id, p.person_id, pa.purpose as account,
     ia.purpose as institution_account, p.direction, p.amount_minor, p.currency::text as currency,
     p.reason_code, p.reason, p.proposed_by, p.proposed_at,
     coalesce(d.decision, 'proposed') as state, d.decided_by, d.decided_at, d.entry_id";
const FROM: &str = "adjustments.proposals p
     join ledger_accounts pa on pa.id = p.prisoner_account_id
     join ledger_accounts ia on ia.id = p.institution_account_id
     left join adjustments.decisions d on d.proposal_id = p.id";

/// A stored direction; anything else is a corrupt row, never a default.
fn stored_direction(text: &str) -> Result<Direction> {
    Direction::parse(text).ok_or(AdjustmentError::Corrupt("direction"))
}

/// A stored reason code; anything else is a corrupt row, never a default.
fn stored_reason(text: &str) -> Result<ReasonCode> {
    ReasonCode::parse(text).ok_or(AdjustmentError::Corrupt("reason_code"))
}

fn from_row(row: &tokio_postgres::Row) -> Result<Proposal> {
    Ok(Proposal {
        id: row.get("id"),
        prison_id: row.get("prison_id"),
        person_id: row.get("person_id"),
        account: row.get("account"),
        institution_account: row.get("institution_account"),
        direction: stored_direction(row.get("direction"))?,
        amount_minor: row.get("amount_minor"),
        currency: row.get("currency"),
        reason_code: stored_reason(row.get("reason_code"))?,
        reason: row.get("reason"),
        proposed_by: row.get("proposed_by"),
        proposed_at: row.get("proposed_at"),
        state: row.get("state"),
        decided_by: row.get("decided_by"),
        decided_at: row.get("decided_at"),
        entry_id: row.get("entry_id"),
    })
}

/// Records a proposal. The caller has already checked (and logged) that the prisoner belongs to
/// `prison_id`.
pub async fn propose(
    tx: &Transaction<'_>,
    maker: Uuid,
    prison_id: Uuid,
    draft: &Draft,
) -> Result<Proposal> {
    validate(draft)?;
    let code = format!("person:{}:{}:EUR", draft.person_id, draft.account);
    let account =
        ledger::store::account_by_code(tx, &code)
            .await?
            .ok_or(AdjustmentError::Invalid(
                "account_missing",
                "the prisoner has no such account",
            ))?;
    let account_type = INSTITUTION_ACCOUNTS
        .iter()
        .find(|(purpose, _)| *purpose == draft.institution_account)
        .map(|(_, account_type)| *account_type)
        .unwrap_or(AccountType::Liability);
    let institution =
        crate::services::institution_account(tx, &draft.institution_account, account_type)
            .await
            .map_err(|_| {
                AdjustmentError::Invalid("institution_account_invalid", "no such account")
            })?;
    let id = Uuid::now_v7();
    tx.execute(
        "insert into adjustments.proposals (id, prison_id, person_id, prisoner_account_id,
             institution_account_id, direction, amount_minor, currency, reason_code, reason,
             proposed_by)
         values ($1, $2, $3, $4, $5, $6, $7, 'EUR', $8, $9, $10)",
        &[
            &id,
            &prison_id,
            &draft.person_id,
            &account.id,
            &institution,
            &draft.direction.as_str(),
            &draft.amount_minor,
            &draft.reason_code.as_str(),
            &draft.reason.trim(),
            &maker,
        ],
    )
    .await?;
    find(tx, prison_id, id)
        .await?
        .ok_or(AdjustmentError::NotFound)
}

/// One proposal of a prison.
pub async fn find(
    client: &impl GenericClient,
    prison_id: Uuid,
    id: Uuid,
) -> Result<Option<Proposal>> {
    let row = client
        .query_opt(
            &format!("select {COLUMNS} from {FROM} where p.id = $1 and p.prison_id = $2"),
            &[&id, &prison_id],
        )
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A prison's proposals, newest first; `state` filters (`proposed`, `approved`, `rejected`).
pub async fn list(
    client: &impl GenericClient,
    prison_id: Uuid,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<Proposal>> {
    let rows = client
        .query(
            &format!(
                "select {COLUMNS} from {FROM}
                 where p.prison_id = $1 and ($2::text is null or coalesce(d.decision, 'proposed') = $2)
                 order by p.proposed_at desc, p.id desc limit $3"
            ),
            &[&prison_id, &state, &limit],
        )
        .await?;
    rows.iter().map(from_row).collect()
}

/// The proposal's person, for the access check before a decision.
pub async fn person_of(tx: &Transaction<'_>, prison_id: Uuid, id: Uuid) -> Result<Uuid> {
    let row = tx
        .query_opt(
            "select person_id from adjustments.proposals where id = $1 and prison_id = $2",
            &[&id, &prison_id],
        )
        .await?;
    row.map(|row| row.get("person_id"))
        .ok_or(AdjustmentError::NotFound)
}

/// Approves and posts, or rejects, a proposal. The proposal row is locked first, so two
/// approvers one after the other see the first decision; the ledger entry's idempotency key is
/// the proposal id, so it can be posted only once whatever happens.
pub async fn decide(
    tx: &Transaction<'_>,
    checker: Uuid,
    prison_id: Uuid,
    id: Uuid,
    approve: bool,
) -> Result<Proposal> {
    let locked = tx
        .query_opt(
            "select proposed_by, prisoner_account_id, institution_account_id, direction,
                    amount_minor, reason_code
             from adjustments.proposals where id = $1 and prison_id = $2 for update",
            &[&id, &prison_id],
        )
        .await?
        .ok_or(AdjustmentError::NotFound)?;
    let decided = tx
        .query_opt(
            "select 1 from adjustments.decisions where proposal_id = $1",
            &[&id],
        )
        .await?;
    if decided.is_some() {
        return Err(AdjustmentError::AlreadyDecided);
    }
    let maker: Uuid = locked.get("proposed_by");
    if maker == checker {
        return Err(AdjustmentError::OwnProposal);
    }
    let entry_id = if approve {
        let prisoner_account: Uuid = locked.get("prisoner_account_id");
        let institution_account: Uuid = locked.get("institution_account_id");
        let amount = Money::new(locked.get("amount_minor"), Currency::EUR);
        let reason = stored_reason(locked.get("reason_code"))?;
        let postings = match stored_direction(locked.get("direction"))? {
            Direction::CreditPrisoner => vec![
                PostingDraft::debit(institution_account, amount),
                PostingDraft::credit(prisoner_account, amount)?,
            ],
            Direction::DebitPrisoner => vec![
                PostingDraft::debit(prisoner_account, amount),
                PostingDraft::credit(institution_account, amount)?,
            ],
        };
        let prison = crate::identity::store::prison(tx, prison_id)
            .await
            .map_err(|_| AdjustmentError::NotFound)?
            .ok_or(AdjustmentError::NotFound)?;
        let draft = EntryDraft {
            idempotency_key: format!("adjustment:{id}"),
            effective_date: crate::services::prison_today(&prison.time_zone),
            description: reason.description().to_owned(),
            metadata: serde_json::json!({
                "adjustment_id": id,
                "prison_id": prison_id,
                "proposed_by_staff_id": maker,
                "approved_by_staff_id": checker,
            }),
            external_refs: vec![],
            postings,
            overdraft: Overdraft::Refuse,
        };
        Some(ledger::store::post_entry(tx, &draft).await?.id)
    } else {
        None
    };
    tx.execute(
        "insert into adjustments.decisions (proposal_id, decision, decided_by, entry_id)
         values ($1, $2, $3, $4)",
        &[
            &id,
            &if approve { "approved" } else { "rejected" },
            &checker,
            &entry_id,
        ],
    )
    .await?;
    find(tx, prison_id, id)
        .await?
        .ok_or(AdjustmentError::NotFound)
}

/// Decides a proposal of `prison_id` (the caller holds finance_approver there). Shared with the
/// staff pages.
pub async fn decide_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    adjustment_id: Uuid,
    approve: bool,
) -> Result<Proposal> {
    let who = staff.accessor(Purpose::CaseManagement, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let person_id = person_of(&tx, prison_id, adjustment_id).await?;
    let found = identity::store::access_prisoner(
        &tx,
        &who,
        Some(prison_id),
        person_id,
        Action::Change,
        &[PrisonerField::Adjustment],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    // Any refusal below rolls the whole transaction back: no decision, no entry, no log row.
    let proposal = decide(&tx, staff.id, prison_id, adjustment_id, approve).await?;
    tx.commit().await?;
    tracing::info!(adjustment.id = %adjustment_id, staff.id = %staff.id, decision = %proposal.state, "adjustment decided");
    Ok(proposal)
}

/// Checks the draft, then (logged, in one transaction) that the prisoner belongs to the prison,
/// and records the proposal. Shared with the staff pages.
pub async fn propose_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: uuid::Uuid,
    draft: &Draft,
) -> Result<Proposal> {
    // Shape first: a malformed proposal changes nothing, not even the access log.
    validate(draft)?;
    let who = staff.accessor(Purpose::CaseManagement, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::access_prisoner(
        &tx,
        &who,
        Some(prison_id),
        draft.person_id,
        Action::Change,
        &[PrisonerField::Adjustment],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    let proposal = propose(&tx, staff.id, prison_id, draft).await?;
    tx.commit().await?;
    tracing::info!(adjustment.id = %proposal.id, staff.id = %staff.id, "adjustment proposed");
    Ok(proposal)
}
