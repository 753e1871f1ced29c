//! Errors as RFC 9457 problem+json with stable codes. Database text never reaches a client.
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        detail: impl Into<Option<String>>,
    ) -> Problem {
        Problem {
            type_uri: format!("https://saldo.invalid/problems/{code}"),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            code,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            Json(self),
        )
            .into_response()
    }
}

impl From<ledger::LedgerError> for Problem {
    fn from(error: ledger::LedgerError) -> Problem {
        use ledger::LedgerError as E;
        if !error.is_client_error() {
            tracing::error!(error.code = error.code(), error = ?error, "ledger failure");
            return Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", None);
        }
        let status = match &error {
            E::UnknownAccount(_) | E::UnknownEntry(_) | E::UnknownHold(_) => StatusCode::NOT_FOUND,
            E::IdempotencyConflict
            | E::AlreadyReversed(_)
            | E::AccountCodeTaken(_)
            | E::DuplicateExternalRef { .. } => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Problem::new(status, error.code(), Some(error.to_string()))
    }
}
