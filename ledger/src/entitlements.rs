//! What every person was owed at an instant, from the postings and hold events alone (never the
//! running balance rows), and the journal checkpoint that covers it: the data of the certified
//! entitlement statement (the `entitlements` crate signs it; docs/switch-over.md).
use deadpool_postgres::{GenericClient, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::LedgerResult;

/// One person's sub-account at the instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAt {
    pub person_id: Uuid,
    /// Where the person was placed at the instant (their latest card mode by then).
    pub prison_id: Option<Uuid>,
    pub purpose: String,
    pub currency: String,
    /// The balance in the account's normal direction (a liability: what the service owes).
    pub posted_minor: i64,
    /// What holds still held at the instant.
    pub held_minor: i64,
}

/// Every open person account at `at`, with its posted and held amounts as they stood then; only
/// people placed in `prison` at `at` when it is given. Sums run in PostgreSQL (`bigint` casts
/// fail rather than wrap). On the caller's transaction (its `work_mem` is raised for it).
pub async fn accounts_at(
    tx: &Transaction<'_>,
    at: OffsetDateTime,
    prison: Option<Uuid>,
) -> LedgerResult<Vec<AccountAt>> {
    // A group per account (400,000 for 100,000 people): hashed in memory for this one query
    // rather than spilled to disk in batches, as the default 4 MB makes it.
    tx.batch_execute("set local work_mem = '64MB'").await?;
    let rows = tx
        .query(
            "with placed as (
                 select distinct on (person_id) person_id, prison_id from controls.card_modes
                 where effective_from <= $1
                 order by person_id, effective_from desc, id desc),
             accounts as (
                 select a.id, a.person_id, a.purpose, a.currency::text as currency,
                        a.account_type, p.prison_id
                 from ledger_accounts a left join placed p on p.person_id = a.person_id
                 where a.owner_kind = 'person' and a.created_at <= $1
                   and (a.closed_at is null or a.closed_at > $1)
                   and ($2::uuid is null or p.prison_id = $2)),
             posted as (
                 select p.account_id, sum(p.amount_minor) as posted
                 from journal_postings p join accounts a on a.id = p.account_id
                 where p.recorded_at <= $1
                 group by p.account_id),
             held as (
                 select h.account_id, sum(h.amount_minor + coalesce(e.delta, 0)) as held
                 from holds h
                 left join (select hold_id,
                                   sum(case when kind = 'increase' then held_delta_minor
                                            else -held_delta_minor end) as delta
                            from hold_events where recorded_at <= $1 group by hold_id) e
                   on e.hold_id = h.id
                 where h.created_at <= $1
                 group by h.account_id)
             select a.person_id, a.prison_id, a.purpose, a.currency,
                    (coalesce(p.posted, 0)
                      * case when a.account_type in ('asset', 'expense') then 1 else -1 end
                    )::bigint as posted_minor,
                    coalesce(h.held, 0)::bigint as held_minor
             from accounts a
             left join posted p on p.account_id = a.id
             left join held h on h.account_id = a.id",
            &[&at, &prison],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| AccountAt {
            person_id: row.get("person_id"),
            prison_id: row.get("prison_id"),
            purpose: row.get("purpose"),
            currency: row.get("currency"),
            posted_minor: row.get("posted_minor"),
            held_minor: row.get("held_minor"),
        })
        .collect())
}

/// The statement's place in the journal's checkpoint chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointAt {
    /// The highest entry sequence number recorded at or before the instant.
    pub through_seq: i64,
    /// The first checkpoint whose range reaches `through_seq`: it and the chain before it seal
    /// every entry the statement counts.
    pub checkpoint_n: i64,
    pub checkpoint_sha256: Vec<u8>,
}

/// The highest entry sequence number recorded at or before `at` (`None`: no entry yet).
pub async fn last_seq_at(
    client: &impl GenericClient,
    at: OffsetDateTime,
) -> LedgerResult<Option<i64>> {
    Ok(client
        .query_one(
            "select max(seq) as seq from journal_entries where recorded_at <= $1",
            &[&at],
        )
        .await?
        .get("seq"))
}

/// The first checkpoint that seals entry `seq`, if it is sealed yet.
pub async fn checkpoint_covering(
    client: &impl GenericClient,
    seq: i64,
) -> LedgerResult<Option<CheckpointAt>> {
    Ok(client
        .query_opt(
            "select n, checkpoint_sha256 from ledger_checkpoints
             where last_seq >= $1 order by n limit 1",
            &[&seq],
        )
        .await?
        .map(|row| CheckpointAt {
            through_seq: seq,
            checkpoint_n: row.get("n"),
            checkpoint_sha256: row.get("checkpoint_sha256"),
        }))
}
