//! Keyed pseudonyms: the only link between a processor cardholder and a person (protocol 1).
//!
//! `external_ref = "p" + key version + "_" + hex(HMAC-SHA256(key, domain || person id))[..40]`.
//! The key is a secret held in the EU, so the processor cannot derive or test a pseudonym from
//! anything it might learn. The version in the ref lets the key rotate: new cards get the
//! current version, existing refs keep resolving under the version they name.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

pub const MIN_KEY_BYTES: usize = 32;
/// 160 bits of the HMAC: collisions are negligible for any prison population, and the ref stays
/// well inside the protocol's 64 characters.
pub const PSEUDONYM_HEX_CHARS: usize = 40;
/// Separates this use of the key from any other.
const DOMAIN: &[u8] = b"saldo/processor-external-ref/v1\0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PseudonymError {
    #[error("pseudonym key version {0} must be at least 1")]
    BadVersion(u32),
    #[error("pseudonym key version {0} must be at least {MIN_KEY_BYTES} bytes")]
    KeyTooShort(u32),
    #[error("pseudonym key version {0} is configured twice")]
    DuplicateVersion(u32),
    #[error("pseudonym key version {0} is not configured")]
    UnknownVersion(u32),
    #[error("pseudonym key specification is malformed: {0}")]
    BadSpec(String),
}

/// Versioned pseudonym keys, one of them current. `Debug` never shows key material.
#[derive(Clone)]
pub struct PseudonymKeys {
    keys: BTreeMap<u32, Vec<u8>>,
    current: u32,
}

impl fmt::Debug for PseudonymKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PseudonymKeys")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish()
    }
}

impl PseudonymKeys {
    /// Keys with one version, which is current.
    pub fn new(
        current_version: u32,
        current_key: Vec<u8>,
    ) -> Result<PseudonymKeys, PseudonymError> {
        check_key(current_version, &current_key)?;
        let mut keys = BTreeMap::new();
        keys.insert(current_version, current_key);
        Ok(PseudonymKeys {
            keys,
            current: current_version,
        })
    }

    /// Adds an older (or newer, not yet current) version, still able to resolve its refs.
    pub fn with_key(mut self, version: u32, key: Vec<u8>) -> Result<PseudonymKeys, PseudonymError> {
        check_key(version, &key)?;
        if self.keys.contains_key(&version) {
            return Err(PseudonymError::DuplicateVersion(version));
        }
        self.keys.insert(version, key);
        Ok(self)
    }

    /// Parses configuration of the form `1:<base64>,2:<base64>` with `current` naming one of them.
    pub fn parse(spec: &str, current: u32) -> Result<PseudonymKeys, PseudonymError> {
        let mut entries = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (version, key) = part.split_once(':').ok_or_else(|| {
                PseudonymError::BadSpec("each key must be <version>:<base64>".to_owned())
            })?;
            let version: u32 = version
                .parse()
                .map_err(|_| PseudonymError::BadSpec("version must be a number".to_owned()))?;
            let key = base64::engine::general_purpose::STANDARD
                .decode(key)
                .map_err(|_| PseudonymError::BadSpec(format!("key {version} is not base64")))?;
            entries.push((version, key));
        }
        let position = entries
            .iter()
            .position(|(v, _)| *v == current)
            .ok_or(PseudonymError::UnknownVersion(current))?;
        let (version, key) = entries.remove(position);
        let mut keys = PseudonymKeys::new(version, key)?;
        for (version, key) in entries {
            keys = keys.with_key(version, key)?;
        }
        Ok(keys)
    }

    pub fn current_version(&self) -> u32 {
        self.current
    }

    /// The external_ref for a person under the current key.
    pub fn pseudonym_for(&self, person_id: Uuid) -> String {
        let key = &self.keys[&self.current];
        compute(self.current, key, person_id)
    }

    /// The external_ref for a person under a given key version.
    pub fn pseudonym_with_version(
        &self,
        version: u32,
        person_id: Uuid,
    ) -> Result<String, PseudonymError> {
        let key = self
            .keys
            .get(&version)
            .ok_or(PseudonymError::UnknownVersion(version))?;
        Ok(compute(version, key, person_id))
    }

    /// The key version a well-formed external_ref was made with.
    pub fn version_of(external_ref: &str) -> Option<u32> {
        let rest = external_ref.strip_prefix('p')?;
        let (version, digest) = rest.split_once('_')?;
        if version.is_empty()
            || version.starts_with('0')
            || !version.bytes().all(|b| b.is_ascii_digit())
            || digest.len() != PSEUDONYM_HEX_CHARS
            || !digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        version.parse().ok().filter(|v| *v >= 1)
    }

    /// `true` for something shaped like a pseudonym of this scheme (any version).
    pub fn is_well_formed(external_ref: &str) -> bool {
        Self::version_of(external_ref).is_some()
    }

    /// Whether `external_ref` is this person's pseudonym under the version it names.
    /// Constant-time in the digest comparison.
    pub fn matches(&self, external_ref: &str, person_id: Uuid) -> bool {
        let Some(version) = Self::version_of(external_ref) else {
            return false;
        };
        let Ok(expected) = self.pseudonym_with_version(version, person_id) else {
            return false;
        };
        expected.as_bytes().ct_eq(external_ref.as_bytes()).into()
    }
}

fn check_key(version: u32, key: &[u8]) -> Result<(), PseudonymError> {
    if version == 0 {
        return Err(PseudonymError::BadVersion(version));
    }
    if key.len() < MIN_KEY_BYTES {
        return Err(PseudonymError::KeyTooShort(version));
    }
    Ok(())
}

fn compute(version: u32, key: &[u8], person_id: Uuid) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(DOMAIN);
    mac.update(&version.to_be_bytes());
    mac.update(person_id.as_bytes());
    let digest = hex::encode(mac.finalize().into_bytes());
    format!("p{version}_{}", &digest[..PSEUDONYM_HEX_CHARS])
}

#[cfg(test)]
mod tests {
    use super::*;
    use processor_protocol::is_token_1_64;

    fn key(byte: u8) -> Vec<u8> {
        vec![byte; 32]
    }

    #[test]
    fn deterministic_and_well_formed() {
        let keys = PseudonymKeys::new(1, key(7)).unwrap();
        let person = Uuid::from_u128(42);
        let a = keys.pseudonym_for(person);
        assert_eq!(a, keys.pseudonym_for(person));
        assert!(
            is_token_1_64(&a),
            "{a} must fit the protocol's external_ref pattern"
        );
        assert!(a.starts_with("p1_"));
        assert_eq!(a.len(), 3 + PSEUDONYM_HEX_CHARS);
        assert_eq!(PseudonymKeys::version_of(&a), Some(1));
        assert!(keys.matches(&a, person));
        assert!(!keys.matches(&a, Uuid::from_u128(43)));
        assert_ne!(a, keys.pseudonym_for(Uuid::from_u128(43)));
        // The unkeyed uuid appears nowhere in it.
        assert!(!a.contains(&person.simple().to_string()[..8]));
    }

    #[test]
    fn keys_and_versions_change_the_ref() {
        let person = Uuid::from_u128(42);
        let k1 = PseudonymKeys::new(1, key(7)).unwrap();
        let other_key = PseudonymKeys::new(1, key(8)).unwrap();
        assert_ne!(k1.pseudonym_for(person), other_key.pseudonym_for(person));

        // Rotation: version 2 becomes current, version 1 refs still resolve.
        let rotated = PseudonymKeys::new(2, key(9))
            .unwrap()
            .with_key(1, key(7))
            .unwrap();
        let old_ref = k1.pseudonym_for(person);
        let new_ref = rotated.pseudonym_for(person);
        assert!(new_ref.starts_with("p2_"));
        assert_ne!(old_ref, new_ref);
        assert!(rotated.matches(&old_ref, person));
        assert!(rotated.matches(&new_ref, person));
        assert_eq!(rotated.pseudonym_with_version(1, person).unwrap(), old_ref);
        // Same key bytes under another version still give another ref.
        let same_bytes = PseudonymKeys::new(3, key(7)).unwrap();
        assert_ne!(
            same_bytes.pseudonym_for(person)[3..],
            k1.pseudonym_for(person)[3..]
        );
    }

    #[test]
    fn rejects_weak_or_bad_configuration() {
        assert_eq!(
            PseudonymKeys::new(1, vec![1; 31]).unwrap_err(),
            PseudonymError::KeyTooShort(1)
        );
        assert_eq!(
            PseudonymKeys::new(0, key(1)).unwrap_err(),
            PseudonymError::BadVersion(0)
        );
        assert_eq!(
            PseudonymKeys::new(1, key(1))
                .unwrap()
                .with_key(1, key(2))
                .unwrap_err(),
            PseudonymError::DuplicateVersion(1)
        );
        let b64 = |k: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(k);
        let spec = format!("1:{},2:{}", b64(key(1)), b64(key(2)));
        let keys = PseudonymKeys::parse(&spec, 2).unwrap();
        assert_eq!(keys.current_version(), 2);
        assert!(keys.pseudonym_with_version(1, Uuid::nil()).is_ok());
        assert_eq!(
            PseudonymKeys::parse(&spec, 3).unwrap_err(),
            PseudonymError::UnknownVersion(3)
        );
        assert!(!format!("{keys:?}").contains(&b64(key(1))));
    }

    #[test]
    fn version_of_rejects_lookalikes() {
        let hex40 = "a".repeat(40);
        assert_eq!(PseudonymKeys::version_of(&format!("p12_{hex40}")), Some(12));
        for bad in [
            format!("p0_{hex40}"),
            format!("p01_{hex40}"),
            format!("p_{hex40}"),
            format!("q1_{hex40}"),
            format!("p1_{}", "A".repeat(40)),
            format!("p1_{}", "a".repeat(39)),
            "ph_3kq9".to_owned(),
            "123456".to_owned(),
        ] {
            assert_eq!(PseudonymKeys::version_of(&bad), None, "{bad}");
        }
    }
}
