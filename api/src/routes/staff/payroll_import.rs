//! `POST /api/staff/prisons/{prison_id}/payroll?kind=wages&effective_date=YYYY-MM-DD`: a payroll
//! file (CSV) credits every listed prisoner of the prison, each line split over their
//! sub-accounts by the prison's allocation rules. All lines or none; the `Idempotency-Key`
//! header names the batch, so posting the same file again changes nothing.
//!
//! The file: a header line naming the columns, then one line per payment.
//! - who: `person_id` (the prisoner's pseudonymous id; preferred) or `prisoner_number` (looked up
//!   in the identity store, logged);
//! - how much: `amount` (major units, `12.50`) or `amount_minor` (integer minor units, `1250`);
//! - `currency` (`EUR`).
//!
//! Fields are separated by commas and may be wrapped in double quotes; blank lines are skipped.
//! A refusal names each bad line by its number in the file (the header is line 1) and a stable
//! code, never the line's content (prisoner numbers are personal data).

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::{FinanceStaff, RequireRole};
use crate::http::ApiQuery;
use crate::problem::Problem;
use crate::routes::service_errors::PayrollLinesProblem;
use crate::services::payroll::{
    IDEMPOTENCY_HEADER, MAX_PAYROLL_BYTES, PayKind, PayrollImport, PayrollImported, PayrollQuery,
    import,
};
use crate::state::AppState;

/// A `text/csv` body of at most [`MAX_PAYROLL_BYTES`], in UTF-8.
pub struct CsvBody(pub String);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_csv = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/csv"));
        if !is_csv {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("send text/csv".to_owned()),
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_PAYROLL_BYTES)
            .await
            .map_err(|_| {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    Some(format!(
                        "a payroll file may hold at most {MAX_PAYROLL_BYTES} bytes"
                    )),
                )
            })?;
        String::from_utf8(bytes.to_vec())
            .map(CsvBody)
            .map_err(|_| Problem::bad_request("csv_not_utf8", "the file is not UTF-8"))
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, Problem> {
    headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            Problem::bad_request(
                "idempotency_key_required",
                "name the batch in the Idempotency-Key header",
            )
        })
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/payroll",
    tag = "money",
    description = "Roles: finance, finance_approver in the path's prison. A payroll file (text/csv, \
        see docs/api.md) credits each listed prisoner of this prison, split by the prison's \
        allocation rules; all lines or none. The Idempotency-Key header names the batch: the same \
        file again changes nothing (same answer); other content under the key is 409 \
        idempotency_conflict. Bad lines: 422 payroll_lines_invalid with each line's number and code.",
    params(("prison_id" = uuid::Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "Names the batch: 1 to 100 printable ASCII characters", pattern = "^[!-~]{1,100}$"),
        PayrollQuery),
    request_body(content_type = "text/csv", content = String,
        description = "Header `person_id,amount,currency` (or `prisoner_number`, `amount_minor`), then one line per payment"),
    responses((status = 201, description = "Posted (or the replay of a posted batch)", body = PayrollImported),
              (status = 422, description = "Bad lines (payroll_lines_invalid, with each line); or description_invalid, idempotency_key_invalid, date_invalid, payroll_empty, batch_too_large; nothing posted", content_type = "application/problem+json", body = PayrollLinesProblem)),
)]
pub async fn post(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PayrollQuery>,
    CsvBody(csv): CsvBody,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    let idempotency_key = idempotency_key(&headers)?;
    let effective_date = super::admit::parse_date(&query.effective_date)?;
    let kind = query.kind.unwrap_or(PayKind::Wages);
    let request = PayrollImport {
        idempotency_key,
        kind,
        effective_date,
        description: query
            .description
            .unwrap_or_else(|| kind.description().to_owned()),
        csv,
    };
    match import(&state, &access.staff, prison_id, &request).await {
        Ok(imported) => Ok((StatusCode::CREATED, axum::Json(imported)).into_response()),
        Err(refused) => Ok(refused.into_response()),
    }
}
