//! `GET /staff/trial-balance`: the trial balance as a table, with its CSV export.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;

use super::i18n::books::book_texts;
use super::i18n::{LangQuery, choose_for_staff, minor_in};
use super::layout::{page_in, refused_in};
use crate::auth::{BookReaders, RequireRole};
use crate::http::ApiQuery;
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(get, path = "/staff/trial-balance", tag = "staff pages",
    description = "Roles: finance, finance_approver, auditor (any prison). In the language asked \
        for (`lang`, then kept), else the one the person's prisons name, else the browser's, else \
        English.",
    params(LangQuery),
    responses((status = 200, description = "The trial balance page", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<BookReaders>, Problem>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> Result<Response, Problem> {
    let staff = access.as_ref().ok().map(|access| &access.staff);
    let chosen = choose_for_staff(&state, query.asked(), &headers, staff).await?;
    let staff_texts = chosen.texts();
    if let Err(problem) = access {
        return Ok(refused_in(staff_texts, problem));
    }
    let lang = chosen.lang;
    let t = book_texts(lang);
    let money = |amount_minor: i64, currency: &str| minor_in(lang, amount_minor, currency);
    let balance = crate::services::books::compute(&state).await?;
    Ok(chosen.respond(page_in(
        staff_texts,
        staff_texts.trial_balance,
        true,
        html! {
            p { a href="/api/staff/trial-balance.csv" download { (t.download_csv) } }
            table {
                thead { tr {
                    th { (t.account) } th { (t.account_type) } th.amount { (t.accounts) }
                    th.amount { (t.debit) } th.amount { (t.credit) }
                } }
                tbody {
                    @for line in &balance.lines {
                        tr {
                            td { (line.account) }
                            td { (t.account_type(&line.account_type)) }
                            td.amount { (line.accounts) }
                            td.amount { (money(line.debit_minor, &line.currency)) }
                            td.amount { (money(line.credit_minor, &line.currency)) }
                        }
                    }
                }
                tfoot {
                    @for total in &balance.totals {
                        tr {
                            th { (t.total) " " (total.currency) }
                            th { @if total.balanced { (t.balanced) } @else { (t.not_balanced) } }
                            th {}
                            th.amount { (money(total.debit_minor, &total.currency)) }
                            th.amount { (money(total.credit_minor, &total.currency)) }
                        }
                    }
                }
            }
        },
    )))
}
