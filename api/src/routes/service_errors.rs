//! How the services' errors answer over HTTP: the one place a use case's refusal becomes
//! problem+json. The services below know nothing of HTTP; `crate::problem` knows nothing of them.
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::problem::Problem;

/// The services' refusals, with the statuses their kinds have always had.
impl From<crate::services::ServiceError> for Problem {
    fn from(error: crate::services::ServiceError) -> Problem {
        use crate::services::ServiceError as E;
        match error {
            E::NotFound(what) => Problem::not_found(what),
            E::Invalid(code, detail) => Problem::unprocessable(code, detail),
            E::Conflict(code, detail) => Problem::conflict(code, detail),
            E::NotAllowed(code, detail) => Problem::new(StatusCode::FORBIDDEN, code, Some(detail)),
            E::Internal => Problem::internal(),
            E::Ledger(error) => Problem::from(error),
            E::Database(error) => Problem::from(error),
            E::Pool(error) => Problem::from(error),
            E::Identity(error) => Problem::from(error),
            E::AccessLog(error) => Problem::from(error),
        }
    }
}

/// An adjustment's refusals.
impl From<crate::services::adjustments::AdjustmentError> for Problem {
    fn from(error: crate::services::adjustments::AdjustmentError) -> Problem {
        use crate::services::adjustments::AdjustmentError as E;
        match error {
            E::NotFound => Problem::not_found("adjustment"),
            E::AlreadyDecided => Problem::conflict("already_decided", error.to_string()),
            E::OwnProposal => {
                Problem::new(StatusCode::FORBIDDEN, "four_eyes", Some(error.to_string()))
            }
            E::Invalid(code, message) => Problem::unprocessable(code, message),
            E::Corrupt(column) => {
                tracing::error!(column, "adjustment row with an unknown value");
                Problem::internal()
            }
            E::Ledger(error) => Problem::from(error),
            E::Database(error) => Problem::from(error),
            E::Service(error) => Problem::from(error),
        }
    }
}

/// A payroll import's refusals: bad lines are `422 payroll_lines_invalid` with the lines.
impl IntoResponse for crate::services::payroll::ImportError {
    fn into_response(self) -> Response {
        use crate::services::payroll::ImportError as E;
        match self {
            E::Service(error) => Problem::from(error).into_response(),
            E::Lines(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                [(header::CONTENT_TYPE, "application/problem+json")],
                Json(PayrollLinesProblem::of(errors)),
            )
                .into_response(),
        }
    }
}

/// The batch was refused because of these lines (problem+json, 422 `payroll_lines_invalid`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayrollLinesProblem {
    #[serde(flatten)]
    pub problem: Problem,
    /// The first 100 bad lines (`payroll_lines_invalid` only: the request's own refusals, such
    /// as `description_invalid` or `payroll_empty`, are a plain problem).
    #[schema(required = false)]
    pub errors: Vec<crate::services::payroll::LineError>,
    /// How many lines were bad in all (`payroll_lines_invalid` only).
    #[schema(required = false)]
    pub error_count: usize,
}

impl PayrollLinesProblem {
    pub fn of(errors: Vec<crate::services::payroll::LineError>) -> PayrollLinesProblem {
        let count = errors.len();
        PayrollLinesProblem {
            problem: Problem::unprocessable(
                "payroll_lines_invalid",
                format!("{count} line(s) of the payroll file are invalid; nothing was posted"),
            ),
            error_count: count,
            errors: errors
                .into_iter()
                .take(crate::services::payroll::MAX_REPORTED_ERRORS)
                .collect(),
        }
    }
}
