//! The bank rail's bookings (docs/payouts.md): prisoners' structured references for family bank
//! transfers, payouts by SEPA credit transfer (at release, and returns of money Saldo cannot
//! take) and cash at the gate. Every choice is free: nothing here posts a fee.
//!
//! A SEPA payout leaves the person's accounts when it is instructed (to `payouts_in_transit`, a
//! liability: still owed, on its way) and the trust account when the bank's statement shows the
//! debit (matched by the payout's end-to-end id); a return of it puts the money back. A transfer
//! Saldo gives back is taken into `deposit_returns` when the statement shows it, so the trust
//! account agrees with the bank, and leaves it when the return is debited. Payees are identity
//! store records, named here by pseudonymous id only.

use deadpool_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::accounts::{PersonAccounts, institution_account};
use crate::entry_text::EntryText;
use crate::error::{LedgerError, LedgerResult};
use crate::idempotency::{self, Begun};
use crate::model::{AccountType, EntryDraft, ExternalRef, Overdraft, PostingDraft};
use crate::model::{institution_purpose, person_purpose};
use crate::money::{Currency, Money};
use crate::policy_store::{lock_person, require_placement};
use crate::{rf_reference, store};

/// Institutional accounts of the bank rail (liabilities: money owed to someone, on its way).
pub mod purpose {
    /// Release payouts instructed, not yet debited by the bank.
    pub const PAYOUTS_IN_TRANSIT: &str = "payouts_in_transit";
    /// Transfers Saldo could not take, owed back to their senders.
    pub const DEPOSIT_RETURNS: &str = "deposit_returns";
}

/// External reference kinds the rail writes.
pub mod ref_kind {
    /// The camt.053 `EndToEndId` of a bank line (as reconciliation matches it).
    pub const BANK_END_TO_END: &str = "bank_end_to_end";
    /// The payout an entry instructs.
    pub const BANK_PAYOUT: &str = "bank_payout";
    /// A cash payout's receipt number.
    pub const CASH_RECEIPT: &str = "cash_receipt";
}

/// The end-to-end reference under which a returned transfer's line is matched: the bank echoes
/// the payout's own id on the return, which must not collide with the payout's debit.
pub fn return_end_to_end(end_to_end_id: &str) -> String {
    format!("{end_to_end_id}:return")
}

fn unique_ref(kind: &str, value: impl Into<String>) -> ExternalRef {
    ExternalRef {
        kind: kind.into(),
        value: value.into(),
        unique: true,
    }
}

// ---------------------------------------------------------------------------------------------
// References

/// The person's structured reference, issued (random, see [`rf_reference`]) on first asking.
pub async fn reference_of(
    tx: &Transaction<'_>,
    person_id: Uuid,
    created_by: &str,
) -> LedgerResult<String> {
    lock_person(tx, person_id).await?;
    let select = tx
        .prepare_cached("select reference from controls.deposit_references where person_id = $1")
        .await?;
    if let Some(row) = tx.query_opt(&select, &[&person_id]).await? {
        return Ok(row.get("reference"));
    }
    require_placement(tx, person_id).await?;
    let insert = tx
        .prepare_cached(
            "insert into controls.deposit_references (reference, person_id, created_by)
             values ($1, $2, $3) on conflict (reference) do nothing",
        )
        .await?;
    // 80 random bits: a collision is astronomically unlikely, and then the next draw is used.
    for _ in 0..4 {
        let reference = rf_reference::random();
        if tx
            .execute(&insert, &[&reference, &person_id, &created_by])
            .await?
            == 1
        {
            return Ok(reference);
        }
    }
    Err(LedgerError::invalid(
        "reference_unavailable",
        "no free reference could be drawn",
    ))
}

/// Whose reference this is (normal form).
pub async fn person_by_reference(
    client: &impl GenericClient,
    reference: &str,
) -> LedgerResult<Option<Uuid>> {
    let statement = client
        .prepare_cached("select person_id from controls.deposit_references where reference = $1")
        .await?;
    Ok(client
        .query_opt(&statement, &[&reference])
        .await?
        .map(|row| row.get("person_id")))
}

// ---------------------------------------------------------------------------------------------
// Payouts

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutKind {
    Release,
    DepositReturn,
}

impl PayoutKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutKind::Release => "release",
            PayoutKind::DepositReturn => "deposit_return",
        }
    }

    fn parse(text: &str) -> LedgerResult<PayoutKind> {
        match text {
            "release" => Ok(PayoutKind::Release),
            "deposit_return" => Ok(PayoutKind::DepositReturn),
            _ => Err(LedgerError::invalid(
                "payout_kind_invalid",
                "unknown payout kind",
            )),
        }
    }

    /// Where the money waits between instruction and the bank's debit.
    fn in_transit_purpose(self) -> &'static str {
        match self {
            PayoutKind::Release => purpose::PAYOUTS_IN_TRANSIT,
            PayoutKind::DepositReturn => purpose::DEPOSIT_RETURNS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutState {
    /// Instructed, in no file yet.
    Pending,
    /// In a pain.001 file, not yet on a statement.
    InFile,
    /// The bank debited the trust account.
    Settled,
    /// The bank gave it back.
    Returned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankPayout {
    pub payout_id: Uuid,
    pub end_to_end_id: String,
    pub kind: PayoutKind,
    pub prison_id: Uuid,
    pub person_id: Option<Uuid>,
    pub payee_id: Uuid,
    pub amount: Money,
    pub reason_code: Option<String>,
    pub returns_end_to_end: Option<String>,
    pub instructed_entry_id: Uuid,
    pub state: PayoutState,
    pub file_id: Option<Uuid>,
}

const PAYOUT_COLUMNS: &str = "p.payout_id, p.end_to_end_id, p.kind, p.prison_id, p.person_id,
    p.payee_id, p.amount_minor, p.currency, p.reason_code, p.returns_end_to_end,
    p.instructed_entry_id, i.file_id,
    exists (select 1 from controls.bank_payout_outcomes o
            where o.payout_id = p.payout_id and o.outcome = 'settled') as settled,
    exists (select 1 from controls.bank_payout_outcomes o
            where o.payout_id = p.payout_id and o.outcome = 'returned') as returned";

impl TryFrom<&tokio_postgres::Row> for BankPayout {
    type Error = LedgerError;

    fn try_from(row: &tokio_postgres::Row) -> LedgerResult<BankPayout> {
        let currency = Currency::from_code(row.get::<_, &str>("currency"))?;
        let file_id: Option<Uuid> = row.get("file_id");
        let state = if row.get("returned") {
            PayoutState::Returned
        } else if row.get("settled") {
            PayoutState::Settled
        } else if file_id.is_some() {
            PayoutState::InFile
        } else {
            PayoutState::Pending
        };
        Ok(BankPayout {
            payout_id: row.get("payout_id"),
            end_to_end_id: row.get("end_to_end_id"),
            kind: PayoutKind::parse(row.get("kind"))?,
            prison_id: row.get("prison_id"),
            person_id: row.get("person_id"),
            payee_id: row.get("payee_id"),
            amount: Money::new(row.get("amount_minor"), currency),
            reason_code: row.get("reason_code"),
            returns_end_to_end: row.get("returns_end_to_end"),
            instructed_entry_id: row.get("instructed_entry_id"),
            state,
            file_id,
        })
    }
}

pub async fn payout(client: &impl GenericClient, payout_id: Uuid) -> LedgerResult<BankPayout> {
    let statement = client
        .prepare_cached(&format!(
            "select {PAYOUT_COLUMNS} from controls.bank_payouts p
             left join controls.bank_payout_file_items i on i.payout_id = p.payout_id
             where p.payout_id = $1"
        ))
        .await?;
    let row = client
        .query_opt(&statement, &[&payout_id])
        .await?
        .ok_or_else(|| LedgerError::invalid("unknown_payout", "no such payout"))?;
    BankPayout::try_from(&row)
}

pub async fn payout_by_end_to_end(
    client: &impl GenericClient,
    end_to_end_id: &str,
) -> LedgerResult<Option<BankPayout>> {
    let statement = client
        .prepare_cached(&format!(
            "select {PAYOUT_COLUMNS} from controls.bank_payouts p
             left join controls.bank_payout_file_items i on i.payout_id = p.payout_id
             where p.end_to_end_id = $1"
        ))
        .await?;
    client
        .query_opt(&statement, &[&end_to_end_id])
        .await?
        .as_ref()
        .map(BankPayout::try_from)
        .transpose()
}

/// A prison's payouts, newest first: those in no file yet (`pending_only`), or all.
pub async fn payouts(
    client: &impl GenericClient,
    prison_id: Uuid,
    pending_only: bool,
    limit: i64,
) -> LedgerResult<Vec<BankPayout>> {
    let statement = client
        .prepare_cached(&format!(
            "select {PAYOUT_COLUMNS} from controls.bank_payouts p
             left join controls.bank_payout_file_items i on i.payout_id = p.payout_id
             where p.prison_id = $1 and (not $2 or i.file_id is null)
             order by p.created_at, p.payout_id limit $3"
        ))
        .await?;
    client
        .query(
            &statement,
            &[&prison_id, &pending_only, &limit.clamp(1, 500)],
        )
        .await?
        .iter()
        .map(BankPayout::try_from)
        .collect()
}

struct NewPayout<'a> {
    payout_id: Uuid,
    kind: PayoutKind,
    prison_id: Uuid,
    person_id: Option<Uuid>,
    payee_id: Uuid,
    amount: Money,
    reason_code: Option<&'a str>,
    returns_end_to_end: Option<&'a str>,
    instructed_entry_id: Uuid,
    created_by: &'a str,
}

async fn insert_payout(tx: &Transaction<'_>, new: &NewPayout<'_>) -> LedgerResult<BankPayout> {
    let insert = tx
        .prepare_cached(
            "insert into controls.bank_payouts
                (payout_id, end_to_end_id, kind, prison_id, person_id, payee_id, amount_minor,
                 currency, reason_code, returns_end_to_end, instructed_entry_id, created_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &new.payout_id,
            &new.payout_id.simple().to_string(),
            &new.kind.as_str(),
            &new.prison_id,
            &new.person_id,
            &new.payee_id,
            &new.amount.amount_minor,
            &new.amount.currency.code(),
            &new.reason_code,
            &new.returns_end_to_end,
            &new.instructed_entry_id,
            &new.created_by,
        ],
    )
    .await?;
    payout(tx, new.payout_id).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructReleasePayout {
    pub idempotency_key: String,
    pub person_id: Uuid,
    /// The identity store's record of the account to pay to.
    pub payee_id: Uuid,
    #[serde(with = "crate::model::date_format")]
    pub effective_date: Date,
    pub instructed_by: String,
}

/// Instructs the payout of everything the person can take (spendable and release savings,
/// available): debit them, credit `payouts_in_transit`, reference `bank_payout`. `None` when
/// there is nothing to pay. The bank's debit is booked by [`settle_payout`].
pub async fn instruct_release_payout(
    tx: &Transaction<'_>,
    command: &InstructReleasePayout,
) -> LedgerResult<Option<BankPayout>> {
    let claim = match idempotency::begin(
        tx,
        &format!("bank_payout:{}", command.idempotency_key),
        "controls.bank_payout",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    let Takeable {
        placement,
        currency,
        mut postings,
        total,
    } = everything_takeable(tx, command.person_id).await?;
    let done = if total.is_positive() {
        let payout_id = Uuid::now_v7();
        let in_transit = institution_account(
            tx,
            purpose::PAYOUTS_IN_TRANSIT,
            AccountType::Liability,
            currency,
        )
        .await?;
        postings.push(PostingDraft::credit(in_transit, total)?);
        let entry = store::post_entry(
            tx,
            &EntryDraft {
                idempotency_key: format!("bank_payout:{payout_id}:instructed"),
                effective_date: command.effective_date,
                description: EntryText::ReleasePayoutByBankTransfer.english().into(),
                metadata: serde_json::json!({
                    "person_id": command.person_id,
                    "payout_id": payout_id,
                    "lifecycle": "release",
                }),
                external_refs: vec![unique_ref(ref_kind::BANK_PAYOUT, payout_id.to_string())],
                postings,
                overdraft: Overdraft::Refuse,
            },
        )
        .await?;
        Some(
            insert_payout(
                tx,
                &NewPayout {
                    payout_id,
                    kind: PayoutKind::Release,
                    prison_id: placement.prison_id,
                    person_id: Some(command.person_id),
                    payee_id: command.payee_id,
                    amount: total,
                    reason_code: None,
                    returns_end_to_end: None,
                    instructed_entry_id: entry.id,
                    created_by: &command.instructed_by,
                },
            )
            .await?,
        )
    } else {
        None
    };
    idempotency::finish(tx, claim, &done).await?;
    Ok(done)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldForReturn {
    pub prison_id: Uuid,
    /// The identity store's record of the sender (the bank line's debtor).
    pub payee_id: Uuid,
    pub amount: Money,
    /// The bank line's end-to-end reference: the entry carries it, so the line reconciles.
    pub bank_end_to_end: String,
    /// ISO 20022 ExternalReturnReason1Code.
    pub reason_code: String,
    #[serde(with = "crate::model::date_format")]
    pub effective_date: Date,
    pub created_by: String,
}

/// Takes a transfer Saldo cannot accept into `deposit_returns` (debit `bank_trust`), reference
/// `bank_end_to_end` = the line's, and instructs its return to the sender. Once per line.
pub async fn hold_for_return(
    tx: &Transaction<'_>,
    command: &HoldForReturn,
) -> LedgerResult<BankPayout> {
    if !command.amount.is_positive() {
        return Err(crate::MoneyError::NotPositive.into());
    }
    let claim = match idempotency::begin(
        tx,
        &format!("deposit_return:{}", command.bank_end_to_end),
        "controls.deposit_return",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    let currency = command.amount.currency;
    let bank = institution_account(
        tx,
        institution_purpose::BANK_TRUST,
        AccountType::Asset,
        currency,
    )
    .await?;
    let returns = institution_account(
        tx,
        purpose::DEPOSIT_RETURNS,
        AccountType::Liability,
        currency,
    )
    .await?;
    let payout_id = Uuid::now_v7();
    let entry = store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: format!("bank_payout:{payout_id}:instructed"),
            effective_date: command.effective_date,
            description: "bank transfer not taken, to be returned to the sender".into(),
            metadata: serde_json::json!({
                "payout_id": payout_id,
                "reason_code": command.reason_code,
                "prison_id": command.prison_id,
            }),
            external_refs: vec![
                unique_ref(ref_kind::BANK_END_TO_END, command.bank_end_to_end.clone()),
                unique_ref(ref_kind::BANK_PAYOUT, payout_id.to_string()),
            ],
            postings: vec![
                PostingDraft::debit(bank, command.amount),
                PostingDraft::credit(returns, command.amount)?,
            ],
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    let done = insert_payout(
        tx,
        &NewPayout {
            payout_id,
            kind: PayoutKind::DepositReturn,
            prison_id: command.prison_id,
            person_id: None,
            payee_id: command.payee_id,
            amount: command.amount,
            reason_code: Some(&command.reason_code),
            returns_end_to_end: Some(&command.bank_end_to_end),
            instructed_entry_id: entry.id,
            created_by: &command.created_by,
        },
    )
    .await?;
    idempotency::finish(tx, claim, &done).await?;
    Ok(done)
}

/// The ISO 20022 return reason of a transfer staff refused after review ("not specified
/// reason, customer generated": the trust account's holder refused it).
pub const REJECTED_AFTER_REVIEW_REASON: &str = "MS02";

/// The bank line a deposit's receipt entry carries, when it came by bank transfer.
pub async fn bank_end_to_end_of(
    client: &impl GenericClient,
    received_entry_id: Uuid,
) -> LedgerResult<Option<String>> {
    let row = client
        .query_opt(
            "select ref_value from journal_entry_refs where entry_id = $1 and ref_kind = $2",
            &[&received_entry_id, &ref_kind::BANK_END_TO_END],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// A held bank-transfer deposit staff rejected goes back to its sender: debit the person's
/// `held_deposits`, credit `deposit_returns` (reference `refund`, like any rejection, and
/// `bank_payout`), and a return payout (reason [`REJECTED_AFTER_REVIEW_REASON`]) for the next
/// pain.001 file. Returns the entry; the caller records the decision.
pub(crate) async fn return_rejected_deposit(
    tx: &Transaction<'_>,
    deposit: &crate::deposits::Deposit,
    bank_end_to_end: &str,
    effective_date: Date,
    decided_by: &str,
) -> LedgerResult<Uuid> {
    let currency = deposit.amount.currency;
    let accounts = PersonAccounts::of(tx, deposit.person_id, currency).await?;
    let returns = institution_account(
        tx,
        purpose::DEPOSIT_RETURNS,
        AccountType::Liability,
        currency,
    )
    .await?;
    let payout_id = Uuid::now_v7();
    let entry = store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: format!("deposit:{}:review", deposit.deposit_id),
            effective_date,
            description: EntryText::FamilyDepositRefunded.english().into(),
            metadata: serde_json::json!({
                "deposit_id": deposit.deposit_id,
                "sender_id": deposit.sender_id,
                "payout_id": payout_id,
                "reason_code": REJECTED_AFTER_REVIEW_REASON,
            }),
            external_refs: vec![
                unique_ref("refund", deposit.deposit_id.to_string()),
                unique_ref(ref_kind::BANK_PAYOUT, payout_id.to_string()),
            ],
            postings: vec![
                PostingDraft::debit(accounts.held_deposits, deposit.amount),
                PostingDraft::credit(returns, deposit.amount)?,
            ],
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    insert_payout(
        tx,
        &NewPayout {
            payout_id,
            kind: PayoutKind::DepositReturn,
            prison_id: deposit.prison_id,
            person_id: None,
            payee_id: deposit.sender_id,
            amount: deposit.amount,
            reason_code: Some(REJECTED_AFTER_REVIEW_REASON),
            returns_end_to_end: Some(bank_end_to_end),
            instructed_entry_id: entry.id,
            created_by: decided_by,
        },
    )
    .await?;
    Ok(entry.id)
}

async fn record_outcome(
    tx: &Transaction<'_>,
    payout_id: Uuid,
    outcome: &str,
    entry_id: Uuid,
    reason_code: Option<&str>,
) -> LedgerResult<()> {
    let insert = tx
        .prepare_cached(
            "insert into controls.bank_payout_outcomes (payout_id, outcome, entry_id, reason_code)
             values ($1, $2, $3, $4) on conflict do nothing",
        )
        .await?;
    tx.execute(&insert, &[&payout_id, &outcome, &entry_id, &reason_code])
        .await?;
    Ok(())
}

/// The bank debited the trust account for a payout: debit its in-transit account, credit
/// `bank_trust`, reference `bank_end_to_end` = the payout's end-to-end id (so the statement
/// line matches). Idempotent.
pub async fn settle_payout(
    tx: &Transaction<'_>,
    payout: &BankPayout,
    effective_date: Date,
) -> LedgerResult<Uuid> {
    let currency = payout.amount.currency;
    let in_transit = institution_account(
        tx,
        payout.kind.in_transit_purpose(),
        AccountType::Liability,
        currency,
    )
    .await?;
    let bank = institution_account(
        tx,
        institution_purpose::BANK_TRUST,
        AccountType::Asset,
        currency,
    )
    .await?;
    let entry = store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: format!("bank_payout:{}:settled", payout.payout_id),
            effective_date,
            description: "payout debited by the bank".into(),
            metadata: serde_json::json!({"payout_id": payout.payout_id}),
            external_refs: vec![unique_ref(
                ref_kind::BANK_END_TO_END,
                payout.end_to_end_id.clone(),
            )],
            postings: vec![
                PostingDraft::debit(in_transit, payout.amount),
                PostingDraft::credit(bank, payout.amount)?,
            ],
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    record_outcome(tx, payout.payout_id, "settled", entry.id, None).await?;
    Ok(entry.id)
}

/// The bank gave a payout back (a returned transfer, reason `reason_code`): debit `bank_trust`,
/// credit the person's spendable (a release payout, `back_to_person`) or `deposit_returns` (a
/// return that came back, or a person whose account cannot take it), reference `bank_end_to_end` = [`return_end_to_end`]. A payout the statement
/// never showed debited is settled first, so the books follow the bank. Idempotent.
pub async fn return_payout(
    tx: &Transaction<'_>,
    payout: &BankPayout,
    reason_code: Option<&str>,
    back_to_person: bool,
    effective_date: Date,
) -> LedgerResult<Uuid> {
    if payout.state != PayoutState::Settled && payout.state != PayoutState::Returned {
        settle_payout(tx, payout, effective_date).await?;
    }
    let currency = payout.amount.currency;
    let bank = institution_account(
        tx,
        institution_purpose::BANK_TRUST,
        AccountType::Asset,
        currency,
    )
    .await?;
    let back_to = match (payout.kind, payout.person_id) {
        (PayoutKind::Release, Some(person_id)) if back_to_person => {
            lock_person(tx, person_id).await?;
            let accounts = PersonAccounts::of(tx, person_id, currency).await?;
            accounts.spendable
        }
        _ => {
            institution_account(
                tx,
                purpose::DEPOSIT_RETURNS,
                AccountType::Liability,
                currency,
            )
            .await?
        }
    };
    let entry = store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: format!("bank_payout:{}:returned", payout.payout_id),
            effective_date,
            description: EntryText::PayoutReturnedByBank.english().into(),
            metadata: serde_json::json!({
                "payout_id": payout.payout_id,
                "reason_code": reason_code,
            }),
            external_refs: vec![unique_ref(
                ref_kind::BANK_END_TO_END,
                return_end_to_end(&payout.end_to_end_id),
            )],
            postings: vec![
                PostingDraft::debit(bank, payout.amount),
                PostingDraft::credit(back_to, payout.amount)?,
            ],
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    record_outcome(tx, payout.payout_id, "returned", entry.id, reason_code).await?;
    Ok(entry.id)
}

/// Records a pain.001 file and the payouts it carries; a payout already in a file is refused
/// (`payout_already_in_file`).
pub async fn record_file(
    tx: &Transaction<'_>,
    file: &PayoutFile,
    payout_ids: &[Uuid],
) -> LedgerResult<()> {
    let insert = tx
        .prepare_cached(
            "insert into controls.bank_payout_files
                (file_id, message_id, prison_id, payout_count, control_sum_minor, currency,
                 file_sha256, created_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    let count = i32::try_from(payout_ids.len())
        .map_err(|_| LedgerError::invalid("too_many_payouts", "too many payouts in one file"))?;
    tx.execute(
        &insert,
        &[
            &file.file_id,
            &file.message_id,
            &file.prison_id,
            &count,
            &file.control_sum.amount_minor,
            &file.control_sum.currency.code(),
            &file.file_sha256,
            &file.created_by,
        ],
    )
    .await?;
    let item = tx
        .prepare_cached(
            "insert into controls.bank_payout_file_items (payout_id, file_id) values ($1, $2)",
        )
        .await?;
    for payout_id in payout_ids {
        tx.execute(&item, &[payout_id, &file.file_id])
            .await
            .map_err(|error| match error.code() {
                Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                    LedgerError::invalid("payout_already_in_file", "a payout is in a file already")
                }
                _ => LedgerError::Database(error),
            })?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutFile {
    pub file_id: Uuid,
    pub message_id: String,
    pub prison_id: Uuid,
    pub control_sum: Money,
    pub file_sha256: String,
    pub created_by: String,
}

/// What a release payout takes: the available money of spendable and release savings, each as a
/// debit, and their total, with the person locked and their placement.
struct Takeable {
    placement: crate::policy_store::Placement,
    currency: Currency,
    postings: Vec<PostingDraft>,
    total: Money,
}

async fn everything_takeable(tx: &Transaction<'_>, person_id: Uuid) -> LedgerResult<Takeable> {
    lock_person(tx, person_id).await?;
    let placement = require_placement(tx, person_id).await?;
    let currency = person_currency(tx, person_id).await?;
    let accounts = PersonAccounts::of(tx, person_id, currency).await?;
    let mut postings = Vec::new();
    let mut total = Money::zero(currency);
    for account in [accounts.spendable, accounts.release_savings] {
        let available = store::balance(tx, account).await?.available;
        if available.is_positive() {
            postings.push(PostingDraft::debit(account, available));
            total = total.checked_add(available)?;
        }
    }
    Ok(Takeable {
        placement,
        currency,
        postings,
        total,
    })
}

async fn person_currency(tx: &Transaction<'_>, person_id: Uuid) -> LedgerResult<Currency> {
    let statement = tx
        .prepare_cached(
            "select currency from ledger_accounts where person_id = $1 and purpose = $2
             order by created_at limit 1",
        )
        .await?;
    let row = tx
        .query_opt(&statement, &[&person_id, &person_purpose::SPENDABLE])
        .await?
        .ok_or_else(|| {
            LedgerError::invalid("person_accounts_missing", "the person has no accounts")
        })?;
    Ok(Currency::from_code(row.get::<_, &str>("currency"))?)
}

// ---------------------------------------------------------------------------------------------
// Cash at the gate

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayCash {
    pub idempotency_key: String,
    pub person_id: Uuid,
    #[serde(with = "crate::model::date_format")]
    pub effective_date: Date,
    pub paid_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashPayout {
    pub receipt_no: String,
    pub person_id: Uuid,
    pub prison_id: Uuid,
    pub amount: Money,
    pub entry_id: Uuid,
}

/// Pays everything the person can take (spendable and release savings, available) in cash at
/// the gate: debit them, credit `cash_on_hand`, reference `cash_receipt` = the receipt number.
/// `None` when there is nothing to pay.
pub async fn pay_cash(tx: &Transaction<'_>, command: &PayCash) -> LedgerResult<Option<CashPayout>> {
    let claim = match idempotency::begin(
        tx,
        &format!("cash_payout:{}", command.idempotency_key),
        "controls.cash_payout",
        command,
    )
    .await?
    {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    let Takeable {
        placement,
        currency,
        mut postings,
        total,
    } = everything_takeable(tx, command.person_id).await?;
    let done = if total.is_positive() {
        let cash = institution_account(
            tx,
            institution_purpose::CASH_ON_HAND,
            AccountType::Asset,
            currency,
        )
        .await?;
        postings.push(PostingDraft::credit(cash, total)?);
        let receipt_id = Uuid::now_v7().simple().to_string().to_uppercase();
        let receipt_no = format!("C-{}-{}", &receipt_id[..12], &receipt_id[20..]);
        let entry = store::post_entry(
            tx,
            &EntryDraft {
                idempotency_key: format!("cash_payout:{receipt_no}"),
                effective_date: command.effective_date,
                description: EntryText::ReleasePayoutInCash.english().into(),
                metadata: serde_json::json!({
                    "person_id": command.person_id,
                    "receipt_no": receipt_no,
                    "lifecycle": "release",
                }),
                external_refs: vec![unique_ref(ref_kind::CASH_RECEIPT, receipt_no.clone())],
                postings,
                overdraft: Overdraft::Refuse,
            },
        )
        .await?;
        let insert = tx
            .prepare_cached(
                "insert into controls.cash_payouts
                    (receipt_no, person_id, prison_id, amount_minor, currency, entry_id, paid_by)
                 values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        tx.execute(
            &insert,
            &[
                &receipt_no,
                &command.person_id,
                &placement.prison_id,
                &total.amount_minor,
                &currency.code(),
                &entry.id,
                &command.paid_by,
            ],
        )
        .await?;
        Some(CashPayout {
            receipt_no,
            person_id: command.person_id,
            prison_id: placement.prison_id,
            amount: total,
            entry_id: entry.id,
        })
    } else {
        None
    };
    idempotency::finish(tx, claim, &done).await?;
    Ok(done)
}

/// A cash payout by its receipt number.
pub async fn cash_payout(
    client: &impl GenericClient,
    receipt_no: &str,
) -> LedgerResult<Option<CashPayout>> {
    let statement = client
        .prepare_cached(
            "select receipt_no, person_id, prison_id, amount_minor, currency, entry_id
             from controls.cash_payouts where receipt_no = $1",
        )
        .await?;
    let Some(row) = client.query_opt(&statement, &[&receipt_no]).await? else {
        return Ok(None);
    };
    let currency = Currency::from_code(row.get::<_, &str>("currency"))?;
    Ok(Some(CashPayout {
        receipt_no: row.get("receipt_no"),
        person_id: row.get("person_id"),
        prison_id: row.get("prison_id"),
        amount: Money::new(row.get("amount_minor"), currency),
        entry_id: row.get("entry_id"),
    }))
}
