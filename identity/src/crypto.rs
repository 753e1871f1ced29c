//! Envelope encryption of the identity store. Every person's record is sealed with AES-256-GCM
//! under their own random data key; each data key is wrapped (AES-256-GCM) under a versioned
//! master key from configuration. Destroying a data key (crypto-shredding) makes the record
//! unreadable for good, in every copy of the database. Look-ups by prisoner number or national
//! identity number go through HMAC-SHA256 under a separate lookup key: a plain hash of a
//! prisoner number could be reversed by trying every number.
//!
//! Configuration: `SALDO_MASTER_KEYS=1:<base64>,2:<base64>` (32 bytes each),
//! `SALDO_MASTER_KEY_VERSION` (the current one; default the highest), `SALDO_LOOKUP_KEY`
//! (base64, 32+ bytes), or the same lines in a key file (`SALDO_KEY_FILE`, default
//! `<data dir>/identity-keys`, generated with mode 0600 on first use when nothing is configured).
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

pub const KEY_BYTES: usize = 32;
pub const NONCE_BYTES: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("{0}")]
    Config(String),
    /// The master key version a data key was wrapped under is not configured.
    #[error("master key version {0} is not configured")]
    UnknownVersion(i32),
    /// Authentication failed: wrong key, or the ciphertext was changed.
    #[error("decryption failed")]
    Decrypt,
}

/// 32 secret bytes, zeroed on drop.
#[derive(Clone)]
struct Secret(zeroize::Zeroizing<[u8; KEY_BYTES]>);

impl Secret {
    fn random() -> Secret {
        let mut bytes = zeroize::Zeroizing::new([0u8; KEY_BYTES]);
        rand::rng().fill_bytes(bytes.as_mut());
        Secret(bytes)
    }

    fn from_slice(bytes: &[u8]) -> Option<Secret> {
        let array: [u8; KEY_BYTES] = bytes.try_into().ok()?;
        Some(Secret(zeroize::Zeroizing::new(array)))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.as_ref().into())
    }
}

/// The master keys (by version) and the lookup key. Never printed.
#[derive(Clone)]
pub struct Keyring {
    masters: BTreeMap<i32, Secret>,
    current: i32,
    lookup: Vec<u8>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("versions", &self.versions())
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// A data key, unwrapped: lives only in memory, zeroed on drop.
pub struct DataKey(Secret);

/// A data key as stored: wrapped under one master key version.
pub struct WrappedKey {
    pub version: i32,
    pub bytes: Vec<u8>,
}

fn hmac_with(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any size")
}

fn random_nonce() -> [u8; NONCE_BYTES] {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    nonce
}

fn wrap_aad(key_id: Uuid, version: i32) -> Vec<u8> {
    let mut aad = b"saldo/data-key/v1/".to_vec();
    aad.extend_from_slice(key_id.as_bytes());
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

impl Keyring {
    /// Parses `1:<base64>,2:<base64>`, the current version (None: the highest) and the lookup
    /// key. Error messages never quote key material.
    pub fn parse(masters: &str, current: Option<i32>, lookup: &str) -> Result<Keyring, KeyError> {
        let mut parsed = BTreeMap::new();
        for item in masters.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (version, key) = item.split_once(':').ok_or_else(|| {
                KeyError::Config("SALDO_MASTER_KEYS: each key is <version>:<base64>".into())
            })?;
            let version: i32 =
                version
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| {
                        KeyError::Config("SALDO_MASTER_KEYS: a version is 1 or more".into())
                    })?;
            let bytes = BASE64.decode(key.trim()).map_err(|_| {
                KeyError::Config(format!("SALDO_MASTER_KEYS: key {version} is not base64"))
            })?;
            let secret = Secret::from_slice(&bytes).ok_or_else(|| {
                KeyError::Config(format!("SALDO_MASTER_KEYS: key {version} is not 32 bytes"))
            })?;
            if parsed.insert(version, secret).is_some() {
                return Err(KeyError::Config(format!(
                    "SALDO_MASTER_KEYS: version {version} given twice"
                )));
            }
        }
        let Some(&highest) = parsed.keys().next_back() else {
            return Err(KeyError::Config("SALDO_MASTER_KEYS: no key".into()));
        };
        let current = current.unwrap_or(highest);
        if !parsed.contains_key(&current) {
            return Err(KeyError::Config(format!(
                "SALDO_MASTER_KEY_VERSION {current} is not among SALDO_MASTER_KEYS"
            )));
        }
        let lookup = BASE64
            .decode(lookup.trim())
            .map_err(|_| KeyError::Config("SALDO_LOOKUP_KEY is not base64".into()))?;
        if lookup.len() < KEY_BYTES {
            return Err(KeyError::Config(
                "SALDO_LOOKUP_KEY must be at least 32 bytes".into(),
            ));
        }
        Ok(Keyring {
            masters: parsed,
            current,
            lookup,
        })
    }

    /// Fresh random keys (version 1): a new key file, or a process that has no configuration.
    pub fn generate() -> Keyring {
        Keyring {
            masters: BTreeMap::from([(1, Secret::random())]),
            current: 1,
            lookup: Secret::random().0.to_vec(),
        }
    }

    /// The same keys plus a new random master key (the next version) made current: what a
    /// rotation configures, for tests and `saldo keys` tooling.
    pub fn with_new_master_key(&self) -> Keyring {
        let mut next = self.clone();
        let version = self.masters.keys().next_back().copied().unwrap_or(0) + 1;
        next.masters.insert(version, Secret::random());
        next.current = version;
        next
    }

    /// The same keys without the given master version (a retired key).
    pub fn without_version(&self, version: i32) -> Result<Keyring, KeyError> {
        let mut next = self.clone();
        next.masters.remove(&version);
        if !next.masters.contains_key(&next.current) {
            return Err(KeyError::Config(
                "cannot retire the current master key".into(),
            ));
        }
        Ok(next)
    }

    pub fn current_version(&self) -> i32 {
        self.current
    }

    pub fn versions(&self) -> Vec<i32> {
        self.masters.keys().copied().collect()
    }

    /// The key file's lines (secret: written with mode 0600 only).
    fn to_file_text(&self) -> String {
        let masters: Vec<String> = self
            .masters
            .iter()
            .map(|(version, key)| format!("{version}:{}", BASE64.encode(key.0.as_ref())))
            .collect();
        format!(
            "# Saldo identity store keys: keep secret, keep a copy in the EU key escrow.\n\
             SALDO_MASTER_KEYS={}\nSALDO_MASTER_KEY_VERSION={}\nSALDO_LOOKUP_KEY={}\n",
            masters.join(","),
            self.current,
            BASE64.encode(&self.lookup)
        )
    }

    fn from_file_text(text: &str) -> Result<Keyring, KeyError> {
        let mut masters = "";
        let mut current = None;
        let mut lookup = "";
        for line in text.lines().map(str::trim) {
            if let Some(value) = line.strip_prefix("SALDO_MASTER_KEYS=") {
                masters = value;
            } else if let Some(value) = line.strip_prefix("SALDO_MASTER_KEY_VERSION=") {
                current = Some(value.trim().parse().map_err(|_| {
                    KeyError::Config("key file: SALDO_MASTER_KEY_VERSION is a number".into())
                })?);
            } else if let Some(value) = line.strip_prefix("SALDO_LOOKUP_KEY=") {
                lookup = value;
            }
        }
        Keyring::parse(masters, current, lookup)
    }

    /// A new random data key, wrapped under the current master key.
    pub fn new_data_key(&self, key_id: Uuid) -> Result<(DataKey, WrappedKey), KeyError> {
        let key = DataKey(Secret::random());
        let wrapped = self.wrap(key_id, &key)?;
        Ok((key, wrapped))
    }

    /// Wraps a data key under the current master key.
    pub fn wrap(&self, key_id: Uuid, key: &DataKey) -> Result<WrappedKey, KeyError> {
        let master = self
            .masters
            .get(&self.current)
            .ok_or(KeyError::UnknownVersion(self.current))?;
        let nonce = random_nonce();
        let aad = wrap_aad(key_id, self.current);
        let ciphertext = master
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: key.0.0.as_ref(),
                    aad: &aad,
                },
            )
            .map_err(|_| KeyError::Decrypt)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Ok(WrappedKey {
            version: self.current,
            bytes,
        })
    }

    /// Unwraps a data key with the master key version it names.
    pub fn unwrap(&self, key_id: Uuid, wrapped: &WrappedKey) -> Result<DataKey, KeyError> {
        let master = self
            .masters
            .get(&wrapped.version)
            .ok_or(KeyError::UnknownVersion(wrapped.version))?;
        if wrapped.bytes.len() <= NONCE_BYTES {
            return Err(KeyError::Decrypt);
        }
        let (nonce, ciphertext) = wrapped.bytes.split_at(NONCE_BYTES);
        let aad = wrap_aad(key_id, wrapped.version);
        let plain = zeroize::Zeroizing::new(
            master
                .cipher()
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| KeyError::Decrypt)?,
        );
        Secret::from_slice(&plain)
            .map(DataKey)
            .ok_or(KeyError::Decrypt)
    }

    /// HMAC-SHA256 of a look-up value under the lookup key, separated by kind so a national id
    /// and a prisoner number that happen to be equal never collide.
    pub fn lookup_hash(&self, kind: &str, value: &str) -> Vec<u8> {
        let mut mac = hmac_with(&self.lookup);
        mac.update(b"saldo/lookup/v1/");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A check value for a master key version (HMAC of a constant under it): lets a process
    /// notice, before writing anything, that it was given other keys than the database's.
    pub fn check_value(&self, version: i32) -> Option<Vec<u8>> {
        let master = self.masters.get(&version)?;
        let mut mac = hmac_with(master.0.as_ref());
        mac.update(b"saldo/master-key-check/v1");
        Some(mac.finalize().into_bytes().to_vec())
    }

    /// The check value of the lookup key.
    pub fn lookup_check_value(&self) -> Vec<u8> {
        let mut mac = hmac_with(&self.lookup);
        mac.update(b"saldo/lookup-key-check/v1");
        mac.finalize().into_bytes().to_vec()
    }
}

impl DataKey {
    /// Seals a record: returns (nonce, ciphertext with tag). `aad` binds it to its row.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
        let nonce = random_nonce();
        let ciphertext = self
            .0
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| KeyError::Decrypt)?;
        Ok((nonce.to_vec(), ciphertext))
    }

    pub fn open(
        &self,
        aad: &[u8],
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        if nonce.len() != NONCE_BYTES {
            return Err(KeyError::Decrypt);
        }
        self.0
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(zeroize::Zeroizing::new)
            .map_err(|_| KeyError::Decrypt)
    }
}

// ---------------------------------------------------------------------------------------------
// The process's keyring

static KEYRING: RwLock<Option<Arc<Keyring>>> = RwLock::new(None);
static EPHEMERAL: OnceLock<Arc<Keyring>> = OnceLock::new();

/// Makes `keyring` the one the identity store uses from now on. A rotation installs a superset
/// of the previous keys, so records written a moment ago still open.
pub fn install(keyring: Keyring) {
    let mut slot = KEYRING
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *slot = Some(Arc::new(keyring));
}

/// The installed keyring. A process that installed none (a library user, a test) gets random
/// keys that live as long as the process: never a fixed key, and nothing it writes outlives it.
/// `saldo` itself always installs configured keys or its key file's.
pub fn current() -> Arc<Keyring> {
    let slot = KEYRING
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(keyring) = slot.as_ref() {
        return keyring.clone();
    }
    drop(slot);
    EPHEMERAL
        .get_or_init(|| {
            tracing::warn!("no identity keys installed: using random keys for this process only");
            let keyring = Arc::new(Keyring::generate());
            // The first caller's keys become the installed ones, so every later call agrees.
            let mut slot = KEYRING
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slot.get_or_insert_with(|| keyring.clone()).clone()
        })
        .clone()
}

/// Where the keys come from, in order: the environment, the named key file, the data dir's key
/// file (generated when missing).
#[derive(Debug, Clone, Default)]
pub struct KeySource {
    pub master_keys: Option<String>,
    pub master_key_version: Option<i32>,
    pub lookup_key: Option<String>,
    pub key_file: Option<PathBuf>,
    /// The data dir whose `identity-keys` file is used (and generated) when no other source is
    /// given.
    pub data_dir: PathBuf,
}

impl KeySource {
    pub fn load(&self) -> anyhow::Result<Keyring> {
        if let Some(masters) = &self.master_keys {
            let lookup = self.lookup_key.as_deref().ok_or_else(|| {
                anyhow::anyhow!("SALDO_MASTER_KEYS is set but SALDO_LOOKUP_KEY is not")
            })?;
            return Ok(Keyring::parse(masters, self.master_key_version, lookup)?);
        }
        let path = match &self.key_file {
            Some(path) => path.clone(),
            None => self.data_dir.join("identity-keys"),
        };
        if self.key_file.is_none() && !path.exists() {
            return generate_key_file(&path);
        }
        read_key_file(&path)
    }
}

fn read_key_file(path: &Path) -> anyhow::Result<Keyring> {
    check_owner_only(path)?;
    let text = std::fs::read_to_string(path)?;
    Ok(Keyring::from_file_text(&text)?)
}

fn generate_key_file(path: &Path) -> anyhow::Result<Keyring> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let keyring = Keyring::generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| anyhow::anyhow!("key file {}: {error}", path.display()))?;
    file.write_all(keyring.to_file_text().as_bytes())?;
    file.sync_all()?;
    tracing::warn!(path = %path.display(), "generated new identity keys: back this file up");
    Ok(keyring)
}

/// The seed of the entitlement statement's Ed25519 signing key (docs/switch-over.md), kept
/// beside the identity keys: a file holding 32 random bytes in base64, generated (mode 0600) when
/// missing, refused when others can read it. Returns the seed and whether it was generated now.
pub fn signing_seed(path: &Path) -> anyhow::Result<([u8; KEY_BYTES], bool)> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        check_owner_only(path)?;
        let text = std::fs::read_to_string(path)?;
        let seed: [u8; KEY_BYTES] = BASE64
            .decode(text.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "signing key file {}: not 32 bytes of base64",
                    path.display()
                )
            })?;
        return Ok((seed, false));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut seed = [0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut seed);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| anyhow::anyhow!("signing key file {}: {error}", path.display()))?;
    file.write_all(format!("{}\n", BASE64.encode(seed)).as_bytes())?;
    file.sync_all()?;
    tracing::warn!(path = %path.display(), "generated a new statement signing key: back this file up");
    Ok((seed, true))
}

fn check_owner_only(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path)
        .map_err(|error| anyhow::anyhow!("key file {}: {error}", path.display()))?;
    if metadata.permissions().mode() & 0o077 != 0 {
        anyhow::bail!(
            "key file {} is readable by others: chmod 600 it",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        let key = BASE64.encode([1u8; 32]);
        Keyring::parse(&format!("1:{key}"), None, &key).unwrap()
    }

    #[test]
    fn a_wrapped_key_opens_only_under_its_own_id_and_master_key() {
        let keys = keyring();
        let id = Uuid::new_v4();
        let (key, wrapped) = keys.new_data_key(id).unwrap();
        let (nonce, sealed) = key.seal(b"row", b"secret").unwrap();
        let again = keys.unwrap(id, &wrapped).unwrap();
        assert_eq!(
            again.open(b"row", &nonce, &sealed).unwrap().as_slice(),
            b"secret"
        );
        assert!(keys.unwrap(Uuid::new_v4(), &wrapped).is_err());
        assert!(again.open(b"other row", &nonce, &sealed).is_err());
        let other = Keyring::generate();
        assert!(other.unwrap(id, &wrapped).is_err());
    }

    #[test]
    fn a_rotated_keyring_still_opens_keys_wrapped_under_the_old_version() {
        let old = keyring();
        let id = Uuid::new_v4();
        let (_, wrapped) = old.new_data_key(id).unwrap();
        let new = old.with_new_master_key();
        assert_eq!(new.current_version(), 2);
        let key = new.unwrap(id, &wrapped).unwrap();
        let rewrapped = new.wrap(id, &key).unwrap();
        assert_eq!(rewrapped.version, 2);
        assert!(
            new.without_version(1)
                .unwrap()
                .unwrap(id, &rewrapped)
                .is_ok()
        );
        assert_eq!(
            new.without_version(1).unwrap().unwrap(id, &wrapped).err(),
            Some(KeyError::UnknownVersion(1))
        );
    }

    #[test]
    fn lookup_hashes_are_keyed_and_separated_by_kind() {
        let keys = keyring();
        assert_eq!(keys.lookup_hash("n", "A-1"), keys.lookup_hash("n", "A-1"));
        assert_ne!(keys.lookup_hash("n", "A-1"), keys.lookup_hash("id", "A-1"));
        assert_ne!(
            keys.lookup_hash("n", "A-1"),
            Keyring::generate().lookup_hash("n", "A-1")
        );
    }

    #[test]
    fn the_key_file_round_trips_and_bad_configuration_is_refused_without_quoting_keys() {
        let keys = keyring().with_new_master_key();
        let again = Keyring::from_file_text(&keys.to_file_text()).unwrap();
        assert_eq!(again.versions(), vec![1, 2]);
        assert_eq!(again.current_version(), 2);
        let error = Keyring::parse("1:c2hvcnQ=", None, "c2hvcnQ=").unwrap_err();
        assert!(!error.to_string().contains("c2hvcnQ"), "{error}");
        assert!(Keyring::parse("", None, "").is_err());
    }
}
