//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/adjustments`: finance staff propose
//! a ledger adjustment between one of the prisoner's sub-accounts and an institutional account.
//! Nothing is posted until another finance approver approves it.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ledger::Currency;
use serde::Deserialize;

use super::PrisonerPath;
use crate::auth::{FinanceStaff, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::problem::Problem;
use crate::services::adjustments::{Direction, Draft, Proposal, ReasonCode, propose_checked};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalRequest {
    /// The prisoner's sub-account: `spendable`, `release_savings` or `held_deposits`.
    #[schema(value_type = crate::schema::SubAccountDoc, example = "spendable")]
    account: String,
    /// `suspense`, `fees_income`, `cash_on_hand`, `bank_trust` or `wages_expense`.
    #[schema(value_type = crate::schema::InstitutionAccountDoc, example = "suspense")]
    institution_account: String,
    direction: Direction,
    /// Positive, in minor units.
    #[schema(minimum = 1, example = 1250)]
    amount_minor: i64,
    #[schema(value_type = crate::schema::AccountCurrencyDoc, example = "EUR")]
    currency: Currency,
    reason_code: ReasonCode,
    /// 1 to 500 characters (not only spaces), for the approver; never logged, never shown to
    /// the prisoner.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/adjustments",
    tag = "adjustments",
    description = "Roles: finance, finance_approver in the path's prison. Proposes an adjustment; \
        nothing is posted until another finance approver approves it.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = ProposalRequest,
    responses((status = 201, description = "Proposed", body = Proposal)),
)]
pub async fn propose(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<ProposalRequest>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    if request.currency != Currency::EUR {
        return Err(Problem::unprocessable(
            "currency_not_supported",
            "prisoners' accounts are in EUR",
        ));
    }
    let draft = Draft {
        person_id: path.person_id,
        account: request.account,
        institution_account: request.institution_account,
        direction: request.direction,
        amount_minor: request.amount_minor,
        reason_code: request.reason_code,
        reason: request.reason,
    };
    let proposal = propose_checked(&state, &access.staff, prison_id, &draft).await?;
    Ok((StatusCode::CREATED, axum::Json(proposal)).into_response())
}
