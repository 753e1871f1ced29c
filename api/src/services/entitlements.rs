//! The certified entitlement statement (docs/switch-over.md): every person's balance per
//! sub-account at an instant, from the postings alone, bound to the journal's checkpoint chain
//! and signed. The command line and the staff route both call [`statement`]; the format and the
//! offline verifier are the `entitlements` crate.
use std::collections::BTreeMap;
use std::time::Duration;

use deadpool_postgres::Pool;
use entitlements::ed25519_dalek::SigningKey;
use entitlements::{AccountLine, JournalBinding, PersonLine, Statement, Subject};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::ServiceError;

/// How long sealing waits for older transactions before the statement gives up.
const SEAL_WAIT: Duration = Duration::from_secs(5);

/// `at` in UTC, cut to PostgreSQL's microseconds so the header names exactly the instant the
/// sums used.
fn instant(at: OffsetDateTime) -> Result<OffsetDateTime, ServiceError> {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .map_err(|_| ServiceError::Internal)
}

fn rfc3339(at: OffsetDateTime) -> Result<String, ServiceError> {
    at.format(&Rfc3339).map_err(|_| ServiceError::Internal)
}

/// The signed statement at `at`, for one prison (where people were placed at `at`) or all.
/// Seals the journal first when no checkpoint covers the instant yet. `at` in the future is
/// refused (`at_in_future`): what is owed then is not known.
pub async fn statement(
    pool: &Pool,
    key: &SigningKey,
    at: OffsetDateTime,
    prison_id: Option<Uuid>,
) -> Result<Statement, ServiceError> {
    let at = instant(at)?;
    let now = OffsetDateTime::now_utc();
    if at > now {
        return Err(ServiceError::invalid(
            "at_in_future",
            "the instant is in the future",
        ));
    }
    let mut client = pool.get().await?;
    let journal = match ledger::entitlements::last_seq_at(&client, at).await? {
        None => None,
        Some(seq) => {
            let mut found = ledger::entitlements::checkpoint_covering(&client, seq).await?;
            if found.is_none() {
                ledger::seal::seal_journal(&mut client, SEAL_WAIT).await?;
                found = ledger::entitlements::checkpoint_covering(&client, seq).await?;
            }
            let found = found.ok_or_else(|| {
                ServiceError::conflict(
                    "journal_not_sealed",
                    "the journal up to the instant could not be sealed yet (a long transaction): try again",
                )
            })?;
            Some(JournalBinding {
                checkpoint_n: found.checkpoint_n,
                checkpoint_sha256: hex::encode(found.checkpoint_sha256),
                through_seq: found.through_seq,
            })
        }
    };
    let tx = client.transaction().await?;
    let accounts = ledger::entitlements::accounts_at(&tx, at, prison_id).await?;
    tx.commit().await?;
    drop(client);
    let subject = Subject {
        at: rfc3339(at)?,
        generated_at: rfc3339(now)?,
        journal,
        prison_id: prison_id.map(|id| id.to_string()),
    };
    let key = key.clone();
    // Hashing and signing 100,000 lines is CPU work: off the async threads.
    tokio::task::spawn_blocking(move || entitlements::sign(subject, person_lines(accounts), &key))
        .await
        .map_err(|_| ServiceError::Internal)?
        .ok_or_else(|| {
            tracing::error!("entitlement totals overflow");
            ServiceError::Internal
        })
}

/// One line per person, their accounts in it.
fn person_lines(accounts: Vec<ledger::entitlements::AccountAt>) -> Vec<PersonLine> {
    let mut people: BTreeMap<Uuid, PersonLine> = BTreeMap::new();
    for account in accounts {
        people
            .entry(account.person_id)
            .or_insert_with(|| PersonLine {
                accounts: Vec::new(),
                person_id: account.person_id.to_string(),
                prison_id: account.prison_id.map(|id| id.to_string()),
            })
            .accounts
            .push(AccountLine {
                currency: account.currency,
                held_minor: account.held_minor,
                posted_minor: account.posted_minor,
                purpose: account.purpose,
            });
    }
    people.into_values().collect()
}

/// One person's proof cut from the statement at `at`: the prisoner's own release statement.
/// `NotFound` if the person had no open account then.
pub async fn person_proof(
    pool: &Pool,
    key: &SigningKey,
    at: OffsetDateTime,
    person_id: Uuid,
) -> Result<entitlements::Proof, ServiceError> {
    let whole = statement(pool, key, at, None).await?;
    entitlements::proof(&whole, &person_id.to_string()).ok_or(ServiceError::NotFound("person"))
}
