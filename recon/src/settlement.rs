//! The processor's daily settlement file (protocol section 4), read with the protocol crate's
//! parser, [`processor_protocol::settlement::SettlementReader`]: the format is the processor's
//! protocol, so it has one parser, beside the writer the simulator uses. What reconciliation
//! adds is here: the SHA-256 of the bytes read (the file's identity in `recon.imports`) and
//! the parser's errors as [`ReconError`]s.

use std::io::{BufRead, Read};

use processor_protocol::settlement::{SettlementError, SettlementErrorKind};

use super::ReconError;

impl From<SettlementError> for ReconError {
    fn from(error: SettlementError) -> ReconError {
        match error.kind {
            SettlementErrorKind::Malformed => ReconError::InvalidFile {
                line_no: error.line,
                message: error.message,
            },
            SettlementErrorKind::TotalsMismatch => ReconError::TotalsMismatch(error.message),
            SettlementErrorKind::Io => ReconError::Io(std::io::Error::other(error.to_string())),
        }
    }
}

/// A `BufRead` that hashes every byte its reader consumes: the whole file, once the
/// settlement reader has read to the end.
pub struct Sha256Reader<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R: BufRead> Sha256Reader<R> {
    pub fn new(inner: R) -> Sha256Reader<R> {
        Sha256Reader {
            inner,
            hasher: sha2::Digest::new(),
        }
    }

    /// The SHA-256 of every byte consumed so far, in hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(sha2::Digest::finalize(self.hasher.clone()))
    }
}

impl<R: BufRead> Read for Sha256Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(out.len());
        out[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl<R: BufRead> BufRead for Sha256Reader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // The bytes being consumed are the front of the buffer `fill_buf` returned: asking
        // again reads nothing new.
        if let Ok(buffer) = self.inner.fill_buf() {
            sha2::Digest::update(&mut self.hasher, &buffer[..amount.min(buffer.len())]);
        }
        self.inner.consume(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use processor_protocol::settlement::{SETTLEMENT_HEADER, SettlementReader};

    #[test]
    fn the_digest_is_of_the_whole_file() {
        let date = "2026-11-25";
        let text = format!(
            "{SETTLEMENT_HEADER}\nr1,{date},FEE,,,,100,EUR,,\nTRAILER,{date},,1,,,100,EUR,,\n\n"
        );
        let mut reader = SettlementReader::new(Sha256Reader::new(text.as_bytes())).unwrap();
        assert_eq!(reader.by_ref().count(), 1);
        assert_eq!(reader.trailer().unwrap().record_count, 1);
        assert_eq!(
            reader.into_inner().sha256_hex(),
            crate::sha256_of(text.as_bytes()).unwrap()
        );
    }

    #[test]
    fn a_wrong_trailer_is_a_totals_mismatch() {
        let text = format!(
            "{SETTLEMENT_HEADER}\nr1,2026-11-25,FEE,,,,100,EUR,,\nTRAILER,2026-11-25,,2,,,100,,,\n"
        );
        let error = SettlementReader::new(text.as_bytes())
            .unwrap()
            .find_map(Result::err)
            .unwrap();
        assert!(matches!(
            ReconError::from(error),
            ReconError::TotalsMismatch(_)
        ));
    }
}
