//! A streaming reader of the processor's daily settlement file (protocol section 4).
//!
//! Written here because the card adapter has no settlement parser yet (card-adapter/src has
//! only `booking.rs`). It reads one line at a time from any `BufRead`, so a file of any size
//! is read in constant memory; the caller sees each row once and the trailer at the end.

use std::io::BufRead;

use time::{Date, OffsetDateTime};

use super::ReconError;

pub const HEADER: &str = "record_id,settlement_date,type,transaction_id,authorization_id,card_id,amount,currency,mcc,cleared_at";
const COLUMNS: usize = 10;
/// A settlement line is short; anything longer is not a settlement file.
const MAX_LINE_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowType {
    Clearing,
    Refund,
    Fee,
    Adjustment,
}

impl RowType {
    pub fn as_str(self) -> &'static str {
        match self {
            RowType::Clearing => "CLEARING",
            RowType::Refund => "REFUND",
            RowType::Fee => "FEE",
            RowType::Adjustment => "ADJUSTMENT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    /// 1-based line number in the file (the header is line 1).
    pub line_no: u64,
    pub record_id: String,
    pub settlement_date: Date,
    pub row_type: RowType,
    /// For ADJUSTMENT rows the processor's explanation, when it gives one.
    pub transaction_id: Option<String>,
    pub authorization_id: Option<String>,
    pub card_id: Option<String>,
    /// Positive: debited from the funding account.
    pub amount_minor: i64,
    pub currency: String,
    pub mcc: Option<String>,
    pub cleared_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    pub line_no: u64,
    pub settlement_date: Date,
    pub record_count: u64,
    pub net_minor: i64,
    pub currency: Option<String>,
}

/// Reads rows one at a time; [`SettlementReader::next_row`] returns `None` after the trailer.
pub struct SettlementReader<R> {
    reader: R,
    line: String,
    line_no: u64,
    trailer: Option<Trailer>,
    /// Every byte read, for the file's SHA-256.
    hasher: sha2::Sha256,
}

fn invalid(line_no: u64, message: impl Into<String>) -> ReconError {
    ReconError::InvalidFile {
        line_no,
        message: message.into(),
    }
}

impl<R: BufRead> SettlementReader<R> {
    pub fn new(reader: R) -> Result<SettlementReader<R>, ReconError> {
        let mut this = SettlementReader {
            reader,
            line: String::new(),
            line_no: 0,
            trailer: None,
            hasher: sha2::Digest::new(),
        };
        if !this.read_line()? {
            return Err(invalid(1, "the file is empty"));
        }
        if this.line.trim_start_matches('\u{feff}') != HEADER {
            return Err(invalid(1, format!("the header must be exactly: {HEADER}")));
        }
        Ok(this)
    }

    fn read_line(&mut self) -> Result<bool, ReconError> {
        self.line.clear();
        let read = <&mut R as std::io::Read>::take(&mut self.reader, MAX_LINE_BYTES as u64 + 1)
            .read_line(&mut self.line)
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::InvalidData => invalid(self.line_no + 1, "not UTF-8"),
                _ => ReconError::Io(error),
            })?;
        if read == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        if read > MAX_LINE_BYTES {
            return Err(invalid(self.line_no, "the line is too long"));
        }
        sha2::Digest::update(&mut self.hasher, self.line.as_bytes());
        if self.line.ends_with('\n') {
            self.line.pop();
        } else if !self.reader.fill_buf().map_err(ReconError::Io)?.is_empty() {
            return Err(invalid(self.line_no, "the line is too long"));
        }
        Ok(true)
    }

    /// The next data row, or `None` once the trailer has been read. Anything after the trailer,
    /// or no trailer at all, is an error: the file is incomplete or corrupted.
    pub fn next_row(&mut self) -> Result<Option<SettlementRow>, ReconError> {
        if self.trailer.is_some() {
            return Ok(None);
        }
        if !self.read_line()? {
            return Err(invalid(
                self.line_no,
                "the file ends without a TRAILER row (truncated?)",
            ));
        }
        let line_no = self.line_no;
        let fields = split_csv(&self.line).ok_or_else(|| invalid(line_no, "bad CSV quoting"))?;
        if fields.len() != COLUMNS {
            return Err(invalid(
                line_no,
                format!("{} columns, expected {COLUMNS}", fields.len()),
            ));
        }
        let settlement_date = parse_date(&fields[1]).ok_or_else(|| {
            invalid(
                line_no,
                format!("settlement_date {:?} is not a date", fields[1]),
            )
        })?;
        if fields[0] == "TRAILER" {
            let record_count = fields[3]
                .parse::<u64>()
                .map_err(|_| invalid(line_no, "the trailer's record count is not a number"))?;
            let net_minor = parse_amount(&fields[6])
                .ok_or_else(|| invalid(line_no, "the trailer's net is not an integer"))?;
            self.trailer = Some(Trailer {
                line_no,
                settlement_date,
                record_count,
                net_minor,
                currency: non_empty(&fields[7]),
            });
            // Nothing may follow the trailer (a blank last line aside).
            while self.read_line()? {
                if !self.line.trim().is_empty() {
                    return Err(invalid(self.line_no, "rows after the TRAILER"));
                }
            }
            return Ok(None);
        }
        let row_type = match fields[2].as_str() {
            "CLEARING" => RowType::Clearing,
            "REFUND" => RowType::Refund,
            "FEE" => RowType::Fee,
            "ADJUSTMENT" => RowType::Adjustment,
            other => return Err(invalid(line_no, format!("unknown type {other:?}"))),
        };
        let amount_minor = parse_amount(&fields[6]).ok_or_else(|| {
            invalid(
                line_no,
                format!("amount {:?} is not an integer of minor units", fields[6]),
            )
        })?;
        let currency = fields[7].clone();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                line_no,
                format!("currency {currency:?} is not ISO 4217"),
            ));
        }
        let cleared_at = match fields[9].as_str() {
            "" => None,
            text => Some(
                OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| {
                        invalid(line_no, format!("cleared_at {text:?} is not RFC 3339"))
                    })?,
            ),
        };
        let row = SettlementRow {
            line_no,
            record_id: fields[0].clone(),
            settlement_date,
            row_type,
            transaction_id: non_empty(&fields[3]),
            authorization_id: non_empty(&fields[4]),
            card_id: non_empty(&fields[5]),
            amount_minor,
            currency,
            mcc: non_empty(&fields[8]),
            cleared_at,
        };
        if row.record_id.is_empty() {
            return Err(invalid(line_no, "record_id is empty"));
        }
        match row.row_type {
            RowType::Clearing | RowType::Refund
                if row.transaction_id.is_none() || row.card_id.is_none() =>
            {
                return Err(invalid(
                    line_no,
                    "a CLEARING or REFUND needs a transaction_id and a card_id",
                ));
            }
            RowType::Clearing if amount_minor <= 0 => {
                return Err(invalid(line_no, "a CLEARING amount must be positive"));
            }
            RowType::Refund if amount_minor >= 0 => {
                return Err(invalid(line_no, "a REFUND amount must be negative"));
            }
            RowType::Fee if amount_minor <= 0 => {
                return Err(invalid(line_no, "a FEE amount must be positive"));
            }
            _ => {}
        }
        Ok(Some(row))
    }

    /// The trailer, once [`SettlementReader::next_row`] has returned `None`.
    pub fn trailer(&self) -> Option<&Trailer> {
        self.trailer.as_ref()
    }

    /// The SHA-256 of every byte read so far, in hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(sha2::Digest::finalize(self.hasher.clone()))
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, &time::format_description::well_known::Iso8601::DATE).ok()
}

/// A signed integer, nothing else: no `+`, spaces, decimals or exponents.
fn parse_amount(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Splits one CSV line (RFC 4180 quoting, no line breaks inside fields).
pub fn split_csv(line: &str) -> Option<Vec<String>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::with_capacity(COLUMNS);
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas_and_quotes() {
        assert_eq!(
            split_csv(r#"a,"b, ""c""",d"#).unwrap(),
            vec!["a", r#"b, "c""#, "d"]
        );
        assert_eq!(split_csv("a,,").unwrap(), vec!["a", "", ""]);
        assert!(split_csv(r#"a,"b"#).is_none());
    }

    #[test]
    fn a_file_without_trailer_is_an_error() {
        let text = format!("{HEADER}\nr1,2026-11-25,FEE,,,,100,EUR,,\n");
        let mut reader = SettlementReader::new(text.as_bytes()).unwrap();
        assert!(reader.next_row().unwrap().is_some());
        assert!(reader.next_row().is_err());
    }

    #[test]
    fn amounts_are_plain_integers() {
        assert_eq!(parse_amount("-125"), Some(-125));
        assert_eq!(parse_amount("1.25"), None);
        assert_eq!(parse_amount("+1"), None);
        assert_eq!(parse_amount(""), None);
    }
}
