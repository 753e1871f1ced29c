//! The egress guard: the last check before anything leaves for the processor (protocol 1).
//!
//! Every outbound request is inspected and either refused with a stable code, or turned into an
//! [`EgressRecord`] for the egress register: endpoint, pseudonym, field names and a hash of the
//! body, never the values. Refusal reasons never quote the offending value either, so they can
//! be logged.

use processor_protocol::PERSONAL_FIELDS;
use serde_json::Value;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::pseudonym::PseudonymKeys;

/// Personal values shorter than this (after normalisation) are only checked in hashed form:
/// a two-letter value would be found inside unrelated words and block every request.
pub const MIN_MATCHED_VALUE_CHARS: usize = 3;
/// Personal values shorter than this are found only as whole words (not inside a longer run of
/// letters and digits). A prison code such as `HML` occurs by chance in about one processor id in
/// 1,600 (`card_` + 20 random letters and digits), which would dead-letter that card's calls;
/// at six characters the chance is about one in 100 million.
pub const WORD_MATCHED_BELOW_CHARS: usize = 6;
/// A hash leaked in part is still a leak; this many leading hex digits (64 bits) identify it.
const HASH_PREFIX_HEX_CHARS: usize = 16;

/// What the egress register keeps about one outbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRecord {
    pub method: String,
    pub path: String,
    /// The external_ref the body carries, if any.
    pub pseudonym: Option<String>,
    /// JSON field names sent, as dotted paths (`spend_controls.blocked_mcc`), no values.
    pub fields: Vec<String>,
    /// SHA-256 hex of the body bytes as sent (`serde_json::to_vec` of the body; of no bytes
    /// when the body is JSON `null`, i.e. no body).
    pub body_sha256: String,
}

impl EgressRecord {
    /// `"POST /v1/cards"`.
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressViolation {
    #[error("personal field {field} must never be sent to the processor")]
    PersonalField { field: String },
    #[error("{field} must be empty")]
    Memo { field: String },
    #[error("{field} must be the program's card name")]
    EmbossedName { field: String },
    #[error("{field} is not a well-formed pseudonym")]
    MalformedPseudonym { field: String },
    #[error("{field} contains a personal value of the person concerned")]
    PersonalValue { field: String },
    #[error("{field} contains an unkeyed hash of a personal value")]
    HashedPersonalValue { field: String },
}

impl EgressViolation {
    pub fn code(&self) -> &'static str {
        match self {
            EgressViolation::PersonalField { .. } => "egress_personal_field",
            EgressViolation::Memo { .. } => "egress_memo",
            EgressViolation::EmbossedName { .. } => "egress_embossed_name",
            EgressViolation::MalformedPseudonym { .. } => "egress_malformed_pseudonym",
            EgressViolation::PersonalValue { .. } => "egress_personal_value",
            EgressViolation::HashedPersonalValue { .. } => "egress_hashed_personal_value",
        }
    }

    /// The JSON path (or `"path"` for the URL) where the problem was found.
    pub fn field(&self) -> &str {
        match self {
            EgressViolation::PersonalField { field }
            | EgressViolation::Memo { field }
            | EgressViolation::EmbossedName { field }
            | EgressViolation::MalformedPseudonym { field }
            | EgressViolation::PersonalValue { field }
            | EgressViolation::HashedPersonalValue { field } => field,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EgressGuard {
    program_card_name: String,
}

/// Lower case, whitespace runs collapsed to one space, trimmed.
fn normalise(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn compact(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

/// The forms of the personal values we look for.
struct Needles {
    /// Normalised and whitespace-free forms, long enough to search for anywhere.
    plain: Vec<String>,
    /// Short forms, searched for as whole words only.
    words: Vec<String>,
    /// Leading hex digits of unkeyed hashes of the usual spellings of each value.
    hashes: Vec<String>,
}

impl Needles {
    fn new(personal_values: &[String]) -> Needles {
        let mut plain = Vec::new();
        let mut words = Vec::new();
        let mut hashes = Vec::new();
        for value in personal_values {
            let normalised = normalise(value);
            if normalised.is_empty() {
                continue;
            }
            let compacted = compact(value);
            for form in [&normalised, &compacted] {
                let chars = form.chars().count();
                let list = if chars < MIN_MATCHED_VALUE_CHARS {
                    continue;
                } else if chars < WORD_MATCHED_BELOW_CHARS {
                    &mut words
                } else {
                    &mut plain
                };
                if !list.contains(form) {
                    list.push(form.clone());
                }
            }
            let spellings = [
                value.clone(),
                value.trim().to_owned(),
                normalised.clone(),
                normalised.to_uppercase(),
                compacted.clone(),
                compacted.to_uppercase(),
            ];
            for spelling in spellings {
                let bytes = spelling.as_bytes();
                for digest in [
                    hex::encode(Sha256::digest(bytes)),
                    hex::encode(Sha512::digest(bytes)),
                    hex::encode(Sha384::digest(bytes)),
                    hex::encode(Sha224::digest(bytes)),
                ] {
                    let prefix = digest[..HASH_PREFIX_HEX_CHARS].to_owned();
                    if !hashes.contains(&prefix) {
                        hashes.push(prefix);
                    }
                }
            }
        }
        Needles {
            plain,
            words,
            hashes,
        }
    }

    fn check(&self, field: &str, text: &str) -> Result<(), EgressViolation> {
        if self.plain.is_empty() && self.words.is_empty() && self.hashes.is_empty() {
            return Ok(());
        }
        let normalised = normalise(text);
        let compacted = compact(text);
        if self.plain.iter().any(|needle| {
            normalised.contains(needle.as_str()) || compacted.contains(needle.as_str())
        }) || self
            .words
            .iter()
            .any(|needle| contains_word(&normalised, needle))
        {
            return Err(EgressViolation::PersonalValue {
                field: field.to_owned(),
            });
        }
        if self
            .hashes
            .iter()
            .any(|prefix| compacted.contains(prefix.as_str()))
        {
            return Err(EgressViolation::HashedPersonalValue {
                field: field.to_owned(),
            });
        }
        Ok(())
    }
}

/// Whether `needle` occurs in `haystack` with no letter or digit right before or after it.
fn contains_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(start, _)| {
        let before = haystack[..start].chars().next_back();
        let after = haystack[start + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

struct Walk<'a> {
    guard: &'a EgressGuard,
    needles: Needles,
    fields: Vec<String>,
    pseudonym: Option<String>,
}

impl Walk<'_> {
    fn value(&mut self, path: &str, value: &Value) -> Result<(), EgressViolation> {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let child_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.key(&child_path, key, child)?;
                    if !self.fields.contains(&child_path) {
                        self.fields.push(child_path.clone());
                    }
                    self.value(&child_path, child)?;
                }
                Ok(())
            }
            Value::Array(items) => {
                let item_path = format!("{path}[]");
                for item in items {
                    self.value(&item_path, item)?;
                }
                Ok(())
            }
            Value::String(text) => self.needles.check(path, text),
            Value::Number(number) => self.needles.check(path, &number.to_string()),
            Value::Bool(_) | Value::Null => Ok(()),
        }
    }

    /// Rules tied to a field name, wherever it appears in the tree.
    fn key(&mut self, path: &str, key: &str, value: &Value) -> Result<(), EgressViolation> {
        let field = || path.to_owned();
        self.needles.check(path, key)?;
        if PERSONAL_FIELDS.contains(&key) {
            return Err(EgressViolation::PersonalField { field: field() });
        }
        match key {
            "memo" => match value {
                Value::Null => Ok(()),
                Value::String(s) if s.is_empty() => Ok(()),
                _ => Err(EgressViolation::Memo { field: field() }),
            },
            "embossed_name" => match value {
                Value::Null => Ok(()),
                Value::String(s) if *s == self.guard.program_card_name => Ok(()),
                _ => Err(EgressViolation::EmbossedName { field: field() }),
            },
            "external_ref" => match value {
                Value::String(s) if PseudonymKeys::is_well_formed(s) => {
                    if self.pseudonym.is_none() {
                        self.pseudonym = Some(s.clone());
                    }
                    Ok(())
                }
                _ => Err(EgressViolation::MalformedPseudonym { field: field() }),
            },
            _ => Ok(()),
        }
    }
}

impl EgressGuard {
    /// `program_card_name`: the only `embossed_name` this program prints (e.g.
    /// `"PRISON SERVICE CARD"`).
    pub fn new(program_card_name: impl Into<String>) -> EgressGuard {
        EgressGuard {
            program_card_name: program_card_name.into(),
        }
    }

    pub fn program_card_name(&self) -> &str {
        &self.program_card_name
    }

    /// Checks one piece of text that travels outside the body (a header such as the
    /// Idempotency-Key) for the person's personal values and their unkeyed hashes.
    pub fn check_text(
        &self,
        field: &str,
        text: &str,
        personal_values: &[String],
    ) -> Result<(), EgressViolation> {
        Needles::new(personal_values).check(field, text)
    }

    /// Inspects one outbound request. `personal_values` are the personal data of the person the
    /// request concerns (names, date of birth, prisoner number, ...), as held in the identity
    /// store; none of them, nor an unkeyed hash of one, may appear in the path or the body.
    pub fn inspect(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        personal_values: &[String],
    ) -> Result<EgressRecord, EgressViolation> {
        let mut walk = Walk {
            guard: self,
            needles: Needles::new(personal_values),
            fields: Vec::new(),
            pseudonym: None,
        };
        walk.needles.check("path", path)?;
        walk.value("", body)?;
        let bytes = body_bytes(body);
        Ok(EgressRecord {
            method: method.to_owned(),
            path: path.to_owned(),
            pseudonym: walk.pseudonym,
            fields: walk.fields,
            body_sha256: hex::encode(Sha256::digest(&bytes)),
        })
    }
}

/// The exact bytes sent for a body: none for JSON `null`.
pub fn body_bytes(body: &Value) -> Vec<u8> {
    if body.is_null() {
        Vec::new()
    } else {
        // Serializing a `Value` cannot fail (all keys are strings).
        serde_json::to_vec(body).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// The egress register
// ---------------------------------------------------------------------------------------------

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where the record of every request said to the processor is kept. The [`ProcessorClient`]
/// writes to it from the one place requests leave, so writes and reads (settlement files, the
/// funding balance, card look-ups) alike are recorded.
///
/// [`ProcessorClient`]: crate::client::ProcessorClient
pub trait EgressRegister: Send + Sync + std::fmt::Debug {
    /// A request that left; `status` is the processor's HTTP status, `None` when no answer came
    /// (a timeout or a broken connection: it may still have arrived).
    fn sent<'a>(
        &'a self,
        request: &'a EgressRecord,
        person_id: Option<uuid::Uuid>,
        status: Option<u16>,
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// A request the egress guard refused: it never left. Only the hash of its body is kept.
    fn refused<'a>(
        &'a self,
        method: &'a str,
        path: &'a str,
        person_id: Option<uuid::Uuid>,
        body_sha256: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// The register in `card.egress_register` (append-only).
#[derive(Clone)]
pub struct PgEgressRegister {
    pub pool: deadpool_postgres::Pool,
    /// The processor the client sends to, on every row.
    pub processor_id: String,
}

impl std::fmt::Debug for PgEgressRegister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgEgressRegister")
    }
}

impl EgressRegister for PgEgressRegister {
    fn sent<'a>(
        &'a self,
        request: &'a EgressRecord,
        person_id: Option<uuid::Uuid>,
        status: Option<u16>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let status = status.map(i32::from);
            client
                .execute(
                    "insert into card.egress_register
                        (method, path, pseudonym, person_id, field_names, body_sha256, outcome,
                         status_code, processor_id)
                     values ($1, $2, $3, $4, $5, $6, 'sent', $7, $8)",
                    &[
                        &request.method,
                        &request.path,
                        &request.pseudonym,
                        &person_id,
                        &request.fields,
                        &request.body_sha256,
                        &status,
                        &self.processor_id,
                    ],
                )
                .await?;
            Ok(())
        })
    }

    fn refused<'a>(
        &'a self,
        method: &'a str,
        path: &'a str,
        person_id: Option<uuid::Uuid>,
        body_sha256: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            client
                .execute(
                    "insert into card.egress_register
                        (method, path, pseudonym, person_id, field_names, body_sha256, outcome,
                         processor_id)
                     values ($1, $2, null, $3, '{}', $4, 'refused', $5)",
                    &[&method, &path, &person_id, &body_sha256, &self.processor_id],
                )
                .await?;
            Ok(())
        })
    }
}

/// No register: only for the simulator's own tests, which run without a database. Saldo's
/// client is always built with [`PgEgressRegister`] (`saldo::processor::processor_client`).
#[derive(Debug, Clone, Copy)]
pub struct NoEgressRegister;

impl EgressRegister for NoEgressRegister {
    fn sent<'a>(
        &'a self,
        _request: &'a EgressRecord,
        _person_id: Option<uuid::Uuid>,
        _status: Option<u16>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn refused<'a>(
        &'a self,
        _method: &'a str,
        _path: &'a str,
        _person_id: Option<uuid::Uuid>,
        _body_sha256: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CARD_NAME: &str = "PRISON SERVICE CARD";
    fn guard() -> EgressGuard {
        EgressGuard::new(CARD_NAME)
    }
    fn pseudonym() -> String {
        format!("p1_{}", "0123456789abcdef".repeat(3)[..40].to_owned())
    }
    fn personal() -> Vec<String> {
        vec![
            "Matti  Meikäläinen".to_owned(),
            "1985-03-14".to_owned(),
            "FI-123456".to_owned(),
        ]
    }

    #[test]
    fn clean_requests_become_register_records() {
        let body = json!({"external_ref": pseudonym(), "program": "prison-fi"});
        let record = guard()
            .inspect("POST", "/v1/cardholders", &body, &personal())
            .unwrap();
        assert_eq!(record.endpoint(), "POST /v1/cardholders");
        assert_eq!(record.pseudonym, Some(pseudonym()));
        assert_eq!(record.fields, vec!["external_ref", "program"]);
        assert_eq!(
            record.body_sha256,
            hex::encode(Sha256::digest(serde_json::to_vec(&body).unwrap()))
        );

        let card = json!({"cardholder_id": "ch_1", "form": "PHYSICAL", "embossed_name": CARD_NAME,
            "spend_controls": {"per_authorization_max": 20000, "blocked_mcc": ["7995"]}, "memo": ""});
        let record = guard()
            .inspect("POST", "/v1/cards", &card, &personal())
            .unwrap();
        assert_eq!(record.pseudonym, None);
        assert!(
            record
                .fields
                .contains(&"spend_controls.blocked_mcc".to_owned())
        );
        assert!(
            record
                .fields
                .contains(&"spend_controls.per_authorization_max".to_owned())
        );

        let get = guard()
            .inspect("GET", "/v1/cards/card_1", &Value::Null, &[])
            .unwrap();
        assert!(get.fields.is_empty());
        assert_eq!(get.body_sha256, hex::encode(Sha256::digest(b"")));
    }

    fn refusal(body: Value) -> EgressViolation {
        guard()
            .inspect("POST", "/v1/cardholders", &body, &personal())
            .unwrap_err()
    }

    #[test]
    fn refuses_personal_fields_anywhere() {
        for field in PERSONAL_FIELDS {
            let top = refusal(json!({"external_ref": pseudonym(), field: "x"}));
            assert_eq!(top.code(), "egress_personal_field");
            assert_eq!(top.field(), field);
            // Even null, even nested: the key itself must not travel.
            let nested = refusal(json!({"meta": [{"person": {field: null}}]}));
            assert_eq!(nested.code(), "egress_personal_field");
            assert_eq!(nested.field(), format!("meta[].person.{field}"));
        }
    }

    #[test]
    fn refuses_memo_embossed_name_and_bad_pseudonyms() {
        assert_eq!(refusal(json!({"memo": "wing B"})).code(), "egress_memo");
        assert_eq!(refusal(json!({"memo": 1})).code(), "egress_memo");
        assert_eq!(
            refusal(json!({"embossed_name": "MATTI M"})).code(),
            "egress_embossed_name"
        );
        assert_eq!(
            refusal(json!({"embossed_name": "prison service card"})).code(),
            "egress_embossed_name"
        );
        for bad in [json!("FI-999"), json!("p1_short"), json!(12), json!(null)] {
            assert_eq!(
                refusal(json!({"external_ref": bad})).code(),
                "egress_malformed_pseudonym"
            );
        }
    }

    #[test]
    fn refuses_personal_values_in_any_spelling() {
        for text in [
            "matti meikäläinen",
            "MATTI MEIKÄLÄINEN",
            "Card of Matti\tMeikäläinen",
            "mattimeikäläinen",
            "born 1985-03-14",
            "fi-123456",
        ] {
            let err = refusal(json!({"reason": text}));
            assert_eq!(err.code(), "egress_personal_value", "{text}");
            assert_eq!(err.field(), "reason");
        }
        // In a key, in a number, in the URL path.
        assert_eq!(
            refusal(json!({"FI-123456": 1})).code(),
            "egress_personal_value"
        );
        let numbers = vec!["19850314".to_owned()];
        let err = guard()
            .inspect("POST", "/v1/cards", &json!({"x": 19850314}), &numbers)
            .unwrap_err();
        assert_eq!(err.code(), "egress_personal_value");
        let err = guard()
            .inspect("GET", "/v1/cards/FI-123456", &Value::Null, &personal())
            .unwrap_err();
        assert_eq!(err.field(), "path");
        // The message names the field, never the value.
        assert!(!err.to_string().contains("123456"));
    }

    #[test]
    fn refuses_unkeyed_hashes_of_personal_values() {
        let sha = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
        for text in [
            sha("FI-123456"),
            sha("FI-123456").to_uppercase(),
            sha("fi-123456"),
            format!("ph_{}", &sha("1985-03-14")[..20]),
            hex::encode(Sha512::digest(b"matti meik\xc3\xa4l\xc3\xa4inen")),
        ] {
            let err = refusal(json!({"external_ref": pseudonym(), "tag": text}));
            assert_eq!(err.code(), "egress_hashed_personal_value", "{text}");
        }
        // The same hash in the external_ref slot is refused too (not even pseudonym-shaped).
        let err = refusal(json!({"external_ref": format!("p1_{}", &sha("FI-123456")[..40])}));
        assert_eq!(err.code(), "egress_hashed_personal_value");
    }

    #[test]
    fn headers_are_checked_too() {
        let guard = guard();
        assert!(
            guard
                .check_text("Idempotency-Key", "card-7f3a", &personal())
                .is_ok()
        );
        let err = guard
            .check_text("Idempotency-Key", "create-FI-123456", &personal())
            .unwrap_err();
        assert_eq!(err.code(), "egress_personal_value");
        assert_eq!(err.field(), "Idempotency-Key");
    }

    #[test]
    fn short_values_do_not_block_everything() {
        let record = guard().inspect(
            "POST",
            "/v1/cards/card_1/state",
            &json!({"state": "ACTIVE", "reason": "activated"}),
            &["Li".to_owned(), "".to_owned()],
        );
        assert!(record.is_ok());
    }

    #[test]
    fn values_under_six_characters_are_found_as_words_but_not_inside_ids() {
        let values = vec!["HML".to_owned(), "Virta".to_owned()];
        for (path, reason) in [
            ("/v1/cards/card_aXhMlq0rT5/state", "activated"),
            ("/v1/cards/card_1/state", "virtanen"),
            ("/v1/cards/card_1/state", "hml2"),
        ] {
            let record = guard().inspect(
                "POST",
                path,
                &json!({"state": "ACTIVE", "reason": reason}),
                &values,
            );
            assert!(record.is_ok(), "{path} {reason}: {record:?}");
        }
        for (path, reason) in [
            ("/v1/prisons/HML/cards", "activated"),
            ("/v1/cards/card_1/state", "moved to hml"),
            ("/v1/cards/card_1/state", "virta, hml-2026"),
            ("/v1/cards/card_1/state", "(Virta)"),
        ] {
            let err = guard()
                .inspect(
                    "POST",
                    path,
                    &json!({"state": "ACTIVE", "reason": reason}),
                    &values,
                )
                .unwrap_err();
            assert_eq!(err.code(), "egress_personal_value", "{path} {reason}");
        }
    }
}
