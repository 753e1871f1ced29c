//! `POST /staff/prisons/{prison_id}/lookup` (prisoner number and purpose, so the number never
//! appears in a URL) and `GET /staff/prisons/{prison_id}/prisoners/{person_id}?purpose=`: the
//! prisoner's balances and statement, consulted and logged like the JSON routes.
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{money, page, refused};
use crate::auth::{CaseReaders, RequireRole, Role};
use crate::http::{ApiPath, ApiQuery, HtmlForm};
use crate::identity::access_log::Purpose;
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::services::adjustments::{INSTITUTION_ACCOUNTS, ReasonCode};
use crate::services::balances::{balances_of, recent_lines};
use crate::services::lifecycle::{PlacementView, effective_mode_str};
use crate::state::AppState;
use ledger::controls::CardMode;

use super::lifecycle::DONE as LIFECYCLE_DONE;

/// The purposes staff choose from on the pages (codes of the access log's closed list).
pub const PURPOSES: [(&str, &str); 6] = [
    ("balance_enquiry", "Balance enquiry"),
    ("case_management", "Case management"),
    ("prisoner_request", "Prisoner's request"),
    ("release_preparation", "Release preparation"),
    ("complaint", "Complaint"),
    ("data_subject_request", "Data subject request"),
];

const STATEMENT_LINES: usize = 20;

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupForm {
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9-]{1,32}$")]
    prisoner_number: String,
    /// Why the record is consulted: a code from the closed list (access log).
    #[schema(
        pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"
    )]
    purpose: String,
}

fn purpose(text: &str) -> Result<Purpose, Problem> {
    Purpose::parse_staff(text)
        .ok_or_else(|| Problem::bad_request("purpose_invalid", "not a known purpose"))
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/lookup", tag = "staff pages",
    description = "Roles: officer, finance, finance_approver in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = LookupForm),
    responses((status = 303, description = "To the prisoner's page"),
              (status = 404, description = "No such prisoner in this prison", content_type = "text/html", body = String)))]
pub async fn lookup(
    State(state): State<AppState>,
    access: Result<RequireRole<CaseReaders>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
    HtmlForm(form): HtmlForm<LookupForm>,
) -> Result<Response, Problem> {
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let stated = purpose(&form.purpose)?;
    identity::validate::prisoner_number(&form.prisoner_number)?;
    let who = access.staff.accessor(stated, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::find_by_prisoner_number(
        &tx,
        &who,
        path.prison_id,
        &form.prisoner_number,
        &[PrisonerField::PrisonerNumber],
    )
    .await?;
    tx.commit().await?;
    match found {
        Some(prisoner) => Ok(Redirect::to(&format!(
            "/staff/prisons/{}/prisoners/{}?purpose={}",
            path.prison_id,
            prisoner.person_id,
            stated.as_str()
        ))
        .into_response()),
        None => Ok(refused(Problem::not_found("prisoner"))),
    }
}

#[derive(Deserialize)]
pub struct PrisonerPagePath {
    prison_id: Uuid,
    person_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeQuery {
    purpose: String,
    /// A status line after a lifecycle form (only the known codes are shown).
    #[serde(default)]
    done: Option<String>,
}

/// A moment as the prison's clock shows it.
fn local_time(at: time::OffsetDateTime, time_zone: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_second(at.unix_timestamp())
        .map(|ts| {
            ts.to_zoned(time_zone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// A `datetime-local` input's value for a moment, the prison's time.
fn local_input(at: time::OffsetDateTime, time_zone: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_second(at.unix_timestamp())
        .map(|ts| {
            ts.to_zoned(time_zone.clone())
                .strftime("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/prisoners/{person_id}", tag = "staff pages",
    description = "Roles: officer, finance, finance_approver in the path's prison. The purpose is \
        required (access log); finance staff also get the form to propose an adjustment.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Why the record is consulted: a code from the closed list (access log)", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"), ("done" = Option<String>, Query, description = "A status line after a lifecycle form")),
    responses((status = 200, description = "Balances and recent statement lines", content_type = "text/html", body = String)))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<CaseReaders>, Problem>,
    ApiPath(path): ApiPath<PrisonerPagePath>,
    ApiQuery(query): ApiQuery<PurposeQuery>,
) -> Result<Response, Problem> {
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let stated = purpose(&query.purpose)?;
    let who = access.staff.accessor(stated, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::consult_prisoner(
        &tx,
        &who,
        Some(path.prison_id),
        path.person_id,
        &[
            PrisonerField::PrisonerNumber,
            PrisonerField::Balances,
            PrisonerField::Statement,
            PrisonerField::Placement,
        ],
    )
    .await?;
    let Some(prisoner) = found else {
        tx.commit().await?;
        return Ok(refused(Problem::not_found("prisoner")));
    };
    let placement = ledger::policy_store::current_placement(&tx, path.person_id).await?;
    let time_zone = identity::store::prison(&tx, path.prison_id)
        .await?
        .and_then(|prison| jiff::tz::TimeZone::get(&prison.time_zone).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let balances = balances_of(&tx, path.person_id).await?;
    let spendable = balances
        .iter()
        .find(|b| b.purpose == ledger::person_purpose::SPENDABLE)
        .map(|b| b.account_id);
    let lines = match spendable {
        Some(account_id) => recent_lines(&tx, account_id, STATEMENT_LINES).await?,
        None => Vec::new(),
    };
    tx.commit().await?;
    let finance = access
        .staff
        .may(&[Role::Finance, Role::FinanceApprover], path.prison_id);
    let officer = access.staff.may(&[Role::Officer], path.prison_id);
    let now = time::OffsetDateTime::now_utc();
    let done = query.done.as_deref().and_then(|code| {
        LIFECYCLE_DONE
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, text)| *text)
    });
    // What the officer may do next, from the mode staff set.
    let (leave_running, released) = match placement.as_ref().map(|p| p.mode) {
        Some(CardMode::Leave { until, .. }) => (until > now, false),
        Some(CardMode::Released { .. }) => (false, true),
        _ => (false, false),
    };
    let frozen = matches!(placement.as_ref().map(|p| p.mode), Some(CardMode::Frozen));
    let lifecycle_form = |action: &str| {
        format!(
            "/staff/prisons/{}/prisoners/{}/{action}",
            path.prison_id, path.person_id
        )
    };
    let title = format!(
        "Prisoner {}",
        prisoner.prisoner_number.as_deref().unwrap_or("")
    );
    Ok(page(
        &title,
        true,
        html! {
            @if let Some(done) = done {
                p role="status" { (done) }
            }
            h2 { "Card and placement" }
            @match &placement {
                None => p { "Not placed yet: no card mode." },
                Some(placement) => {
                    table id="placement" {
                        tbody {
                            tr { th { "Card now" } td.mode { (effective_mode_str(&placement.mode.effective_at(now))) } }
                            tr { th { "Mode set" } td { (PlacementView::of(placement, now).mode) " (" (placement.reason) ", " (local_time(placement.since, &time_zone)) ")" } }
                            tr { th { "Regime" } td { (ledger::policy_store::regime_str(placement.regime)) } }
                            @if let CardMode::Leave { from, until, .. } = placement.mode {
                                tr { th { "Leave" } td { (local_time(from, &time_zone)) " to " (local_time(until, &time_zone)) } }
                            }
                            @if let CardMode::Released { until } = placement.mode {
                                tr { th { "Grace period until" } td { (local_time(until, &time_zone)) } }
                            }
                        }
                    }
                }
            }
            @if officer && placement.is_some() && !released {
                @if leave_running {
                    form.inline method="post" action=(lifecycle_form("leave/end")) {
                        input type="hidden" name="purpose" value=(stated.as_str());
                        button type="submit" { "End the leave" }
                    }
                } @else if !frozen {
                    h2 { "Grant a leave" }
                    p { "Times are the prison's. The policy's leave limits apply." }
                    form method="post" action=(lifecycle_form("leave")) {
                        input type="hidden" name="idempotency_key" value=(Uuid::new_v4());
                        input type="hidden" name="purpose" value=(stated.as_str());
                        label for="leave_from" { "From" }
                        input id="leave_from" name="from" type="datetime-local" required value=(local_input(now, &time_zone));
                        label for="leave_until" { "Until" }
                        input id="leave_until" name="until" type="datetime-local" required;
                        div { button type="submit" { "Grant the leave" } }
                    }
                }
                h2 { "Transfer" }
                form method="post" action=(lifecycle_form("transfer")) {
                    input type="hidden" name="idempotency_key" value=(Uuid::new_v4());
                    input type="hidden" name="purpose" value=(stated.as_str());
                    label for="to_prison" { "Destination prison code" }
                    input id="to_prison" name="to_prison" required maxlength="32";
                    label for="regime" { "Regime there" }
                    select id="regime" name="regime" {
                        option value="" { "As now" }
                        option value="closed_prison" { "closed_prison" }
                        option value="open_prison" { "open_prison" }
                        option value="remand" { "remand" }
                    }
                    label for="unit" { "Unit there (optional)" }
                    input id="unit" name="unit" maxlength="64";
                    div { button type="submit" { "Transfer" } }
                }
                h2 { "Release" }
                form method="post" action=(lifecycle_form("release")) {
                    input type="hidden" name="idempotency_key" value=(Uuid::new_v4());
                    input type="hidden" name="purpose" value=(stated.as_str());
                    label for="savings" { "Release savings" }
                    select id="savings" name="savings" {
                        option value="to_spendable" { "To spendable (usable on the card)" }
                        option value="pay_out" { "Pay out to the account on record" }
                    }
                    label for="payout" { "Payout (free of charge)" }
                    select id="payout" name="payout" {
                        option value="card_grace" { "Card stays usable for the grace period" }
                        option value="sepa" { "Bank transfer (SEPA) to the account below" }
                        option value="cash" { "Cash at the gate, with a receipt" }
                    }
                    label for="payout_iban" { "IBAN (bank transfer only)" }
                    input id="payout_iban" name="payout_iban" maxlength="42" autocomplete="off";
                    label for="payout_holder" { "Account holder's name (bank transfer only)" }
                    input id="payout_holder" name="payout_holder" maxlength="200" autocomplete="off";
                    div { button type="submit" { "Release" } }
                }
            }
            h2 { "Balances" }
            table id="balances" {
                thead { tr { th { "Account" } th.amount { "Posted" } th.amount { "Held" } th.amount { "Available" } } }
                tbody {
                    @for balance in &balances {
                        tr data-purpose=(balance.purpose) {
                            td { (balance.purpose) }
                            td.amount { (money(balance.posted.amount_minor, balance.posted.currency.code())) }
                            td.amount { (money(balance.held.amount_minor, balance.held.currency.code())) }
                            td.amount.available { (money(balance.available.amount_minor, balance.available.currency.code())) }
                        }
                    }
                }
            }
            h2 { "Spendable: latest transactions" }
            @if lines.is_empty() {
                p { "No transactions yet." }
            } @else {
                table {
                    thead { tr { th { "Recorded" } th { "Description" } th.amount { "Amount" } } }
                    tbody {
                        @for line in &lines {
                            tr {
                                td { (line.recorded_at.date()) }
                                td { (line.description) }
                                td.amount { (money(line.amount.amount_minor, line.amount.currency.code())) }
                            }
                        }
                    }
                }
            }
            @if finance {
                h2 { "Propose an adjustment" }
                p { "Posted only when another finance approver approves it." }
                form method="post" action={ "/staff/prisons/" (path.prison_id) "/prisoners/" (path.person_id) "/adjustments" } {
                    label for="account" { "Prisoner's account" }
                    select id="account" name="account" {
                        @for account in crate::services::SUB_ACCOUNTS { option value=(account) { (account) } }
                    }
                    label for="institution_account" { "Institutional account" }
                    select id="institution_account" name="institution_account" {
                        @for (account, _) in INSTITUTION_ACCOUNTS { option value=(account) { (account) } }
                    }
                    label for="direction" { "Direction" }
                    select id="direction" name="direction" {
                        option value="credit_prisoner" { "Credit the prisoner" }
                        option value="debit_prisoner" { "Debit the prisoner" }
                    }
                    label for="amount" { "Amount (EUR, e.g. 12.50)" }
                    input id="amount" name="amount" required inputmode="decimal" maxlength="20";
                    label for="reason_code" { "Reason" }
                    select id="reason_code" name="reason_code" {
                        @for code in ReasonCode::ALL { option value=(code.as_str()) { (code.as_str()) } }
                    }
                    label for="reason" { "Explanation for the approver" }
                    input id="reason" name="reason" required maxlength="500";
                    div { button type="submit" { "Propose" } }
                }
            }
        },
    )
    .into_response())
}
