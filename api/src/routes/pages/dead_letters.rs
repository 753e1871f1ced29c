//! `GET /staff/dead-letters` and `POST /staff/dead-letters/{outbox_id}/retry`.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::dead_letters::dead_letter_texts;
use super::i18n::{LangQuery, choose_for_staff};
use super::layout::{page_in, refused_in};
use crate::auth::{OutboxOperators, RequireRole};
use crate::http::{ApiPath, ApiQuery};
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(get, path = "/staff/dead-letters", tag = "staff pages",
    description = "Roles: admin, finance, finance_approver (any prison). In the language asked \
        for (`lang`, then kept), else the one the person's prisons name, else the browser's, else \
        English.",
    params(LangQuery),
    responses((status = 200, description = "Dead processor calls with a retry button each", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<OutboxOperators>, Problem>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> Result<Response, Problem> {
    let staff = access.as_ref().ok().map(|access| &access.staff);
    let chosen = choose_for_staff(&state, query.asked(), &headers, staff).await?;
    let staff_texts = chosen.texts();
    if let Err(problem) = access {
        return Ok(refused_in(staff_texts, problem));
    }
    let t = dead_letter_texts(chosen.lang);
    let calls = crate::services::dead_letters::load(&state, 200).await?;
    Ok(chosen.respond(page_in(
        staff_texts,
        t.title,
        true,
        html! {
            @if calls.is_empty() {
                p { (t.none) }
            } @else {
                table {
                    thead { tr { th { (t.operation) } th { (t.call) } th.amount { (t.attempts) } th { (t.error) } th.amount { (t.status) } th {} } }
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
                                        button type="submit" { (t.retry) }
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
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let staff = access.as_ref().ok().map(|access| &access.staff);
    let staff_texts = choose_for_staff(&state, None, &headers, staff)
        .await?
        .texts();
    let refused = |problem: Problem| refused_in(staff_texts, problem);
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
