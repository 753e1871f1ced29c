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
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use ledger::Currency;
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{BookReaders, Policy, RequireRole, Role, Scope};
use crate::problem::Problem;
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

pub fn router() -> Router<AppState> {
    const BASE: &str = "/api/staff/recon";
    Router::new()
        .route("/staff/recon", get(page))
        .route(&format!("{BASE}/report"), get(report_json))
        .route(&format!("{BASE}/report.csv"), get(report_csv))
        .route(&format!("{BASE}/breaks"), get(list_breaks))
        .route(&format!("{BASE}/breaks/{{break_id}}"), get(get_break))
        .route(&format!("{BASE}/breaks/{{break_id}}/assign"), post(assign))
        .route(
            &format!("{BASE}/breaks/{{break_id}}/comments"),
            post(comment),
        )
        .route(&format!("{BASE}/breaks/{{break_id}}/accept"), post(accept))
        .route(
            &format!("{BASE}/breaks/{{break_id}}/adjustments"),
            post(propose),
        )
        .route(
            &format!("{BASE}/adjustments/{{adjustment_id}}/approve"),
            post(approve),
        )
        .route(
            &format!("{BASE}/adjustments/{{adjustment_id}}/reject"),
            post(reject),
        )
        .route(&format!("{BASE}/settlements"), post(upload_settlement))
        .route(
            &format!("{BASE}/bank-statements"),
            post(upload_bank_statement),
        )
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

async fn page(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    Query(query): Query<RangeQuery>,
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

async fn report_json(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    Query(query): Query<RangeQuery>,
) -> Result<Response, Problem> {
    Ok(Json(load_report(&state, &query).await?).into_response())
}

async fn report_csv(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    Query(query): Query<RangeQuery>,
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

async fn list_breaks(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    Query(filter): Query<BreakFilter>,
) -> Result<Response, Problem> {
    Ok(Json(breaks::list_breaks(&state.pool, &filter).await?).into_response())
}

async fn get_break(
    _staff: RequireRole<BookReaders>,
    State(state): State<AppState>,
    Path(break_id): Path<Uuid>,
) -> Result<Response, Problem> {
    Ok(Json(breaks::get_break(&state.pool, break_id).await?).into_response())
}

#[derive(Debug, Deserialize)]
struct AssignBody {
    assignee: String,
}

async fn assign(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    Path(break_id): Path<Uuid>,
    Json(body): Json<AssignBody>,
) -> Result<Response, Problem> {
    let item = breaks::assign(&state.pool, break_id, &body.assignee, &clerk.staff.username).await?;
    Ok(Json(item).into_response())
}

#[derive(Debug, Deserialize)]
struct CommentBody {
    body: String,
}

async fn comment(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    Path(break_id): Path<Uuid>,
    Json(body): Json<CommentBody>,
) -> Result<Response, Problem> {
    breaks::comment(&state.pool, break_id, &clerk.staff.username, &body.body).await?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Debug, Deserialize)]
struct ReasonBody {
    reason: String,
}

async fn accept(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    Path(break_id): Path<Uuid>,
    Json(body): Json<ReasonBody>,
) -> Result<Response, Problem> {
    let item = breaks::accept(&state.pool, break_id, &clerk.staff.username, &body.reason).await?;
    Ok(Json(item).into_response())
}

async fn propose(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    Path(break_id): Path<Uuid>,
    Json(draft): Json<AdjustmentDraft>,
) -> Result<Response, Problem> {
    let adjustment =
        breaks::propose_adjustment(&state.pool, break_id, &clerk.staff.username, &draft).await?;
    Ok((StatusCode::CREATED, Json(adjustment)).into_response())
}

async fn approve(
    approver: RequireRole<ReconApprovers>,
    State(state): State<AppState>,
    Path(adjustment_id): Path<Uuid>,
) -> Result<Response, Problem> {
    let item =
        breaks::approve_adjustment(&state.pool, adjustment_id, &approver.staff.username).await?;
    Ok(Json(item).into_response())
}

async fn reject(
    approver: RequireRole<ReconApprovers>,
    State(state): State<AppState>,
    Path(adjustment_id): Path<Uuid>,
    Json(body): Json<ReasonBody>,
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

async fn upload_settlement(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    Query(query): Query<SettlementQuery>,
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

async fn upload_bank_statement(
    clerk: RequireRole<ReconClerks>,
    State(state): State<AppState>,
    Query(query): Query<BankStatementQuery>,
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
    let outcome =
        recon::import_bank_statement(&state.pool, Cursor::new(body), prison_id, &options).await?;
    Ok(Json(outcome).into_response())
}
