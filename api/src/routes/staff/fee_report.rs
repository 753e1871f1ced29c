//! `GET /api/fees/report?prison_id=&month=YYYY-MM` (JSON) and `/api/fees/report.csv`: the
//! public fee report of a prison for a month (docs/fees.md): per fee kind and who bore it, the
//! count and the total, summed from the fee entries' postings, and the program-wide processor
//! fees on a line of their own. Aggregates only, no person: any member of staff may read it,
//! and the CSV is the file to publish.
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Policy, RequireRole, Role, Scope};
use crate::http::ApiQuery;
use crate::problem::Problem;
use crate::services::fees::{FeeReport, ReportMonth, report};
use crate::state::AppState;

/// Who may read the fee report: any member of staff, any prison (it is published anyway).
pub struct FeeReportReaders;
impl Policy for FeeReportReaders {
    const ROLES: &'static [Role] = &Role::ALL;
    const SCOPE: Scope = Scope::AnyPrison;
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeeReportQuery {
    /// The prison.
    pub prison_id: Uuid,
    /// `YYYY-MM`.
    #[param(example = "2026-11")]
    pub month: String,
}

pub async fn load(state: &AppState, query: &FeeReportQuery) -> Result<FeeReport, Problem> {
    let month = ReportMonth::parse(&query.month)?;
    Ok(report(state, query.prison_id, month).await?)
}

#[utoipa::path(
    get, path = "/api/fees/report", tag = "fees",
    description = "Roles: any staff role (any prison). The prison's fees in the month per fee kind \
        and who bore them (count, total from the postings), and the program-wide processor fees; \
        422 month_invalid, 404 prison.",
    params(FeeReportQuery),
    responses((status = 200, description = "The fee report", body = FeeReport)),
)]
pub async fn json(
    State(state): State<AppState>,
    _access: RequireRole<FeeReportReaders>,
    ApiQuery(query): ApiQuery<FeeReportQuery>,
) -> Result<Json<FeeReport>, Problem> {
    Ok(Json(load(&state, &query).await?))
}

/// The report as RFC 4180 CSV (CRLF line ends), one line per fee kind, bearer and currency.
fn to_csv(report: &FeeReport) -> Result<String, Box<dyn std::error::Error>> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record([
        "prison",
        "month",
        "fee_kind",
        "scope",
        "borne_by",
        "currency",
        "count",
        "total_minor",
    ])?;
    for line in &report.lines {
        writer.write_record([
            report.prison_code.as_str(),
            report.month.as_str(),
            line.fee_kind.as_str(),
            if line.program_wide {
                "program_wide"
            } else {
                "prison"
            },
            line.borne_by.as_str(),
            line.currency.as_str(),
            &line.count.to_string(),
            &line.total_minor.to_string(),
        ])?;
    }
    let bytes = writer.into_inner().map_err(|error| error.into_error())?;
    Ok(String::from_utf8(bytes)?)
}

#[utoipa::path(
    get, path = "/api/fees/report.csv", tag = "fees",
    description = "Roles: any staff role (any prison). The same as CSV, to publish.",
    params(FeeReportQuery),
    responses((status = 200, description = "CSV", body = String, content_type = "text/csv")),
)]
pub async fn csv(
    State(state): State<AppState>,
    _access: RequireRole<FeeReportReaders>,
    ApiQuery(query): ApiQuery<FeeReportQuery>,
) -> Result<Response, Problem> {
    let report = load(&state, &query).await?;
    let out = to_csv(&report).map_err(|error| {
        tracing::error!(%error, "fee report not written as CSV");
        Problem::internal()
    })?;
    let disposition = format!(
        "attachment; filename=\"fees-{}-{}.csv\"",
        report.prison_code, report.month
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::to_csv;
    use crate::services::fees::{FeeReport, FeeReportLine};

    #[test]
    fn the_csv_has_one_line_per_fee_kind_scope_and_bearer_and_no_person() {
        let report = FeeReport {
            prison_id: uuid::Uuid::nil(),
            prison_code: "HEL".into(),
            month: "2026-11".into(),
            lines: vec![
                FeeReportLine {
                    fee_kind: "processor_program".into(),
                    program_wide: true,
                    borne_by: "service".into(),
                    currency: "EUR".into(),
                    count: 2,
                    total_minor: 225,
                },
                FeeReportLine {
                    fee_kind: "atm_withdrawal".into(),
                    program_wide: false,
                    borne_by: "prisoner".into(),
                    currency: "EUR".into(),
                    count: 1,
                    total_minor: 150,
                },
            ],
            totals: Vec::new(),
        };
        assert_eq!(
            to_csv(&report).unwrap(),
            "prison,month,fee_kind,scope,borne_by,currency,count,total_minor\r\n\
             HEL,2026-11,processor_program,program_wide,service,EUR,2,225\r\n\
             HEL,2026-11,atm_withdrawal,prison,prisoner,EUR,1,150\r\n"
        );
    }
}
