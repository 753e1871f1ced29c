//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/deposits`: cash at intake (debit
//! the institution's cash on hand, credit the prisoner's spendable account) or a family deposit
//! under the prison's deposit rules (`ledger::deposits::receive_deposit`: only from a sender
//! approved for this prisoner; above the review threshold or the policy's maximum balance it
//! waits in `held_deposits` for a finance approver; otherwise it is allocated at once like any
//! income). Idempotent on the client's key.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ledger::controls::MaxBalanceCheck;
use ledger::{AccountType, Currency, EntryDraft, Money, Overdraft, PostingDraft};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::PrisonerPath;
use crate::auth::{FinanceStaff, RequireRole};
use crate::http::{ApiJson, ApiPath, SortedJson};
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::schema::DepositPosted;
use crate::state::AppState;

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    CashAtIntake,
    FamilyDeposit,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    /// 1 to 100 bytes, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"
    )]
    idempotency_key: String,
    source: Source,
    /// Positive, in minor units.
    #[schema(minimum = 1, example = 1250)]
    amount_minor: i64,
    #[schema(value_type = crate::schema::AccountCurrencyDoc, example = "EUR")]
    currency: Currency,
    /// Who sent a family deposit (a registered depositor of this prison).
    #[serde(default)]
    depositor_person_id: Option<Uuid>,
}

/// What a cash deposit's idempotency key keeps: its entry, as `{"entry_id": …}`.
#[derive(Serialize, Deserialize)]
struct CashAnswer {
    entry_id: Uuid,
}

/// The part of the answer that differs between the sources.
enum Booked {
    Cash(CashAnswer),
    Family(ledger::deposits::Received),
}

#[utoipa::path(
    post, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/deposits", tag = "money", description = "Roles: finance, finance_approver in the path's prison. Idempotent on the key; 409 idempotency_conflict. Cash at intake that would take the prisoner over the policy's maximum balance is refused: 422 over_max_balance with max_balance_minor, room_minor and currency (nothing booked). A family deposit needs a sender approved for the prisoner (422 sender_not_approved) and may be held for review (state pending_review, see /deposits/pending).", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)), request_body = DepositRequest, responses((status = 201, description = "Posted", body = crate::schema::DepositPosted)),
)]
pub async fn record(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<DepositRequest>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    // Stored as text: PostgreSQL refuses a NUL, and a control character is no one's key.
    let key = &request.idempotency_key;
    if key.is_empty() || key.len() > 100 || key.chars().any(char::is_control) {
        return Err(Problem::unprocessable(
            "idempotency_key_invalid",
            "an idempotency key is 1 to 100 bytes without control characters",
        ));
    }
    if request.amount_minor <= 0 {
        return Err(Problem::unprocessable(
            "amount_not_positive",
            "a deposit is a positive amount",
        ));
    }
    if request.currency != Currency::EUR {
        return Err(Problem::unprocessable(
            "currency_not_supported",
            "prisoners' accounts are in EUR",
        ));
    }
    if request.source == Source::FamilyDeposit && request.depositor_person_id.is_none() {
        return Err(Problem::unprocessable(
            "depositor_required",
            "a family deposit names its depositor",
        ));
    }
    let who = access.staff.accessor(Purpose::Deposit, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::access_prisoner(
        &tx,
        &who,
        Some(prison_id),
        path.person_id,
        Action::Change,
        &[PrisonerField::Deposit],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    if let Some(depositor) = request.depositor_person_id
        && !identity::store::depositor_exists(&tx, &who, prison_id, depositor).await?
    {
        tx.commit().await?;
        return Err(Problem::not_found("depositor"));
    }
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or_else(|| Problem::not_found("prison"))?;
    let effective_date = crate::services::prison_today(&prison.time_zone);
    let amount = Money::new(request.amount_minor, Currency::EUR);
    let spendable_code = format!(
        "person:{}:{}:EUR",
        path.person_id,
        ledger::person_purpose::SPENDABLE
    );
    let spendable = ledger::store::account_by_code(&tx, &spendable_code)
        .await?
        .ok_or_else(|| Problem::not_found("account"))?;
    let answer = match (request.source, request.depositor_person_id) {
        // A family deposit follows the prison's deposit rules: approved senders only, held
        // for review above the threshold, allocated like any income otherwise.
        (Source::FamilyDeposit, Some(sender_id)) => {
            let received = ledger::deposits::receive_deposit(
                &tx,
                &ledger::deposits::ReceiveDeposit {
                    idempotency_key: format!("api:{}:{}", path.person_id, request.idempotency_key),
                    person_id: path.person_id,
                    sender_id,
                    amount,
                    effective_date,
                    received_by: access.staff.id.to_string(),
                    bank_end_to_end: None,
                },
            )
            .await?;
            Booked::Family(received)
        }
        _ => {
            // Cash follows the maximum balance like a family deposit. It is refused rather than
            // held: the cash is still at the desk, so the rest stays with the prisoner's property.
            let intake_key = format!(
                "api:cash_intake:{}:{}",
                path.person_id, request.idempotency_key
            );
            let facts = json!({"person_id": path.person_id, "amount": amount});
            let claim = match ledger::idempotency::begin::<CashAnswer>(
                &tx,
                &intake_key,
                "api.cash_at_intake",
                &facts,
            )
            .await?
            {
                ledger::idempotency::Begun::Replayed(answer) => {
                    let balance = ledger::store::balance(&tx, spendable.id).await?;
                    tx.commit().await?;
                    return Ok(cash_answer(
                        Booked::Cash(answer),
                        effective_date,
                        amount,
                        balance,
                    ));
                }
                ledger::idempotency::Begun::Fresh(claim) => claim,
            };
            if let Some((max, MaxBalanceCheck::Exceeds { room })) =
                ledger::deposits::check_credit_against_max_balance(&tx, path.person_id, amount)
                    .await?
            {
                // The consultation stays logged; nothing is booked and the key stays unused.
                tx.commit().await?;
                tracing::info!(person_id = %path.person_id, "cash at intake refused: over the maximum balance");
                return Ok(over_max_balance(max, room));
            }
            let debit_account = crate::services::institution_account(
                &tx,
                ledger::institution_purpose::CASH_ON_HAND,
                AccountType::Asset,
            )
            .await?;
            let draft = EntryDraft {
                idempotency_key: format!(
                    "api:deposit:{}:{}",
                    path.person_id, request.idempotency_key
                ),
                effective_date,
                description: ledger::entry_text::EntryText::CashAtIntake
                    .english()
                    .to_owned(),
                metadata: json!({
                    "source": "cash_at_intake",
                    "prison_id": prison_id,
                    "recorded_by_staff_id": access.staff.id,
                }),
                external_refs: vec![],
                postings: vec![
                    PostingDraft::debit(debit_account, amount),
                    PostingDraft::credit(spendable.id, amount)?,
                ],
                overdraft: Overdraft::Refuse,
            };
            let entry = ledger::store::post_entry(&tx, &draft).await?;
            let answer = CashAnswer { entry_id: entry.id };
            ledger::idempotency::finish(&tx, claim, &answer).await?;
            Booked::Cash(answer)
        }
    };
    let balance = ledger::store::balance(&tx, spendable.id).await?;
    tx.commit().await?;
    Ok(cash_answer(answer, effective_date, amount, balance))
}

/// `201` with the entry, the effective date, the amount and the spendable balance now.
fn cash_answer(
    booked: Booked,
    effective_date: time::Date,
    amount: Money,
    balance: ledger::Balance,
) -> Response {
    let (entry_id, family) = match booked {
        Booked::Cash(cash) => (cash.entry_id, None),
        Booked::Family(received) => (received.deposit.received_entry_id, Some(received)),
    };
    let answer = DepositPosted {
        entry_id,
        effective_date: effective_date.to_string(),
        amount_minor: amount.amount_minor,
        currency: amount.currency.code().to_owned(),
        spendable: balance,
        deposit_id: family.as_ref().map(|received| received.deposit.deposit_id),
        state: family.as_ref().map(|received| received.deposit.state),
        held_because: family
            .as_ref()
            .map(|received| received.held_because.clone()),
        flags: family.map(|received| received.flags),
    };
    (StatusCode::CREATED, SortedJson(answer)).into_response()
}

/// `422 over_max_balance`: the maximum and how much of the cash would still fit.
fn over_max_balance(max: Money, room: Money) -> Response {
    let problem = Problem::unprocessable(
        "over_max_balance",
        format!(
            "this cash would take the prisoner over the maximum balance of {max}; at most {room} fits now (the rest stays with the prisoner's property)"
        ),
    );
    let mut body = serde_json::to_value(&problem).unwrap_or_default();
    if let Some(object) = body.as_object_mut() {
        object.insert("max_balance_minor".into(), max.amount_minor.into());
        object.insert("room_minor".into(), room.amount_minor.into());
        object.insert("currency".into(), max.currency.code().into());
    }
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
        axum::Json(body),
    )
        .into_response()
}
