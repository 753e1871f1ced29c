//! `GET /api/staff/trial-balance` (JSON) and `/api/staff/trial-balance.csv`: every institutional
//! account, and prisoners' accounts summed per purpose and currency (no line per person), with
//! debit and credit totals per currency that must agree.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::{BookReaders, RequireRole};
use crate::problem::Problem;
use crate::services::books::{TrialBalance, compute};
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/staff/trial-balance", tag = "books", description = "Roles: finance, finance_approver, auditor (any prison).", responses((status = 200, description = "The trial balance", body = TrialBalance)),
)]
pub async fn json(
    State(state): State<AppState>,
    _access: RequireRole<BookReaders>,
) -> Result<Json<TrialBalance>, Problem> {
    Ok(Json(compute(&state).await?))
}

/// The trial balance as RFC 4180 CSV (CRLF line ends; a field is quoted only when it holds a
/// comma, a quote or a line break), with one `total` line per currency.
fn to_csv(balance: &TrialBalance) -> Result<String, Box<dyn std::error::Error>> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record([
        "account",
        "account_type",
        "currency",
        "accounts",
        "debit_minor",
        "credit_minor",
    ])?;
    for line in &balance.lines {
        writer.write_record([
            line.account.as_str(),
            line.account_type.as_str(),
            line.currency.as_str(),
            &line.accounts.to_string(),
            &line.debit_minor.to_string(),
            &line.credit_minor.to_string(),
        ])?;
    }
    for total in &balance.totals {
        writer.write_record([
            "total",
            "",
            total.currency.as_str(),
            "",
            &total.debit_minor.to_string(),
            &total.credit_minor.to_string(),
        ])?;
    }
    let bytes = writer.into_inner().map_err(|error| error.into_error())?;
    Ok(String::from_utf8(bytes)?)
}

#[utoipa::path(
    get, path = "/api/staff/trial-balance.csv", tag = "books", description = "Roles: finance, finance_approver, auditor (any prison). The same as CSV, with total lines.", responses((status = 200, description = "CSV", body = String, content_type = "text/csv")),
)]
pub async fn csv(
    State(state): State<AppState>,
    _access: RequireRole<BookReaders>,
) -> Result<Response, Problem> {
    let balance = compute(&state).await?;
    let out = to_csv(&balance).map_err(|error| {
        tracing::error!(%error, "trial balance not written as CSV");
        Problem::internal()
    })?;
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

#[cfg(test)]
mod tests {
    use super::to_csv;
    use crate::services::books::{Line, Total, TrialBalance};

    #[test]
    fn the_csv_quotes_only_what_needs_it_and_ends_lines_with_crlf() {
        let balance = TrialBalance {
            lines: vec![
                Line {
                    account: "institution:suspense:EUR".into(),
                    account_type: "liability".into(),
                    currency: "EUR".into(),
                    accounts: 1,
                    debit_minor: 0,
                    credit_minor: 250,
                },
                Line {
                    account: "odd, \"quoted\"\nname".into(),
                    account_type: "asset".into(),
                    currency: "EUR".into(),
                    accounts: 2,
                    debit_minor: 250,
                    credit_minor: 0,
                },
            ],
            totals: vec![Total {
                currency: "EUR".into(),
                debit_minor: 250,
                credit_minor: 250,
                balanced: true,
            }],
        };
        assert_eq!(
            to_csv(&balance).unwrap(),
            "account,account_type,currency,accounts,debit_minor,credit_minor\r\n\
             institution:suspense:EUR,liability,EUR,1,0,250\r\n\
             \"odd, \"\"quoted\"\"\nname\",asset,EUR,2,250,0\r\n\
             total,,EUR,,250,250\r\n"
        );
    }
}
