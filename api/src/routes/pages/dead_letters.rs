//! `GET /staff/dead-letters` and `POST /staff/dead-letters/{outbox_id}/retry`.
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{page, refused};
use crate::auth::{OutboxOperators, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(get, path = "/staff/dead-letters", tag = "staff pages",
    description = "Roles: admin, finance, finance_approver (any prison).",
    responses((status = 200, description = "Dead processor calls with a retry button each", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<OutboxOperators>, Problem>,
) -> Result<Response, Problem> {
    if let Err(problem) = access {
        return Ok(refused(problem));
    }
    let calls = crate::services::dead_letters::load(&state, 200).await?;
    Ok(page(
        "Processor calls that failed",
        true,
        html! {
            @if calls.is_empty() {
                p { "None." }
            } @else {
                table {
                    thead { tr { th { "Operation" } th { "Call" } th.amount { "Attempts" } th { "Error" } th.amount { "Status" } th {} } }
                    tbody {
                        @for call in &calls {
                            tr {
                                td { (call.operation) }
                                td { (call.method) " " (call.path) }
                                td.amount { (call.attempts) }
                                td { (call.last_error.as_deref().unwrap_or("")) }
                                td.amount { (call.last_error_status.map(|status| status.to_string()).unwrap_or_default()) }
                                td {
                                    form.inline method="post" action={ "/staff/dead-letters/" (call.id) "/retry" } {
                                        button type="submit" { "Retry" }
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
pub struct RetryPath {
    outbox_id: Uuid,
}

#[utoipa::path(post, path = "/staff/dead-letters/{outbox_id}/retry", tag = "staff pages",
    description = "Roles: admin, finance, finance_approver (any prison).",
    params(("outbox_id" = uuid::Uuid, Path)),
    responses((status = 303, description = "Queued again: back to /staff/dead-letters")))]
pub async fn retry(
    State(state): State<AppState>,
    access: Result<RequireRole<OutboxOperators>, Problem>,
    ApiPath(path): ApiPath<RetryPath>,
) -> Result<Response, Problem> {
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    match crate::services::dead_letters::requeue(&state, access.staff.id, path.outbox_id).await {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(refused(Problem::not_found("dead letter"))),
        // call_superseded: shown on the page like any refusal.
        Err(error) => {
            let problem = Problem::from(error);
            if problem.status == 409 {
                return Ok(refused(problem));
            }
            return Err(problem);
        }
    }
    Ok(Redirect::to("/staff/dead-letters").into_response())
}
