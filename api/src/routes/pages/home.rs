//! `GET /staff/home`: what each of the signed-in person's roles can do, prison by prison.
use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use uuid::Uuid;

use super::layout::{page, refused};
use super::prisoner::PURPOSES;
use crate::auth::{Role, Staff};
use crate::identity;
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(get, path = "/staff/home", tag = "staff pages",
    description = "Any staff: links and forms for each role held, per prison.",
    responses((status = 200, description = "The home page", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    staff: Result<Staff, Problem>,
) -> Result<Response, Problem> {
    let staff = match staff {
        Ok(staff) => staff,
        Err(problem) => return Ok(refused(problem)),
    };
    let mut by_prison: BTreeMap<Uuid, Vec<Role>> = BTreeMap::new();
    for grant in &staff.grants {
        by_prison
            .entry(grant.prison_id)
            .or_default()
            .push(grant.role);
    }
    let client = state.pool.get().await?;
    let mut prisons = Vec::new();
    for (prison_id, roles) in by_prison {
        let name = identity::store::prison(&client, prison_id)
            .await
            .map_err(|_| Problem::internal())?
            .map(|prison| prison.name)
            .unwrap_or_default();
        prisons.push((prison_id, name, roles));
    }
    let any = |wanted: &[Role]| staff.grants.iter().any(|g| wanted.contains(&g.role));
    let books = any(&[Role::Finance, Role::FinanceApprover, Role::Auditor]);
    let outbox = any(&[Role::Admin, Role::Finance, Role::FinanceApprover]);
    Ok(page(
        "Home",
        true,
        html! {
            p { "Signed in as " strong { (staff.username) } "." }
            @if books || outbox {
                h2 { "Service-wide" }
                ul {
                    @if books {
                        li { a href="/staff/trial-balance" { "Trial balance" } }
                        li { a href="/staff/recon" { "Reconciliation" } }
                    }
                    @if outbox {
                        li { a href="/staff/dead-letters" { "Processor calls that failed (dead letters)" } }
                    }
                }
            }
            @for (prison_id, name, roles) in &prisons {
                section {
                    h2 { (name) }
                    p { "Roles: " @for (i, role) in roles.iter().enumerate() {
                        @if i > 0 { ", " } (role.as_str())
                    } }
                    @if roles.iter().any(|r| matches!(r, Role::Officer | Role::Finance | Role::FinanceApprover)) {
                        form method="post" action={ "/staff/prisons/" (prison_id) "/lookup" } {
                            label for={ "number-" (prison_id) } { "Prisoner number" }
                            input id={ "number-" (prison_id) } name="prisoner_number" required maxlength="32";
                            label for={ "purpose-" (prison_id) } { "Purpose" }
                            select id={ "purpose-" (prison_id) } name="purpose" {
                                @for (code, label) in PURPOSES { option value=(code) { (label) } }
                            }
                            div { button type="submit" { "Find prisoner" } }
                        }
                    }
                    @if roles.iter().any(|r| matches!(r, Role::Finance | Role::FinanceApprover)) {
                        p { a href={ "/staff/prisons/" (prison_id) "/adjustments" } { "Adjustments" } }
                        p { a href={ "/staff/prisons/" (prison_id) "/payroll" } { "Payroll" } }
                        p { a href={ "/staff/prisons/" (prison_id) "/deposits" } { "Deposits held for review" } }
                    }
                    @if roles.iter().any(|r| matches!(r, Role::Finance | Role::FinanceApprover | Role::Admin)) {
                        p { a href={ "/staff/prisons/" (prison_id) "/policies" } { "Spending-control policies" } }
                    }
                    p { a href={ "/staff/prisons/" (prison_id) "/fees" } { "Fees" } }
                }
            }
        },
    )
    .into_response())
}
