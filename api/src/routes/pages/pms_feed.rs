//! `GET /staff/prisons/{prison_id}/pms`: the prison-management feed's review queue (events in
//! review or waiting) with replay and dismiss buttons, and the latest population snapshot's
//! differences. `POST …/pms/events/{event_id}/replay` and `…/dismiss` act and come back here.
//! The same services as the JSON routes (`services::pms_feed`); no personal data is shown.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::pms_feed::pms_feed_texts;
use super::i18n::{LangQuery, choose_for_prison, fill};
use super::layout::{page_in, refused_in};
use crate::auth::{CaseReaders, Officers, RequireRole};
use crate::http::{ApiPath, ApiQuery};
use crate::problem::Problem;
use crate::services::pms_feed::{self, ReviewAction};
use crate::state::AppState;

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/pms", tag = "staff pages",
    description = "Roles: officer, finance, finance_approver in the path's prison. In the language \
        asked for (`lang`, then kept), else the prison's, else the browser's, else English.",
    params(("prison_id" = uuid::Uuid, Path), LangQuery),
    responses((status = 200, description = "The feed's review queue and population differences", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<CaseReaders>, Problem>,
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
    let t = pms_feed_texts(chosen.lang);
    let prison_id = access.prison()?;
    let events = pms_feed::unsettled(&state, prison_id).await?;
    let population = pms_feed::differences(&state, prison_id).await?;
    let may_act = access.staff.may(&[crate::auth::Role::Officer], prison_id);
    Ok(chosen.respond(page_in(
        staff_texts,
        staff_texts.pms_feed,
        true,
        html! {
            h2 { (t.events) }
            @if events.is_empty() {
                p { (t.none) }
            } @else {
                table {
                    thead { tr { th { (t.event_type) } th.amount { (t.sequence) } th { (t.status) } th { (t.reason) } th { (t.person) } th { (t.occurred) } th { (t.received) } th {} } }
                    tbody {
                        @for event in &events {
                            tr {
                                td { (event.event_type) }
                                td.amount { (event.sequence) }
                                td { (t.status(&event.status)) }
                                td {
                                    @if let Some(reason) = &event.reason_code { (reason) }
                                    @if let Some(waiting) = event.waiting_for_sequence { (t.waits_for) " " (waiting) }
                                }
                                td { (event.person_id.map(|id| id.to_string()).unwrap_or_default()) }
                                td { (event.occurred_at) }
                                td { (event.received_at) }
                                td {
                                    @if may_act && event.status == "review" {
                                        form.inline method="post" action={ "/staff/prisons/" (prison_id) "/pms/events/" (event.event_id) "/replay" } {
                                            button type="submit" { (t.replay) }
                                        }
                                        form.inline method="post" action={ "/staff/prisons/" (prison_id) "/pms/events/" (event.event_id) "/dismiss" } {
                                            button type="submit" { (t.dismiss) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (t.population) }
            @match &population {
                None => p { (t.no_snapshot) },
                Some(found) => {
                    p { (fill(t.snapshot, &[
                        ("date", &found.population_date),
                        ("matching", &found.matching.to_string()),
                        ("unknown", &found.unknown_to_saldo.to_string()),
                    ])) }
                    h3 { (t.in_pms_not_saldo) }
                    ul { @for person_id in &found.in_pms_not_saldo { li { (person_id) } } }
                    h3 { (t.in_saldo_not_pms) }
                    ul { @for person_id in &found.in_saldo_not_pms { li { (person_id) } } }
                    h3 { (t.different_prison) }
                    ul { @for elsewhere in &found.different_prison { li { (elsewhere.person_id) " (" (t.placed_in) " " (elsewhere.saldo_prison_id) ")" } } }
                }
            }
        },
    )))
}

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

#[derive(Deserialize)]
pub struct EventPath {
    prison_id: Uuid,
    event_id: Uuid,
}

async fn act(
    state: &AppState,
    access: Result<RequireRole<Officers>, Problem>,
    path: EventPath,
    headers: &HeaderMap,
    action: ReviewAction,
) -> Result<Response, Problem> {
    let staff_texts = choose_for_prison(state, None, headers, path.prison_id)
        .await?
        .texts();
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let prison_id = access.prison()?;
    if let Err(error) =
        pms_feed::act_on_review(state, access.staff.id, prison_id, path.event_id, action).await
    {
        let problem = Problem::from(error);
        if problem.status < 500 {
            return Ok(refused(problem));
        }
        return Err(problem);
    }
    Ok(Redirect::to(&format!("/staff/prisons/{}/pms", path.prison_id)).into_response())
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/pms/events/{event_id}/replay", tag = "staff pages",
    description = "Role: officer in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path), ("event_id" = uuid::Uuid, Path)),
    responses((status = 303, description = "Replayed: back to the queue")))]
pub async fn replay(
    State(state): State<AppState>,
    access: Result<RequireRole<Officers>, Problem>,
    ApiPath(path): ApiPath<EventPath>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    act(&state, access, path, &headers, ReviewAction::Replay).await
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/pms/events/{event_id}/dismiss", tag = "staff pages",
    description = "Role: officer in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path), ("event_id" = uuid::Uuid, Path)),
    responses((status = 303, description = "Dismissed: back to the queue")))]
pub async fn dismiss(
    State(state): State<AppState>,
    access: Result<RequireRole<Officers>, Problem>,
    ApiPath(path): ApiPath<EventPath>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    act(&state, access, path, &headers, ReviewAction::Dismiss).await
}
