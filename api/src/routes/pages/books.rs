//! `GET /staff/trial-balance`: the trial balance as a table, with its CSV export.
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{money, page, refused};
use crate::auth::{BookReaders, RequireRole};
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(get, path = "/staff/trial-balance", tag = "staff pages",
    description = "Roles: finance, finance_approver, auditor (any prison).",
    responses((status = 200, description = "The trial balance page", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<BookReaders>, Problem>,
) -> Result<Response, Problem> {
    if let Err(problem) = access {
        return Ok(refused(problem));
    }
    let balance = crate::services::books::compute(&state).await?;
    Ok(page(
        "Trial balance",
        true,
        html! {
            p { a href="/api/staff/trial-balance.csv" download { "Download as CSV" } }
            table {
                thead { tr {
                    th { "Account" } th { "Type" } th.amount { "Accounts" }
                    th.amount { "Debit" } th.amount { "Credit" }
                } }
                tbody {
                    @for line in &balance.lines {
                        tr {
                            td { (line.account) }
                            td { (line.account_type) }
                            td.amount { (line.accounts) }
                            td.amount { (money(line.debit_minor, &line.currency)) }
                            td.amount { (money(line.credit_minor, &line.currency)) }
                        }
                    }
                }
                tfoot {
                    @for total in &balance.totals {
                        tr {
                            th { "Total " (total.currency) }
                            th { @if total.balanced { "balanced" } @else { "NOT BALANCED" } }
                            th {}
                            th.amount { (money(total.debit_minor, &total.currency)) }
                            th.amount { (money(total.credit_minor, &total.currency)) }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}
