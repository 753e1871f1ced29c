//! `GET /staff/home`: what each of the signed-in person's roles can do, prison by prison.
use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use uuid::Uuid;

use super::i18n::{LangQuery, choose, texts};
use super::layout::{page_in, refused};
use super::prisoner::PURPOSES;
use crate::auth::{Role, Staff};
use crate::http::ApiQuery;
use crate::identity;
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(get, path = "/staff/home", tag = "staff pages",
    description = "Any staff: links and forms for each role held, per prison. In the language \
        asked for (`lang`, then kept in a cookie), else the one the person's prisons name, else \
        the browser's, else English.",
    params(LangQuery),
    responses((status = 200, description = "The home page", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    staff: Result<Staff, Problem>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LangQuery>,
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
    let mut prison_languages = Vec::new();
    for (prison_id, roles) in by_prison {
        let prison = identity::store::prison(&client, prison_id)
            .await
            .map_err(|_| Problem::internal())?;
        prison_languages.push(prison.as_ref().and_then(|p| p.default_language));
        let name = prison.map(|prison| prison.name).unwrap_or_default();
        prisons.push((prison_id, name, roles));
    }
    let chosen = choose(query.asked(), &headers, &prison_languages);
    let t = texts(chosen.lang);
    let any = |wanted: &[Role]| staff.grants.iter().any(|g| wanted.contains(&g.role));
    let books = any(&[Role::Finance, Role::FinanceApprover, Role::Auditor]);
    let outbox = any(&[Role::Admin, Role::Finance, Role::FinanceApprover]);
    let markup = page_in(
        t,
        t.home,
        true,
        html! {
            p { (t.signed_in_as) " " strong { (staff.username) } "." }
            @if books || outbox {
                h2 { (t.service_wide) }
                ul {
                    @if books {
                        li { a href="/staff/trial-balance" { (t.trial_balance) } }
                        li { a href="/staff/recon" { (t.reconciliation) } }
                    }
                    @if outbox {
                        li { a href="/staff/dead-letters" { (t.dead_letters) } }
                    }
                }
            }
            @for (prison_id, name, roles) in &prisons {
                section {
                    h2 { (name) }
                    p { (t.roles) " " @for (i, role) in roles.iter().enumerate() {
                        @if i > 0 { ", " } (t.role(*role))
                    } }
                    @if roles.iter().any(|r| matches!(r, Role::Officer | Role::Finance | Role::FinanceApprover)) {
                        form method="post" action={ "/staff/prisons/" (prison_id) "/lookup" } {
                            label for={ "number-" (prison_id) } { (t.prisoner_number) }
                            input id={ "number-" (prison_id) } name="prisoner_number" required maxlength="32";
                            label for={ "purpose-" (prison_id) } { (t.purpose) }
                            select id={ "purpose-" (prison_id) } name="purpose" {
                                @for ((code, _), label) in PURPOSES.iter().zip(t.purposes) {
                                    option value=(code) { (label) }
                                }
                            }
                            div { button type="submit" { (t.find_prisoner) } }
                        }
                    }
                    @if roles.iter().any(|r| matches!(r, Role::Officer | Role::Finance | Role::FinanceApprover)) {
                        p { a href={ "/staff/prisons/" (prison_id) "/pms" } { (t.pms_feed) } }
                    }
                    @if roles.iter().any(|r| matches!(r, Role::Finance | Role::FinanceApprover)) {
                        p { a href={ "/staff/prisons/" (prison_id) "/adjustments" } { (t.adjustments) } }
                        p { a href={ "/staff/prisons/" (prison_id) "/payroll" } { (t.payroll) } }
                        p { a href={ "/staff/prisons/" (prison_id) "/deposits" } { (t.deposits_held) } }
                    }
                    @if roles.iter().any(|r| matches!(r, Role::Finance | Role::FinanceApprover | Role::Admin)) {
                        p { a href={ "/staff/prisons/" (prison_id) "/policies" } { (t.policies) } }
                    }
                    p { a href={ "/staff/prisons/" (prison_id) "/fees" } { (t.fees) } }
                }
            }
        },
    );
    Ok(match chosen.set_cookie {
        Some(cookie) => ([(header::SET_COOKIE, cookie)], markup).into_response(),
        None => markup.into_response(),
    })
}
