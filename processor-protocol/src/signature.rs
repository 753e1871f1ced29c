//! Standard Webhooks signing and verification (protocol 3.1).
//!
//! HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{raw body}`, base64, written `v1,<sig>`;
//! several space-separated signatures may be present (secret rotation) and one match is enough.
//! Verification always works on the raw body bytes and compares in constant time.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Largest clock difference accepted in either direction (3.1).
pub const TIMESTAMP_TOLERANCE_SECONDS: u64 = 300;
pub const SECRET_PREFIX: &str = "whsec_";
/// Weaker secrets are refused outright; the Standard Webhooks default is 24 bytes.
pub const MIN_SECRET_BYTES: usize = 16;
const SIGNATURE_BYTES: usize = 32;

/// Header names of 3.1.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Secrets may come with or without padding; signatures we accept are checked for length.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A webhook signing secret, `whsec_<base64>`. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("webhook secret must start with {SECRET_PREFIX}")]
    MissingPrefix,
    #[error("webhook secret is not valid base64 after {SECRET_PREFIX}")]
    NotBase64,
    #[error("webhook secret must decode to at least {MIN_SECRET_BYTES} bytes")]
    TooShort,
}

impl WebhookSecret {
    pub fn parse(value: &str) -> Result<WebhookSecret, SecretError> {
        let encoded = value
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = LENIENT_BASE64
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        Self::from_bytes(key)
    }

    pub fn from_bytes(key: Vec<u8>) -> Result<WebhookSecret, SecretError> {
        if key.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort);
        }
        Ok(WebhookSecret { key })
    }

    /// A fresh random secret (simulator, tests).
    pub fn generate() -> WebhookSecret {
        let key: [u8; 32] = rand::random();
        WebhookSecret { key: key.to_vec() }
    }

    /// The `whsec_<base64>` form, to hand to the other side.
    pub fn to_whsec(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    fn mac(&self, msg_id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl FromStr for WebhookSecret {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WebhookSecret::parse(s)
    }
}

/// One `v1,<base64>` signature.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret
        .mac(msg_id, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// The header value signed with every secret (during a rotation: old and new).
pub fn sign_all(secrets: &[WebhookSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| sign(s, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three webhook headers as received; `None` when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no webhook secret configured")]
    NoSecrets,
    #[error("webhook-id header missing or empty")]
    MissingId,
    #[error("webhook-timestamp header missing or empty")]
    MissingTimestamp,
    #[error("webhook-signature header missing or empty")]
    MissingSignature,
    #[error("webhook-timestamp is not an integer number of seconds")]
    InvalidTimestamp,
    #[error("webhook-timestamp is more than {TIMESTAMP_TOLERANCE_SECONDS} s away from our clock")]
    TimestampOutOfTolerance,
    #[error("webhook-signature has no v1 signature")]
    UnsupportedVersion,
    #[error("webhook-signature is malformed or truncated")]
    MalformedSignature,
    #[error("no signature matches")]
    NoMatch,
}

impl SignatureError {
    /// Stable code for logs, metrics and the inbox's rejection record.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::NoSecrets => "no_secrets",
            SignatureError::MissingId => "missing_webhook_id",
            SignatureError::MissingTimestamp => "missing_webhook_timestamp",
            SignatureError::MissingSignature => "missing_webhook_signature",
            SignatureError::InvalidTimestamp => "invalid_webhook_timestamp",
            SignatureError::TimestampOutOfTolerance => "webhook_timestamp_out_of_tolerance",
            SignatureError::UnsupportedVersion => "unsupported_signature_version",
            SignatureError::MalformedSignature => "malformed_signature",
            SignatureError::NoMatch => "signature_mismatch",
        }
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// Verifies a webhook: headers present, timestamp an integer within ±300 s of `now_unix`, and
/// at least one well-formed `v1` signature matching one of `secrets`.
pub fn verify(
    secrets: &[WebhookSecret],
    headers: WebhookHeaders<'_>,
    raw_body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecrets);
    }
    let msg_id = non_empty(headers.id).ok_or(SignatureError::MissingId)?;
    let timestamp_text = non_empty(headers.timestamp).ok_or(SignatureError::MissingTimestamp)?;
    let signature_header =
        non_empty(headers.signature.map(str::trim)).ok_or(SignatureError::MissingSignature)?;

    // Digits only: no sign, spaces, decimals or exponent.
    if !timestamp_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::InvalidTimestamp);
    }
    let timestamp: i64 = timestamp_text
        .parse()
        .map_err(|_| SignatureError::InvalidTimestamp)?;
    if timestamp.abs_diff(now_unix) > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(SignatureError::TimestampOutOfTolerance);
    }

    let mut saw_v1 = false;
    let mut saw_well_formed = false;
    let mut matched = false;
    for token in signature_header.split(' ').filter(|t| !t.is_empty()) {
        let Some((version, encoded)) = token.split_once(',') else {
            continue;
        };
        if version != "v1" {
            continue;
        }
        saw_v1 = true;
        let Ok(tag) = STANDARD.decode(encoded) else {
            continue;
        };
        if tag.len() != SIGNATURE_BYTES {
            continue;
        }
        saw_well_formed = true;
        for secret in secrets {
            // `verify_slice` compares in constant time. Keep looping: no early exit on match
            // leaks nothing useful, but it keeps the work independent of which secret matched.
            if secret
                .mac(msg_id, timestamp_text, raw_body)
                .verify_slice(&tag)
                .is_ok()
            {
                matched = true;
            }
        }
    }
    if matched {
        Ok(())
    } else if saw_well_formed {
        Err(SignatureError::NoMatch)
    } else if saw_v1 {
        Err(SignatureError::MalformedSignature)
    } else if signature_header.contains(',') {
        Err(SignatureError::UnsupportedVersion)
    } else {
        Err(SignatureError::MalformedSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
    }

    #[test]
    fn published_vector_signs_as_expected() {
        let sig = sign(
            &secret(),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> WebhookHeaders<'a> {
        WebhookHeaders {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn each_rejection_has_its_code() {
        let s = secret();
        let body = b"{}";
        let good = sign(&s, "msg_1", 1000, body);
        let secrets = [s.clone()];
        let check = |h: WebhookHeaders<'_>, now: i64| verify(&secrets, h, body, now);
        let v2 = good.replacen("v1,", "v2,", 1);
        assert_eq!(check(headers("msg_1", "1000", &good), 1000), Ok(()));
        assert_eq!(
            verify(&[], headers("msg_1", "1000", &good), body, 1000),
            Err(SignatureError::NoSecrets)
        );
        let cases: Vec<(WebhookHeaders<'_>, &str)> = vec![
            (
                WebhookHeaders {
                    id: None,
                    ..headers("", "1000", &good)
                },
                "missing_webhook_id",
            ),
            (headers("", "1000", &good), "missing_webhook_id"),
            (
                WebhookHeaders {
                    timestamp: None,
                    ..headers("msg_1", "", &good)
                },
                "missing_webhook_timestamp",
            ),
            (headers("msg_1", "1000", ""), "missing_webhook_signature"),
            (
                WebhookHeaders {
                    signature: None,
                    ..headers("msg_1", "1000", "")
                },
                "missing_webhook_signature",
            ),
            (headers("msg_1", "10e2", &good), "invalid_webhook_timestamp"),
            (
                headers("msg_1", "-1000", &good),
                "invalid_webhook_timestamp",
            ),
            (
                headers("msg_1", "1000.0", &good),
                "invalid_webhook_timestamp",
            ),
            (
                headers("msg_1", " 1000", &good),
                "invalid_webhook_timestamp",
            ),
            (
                headers("msg_1", "1301", &good),
                "webhook_timestamp_out_of_tolerance",
            ),
            (headers("msg_1", "1000", "v1,"), "malformed_signature"),
            (headers("msg_1", "1000", "v1,AAAA"), "malformed_signature"),
            (headers("msg_1", "1000", "garbage"), "malformed_signature"),
            (
                headers("msg_1", "1000", &v2),
                "unsupported_signature_version",
            ),
            (headers("msg_2", "1000", &good), "signature_mismatch"),
        ];
        for (h, code) in cases {
            let err = check(h, 1000).unwrap_err();
            assert_eq!(err.code(), code, "{h:?}");
        }
    }

    #[test]
    fn rotation_accepts_either_secret() {
        let old = WebhookSecret::generate();
        let new = WebhookSecret::generate();
        let header = sign_all(&[old.clone(), new.clone()], "msg_1", 50, b"x");
        assert_eq!(header.split(' ').count(), 2);
        for receiver in [vec![old.clone()], vec![new.clone()], vec![new, old]] {
            assert_eq!(
                verify(&receiver, headers("msg_1", "50", &header), b"x", 50),
                Ok(())
            );
        }
        let other = WebhookSecret::generate();
        assert_eq!(
            verify(&[other], headers("msg_1", "50", &header), b"x", 50),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn secrets_are_validated_and_redacted() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::MissingPrefix)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_!!!"),
            Err(SecretError::NotBase64)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_AAAA"),
            Err(SecretError::TooShort)
        );
        let s = WebhookSecret::generate();
        assert_eq!(WebhookSecret::parse(&s.to_whsec()).unwrap(), s);
        assert!(!format!("{s:?}").contains(&s.to_whsec()[6..]));
    }
}
