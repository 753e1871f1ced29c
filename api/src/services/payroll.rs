//! Payroll import: parsing the payroll CSV and booking its lines as one batch.
use crate::auth::Staff;
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::services::ServiceError;
use crate::state::AppState;
use ledger::entry_text::EntryText;
use ledger::income::IncomeKind;
use ledger::payroll::{PayrollBatch, PayrollLine};
use ledger::payroll_file::{self, Payee};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// A payroll file may be this big (about 4 000 lines by person id): under the server's limit on
/// every body (`crate::http::MAX_BODY_BYTES`), so the refusal is this route's problem+json.
pub const MAX_PAYROLL_BYTES: usize = 200 * 1024;
/// Lines per file; each is one journal entry and one access-log row, all within the server's
/// request timeout.
pub const MAX_PAYROLL_LINES: usize = 5_000;
/// At most this many line errors are reported (the rest are counted).
pub const MAX_REPORTED_ERRORS: usize = 100;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayKind {
    Wages,
    Allowance,
}

impl PayKind {
    fn income_kind(self) -> IncomeKind {
        match self {
            PayKind::Wages => IncomeKind::Wages,
            PayKind::Allowance => IncomeKind::Allowance,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            PayKind::Wages => EntryText::Wages,
            PayKind::Allowance => EntryText::Allowance,
        }
        .english()
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PayrollQuery {
    /// `wages` (default) or `allowance`.
    #[serde(default)]
    #[param(value_type = Option<PayKind>)]
    pub kind: Option<PayKind>,
    /// The pay date, `YYYY-MM-DD` (required: a replay must not depend on the day it is sent).
    #[param(example = "2026-11-27", format = Date)]
    pub effective_date: String,
    /// The entries' description (1 to 200 characters); `Wages` or `Allowance` by default.
    #[serde(default)]
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub description: Option<String>,
}

/// One refused line of a payroll file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineError {
    /// The line's number in the file; the header is line 1.
    pub line: usize,
    /// `header_invalid`, `fields_invalid`, `person_id_invalid`, `prisoner_number_invalid`,
    /// `amount_invalid`, `amount_too_precise`, `amount_not_positive`, `currency_not_supported`,
    /// `prisoner_not_found`.
    #[schema(example = "amount_invalid")]
    pub code: &'static str,
}

/// Why an import was refused: the request, or bad lines.
#[derive(Debug)]
pub enum ImportError {
    Service(ServiceError),
    Lines(Vec<LineError>),
}

macro_rules! import_error_from {
    ($($error:ty),*) => {$(
        impl From<$error> for ImportError {
            fn from(error: $error) -> ImportError {
                ImportError::Service(ServiceError::from(error))
            }
        }
    )*};
}
import_error_from!(
    ServiceError,
    tokio_postgres::Error,
    deadpool_postgres::PoolError,
    ledger::LedgerError,
    crate::identity::IdentityError,
    crate::identity::access_log::RecordError
);

/// What the import posted (the same answer for a replay).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayrollImported {
    /// The client's idempotency key.
    pub batch_key: String,
    pub kind: PayKind,
    #[schema(format = Date, example = "2026-11-27")]
    pub effective_date: String,
    /// One journal entry per line.
    pub entries_posted: usize,
    pub total_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    /// The entries' sequence numbers, `first_entry_seq..=last_entry_seq` among this batch's.
    pub first_entry_seq: i64,
    pub last_entry_seq: i64,
    /// The version of the prison's allocation rules used (0: everything to spendable).
    pub rule_set_version: u32,
}

/// A parsed payroll request, shared by the JSON route and the payroll page.
pub struct PayrollImport {
    pub idempotency_key: String,
    pub kind: PayKind,
    pub effective_date: time::Date,
    pub description: String,
    pub csv: String,
}

/// Checks the request, reads the file, finds every payee in this prison (each logged) and posts
/// the batch, in one transaction. Shared with the payroll page.
pub async fn import(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    request: &PayrollImport,
) -> Result<PayrollImported, ImportError> {
    let key = &request.idempotency_key;
    if key.is_empty() || key.len() > 100 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ServiceError::invalid(
            "idempotency_key_invalid",
            "an idempotency key is 1 to 100 printable ASCII characters",
        )
        .into());
    }
    let description = request.description.trim();
    if description.is_empty() || description.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "description_invalid",
            "a description is 1 to 200 characters",
        )
        .into());
    }
    let lines = payroll_file::parse(&request.csv).map_err(|errors| {
        ImportError::Lines(
            errors
                .into_iter()
                .map(|error| LineError {
                    line: error.line,
                    code: error.code,
                })
                .collect(),
        )
    })?;
    if lines.is_empty() {
        return Err(ServiceError::invalid(
            "payroll_empty",
            "a payroll file has at least one line after its header",
        )
        .into());
    }
    if lines.len() > MAX_PAYROLL_LINES {
        return Err(ServiceError::invalid(
            "batch_too_large",
            format!("at most {MAX_PAYROLL_LINES} lines per file"),
        )
        .into());
    }

    let who = staff.accessor(Purpose::Payroll, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let mut numbers: HashMap<&str, Option<Uuid>> = HashMap::new();
    let mut checked: HashMap<Uuid, bool> = HashMap::new();
    let mut errors = Vec::new();
    let mut payroll = Vec::with_capacity(lines.len());
    for parsed in &lines {
        let person_id = match &parsed.payee {
            Payee::Person(person_id) => Some(*person_id),
            Payee::Number(number) => match numbers.get(number.as_str()) {
                Some(found) => *found,
                None => {
                    let found =
                        identity::store::find_by_prisoner_number(&tx, &who, prison_id, number, &[])
                            .await?
                            .map(|view| view.person_id);
                    numbers.insert(number, found);
                    found
                }
            },
        };
        // Each payee once: the change to their accounts is logged, and a person of another
        // prison is "not found" like an unknown one.
        let in_prison = match person_id {
            None => false,
            Some(person_id) => match checked.get(&person_id) {
                Some(found) => *found,
                None => {
                    let found = identity::store::access_prisoner(
                        &tx,
                        &who,
                        Some(prison_id),
                        person_id,
                        Action::Change,
                        &[PrisonerField::Payroll],
                    )
                    .await?
                    .is_some();
                    checked.insert(person_id, found);
                    found
                }
            },
        };
        match person_id {
            Some(person_id) if in_prison => payroll.push(PayrollLine {
                person_id,
                amount: parsed.amount,
            }),
            _ => errors.push(LineError {
                line: parsed.line,
                code: "prisoner_not_found",
            }),
        }
    }
    if !errors.is_empty() {
        // The look-ups stay logged; nothing is posted.
        tx.commit().await?;
        return Err(ImportError::Lines(errors));
    }
    let batch = PayrollBatch {
        batch_key: format!("api:{prison_id}:{key}"),
        prison_id,
        kind: request.kind.income_kind(),
        effective_date: request.effective_date,
        description: description.to_owned(),
        lines: payroll,
        posted_by: staff.id.to_string(),
    };
    let posted = ledger::payroll::post_payroll(&tx, &batch).await?;
    tx.commit().await?;
    tracing::info!(%prison_id, staff.id = %staff.id, lines = posted.line_count, "payroll posted");
    Ok(PayrollImported {
        batch_key: key.clone(),
        kind: request.kind,
        effective_date: request.effective_date.to_string(),
        entries_posted: posted.line_count,
        total_minor: posted.total.amount_minor,
        currency: posted.total.currency.code().to_owned(),
        first_entry_seq: posted.first_entry_seq,
        last_entry_seq: posted.last_entry_seq,
        rule_set_version: posted.rule_set_version,
    })
}
