//! Tamper evidence for the access log: checkpoints over consecutive ranges of
//! `audit.access_log.id`, chained like the journal's (`ledger::seal`). Retention may delete the
//! rows of whole checkpoints (recorded in `audit.log_checkpoint_prunes`); their hashes stay in
//! the chain, so what was deleted, and when, remains provable. Checkpoints sealed since V18
//! (`hash_version` 2) also cover the time of their last row, from which retention counts after
//! the rows are gone; `saldo verify` checks every prune against the retention log and the
//! configured period.
use std::time::Duration;

use deadpool_postgres::GenericClient;
use ledger::check::Check;
use ledger::seal::{
    Checkpoint, RangeHasher, chain_hash, committed_horizon, range_problem, verify_links_with,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::retention::RetentionPolicy;

pub const MAX_ROWS_PER_CHECKPOINT: i64 = 10_000;
const SEAL_LOCK: i64 = 0x5a1d_0000_a0d1;
const SEQUENCE: &str = "audit.access_log_id_seq";
const RANGE_DOMAIN: &str = "saldo/access-log-range/v1";
const CHAIN_DOMAIN: &str = "saldo/access-log-checkpoint/v1";
/// Version 2 also covers `last_logged_at`.
const CHAIN_DOMAIN_V2: &str = "saldo/access-log-checkpoint/v2";
const HASH_VERSION: i16 = 2;

/// A checkpoint's own hash, by the version it was sealed with.
fn checkpoint_hash(
    checkpoint: &Checkpoint,
    hash_version: i16,
    last_logged_at: Option<OffsetDateTime>,
) -> [u8; 32] {
    if hash_version == 1 {
        return chain_hash(
            CHAIN_DOMAIN,
            checkpoint.n,
            checkpoint.first,
            checkpoint.last,
            &checkpoint.counts,
            &checkpoint.range_sha256,
            checkpoint.previous_sha256.as_deref(),
        );
    }
    let mut covered = RangeHasher::new(CHAIN_DOMAIN_V2);
    covered.bytes(&checkpoint.range_sha256);
    covered.opt(last_logged_at, RangeHasher::time);
    chain_hash(
        CHAIN_DOMAIN_V2,
        checkpoint.n,
        checkpoint.first,
        checkpoint.last,
        &checkpoint.counts,
        &covered.finish(),
        checkpoint.previous_sha256.as_deref(),
    )
}

/// Hashes the log rows with id in `first..=last`: (hash, rows, time of the latest row; the
/// database computes the same for the checkpoint it stores, V18).
async fn log_range(
    client: &impl GenericClient,
    first: i64,
    last: i64,
) -> Result<([u8; 32], i64, Option<OffsetDateTime>), tokio_postgres::Error> {
    let rows = client
        .query(
            "select id, logged_at, actor_kind, actor_id, action, subject_kind, subject_person_id,
                    prison_id, fields, purpose, case_ref, recipient, outcome, request_id
             from audit.access_log where id between $1 and $2 order by id",
            &[&first, &last],
        )
        .await?;
    let mut hasher = RangeHasher::new(RANGE_DOMAIN);
    let mut last_time = None;
    for row in &rows {
        hasher.tag(b'L');
        hasher.i64(row.get("id"));
        let logged_at: OffsetDateTime = row.get("logged_at");
        last_time = last_time.max(Some(logged_at));
        hasher.time(logged_at);
        hasher.text(row.get("actor_kind"));
        hasher.opt(row.get::<_, Option<Uuid>>("actor_id"), RangeHasher::uuid);
        hasher.text(row.get("action"));
        hasher.text(row.get("subject_kind"));
        hasher.opt(
            row.get::<_, Option<Uuid>>("subject_person_id"),
            RangeHasher::uuid,
        );
        hasher.opt(row.get::<_, Option<Uuid>>("prison_id"), RangeHasher::uuid);
        let fields: Vec<String> = row.get("fields");
        hasher.i64(fields.len() as i64);
        for field in &fields {
            hasher.text(field);
        }
        hasher.text(row.get("purpose"));
        hasher.opt(row.get::<_, Option<&str>>("case_ref"), RangeHasher::text);
        hasher.opt(row.get::<_, Option<&str>>("recipient"), RangeHasher::text);
        hasher.text(row.get("outcome"));
        hasher.opt(row.get::<_, Option<&str>>("request_id"), RangeHasher::text);
    }
    Ok((hasher.finish(), rows.len() as i64, last_time))
}

fn checkpoint_from_row(row: &tokio_postgres::Row) -> Checkpoint {
    Checkpoint {
        n: row.get("n"),
        first: row.get("first_id"),
        last: row.get("last_id"),
        counts: vec![row.get("rows")],
        range_sha256: row.get("range_sha256"),
        previous_sha256: row.get("previous_sha256"),
        checkpoint_sha256: row.get("checkpoint_sha256"),
        sealed_at: row.get("sealed_at"),
    }
}

/// Every access-log checkpoint, in order, with whether retention pruned its rows.
pub async fn checkpoints(
    client: &impl GenericClient,
) -> Result<Vec<(Checkpoint, bool)>, tokio_postgres::Error> {
    Ok(client
        .query(
            "select c.n, c.first_id, c.last_id, c.rows, c.range_sha256, c.previous_sha256,
                    c.checkpoint_sha256, c.sealed_at, p.n is not null as pruned
             from audit.log_checkpoints c left join audit.log_checkpoint_prunes p on p.n = c.n
             order by c.n",
            &[],
        )
        .await?
        .iter()
        .map(|row| (checkpoint_from_row(row), row.get("pruned")))
        .collect())
}

/// Seals every committed log row not yet sealed. Returns the new checkpoints.
pub async fn seal(
    client: &mut deadpool_postgres::Client,
    wait: Duration,
) -> anyhow::Result<Vec<Checkpoint>> {
    let Some(horizon) = committed_horizon(&*client, SEQUENCE, "audit.access_log", wait).await?
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
                "select n, last_id, checkpoint_sha256 from audit.log_checkpoints
                 order by n desc limit 1",
                &[],
            )
            .await?;
        let (n, first, previous_hash) = match &previous {
            Some(row) => (
                row.get::<_, i64>("n") + 1,
                row.get::<_, i64>("last_id") + 1,
                Some(row.get::<_, Vec<u8>>("checkpoint_sha256")),
            ),
            None => (1, 1, None),
        };
        if first > horizon {
            break;
        }
        let cut = tx
            .query_opt(
                "select id from audit.access_log where id >= $1 and id <= $2
                 order by id offset $3 limit 1",
                &[&first, &horizon, &(MAX_ROWS_PER_CHECKPOINT - 1)],
            )
            .await?;
        let last = cut.map_or(horizon, |row| row.get("id"));
        let (range, rows, last_logged_at) = log_range(&tx, first, last).await?;
        if rows == 0 {
            break;
        }
        let unsealed = Checkpoint {
            n,
            first,
            last,
            counts: vec![rows],
            range_sha256: range.to_vec(),
            previous_sha256: previous_hash.clone(),
            checkpoint_sha256: Vec::new(),
            sealed_at: OffsetDateTime::now_utc(),
        };
        let hash = checkpoint_hash(&unsealed, HASH_VERSION, last_logged_at);
        let row = tx
            .query_one(
                "insert into audit.log_checkpoints
                    (n, first_id, last_id, rows, last_logged_at, range_sha256, previous_sha256,
                     checkpoint_sha256, hash_version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 returning n, first_id, last_id, rows, range_sha256, previous_sha256,
                           checkpoint_sha256, sealed_at",
                &[
                    &n,
                    &first,
                    &last,
                    &rows,
                    &last_logged_at,
                    &range.as_slice(),
                    &previous_hash,
                    &hash.as_slice(),
                    &HASH_VERSION,
                ],
            )
            .await?;
        tx.commit().await?;
        sealed.push(checkpoint_from_row(&row));
    }
    Ok(sealed)
}

/// A checkpoint as `verify` needs it: with its hash version, the time of its last row, and its
/// prune (if retention pruned it) with whether the retention log records that prune.
struct Stored {
    checkpoint: Checkpoint,
    hash_version: i16,
    last_logged_at: Option<OffsetDateTime>,
    pruned_at: Option<OffsetDateTime>,
    prune_recorded: bool,
}

async fn stored(client: &impl GenericClient) -> Result<Vec<Stored>, tokio_postgres::Error> {
    Ok(client
        .query(
            "select c.n, c.first_id, c.last_id, c.rows, c.range_sha256, c.previous_sha256,
                    c.checkpoint_sha256, c.sealed_at, c.hash_version, c.last_logged_at,
                    p.pruned_at,
                    exists (select 1 from audit.retention_log r
                            where r.run_id = p.run_id and r.category = 'access_log'
                              and r.outcome = 'pruned' and r.detail->>'checkpoint' = c.n::text)
                    as prune_recorded
             from audit.log_checkpoints c left join audit.log_checkpoint_prunes p on p.n = c.n
             order by c.n",
            &[],
        )
        .await?
        .iter()
        .map(|row| Stored {
            checkpoint: checkpoint_from_row(row),
            hash_version: row.get("hash_version"),
            last_logged_at: row.get("last_logged_at"),
            pruned_at: row.get("pruned_at"),
            prune_recorded: row.get("prune_recorded"),
        })
        .collect())
}

/// The chain, every unpruned range recomputed, and every prune checked: its rows gone, the
/// retention run's record of it in the retention log, and its last row older than the access
/// log's retention period when it was pruned (so a prune of recent rows is found even when the
/// retention log was forged with a shorter period).
pub async fn verify_with(
    client: &impl GenericClient,
    policy: &RetentionPolicy,
) -> anyhow::Result<Check> {
    let stored = stored(client).await?;
    let chain: Vec<Checkpoint> = stored.iter().map(|s| s.checkpoint.clone()).collect();
    let mut problems = verify_links_with(&chain, |checkpoint| {
        let own = stored.iter().find(|s| s.checkpoint.n == checkpoint.n);
        checkpoint_hash(
            checkpoint,
            own.map_or(HASH_VERSION, |s| s.hash_version),
            own.and_then(|s| s.last_logged_at),
        )
    });
    let now = OffsetDateTime::now_utc();
    for entry in &stored {
        let checkpoint = &entry.checkpoint;
        let (hash, rows, last_time) = log_range(client, checkpoint.first, checkpoint.last).await?;
        let Some(pruned_at) = entry.pruned_at else {
            problems.extend(range_problem(checkpoint, &hash, &[rows]));
            // Version 2 seals the time of the latest row; while the rows are here it must be theirs.
            if entry.hash_version >= 2 && rows > 0 && last_time != entry.last_logged_at {
                problems.push(format!(
                    "checkpoint {}: the time of its latest row differs from the one sealed",
                    checkpoint.n
                ));
            }
            continue;
        };
        let n = checkpoint.n;
        if rows > 0 {
            problems.push(format!(
                "checkpoint {n}: pruned by retention but {rows} rows remain"
            ));
        }
        if !entry.prune_recorded {
            problems.push(format!(
                "checkpoint {n}: pruned with no retention-log record of its run"
            ));
        }
        if pruned_at > now {
            problems.push(format!("checkpoint {n}: its prune is dated in the future"));
        }
        let due_before = policy.access_log.before(pruned_at);
        if entry.last_logged_at.is_none_or(|last| last >= due_before) {
            problems.push(format!(
                "checkpoint {n}: pruned within the retention period ({}): its last row was \
                 logged less than that before the prune",
                policy.access_log.iso()
            ));
        }
    }
    Ok(Check {
        name: "access_log_sealed",
        description: "every sealed range of the access log still hashes to its checkpoint, the \
                      checkpoints chain, and every prune was the retention run's, past the period",
        violations: problems.len() as i64,
        examples: problems.into_iter().take(10).collect(),
    })
}
