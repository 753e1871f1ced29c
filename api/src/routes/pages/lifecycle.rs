//! The officers' lifecycle forms on the prisoner page: grant a leave, end it, transfer, release.
//! Each posts here; the handler calls the same function as the JSON route, then goes back to the
//! prisoner page with a status line (`done=`). A transfer shows its own page instead: the
//! prisoner is no longer in this prison, so their page here is gone.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use ledger::lifecycle::SavingsOnRelease;
use maud::html;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::i18n::prisoner::{PrisonerTexts, prisoner_texts};
use super::i18n::{StaffTexts, choose_for_prison, money_in};
use super::layout::{page_in, refused_in};
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiPath, HtmlForm};
use crate::identity;
use crate::identity::access_log::Purpose;
use crate::problem::Problem;
use crate::services::lifecycle::{LeaveRequest, PayoutChoice, ReleaseRequest, TransferRequest};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PrisonerPath {
    prison_id: Uuid,
    person_id: Uuid,
}

/// The `done=` codes the prisoner page shows a status line for (its texts: `PrisonerTexts::done`).
pub const DONE: [&str; 3] = ["leave_granted", "leave_ended", "released"];

/// The language of a form's answer: kept or the prison's (a form asks for none).
async fn language(
    state: &AppState,
    headers: &HeaderMap,
    prison_id: Uuid,
) -> Result<
    (
        &'static StaffTexts,
        &'static PrisonerTexts,
        ledger::controls::Lang,
    ),
    Problem,
> {
    let chosen = choose_for_prison(state, None, headers, prison_id).await?;
    Ok((chosen.texts(), prisoner_texts(chosen.lang), chosen.lang))
}

/// Back to the prisoner page with the purpose it was opened for and a status line.
fn back(path: &PrisonerPath, purpose: &str, done: &str) -> Response {
    let purpose = Purpose::parse_staff(purpose).unwrap_or(Purpose::CaseManagement);
    Redirect::to(&format!(
        "/staff/prisons/{}/prisoners/{}?purpose={}&done={done}",
        path.prison_id,
        path.person_id,
        purpose.as_str()
    ))
    .into_response()
}

/// A `datetime-local` value (`2026-05-01T08:00`) read as the prison's local time.
fn local_instant(text: &str, time_zone: &str) -> Result<OffsetDateTime, Problem> {
    let invalid = || Problem::unprocessable("leave_invalid", "a time is like 2026-05-01T08:00");
    let zone = jiff::tz::TimeZone::get(time_zone).map_err(|_| Problem::internal())?;
    let civil: jiff::civil::DateTime = text.parse().map_err(|_| invalid())?;
    let zoned = civil.to_zoned(zone).map_err(|_| invalid())?;
    OffsetDateTime::from_unix_timestamp_nanos(zoned.timestamp().as_nanosecond())
        .map_err(|_| invalid())
}

async fn prison_time_zone(state: &AppState, prison_id: Uuid) -> Result<String, Problem> {
    let client = state.pool.get().await?;
    Ok(identity::store::prison(&client, prison_id)
        .await?
        .ok_or_else(|| Problem::not_found("prison"))?
        .time_zone)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveForm {
    #[schema(min_length = 1, max_length = 100)]
    idempotency_key: String,
    /// Where to go back to: a purpose code (case_management when unknown).
    purpose: String,
    /// `datetime-local`, the prison's time.
    #[schema(
        example = "2026-05-01T08:00",
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$"
    )]
    from: String,
    #[schema(
        example = "2026-05-03T20:00",
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$"
    )]
    until: String,
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/prisoners/{person_id}/leave", tag = "staff pages",
    description = "Role: officer in the path's prison. The prisoner page's leave form (times in the \
        prison's local time; the policy's default leave limits).",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = LeaveForm),
    responses((status = 303, description = "Granted: back to the prisoner page")))]
pub async fn grant_leave(
    State(state): State<AppState>,
    access: Result<RequireRole<Officers>, Problem>,
    ApiPath(path): ApiPath<PrisonerPath>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<LeaveForm>,
) -> Result<Response, Problem> {
    let (staff_texts, _, _) = language(&state, &headers, path.prison_id).await?;
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let time_zone = prison_time_zone(&state, path.prison_id).await?;
    let request = match (
        local_instant(&form.from, &time_zone),
        local_instant(&form.until, &time_zone),
    ) {
        (Ok(from), Ok(until)) => LeaveRequest {
            idempotency_key: form.idempotency_key,
            from,
            until,
            limits: None,
        },
        (Err(problem), _) | (_, Err(problem)) => return Ok(refused(problem)),
    };
    match crate::services::lifecycle::grant_checked(
        &state,
        &access.staff,
        path.prison_id,
        path.person_id,
        &request,
    )
    .await
    {
        Ok(_) => Ok(back(&path, &form.purpose, "leave_granted")),
        Err(problem) => Ok(refused(problem.into())),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndLeaveForm {
    purpose: String,
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/prisoners/{person_id}/leave/end", tag = "staff pages",
    description = "Role: officer in the path's prison. Ends the card's leave.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = EndLeaveForm),
    responses((status = 303, description = "Ended: back to the prisoner page")))]
pub async fn end_leave(
    State(state): State<AppState>,
    access: Result<RequireRole<Officers>, Problem>,
    ApiPath(path): ApiPath<PrisonerPath>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<EndLeaveForm>,
) -> Result<Response, Problem> {
    let (staff_texts, _, _) = language(&state, &headers, path.prison_id).await?;
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    match crate::services::lifecycle::end_checked(
        &state,
        &access.staff,
        path.prison_id,
        path.person_id,
    )
    .await
    {
        Ok(_) => Ok(back(&path, &form.purpose, "leave_ended")),
        Err(problem) => Ok(refused(problem.into())),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferForm {
    #[schema(min_length = 1, max_length = 100)]
    idempotency_key: String,
    /// Sent like every form's; unused: the answer is not the prisoner page.
    #[allow(dead_code)]
    purpose: String,
    /// The destination prison's code, e.g. `BRU`.
    to_prison: String,
    /// Empty: the current regime.
    #[schema(pattern = "^(|closed_prison|open_prison|remand)$")]
    regime: String,
    /// Empty: none; else 1 to 64 characters.
    #[schema(max_length = 64, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    unit: String,
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/prisoners/{person_id}/transfer", tag = "staff pages",
    description = "Role: officer in the path's prison. Transfers the prisoner to the prison with the \
        code given; the answer is a page saying so (the prisoner's page here is gone).",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = TransferForm),
    responses((status = 200, description = "Transferred", content_type = "text/html", body = String)))]
pub async fn transfer(
    State(state): State<AppState>,
    access: Result<RequireRole<Officers>, Problem>,
    ApiPath(path): ApiPath<PrisonerPath>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<TransferForm>,
) -> Result<Response, Problem> {
    let (staff_texts, t, _) = language(&state, &headers, path.prison_id).await?;
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let regime = match form.regime.as_str() {
        "" => None,
        text => match ledger::policy_store::parse_regime(text) {
            Ok(regime) => Some(regime),
            Err(error) => return Ok(refused(error.into())),
        },
    };
    let code = form.to_prison.trim().to_ascii_uppercase();
    let destination = {
        let client = state.pool.get().await?;
        identity::store::prison_by_code(&client, &code).await?
    };
    let Some(destination) = destination else {
        return Ok(refused(Problem::unprocessable(
            "prison_unknown",
            "no prison has that code",
        )));
    };
    let request = TransferRequest {
        idempotency_key: form.idempotency_key,
        to_prison_id: destination.id,
        regime,
        unit: Some(form.unit.trim().to_owned()).filter(|unit| !unit.is_empty()),
    };
    match crate::services::lifecycle::transfer_checked(
        &state,
        &access.staff,
        path.prison_id,
        path.person_id,
        &request,
    )
    .await
    {
        Ok(done) => Ok(page_in(
            staff_texts,
            t.transferred,
            true,
            html! {
                p role="status" {
                    (t.now_at) " " strong { (destination.name) } " (" (destination.code) "). "
                    (t.moved)
                }
                @if !done.destination_has_policy {
                    p.message role="alert" { (t.no_policy_there) }
                }
                p { a href="/staff/home" { (staff_texts.back_home) } }
            },
        )
        .into_response()),
        Err(problem) => Ok(refused(problem.into())),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseForm {
    #[schema(min_length = 1, max_length = 100)]
    idempotency_key: String,
    purpose: String,
    #[schema(value_type = String, pattern = "^(to_spendable|pay_out)$")]
    savings: SavingsOnRelease,
    /// `card_grace` (default), `sepa` (with `payout_iban` and `payout_holder`) or `cash`.
    #[serde(default)]
    #[schema(pattern = "^(card_grace|sepa|cash)$")]
    payout: Option<String>,
    #[serde(default)]
    #[schema(max_length = 42)]
    payout_iban: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200)]
    payout_holder: Option<String>,
}

fn payout_choice(form: &ReleaseForm) -> Result<Option<PayoutChoice>, Problem> {
    match form.payout.as_deref() {
        None | Some("") | Some("card_grace") => Ok(None),
        Some("cash") => Ok(Some(PayoutChoice::Cash)),
        Some("sepa") => Ok(Some(PayoutChoice::Sepa {
            iban: form.payout_iban.clone().unwrap_or_default(),
            holder_name: form.payout_holder.clone().unwrap_or_default(),
        })),
        Some(_) => Err(Problem::unprocessable(
            "payout_choice_invalid",
            "the payout is card_grace, sepa or cash",
        )),
    }
}

/// The printable receipt of a cash payout at the gate: signed by the person and the officer.
fn cash_receipt(
    (staff_texts, t, lang): (&StaffTexts, &PrisonerTexts, ledger::controls::Lang),
    done: &crate::services::lifecycle::PayoutDone,
    effective_date: &str,
) -> Response {
    page_in(
        staff_texts,
        t.receipt,
        true,
        html! {
            h1 { (t.receipt) }
            dl id="receipt" {
                dt { (t.receipt_no) } dd.receipt-no { (done.receipt_no.as_deref().unwrap_or("")) }
                dt { (t.date) } dd { (effective_date) }
                dt { (t.paid_in_cash) }
                dd.amount { (money_in(lang, &done.amount)) }
                dt { (t.charges) } dd { (t.none) }
            }
            p { (t.received) }
            p { (t.paid_by) }
            p { a href="/staff/home" { (staff_texts.back_home) } }
        },
    )
    .into_response()
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/prisoners/{person_id}/release", tag = "staff pages",
    description = "Role: officer in the path's prison. Releases the prisoner.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = ReleaseForm),
    responses((status = 303, description = "Released: back to the prisoner page")))]
pub async fn release(
    State(state): State<AppState>,
    access: Result<RequireRole<Officers>, Problem>,
    ApiPath(path): ApiPath<PrisonerPath>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<ReleaseForm>,
) -> Result<Response, Problem> {
    let (staff_texts, t, lang) = language(&state, &headers, path.prison_id).await?;
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let payout = match payout_choice(&form) {
        Ok(payout) => payout,
        Err(problem) => return Ok(refused(problem)),
    };
    let request = ReleaseRequest {
        idempotency_key: form.idempotency_key,
        savings: form.savings,
        payout,
    };
    match crate::services::lifecycle::release_checked(
        &state,
        &access.staff,
        path.prison_id,
        path.person_id,
        &request,
    )
    .await
    {
        Ok(done) => match &done.payout {
            Some(paid) if paid.kind == "cash" => Ok(cash_receipt(
                (staff_texts, t, lang),
                paid,
                &done.effective_date,
            )),
            _ => Ok(back(&path, &form.purpose, "released")),
        },
        Err(problem) => Ok(refused(problem.into())),
    }
}
