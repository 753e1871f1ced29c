//! The settlement file (protocol section 4): its reader and its writer.

use std::io::{BufRead, Read, Write};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::{CurrencyCode, Mcc, format_date, parse_date};

pub const SETTLEMENT_HEADER: &str = "record_id,settlement_date,type,transaction_id,authorization_id,card_id,amount,currency,mcc,cleared_at";
const SETTLEMENT_COLUMNS: usize = 10;
/// No settlement line is anywhere near this long; the bound keeps memory flat on bad input.
pub const MAX_SETTLEMENT_LINE_BYTES: u64 = 16 * 1024;
pub const TRAILER_RECORD_ID: &str = "TRAILER";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SettlementType {
    Clearing,
    Refund,
    Fee,
    Adjustment,
}

impl SettlementType {
    pub fn as_str(self) -> &'static str {
        match self {
            SettlementType::Clearing => "CLEARING",
            SettlementType::Refund => "REFUND",
            SettlementType::Fee => "FEE",
            SettlementType::Adjustment => "ADJUSTMENT",
        }
    }
    fn parse(value: &str) -> Option<SettlementType> {
        match value {
            "CLEARING" => Some(SettlementType::Clearing),
            "REFUND" => Some(SettlementType::Refund),
            "FEE" => Some(SettlementType::Fee),
            "ADJUSTMENT" => Some(SettlementType::Adjustment),
            _ => None,
        }
    }
}

/// One settlement row other than the trailer. `amount_minor > 0` is debited from the funding
/// account. For `ADJUSTMENT` rows `transaction_id` holds the processor's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    pub record_id: String,
    pub settlement_date: Date,
    pub kind: SettlementType,
    pub transaction_id: Option<String>,
    pub authorization_id: Option<String>,
    pub card_id: Option<String>,
    pub amount_minor: i64,
    pub currency: CurrencyCode,
    pub mcc: Option<Mcc>,
    pub cleared_at: Option<OffsetDateTime>,
}

/// What the trailer declared (and the parser checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementTrailer {
    pub settlement_date: Date,
    pub record_count: u64,
    pub net_minor: i64,
    /// The trailer's `currency` column, when the processor fills it (section 4 leaves it empty).
    pub currency: Option<CurrencyCode>,
}

#[derive(Debug, thiserror::Error)]
#[error("settlement file line {line}: {message}")]
pub struct SettlementError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub message: String,
    pub kind: SettlementErrorKind,
}

/// What went wrong, for callers that answer differently (reconciliation tells a file whose
/// trailer disagrees with its rows from a malformed one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementErrorKind {
    /// Not a settlement file, or a line of it breaks section 4.
    Malformed,
    /// The trailer's record count or net disagrees with the rows.
    TotalsMismatch,
    /// The input could not be read (other than bytes that are not UTF-8).
    Io,
}

fn settlement_error(line: u64, message: impl Into<String>) -> SettlementError {
    SettlementError {
        line,
        message: message.into(),
        kind: SettlementErrorKind::Malformed,
    }
}

fn totals_error(line: u64, message: impl Into<String>) -> SettlementError {
    SettlementError {
        kind: SettlementErrorKind::TotalsMismatch,
        ..settlement_error(line, message)
    }
}

/// Splits one CSV line (RFC 4180 quoting, no embedded line breaks).
///
/// By hand rather than with the `csv` crate, on purpose. Section 4 fixes one row per `\n` line,
/// and the reader relies on it: a line is bounded ([`MAX_SETTLEMENT_LINE_BYTES`]) and every
/// error names its line. The `csv` crate reads records, not lines: a quoted field may span line
/// breaks (shifting the line numbers and the bound), a lone `\r` ends a record, and its parser
/// is lenient by design (csv-core: "not technically compliant with RFC 4180"): a quote inside an
/// unquoted field or text after a closing quote is kept as text and an unterminated quote at the
/// end of the input ends the field, where a processor file with any of these is malformed and
/// refused here with the reason and the line.
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    // Almost every line has no quotes at all.
    if !line.contains('"') {
        return Ok(line.split(',').map(str::to_owned).collect());
    }
    let mut fields = Vec::with_capacity(SETTLEMENT_COLUMNS);
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("characters after a closing quote".to_owned());
                    }
                }
            } else {
                field.push(c);
            }
        } else if c == ',' {
            fields.push(std::mem::take(&mut field));
            at_field_start = true;
            continue;
        } else if c == '"' && at_field_start {
            quoted = true;
        } else if c == '"' {
            return Err("a quote inside an unquoted field".to_owned());
        } else {
            field.push(c);
        }
        at_field_start = false;
    }
    if quoted {
        return Err("unterminated quoted field".to_owned());
    }
    fields.push(field);
    Ok(fields)
}

fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn opt(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// Streaming reader of a settlement file: an iterator of rows over any `BufRead`, holding one
/// line at a time. The trailer is checked when reached (count and net); after it only blank
/// lines may follow. The iterator stops after the first error. It is the one parser of the
/// format: the simulator's tests and reconciliation's imports (`recon`) both read with it.
pub struct SettlementReader<R> {
    input: R,
    line_buf: String,
    line_no: u64,
    settlement_date: Option<Date>,
    /// The text of the first row's date, to recognise it cheaply on later rows.
    date_text: Option<String>,
    count: u64,
    net_minor: i64,
    trailer: Option<SettlementTrailer>,
    done: bool,
}

impl<R: BufRead> SettlementReader<R> {
    /// Reads and checks the header line (a leading UTF-8 byte order mark is allowed).
    pub fn new(input: R) -> Result<SettlementReader<R>, SettlementError> {
        let mut reader = SettlementReader {
            input,
            line_buf: String::new(),
            line_no: 0,
            settlement_date: None,
            date_text: None,
            count: 0,
            net_minor: 0,
            trailer: None,
            done: false,
        };
        match reader.read_line()? {
            Some(()) if reader.line_buf.trim_start_matches('\u{feff}') == SETTLEMENT_HEADER => {
                Ok(reader)
            }
            Some(()) => Err(settlement_error(
                1,
                format!("header must be exactly {SETTLEMENT_HEADER:?}"),
            )),
            None => Err(settlement_error(1, "empty file: no header")),
        }
    }

    /// The trailer, once the whole file has been read successfully.
    pub fn trailer(&self) -> Option<SettlementTrailer> {
        self.trailer.clone()
    }

    /// The 1-based number of the line read last: after a row, that row's line.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The input, e.g. to finish a digest of the bytes read.
    pub fn into_inner(self) -> R {
        self.input
    }

    /// Reads the next line into `line_buf` without its line end; `None` at end of input.
    fn read_line(&mut self) -> Result<Option<()>, SettlementError> {
        self.line_buf.clear();
        self.line_no = self.line_no.saturating_add(1);
        let line_no = self.line_no;
        let mut limited = (&mut self.input).take(MAX_SETTLEMENT_LINE_BYTES.saturating_add(1));
        let read = limited
            .read_line(&mut self.line_buf)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => settlement_error(line_no, "not UTF-8"),
                _ => SettlementError {
                    kind: SettlementErrorKind::Io,
                    ..settlement_error(line_no, format!("cannot read: {e}"))
                },
            })?;
        if read == 0 {
            return Ok(None);
        }
        if !self.line_buf.ends_with('\n') && read as u64 > MAX_SETTLEMENT_LINE_BYTES {
            return Err(settlement_error(
                line_no,
                format!("line longer than {MAX_SETTLEMENT_LINE_BYTES} bytes"),
            ));
        }
        if self.line_buf.ends_with('\n') {
            self.line_buf.pop();
            if self.line_buf.ends_with('\r') {
                self.line_buf.pop();
            }
        }
        Ok(Some(()))
    }

    fn check_date(&mut self, date: Date) -> Result<(), SettlementError> {
        match self.settlement_date {
            None => {
                self.settlement_date = Some(date);
                Ok(())
            }
            Some(first) if first == date => Ok(()),
            Some(first) => Err(settlement_error(
                self.line_no,
                format!(
                    "settlement_date {} differs from the file's {}",
                    format_date(date),
                    format_date(first)
                ),
            )),
        }
    }

    fn parse_trailer(&mut self, fields: &[String]) -> Result<SettlementTrailer, SettlementError> {
        let line = self.line_no;
        let date = parse_date(&fields[1])
            .map_err(|e| settlement_error(line, format!("settlement_date: {e}")))?;
        self.check_date(date)?;
        if !fields[2].is_empty() {
            return Err(settlement_error(line, "trailer type must be empty"));
        }
        let declared_count: u64 = fields[3].parse().map_err(|_| {
            settlement_error(
                line,
                format!(
                    "trailer record count (transaction_id column) must be an integer, got {:?}",
                    fields[3]
                ),
            )
        })?;
        let declared_net: i64 = parse_amount(&fields[6])
            .map_err(|e| settlement_error(line, format!("trailer amount: {e}")))?;
        if declared_count != self.count {
            return Err(totals_error(
                line,
                format!(
                    "trailer declares {declared_count} records, the file has {}",
                    self.count
                ),
            ));
        }
        if declared_net != self.net_minor {
            return Err(totals_error(
                line,
                format!(
                    "trailer declares net {declared_net}, the rows sum to {}",
                    self.net_minor
                ),
            ));
        }
        let currency = match fields[7].as_str() {
            "" => None,
            text => Some(
                CurrencyCode::new(text)
                    .map_err(|e| settlement_error(line, format!("trailer currency: {e}")))?,
            ),
        };
        Ok(SettlementTrailer {
            settlement_date: date,
            record_count: declared_count,
            net_minor: declared_net,
            currency,
        })
    }

    fn parse_row(&mut self, fields: Vec<String>) -> Result<SettlementRow, SettlementError> {
        let line = self.line_no;
        let err =
            |column: &str, message: String| settlement_error(line, format!("{column}: {message}"));
        let mut fields = fields.into_iter();
        let mut next = || fields.next().unwrap_or_default();
        let record_id = next();
        let date_text = next();
        let type_text = next();
        let transaction_id = opt(&next());
        let authorization_id = opt(&next());
        let card_id = opt(&next());
        let amount_text = next();
        let currency_text = next();
        let mcc_text = next();
        let cleared_text = next();

        if record_id.is_empty() {
            return Err(err("record_id", "must not be empty".to_owned()));
        }
        // Every row of a file carries the same date: skip re-parsing it.
        let settlement_date = match (self.settlement_date, &self.date_text) {
            (Some(date), Some(text)) if *text == date_text => date,
            _ => {
                let date = parse_date(&date_text).map_err(|e| err("settlement_date", e))?;
                self.check_date(date)?;
                self.date_text = Some(date_text);
                date
            }
        };
        let kind = SettlementType::parse(&type_text).ok_or_else(|| {
            err(
                "type",
                format!("must be CLEARING, REFUND, FEE or ADJUSTMENT, got {type_text:?}"),
            )
        })?;
        let amount_minor = parse_amount(&amount_text).map_err(|e| err("amount", e))?;
        let currency = CurrencyCode::new(&currency_text).map_err(|e| err("currency", e))?;
        let mcc = if mcc_text.is_empty() {
            None
        } else {
            Some(Mcc::new(&mcc_text).map_err(|e| err("mcc", e))?)
        };
        let cleared_at = if cleared_text.is_empty() {
            None
        } else {
            Some(
                OffsetDateTime::parse(
                    &cleared_text,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|e| err("cleared_at", format!("not RFC 3339 ({e})")))?,
            )
        };
        match kind {
            SettlementType::Clearing | SettlementType::Refund => {
                if transaction_id.is_none() {
                    return Err(err(
                        "transaction_id",
                        format!("required on {}", kind.as_str()),
                    ));
                }
                if card_id.is_none() {
                    return Err(err("card_id", format!("required on {}", kind.as_str())));
                }
            }
            SettlementType::Fee => {
                if transaction_id.is_some() || card_id.is_some() {
                    return Err(settlement_error(
                        line,
                        "FEE rows have empty card_id and transaction_id",
                    ));
                }
            }
            SettlementType::Adjustment => {}
        }
        // Section 4: a CLEARING and a FEE are positive, a REFUND negative; zero is neither.
        let sign_ok = match kind {
            SettlementType::Clearing | SettlementType::Fee => amount_minor > 0,
            SettlementType::Refund => amount_minor < 0,
            SettlementType::Adjustment => true,
        };
        if !sign_ok {
            return Err(err(
                "amount",
                format!("{amount_minor} has the wrong sign for {}", kind.as_str()),
            ));
        }
        self.count = self
            .count
            .checked_add(1)
            .ok_or_else(|| settlement_error(line, "too many rows"))?;
        self.net_minor = self
            .net_minor
            .checked_add(amount_minor)
            .ok_or_else(|| settlement_error(line, "net amount overflows i64"))?;
        Ok(SettlementRow {
            record_id,
            settlement_date,
            kind,
            transaction_id,
            authorization_id,
            card_id,
            amount_minor,
            currency,
            mcc,
            cleared_at,
        })
    }

    fn next_row(&mut self) -> Result<Option<SettlementRow>, SettlementError> {
        loop {
            if self.read_line()?.is_none() {
                if self.trailer.is_some() {
                    return Ok(None);
                }
                return Err(settlement_error(self.line_no, "missing TRAILER row"));
            }
            if self.trailer.is_some() {
                if self.line_buf.trim().is_empty() {
                    continue;
                }
                return Err(settlement_error(self.line_no, "rows after the TRAILER"));
            }
            let fields =
                split_csv_line(&self.line_buf).map_err(|e| settlement_error(self.line_no, e))?;
            if fields.len() != SETTLEMENT_COLUMNS {
                return Err(settlement_error(
                    self.line_no,
                    format!(
                        "expected {SETTLEMENT_COLUMNS} columns, found {}",
                        fields.len()
                    ),
                ));
            }
            if fields[0] == TRAILER_RECORD_ID {
                self.trailer = Some(self.parse_trailer(&fields)?);
                continue;
            }
            return self.parse_row(fields).map(Some);
        }
    }
}

impl<R: BufRead> Iterator for SettlementReader<R> {
    type Item = Result<SettlementRow, SettlementError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_row() {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Strict signed integer: optional `-`, digits only (no `+`, spaces or decimals).
fn parse_amount(value: &str) -> Result<i64, String> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("must be an integer in minor units, got {value:?}"));
    }
    value
        .parse::<i64>()
        .map_err(|_| format!("out of range: {value:?}"))
}

/// Writes a settlement file: header on creation, rows, then the trailer on `finish`.
pub struct SettlementWriter<W: Write> {
    out: W,
    settlement_date: Date,
    count: u64,
    net_minor: i64,
    line: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SettlementWriteError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("row {record_id}: settlement_date differs from the file's")]
    WrongDate { record_id: String },
    #[error("net amount overflows i64")]
    Overflow,
}

impl<W: Write> SettlementWriter<W> {
    pub fn new(mut out: W, settlement_date: Date) -> Result<Self, SettlementWriteError> {
        out.write_all(SETTLEMENT_HEADER.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(SettlementWriter {
            out,
            settlement_date,
            count: 0,
            net_minor: 0,
            line: String::new(),
        })
    }

    pub fn write_row(&mut self, row: &SettlementRow) -> Result<(), SettlementWriteError> {
        if row.settlement_date != self.settlement_date {
            return Err(SettlementWriteError::WrongDate {
                record_id: row.record_id.clone(),
            });
        }
        self.net_minor = self
            .net_minor
            .checked_add(row.amount_minor)
            .ok_or(SettlementWriteError::Overflow)?;
        self.count = self
            .count
            .checked_add(1)
            .ok_or(SettlementWriteError::Overflow)?;
        let line = &mut self.line;
        line.clear();
        let cleared = match row.cleared_at {
            Some(t) => t
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| std::io::Error::other(e.to_string()))?,
            None => String::new(),
        };
        let amount = row.amount_minor.to_string();
        let date = format_date(row.settlement_date);
        let columns: [&str; SETTLEMENT_COLUMNS] = [
            &row.record_id,
            &date,
            row.kind.as_str(),
            row.transaction_id.as_deref().unwrap_or(""),
            row.authorization_id.as_deref().unwrap_or(""),
            row.card_id.as_deref().unwrap_or(""),
            &amount,
            row.currency.as_str(),
            row.mcc.as_ref().map(Mcc::as_str).unwrap_or(""),
            &cleared,
        ];
        for (i, value) in columns.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            csv_field(line, value);
        }
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        Ok(())
    }

    /// Writes the trailer and gives back the output.
    pub fn finish(mut self) -> Result<(W, SettlementTrailer), SettlementWriteError> {
        let trailer = format!(
            "{TRAILER_RECORD_ID},{},,{},,,{},,,\n",
            format_date(self.settlement_date),
            self.count,
            self.net_minor
        );
        self.out.write_all(trailer.as_bytes())?;
        self.out.flush()?;
        Ok((
            self.out,
            SettlementTrailer {
                settlement_date: self.settlement_date,
                record_count: self.count,
                net_minor: self.net_minor,
                currency: None,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn sample_rows(date: Date) -> Vec<SettlementRow> {
        vec![
            SettlementRow {
                record_id: "r1".into(),
                settlement_date: date,
                kind: SettlementType::Clearing,
                transaction_id: Some("txn_1".into()),
                authorization_id: Some("auth_1".into()),
                card_id: Some("card_1".into()),
                amount_minor: 1250,
                currency: CurrencyCode::eur(),
                mcc: Some(Mcc::new("5411").unwrap()),
                cleared_at: Some(datetime!(2026-11-26 10:15:02 UTC)),
            },
            SettlementRow {
                record_id: "r2".into(),
                settlement_date: date,
                kind: SettlementType::Refund,
                transaction_id: Some("txn_2".into()),
                authorization_id: None,
                card_id: Some("card_1".into()),
                amount_minor: -250,
                currency: CurrencyCode::eur(),
                mcc: Some(Mcc::new("5411").unwrap()),
                cleared_at: Some(datetime!(2026-11-26 11:00:00 UTC)),
            },
            SettlementRow {
                record_id: "r3".into(),
                settlement_date: date,
                kind: SettlementType::Fee,
                transaction_id: None,
                authorization_id: None,
                card_id: None,
                amount_minor: 99,
                currency: CurrencyCode::eur(),
                mcc: None,
                cleared_at: None,
            },
            SettlementRow {
                record_id: "r4".into(),
                settlement_date: date,
                kind: SettlementType::Adjustment,
                transaction_id: Some("correction, \"see\" ticket 7".into()),
                authorization_id: None,
                card_id: None,
                amount_minor: -10,
                currency: CurrencyCode::eur(),
                mcc: None,
                cleared_at: None,
            },
        ]
    }

    fn write(rows: &[SettlementRow], date: Date) -> String {
        let mut writer = SettlementWriter::new(Vec::new(), date).unwrap();
        for row in rows {
            writer.write_row(row).unwrap();
        }
        let (out, trailer) = writer.finish().unwrap();
        assert_eq!(trailer.record_count, rows.len() as u64);
        String::from_utf8(out).unwrap()
    }

    fn read_all(text: &str) -> Result<(Vec<SettlementRow>, SettlementTrailer), SettlementError> {
        let mut reader = SettlementReader::new(text.as_bytes())?;
        let rows = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
        Ok((rows, reader.trailer().expect("trailer after full read")))
    }

    // The next three came with reconciliation's own settlement parser, now merged into this one.
    #[test]
    fn quoted_fields_keep_their_commas_and_quotes() {
        assert_eq!(
            split_csv_line(r#"a,"b, ""c""",d"#).unwrap(),
            vec!["a", r#"b, "c""#, "d"]
        );
        assert_eq!(split_csv_line("a,,").unwrap(), vec!["a", "", ""]);
        assert!(split_csv_line(r#"a,"b"#).is_err());
    }

    #[test]
    fn a_file_without_trailer_is_an_error() {
        let text = format!("{SETTLEMENT_HEADER}\nr1,2026-11-25,FEE,,,,100,EUR,,\n");
        let mut reader = SettlementReader::new(text.as_bytes()).unwrap();
        assert!(reader.next_row().unwrap().is_some());
        assert!(reader.next_row().is_err());
    }

    #[test]
    fn amounts_are_plain_integers() {
        assert_eq!(parse_amount("-125").ok(), Some(-125));
        assert_eq!(parse_amount("1.25").ok(), None);
        assert_eq!(parse_amount("+1").ok(), None);
        assert_eq!(parse_amount("").ok(), None);
    }

    #[test]
    fn settlement_round_trip() {
        let date = date!(2026 - 11 - 26);
        let rows = sample_rows(date);
        let text = write(&rows, date);
        assert!(text.starts_with(SETTLEMENT_HEADER));
        assert!(
            text.ends_with("TRAILER,2026-11-26,,4,,,1089,,,\n"),
            "{text}"
        );
        let (parsed, trailer) = read_all(&text).unwrap();
        assert_eq!(parsed, rows);
        assert_eq!(trailer.net_minor, 1250 - 250 + 99 - 10);
        assert_eq!(trailer.record_count, 4);
    }

    #[test]
    fn settlement_errors_name_the_line() {
        let date = date!(2026 - 11 - 26);
        let good = write(&sample_rows(date), date);
        let cases: Vec<(String, u64, &str)> = vec![
            (good.replacen("record_id", "id", 1), 1, "header"),
            (
                good.replace("TRAILER,2026-11-26,,4,", "TRAILER,2026-11-26,,5,"),
                6,
                "declares 5",
            ),
            (good.replace(",1089,", ",1090,"), 6, "net 1090"),
            (
                good.replace("TRAILER,2026-11-26,,4,,,1089,,,\n", ""),
                6,
                "missing TRAILER",
            ),
            (good.replace(",1250,", ",12.50,"), 2, "amount"),
            (good.replace(",-250,", ",250,"), 3, "wrong sign"),
            (good.replace(",-250,", ",0,"), 3, "wrong sign"),
            (good.replace("r3,2026-11-26", "r3,2026-11-27"), 4, "differs"),
            (
                good.replace(",EUR,5411,2026-11-26T10", ",eur,5411,2026-11-26T10"),
                2,
                "currency",
            ),
            (
                format!("{good}r9,2026-11-26,FEE,,,,1,EUR,,\n"),
                7,
                "after the TRAILER",
            ),
            (good.replace(",FEE,", ",BONUS,"), 4, "type"),
            (good.replace("r1,", "r1,x,"), 2, "columns"),
        ];
        for (text, line, needle) in cases {
            let err = read_all(&text).unwrap_err();
            assert_eq!(err.line, line, "{err}");
            assert!(
                err.to_string().contains(needle),
                "{err} should contain {needle}"
            );
        }
        let empty = SettlementReader::new(&b""[..]).err().unwrap();
        assert_eq!(empty.line, 1);
    }

    #[test]
    fn settlement_streams_a_million_rows() {
        // A generator as the input: the whole file never exists in memory.
        struct Gen {
            next_row: u64,
            rows: u64,
            buf: Vec<u8>,
            pos: usize,
        }
        impl Read for Gen {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                if self.pos == self.buf.len() {
                    self.buf.clear();
                    self.pos = 0;
                    if self.next_row == 0 {
                        self.buf.extend_from_slice(SETTLEMENT_HEADER.as_bytes());
                        self.buf.push(b'\n');
                    } else if self.next_row <= self.rows {
                        let n = self.next_row;
                        self.buf.extend_from_slice(
                            format!("r{n},2026-11-26,CLEARING,txn_{n},auth_{n},card_1,100,EUR,5411,2026-11-26T10:00:00Z\n")
                                .as_bytes(),
                        );
                    } else if self.next_row == self.rows + 1 {
                        let net = self.rows * 100;
                        self.buf.extend_from_slice(
                            format!("TRAILER,2026-11-26,,{},,,{net},,,\n", self.rows).as_bytes(),
                        );
                    } else {
                        return Ok(0);
                    }
                    self.next_row += 1;
                }
                let n = out.len().min(self.buf.len() - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                Ok(n)
            }
        }
        let rows = 1_000_000;
        let input = std::io::BufReader::new(Gen {
            next_row: 0,
            rows,
            buf: Vec::new(),
            pos: 0,
        });
        let mut reader = SettlementReader::new(input).unwrap();
        let mut count = 0u64;
        for row in reader.by_ref() {
            row.unwrap();
            count += 1;
        }
        assert_eq!(count, rows);
        assert_eq!(reader.trailer().unwrap().net_minor, 100_000_000);
    }

    #[test]
    fn overlong_line_is_refused() {
        let text = format!("{SETTLEMENT_HEADER}\n{}\n", "x".repeat(20_000));
        let err = read_all(&text).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("longer"));
    }
}
