//! Tamper evidence for the access log: checkpoints over consecutive ranges of
//! `audit.access_log.id`, chained like the journal's (`ledger::seal`). Retention may delete the
//! rows of whole checkpoints (recorded in `audit.log_checkpoint_prunes`); their hashes stay in
//! the chain, so what was deleted, and when, remains provable.
use std::time::Duration;

use deadpool_postgres::GenericClient;
use ledger::seal::{
    Checkpoint, RangeHasher, chain_hash, committed_horizon, range_problem, verify_links,
};
use ledger::verify::Check;
use time::OffsetDateTime;
use uuid::Uuid;

pub const MAX_ROWS_PER_CHECKPOINT: i64 = 10_000;
const SEAL_LOCK: i64 = 0x5a1d_0000_a0d1;
const SEQUENCE: &str = "audit.access_log_id_seq";
const RANGE_DOMAIN: &str = "saldo/access-log-range/v1";
const CHAIN_DOMAIN: &str = "saldo/access-log-checkpoint/v1";

/// Hashes the log rows with id in `first..=last`: (hash, rows, time of the last row).
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
        hasher.i64(row.get(0));
        let logged_at: OffsetDateTime = row.get(1);
        last_time = Some(logged_at);
        hasher.time(logged_at);
        hasher.text(row.get(2));
        hasher.opt(row.get::<_, Option<Uuid>>(3), RangeHasher::uuid);
        hasher.text(row.get(4));
        hasher.text(row.get(5));
        hasher.opt(row.get::<_, Option<Uuid>>(6), RangeHasher::uuid);
        hasher.opt(row.get::<_, Option<Uuid>>(7), RangeHasher::uuid);
        let fields: Vec<String> = row.get(8);
        hasher.i64(fields.len() as i64);
        for field in &fields {
            hasher.text(field);
        }
        hasher.text(row.get(9));
        hasher.opt(row.get::<_, Option<&str>>(10), RangeHasher::text);
        hasher.opt(row.get::<_, Option<&str>>(11), RangeHasher::text);
        hasher.text(row.get(12));
        hasher.opt(row.get::<_, Option<&str>>(13), RangeHasher::text);
    }
    Ok((hasher.finish(), rows.len() as i64, last_time))
}

fn checkpoint_from_row(row: &tokio_postgres::Row) -> Checkpoint {
    Checkpoint {
        n: row.get(0),
        first: row.get(1),
        last: row.get(2),
        counts: vec![row.get(3)],
        range_sha256: row.get(4),
        previous_sha256: row.get(5),
        checkpoint_sha256: row.get(6),
        sealed_at: row.get(7),
    }
}

/// Every access-log checkpoint, in order, with whether retention pruned its rows.
pub async fn checkpoints(
    client: &impl GenericClient,
) -> Result<Vec<(Checkpoint, bool)>, tokio_postgres::Error> {
    Ok(client
        .query(
            "select c.n, c.first_id, c.last_id, c.rows, c.range_sha256, c.previous_sha256,
                    c.checkpoint_sha256, c.sealed_at, p.n is not null
             from audit.log_checkpoints c left join audit.log_checkpoint_prunes p on p.n = c.n
             order by c.n",
            &[],
        )
        .await?
        .iter()
        .map(|row| (checkpoint_from_row(row), row.get(8)))
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
                row.get::<_, i64>(0) + 1,
                row.get::<_, i64>(1) + 1,
                Some(row.get::<_, Vec<u8>>(2)),
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
        let last = cut.map_or(horizon, |row| row.get(0));
        let (range, rows, last_logged_at) = log_range(&tx, first, last).await?;
        if rows == 0 {
            break;
        }
        let hash = chain_hash(
            CHAIN_DOMAIN,
            n,
            first,
            last,
            &[rows],
            &range,
            previous_hash.as_deref(),
        );
        let row = tx
            .query_one(
                "insert into audit.log_checkpoints
                    (n, first_id, last_id, rows, last_logged_at, range_sha256, previous_sha256,
                     checkpoint_sha256)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)
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
                ],
            )
            .await?;
        tx.commit().await?;
        sealed.push(checkpoint_from_row(&row));
    }
    Ok(sealed)
}

/// The `access_log_sealed` check of `saldo verify`: the chain, every unpruned range recomputed,
/// pruned ranges empty.
pub async fn verify(client: &impl GenericClient) -> anyhow::Result<Check> {
    let stored = checkpoints(client).await?;
    let chain: Vec<Checkpoint> = stored.iter().map(|(c, _)| c.clone()).collect();
    let mut problems = verify_links(CHAIN_DOMAIN, &chain);
    for (checkpoint, pruned) in &stored {
        let (hash, rows, _) = log_range(client, checkpoint.first, checkpoint.last).await?;
        if *pruned {
            if rows > 0 {
                problems.push(format!(
                    "checkpoint {}: pruned by retention but {rows} rows remain",
                    checkpoint.n
                ));
            }
        } else {
            problems.extend(range_problem(checkpoint, &hash, &[rows]));
        }
    }
    Ok(Check {
        name: "access_log_sealed",
        description: "every sealed range of the access log still hashes to its checkpoint, and \
                      the checkpoints chain",
        violations: problems.len() as i64,
        examples: problems.into_iter().take(10).collect(),
    })
}
