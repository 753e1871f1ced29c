//! The bank rail (docs/payouts.md): what a trust-account statement's own transfers book when it
//! is imported (family deposits by structured reference through the deposit rules, payouts'
//! debits and returns), money given back with a break staff see, and the pain.001 file of a
//! prison's pending payouts. Names and IBANs go to the identity store and into the bank's file,
//! nowhere else.
use deadpool_postgres::Transaction;
use ledger::bank_rail::{self, BankPayout, HoldForReturn, PayoutKind, PayoutState};
use ledger::deposits::{ReceiveDeposit, receive_deposit};
use ledger::{LedgerError, Money, rf_reference};
use recon::{RailBreak, RailLine, ReconError, ReconResult};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Staff;
use crate::identity;
use crate::identity::access_log::{Accessor, Purpose};

/// Books a statement's own transfers as a member of staff imports it.
pub struct StatementRail {
    pub accessor: Accessor,
    /// Who recorded the deposits (the importing clerk's id: four eyes on their review).
    pub recorded_by: String,
}

impl StatementRail {
    pub fn of(staff: &Staff) -> StatementRail {
        StatementRail {
            accessor: staff.accessor(Purpose::Deposit, None),
            recorded_by: staff.id.to_string(),
        }
    }
}

impl recon::BankRail for StatementRail {
    fn wants_lines(&self) -> bool {
        true
    }

    async fn book(
        &self,
        tx: &Transaction<'_>,
        prison_id: Uuid,
        lines: Vec<RailLine>,
    ) -> ReconResult<Vec<RailBreak>> {
        let mut breaks = Vec::new();
        for line in lines {
            if let Some(rail_break) = self.book_line(tx, prison_id, &line).await? {
                breaks.push(rail_break);
            }
        }
        Ok(breaks)
    }
}

/// ISO 20022 ExternalReturnReason1Code for why Saldo gives a transfer back.
fn return_reason(error: &LedgerError) -> &'static str {
    match error.code() {
        // Regulatory: the prison takes money only from approved senders.
        "sender_not_approved" => "RR04",
        "person_not_admitted" | "person_accounts_missing" | "account_closed" => "AC04",
        "amount_beyond_bound" => "AM02",
        _ => "MS03",
    }
}

fn money_text(amount_minor: i64, currency: ledger::Currency) -> String {
    let amount = Money::new(amount_minor.saturating_abs(), currency);
    format!("{} {}", amount.to_decimal(), currency.code())
}

fn internal(error: impl std::fmt::Display) -> ReconError {
    tracing::error!(%error, "bank rail");
    ReconError::Invalid("the bank rail could not book a line".into())
}

impl StatementRail {
    async fn already_booked(tx: &Transaction<'_>, end_to_end_id: &str) -> ReconResult<bool> {
        Ok(tx
            .query_opt(
                "select 1 from journal_entry_refs where ref_kind = $1 and ref_value = $2",
                &[&bank_rail::ref_kind::BANK_END_TO_END, &end_to_end_id],
            )
            .await?
            .is_some())
    }

    async fn book_line(
        &self,
        tx: &Transaction<'_>,
        prison_id: Uuid,
        line: &RailLine,
    ) -> ReconResult<Option<RailBreak>> {
        if line.return_reason.is_some() {
            return self.book_return(tx, line).await;
        }
        if line.amount_minor < 0 {
            // A payout's debit: out of its in-transit account into the bank's hands.
            if let Some(payout) = bank_rail::payout_by_end_to_end(tx, &line.end_to_end_id).await?
                && matches!(payout.state, PayoutState::Pending | PayoutState::InFile)
                && payout.amount.amount_minor == line.amount_minor.saturating_abs()
            {
                bank_rail::settle_payout(tx, &payout, line.booking_date).await?;
            }
            return Ok(None);
        }
        let Some(reference) = line.creditor_reference.as_deref() else {
            return Ok(None);
        };
        if Self::already_booked(tx, &line.end_to_end_id).await? {
            return Ok(None);
        }
        // Without the payer's account the money cannot go back: the line stays for
        // reconciliation's own break (missing_in_ledger).
        let Some(debtor_iban) = line
            .debtor
            .as_ref()
            .and_then(|debtor| debtor.iban.clone())
            .filter(|iban| ledger::iban::is_valid(iban))
        else {
            return Ok(None);
        };
        let debtor_name = line.debtor.as_ref().and_then(|debtor| debtor.name.clone());
        let amount = Money::new(line.amount_minor, line.currency);
        let sender_id = identity::store::find_or_create_counterparty(
            tx,
            &self.accessor,
            prison_id,
            debtor_name.as_deref(),
            &debtor_iban,
        )
        .await
        .map_err(internal)?;
        let reference = rf_reference::normalize(reference);
        let person_id = if rf_reference::is_valid(&reference) {
            bank_rail::person_by_reference(tx, &reference).await?
        } else {
            None
        };
        let refusal = match person_id {
            None if !rf_reference::is_valid(&reference) => (
                "RUTA",
                format!("creditor reference {reference} is not a valid RF reference"),
            ),
            None => (
                "RUTA",
                format!("creditor reference {reference} belongs to no prisoner"),
            ),
            Some(person_id) => {
                tx.batch_execute("savepoint bank_rail_deposit").await?;
                let received = receive_deposit(
                    tx,
                    &ReceiveDeposit {
                        idempotency_key: format!("bank:{}", line.end_to_end_id),
                        person_id,
                        sender_id,
                        amount,
                        effective_date: line.booking_date,
                        received_by: self.recorded_by.clone(),
                        bank_end_to_end: Some(line.end_to_end_id.clone()),
                    },
                )
                .await;
                match received {
                    Ok(_) => {
                        tx.batch_execute("release savepoint bank_rail_deposit")
                            .await?;
                        return Ok(None);
                    }
                    Err(LedgerError::Database(error)) => return Err(error.into()),
                    Err(error) => {
                        tx.batch_execute("rollback to savepoint bank_rail_deposit")
                            .await?;
                        (
                            return_reason(&error),
                            format!(
                                "creditor reference {reference} is a prisoner's, but the \
                                 deposit rules refused it ({})",
                                error.code()
                            ),
                        )
                    }
                }
            }
        };
        let (reason_code, why) = refusal;
        let payout = bank_rail::hold_for_return(
            tx,
            &HoldForReturn {
                prison_id,
                payee_id: sender_id,
                amount,
                bank_end_to_end: line.end_to_end_id.clone(),
                reason_code: reason_code.to_owned(),
                effective_date: line.booking_date,
                created_by: self.recorded_by.clone(),
            },
        )
        .await?;
        Ok(Some(RailBreak {
            line_no: line.line_no,
            booking_date: line.booking_date,
            end_to_end_id: line.end_to_end_id.clone(),
            amount_minor: line.amount_minor,
            currency: line.currency,
            explanation: format!(
                "The bank booked {} into the trust account on {} (end-to-end reference {}): {}. \
                 It is held in deposit_returns and goes back to the sender (reason {reason_code}, \
                 payout {}) in the next payment file; this break closes by itself once a statement \
                 shows the bank debiting it.",
                money_text(line.amount_minor, line.currency),
                line.booking_date,
                line.end_to_end_id,
                why,
                payout.end_to_end_id,
            ),
        }))
    }

    /// A transfer of Saldo's that the bank gave back: the money returns where it came from.
    async fn book_return(
        &self,
        tx: &Transaction<'_>,
        line: &RailLine,
    ) -> ReconResult<Option<RailBreak>> {
        let Some(payout) = bank_rail::payout_by_end_to_end(tx, &line.end_to_end_id).await? else {
            return Ok(None);
        };
        if payout.state == PayoutState::Returned || line.amount_minor != payout.amount.amount_minor
        {
            return Ok(None);
        }
        tx.batch_execute("savepoint bank_rail_return").await?;
        let back_to_person = payout.kind == PayoutKind::Release;
        let reason = line.return_reason.as_deref();
        match bank_rail::return_payout(tx, &payout, reason, back_to_person, line.booking_date).await
        {
            Ok(_) if back_to_person => {
                tx.batch_execute("release savepoint bank_rail_return")
                    .await?;
                return Ok(None);
            }
            Ok(_) => {
                tx.batch_execute("release savepoint bank_rail_return")
                    .await?;
            }
            Err(LedgerError::Database(error)) => return Err(error.into()),
            Err(_) => {
                tx.batch_execute("rollback to savepoint bank_rail_return")
                    .await?;
                bank_rail::return_payout(tx, &payout, reason, false, line.booking_date).await?;
            }
        }
        Ok(Some(RailBreak {
            line_no: line.line_no,
            booking_date: line.booking_date,
            end_to_end_id: bank_rail::return_end_to_end(&line.end_to_end_id),
            amount_minor: line.amount_minor,
            currency: line.currency,
            explanation: format!(
                "The bank returned payout {} ({}, reason {}) on {}, and it could not go back \
                 to a prisoner's account: it is held in deposit_returns. Find the right account \
                 or payee and move it with an adjusting entry.",
                payout.end_to_end_id,
                money_text(line.amount_minor, line.currency),
                reason.unwrap_or("none given"),
                line.booking_date,
            ),
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Payouts and the pain.001 file

/// A payout as staff see it: ids and amounts, no names or accounts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayoutView {
    pub payout_id: Uuid,
    /// What the bank echoes on the statement.
    pub end_to_end_id: String,
    /// `release` or `deposit_return`.
    #[schema(example = "release")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<Uuid>,
    #[schema(value_type = crate::schema::MoneyDoc)]
    pub amount: Money,
    /// A return's ISO 20022 reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// `pending` (in no file yet), `in_file`, `settled`, `returned`.
    #[schema(example = "pending")]
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<Uuid>,
}

impl From<&BankPayout> for PayoutView {
    fn from(payout: &BankPayout) -> PayoutView {
        PayoutView {
            payout_id: payout.payout_id,
            end_to_end_id: payout.end_to_end_id.clone(),
            kind: payout.kind.as_str(),
            person_id: payout.person_id,
            amount: payout.amount,
            reason_code: payout.reason_code.clone(),
            state: match payout.state {
                PayoutState::Pending => "pending",
                PayoutState::InFile => "in_file",
                PayoutState::Settled => "settled",
                PayoutState::Returned => "returned",
            },
            file_id: payout.file_id,
        }
    }
}

pub async fn list_payouts(
    pool: &deadpool_postgres::Pool,
    prison_id: Uuid,
    pending_only: bool,
) -> Result<Vec<PayoutView>, ServiceError> {
    let client = pool.get().await?;
    Ok(bank_rail::payouts(&client, prison_id, pending_only, 500)
        .await?
        .iter()
        .map(PayoutView::from)
        .collect())
}

/// A written pain.001 file.
pub struct PayoutFileWritten {
    pub file_id: Uuid,
    pub message_id: String,
    pub bytes: Vec<u8>,
    pub payout_count: usize,
    pub control_sum: Money,
}

/// Writes the pain.001 file of every pending payout of the prison (in the trust account's
/// currency): debtor the trust account, creditors from the identity store at this moment (each
/// logged as a disclosure to the trust bank). The payouts leave the pending list. `409
/// no_pending_payouts` when there are none.
pub async fn write_payout_file(
    pool: &deadpool_postgres::Pool,
    staff: &Staff,
    prison_id: Uuid,
) -> Result<PayoutFileWritten, ServiceError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // One file at a time per prison: two clerks cannot put a payout in two files.
    tx.execute(
        "select pg_advisory_xact_lock(hashtextextended($1, 24))",
        &[&prison_id.to_string()],
    )
    .await?;
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or(ServiceError::NotFound("prison"))?;
    let trust = recon::trust_account::current(&tx, prison_id)
        .await
        .map_err(|_| ServiceError::Internal)?
        .ok_or_else(|| {
            ServiceError::conflict(
                "trust_account_not_configured",
                "this prison has no trust account configured",
            )
        })?;
    let pending: Vec<BankPayout> = bank_rail::payouts(&tx, prison_id, true, 500)
        .await?
        .into_iter()
        .filter(|payout| payout.amount.currency == trust.currency)
        .collect();
    let file_id = Uuid::now_v7();
    let message_id = file_id.simple().to_string();
    let recipient = format!("trust bank (pain.001 {message_id})");
    let who = staff.accessor(Purpose::ReleasePreparation, None);
    let mut transfers = Vec::new();
    let mut included = Vec::new();
    for payout in &pending {
        // An erased payee cannot be paid: the payout stays pending for staff.
        let Some((name, iban)) =
            identity::store::disclose_bank_account(&tx, &who, payout.payee_id, &recipient).await?
        else {
            continue;
        };
        let remittance = match payout.kind {
            PayoutKind::Release => format!("Release payout {}", payout.end_to_end_id),
            PayoutKind::DepositReturn => format!(
                "Return of your transfer {} (reason {})",
                payout.returns_end_to_end.as_deref().unwrap_or("-"),
                payout.reason_code.as_deref().unwrap_or("MS03"),
            ),
        };
        transfers.push(recon::pain001::CreditTransfer {
            end_to_end_id: payout.end_to_end_id.clone(),
            amount: payout.amount,
            creditor_name: name,
            creditor_iban: iban,
            remittance,
        });
        included.push(payout.payout_id);
    }
    if transfers.is_empty() {
        return Err(ServiceError::conflict(
            "no_pending_payouts",
            "no payout of this prison is waiting for a payment file",
        ));
    }
    let now = OffsetDateTime::now_utc();
    let (bytes, totals) = recon::pain001::write_pain001(
        &message_id,
        now,
        super::prison_today(&prison.time_zone),
        &recon::pain001::Debtor {
            name: prison.name.clone(),
            iban: trust.iban.clone(),
        },
        &transfers,
    )
    .map_err(|error| ServiceError::invalid("payout_file_invalid", error.to_string()))?;
    bank_rail::record_file(
        &tx,
        &bank_rail::PayoutFile {
            file_id,
            message_id: message_id.clone(),
            prison_id,
            control_sum: totals.control_sum,
            file_sha256: recon::sha256_of(bytes.as_slice()).map_err(|_| ServiceError::Internal)?,
            created_by: staff.id.to_string(),
        },
        &included,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%prison_id, %file_id, payouts = totals.count, "payout file written");
    Ok(PayoutFileWritten {
        file_id,
        message_id,
        bytes,
        payout_count: totals.count,
        control_sum: totals.control_sum,
    })
}

/// The person's structured reference for family bank transfers (issued on first asking).
pub async fn reference_of(
    tx: &Transaction<'_>,
    person_id: Uuid,
    asked_by: &str,
) -> Result<String, ServiceError> {
    Ok(bank_rail::reference_of(tx, person_id, asked_by).await?)
}
