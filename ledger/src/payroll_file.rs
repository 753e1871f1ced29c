//! The payroll file: a CSV of `person_id` or `prisoner_number`, `amount` (decimal euros) or
//! `amount_minor`, and `currency` (EUR), in any column order. Only reading: the import that
//! looks the payees up and posts the batch is `saldo`'s payroll service.

use uuid::Uuid;

use crate::money::{Currency, Money, MoneyError};

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

/// Who a line pays: by person id or by prisoner number (looked up by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payee {
    Person(Uuid),
    Number(String),
}

/// One accepted line: a payee and a positive amount in euros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    /// The line's number in the file; the header is line 1.
    pub line: usize,
    pub payee: Payee,
    pub amount: Money,
}

/// One refused line, by number and a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub code: &'static str,
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
pub fn parse(csv: &str) -> Result<Vec<ParsedLine>, Vec<LineError>> {
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
                MoneyError::TooPrecise { .. } => "amount_too_precise",
                _ => "amount_invalid",
            })?
        }
    };
    if !amount.is_positive() {
        return Err("amount_not_positive");
    }
    Ok((payee, amount))
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
