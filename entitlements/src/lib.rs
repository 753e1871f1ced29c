//! The certified entitlement statement (docs/switch-over.md): what every person was owed at an
//! instant, per sub-account, signed with Ed25519 over a header that carries the Merkle root of
//! the person lines and the journal checkpoint it is bound to.
//!
//! This crate is the format and the offline verifier: no database, no network, no clock. It
//! builds a signed statement from lines computed elsewhere ([`sign`]), checks one ([`verify`]),
//! cuts a one-person proof out of one ([`proof`]) and checks that ([`verify_proof`]).
//!
//! Canonical form: every object's keys are in alphabetical order (the structs below declare
//! their fields so), a line is compact JSON, a file is `serde_json`'s pretty form plus a final
//! newline. [`verify`] re-serialises what it read and refuses a file that is not byte for byte
//! its canonical form, so any change to a file fails, even where JSON would not care.
pub mod merkle;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

pub use ed25519_dalek;

pub const FORMAT: &str = "saldo-entitlements/v1";
pub const PROOF_FORMAT: &str = "saldo-entitlement-proof/v1";

/// One sub-account of a person at the instant. `posted_minor` is the balance the service owes
/// the person (the liability's normal direction: positive is owed), `held_minor` what card
/// authorizations held of it; available is the difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountLine {
    pub currency: String,
    pub held_minor: i64,
    pub posted_minor: i64,
    pub purpose: String,
}

/// One person's line: a pseudonymous id, where they were placed at the instant, their accounts
/// sorted by (purpose, currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonLine {
    pub accounts: Vec<AccountLine>,
    pub person_id: String,
    pub prison_id: Option<String>,
}

impl PersonLine {
    /// The canonical text of the line: what the Merkle leaf hashes.
    pub fn canonical(&self) -> String {
        // A struct of strings and integers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Sums per currency over every line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Total {
    pub currency: String,
    pub held_minor: i64,
    pub posted_minor: i64,
}

/// The journal checkpoint the statement is bound to: the first sealed checkpoint that covers
/// every entry counted (`through_seq`, the highest `journal_entries.seq` recorded at or before
/// the instant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalBinding {
    pub checkpoint_n: i64,
    pub checkpoint_sha256: String,
    pub through_seq: i64,
}

/// What the signature covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The instant, RFC 3339 in UTC.
    pub at: String,
    pub format: String,
    pub generated_at: String,
    /// `None` only for a journal with no entry at or before the instant.
    pub journal: Option<JournalBinding>,
    pub merkle_root_sha256: String,
    pub persons: u64,
    /// The prison the statement was asked for; `None`: every prison.
    pub prison_id: Option<String>,
    pub public_key_ed25519: String,
    pub totals: Vec<Total>,
}

impl Header {
    /// The signed message: the format name, a zero byte, the header's canonical JSON.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = FORMAT.as_bytes().to_vec();
        bytes.push(0);
        bytes.extend(serde_json::to_vec(self).unwrap_or_default());
        bytes
    }
}

/// A whole statement, as written to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub header: Header,
    /// Canonical person lines, sorted by person id.
    pub lines: Vec<String>,
    pub signature_ed25519: String,
}

/// One person's line with the path to the signed root: proves the line is part of the whole
/// without showing anyone else's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub format: String,
    pub header: Header,
    pub leaf_index: u64,
    pub line: String,
    pub path_sha256: Vec<String>,
    pub signature_ed25519: String,
}

/// A file's canonical text.
pub fn to_file_text<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Why a statement or proof does not verify. The codes are stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("not_canonical: the file is not byte for byte its canonical form")]
    NotCanonical,
    #[error("wrong_format: {0}")]
    WrongFormat(String),
    #[error("key_mismatch: signed by {found}, expected {expected}")]
    KeyMismatch { found: String, expected: String },
    #[error("bad_signature: the header's signature does not verify")]
    BadSignature,
    #[error("line_invalid: line {0}: {1}")]
    LineInvalid(usize, String),
    #[error("lines_unsorted: line {0} is not after the one before it")]
    LinesUnsorted(usize),
    #[error("count_mismatch: the header says {header} persons, the file has {lines}")]
    CountMismatch { header: u64, lines: usize },
    #[error("root_mismatch: the lines do not hash to the signed root")]
    RootMismatch,
    #[error("totals_mismatch: the lines do not add up to the signed totals")]
    TotalsMismatch,
    #[error("path_mismatch: the line does not lead to the signed root")]
    PathMismatch,
}

impl VerifyError {
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::NotCanonical => "not_canonical",
            VerifyError::WrongFormat(_) => "wrong_format",
            VerifyError::KeyMismatch { .. } => "key_mismatch",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::LineInvalid(..) => "line_invalid",
            VerifyError::LinesUnsorted(_) => "lines_unsorted",
            VerifyError::CountMismatch { .. } => "count_mismatch",
            VerifyError::RootMismatch => "root_mismatch",
            VerifyError::TotalsMismatch => "totals_mismatch",
            VerifyError::PathMismatch => "path_mismatch",
        }
    }
}

/// What a verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub header: Header,
    /// Whether the caller named the key it trusts (else the statement's own key was used, which
    /// proves integrity but not who signed).
    pub key_pinned: bool,
}

/// The public key's text form (hex), as headers carry it and verifiers are given it.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

fn parse_public_key(text: &str) -> Result<VerifyingKey, VerifyError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| VerifyError::Malformed("public key: 64 hex digits".into()))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| VerifyError::Malformed("public key: not an Ed25519 point".into()))
}

fn hash_from_hex(text: &str, what: &str) -> Result<[u8; 32], VerifyError> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| VerifyError::Malformed(format!("{what}: 64 hex digits")))
}

/// Adds every account of `lines` into per-currency totals (sorted by currency), checked.
pub fn totals(lines: &[PersonLine]) -> Option<Vec<Total>> {
    let mut sums: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
    for account in lines.iter().flat_map(|line| &line.accounts) {
        let sum = sums.entry(account.currency.as_str()).or_default();
        sum.0 = sum.0.checked_add(account.posted_minor)?;
        sum.1 = sum.1.checked_add(account.held_minor)?;
    }
    Some(
        sums.into_iter()
            .map(|(currency, (posted_minor, held_minor))| Total {
                currency: currency.to_owned(),
                held_minor,
                posted_minor,
            })
            .collect(),
    )
}

/// What the statement is about, besides its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub at: String,
    pub generated_at: String,
    pub journal: Option<JournalBinding>,
    pub prison_id: Option<String>,
}

/// Signs `lines` (sorted here by person id) into a statement. `None` if the totals overflow
/// (they cannot within the ledger's amount bounds).
pub fn sign(subject: Subject, mut lines: Vec<PersonLine>, key: &SigningKey) -> Option<Statement> {
    lines.sort_by(|a, b| a.person_id.cmp(&b.person_id));
    for line in &mut lines {
        line.accounts.sort_by(|a, b| {
            (a.purpose.as_str(), a.currency.as_str())
                .cmp(&(b.purpose.as_str(), b.currency.as_str()))
        });
    }
    let totals = totals(&lines)?;
    let texts: Vec<String> = lines.iter().map(PersonLine::canonical).collect();
    let header = Header {
        at: subject.at,
        format: FORMAT.to_owned(),
        generated_at: subject.generated_at,
        journal: subject.journal,
        merkle_root_sha256: hex::encode(merkle::root(&texts)),
        persons: texts.len() as u64,
        prison_id: subject.prison_id,
        public_key_ed25519: public_key_hex(&key.verifying_key()),
        totals,
    };
    let signature = key.sign(&header.signed_bytes());
    Some(Statement {
        header,
        lines: texts,
        signature_ed25519: hex::encode(signature.to_bytes()),
    })
}

/// Checks the header's format, key (against `trusted`, hex, when given) and signature.
fn verify_header(
    header: &Header,
    signature: &str,
    trusted: Option<&str>,
) -> Result<bool, VerifyError> {
    if header.format != FORMAT {
        return Err(VerifyError::WrongFormat(header.format.clone()));
    }
    let key = parse_public_key(&header.public_key_ed25519)?;
    if let Some(trusted) = trusted {
        let trusted = parse_public_key(trusted)?;
        if trusted != key {
            return Err(VerifyError::KeyMismatch {
                found: header.public_key_ed25519.clone(),
                expected: public_key_hex(&trusted),
            });
        }
    }
    let signature: [u8; 64] = hex::decode(signature)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| VerifyError::Malformed("signature: 128 hex digits".into()))?;
    key.verify(&header.signed_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| VerifyError::BadSignature)?;
    Ok(trusted.is_some())
}

/// Parses a line and checks it is in canonical form.
fn parse_line(index: usize, text: &str) -> Result<PersonLine, VerifyError> {
    let line: PersonLine = serde_json::from_str(text)
        .map_err(|error| VerifyError::LineInvalid(index, error.to_string()))?;
    let sorted = line.accounts.windows(2).all(|pair| {
        (pair[0].purpose.as_str(), pair[0].currency.as_str())
            < (pair[1].purpose.as_str(), pair[1].currency.as_str())
    });
    if line.canonical() != text || !sorted {
        return Err(VerifyError::LineInvalid(index, "not canonical".into()));
    }
    if line.accounts.iter().any(|account| account.held_minor < 0) {
        return Err(VerifyError::LineInvalid(
            index,
            "negative held amount".into(),
        ));
    }
    Ok(line)
}

/// Verifies a whole statement file offline: canonical form, format, key, signature, every line,
/// their order, their count, the Merkle root and the totals.
pub fn verify(file: &[u8], trusted_key: Option<&str>) -> Result<Verified, VerifyError> {
    let statement: Statement =
        serde_json::from_slice(file).map_err(|error| VerifyError::Malformed(error.to_string()))?;
    if to_file_text(&statement).as_bytes() != file {
        return Err(VerifyError::NotCanonical);
    }
    let key_pinned = verify_header(&statement.header, &statement.signature_ed25519, trusted_key)?;
    let header = &statement.header;
    if header.persons != statement.lines.len() as u64 {
        return Err(VerifyError::CountMismatch {
            header: header.persons,
            lines: statement.lines.len(),
        });
    }
    let mut lines = Vec::with_capacity(statement.lines.len());
    for (index, text) in statement.lines.iter().enumerate() {
        let line = parse_line(index, text)?;
        if let Some(previous) = lines
            .last()
            .map(|line: &PersonLine| line.person_id.as_str())
            && previous >= line.person_id.as_str()
        {
            return Err(VerifyError::LinesUnsorted(index));
        }
        lines.push(line);
    }
    let root = hash_from_hex(&header.merkle_root_sha256, "merkle root")?;
    if merkle::root(&statement.lines) != root {
        return Err(VerifyError::RootMismatch);
    }
    if totals(&lines).as_ref() != Some(&header.totals) {
        return Err(VerifyError::TotalsMismatch);
    }
    Ok(Verified {
        header: statement.header,
        key_pinned,
    })
}

/// Cuts one person's proof out of a statement; `None` if the person has no line in it.
pub fn proof(statement: &Statement, person_id: &str) -> Option<Proof> {
    let index = statement.lines.iter().position(|text| {
        serde_json::from_str::<PersonLine>(text).is_ok_and(|line| line.person_id == person_id)
    })?;
    Some(Proof {
        format: PROOF_FORMAT.to_owned(),
        header: statement.header.clone(),
        leaf_index: index as u64,
        line: statement.lines[index].clone(),
        path_sha256: merkle::path(&statement.lines, index)
            .iter()
            .map(hex::encode)
            .collect(),
        signature_ed25519: statement.signature_ed25519.clone(),
    })
}

/// What a verified proof established: the signed header and the person's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    pub header: Header,
    pub line: PersonLine,
    pub key_pinned: bool,
}

/// Verifies a one-person proof offline: canonical form, key, signature, and that the line leads
/// to the signed root.
pub fn verify_proof(file: &[u8], trusted_key: Option<&str>) -> Result<VerifiedProof, VerifyError> {
    let proof: Proof =
        serde_json::from_slice(file).map_err(|error| VerifyError::Malformed(error.to_string()))?;
    if to_file_text(&proof).as_bytes() != file {
        return Err(VerifyError::NotCanonical);
    }
    if proof.format != PROOF_FORMAT {
        return Err(VerifyError::WrongFormat(proof.format));
    }
    let key_pinned = verify_header(&proof.header, &proof.signature_ed25519, trusted_key)?;
    let line = parse_line(0, &proof.line)?;
    let root = hash_from_hex(&proof.header.merkle_root_sha256, "merkle root")?;
    let path = proof
        .path_sha256
        .iter()
        .map(|text| hash_from_hex(text, "path"))
        .collect::<Result<Vec<_>, _>>()?;
    let (Ok(index), Ok(total)) = (
        usize::try_from(proof.leaf_index),
        usize::try_from(proof.header.persons),
    ) else {
        return Err(VerifyError::PathMismatch);
    };
    if !merkle::path_leads_to(&root, &proof.line, index, total, &path) {
        return Err(VerifyError::PathMismatch);
    }
    Ok(VerifiedProof {
        header: proof.header,
        line,
        key_pinned,
    })
}

/// Either kind of file, told apart by its top-level `format` key (a proof has one, a statement
/// has it inside its header).
pub enum Checked {
    Statement(Verified),
    Proof(VerifiedProof),
}

/// Verifies a statement or a proof, whichever the file is.
pub fn verify_any(file: &[u8], trusted_key: Option<&str>) -> Result<Checked, VerifyError> {
    let value: serde_json::Value =
        serde_json::from_slice(file).map_err(|error| VerifyError::Malformed(error.to_string()))?;
    if value.get("format").is_some() {
        verify_proof(file, trusted_key).map(Checked::Proof)
    } else {
        verify(file, trusted_key).map(Checked::Statement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn line(person: &str, posted_minor: i64, held_minor: i64) -> PersonLine {
        PersonLine {
            accounts: vec![
                AccountLine {
                    currency: "EUR".into(),
                    held_minor,
                    posted_minor,
                    purpose: "release_savings".into(),
                },
                AccountLine {
                    currency: "EUR".into(),
                    held_minor: 0,
                    posted_minor: 100,
                    purpose: "spendable".into(),
                },
            ],
            person_id: person.into(),
            prison_id: None,
        }
    }

    fn subject() -> Subject {
        Subject {
            at: "2026-01-31T23:59:59Z".into(),
            generated_at: "2026-02-01T08:00:00Z".into(),
            journal: Some(JournalBinding {
                checkpoint_n: 3,
                checkpoint_sha256: "ab".repeat(32),
                through_seq: 12_000,
            }),
            prison_id: None,
        }
    }

    fn statement() -> Statement {
        sign(
            subject(),
            vec![line("b", 250, 50), line("a", 1, 0), line("c", 0, 0)],
            &key(7),
        )
        .unwrap()
    }

    #[test]
    fn a_signed_statement_verifies_sorted_with_its_totals() {
        let statement = statement();
        let text = to_file_text(&statement);
        let verified = verify(text.as_bytes(), None).unwrap();
        assert!(!verified.key_pinned);
        assert_eq!(verified.header.persons, 3);
        assert_eq!(
            verified.header.totals,
            vec![Total {
                currency: "EUR".into(),
                held_minor: 50,
                posted_minor: 551
            }]
        );
        assert!(statement.lines[0].contains("\"person_id\":\"a\""));
        assert!(statement.lines[0].starts_with("{\"accounts\":[{\"currency\":\"EUR\""));
        let pinned = public_key_hex(&key(7).verifying_key());
        assert!(verify(text.as_bytes(), Some(&pinned)).unwrap().key_pinned);
        let other = public_key_hex(&key(8).verifying_key());
        assert_eq!(
            verify(text.as_bytes(), Some(&other)).unwrap_err().code(),
            "key_mismatch"
        );
    }

    #[test]
    fn every_one_byte_change_fails() {
        let text = to_file_text(&statement()).into_bytes();
        for position in 0..text.len() {
            for replacement in [b' ', b'0', b'"'] {
                let mut changed = text.clone();
                if changed[position] == replacement {
                    continue;
                }
                changed[position] = replacement;
                assert!(
                    verify(&changed, None).is_err(),
                    "byte {position} changed to {replacement} still verifies"
                );
            }
        }
    }

    #[test]
    fn a_statement_re_signed_with_a_lie_in_a_line_fails_on_the_root() {
        let mut statement = statement();
        statement.lines[1] = statement.lines[1].replace("250", "251");
        let text = to_file_text(&statement);
        assert_eq!(
            verify(text.as_bytes(), None).unwrap_err().code(),
            "root_mismatch"
        );
    }

    #[test]
    fn a_proof_verifies_alone_and_a_changed_one_does_not() {
        let statement = statement();
        let proof = proof(&statement, "b").unwrap();
        assert!(!proof.line.contains("\"a\"") && !proof.line.contains("\"c\""));
        let text = to_file_text(&proof);
        assert!(!text.contains("\"person_id\":\"a\""));
        let verified = verify_proof(text.as_bytes(), None).unwrap();
        assert_eq!(verified.line, line("b", 250, 50));
        assert!(matches!(
            verify_any(text.as_bytes(), None),
            Ok(Checked::Proof(_))
        ));
        let changed = text.replace("250", "251");
        assert_eq!(
            verify_proof(changed.as_bytes(), None).unwrap_err().code(),
            "path_mismatch"
        );
        let mut moved = proof.clone();
        moved.leaf_index = 0;
        assert_eq!(
            verify_proof(to_file_text(&moved).as_bytes(), None)
                .unwrap_err()
                .code(),
            "path_mismatch"
        );
        assert!(super::proof(&statement, "nobody").is_none());
    }
}
