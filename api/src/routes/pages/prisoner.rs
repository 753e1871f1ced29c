//! `POST /staff/prisons/{prison_id}/lookup` (prisoner number and purpose, so the number never
//! appears in a URL) and `GET /staff/prisons/{prison_id}/prisoners/{person_id}?purpose=`: the
//! prisoner's balances and statement, consulted and logged like the JSON routes.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::codes::{REGIMES, codes};
use super::i18n::prisoner::prisoner_texts;
use super::i18n::{choose_for_prison, entry_description, money_in};
use super::layout::{page_in, refused_in};
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
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<LookupForm>,
) -> Result<Response, Problem> {
    let staff_texts = choose_for_prison(&state, None, &headers, path.prison_id)
        .await?
        .texts();
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused_in(staff_texts, problem)),
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
        None => Ok(refused_in(staff_texts, Problem::not_found("prisoner"))),
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
    /// The page's language (fi, sv, en, nl, fr, de), kept in the `saldo_staff_lang` cookie.
    #[serde(default)]
    lang: Option<String>,
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
        required (access log); finance staff also get the form to propose an adjustment. In the \
        language asked for (`lang`, then kept), else the prison's, else the browser's, else English.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Why the record is consulted: a code from the closed list (access log)", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"), ("done" = Option<String>, Query, description = "A status line after a lifecycle form"), ("lang" = Option<String>, Query, description = "The page's language (fi, sv, en, nl, fr, de), kept in the `saldo_staff_lang` cookie.")),
    responses((status = 200, description = "Balances and recent statement lines", content_type = "text/html", body = String)))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<CaseReaders>, Problem>,
    ApiPath(path): ApiPath<PrisonerPagePath>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PurposeQuery>,
) -> Result<Response, Problem> {
    let asked = query
        .lang
        .as_deref()
        .and_then(ledger::controls::Lang::parse);
    let chosen = choose_for_prison(&state, asked, &headers, path.prison_id).await?;
    let staff_texts = chosen.texts();
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused_in(staff_texts, problem)),
    };
    let lang = chosen.lang;
    let t = prisoner_texts(lang);
    let c = codes(lang);
    let money = |amount: &ledger::Money| money_in(lang, amount);
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
        return Ok(refused_in(staff_texts, Problem::not_found("prisoner")));
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
            .position(|known| *known == code)
            .map(|index| t.done[index])
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
        "{} {}",
        t.prisoner,
        prisoner.prisoner_number.as_deref().unwrap_or("")
    );
    Ok(chosen.respond(page_in(
        staff_texts,
        &title,
        true,
        html! {
            @if let Some(done) = done {
                p role="status" { (done) }
            }
            h2 { (t.card_and_placement) }
            @match &placement {
                None => p { (t.not_placed) },
                Some(placement) => {
                    table id="placement" {
                        tbody {
                            tr { th { (t.card_now) } td.mode { (c.mode(effective_mode_str(&placement.mode.effective_at(now)))) } }
                            tr { th { (t.mode_set) } td { (c.mode(&PlacementView::of(placement, now).mode)) " (" (placement.reason) ", " (local_time(placement.since, &time_zone)) ")" } }
                            tr { th { (t.regime) } td { (c.regime(ledger::policy_store::regime_str(placement.regime))) } }
                            @if let CardMode::Leave { from, until, .. } = placement.mode {
                                tr { th { (t.leave) } td { (local_time(from, &time_zone)) " " (t.to) " " (local_time(until, &time_zone)) } }
                            }
                            @if let CardMode::Released { until } = placement.mode {
                                tr { th { (t.grace_until) } td { (local_time(until, &time_zone)) } }
                            }
                        }
                    }
                }
            }
            @if officer && placement.is_some() && !released {
                @if leave_running {
                    form.inline method="post" action=(lifecycle_form("leave/end")) {
                        input type="hidden" name="purpose" value=(stated.as_str());
                        button type="submit" { (t.end_leave) }
                    }
                } @else if !frozen {
                    h2 { (t.grant_leave) }
                    p { (t.leave_note) }
                    form method="post" action=(lifecycle_form("leave")) {
                        input type="hidden" name="idempotency_key" value=(Uuid::new_v4());
                        input type="hidden" name="purpose" value=(stated.as_str());
                        label for="leave_from" { (t.from) }
                        input id="leave_from" name="from" type="datetime-local" required value=(local_input(now, &time_zone));
                        label for="leave_until" { (t.until) }
                        input id="leave_until" name="until" type="datetime-local" required;
                        div { button type="submit" { (t.grant_leave_button) } }
                    }
                }
                h2 { (t.transfer) }
                form method="post" action=(lifecycle_form("transfer")) {
                    input type="hidden" name="idempotency_key" value=(Uuid::new_v4());
                    input type="hidden" name="purpose" value=(stated.as_str());
                    label for="to_prison" { (t.destination_code) }
                    input id="to_prison" name="to_prison" required maxlength="32";
                    label for="regime" { (t.regime_there) }
                    select id="regime" name="regime" {
                        option value="" { (t.as_now) }
                        @for regime in REGIMES { option value=(regime) { (c.regime(regime)) } }
                    }
                    label for="unit" { (t.unit_there) }
                    input id="unit" name="unit" maxlength="64";
                    div { button type="submit" { (t.transfer_button) } }
                }
                h2 { (t.release) }
                form method="post" action=(lifecycle_form("release")) {
                    input type="hidden" name="idempotency_key" value=(Uuid::new_v4());
                    input type="hidden" name="purpose" value=(stated.as_str());
                    label for="savings" { (t.release_savings) }
                    select id="savings" name="savings" {
                        option value="to_spendable" { (t.savings_to_spendable) }
                        option value="pay_out" { (t.savings_pay_out) }
                    }
                    label for="payout" { (t.payout) }
                    select id="payout" name="payout" {
                        option value="card_grace" { (t.payout_card_grace) }
                        option value="sepa" { (t.payout_sepa) }
                        option value="cash" { (t.payout_cash) }
                    }
                    label for="payout_iban" { (t.iban) }
                    input id="payout_iban" name="payout_iban" maxlength="42" autocomplete="off";
                    label for="payout_holder" { (t.holder) }
                    input id="payout_holder" name="payout_holder" maxlength="200" autocomplete="off";
                    div { button type="submit" { (t.release_button) } }
                }
            }
            h2 { (t.balances) }
            table id="balances" {
                thead { tr { th { (t.account) } th.amount { (t.posted) } th.amount { (t.held) } th.amount { (t.available) } } }
                tbody {
                    @for balance in &balances {
                        tr data-purpose=(balance.purpose) {
                            td { (c.account(&balance.purpose)) }
                            td.amount { (money(&balance.posted)) }
                            td.amount { (money(&balance.held)) }
                            td.amount.available { (money(&balance.available)) }
                        }
                    }
                }
            }
            h2 { (t.latest) }
            @if lines.is_empty() {
                p { (t.no_transactions) }
            } @else {
                table {
                    thead { tr { th { (t.recorded) } th { (t.description) } th.amount { (t.amount) } } }
                    tbody {
                        @for line in &lines {
                            tr {
                                td { (line.recorded_at.date()) }
                                td { (entry_description(lang, &line.description)) }
                                td.amount { (money(&line.amount)) }
                            }
                        }
                    }
                }
            }
            @if finance {
                h2 { (t.propose) }
                p { (t.propose_note) }
                form method="post" action={ "/staff/prisons/" (path.prison_id) "/prisoners/" (path.person_id) "/adjustments" } {
                    label for="account" { (t.prisoners_account) }
                    select id="account" name="account" {
                        @for account in crate::services::SUB_ACCOUNTS { option value=(account) { (c.account(account)) } }
                    }
                    label for="institution_account" { (t.institutional_account) }
                    select id="institution_account" name="institution_account" {
                        @for (account, _) in INSTITUTION_ACCOUNTS { option value=(account) { (c.institution_account(account)) } }
                    }
                    label for="direction" { (t.direction) }
                    select id="direction" name="direction" {
                        option value="credit_prisoner" { (t.credit) }
                        option value="debit_prisoner" { (t.debit) }
                    }
                    label for="amount" { (t.amount_eur) }
                    input id="amount" name="amount" required inputmode="decimal" maxlength="20";
                    label for="reason_code" { (t.reason) }
                    select id="reason_code" name="reason_code" {
                        @for code in ReasonCode::ALL { option value=(code.as_str()) { (c.reason(code.as_str())) } }
                    }
                    label for="reason" { (t.explanation) }
                    input id="reason" name="reason" required maxlength="500";
                    div { button type="submit" { (t.propose_button) } }
                }
            }
        },
    )))
}
