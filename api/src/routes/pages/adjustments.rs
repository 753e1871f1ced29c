//! The adjustments page: a prison's proposals with approve and reject buttons for approvers
//! (`GET /staff/prisons/{prison_id}/adjustments`), and the form posts that propose and decide.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use ledger::{Currency, Money};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::adjustments::adjustment_texts;
use super::i18n::codes::codes;
use super::i18n::{LangQuery, StaffTexts, choose_for_prison, minor_in};
use super::layout::{page_in, refused_in};
use crate::auth::{Approvers, FinanceStaff, RequireRole, Role};
use crate::http::{ApiPath, ApiQuery, HtmlForm};
use crate::problem::Problem;
use crate::services::adjustments::{self, Direction, Draft, ReasonCode};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/adjustments", tag = "staff pages",
    description = "Roles: finance, finance_approver in the path's prison. In the language asked \
        for (`lang`, then kept), else the prison's, else the browser's, else English.",
    params(("prison_id" = uuid::Uuid, Path), LangQuery),
    responses((status = 200, description = "Proposals; approve and reject buttons for approvers", content_type = "text/html", body = String)))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<FinanceStaff>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> Result<Response, Problem> {
    let chosen = choose_for_prison(&state, query.asked(), &headers, path.prison_id).await?;
    let staff_texts = chosen.texts();
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused_in(staff_texts, problem)),
    };
    let t = adjustment_texts(chosen.lang);
    let c = codes(chosen.lang);
    let client = state.pool.get().await?;
    let proposals = adjustments::list(&client, path.prison_id, None, 200).await?;
    let approver = access.staff.may(&[Role::FinanceApprover], path.prison_id);
    Ok(chosen.respond(page_in(
        staff_texts,
        staff_texts.adjustments,
        true,
        html! {
            p { (t.intro) }
            @if proposals.is_empty() {
                p { (t.none_yet) }
            } @else {
                table id="adjustments" {
                    thead { tr {
                        th { (t.proposed_on) } th { (t.prisoner) } th { (t.entry) } th.amount { (t.amount) }
                        th { (t.reason) } th { (t.state) } th {}
                    } }
                    tbody {
                        @for p in &proposals {
                            tr data-id=(p.id) {
                                td { (p.proposed_at.date()) }
                                td { (p.person_id) }
                                td {
                                    @match p.direction {
                                        Direction::CreditPrisoner => { (c.institution_account(&p.institution_account)) " → " (c.account(&p.account)) }
                                        Direction::DebitPrisoner => { (c.account(&p.account)) " → " (c.institution_account(&p.institution_account)) }
                                    }
                                }
                                td.amount { (minor_in(chosen.lang, p.amount_minor, &p.currency)) }
                                td { (c.reason(p.reason_code.as_str())) ": " (p.reason) }
                                td.state { (t.state(&p.state)) }
                                td {
                                    @if approver && p.state == "proposed" && p.proposed_by != access.staff.id {
                                        form.inline method="post" action={ "/staff/prisons/" (path.prison_id) "/adjustments/" (p.id) "/approve" } {
                                            button type="submit" { (t.approve) }
                                        }
                                        form.inline method="post" action={ "/staff/prisons/" (path.prison_id) "/adjustments/" (p.id) "/reject" } {
                                            button.secondary type="submit" { (t.reject) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )))
}

#[derive(Deserialize)]
pub struct PrisonerPath {
    prison_id: Uuid,
    person_id: Uuid,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalForm {
    #[schema(value_type = crate::schema::SubAccountDoc)]
    account: String,
    #[schema(value_type = crate::schema::InstitutionAccountDoc)]
    institution_account: String,
    direction: Direction,
    /// Major units as typed, e.g. `12.50`: read exactly, never through a float.
    #[schema(example = "12.50", pattern = r"^[0-9]{1,7}(\.[0-9]{1,2})?$")]
    amount: String,
    reason_code: ReasonCode,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/prisoners/{person_id}/adjustments", tag = "staff pages",
    description = "Roles: finance, finance_approver in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = ProposalForm),
    responses((status = 303, description = "Proposed: to the adjustments page")))]
pub async fn propose(
    State(state): State<AppState>,
    access: Result<RequireRole<FinanceStaff>, Problem>,
    ApiPath(path): ApiPath<PrisonerPath>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<ProposalForm>,
) -> Result<Response, Problem> {
    let staff_texts = form_language(&state, &headers, path.prison_id).await?;
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let Ok(amount) = Money::parse_major(&form.amount, Currency::EUR) else {
        return Ok(refused(Problem::unprocessable(
            "amount_invalid",
            "an amount is like 12.50",
        )));
    };
    let draft = Draft {
        person_id: path.person_id,
        account: form.account,
        institution_account: form.institution_account,
        direction: form.direction,
        amount_minor: amount.amount_minor,
        reason_code: form.reason_code,
        reason: form.reason,
    };
    match crate::services::adjustments::propose_checked(
        &state,
        &access.staff,
        path.prison_id,
        &draft,
    )
    .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/staff/prisons/{}/adjustments", path.prison_id)).into_response(),
        ),
        Err(problem) => Ok(refused(problem.into())),
    }
}

#[derive(Deserialize)]
pub struct DecisionPath {
    prison_id: Uuid,
    adjustment_id: Uuid,
}

/// The language of a form's refusal: kept, or the prison's (a form asks for none).
async fn form_language(
    state: &AppState,
    headers: &HeaderMap,
    prison_id: Uuid,
) -> Result<&'static StaffTexts, Problem> {
    Ok(choose_for_prison(state, None, headers, prison_id)
        .await?
        .texts())
}

async fn decide(
    state: &AppState,
    access: Result<RequireRole<Approvers>, Problem>,
    path: DecisionPath,
    headers: &HeaderMap,
    approve: bool,
) -> Result<Response, Problem> {
    let staff_texts = form_language(state, headers, path.prison_id).await?;
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    match crate::services::adjustments::decide_checked(
        state,
        &access.staff,
        path.prison_id,
        path.adjustment_id,
        approve,
    )
    .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/staff/prisons/{}/adjustments", path.prison_id)).into_response(),
        ),
        Err(problem) => Ok(refused(problem.into())),
    }
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/adjustments/{adjustment_id}/approve", tag = "staff pages",
    description = "Role: finance_approver in the path's prison, not the maker.",
    params(("prison_id" = uuid::Uuid, Path), ("adjustment_id" = uuid::Uuid, Path)),
    responses((status = 303, description = "Approved and posted: back to the adjustments page"),
              (status = 403, description = "The maker (four_eyes)", content_type = "text/html", body = String)))]
pub async fn approve(
    State(state): State<AppState>,
    access: Result<RequireRole<Approvers>, Problem>,
    ApiPath(path): ApiPath<DecisionPath>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    decide(&state, access, path, &headers, true).await
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/adjustments/{adjustment_id}/reject", tag = "staff pages",
    description = "Role: finance_approver in the path's prison, not the maker.",
    params(("prison_id" = uuid::Uuid, Path), ("adjustment_id" = uuid::Uuid, Path)),
    responses((status = 303, description = "Rejected: back to the adjustments page")))]
pub async fn reject(
    State(state): State<AppState>,
    access: Result<RequireRole<Approvers>, Problem>,
    ApiPath(path): ApiPath<DecisionPath>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    decide(&state, access, path, &headers, false).await
}
