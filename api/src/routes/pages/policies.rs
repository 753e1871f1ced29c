//! The policies page (`GET /staff/prisons/{prison_id}/policies`): the spending-control policy in
//! effect for each regime, read-only (publishing goes through the JSON API).
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use ledger::Money;
use ledger::controls::Limits;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{money, page, refused};
use crate::auth::{PolicyReaders, RequireRole};
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

fn amount(value: Option<Money>) -> String {
    value.map_or_else(
        || "no limit".to_owned(),
        |m| money(m.amount_minor, m.currency.code()),
    )
}

fn limits(title: &str, limits: &Limits) -> Markup {
    html! {
        tr {
            th { (title) }
            td.amount { (amount(limits.per_authorization)) }
            td.amount { (amount(limits.daily)) }
            td.amount { (amount(limits.weekly)) }
            td.amount { (amount(limits.monthly)) }
        }
    }
}

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/policies", tag = "staff pages",
    description = "Roles: finance, finance_approver, admin in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The policy in effect per regime", content_type = "text/html", body = String)))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<PolicyReaders>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
) -> Result<Response, Problem> {
    if let Err(problem) = access {
        return Ok(refused(problem));
    }
    let policies = match crate::services::policies::current(&state, path.prison_id).await {
        Ok(policies) => policies,
        Err(problem) => return Ok(refused(problem.into())),
    };
    Ok(page(
        "Spending-control policies",
        true,
        html! {
            p { "The policy each regime's cards are decided with now. Finance approvers and administrators publish new versions through the JSON API (see docs/api.md); per-person overrides need a second member of staff." }
            @for regime in &policies.regimes {
                section data-regime=(regime.regime) {
                    h2 { (regime.regime.replace('_', " ")) }
                    @match &regime.assignment {
                        None => p { "No policy assigned: cards of this regime are declined." },
                        Some(assignment) => {
                            p { "Policy " strong { (assignment.policy_id) }
                                @if let Some(policy) = &assignment.policy { " version " (policy.version) }
                                ", since " (assignment.effective_from.date()) ", spend windows in " (assignment.time_zone) "." }
                            @if let Some(policy) = &assignment.policy {
                                table {
                                    thead { tr { th {} th.amount { "Per payment" } th.amount { "Day" } th.amount { "Week" } th.amount { "Month" } } }
                                    tbody {
                                        (limits("Inside", &policy.limits))
                                        (limits("On leave (default)", &policy.default_leave_limits))
                                        (limits("Released", &policy.released_limits))
                                    }
                                }
                                p { "Maximum balance: " (amount(policy.max_balance)) "." }
                                p { "Prison merchants: " (policy.inside_merchants.len()) "; blocked merchants: " (policy.blocked_merchants.len()) "." }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}
