//! Passwords, PINs and tokens: argon2id hashes and random bearer tokens of which only the SHA-256
//! is stored.
//!
//! Every argon2 hash or verification goes through a [`PasswordHashing`] gate: at most a bounded
//! number run at once (each needs 19 MiB), on the blocking pool, each in a work area reused from
//! a small pool, so a burst of sign-ins can neither exhaust memory nor keep it. Callers that find
//! the gate full after a short wait are told so ([`HashingBusy`]) and answer 429.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. Pinned here rather than left to the
/// crate's defaults, so an upgrade cannot weaken stored hashes silently.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;
const TOKEN_BYTES: usize = 32;
/// A stored hash asking for more memory than this is refused rather than computed (only a
/// tampered row could ask for it).
const MAX_STORED_MEMORY_KIB: u32 = 64 * 1024;

fn params() -> Params {
    // The constants are valid parameters; `Params::DEFAULT` is only a fallback for the type.
    Params::new(MEMORY_KIB, PASSES, LANES, Some(OUTPUT_BYTES)).unwrap_or(Params::DEFAULT)
}

/// How many hashes may run at once and how long a caller waits for a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    /// Hashes running at once (each holds 19 MiB while it runs).
    pub max_running: usize,
    /// Callers waiting for a turn; more are refused at once.
    pub max_waiting: usize,
    /// How long a caller waits for a turn before it is refused.
    pub max_wait_ms: u64,
    /// Hashes one client (an address, a kiosk) may have running or waiting; more are refused at
    /// once, so one client's burst cannot fill the queue and keep everyone else out.
    pub max_per_client: usize,
}

impl HashingLimits {
    /// One hash per CPU core (argon2 is CPU-bound: more at once only add memory), 2 to 4; a queue
    /// of eight per running hash, waited on for at most 2 s; one client at most as many as run.
    pub fn for_this_machine() -> HashingLimits {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        HashingLimits::with_max_running(cores.clamp(2, 4))
    }

    pub fn with_max_running(max_running: usize) -> HashingLimits {
        let max_running = max_running.max(1);
        HashingLimits {
            max_running,
            max_waiting: max_running.saturating_mul(8),
            max_wait_ms: 2_000,
            max_per_client: max_running,
        }
    }
}

/// No turn to hash within the wait: answer 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("password hashing is busy")]
pub struct HashingBusy;

impl HashingBusy {
    /// What `Retry-After` says.
    pub const RETRY_AFTER_SECONDS: u64 = 1;
}

/// `429 hashing_busy` with `Retry-After`: nothing was done, the same request may be sent again.
impl axum::response::IntoResponse for HashingBusy {
    fn into_response(self) -> axum::response::Response {
        let mut response = crate::problem::Problem::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "hashing_busy",
            Some(
                "too many passwords and PINs being hashed at once; try again in a moment"
                    .to_owned(),
            ),
        )
        .into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(HashingBusy::RETRY_AFTER_SECONDS),
        );
        response
    }
}

struct Gate {
    limits: HashingLimits,
    turns: Arc<Semaphore>,
    /// Argon2 work areas, one per hash that has run at once: reused, never more than
    /// `max_running` of them.
    work_areas: Mutex<Vec<Vec<Block>>>,
    /// Hashes running or waiting per client key.
    in_flight_by_client: Mutex<HashMap<String, usize>>,
    waiting: AtomicUsize,
    running: AtomicUsize,
    peak_running: AtomicUsize,
    hashes_done: AtomicU64,
    refused_busy: AtomicU64,
}

/// The process's gate for argon2 work (cheap to clone: one gate, shared).
#[derive(Clone)]
pub struct PasswordHashing {
    gate: Arc<Gate>,
}

impl Default for PasswordHashing {
    fn default() -> PasswordHashing {
        PasswordHashing::new(HashingLimits::for_this_machine())
    }
}

impl std::fmt::Debug for PasswordHashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHashing")
            .field("limits", &self.gate.limits)
            .finish_non_exhaustive()
    }
}

/// Leaves the running count when the hash ends, however it ends.
struct Running<'a>(&'a Gate);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A client's share of the gate, from the request until its hash has finished (held by the
/// blocking task, so a client that hangs up cannot free it early).
struct ClientSlot {
    gate: Arc<Gate>,
    key: String,
}

impl ClientSlot {
    fn take(gate: &Arc<Gate>, key: &str) -> Option<ClientSlot> {
        let mut in_flight = gate.in_flight_by_client.lock().ok()?;
        let count = in_flight.entry(key.to_owned()).or_insert(0);
        if *count >= gate.limits.max_per_client.max(1) {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            gate: gate.clone(),
            key: key.to_owned(),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Ok(mut in_flight) = self.gate.in_flight_by_client.lock()
            && let Some(count) = in_flight.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                in_flight.remove(&self.key);
            }
        }
    }
}

/// Leaves the waiting count when the wait ends, however it ends (a dropped request included).
struct Waiting<'a>(&'a Gate);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordHashing {
    pub fn new(limits: HashingLimits) -> PasswordHashing {
        PasswordHashing {
            gate: Arc::new(Gate {
                limits,
                turns: Arc::new(Semaphore::new(limits.max_running.max(1))),
                work_areas: Mutex::new(Vec::new()),
                in_flight_by_client: Mutex::new(HashMap::new()),
                waiting: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                peak_running: AtomicUsize::new(0),
                hashes_done: AtomicU64::new(0),
                refused_busy: AtomicU64::new(0),
            }),
        }
    }

    pub fn limits(&self) -> HashingLimits {
        self.gate.limits
    }

    /// Hashes running now.
    pub fn running(&self) -> usize {
        self.gate.running.load(Ordering::SeqCst)
    }

    /// The most hashes that ever ran at once.
    pub fn peak_running(&self) -> usize {
        self.gate.peak_running.load(Ordering::SeqCst)
    }

    /// Hashes computed (a verification, a dummy one for an unknown user, or a new hash).
    pub fn hashes_done(&self) -> u64 {
        self.gate.hashes_done.load(Ordering::SeqCst)
    }

    /// Callers refused because no turn came within the wait.
    pub fn refused_busy(&self) -> u64 {
        self.gate.refused_busy.load(Ordering::SeqCst)
    }

    async fn turn(&self) -> Result<OwnedSemaphorePermit, HashingBusy> {
        let gate = &self.gate;
        if let Ok(permit) = gate.turns.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if gate.waiting.fetch_add(1, Ordering::SeqCst) >= gate.limits.max_waiting {
            gate.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(self.busy());
        }
        let _waiting = Waiting(gate);
        match tokio::time::timeout(
            Duration::from_millis(gate.limits.max_wait_ms),
            gate.turns.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(self.busy()),
        }
    }

    fn busy(&self) -> HashingBusy {
        self.gate.refused_busy.fetch_add(1, Ordering::SeqCst);
        metrics::counter!("saldo_password_hashing_refused_total").increment(1);
        HashingBusy
    }

    /// Runs one argon2 computation on the blocking pool in a reused work area, once a turn is
    /// free. The turn is held by the blocking task itself, so a caller that goes away (a closed
    /// connection) cannot free it while the hash still runs.
    async fn run<T: Send + 'static>(
        &self,
        client: Option<&str>,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashingBusy> {
        let slot = match client {
            Some(key) => Some(ClientSlot::take(&self.gate, key).ok_or_else(|| self.busy())?),
            None => None,
        };
        let permit = self.turn().await?;
        let gate = self.gate.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let result = {
                let running_now = gate.running.fetch_add(1, Ordering::SeqCst) + 1;
                let _running = Running(&gate);
                gate.peak_running.fetch_max(running_now, Ordering::SeqCst);
                let mut area = gate
                    .work_areas
                    .lock()
                    .ok()
                    .and_then(|mut areas| areas.pop())
                    .unwrap_or_default();
                let result = work(&mut area);
                if let Ok(mut areas) = gate.work_areas.lock() {
                    areas.push(area);
                }
                gate.hashes_done.fetch_add(1, Ordering::SeqCst);
                result
            };
            // The turn is given back only once this hash has left the running count.
            drop(permit);
            result
        })
        .await;
        // A panic inside argon2 is a bug; the caller answers as if busy and signs no one in.
        result.map_err(|_| {
            tracing::error!("password hashing task failed");
            HashingBusy
        })
    }

    /// Hashes a new password or PIN (a PHC string, argon2id with the pinned parameters).
    pub async fn hash(&self, secret: String) -> Result<anyhow::Result<String>, HashingBusy> {
        self.run(None, move |area| {
            let mut salt = [0u8; SALT_BYTES];
            rand::rng().fill_bytes(&mut salt);
            hash_with(secret.as_bytes(), &salt, area)
        })
        .await
    }

    /// Hashes a new password or PIN for a request: the hash, or the answer to give (429 when
    /// busy, 500 when argon2 fails).
    pub async fn hash_for_request(
        &self,
        secret: String,
    ) -> Result<String, axum::response::Response> {
        use axum::response::IntoResponse;
        match self.hash(secret).await {
            Ok(Ok(hash)) => Ok(hash),
            Ok(Err(_)) => Err(crate::problem::Problem::internal().into_response()),
            Err(busy) => Err(busy.into_response()),
        }
    }

    /// Checks a password or PIN against a stored hash. With no stored hash (an unknown user, a
    /// prisoner without a PIN) it hashes anyway, with the same parameters, so the answer takes
    /// as long and costs the same as for a known one. `client` names who asks (an address, a
    /// kiosk): each has at most `max_per_client` checks running or waiting.
    pub async fn verify(
        &self,
        client: &str,
        secret: String,
        stored: Option<String>,
    ) -> Result<bool, HashingBusy> {
        self.run(Some(client), move |area| match stored {
            Some(stored) => verify_with(secret.as_bytes(), &stored, area),
            None => {
                let _ = hash_with(secret.as_bytes(), &[0u8; SALT_BYTES], area);
                false
            }
        })
        .await
    }
}

/// Grows the work area to `blocks` if it is smaller (it is then kept at that size).
fn work_area(area: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if area.len() < blocks {
        area.resize(blocks, Block::default());
    }
    &mut area[..blocks]
}

fn hash_with(secret: &[u8], salt: &[u8], area: &mut Vec<Block>) -> anyhow::Result<String> {
    let params = params();
    let mut output = [0u8; OUTPUT_BYTES];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            secret,
            salt,
            &mut output,
            work_area(area, params.block_count()),
        )
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let salt = SaltString::encode_b64(salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Recomputes a stored PHC hash with its own parameters in the given work area and compares in
/// constant time.
fn verify_with(secret: &[u8], stored: &str, area: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    if params.m_cost() > MAX_STORED_MEMORY_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        secret,
        salt,
        &mut output,
        work_area(area, blocks),
    );
    computed.is_ok() && bool::from(expected.as_bytes().ct_eq(&output))
}

/// For one-off hashing outside the server (the command line, the demo's seeding): a gate of one.
fn one_at_a_time() -> &'static PasswordHashing {
    static GATE: std::sync::OnceLock<PasswordHashing> = std::sync::OnceLock::new();
    GATE.get_or_init(|| PasswordHashing::new(HashingLimits::with_max_running(1)))
}

/// Hashes a password or PIN outside a request (the command line, seeding); waits its turn.
pub async fn hash(secret: String) -> anyhow::Result<String> {
    loop {
        match one_at_a_time().hash(secret.clone()).await {
            Ok(result) => return result,
            Err(HashingBusy) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_against_its_secret_only_and_old_style_hashes_still_verify() {
        let hashing = PasswordHashing::new(HashingLimits::with_max_running(1));
        let stored = hashing.hash("correct horse".into()).await.unwrap().unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hashing
                .verify("test", "correct horse".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hashing
                .verify("test", "wrong horse".into(), Some(stored))
                .await
                .unwrap()
        );
        // A hash made by the crate's own hasher (as stored before the gate) still verifies.
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(&[7u8; SALT_BYTES]).unwrap();
        let legacy = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"1234", &salt)
            .unwrap()
            .to_string();
        assert!(
            hashing
                .verify("test", "1234".into(), Some(legacy))
                .await
                .unwrap()
        );
        assert!(!hashing.verify("test", "1234".into(), None).await.unwrap());
        assert_eq!(hashing.hashes_done(), 5);
    }
}
