//! `GET /api/staff/trial-balance` (JSON) and `/api/staff/trial-balance.csv`: every institutional
//! account, and prisoners' accounts summed per purpose and currency (no line per person), with
//! debit and credit totals per currency that must agree.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::{BookReaders, RequireRole};
use crate::problem::Problem;
use crate::services::books::{TrialBalance, compute};

#[utoipa::path(
    get, path = "/api/staff/trial-balance", tag = "books", description = "Roles: finance, finance_approver, auditor (any prison).", responses((status = 200, description = "The trial balance", body = TrialBalance)),
)]
pub async fn json(
    State(state): State<AppState>,
    _access: RequireRole<BookReaders>,
) -> Result<Json<TrialBalance>, Problem> {
    Ok(Json(compute(&state).await?))
}

/// RFC 4180 field: quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[utoipa::path(
    get, path = "/api/staff/trial-balance.csv", tag = "books", description = "Roles: finance, finance_approver, auditor (any prison). The same as CSV, with total lines.", responses((status = 200, description = "CSV", body = String, content_type = "text/csv")),
)]
pub async fn csv(
    State(state): State<AppState>,
    _access: RequireRole<BookReaders>,
) -> Result<Response, Problem> {
    let balance = compute(&state).await?;
    let mut out =
        String::from("account,account_type,currency,accounts,debit_minor,credit_minor\r\n");
    for line in &balance.lines {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            csv_field(&line.account),
            csv_field(&line.account_type),
            csv_field(&line.currency),
            line.accounts,
            line.debit_minor,
            line.credit_minor
        ));
    }
    for total in &balance.totals {
        out.push_str(&format!(
            "total,,{},,{},{}\r\n",
            csv_field(&total.currency),
            total.debit_minor,
            total.credit_minor
        ));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"trial-balance.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
