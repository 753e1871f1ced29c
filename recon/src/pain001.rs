//! The ISO 20022 pain.001.001.09 customer credit transfer initiation that Saldo hands the trust
//! bank (docs/payouts.md): one file per batch, one payment (`PmtInf`) from the trust account,
//! one `CdtTrfTxInf` per payout, SEPA, charges shared (`SLEV`: Saldo charges the payee nothing).
//!
//! Pure: the caller brings the names and accounts (from the identity store, at the moment of
//! writing) and writes nothing down but the file. Amounts are decimal text from minor units.

use std::io;

use ledger::{Currency, Money};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use time::{Date, OffsetDateTime};

pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";
/// SEPA's limits on a name and on unstructured remittance text (characters).
const NAME_CHARS: usize = 70;
const REMITTANCE_CHARS: usize = 140;

/// The account paying: the prison's trust account.
#[derive(Clone)]
pub struct Debtor {
    /// The account holder as the bank knows it (the prison service), not a person.
    pub name: String,
    pub iban: String,
}

/// One credit transfer. `creditor_name` and `creditor_iban` are personal data: they go into the
/// file and nowhere else.
#[derive(Clone)]
pub struct CreditTransfer {
    /// Saldo's payout id: what the bank echoes on camt.053 (at most 35 letters and digits).
    pub end_to_end_id: String,
    pub amount: Money,
    pub creditor_name: String,
    pub creditor_iban: String,
    /// Free text for the payee's statement (no personal data of anyone else).
    pub remittance: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Pain001Error {
    #[error("a file carries at least one transfer")]
    Empty,
    #[error("all transfers of a file are in one currency")]
    MixedCurrencies,
    #[error("a transfer's amount is not positive")]
    NotPositive,
    #[error("the control sum overflows")]
    Overflow,
    #[error("an end-to-end id is 1 to 35 letters and digits")]
    BadEndToEndId,
}

/// The file's totals, as written in its group header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub count: usize,
    pub control_sum: Money,
}

fn truncated(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// Minor units as the decimal text ISO 20022 wants (`1250` EUR → `12.50`).
pub fn decimal_text(amount: Money) -> String {
    amount.to_decimal().to_string()
}

fn text(writer: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

pub fn totals(transfers: &[CreditTransfer]) -> Result<Totals, Pain001Error> {
    let first = transfers.first().ok_or(Pain001Error::Empty)?;
    let currency: Currency = first.amount.currency;
    let mut sum = Money::zero(currency);
    for transfer in transfers {
        if transfer.amount.currency != currency {
            return Err(Pain001Error::MixedCurrencies);
        }
        if !transfer.amount.is_positive() {
            return Err(Pain001Error::NotPositive);
        }
        let id = &transfer.end_to_end_id;
        if id.is_empty() || id.len() > 35 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Pain001Error::BadEndToEndId);
        }
        sum = sum
            .checked_add(transfer.amount)
            .map_err(|_| Pain001Error::Overflow)?;
    }
    Ok(Totals {
        count: transfers.len(),
        control_sum: sum,
    })
}

/// Writes the file. `message_id` (at most 35 characters) names it for the bank; the bank
/// executes on `execution_date`.
pub fn write_pain001(
    message_id: &str,
    created_at: OffsetDateTime,
    execution_date: Date,
    debtor: &Debtor,
    transfers: &[CreditTransfer],
) -> Result<(Vec<u8>, Totals), Pain001Error> {
    let totals = totals(transfers)?;
    let control_sum = decimal_text(totals.control_sum);
    let count = totals.count.to_string();
    let created = created_at
        .replace_nanosecond(0)
        .unwrap_or(created_at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 1);
    let written: io::Result<()> = (|| {
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        writer
            .create_element("Document")
            .with_attribute(("xmlns", NAMESPACE))
            .write_inner_content(|w| {
                w.create_element("CstmrCdtTrfInitn")
                    .write_inner_content(|w| {
                        w.create_element("GrpHdr").write_inner_content(|w| {
                            text(w, "MsgId", message_id)?;
                            text(w, "CreDtTm", &created)?;
                            text(w, "NbOfTxs", &count)?;
                            text(w, "CtrlSum", &control_sum)?;
                            w.create_element("InitgPty").write_inner_content(|w| {
                                text(w, "Nm", &truncated(&debtor.name, NAME_CHARS))
                            })?;
                            Ok(())
                        })?;
                        w.create_element("PmtInf").write_inner_content(|w| {
                            text(w, "PmtInfId", message_id)?;
                            text(w, "PmtMtd", "TRF")?;
                            text(w, "NbOfTxs", &count)?;
                            text(w, "CtrlSum", &control_sum)?;
                            w.create_element("PmtTpInf").write_inner_content(|w| {
                                w.create_element("SvcLvl")
                                    .write_inner_content(|w| text(w, "Cd", "SEPA"))?;
                                Ok(())
                            })?;
                            w.create_element("ReqdExctnDt").write_inner_content(|w| {
                                text(w, "Dt", &execution_date.to_string())
                            })?;
                            w.create_element("Dbtr").write_inner_content(|w| {
                                text(w, "Nm", &truncated(&debtor.name, NAME_CHARS))
                            })?;
                            iban_account(w, "DbtrAcct", &debtor.iban)?;
                            w.create_element("DbtrAgt").write_inner_content(|w| {
                                w.create_element("FinInstnId").write_inner_content(|w| {
                                    w.create_element("Othr")
                                        .write_inner_content(|w| text(w, "Id", "NOTPROVIDED"))?;
                                    Ok(())
                                })?;
                                Ok(())
                            })?;
                            text(w, "ChrgBr", "SLEV")?;
                            for transfer in transfers {
                                transaction(w, transfer)?;
                            }
                            Ok(())
                        })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        Ok(())
    })();
    // Writing into a Vec cannot fail.
    written.map_err(|_| Pain001Error::Overflow)?;
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    Ok((bytes, totals))
}

fn iban_account(w: &mut Writer<Vec<u8>>, element: &str, iban: &str) -> io::Result<()> {
    w.create_element(element).write_inner_content(|w| {
        w.create_element("Id")
            .write_inner_content(|w| text(w, "IBAN", iban))?;
        Ok(())
    })?;
    Ok(())
}

fn transaction(w: &mut Writer<Vec<u8>>, transfer: &CreditTransfer) -> io::Result<()> {
    w.create_element("CdtTrfTxInf").write_inner_content(|w| {
        w.create_element("PmtId").write_inner_content(|w| {
            text(w, "InstrId", &transfer.end_to_end_id)?;
            text(w, "EndToEndId", &transfer.end_to_end_id)
        })?;
        w.create_element("Amt").write_inner_content(|w| {
            w.create_element("InstdAmt")
                .with_attribute(("Ccy", transfer.amount.currency.code()))
                .write_text_content(BytesText::new(&decimal_text(transfer.amount)))?;
            Ok(())
        })?;
        w.create_element("Cdtr").write_inner_content(|w| {
            text(w, "Nm", &truncated(&transfer.creditor_name, NAME_CHARS))
        })?;
        iban_account(w, "CdtrAcct", &transfer.creditor_iban)?;
        w.create_element("RmtInf").write_inner_content(|w| {
            text(
                w,
                "Ustrd",
                &truncated(&transfer.remittance, REMITTANCE_CHARS),
            )
        })?;
        Ok(())
    })?;
    Ok(())
}

/// What a pain.001 file says, read back: the header's count and control sum, and each
/// transfer's end-to-end id, amount text, creditor IBAN. For tests and for checking a file
/// before it is sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReadBack {
    pub message_id: String,
    pub header_count: String,
    pub header_control_sum: String,
    pub transfers: Vec<(String, String, String)>,
}

pub fn read_back(bytes: &[u8]) -> Result<ReadBack, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut read = ReadBack::default();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(start) => {
                path.push(AsRef::<str>::as_ref(&start.local_name()).to_owned());
                if path.last().map(String::as_str) == Some("CdtTrfTxInf") {
                    read.transfers
                        .push((String::new(), String::new(), String::new()));
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(content) => {
                let value = content.xml10_content().into_owned();
                let joined = path.join("/");
                if joined.ends_with("GrpHdr/MsgId") {
                    read.message_id = value;
                } else if joined.ends_with("GrpHdr/NbOfTxs") {
                    read.header_count = value;
                } else if joined.ends_with("GrpHdr/CtrlSum") {
                    read.header_control_sum = value;
                } else if let Some(last) = read.transfers.last_mut() {
                    if joined.ends_with("CdtTrfTxInf/PmtId/EndToEndId") {
                        last.0 = value;
                    } else if joined.ends_with("CdtTrfTxInf/Amt/InstdAmt") {
                        last.1 = value;
                    } else if joined.ends_with("CdtTrfTxInf/CdtrAcct/Id/IBAN") {
                        last.2 = value;
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::from_code("EUR").unwrap())
    }

    fn transfer(id: &str, minor: i64) -> CreditTransfer {
        CreditTransfer {
            end_to_end_id: id.into(),
            amount: eur(minor),
            creditor_name: "Aino & Väinö".into(),
            creditor_iban: "DE89370400440532013000".into(),
            remittance: "Saldo release payout".into(),
        }
    }

    #[test]
    fn a_written_file_reads_back_with_its_count_control_sum_and_transfers() {
        let debtor = Debtor {
            name: "Prison service trust account".into(),
            iban: "FI2112345600000785".into(),
        };
        let (bytes, totals) = write_pain001(
            "MSG1",
            OffsetDateTime::UNIX_EPOCH,
            Date::from_calendar_date(2026, time::Month::December, 7).unwrap(),
            &debtor,
            &[transfer("P1", 1250), transfer("P2", 5)],
        )
        .unwrap();
        assert_eq!(totals.count, 2);
        assert_eq!(totals.control_sum, eur(1255));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(NAMESPACE));
        assert!(text.contains("Aino &amp; Väinö"));
        assert!(text.contains("<ChrgBr>SLEV</ChrgBr>"));
        let read = read_back(&bytes).unwrap();
        assert_eq!(read.message_id, "MSG1");
        assert_eq!(read.header_count, "2");
        assert_eq!(read.header_control_sum, "12.55");
        assert_eq!(
            read.transfers,
            vec![
                ("P1".into(), "12.50".into(), "DE89370400440532013000".into()),
                ("P2".into(), "0.05".into(), "DE89370400440532013000".into()),
            ]
        );
    }

    #[test]
    fn an_empty_mixed_or_non_positive_batch_is_refused() {
        assert_eq!(totals(&[]), Err(Pain001Error::Empty));
        let mut sek = transfer("P2", 5);
        sek.amount = Money::new(5, Currency::from_code("SEK").unwrap());
        assert_eq!(
            totals(&[transfer("P1", 1), sek]),
            Err(Pain001Error::MixedCurrencies)
        );
        assert_eq!(totals(&[transfer("P1", 0)]), Err(Pain001Error::NotPositive));
        assert_eq!(
            totals(&[transfer("P-1", 1)]),
            Err(Pain001Error::BadEndToEndId)
        );
    }
}
