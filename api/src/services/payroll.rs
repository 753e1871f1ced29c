//! Payroll import: parsing the payroll CSV and booking its lines as one batch.
use crate::auth::Staff;
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::services::ServiceError;
use crate::state::AppState;
use ledger::income::IncomeKind;
use ledger::payroll::{PayrollBatch, PayrollLine};
use ledger::{Currency, Money};
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
            PayKind::Wages => "Wages",
            PayKind::Allowance => "Allowance",
        }
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
    #[param(example = "2026-11-27")]
    pub effective_date: String,
    /// The entries' description (1 to 200 characters); `Wages` or `Allowance` by default.
    #[serde(default)]
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    PersonId,
    PrisonerNumber,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HowMuch {
    Major,
    Minor,
}

enum Payee {
    Person(Uuid),
    Number(String),
}

struct ParsedLine {
    line: usize,
    payee: Payee,
    amount: Money,
}

/// A line's fields: split at commas, each trimmed, then a field wholly in quotes (with no quote
/// inside) is unquoted. Deliberately not the `csv` crate's RFC 4180 reader (which the trial
/// balance's writer uses): that reader would take `"a""b"` and `"a, b"` (refused today) and
/// would keep the quotes of ` "EUR"` after a space (accepted today), so files accepted and
/// refused would change.
fn split_fields(text: &str) -> Option<Vec<&str>> {
    text.split(',')
        .map(|field| {
            let field = field.trim();
            match field.strip_prefix('"') {
                Some(rest) => rest.strip_suffix('"').filter(|inner| !inner.contains('"')),
                None => (!field.contains('"')).then_some(field),
            }
        })
        .collect()
}

/// Reads the file; every bad line is reported, nothing is looked up yet.
fn parse(csv: &str) -> Result<Vec<ParsedLine>, Vec<LineError>> {
    let mut lines = csv
        .split('\n')
        .enumerate()
        .map(|(index, text)| (index + 1, text.trim_end_matches('\r')))
        .filter(|(_, text)| !text.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(vec![LineError {
            line: 1,
            code: "header_invalid",
        }]);
    };
    let header_error = || {
        vec![LineError {
            line: header_line,
            code: "header_invalid",
        }]
    };
    let names = split_fields(header.trim_start_matches('\u{feff}')).ok_or_else(header_error)?;
    if names.len() != 3 {
        return Err(header_error());
    }
    let mut who = None;
    let mut how_much = None;
    let mut columns = [0usize; 3];
    for (index, name) in names.iter().enumerate() {
        match name.to_ascii_lowercase().as_str() {
            "person_id" if who.is_none() => (who, columns[0]) = (Some(Who::PersonId), index),
            "prisoner_number" if who.is_none() => {
                (who, columns[0]) = (Some(Who::PrisonerNumber), index)
            }
            "amount" if how_much.is_none() => {
                (how_much, columns[1]) = (Some(HowMuch::Major), index)
            }
            "amount_minor" if how_much.is_none() => {
                (how_much, columns[1]) = (Some(HowMuch::Minor), index)
            }
            "currency" => columns[2] = index,
            _ => return Err(header_error()),
        }
    }
    let (Some(who), Some(how_much)) = (who, how_much) else {
        return Err(header_error());
    };
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for (line, text) in lines {
        match parse_line(text, who, how_much, columns) {
            Ok((payee, amount)) => parsed.push(ParsedLine {
                line,
                payee,
                amount,
            }),
            Err(code) => errors.push(LineError { line, code }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(parsed)
}

fn parse_line(
    text: &str,
    who: Who,
    how_much: HowMuch,
    columns: [usize; 3],
) -> Result<(Payee, Money), &'static str> {
    let fields = split_fields(text).ok_or("fields_invalid")?;
    if fields.len() != 3 {
        return Err("fields_invalid");
    }
    let payee = match who {
        Who::PersonId => Payee::Person(
            fields[columns[0]]
                .parse::<Uuid>()
                .map_err(|_| "person_id_invalid")?,
        ),
        Who::PrisonerNumber => {
            let number = fields[columns[0]];
            if number.is_empty() || number.chars().count() > 32 {
                return Err("prisoner_number_invalid");
            }
            Payee::Number(number.to_owned())
        }
    };
    if fields[columns[2]] != "EUR" {
        return Err("currency_not_supported");
    }
    let amount_text = fields[columns[1]];
    let amount = match how_much {
        HowMuch::Minor => {
            let digits = amount_text.strip_prefix('-').unwrap_or(amount_text);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err("amount_invalid");
            }
            Money::new(
                amount_text.parse::<i64>().map_err(|_| "amount_invalid")?,
                Currency::EUR,
            )
        }
        HowMuch::Major => {
            // Plain decimals only: no exponents, signs other than `-`, or separators.
            if amount_text.is_empty()
                || !amount_text
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
            {
                return Err("amount_invalid");
            }
            Money::parse_major(amount_text, Currency::EUR).map_err(|error| match error {
                ledger::MoneyError::TooPrecise { .. } => "amount_too_precise",
                _ => "amount_invalid",
            })?
        }
    };
    if !amount.is_positive() {
        return Err("amount_not_positive");
    }
    Ok((payee, amount))
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
    let lines = parse(&request.csv).map_err(ImportError::Lines)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_by_person_id_and_decimal_amounts_is_read_line_by_line() {
        let id = Uuid::now_v7();
        let lines = parse(&format!(
            "person_id,amount,currency\r\n{id},12.50,EUR\n\n\"{id}\",\"3\",\"EUR\"\n"
        ))
        .unwrap_or_else(|_| panic!("parses"));
        let amounts: Vec<i64> = lines.iter().map(|l| l.amount.amount_minor).collect();
        assert_eq!(amounts, [1250, 300]);
        assert_eq!(lines[1].line, 4, "the blank line still counts");
    }

    #[test]
    fn every_bad_line_is_named_by_its_number_and_a_code() {
        let id = Uuid::now_v7();
        let csv = format!(
            "currency,amount_minor,person_id\nEUR,100,{id}\nEUR,1.5,{id}\nEUR,0,{id}\nSEK,1,{id}\nEUR,1,nope\nEUR,1\n"
        );
        let Err(errors) = parse(&csv) else {
            panic!("refused")
        };
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.code)).collect();
        assert_eq!(
            found,
            [
                (3, "amount_invalid"),
                (4, "amount_not_positive"),
                (5, "currency_not_supported"),
                (6, "person_id_invalid"),
                (7, "fields_invalid"),
            ]
        );
    }

    #[test]
    fn a_header_without_a_payee_or_an_amount_column_is_refused() {
        for header in [
            "amount,currency",
            "person_id,currency,currency",
            "person_id,amount,currency,extra",
            "",
        ] {
            let Err(errors) = parse(&format!("{header}\n")) else {
                panic!("{header}: refused")
            };
            assert_eq!(errors[0].code, "header_invalid", "{header}");
        }
        let Err(errors) = parse("person_id,amount,currency\nx,1.005,EUR\n") else {
            panic!("refused")
        };
        assert_eq!(errors[0].code, "person_id_invalid");
        let id = Uuid::now_v7();
        let Err(errors) = parse(&format!("person_id,amount,currency\n{id},1.005,EUR\n")) else {
            panic!("refused")
        };
        assert_eq!(errors[0].code, "amount_too_precise");
    }
}
