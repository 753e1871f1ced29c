//! Tamper evidence for the journal: checkpoints (SHA-256) over consecutive ranges of
//! `journal_entries.seq`, each covering the entries of its range with their postings and the
//! previous checkpoint's hash. Writers never wait for this: a job seals what has committed, in
//! order, and `saldo verify` recomputes every range, so a row changed, deleted or inserted after
//! its range was sealed is found. `saldo checkpoints export` copies the chain out of the database
//! (a deleted or rewritten tail of the chain is then found against that copy).
//!
//! Accounts are sealed the same way over `ledger_accounts.seq` ([`seal_accounts`]): what an
//! account is and whose it is (owner, code, currency, type, purpose, rule), so swapping two
//! prisoners' accounts is found even when done with the triggers off.
//!
//! The generic parts ([`committed_horizon`], [`RangeHasher`], [`chain_hash`]) also seal the
//! access log (`api`).
use std::time::Duration;

use deadpool_postgres::GenericClient;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::check::Check;
use crate::error::LedgerResult;

/// At most this many entries per checkpoint: a range is hashed in one query.
pub const MAX_ENTRIES_PER_CHECKPOINT: i64 = 5_000;
/// Serialises sealers (two jobs would compute the same next checkpoint).
const SEAL_LOCK: i64 = 0x5a1d_0000_5ea1;
const JOURNAL_SEQUENCE: &str = "journal_entries_seq_seq";

/// The highest number of `sequence` below which no row of `table` can still appear: every
/// number up to it was taken by a transaction that has since committed or rolled back.
///
/// An INSERT locks its table (RowExclusiveLock, at parse time) before it takes a number from the
/// sequence, and keeps the lock until its transaction ends. So: read the sequence, note which
/// transactions hold a lock on the table at that moment, and wait until every one of them has
/// ended. Only this database's writers to this table are waited for (not the whole cluster's
/// transactions), and writers never wait for the sealer. `None` if they did not end within
/// `wait` (a long transaction): try again later. Runs outside any transaction.
pub async fn committed_horizon(
    client: &impl GenericClient,
    sequence: &str,
    table: &str,
    wait: Duration,
) -> LedgerResult<Option<i64>> {
    let row = client
        .query_one(
            &format!(
                "select last_value - case when is_called then 0 else 1 end as horizon
                 from {sequence}"
            ),
            &[],
        )
        .await?;
    let horizon: i64 = row.get("horizon");
    let writers: Vec<String> = client
        .query(
            "select distinct virtualtransaction from pg_locks
             where locktype = 'relation' and relation = $1::text::regclass
               and database = (select oid from pg_database where datname = current_database())
               and pid <> pg_backend_pid()",
            &[&table],
        )
        .await?
        .iter()
        .map(|row| row.get("virtualtransaction"))
        .collect();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let running: i64 = client
            .query_one(
                "select count(*) as running from pg_locks
                 where virtualtransaction = any($1) and locktype = 'relation'
                   and relation = $2::text::regclass",
                &[&writers, &table],
            )
            .await?
            .get("running");
        if running == 0 {
            return Ok(Some(horizon));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Feeds typed, length-prefixed fields into SHA-256, so no two different rows hash alike.
pub struct RangeHasher(Sha256);

impl RangeHasher {
    pub fn new(domain: &str) -> RangeHasher {
        let mut hasher = RangeHasher(Sha256::new());
        hasher.bytes(domain.as_bytes());
        hasher
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_be_bytes());
        self.0.update(bytes);
    }

    pub fn tag(&mut self, tag: u8) {
        self.0.update([tag]);
    }

    pub fn i64(&mut self, value: i64) {
        self.bytes(&value.to_be_bytes());
    }

    pub fn bool(&mut self, value: bool) {
        self.bytes(&[u8::from(value)]);
    }

    pub fn text(&mut self, value: &str) {
        self.bytes(value.as_bytes());
    }

    pub fn uuid(&mut self, value: Uuid) {
        self.bytes(value.as_bytes());
    }

    pub fn time(&mut self, value: OffsetDateTime) {
        self.bytes(&value.unix_timestamp_nanos().to_be_bytes());
    }

    pub fn date(&mut self, value: time::Date) {
        self.bytes(&value.to_julian_day().to_be_bytes());
    }

    /// An optional field: absent and present-but-empty differ.
    pub fn opt<T>(&mut self, value: Option<T>, put: impl FnOnce(&mut RangeHasher, T)) {
        match value {
            None => self.tag(0),
            Some(value) => {
                self.tag(1);
                put(self, value);
            }
        }
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// The hash of one checkpoint: its place in the chain, its range, and the previous hash.
pub fn chain_hash(
    domain: &str,
    n: i64,
    first: i64,
    last: i64,
    counts: &[i64],
    range: &[u8],
    previous: Option<&[u8]>,
) -> [u8; 32] {
    let mut hasher = RangeHasher::new(domain);
    hasher.i64(n);
    hasher.i64(first);
    hasher.i64(last);
    for count in counts {
        hasher.i64(*count);
    }
    hasher.bytes(range);
    hasher.opt(previous, |h, previous| h.bytes(previous));
    hasher.finish()
}

/// One checkpoint, as stored and as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub n: i64,
    pub first: i64,
    pub last: i64,
    /// Rows covered (entries and postings for the journal; rows for the access log).
    pub counts: Vec<i64>,
    #[serde(serialize_with = "hex_bytes")]
    pub range_sha256: Vec<u8>,
    #[serde(serialize_with = "hex_opt")]
    pub previous_sha256: Option<Vec<u8>>,
    #[serde(serialize_with = "hex_bytes")]
    pub checkpoint_sha256: Vec<u8>,
    #[serde(with = "time::serde::rfc3339")]
    pub sealed_at: OffsetDateTime,
}

fn hex_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

fn hex_opt<S: serde::Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(bytes) => s.serialize_str(&hex::encode(bytes)),
        None => s.serialize_none(),
    }
}

// ---------------------------------------------------------------------------------------------
// The journal

const RANGE_DOMAIN: &str = "saldo/journal-range/v1";
const CHAIN_DOMAIN: &str = "saldo/journal-checkpoint/v1";

/// Hashes the entries with `seq` in `first..=last` and their postings: (hash, entries, postings).
async fn journal_range(
    client: &impl GenericClient,
    first: i64,
    last: i64,
) -> LedgerResult<([u8; 32], i64, i64)> {
    let rows = client
        .query(
            "select e.seq, e.id as entry_id, e.effective_date, e.recorded_at, e.description,
                    e.metadata::text as metadata, e.reverses_entry_id, e.overdraft_flagged,
                    p.id as posting_id, p.account_id, p.currency::text as currency, p.amount_minor,
                    p.recorded_at as posting_recorded_at
             from journal_entries e left join journal_postings p on p.entry_id = e.id
             where e.seq between $1 and $2
             order by e.seq, p.id",
            &[&first, &last],
        )
        .await?;
    let mut hasher = RangeHasher::new(RANGE_DOMAIN);
    let (mut entries, mut postings) = (0i64, 0i64);
    let mut current: Option<i64> = None;
    for row in &rows {
        let seq: i64 = row.get("seq");
        if current != Some(seq) {
            current = Some(seq);
            entries += 1;
            hasher.tag(b'E');
            hasher.i64(seq);
            hasher.uuid(row.get("entry_id"));
            hasher.date(row.get("effective_date"));
            hasher.time(row.get("recorded_at"));
            hasher.text(row.get("description"));
            hasher.text(row.get("metadata"));
            hasher.opt(
                row.get::<_, Option<Uuid>>("reverses_entry_id"),
                RangeHasher::uuid,
            );
            hasher.bool(row.get("overdraft_flagged"));
        }
        if let Some(posting_id) = row.get::<_, Option<i64>>("posting_id") {
            postings += 1;
            hasher.tag(b'P');
            hasher.i64(posting_id);
            hasher.uuid(row.get("account_id"));
            hasher.text(row.get("currency"));
            hasher.i64(row.get("amount_minor"));
            hasher.time(row.get("posting_recorded_at"));
        }
    }
    Ok((hasher.finish(), entries, postings))
}

fn checkpoint_from_row(row: &tokio_postgres::Row) -> Checkpoint {
    Checkpoint {
        n: row.get("n"),
        first: row.get("first_seq"),
        last: row.get("last_seq"),
        counts: vec![row.get("entries"), row.get("postings")],
        range_sha256: row.get("range_sha256"),
        previous_sha256: row.get("previous_sha256"),
        checkpoint_sha256: row.get("checkpoint_sha256"),
        sealed_at: row.get("sealed_at"),
    }
}

/// Every journal checkpoint, in order.
pub async fn journal_checkpoints(client: &impl GenericClient) -> LedgerResult<Vec<Checkpoint>> {
    Ok(client
        .query(
            "select n, first_seq, last_seq, entries, postings, range_sha256, previous_sha256,
                    checkpoint_sha256, sealed_at
             from ledger_checkpoints order by n",
            &[],
        )
        .await?
        .iter()
        .map(checkpoint_from_row)
        .collect())
}

/// Seals every committed entry not yet sealed, in checkpoints of at most
/// [`MAX_ENTRIES_PER_CHECKPOINT`] entries. Returns the new checkpoints (none if nothing new, or
/// if a long transaction kept the horizon from settling within `wait`).
pub async fn seal_journal(
    client: &mut deadpool_postgres::Client,
    wait: Duration,
) -> LedgerResult<Vec<Checkpoint>> {
    let Some(horizon) =
        committed_horizon(&*client, JOURNAL_SEQUENCE, "journal_entries", wait).await?
    else {
        return Ok(Vec::new());
    };
    let mut sealed = Vec::new();
    loop {
        let tx = client.transaction().await?;
        tx.execute("select pg_advisory_xact_lock($1)", &[&SEAL_LOCK])
            .await?;
        let previous = tx
            .query_opt(
                "select n, last_seq, checkpoint_sha256 from ledger_checkpoints
                 order by n desc limit 1",
                &[],
            )
            .await?;
        let (n, first, previous_hash) = match &previous {
            Some(row) => (
                row.get::<_, i64>("n") + 1,
                row.get::<_, i64>("last_seq") + 1,
                Some(row.get::<_, Vec<u8>>("checkpoint_sha256")),
            ),
            None => (1, 1, None),
        };
        if first > horizon {
            break;
        }
        // The range ends at the horizon or at the MAX-th entry after `first`, whichever first.
        let cut = tx
            .query_opt(
                "select seq from journal_entries where seq >= $1 and seq <= $2
                 order by seq offset $3 limit 1",
                &[&first, &horizon, &(MAX_ENTRIES_PER_CHECKPOINT - 1)],
            )
            .await?;
        let last = cut.map_or(horizon, |row| row.get("seq"));
        let (range, entries, postings) = journal_range(&tx, first, last).await?;
        if entries == 0 {
            break;
        }
        let hash = chain_hash(
            CHAIN_DOMAIN,
            n,
            first,
            last,
            &[entries, postings],
            &range,
            previous_hash.as_deref(),
        );
        let row = tx
            .query_one(
                "insert into ledger_checkpoints
                    (n, first_seq, last_seq, entries, postings, range_sha256, previous_sha256,
                     checkpoint_sha256)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)
                 returning n, first_seq, last_seq, entries, postings, range_sha256,
                           previous_sha256, checkpoint_sha256, sealed_at",
                &[
                    &n,
                    &first,
                    &last,
                    &entries,
                    &postings,
                    &range.as_slice(),
                    &previous_hash,
                    &hash.as_slice(),
                ],
            )
            .await?;
        tx.commit().await?;
        sealed.push(checkpoint_from_row(&row));
    }
    Ok(sealed)
}

/// Checks a chain of checkpoints by itself: each one's hash, its link to the previous one, and
/// that the ranges follow each other from 1. Returns descriptions of what does not match.
pub fn verify_links(domain: &str, checkpoints: &[Checkpoint]) -> Vec<String> {
    verify_links_with(checkpoints, |checkpoint| {
        chain_hash(
            domain,
            checkpoint.n,
            checkpoint.first,
            checkpoint.last,
            &checkpoint.counts,
            &checkpoint.range_sha256,
            checkpoint.previous_sha256.as_deref(),
        )
    })
}

/// [`verify_links`] for a chain whose checkpoints hash more than their common fields (the access
/// log's version 2 also covers the time of its last row).
pub fn verify_links_with(
    checkpoints: &[Checkpoint],
    hash_of: impl Fn(&Checkpoint) -> [u8; 32],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut previous: Option<&Checkpoint> = None;
    for checkpoint in checkpoints {
        let (expected_n, expected_first, expected_previous) = match previous {
            Some(p) => (p.n + 1, p.last + 1, Some(p.checkpoint_sha256.as_slice())),
            None => (1, 1, None),
        };
        if checkpoint.n != expected_n || checkpoint.first != expected_first {
            problems.push(format!(
                "checkpoint {}: expected number {expected_n} starting at {expected_first}",
                checkpoint.n
            ));
        }
        if checkpoint.previous_sha256.as_deref() != expected_previous {
            problems.push(format!(
                "checkpoint {}: does not link to the previous checkpoint",
                checkpoint.n
            ));
        }
        if hash_of(checkpoint).as_slice() != checkpoint.checkpoint_sha256 {
            problems.push(format!(
                "checkpoint {}: its own hash does not match its fields",
                checkpoint.n
            ));
        }
        previous = Some(checkpoint);
    }
    problems
}

/// What a range that no longer hashes to its checkpoint looks like in a report.
pub fn range_problem(checkpoint: &Checkpoint, hash: &[u8; 32], counts: &[i64]) -> Option<String> {
    (hash.as_slice() != checkpoint.range_sha256 || counts != checkpoint.counts).then(|| {
        format!(
            "checkpoint {} ({}..={}): rows changed, deleted or inserted since sealing \
             (rows now {:?}, sealed {:?})",
            checkpoint.n, checkpoint.first, checkpoint.last, counts, checkpoint.counts
        )
    })
}

/// The `journal_sealed` check of `saldo verify`.
pub async fn verify_journal(client: &impl GenericClient) -> LedgerResult<Check> {
    let checkpoints = journal_checkpoints(client).await?;
    let mut problems = verify_links(CHAIN_DOMAIN, &checkpoints);
    for checkpoint in &checkpoints {
        let (hash, entries, postings) =
            journal_range(client, checkpoint.first, checkpoint.last).await?;
        problems.extend(range_problem(checkpoint, &hash, &[entries, postings]));
    }
    let below: i64 = client
        .query_one(
            "select count(*) as below from journal_entries where seq < 1",
            &[],
        )
        .await?
        .get("below");
    if below > 0 {
        problems.push(format!(
            "{below} entries numbered below 1, outside every range"
        ));
    }
    Ok(Check {
        name: "journal_sealed",
        description: "every sealed range of the journal still hashes to its checkpoint, and the \
                      checkpoints chain",
        violations: problems.len() as i64,
        examples: problems.into_iter().take(10).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// What an account is and whose it is

const ACCOUNT_RANGE_DOMAIN: &str = "saldo/account-range/v1";
const ACCOUNT_CHAIN_DOMAIN: &str = "saldo/account-checkpoint/v1";
const ACCOUNT_SEQUENCE: &str = "ledger_accounts_seq_seq";
/// Serialises account sealers.
const ACCOUNT_SEAL_LOCK: i64 = 0x5a1d_0000_acc7;

/// Hashes the accounts with `seq` in `first..=last`: every column but `closed_at` (the one that
/// changes, once). (hash, accounts).
async fn account_range(
    client: &impl GenericClient,
    first: i64,
    last: i64,
) -> LedgerResult<([u8; 32], i64)> {
    let rows = client
        .query(
            "select seq, id, code, account_type, currency::text as currency, owner_kind, person_id, purpose,
                    balance_rule, is_hot, created_at
             from ledger_accounts where seq between $1 and $2 order by seq",
            &[&first, &last],
        )
        .await?;
    let mut hasher = RangeHasher::new(ACCOUNT_RANGE_DOMAIN);
    for row in &rows {
        hasher.tag(b'A');
        hasher.i64(row.get("seq"));
        hasher.uuid(row.get("id"));
        hasher.text(row.get("code"));
        hasher.text(row.get("account_type"));
        hasher.text(row.get("currency"));
        hasher.text(row.get("owner_kind"));
        hasher.opt(row.get::<_, Option<Uuid>>("person_id"), RangeHasher::uuid);
        hasher.text(row.get("purpose"));
        hasher.text(row.get("balance_rule"));
        hasher.bool(row.get("is_hot"));
        hasher.time(row.get("created_at"));
    }
    Ok((hasher.finish(), rows.len() as i64))
}

fn account_checkpoint_from_row(row: &tokio_postgres::Row) -> Checkpoint {
    Checkpoint {
        n: row.get("n"),
        first: row.get("first_seq"),
        last: row.get("last_seq"),
        counts: vec![row.get("accounts")],
        range_sha256: row.get("range_sha256"),
        previous_sha256: row.get("previous_sha256"),
        checkpoint_sha256: row.get("checkpoint_sha256"),
        sealed_at: row.get("sealed_at"),
    }
}

/// Every account checkpoint, in order.
pub async fn account_checkpoints(client: &impl GenericClient) -> LedgerResult<Vec<Checkpoint>> {
    Ok(client
        .query(
            "select n, first_seq, last_seq, accounts, range_sha256, previous_sha256,
                    checkpoint_sha256, sealed_at
             from ledger_account_checkpoints order by n",
            &[],
        )
        .await?
        .iter()
        .map(account_checkpoint_from_row)
        .collect())
}

/// Seals every committed account not yet sealed, like [`seal_journal`].
pub async fn seal_accounts(
    client: &mut deadpool_postgres::Client,
    wait: Duration,
) -> LedgerResult<Vec<Checkpoint>> {
    let Some(horizon) =
        committed_horizon(&*client, ACCOUNT_SEQUENCE, "ledger_accounts", wait).await?
    else {
        return Ok(Vec::new());
    };
    let mut sealed = Vec::new();
    loop {
        let tx = client.transaction().await?;
        tx.execute("select pg_advisory_xact_lock($1)", &[&ACCOUNT_SEAL_LOCK])
            .await?;
        let previous = tx
            .query_opt(
                "select n, last_seq, checkpoint_sha256 from ledger_account_checkpoints
                 order by n desc limit 1",
                &[],
            )
            .await?;
        let (n, first, previous_hash) = match &previous {
            Some(row) => (
                row.get::<_, i64>("n") + 1,
                row.get::<_, i64>("last_seq") + 1,
                Some(row.get::<_, Vec<u8>>("checkpoint_sha256")),
            ),
            None => (1, 1, None),
        };
        if first > horizon {
            break;
        }
        let cut = tx
            .query_opt(
                "select seq from ledger_accounts where seq >= $1 and seq <= $2
                 order by seq offset $3 limit 1",
                &[&first, &horizon, &(MAX_ENTRIES_PER_CHECKPOINT - 1)],
            )
            .await?;
        let last = cut.map_or(horizon, |row| row.get("seq"));
        let (range, accounts) = account_range(&tx, first, last).await?;
        if accounts == 0 {
            break;
        }
        let hash = chain_hash(
            ACCOUNT_CHAIN_DOMAIN,
            n,
            first,
            last,
            &[accounts],
            &range,
            previous_hash.as_deref(),
        );
        let row = tx
            .query_one(
                "insert into ledger_account_checkpoints
                    (n, first_seq, last_seq, accounts, range_sha256, previous_sha256,
                     checkpoint_sha256)
                 values ($1, $2, $3, $4, $5, $6, $7)
                 returning n, first_seq, last_seq, accounts, range_sha256, previous_sha256,
                           checkpoint_sha256, sealed_at",
                &[
                    &n,
                    &first,
                    &last,
                    &accounts,
                    &range.as_slice(),
                    &previous_hash,
                    &hash.as_slice(),
                ],
            )
            .await?;
        tx.commit().await?;
        sealed.push(account_checkpoint_from_row(&row));
    }
    Ok(sealed)
}

/// The `accounts_sealed` check of `saldo verify`: what every sealed account is and whose it is
/// (owner, code, currency, type, purpose, balance rule) is as it was sealed.
pub async fn verify_accounts(client: &impl GenericClient) -> LedgerResult<Check> {
    let checkpoints = account_checkpoints(client).await?;
    let mut problems = verify_links(ACCOUNT_CHAIN_DOMAIN, &checkpoints);
    for checkpoint in &checkpoints {
        let (hash, accounts) = account_range(client, checkpoint.first, checkpoint.last).await?;
        problems.extend(range_problem(checkpoint, &hash, &[accounts]));
    }
    let below: i64 = client
        .query_one(
            "select count(*) as below from ledger_accounts where seq < 1",
            &[],
        )
        .await?
        .get("below");
    if below > 0 {
        problems.push(format!(
            "{below} accounts numbered below 1, outside every range"
        ));
    }
    Ok(Check {
        name: "accounts_sealed",
        description: "every sealed account is still what it was and whose it was (owner, code, \
                      currency, type, purpose, rule), and the checkpoints chain",
        violations: problems.len() as i64,
        examples: problems.into_iter().take(10).collect(),
    })
}

/// A stored chain compared with an exported copy: every exported checkpoint must still be in the
/// database, unchanged. Returns what differs.
pub fn compare_with_export(stored: &[Checkpoint], exported: &[(i64, String)]) -> Vec<String> {
    exported
        .iter()
        .filter_map(|(n, hash)| match stored.iter().find(|c| c.n == *n) {
            None => Some(format!("checkpoint {n} is missing from the database")),
            Some(c) if hex::encode(&c.checkpoint_sha256) != *hash => {
                Some(format!("checkpoint {n} differs from the exported copy"))
            }
            Some(_) => None,
        })
        .collect()
}
