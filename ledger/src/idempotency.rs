//! Idempotency keys for write commands.
//!
//! A command first calls [`begin`]: it takes a transaction-scoped advisory lock on the key, so
//! two concurrent requests with one key run one after the other, then looks the key up. If the
//! key was used before with the same request, the stored result is returned and the command writes
//! nothing; with another request it is a conflict. Otherwise the command does its work and calls
//! [`finish`] in the same transaction, so the key and the effect commit together or not at all.

use deadpool_postgres::Transaction;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, LedgerResult};

pub const MAX_KEY_LENGTH: usize = 200;

pub struct Claim {
    key: String,
    command: &'static str,
    request_sha256: Vec<u8>,
}

pub enum Begun<T> {
    /// The key is new: do the work, then [`finish`].
    Fresh(Claim),
    /// The same request ran before: here is its result.
    Replayed(T),
}

pub async fn begin<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    key: &str,
    command: &'static str,
    request: &impl Serialize,
) -> LedgerResult<Begun<T>> {
    if key.is_empty() || key.len() > MAX_KEY_LENGTH {
        return Err(LedgerError::invalid(
            "idempotency_key_invalid",
            format!("the idempotency key must be 1 to {MAX_KEY_LENGTH} bytes"),
        ));
    }
    let request_sha256 = Sha256::digest(serde_json::to_vec(request)?).to_vec();
    let lock = tx
        .prepare_cached("select pg_advisory_xact_lock(hashtextextended($1, 7))")
        .await?;
    let lookup = tx
        .prepare_cached(
            "select command, request_sha256, result from idempotency_keys where key = $1",
        )
        .await?;
    // Pipelined: both go out at once, and PostgreSQL runs them in order, so the lookup still
    // happens under the lock; one round trip instead of two.
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
    let (_, found) = tokio::try_join!(tx.execute(&lock, &params), tx.query_opt(&lookup, &params))?;
    match found {
        None => Ok(Begun::Fresh(Claim {
            key: key.to_owned(),
            command,
            request_sha256,
        })),
        Some(row) => {
            let stored_command: String = row.get("command");
            let stored_sha256: Vec<u8> = row.get("request_sha256");
            if stored_command != command || stored_sha256 != request_sha256 {
                return Err(LedgerError::IdempotencyConflict);
            }
            let result: serde_json::Value = row.get("result");
            Ok(Begun::Replayed(serde_json::from_value(result)?))
        }
    }
}

pub async fn finish(
    tx: &Transaction<'_>,
    claim: Claim,
    result: &impl Serialize,
) -> LedgerResult<()> {
    let insert = tx
        .prepare_cached(
            "insert into idempotency_keys (key, command, request_sha256, result) values ($1, $2, $3, $4)",
        )
        .await?;
    let result = serde_json::to_value(result)?;
    tx.execute(
        &insert,
        &[&claim.key, &claim.command, &claim.request_sha256, &result],
    )
    .await?;
    Ok(())
}
