//! The prison-management system's (PMS) event feed, as far as it holds personal data: the
//! inbox of received events (`identity.pms_events`), the PMS's person references
//! (`identity.pms_persons`) and its population snapshots. What the events do is applied by the
//! caller through the usual identity-store and ledger functions; this module only keeps them.
//!
//! An event's body (an admission carries names, numbers, a birth date) is sealed at rest under a
//! data key of its own, wrapped by the master key, and cleared once the event is applied or
//! dismissed. The PMS's person reference is kept only as its HMAC under the lookup key: Saldo
//! never needs it back, only to recognise it again.
use deadpool_postgres::{GenericClient, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::IdentityError;
use super::crypto::{self, WrappedKey};

type Result<T> = std::result::Result<T, IdentityError>;

const EVENT_AAD: &[u8] = b"saldo/pms-event/v1/";
const LOOKUP_PERSON_REF: &str = "pms_person_ref";

/// The HMAC a PMS person reference is known by (per feed).
pub fn person_ref_hmac(feed_id: &str, person_ref: &str) -> Vec<u8> {
    crypto::current().lookup_hash(LOOKUP_PERSON_REF, &format!("{feed_id}\n{person_ref}"))
}

fn aad(event_id: Uuid) -> Vec<u8> {
    let mut aad = EVENT_AAD.to_vec();
    aad.extend_from_slice(event_id.as_bytes());
    aad
}

/// An authentic event as received, before anything is applied.
#[derive(Debug, Clone)]
pub struct Receipt<'a> {
    pub event_id: Uuid,
    pub feed_id: &'a str,
    pub body_sha256: &'a [u8],
    pub event_type: &'a str,
    pub occurred_at: OffsetDateTime,
    pub person_ref_hmac: &'a [u8],
    pub sequence: i64,
    pub prison_id: Option<Uuid>,
    /// The event's JSON: sealed before it is stored.
    pub body: &'a [u8],
}

/// What storing an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    /// The same id and body again: nothing changed.
    Duplicate,
    /// The same id with another body.
    IdConflict,
    /// Another event already has this person's sequence number.
    SequenceTaken,
}

/// Serialises everything done for one person of the feed (receipt and applying), to the end of
/// the transaction.
pub async fn lock_person(
    tx: &Transaction<'_>,
    feed_id: &str,
    person_ref_hmac: &[u8],
) -> Result<()> {
    let statement = tx
        .prepare_cached("select pg_advisory_xact_lock(hashtextextended($1, 25))")
        .await?;
    tx.execute(
        &statement,
        &[&format!("{feed_id}:{}", hex_of(person_ref_hmac))],
    )
    .await?;
    Ok(())
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Stores an event once, by its id; the caller holds the person's lock ([`lock_person`]).
pub async fn store_event(tx: &Transaction<'_>, receipt: &Receipt<'_>) -> Result<Stored> {
    let seen = tx
        .prepare_cached("select body_sha256 from identity.pms_events where event_id = $1")
        .await?;
    if let Some(row) = tx.query_opt(&seen, &[&receipt.event_id]).await? {
        let body_sha256: Vec<u8> = row.get("body_sha256");
        return Ok(if body_sha256 == receipt.body_sha256 {
            Stored::Duplicate
        } else {
            Stored::IdConflict
        });
    }
    let taken = tx
        .prepare_cached(
            "select 1 from identity.pms_events
             where feed_id = $1 and person_ref_hmac = $2 and sequence = $3",
        )
        .await?;
    if tx
        .query_opt(
            &taken,
            &[
                &receipt.feed_id,
                &receipt.person_ref_hmac,
                &receipt.sequence,
            ],
        )
        .await?
        .is_some()
    {
        return Ok(Stored::SequenceTaken);
    }
    let keys = crypto::current();
    let (key, wrapped) = keys.new_data_key(receipt.event_id)?;
    let (nonce, sealed) = key.seal(&aad(receipt.event_id), receipt.body)?;
    let insert = tx
        .prepare_cached(
            "insert into identity.pms_events
                (event_id, feed_id, body_sha256, event_type, occurred_at, person_ref_hmac,
                 sequence, prison_id, sealed, nonce, master_key_version, wrapped_key)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &receipt.event_id,
            &receipt.feed_id,
            &receipt.body_sha256,
            &receipt.event_type,
            &receipt.occurred_at,
            &receipt.person_ref_hmac,
            &receipt.sequence,
            &receipt.prison_id,
            &sealed,
            &nonce,
            &wrapped.version,
            &wrapped.bytes,
        ],
    )
    .await?;
    let person = tx
        .prepare_cached(
            "insert into identity.pms_persons (feed_id, person_ref_hmac) values ($1, $2)
             on conflict do nothing",
        )
        .await?;
    tx.execute(&person, &[&receipt.feed_id, &receipt.person_ref_hmac])
        .await?;
    Ok(Stored::New)
}

/// A person of the feed as Saldo knows them.
#[derive(Debug, Clone)]
pub struct FeedPerson {
    /// Set by the person's admission.
    pub person_id: Option<Uuid>,
    pub next_sequence: i64,
}

/// An event whose turn it is, opened.
#[derive(Debug, Clone)]
pub struct DueEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub sequence: i64,
    pub prison_id: Option<Uuid>,
    /// The event's JSON, wiped from memory when dropped.
    pub body: zeroize::Zeroizing<Vec<u8>>,
}

/// The person's state and the event whose turn it is (the pending one with the next sequence
/// number), if it has arrived. The caller holds the person's lock.
pub async fn next_due(
    tx: &Transaction<'_>,
    feed_id: &str,
    person_ref_hmac: &[u8],
) -> Result<(FeedPerson, Option<DueEvent>)> {
    let person = tx
        .prepare_cached(
            "select person_id, next_sequence from identity.pms_persons
             where feed_id = $1 and person_ref_hmac = $2",
        )
        .await?;
    let mut person = match tx.query_opt(&person, &[&feed_id, &person_ref_hmac]).await? {
        Some(row) => FeedPerson {
            person_id: row.get("person_id"),
            next_sequence: row.get("next_sequence"),
        },
        None => FeedPerson {
            person_id: None,
            next_sequence: 1,
        },
    };
    // Dismissed events at the head of the person's sequence are passed over.
    let dismissed = tx
        .prepare_cached(
            "select 1 from identity.pms_events
             where feed_id = $1 and person_ref_hmac = $2 and sequence = $3
               and status = 'dismissed'",
        )
        .await?;
    let advance = tx
        .prepare_cached(
            "update identity.pms_persons set next_sequence = next_sequence + 1
             where feed_id = $1 and person_ref_hmac = $2",
        )
        .await?;
    while tx
        .query_opt(
            &dismissed,
            &[&feed_id, &person_ref_hmac, &person.next_sequence],
        )
        .await?
        .is_some()
    {
        tx.execute(&advance, &[&feed_id, &person_ref_hmac]).await?;
        person.next_sequence += 1;
    }
    let due = tx
        .prepare_cached(
            "select event_id, event_type, sequence, prison_id, sealed, nonce, master_key_version,
                    wrapped_key
             from identity.pms_events
             where feed_id = $1 and person_ref_hmac = $2 and sequence = $3 and status = 'pending'",
        )
        .await?;
    let Some(row) = tx
        .query_opt(&due, &[&feed_id, &person_ref_hmac, &person.next_sequence])
        .await?
    else {
        return Ok((person, None));
    };
    let event_id: Uuid = row.get("event_id");
    let wrapped = WrappedKey {
        version: row.get("master_key_version"),
        bytes: row.get("wrapped_key"),
    };
    let key = crypto::current().unwrap(event_id, &wrapped)?;
    let nonce: Vec<u8> = row.get("nonce");
    let sealed: Vec<u8> = row.get("sealed");
    let body = key.open(&aad(event_id), &nonce, &sealed)?;
    Ok((
        person,
        Some(DueEvent {
            event_id,
            event_type: row.get("event_type"),
            sequence: row.get("sequence"),
            prison_id: row.get("prison_id"),
            body,
        }),
    ))
}

async fn record_action(
    tx: &Transaction<'_>,
    event_id: Uuid,
    action: &str,
    reason_code: Option<&str>,
    actor: &str,
) -> Result<()> {
    let statement = tx
        .prepare_cached(
            "insert into identity.pms_event_actions (event_id, action, reason_code, actor)
             values ($1, $2, $3, $4)",
        )
        .await?;
    tx.execute(&statement, &[&event_id, &action, &reason_code, &actor])
        .await?;
    Ok(())
}

/// The event applied (for `person_id`): its body is cleared, the person's next event is due.
pub async fn mark_applied(
    tx: &Transaction<'_>,
    feed_id: &str,
    person_ref_hmac: &[u8],
    event_id: Uuid,
    person_id: Uuid,
    actor: &str,
) -> Result<()> {
    let event = tx
        .prepare_cached(
            "update identity.pms_events
             set status = 'applied', reason_code = null, person_id = $2, settled_at = now(),
                 sealed = null, nonce = null, master_key_version = null, wrapped_key = null
             where event_id = $1",
        )
        .await?;
    tx.execute(&event, &[&event_id, &person_id]).await?;
    let person = tx
        .prepare_cached(
            "update identity.pms_persons
             set next_sequence = next_sequence + 1, person_id = $3
             where feed_id = $1 and person_ref_hmac = $2",
        )
        .await?;
    tx.execute(&person, &[&feed_id, &person_ref_hmac, &person_id])
        .await?;
    record_action(tx, event_id, "applied", None, actor).await
}

/// The event cannot apply (`reason_code`): it waits in review, and the person's later events
/// wait behind it until staff replay or dismiss it.
pub async fn mark_review(
    tx: &Transaction<'_>,
    event_id: Uuid,
    person_id: Option<Uuid>,
    reason_code: &str,
    actor: &str,
) -> Result<()> {
    let statement = tx
        .prepare_cached(
            "update identity.pms_events set status = 'review', reason_code = $2, person_id = $3
             where event_id = $1",
        )
        .await?;
    tx.execute(&statement, &[&event_id, &reason_code, &person_id])
        .await?;
    record_action(tx, event_id, "review", Some(reason_code), actor).await
}

/// A pending event of the person that cannot wait any longer, with why: `sequence_skipped`
/// (its number is below the person's next one: a replay skipped it) or `sequence_gap` (its
/// predecessor has not come since `waiting_since`, and nothing of the person is in review).
pub async fn stalled(
    tx: &Transaction<'_>,
    feed_id: &str,
    person_ref_hmac: &[u8],
    next_sequence: i64,
    waiting_since: OffsetDateTime,
) -> Result<Option<(Uuid, &'static str)>> {
    let statement = tx
        .prepare_cached(
            "select event_id, sequence < $3 as skipped from identity.pms_events e
             where feed_id = $1 and person_ref_hmac = $2 and status = 'pending'
               and (sequence < $3
                    or (received_at < $4 and not exists (
                        select 1 from identity.pms_events r
                        where r.feed_id = $1 and r.person_ref_hmac = $2
                          and r.status = 'review')))
             order by sequence limit 1",
        )
        .await?;
    Ok(tx
        .query_opt(
            &statement,
            &[&feed_id, &person_ref_hmac, &next_sequence, &waiting_since],
        )
        .await?
        .map(|row| {
            let reason = if row.get("skipped") {
                "sequence_skipped"
            } else {
                "sequence_gap"
            };
            (row.get("event_id"), reason)
        }))
}

/// An event in review, as staff act on it: its person's lock is taken.
#[derive(Debug, Clone)]
pub struct InReview {
    pub feed_id: String,
    pub person_ref_hmac: Vec<u8>,
    /// Below the person's next sequence number: skipped, it can only be dismissed.
    pub skipped: bool,
}

async fn in_review(
    tx: &Transaction<'_>,
    event_id: Uuid,
    prison_id: Uuid,
) -> Result<Option<InReview>> {
    let statement = tx
        .prepare_cached(
            "select feed_id, person_ref_hmac from identity.pms_events
             where event_id = $1 and prison_id = $2 and status = 'review'",
        )
        .await?;
    let Some(row) = tx.query_opt(&statement, &[&event_id, &prison_id]).await? else {
        return Ok(None);
    };
    let feed_id: String = row.get("feed_id");
    let person_ref_hmac: Vec<u8> = row.get("person_ref_hmac");
    lock_person(tx, &feed_id, &person_ref_hmac).await?;
    // Read again under the lock: another member of staff may have acted meanwhile.
    let still = tx
        .prepare_cached(
            "select e.status, e.sequence < p.next_sequence as skipped
             from identity.pms_events e
             join identity.pms_persons p
               on p.feed_id = e.feed_id and p.person_ref_hmac = e.person_ref_hmac
             where e.event_id = $1",
        )
        .await?;
    let row = tx.query_one(&still, &[&event_id]).await?;
    let status: String = row.get("status");
    Ok((status == "review").then_some(InReview {
        feed_id,
        person_ref_hmac,
        skipped: row.get("skipped"),
    }))
}

/// Puts an event of the prison that is in review back in its turn (`pending`), recorded as
/// replayed by `actor`: an event waiting for a missing predecessor (`sequence_gap`) is made the
/// person's next, so the gap is skipped. None when the prison has no such event in review; a
/// skipped event (`InReview::skipped`) is left as it is.
pub async fn replay(
    tx: &Transaction<'_>,
    event_id: Uuid,
    prison_id: Uuid,
    actor: &str,
) -> Result<Option<InReview>> {
    let Some(found) = in_review(tx, event_id, prison_id).await? else {
        return Ok(None);
    };
    if found.skipped {
        return Ok(Some(found));
    }
    let statement = tx
        .prepare_cached(
            "update identity.pms_events set status = 'pending', reason_code = null
             where event_id = $1",
        )
        .await?;
    tx.execute(&statement, &[&event_id]).await?;
    let skip_gap = tx
        .prepare_cached(
            "update identity.pms_persons p set next_sequence = e.sequence
             from identity.pms_events e
             where e.event_id = $1 and p.feed_id = e.feed_id
               and p.person_ref_hmac = e.person_ref_hmac and p.next_sequence < e.sequence",
        )
        .await?;
    tx.execute(&skip_gap, &[&event_id]).await?;
    record_action(tx, event_id, "replayed", None, actor).await?;
    Ok(Some(found))
}

/// Dismisses an event of the prison that is in review: it will never apply, its body is
/// cleared, and the person's sequence passes over it ([`next_due`]). None when there is no such
/// event in review.
pub async fn dismiss(
    tx: &Transaction<'_>,
    event_id: Uuid,
    prison_id: Uuid,
    actor: &str,
) -> Result<Option<InReview>> {
    let Some(found) = in_review(tx, event_id, prison_id).await? else {
        return Ok(None);
    };
    let statement = tx
        .prepare_cached(
            "update identity.pms_events
             set status = 'dismissed', settled_at = now(), sealed = null, nonce = null,
                 master_key_version = null, wrapped_key = null
             where event_id = $1",
        )
        .await?;
    tx.execute(&statement, &[&event_id]).await?;
    record_action(tx, event_id, "dismissed", None, actor).await?;
    Ok(Some(found))
}

/// The Saldo person a PMS reference names, once admitted through the feed.
pub async fn person_for_ref(
    client: &impl GenericClient,
    feed_id: &str,
    person_ref_hmac: &[u8],
) -> Result<Option<Uuid>> {
    let statement = client
        .prepare_cached(
            "select person_id from identity.pms_persons
             where feed_id = $1 and person_ref_hmac = $2",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&feed_id, &person_ref_hmac])
        .await?
        .and_then(|row| row.get("person_id")))
}

/// An event as staff see it in the review list: no personal data.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub event_id: Uuid,
    pub event_type: String,
    pub sequence: i64,
    pub status: String,
    pub reason_code: Option<String>,
    pub person_id: Option<Uuid>,
    pub occurred_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    /// For a pending event: the sequence number its person waits for first.
    pub waiting_for_sequence: Option<i64>,
}

/// The prison's events that are in review or still pending, oldest first.
pub async fn unsettled(client: &impl GenericClient, prison_id: Uuid) -> Result<Vec<EventRow>> {
    let statement = client
        .prepare_cached(
            "select e.event_id, e.event_type, e.sequence, e.status, e.reason_code, e.person_id,
                    e.occurred_at, e.received_at,
                    case when e.status = 'pending' then p.next_sequence end as waiting_for
             from identity.pms_events e
             left join identity.pms_persons p
               on p.feed_id = e.feed_id and p.person_ref_hmac = e.person_ref_hmac
             where e.prison_id = $1 and e.status in ('review', 'pending')
             order by e.received_at, e.event_id
             limit 500",
        )
        .await?;
    Ok(client
        .query(&statement, &[&prison_id])
        .await?
        .iter()
        .map(|row| EventRow {
            event_id: row.get("event_id"),
            event_type: row.get("event_type"),
            sequence: row.get("sequence"),
            status: row.get("status"),
            reason_code: row.get("reason_code"),
            person_id: row.get("person_id"),
            occurred_at: row.get("occurred_at"),
            received_at: row.get("received_at"),
            waiting_for_sequence: row.get("waiting_for"),
        })
        .collect())
}

/// Records the PMS's population of a prison on a date: the references' HMACs. A second
/// snapshot of the same prison and date is refused (`Ok(false)`) unless it is the same body.
pub async fn store_population(
    tx: &Transaction<'_>,
    feed_id: &str,
    prison_id: Uuid,
    population_date: Date,
    body_sha256: &[u8],
    person_ref_hmacs: &[Vec<u8>],
) -> Result<Option<Uuid>> {
    let existing = tx
        .prepare_cached(
            "select snapshot_id, body_sha256 from identity.pms_population_snapshots
             where feed_id = $1 and prison_id = $2 and population_date = $3",
        )
        .await?;
    if let Some(row) = tx
        .query_opt(&existing, &[&feed_id, &prison_id, &population_date])
        .await?
    {
        let stored: Vec<u8> = row.get("body_sha256");
        return Ok((stored == body_sha256).then(|| row.get("snapshot_id")));
    }
    let snapshot_id = Uuid::now_v7();
    let insert = tx
        .prepare_cached(
            "insert into identity.pms_population_snapshots
                (snapshot_id, feed_id, prison_id, population_date, body_sha256)
             values ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &snapshot_id,
            &feed_id,
            &prison_id,
            &population_date,
            &body_sha256,
        ],
    )
    .await?;
    let entry = tx
        .prepare_cached(
            "insert into identity.pms_population_entries (snapshot_id, person_ref_hmac)
             values ($1, $2) on conflict do nothing",
        )
        .await?;
    for hmac in person_ref_hmacs {
        tx.execute(&entry, &[&snapshot_id, hmac]).await?;
    }
    Ok(Some(snapshot_id))
}

/// One person of the PMS's snapshot: the Saldo person its reference names, if any.
#[derive(Debug, Clone)]
pub struct SnapshotPerson {
    pub person_id: Option<Uuid>,
}

/// The latest snapshot of a prison: its date and persons.
pub async fn latest_population(
    client: &impl GenericClient,
    prison_id: Uuid,
) -> Result<Option<(Date, Vec<SnapshotPerson>)>> {
    let latest = client
        .prepare_cached(
            "select snapshot_id, feed_id, population_date from identity.pms_population_snapshots
             where prison_id = $1 order by population_date desc, received_at desc limit 1",
        )
        .await?;
    let Some(snapshot) = client.query_opt(&latest, &[&prison_id]).await? else {
        return Ok(None);
    };
    let snapshot_id: Uuid = snapshot.get("snapshot_id");
    let feed_id: String = snapshot.get("feed_id");
    let entries = client
        .prepare_cached(
            "select p.person_id from identity.pms_population_entries e
             left join identity.pms_persons p
               on p.feed_id = $2 and p.person_ref_hmac = e.person_ref_hmac
             where e.snapshot_id = $1",
        )
        .await?;
    let persons = client
        .query(&entries, &[&snapshot_id, &feed_id])
        .await?
        .iter()
        .map(|row| SnapshotPerson {
            person_id: row.get("person_id"),
        })
        .collect();
    Ok(Some((snapshot.get("population_date"), persons)))
}

/// An event's status and reason code (no personal data).
pub async fn event_status(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Option<(String, Option<String>)>> {
    let statement = client
        .prepare_cached("select status, reason_code from identity.pms_events where event_id = $1")
        .await?;
    Ok(client
        .query_opt(&statement, &[&event_id])
        .await?
        .map(|row| (row.get("status"), row.get("reason_code"))))
}

/// What linking a reference to a person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Linked,
    /// The reference already names a person (this one or another).
    ReferenceTaken,
    /// The person already has another reference of this feed.
    PersonTaken,
}

/// Links a PMS reference to a person Saldo admitted before the feed named them: the person's
/// events from `next_sequence` on then apply to them. The caller holds the person's lock.
pub async fn link_person(
    tx: &Transaction<'_>,
    feed_id: &str,
    person_ref_hmac: &[u8],
    person_id: Uuid,
    next_sequence: i64,
) -> Result<Linked> {
    let taken = tx
        .prepare_cached(
            "select person_ref_hmac = $2 as same from identity.pms_persons
             where feed_id = $1 and person_id = $3",
        )
        .await?;
    if let Some(row) = tx
        .query_opt(&taken, &[&feed_id, &person_ref_hmac, &person_id])
        .await?
    {
        return Ok(if row.get("same") {
            Linked::ReferenceTaken
        } else {
            Linked::PersonTaken
        });
    }
    let statement = tx
        .prepare_cached(
            "insert into identity.pms_persons (feed_id, person_ref_hmac, person_id, next_sequence)
             values ($1, $2, $3, $4)
             on conflict (feed_id, person_ref_hmac) do update
                 set person_id = excluded.person_id, next_sequence = excluded.next_sequence
                 where identity.pms_persons.person_id is null
                   and identity.pms_persons.next_sequence <= excluded.next_sequence",
        )
        .await?;
    let changed = tx
        .execute(
            &statement,
            &[&feed_id, &person_ref_hmac, &person_id, &next_sequence],
        )
        .await?;
    Ok(if changed == 1 {
        Linked::Linked
    } else {
        Linked::ReferenceTaken
    })
}

/// Re-wraps up to `batch` keys of waiting events' sealed bodies that are not under the current
/// master key version (`store::rewrap_data_keys` calls it for what its batch leaves room for).
pub async fn rewrap_event_keys(
    client: &mut deadpool_postgres::Client,
    keys: &super::crypto::Keyring,
    batch: i64,
) -> Result<usize> {
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "select event_id, master_key_version, wrapped_key from identity.pms_events
             where master_key_version <> $1 order by event_id limit $2
             for update skip locked",
            &[&keys.current_version(), &batch],
        )
        .await?;
    for row in &rows {
        let event_id: Uuid = row.get("event_id");
        let key = keys.unwrap(
            event_id,
            &WrappedKey {
                version: row.get("master_key_version"),
                bytes: row.get("wrapped_key"),
            },
        )?;
        let wrapped = keys.wrap(event_id, &key)?;
        tx.execute(
            "update identity.pms_events set master_key_version = $2, wrapped_key = $3
             where event_id = $1",
            &[&event_id, &wrapped.version, &wrapped.bytes],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// Persons of the feed with an event pending since before `waiting_since` (at most `limit`):
/// what a sweep looks at, so a gap is noticed even when nothing more comes for the person.
pub async fn waiting_persons(
    client: &impl GenericClient,
    feed_id: &str,
    waiting_since: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Vec<u8>>> {
    let statement = client
        .prepare_cached(
            "select distinct person_ref_hmac from identity.pms_events
             where feed_id = $1 and status = 'pending' and received_at < $2
               and not exists (
                   select 1 from identity.pms_events r
                   where r.feed_id = identity.pms_events.feed_id
                     and r.person_ref_hmac = identity.pms_events.person_ref_hmac
                     and r.status = 'review')
             limit $3",
        )
        .await?;
    Ok(client
        .query(&statement, &[&feed_id, &waiting_since, &limit])
        .await?
        .iter()
        .map(|row| row.get("person_ref_hmac"))
        .collect())
}
