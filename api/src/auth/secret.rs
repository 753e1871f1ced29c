//! Passwords, PINs and tokens: argon2id hashes and random bearer tokens of which only the SHA-256
//! is stored.
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. Pinned here rather than left to the
/// crate's defaults, so an upgrade cannot weaken stored hashes silently.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
const SALT_BYTES: usize = 16;
const TOKEN_BYTES: usize = 32;

fn argon2() -> Argon2<'static> {
    // The constants are valid parameters; `Params::DEFAULT` is only a fallback for the type.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password or PIN on a blocking thread (argon2 is slow on purpose).
pub async fn hash(secret: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; SALT_BYTES];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let hash = argon2()
            .hash_password(secret.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        Ok(hash.to_string())
    })
    .await?
}

/// Checks a password or PIN against a stored hash on a blocking thread. With no stored hash (an
/// unknown user), hashes anyway so the answer takes as long as for a known one.
pub async fn verify(secret: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => match PasswordHash::new(&stored) {
            Ok(parsed) => argon2().verify_password(secret.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        },
        None => {
            let salt = SaltString::encode_b64(&[0u8; SALT_BYTES]);
            if let Ok(salt) = salt {
                let _ = argon2().hash_password(secret.as_bytes(), &salt);
            }
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A new random token (base64url, 256 bits) and the SHA-256 that is stored instead of it.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let digest = token_sha256(&token);
    (token, digest)
}

pub fn token_sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A plausible token: what `new_token` makes. Anything else is refused before any database work.
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
