//! The held-deposits page (`GET /staff/prisons/{prison_id}/deposits`): family deposits waiting
//! for review, with approve and reject buttons for finance approvers other than whoever recorded
//! each one; the form posts decide through the same function as the JSON routes.
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{money, page, refused};
use crate::auth::{Approvers, FinanceStaff, RequireRole, Role};
use crate::http::{ApiPath, HtmlForm};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/deposits", tag = "staff pages",
    description = "Roles: finance, finance_approver in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Held deposits; approve and reject buttons for approvers", content_type = "text/html", body = String)))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<FinanceStaff>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
) -> Result<Response, Problem> {
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let deposits = match crate::services::deposits::pending(&state, path.prison_id, 200).await {
        Ok(deposits) => deposits,
        Err(problem) => return Ok(refused(problem.into())),
    };
    let approver = access.staff.may(&[Role::FinanceApprover], path.prison_id);
    let me = access.staff.id.to_string();
    Ok(page(
        "Deposits held for review",
        true,
        html! {
            p { "Family deposits above the prison's review threshold (or beyond the prisoner's maximum balance) wait here. "
                "Whoever recorded a deposit cannot review it. A rejected deposit is refunded to the trust bank account." }
            @if deposits.is_empty() {
                p { "No deposits are waiting." }
            } @else {
                table id="deposits" {
                    thead { tr {
                        th { "Prisoner" } th { "Sender" } th.amount { "Amount" } th {}
                    } }
                    tbody {
                        @for d in &deposits {
                            tr data-id=(d.deposit_id) {
                                td { (d.person_id) }
                                td { (d.sender_id) }
                                td.amount { (money(d.amount_minor, &d.currency)) }
                                td {
                                    @if approver && d.received_by.as_deref() != Some(me.as_str()) {
                                        form.inline method="post" action={ "/staff/prisons/" (path.prison_id) "/deposits/" (d.deposit_id) "/approve" } {
                                            button type="submit" { "Accept" }
                                        }
                                        form.inline method="post" action={ "/staff/prisons/" (path.prison_id) "/deposits/" (d.deposit_id) "/reject" } {
                                            label for={ "reason-" (d.deposit_id) } { "Reason for rejecting" }
                                            input id={ "reason-" (d.deposit_id) } name="reason" required maxlength="500";
                                            button.secondary type="submit" { "Reject and refund" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
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
    accept: bool,
    reason: Option<String>,
) -> Result<Response, Problem> {
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
) -> Result<Response, Problem> {
    decide(&state, access, path, true, None).await
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
    HtmlForm(form): HtmlForm<RejectForm>,
) -> Result<Response, Problem> {
    decide(&state, access, path, false, Some(form.reason)).await
}
