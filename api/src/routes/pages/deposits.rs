//! The held-deposits page (`GET /staff/prisons/{prison_id}/deposits`): family deposits waiting
//! for review, with approve and reject buttons for finance approvers other than whoever recorded
//! each one; the form posts decide through the same function as the JSON routes.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::deposits::deposit_texts;
use super::i18n::{LangQuery, choose_for_prison, minor_in};
use super::layout::{page_in, refused_in};
use crate::auth::{Approvers, FinanceStaff, RequireRole, Role};
use crate::http::{ApiPath, ApiQuery, HtmlForm};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/deposits", tag = "staff pages",
    description = "Roles: finance, finance_approver in the path's prison. In the language asked \
        for (`lang`, then kept), else the prison's, else the browser's, else English.",
    params(("prison_id" = uuid::Uuid, Path), LangQuery),
    responses((status = 200, description = "Held deposits; approve and reject buttons for approvers", content_type = "text/html", body = String)))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<FinanceStaff>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> Result<Response, Problem> {
    let chosen = choose_for_prison(&state, query.asked(), &headers, path.prison_id).await?;
    let staff_texts = chosen.texts();
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let t = deposit_texts(chosen.lang);
    let deposits = match crate::services::deposits::pending(&state, path.prison_id, 200).await {
        Ok(deposits) => deposits,
        Err(problem) => return Ok(refused(problem.into())),
    };
    let approver = access.staff.may(&[Role::FinanceApprover], path.prison_id);
    let me = access.staff.id.to_string();
    Ok(chosen.respond(page_in(
        staff_texts,
        staff_texts.deposits_held,
        true,
        html! {
            p { (t.intro) }
            @if deposits.is_empty() {
                p { (t.none_waiting) }
            } @else {
                table id="deposits" {
                    thead { tr {
                        th { (t.prisoner) } th { (t.sender) } th.amount { (t.amount) } th {}
                    } }
                    tbody {
                        @for d in &deposits {
                            tr data-id=(d.deposit_id) {
                                td { (d.person_id) }
                                td { (d.sender_id) }
                                td.amount { (minor_in(chosen.lang, d.amount_minor, &d.currency)) }
                                td {
                                    @if approver && d.received_by.as_deref() != Some(me.as_str()) {
                                        form.inline method="post" action={ "/staff/prisons/" (path.prison_id) "/deposits/" (d.deposit_id) "/approve" } {
                                            button type="submit" { (t.accept) }
                                        }
                                        form.inline method="post" action={ "/staff/prisons/" (path.prison_id) "/deposits/" (d.deposit_id) "/reject" } {
                                            label for={ "reason-" (d.deposit_id) } { (t.reason_for_rejecting) }
                                            input id={ "reason-" (d.deposit_id) } name="reason" required maxlength="500";
                                            button.secondary type="submit" { (t.reject_and_refund) }
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
pub struct DecisionPath {
    prison_id: Uuid,
    deposit_id: Uuid,
}

async fn decide(
    state: &AppState,
    access: Result<RequireRole<Approvers>, Problem>,
    path: DecisionPath,
    headers: &HeaderMap,
    accept: bool,
    reason: Option<String>,
) -> Result<Response, Problem> {
    let staff_texts = choose_for_prison(state, None, headers, path.prison_id)
        .await?
        .texts();
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    match crate::services::deposits::decide(
        state,
        &access.staff,
        path.prison_id,
        path.deposit_id,
        accept,
        reason,
    )
    .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/staff/prisons/{}/deposits", path.prison_id)).into_response(),
        ),
        Err(problem) => Ok(refused(problem.into())),
    }
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/deposits/{deposit_id}/approve", tag = "staff pages",
    description = "Role: finance_approver in the path's prison, not whoever recorded the deposit.",
    params(("prison_id" = uuid::Uuid, Path), ("deposit_id" = uuid::Uuid, Path)),
    responses((status = 303, description = "Accepted: back to the deposits page"),
              (status = 403, description = "The recorder (four_eyes)", content_type = "text/html", body = String)))]
pub async fn approve(
    State(state): State<AppState>,
    access: Result<RequireRole<Approvers>, Problem>,
    ApiPath(path): ApiPath<DecisionPath>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    decide(&state, access, path, &headers, true, None).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectForm {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/deposits/{deposit_id}/reject", tag = "staff pages",
    description = "Role: finance_approver in the path's prison, not whoever recorded the deposit.",
    params(("prison_id" = uuid::Uuid, Path), ("deposit_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = RejectForm),
    responses((status = 303, description = "Rejected and refunded: back to the deposits page")))]
pub async fn reject(
    State(state): State<AppState>,
    access: Result<RequireRole<Approvers>, Problem>,
    ApiPath(path): ApiPath<DecisionPath>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<RejectForm>,
) -> Result<Response, Problem> {
    decide(&state, access, path, &headers, false, Some(form.reason)).await
}
