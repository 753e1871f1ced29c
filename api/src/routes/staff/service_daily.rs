//! `GET /api/staff/prisons/{prison_id}/services/{service_id}/daily/{date}` and `POST …/reconcile`:
//! a service's day from Saldo's records, and its daily report (CSV) compared with them line by
//! line (docs/services.md). Institutional figures and the services' own ids: no personal data.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::payroll_import::CsvBody;
use super::trust_account::TrustAccountReaders;
use crate::auth::RequireRole;
use crate::http::ApiPath;
use crate::problem::Problem;
use crate::services::prison_services::{self, DailyTotals, Reconciliation};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct DayPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    service_id: Uuid,
    date: String,
}

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/services/{service_id}/daily/{date}",
    tag = "prison services",
    description = "Roles: finance, finance_approver, auditor in the path's prison. The \
        service's day (the prison's local date, YYYY-MM-DD): requests approved and declined, \
        what was captured (with offline advices) and refunded. 422 date_invalid; 404 for a \
        service of another prison.",
    params(("prison_id" = Uuid, Path), ("service_id" = Uuid, Path), ("date" = String, Path)),
    responses(
        (status = 200, description = "The day's totals", body = DailyTotals),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "date_invalid", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn totals(
    State(state): State<AppState>,
    access: RequireRole<TrustAccountReaders>,
    ApiPath(path): ApiPath<DayPath>,
) -> Result<Json<DailyTotals>, Problem> {
    Ok(Json(
        prison_services::daily_totals(&state.pool, access.prison()?, path.service_id, &path.date)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/services/{service_id}/daily/{date}/reconcile",
    tag = "prison services",
    description = "Roles: finance, finance_approver, auditor in the path's prison. The \
        service's daily report as text/csv, header event_id,kind,amount_minor (kind: capture, \
        advice, refund), compared with Saldo's records of that day by event id: matched lines \
        and differences (missing_in_saldo, missing_in_report, amount_differs, kind_differs). \
        Reads only. 422 report_invalid (with the line), date_invalid; 415 without text/csv.",
    params(("prison_id" = Uuid, Path), ("service_id" = Uuid, Path), ("date" = String, Path)),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "The comparison", body = Reconciliation),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "report_invalid, date_invalid", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn reconcile(
    State(state): State<AppState>,
    access: RequireRole<TrustAccountReaders>,
    ApiPath(path): ApiPath<DayPath>,
    CsvBody(csv): CsvBody,
) -> Result<Json<Reconciliation>, Problem> {
    Ok(Json(
        prison_services::reconcile_day(
            &state.pool,
            access.prison()?,
            path.service_id,
            &path.date,
            &csv,
        )
        .await?,
    ))
}
