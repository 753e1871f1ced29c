//! The fee report page (`GET /staff/prisons/{prison_id}/fees?month=YYYY-MM`): the prison's fees
//! of a month per kind and who bore them, the program-wide processor fees, and the fee policies
//! in force (docs/fees.md). Aggregates only; the CSV link is the file to publish.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::fees::fee_texts;
use super::i18n::{choose_for_prison, fill, minor_in};
use super::layout::{page_in, refused_in};
use crate::auth::{Approvers, RequireRole, Role};
use crate::http::{ApiPath, ApiQuery, HtmlForm};
use crate::problem::Problem;
use crate::routes::staff::FeeReportReaders;
use crate::services::fees::{ReportMonth, SetFeePolicy, policies, report, set_policy};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
    /// The page's language (fi, sv, en, nl, fr, de), kept in the `saldo_staff_lang` cookie.
    #[serde(default)]
    lang: Option<String>,
}

fn this_month() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}", today.year(), u8::from(today.month()))
}

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/fees", tag = "staff pages",
    description = "Roles: any staff role (any prison). The public fee report of the prison for a \
        month (default: this month, UTC), with the fee policies in force. In the language asked \
        for (`lang`, then kept), else the prison's, else the browser's, else English.",
    params(("prison_id" = uuid::Uuid, Path), ("month" = Option<String>, Query),
        ("lang" = Option<String>, Query, description = "The page's language (fi, sv, en, nl, fr, de), kept in the `saldo_staff_lang` cookie.")),
    responses((status = 200, description = "The fee report page", content_type = "text/html", body = String),
              (status = 303, description = "No session: to /staff/sign-in")))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<FeeReportReaders>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<MonthQuery>,
) -> Result<Response, Problem> {
    let asked = query
        .lang
        .as_deref()
        .and_then(ledger::controls::Lang::parse);
    let chosen = choose_for_prison(&state, asked, &headers, path.prison_id).await?;
    let staff_texts = chosen.texts();
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let lang = chosen.lang;
    let t = fee_texts(lang);
    let money = |amount_minor: i64, currency: &str| minor_in(lang, amount_minor, currency);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let approver = access.staff.may(&[Role::FinanceApprover], path.prison_id);
    let month_text = query.month.unwrap_or_else(this_month);
    let month = match ReportMonth::parse(&month_text) {
        Ok(month) => month,
        Err(error) => return Ok(refused(error.into())),
    };
    let report = match report(&state, path.prison_id, month).await {
        Ok(report) => report,
        Err(error) => return Ok(refused(error.into())),
    };
    let policies = policies(&state, path.prison_id).await?;
    let csv = format!(
        "/api/fees/report.csv?prison_id={}&month={}",
        report.prison_id, report.month
    );
    let title = fill(
        t.title,
        &[
            ("prison", report.prison_code.as_str()),
            ("month", report.month.as_str()),
        ],
    );
    Ok(chosen.respond(page_in(
        staff_texts,
        &title,
        true,
        html! {
            form method="get" {
                label for="month" { (t.month) }
                input id="month" name="month" value=(report.month) pattern="[0-9]{4}-[0-9]{2}" required;
                div { button type="submit" { (t.show) } }
            }
            p { a href=(csv) download { (t.download_csv) } }
            @if report.lines.is_empty() {
                p { (t.none_booked) }
            } @else {
                table {
                    thead { tr {
                        th { (t.fee) } th { (t.scope) } th { (t.borne_by) }
                        th.amount { (t.count) } th.amount { (t.total) }
                    } }
                    tbody {
                        @for line in &report.lines {
                            tr {
                                td { (t.kind(&line.fee_kind)) }
                                td { @if line.program_wide { (t.whole_program) } @else { (t.this_prison_scope) } }
                                td { (t.bearer(&line.borne_by)) }
                                td.amount { (line.count) }
                                td.amount { (money(line.total_minor, &line.currency)) }
                            }
                        }
                    }
                }
                h2 { (t.totals) }
                table {
                    thead { tr {
                        th { (t.currency) } th.amount { (t.this_prison) } th.amount { (t.borne_by_service) }
                        th.amount { (t.borne_by_prisoners) } th.amount { (t.program_wide) }
                    } }
                    tbody {
                        @for total in &report.totals {
                            tr {
                                td { (total.currency) }
                                td.amount { (money(total.prison_total_minor, &total.currency)) }
                                td.amount { (money(total.borne_by_service_minor, &total.currency)) }
                                td.amount { (money(total.borne_by_prisoners_minor, &total.currency)) }
                                td.amount { (money(total.program_wide_minor, &total.currency)) }
                            }
                        }
                    }
                }
            }
            p { (t.program_wide_note) }
            h2 { (t.in_force) }
            @if policies.in_force.is_empty() {
                p { (t.none_in_force) }
            } @else {
                table {
                    thead { tr { th { (t.fee) } th.amount { (t.amount) } th { (t.borne_by) } th { (t.since) } th { (t.reason) } } }
                    tbody {
                        @for policy in &policies.in_force {
                            tr {
                                td { (t.kind(&policy.fee_kind)) }
                                td.amount { (money(policy.amount_minor, &policy.currency)) }
                                td { (t.bearer(&policy.borne_by)) }
                                td { (policy.set_at.date()) }
                                td { (policy.reason) }
                            }
                        }
                    }
                }
            }
            @if approver {
                h2 { (t.set_heading) }
                p { (t.set_note) }
                form method="post" action={ "/staff/prisons/" (path.prison_id) "/fees/policies" } {
                    label for="fee_kind" { (t.fee) }
                    select id="fee_kind" name="fee_kind" {
                        option value="atm_withdrawal" { (t.atm_withdrawal) }
                        option value="card_replacement" { (t.card_replacement) }
                    }
                    label for="currency" { (t.currency) }
                    input id="currency" name="currency" value="EUR" pattern="[A-Z]{3}" required;
                    label for="amount" { (t.amount_example) }
                    input id="amount" name="amount" required pattern=r"[0-9]{1,7}(\.[0-9]{1,2})?";
                    label for="borne_by" { (t.borne_by) }
                    select id="borne_by" name="borne_by" {
                        option value="service" { (t.the_service) }
                        option value="prisoner" { (t.the_prisoner) }
                    }
                    label for="reason" { (t.reason) }
                    input id="reason" name="reason" required maxlength="500";
                    div { button type="submit" { (t.set_button) } }
                }
            }
        },
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeePolicyForm {
    /// `atm_withdrawal` or `card_replacement`.
    fee_kind: String,
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    currency: String,
    /// Major units as typed, e.g. `2.00`: read exactly, never through a float.
    #[schema(example = "2.00", pattern = r"^[0-9]{1,7}(\.[0-9]{1,2})?$")]
    amount: String,
    /// `service` or `prisoner`.
    borne_by: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/fees/policies", tag = "staff pages",
    description = "Role: finance_approver in the path's prison. Sets a card-level fee's policy \
        (as `PUT /api/staff/prisons/{prison_id}/fee-policies/{fee_kind}`).",
    params(("prison_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = FeePolicyForm),
    responses((status = 303, description = "Set: back to the fees page")))]
pub async fn set(
    State(state): State<AppState>,
    access: Result<RequireRole<Approvers>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<FeePolicyForm>,
) -> Result<Response, Problem> {
    let staff_texts = choose_for_prison(&state, None, &headers, path.prison_id)
        .await?
        .texts();
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let amount = ledger::Currency::from_code(&form.currency)
        .and_then(|currency| ledger::Money::parse_major(&form.amount, currency));
    let Ok(amount) = amount else {
        return Ok(refused(Problem::unprocessable(
            "amount_invalid",
            "an amount is like 2.00, in a currency Saldo keeps",
        )));
    };
    let result = set_policy(
        &state,
        SetFeePolicy {
            prison_id: path.prison_id,
            fee_kind: &form.fee_kind,
            currency: &form.currency,
            amount_minor: amount.amount_minor,
            borne_by: Some(&form.borne_by),
            reason: &form.reason,
            set_by: access.staff.id,
        },
    )
    .await;
    match result {
        Ok(policy) => {
            tracing::info!(prison_id = %path.prison_id, staff.id = %access.staff.id, fee_kind = %policy.fee_kind, "fee policy set");
            Ok(Redirect::to(&format!("/staff/prisons/{}/fees", path.prison_id)).into_response())
        }
        Err(error) => Ok(refused(error.into())),
    }
}
