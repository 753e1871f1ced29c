//! `GET /staff/prisons/{prison_id}/pms`: the prison-management feed's review queue (events in
//! review or waiting) with replay and dismiss buttons, and the latest population snapshot's
//! differences. `POST …/pms/events/{event_id}/replay` and `…/dismiss` act and come back here.
//! The same services as the JSON routes (`services::pms_feed`); no personal data is shown.
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{page, refused};
use crate::auth::{CaseReaders, Officers, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::pms_feed::{self, ReviewAction};
use crate::state::AppState;

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/pms", tag = "staff pages",
    description = "Roles: officer, finance, finance_approver in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The feed's review queue and population differences", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<CaseReaders>, Problem>,
) -> Result<Response, Problem> {
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let prison_id = access.prison()?;
    let events = pms_feed::unsettled(&state, prison_id).await?;
    let population = pms_feed::differences(&state, prison_id).await?;
    let may_act = access.staff.may(&[crate::auth::Role::Officer], prison_id);
    Ok(page(
        "Prison-management feed",
        true,
        html! {
            h2 { "Events in review or waiting" }
            @if events.is_empty() {
                p { "None." }
            } @else {
                table {
                    thead { tr { th { "Type" } th.amount { "Sequence" } th { "Status" } th { "Reason" } th { "Person" } th { "Occurred" } th { "Received" } th {} } }
                    tbody {
                        @for event in &events {
                            tr {
                                td { (event.event_type) }
                                td.amount { (event.sequence) }
                                td { (event.status) }
                                td {
                                    @if let Some(reason) = &event.reason_code { (reason) }
                                    @if let Some(waiting) = event.waiting_for_sequence { "waits for sequence " (waiting) }
                                }
                                td { (event.person_id.map(|id| id.to_string()).unwrap_or_default()) }
                                td { (event.occurred_at) }
                                td { (event.received_at) }
                                td {
                                    @if may_act && event.status == "review" {
                                        form.inline method="post" action={ "/staff/prisons/" (prison_id) "/pms/events/" (event.event_id) "/replay" } {
                                            button type="submit" { "Replay" }
                                        }
                                        form.inline method="post" action={ "/staff/prisons/" (prison_id) "/pms/events/" (event.event_id) "/dismiss" } {
                                            button type="submit" { "Dismiss" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Population" }
            @match &population {
                None => p { "No snapshot from the prison-management system yet." },
                Some(found) => {
                    p { "Snapshot of " (found.population_date) ": " (found.matching) " matching, "
                        (found.unknown_to_saldo) " references Saldo has never seen admitted." }
                    h3 { "In the snapshot, placed nowhere by Saldo" }
                    ul { @for person_id in &found.in_pms_not_saldo { li { (person_id) } } }
                    h3 { "Placed here by Saldo, absent from the snapshot" }
                    ul { @for person_id in &found.in_saldo_not_pms { li { (person_id) } } }
                    h3 { "In the snapshot, placed by Saldo in another prison" }
                    ul { @for elsewhere in &found.different_prison { li { (elsewhere.person_id) " (in " (elsewhere.saldo_prison_id) ")" } } }
                }
            }
        },
    )
    .into_response())
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
    action: ReviewAction,
) -> Result<Response, Problem> {
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
) -> Result<Response, Problem> {
    act(&state, access, path, ReviewAction::Replay).await
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/pms/events/{event_id}/dismiss", tag = "staff pages",
    description = "Role: officer in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path), ("event_id" = uuid::Uuid, Path)),
    responses((status = 303, description = "Dismissed: back to the queue")))]
pub async fn dismiss(
    State(state): State<AppState>,
    access: Result<RequireRole<Officers>, Problem>,
    ApiPath(path): ApiPath<EventPath>,
) -> Result<Response, Problem> {
    act(&state, access, path, ReviewAction::Dismiss).await
}
