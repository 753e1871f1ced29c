//! The ledger's one error type. Every variant has a stable code; none carries database text.

use uuid::Uuid;

use crate::money::MoneyError;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("account {0} does not exist")]
    UnknownAccount(Uuid),
    #[error("account {0} is closed")]
    AccountClosed(Uuid),
    #[error("account {account_id} holds {account_currency}; the amount is in {amount_currency}")]
    AccountCurrencyMismatch {
        account_id: Uuid,
        account_currency: String,
        amount_currency: String,
    },
    #[error("account {account_id} has {available_minor} available; {requested_minor} was asked")]
    InsufficientFunds {
        account_id: Uuid,
        available_minor: i64,
        requested_minor: i64,
    },
    #[error("account {0} still has a balance or holds; it cannot be closed")]
    AccountNotEmpty(Uuid),
    #[error("account {0} is a shared institutional account and cannot carry holds")]
    HoldOnHotAccount(Uuid),
    #[error("an account with code {0:?} already exists with other attributes")]
    AccountCodeTaken(String),
    #[error("journal entry {0} does not exist")]
    UnknownEntry(Uuid),
    #[error("journal entry {0} has already been reversed")]
    AlreadyReversed(Uuid),
    #[error("hold {0} does not exist")]
    UnknownHold(Uuid),
    #[error("hold {hold_id} has {remaining_minor} remaining; {requested_minor} was asked")]
    ExceedsHold {
        hold_id: Uuid,
        remaining_minor: i64,
        requested_minor: i64,
    },
    #[error("the external reference {kind}:{value} is already used by another entry")]
    DuplicateExternalRef { kind: String, value: String },
    #[error("the idempotency key was already used for a different request")]
    IdempotencyConflict,
    #[error("database error")]
    Database(tokio_postgres::Error),
    #[error("database pool error")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("stored result could not be read")]
    StoredResult(#[from] serde_json::Error),
}

crate::database_error_from!(LedgerError, Database);

impl LedgerError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> LedgerError {
        LedgerError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// Stable machine-readable code, used in problem+json answers and logs.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Money(error) => error.code(),
            LedgerError::Invalid { code, .. } => code,
            LedgerError::UnknownAccount(_) => "unknown_account",
            LedgerError::AccountClosed(_) => "account_closed",
            LedgerError::AccountCurrencyMismatch { .. } => "account_currency_mismatch",
            LedgerError::InsufficientFunds { .. } => "insufficient_funds",
            LedgerError::AccountNotEmpty(_) => "account_not_empty",
            LedgerError::HoldOnHotAccount(_) => "hold_on_hot_account",
            LedgerError::AccountCodeTaken(_) => "account_code_taken",
            LedgerError::UnknownEntry(_) => "unknown_entry",
            LedgerError::AlreadyReversed(_) => "already_reversed",
            LedgerError::UnknownHold(_) => "unknown_hold",
            LedgerError::ExceedsHold { .. } => "exceeds_hold",
            LedgerError::DuplicateExternalRef { .. } => "duplicate_external_ref",
            LedgerError::IdempotencyConflict => "idempotency_conflict",
            LedgerError::Database(_) | LedgerError::Pool(_) | LedgerError::StoredResult(_) => {
                "internal"
            }
        }
    }

    /// True for errors the caller caused (4xx), false for server-side failures (5xx).
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            LedgerError::Database(_) | LedgerError::Pool(_) | LedgerError::StoredResult(_)
        )
    }
}

pub type LedgerResult<T> = Result<T, LedgerError>;
