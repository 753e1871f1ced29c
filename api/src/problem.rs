//! Errors as RFC 9457 problem+json with stable codes. Database text never reaches a client.
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An RFC 9457 problem: `application/problem+json`. `code` is stable and machine-readable.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "https://saldo.invalid/problems/forbidden", "title": "Forbidden",
    "status": 403, "code": "forbidden", "detail": "your roles do not allow this here"}))]
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

impl Problem {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, code, Some(detail.into()))
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, Some(detail.into()))
    }

    pub fn unauthenticated() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            Some("a valid session is required".to_owned()),
        )
    }

    pub fn forbidden() -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            Some("your roles do not allow this here".to_owned()),
        )
    }

    /// Also answers "exists, but in another prison": staff must not learn it exists at all.
    pub fn not_found(what: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            Some(format!("no such {what}")),
        )
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, code, Some(detail.into()))
    }

    /// No primary answers (a failover, an outage): worth retrying, nothing was changed.
    pub fn database_unavailable() -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            Some("the database does not answer".to_owned()),
        )
    }

    pub fn internal() -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
    }
}

/// Database failures become a bare 500: their text may quote values, so it stays out of answers
/// and logs (only the SQLSTATE is logged).
impl From<tokio_postgres::Error> for Problem {
    fn from(error: tokio_postgres::Error) -> Problem {
        ledger::db::note_error(&error);
        let state = error.code().map(|code| code.code().to_owned());
        tracing::error!(error.sqlstate = ?state, "database failure");
        if ledger::db::is_unavailable(&error) {
            return Problem::database_unavailable();
        }
        Problem::internal()
    }
}

impl From<deadpool_postgres::PoolError> for Problem {
    fn from(_: deadpool_postgres::PoolError) -> Problem {
        tracing::error!("database pool failure");
        Problem::database_unavailable()
    }
}

impl From<crate::identity::IdentityError> for Problem {
    fn from(error: crate::identity::IdentityError) -> Problem {
        use crate::identity::IdentityError as E;
        match error {
            E::Database(error) => Problem::from(error),
            E::PrisonerNumberTaken => {
                Problem::conflict("prisoner_number_taken", E::PrisonerNumberTaken.to_string())
            }
            E::PrisonCodeTaken => {
                Problem::conflict("prison_code_taken", E::PrisonCodeTaken.to_string())
            }
            E::Invalid(code, message) => Problem::unprocessable(code, message),
            E::Keys(error) => {
                tracing::error!(error = %error, "identity record could not be sealed or opened");
                Problem::internal()
            }
        }
    }
}

impl From<crate::identity::access_log::RecordError> for Problem {
    fn from(error: crate::identity::access_log::RecordError) -> Problem {
        use crate::identity::access_log::RecordError as E;
        match error {
            E::Pool(error) => Problem::from(error),
            E::Database(error) => Problem::from(error),
        }
    }
}
