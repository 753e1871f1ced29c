//! The policies page (`GET /staff/prisons/{prison_id}/policies`): the spending-control policy in
//! effect for each regime, read-only (publishing goes through the JSON API).
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use ledger::Money;
use ledger::controls::Limits;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::codes::codes;
use super::i18n::policies::{PolicyTexts, policy_texts};
use super::i18n::{LangQuery, choose_for_prison, fill, money_in};
use super::layout::{page_in, refused_in};
use crate::auth::{PolicyReaders, RequireRole};
use crate::http::{ApiPath, ApiQuery};
use crate::problem::Problem;
use crate::state::AppState;
use ledger::controls::Lang;

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

fn amount(lang: Lang, t: &PolicyTexts, value: Option<Money>) -> String {
    value.map_or_else(|| t.no_limit.to_owned(), |m| money_in(lang, &m))
}

fn limits(lang: Lang, t: &PolicyTexts, title: &str, limits: &Limits) -> Markup {
    html! {
        tr {
            th { (title) }
            td.amount { (amount(lang, t, limits.per_authorization)) }
            td.amount { (amount(lang, t, limits.daily)) }
            td.amount { (amount(lang, t, limits.weekly)) }
            td.amount { (amount(lang, t, limits.monthly)) }
        }
    }
}

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/policies", tag = "staff pages",
    description = "Roles: finance, finance_approver, admin in the path's prison. In the language \
        asked for (`lang`, then kept), else the prison's, else the browser's, else English.",
    params(("prison_id" = uuid::Uuid, Path), LangQuery),
    responses((status = 200, description = "The policy in effect per regime", content_type = "text/html", body = String)))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<PolicyReaders>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> Result<Response, Problem> {
    let chosen = choose_for_prison(&state, query.asked(), &headers, path.prison_id).await?;
    let staff_texts = chosen.texts();
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    if let Err(problem) = access {
        return Ok(refused(problem));
    }
    let lang = chosen.lang;
    let t = policy_texts(lang);
    let c = codes(lang);
    let policies = match crate::services::policies::current(&state, path.prison_id).await {
        Ok(policies) => policies,
        Err(problem) => return Ok(refused(problem.into())),
    };
    Ok(chosen.respond(page_in(
        staff_texts,
        staff_texts.policies,
        true,
        html! {
            p { (t.intro) }
            @for regime in &policies.regimes {
                section data-regime=(regime.regime) {
                    h2 {
                        @if lang == Lang::En { (regime.regime.replace('_', " ")) }
                        @else { (c.regime(&regime.regime)) }
                    }
                    @match &regime.assignment {
                        None => p { (t.no_policy) },
                        Some(assignment) => {
                            p { (t.policy) " " strong { (assignment.policy_id) }
                                @if let Some(policy) = &assignment.policy { " " (t.version) " " (policy.version) }
                                (fill(t.since_in, &[
                                    ("date", &assignment.effective_from.date().to_string()),
                                    ("zone", &assignment.time_zone),
                                ])) }
                            @if let Some(policy) = &assignment.policy {
                                table {
                                    thead { tr { th {} th.amount { (t.per_payment) } th.amount { (t.day) } th.amount { (t.week) } th.amount { (t.month) } } }
                                    tbody {
                                        (limits(lang, t, t.inside, &policy.limits))
                                        (limits(lang, t, t.on_leave, &policy.default_leave_limits))
                                        (limits(lang, t, t.released, &policy.released_limits))
                                    }
                                }
                                p { (fill(t.max_balance, &[("amount", &amount(lang, t, policy.max_balance))])) }
                                p { (fill(t.merchants, &[
                                    ("inside", &policy.inside_merchants.len().to_string()),
                                    ("blocked", &policy.blocked_merchants.len().to_string()),
                                ])) }
                            }
                        }
                    }
                }
            }
        },
    )))
}
