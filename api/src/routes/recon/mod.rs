//! Reconciliation for finance staff: the daily report (JSON, CSV, an HTML page with a chart),
//! breaks and their workflow, and uploads of settlement files and bank statements.
//!
//! Reading needs finance, finance_approver or auditor; working breaks and uploading needs
//! finance or finance_approver; approving an adjusting entry needs finance_approver, and never
//! the person who proposed it (four-eyes, also enforced by the database).
use std::io::Cursor;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;

use crate::http::{ApiJson, ApiPath, ApiQuery};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use ledger::Currency;
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{BookReaders, Policy, RequireRole, Role, Scope};
use crate::problem::Problem;
use crate::state::AppState;
use recon::breaks::{self, AdjustmentDraft, BreakFilter};
use recon::{self, ImportOptions, ReconError, report};

/// Finance staff who work breaks and import files (service-wide: one program, one trust account).
pub struct ReconClerks;
impl Policy for ReconClerks {
    const ROLES: &'static [Role] = &[Role::Finance, Role::FinanceApprover];
    const SCOPE: Scope = Scope::AnyPrison;
}

/// Who may approve (or reject) an adjusting entry someone else proposed.
pub struct ReconApprovers;
impl Policy for ReconApprovers {
    const ROLES: &'static [Role] = &[Role::FinanceApprover];
    const SCOPE: Scope = Scope::AnyPrison;
}

/// The staff page shows this many days when no range is given.
const DEFAULT_PAGE_DAYS: i64 = 14;

/// The reconciliation routes and their OpenAPI description, built together (each route through
/// its handler's `#[utoipa::path]`).
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(report_json))
        .routes(routes!(report_csv))
        .routes(routes!(list_breaks))
        .routes(routes!(get_break))
        .routes(routes!(assign))
        .routes(routes!(comment))
        .routes(routes!(accept))
        .routes(routes!(propose))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(upload_settlement))
        .routes(routes!(upload_bank_statement))
}

pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
}

impl From<ReconError> for Problem {
    fn from(error: ReconError) -> Problem {
        let code = error.code();
        match error {
            ReconError::InvalidFile { .. }
            | ReconError::TotalsMismatch(_)
            | ReconError::Invalid(_)
            | ReconError::WrongAccount(_)
            | ReconError::WrongCurrency(_)
            | ReconError::OutOfPeriod(_)
            | ReconError::Refused { .. }
            | ReconError::Overflow => Problem::unprocessable(code, error.to_string()),
            ReconError::SettlementDateTaken { .. }
            | ReconError::Conflict(_)
            | ReconError::TrustAccountNotConfigured => Problem::conflict(code, error.to_string()),
            ReconError::SamePerson => {
                Problem::new(StatusCode::FORBIDDEN, code, Some(error.to_string()))
            }
            ReconError::NotFound(what) => Problem::not_found(what),
            ReconError::Ledger(error) => Problem::from(error),
            ReconError::Database(error) => Problem::from(error),
            ReconError::Pool(error) => Problem::from(error),
            ReconError::Io(_) => Problem::internal(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    currency: Option<String>,
}

fn date_param(text: Option<&str>, default: Date) -> Result<Date, Problem> {
    match text {
        None | Some("") => Ok(default),
        Some(text) => Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
            .map_err(|_| Problem::bad_request("date_invalid", "dates are YYYY-MM-DD")),
    }
}

async fn load_report(state: &AppState, query: &RangeQuery) -> Result<report::Report, Problem> {
    let today = OffsetDateTime::now_utc().date();
    let to = date_param(query.to.as_deref(), today)?;
    let from = date_param(
        query.from.as_deref(),
        to.checked_sub(Duration::days(DEFAULT_PAGE_DAYS - 1))
            .unwrap_or(to),
    )?;
    let currency = match query.currency.as_deref() {
        None | Some("") => Currency::EUR,
        Some(code) => Currency::from_code(code)
            .map_err(|_| Problem::bad_request("currency_invalid", "unknown currency"))?,
    };
    Ok(report::report(&state.pool, from, to, currency).await?)
}

#[utoipa::path(operation_id = "recon_page", get, path = "/staff/recon", tag = "reconciliation",
    description = "Roles: finance, finance_approver, auditor.",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("currency" = Option<String>, Query)),
    responses((status = 200, description = "The reconciliation page", content_type = "text/html", body = String)))]
async fn page(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Response, Problem> {
    let report = load_report(&state, &query).await?;
    let open = breaks::list_breaks(
        &state.pool,
        &BreakFilter {
            state: None,
            limit: Some(200),
            ..BreakFilter::default()
        },
    )
    .await?
    .into_iter()
    .filter(|item| matches!(item.state.as_str(), "open" | "assigned"))
    .collect::<Vec<_>>();
    Ok(Html(report::html_page(&report, &open)).into_response())
}

#[utoipa::path(operation_id = "recon_report", get, path = "/api/staff/recon/report", tag = "reconciliation",
    description = "Roles: finance, finance_approver, auditor.",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("currency" = Option<String>, Query)),
    responses((status = 200, description = "The daily report", body = Object)))]
async fn report_json(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Response, Problem> {
    Ok(Json(load_report(&state, &query).await?).into_response())
}

#[utoipa::path(operation_id = "recon_report_csv", get, path = "/api/staff/recon/report.csv", tag = "reconciliation",
    description = "Roles: finance, finance_approver, auditor.",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("currency" = Option<String>, Query)),
    responses((status = 200, description = "The daily report as CSV", content_type = "text/csv", body = String)))]
async fn report_csv(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Response, Problem> {
    let report = load_report(&state, &query).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reconciliation.csv\"",
            ),
        ],
        report::to_csv(&report),
    )
        .into_response())
}

#[utoipa::path(operation_id = "recon_breaks", get, path = "/api/staff/recon/breaks", tag = "reconciliation",
    description = "Roles: finance, finance_approver, auditor.",
    responses((status = 200, description = "Breaks", body = [Object])))]
async fn list_breaks(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<BreakFilter>,
) -> Result<Response, Problem> {
    Ok(Json(breaks::list_breaks(&state.pool, &filter).await?).into_response())
}

#[utoipa::path(operation_id = "recon_break", get, path = "/api/staff/recon/breaks/{break_id}", tag = "reconciliation",
    description = "Roles: finance, finance_approver, auditor.",
    params(("break_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "A break with its events", body = Object)))]
async fn get_break(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    ApiPath(break_id): ApiPath<Uuid>,
) -> Result<Response, Problem> {
    Ok(Json(breaks::get_break(&state.pool, break_id).await?).into_response())
}

#[derive(Debug, Deserialize)]
struct AssignBody {
    assignee: String,
}

#[utoipa::path(operation_id = "recon_assign", post, path = "/api/staff/recon/breaks/{break_id}/assign", tag = "reconciliation",
    description = "Roles: finance, finance_approver.",
    params(("break_id" = uuid::Uuid, Path)),
    request_body(content = Object, description = "{\"assignee\": username}"),
    responses((status = 200, description = "The break", body = Object)))]
async fn assign(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    ApiPath(break_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Response, Problem> {
    let item = breaks::assign(&state.pool, break_id, &body.assignee, &clerk.staff.username).await?;
    Ok(Json(item).into_response())
}

#[derive(Debug, Deserialize)]
struct CommentBody {
    body: String,
}

#[utoipa::path(operation_id = "recon_comment", post, path = "/api/staff/recon/breaks/{break_id}/comments", tag = "reconciliation",
    description = "Roles: finance, finance_approver.",
    params(("break_id" = uuid::Uuid, Path)),
    request_body(content = Object, description = "{\"body\": text}"),
    responses((status = 201, description = "Commented")))]
async fn comment(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    ApiPath(break_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentBody>,
) -> Result<Response, Problem> {
    breaks::comment(&state.pool, break_id, &clerk.staff.username, &body.body).await?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Debug, Deserialize)]
struct ReasonBody {
    reason: String,
}

#[utoipa::path(operation_id = "recon_accept", post, path = "/api/staff/recon/breaks/{break_id}/accept", tag = "reconciliation",
    description = "Roles: finance, finance_approver.",
    params(("break_id" = uuid::Uuid, Path)),
    request_body(content = Object, description = "{\"reason\": text}"),
    responses((status = 200, description = "The break", body = Object)))]
async fn accept(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    ApiPath(break_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Response, Problem> {
    let item = breaks::accept(&state.pool, break_id, &clerk.staff.username, &body.reason).await?;
    Ok(Json(item).into_response())
}

#[utoipa::path(operation_id = "recon_propose", post, path = "/api/staff/recon/breaks/{break_id}/adjustments", tag = "reconciliation",
    description = "Roles: finance, finance_approver. An adjusting entry for a break (four-eyes).",
    params(("break_id" = uuid::Uuid, Path)),
    request_body(content = Object, description = "The adjusting entry's draft"),
    responses((status = 201, description = "Proposed", body = Object)))]
async fn propose(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    ApiPath(break_id): ApiPath<Uuid>,
    ApiJson(draft): ApiJson<AdjustmentDraft>,
) -> Result<Response, Problem> {
    let adjustment =
        breaks::propose_adjustment(&state.pool, break_id, &clerk.staff.username, &draft).await?;
    Ok((StatusCode::CREATED, Json(adjustment)).into_response())
}

#[utoipa::path(operation_id = "recon_approve", post, path = "/api/staff/recon/adjustments/{adjustment_id}/approve", tag = "reconciliation",
    description = "Role: finance_approver, not the proposer.",
    params(("adjustment_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Approved and posted", body = Object)))]
async fn approve(
    approver: RequireRole<ReconApprovers>,
    State(state): State<AppState>,
    ApiPath(adjustment_id): ApiPath<Uuid>,
) -> Result<Response, Problem> {
    let item =
        breaks::approve_adjustment(&state.pool, adjustment_id, &approver.staff.username).await?;
    Ok(Json(item).into_response())
}

#[utoipa::path(operation_id = "recon_reject", post, path = "/api/staff/recon/adjustments/{adjustment_id}/reject", tag = "reconciliation",
    description = "Role: finance_approver, not the proposer.",
    params(("adjustment_id" = uuid::Uuid, Path)),
    request_body(content = Object, description = "{\"reason\": text}"),
    responses((status = 204, description = "Rejected")))]
async fn reject(
    approver: RequireRole<ReconApprovers>,
    State(state): State<AppState>,
    ApiPath(adjustment_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Response, Problem> {
    breaks::reject_adjustment(
        &state.pool,
        adjustment_id,
        &approver.staff.username,
        &body.reason,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
struct SettlementQuery {
    date: String,
}

#[utoipa::path(operation_id = "recon_settlement", post, path = "/api/staff/recon/settlements", tag = "reconciliation",
    description = "Roles: finance, finance_approver. The processor's settlement CSV for a day.",
    params(("date" = String, Query)),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "Import outcome", body = Object)))]
async fn upload_settlement(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SettlementQuery>,
    body: Bytes,
) -> Result<Response, Problem> {
    let date = date_param(Some(&query.date), OffsetDateTime::now_utc().date())?;
    let mut options = ImportOptions::new(&clerk.staff.username);
    options.expected_date = Some(date);
    options.file_name = Some(format!("upload-{date}.csv"));
    let outcome = recon::import_settlement(&state.pool, Cursor::new(body), &options).await?;
    Ok(Json(outcome).into_response())
}

#[derive(Debug, Deserialize)]
struct BankStatementQuery {
    prison_id: Option<String>,
}

#[utoipa::path(operation_id = "recon_bank_statement", post, path = "/api/staff/recon/bank-statements", tag = "reconciliation",
    description = "Roles: finance, finance_approver in the prison named. A camt.053 statement \
        of that prison's trust account: a statement of another IBAN or currency, or closing \
        outside the reconciliation period, is refused whole (nothing written).",
    params(("prison_id" = uuid::Uuid, Query, description = "The prison whose trust account the statement is of")),
    request_body(content = String, content_type = "application/xml"),
    responses(
        (status = 200, description = "Import outcome", body = Object),
        (status = 400, description = "prison_required, prison_id_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "trust_account_not_configured", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "wrong_account, wrong_currency, statement_out_of_period, invalid_file, totals_mismatch", body = crate::problem::Problem, content_type = "application/problem+json")))]
async fn upload_bank_statement(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<BankStatementQuery>,
    body: Bytes,
) -> Result<Response, Problem> {
    // Whose trust account the statement must be of: a prison where the clerk works.
    let prison_id = match query.prison_id.as_deref() {
        None | Some("") => {
            return Err(Problem::bad_request(
                "prison_required",
                "name the prison whose trust account the statement is of: ?prison_id=",
            ));
        }
        Some(text) => Uuid::parse_str(text)
            .map_err(|_| Problem::bad_request("prison_id_invalid", "prison_id is a UUID"))?,
    };
    if !clerk.staff.may(ReconClerks::ROLES, prison_id) {
        return Err(Problem::forbidden());
    }
    let mut options = ImportOptions::new(&clerk.staff.username);
    options.file_name = Some("upload-camt053.xml".into());
    // The statement's own transfers (family deposits by reference, payouts) book as it imports.
    let rail = crate::services::bank_rail::StatementRail::of(&clerk.staff);
    let outcome = recon::import_bank_statement_with(
        &state.pool,
        Cursor::new(body),
        prison_id,
        &options,
        &rail,
    )
    .await?;
    Ok(Json(outcome).into_response())
}
