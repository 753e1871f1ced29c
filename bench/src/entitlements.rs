//! `saldo-bench entitlements`: the certified entitlement statement of many people over a large
//! journal (issue 16: 100,000 persons over 10,000,000 postings in at most 30 s).
//!
//! The journal is made server-side in set-based SQL (`generate_series`, as [`crate::data`] does,
//! triggers off for the load only): every entry two postings summing to zero, card purchases
//! that debit a prisoner's spendable account and credit the settlement payable, recorded over
//! the last 30 days, the balance rows kept equal to the postings. Then it is sealed, as the
//! running server's sealer would have, and the statement is timed as `saldo entitlements --at`
//! makes it (checkpoint look-up, sums, lines, Merkle root, signature, file text), then verified
//! offline as `saldo entitlements verify` would.
use std::time::Instant;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "saldo-bench entitlements",
    about = "Time the certified entitlement statement over a large journal"
)]
pub struct EntitlementOptions {
    /// An empty database to use as is (default: a fresh one on the test server, dropped after).
    #[arg(long)]
    pub database_url: Option<String>,
    #[arg(long, default_value_t = 100_000)]
    pub persons: usize,
    /// Postings in the journal in all (two per entry; the opening deposits count).
    #[arg(long, default_value_t = 10_000_000)]
    pub postings: i64,
    /// Timed statements (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The target, seconds.
    #[arg(long, default_value_t = 30)]
    pub target_s: u64,
    #[arg(long)]
    pub keep_db: bool,
    /// The database given is already loaded and sealed by an earlier `--keep-db` run: time the
    /// statement only.
    #[arg(long, requires = "database_url")]
    pub loaded: bool,
}

/// Entries per INSERT while loading: a few statements rather than one huge one.
const CHUNK_ENTRIES: i64 = 1_000_000;

pub async fn run(options: EntitlementOptions) -> anyhow::Result<()> {
    let server = crate::server_config()?;
    let (config, created) = match &options.database_url {
        Some(url) => (url.parse::<tokio_postgres::Config>()?, None),
        None => {
            let name = format!(
                "saldo_bench_ent_{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            );
            crate::admin_client(&server)
                .await?
                .batch_execute(&format!("create database {name}"))
                .await?;
            let mut config = server.clone();
            config.dbname(&name);
            (config, Some(name))
        }
    };
    let result = run_on(&options, &config).await;
    if !options.keep_db
        && let Some(name) = created
    {
        crate::admin_client(&server)
            .await?
            .batch_execute(&format!("drop database if exists {name} with (force)"))
            .await?;
    }
    result
}

fn seconds(started: Instant) -> String {
    let ms = started.elapsed().as_millis();
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

async fn run_on(
    options: &EntitlementOptions,
    config: &tokio_postgres::Config,
) -> anyhow::Result<()> {
    let pool = ledger::db::pool(config.clone(), 4)?;
    if !options.loaded {
        load_and_seal(options, config, &pool).await?;
    }
    time_statements(options, &pool).await
}

async fn load_and_seal(
    options: &EntitlementOptions,
    config: &tokio_postgres::Config,
    pool: &deadpool_postgres::Pool,
) -> anyhow::Result<()> {
    ledger::db::migrate(config).await?;
    let started = Instant::now();
    // The opening deposits a month before the purchases begin.
    let opened = time::OffsetDateTime::now_utc() - time::Duration::days(31);
    let data = crate::data::load_at(pool, options.persons, opened).await?;
    let opening = i64::try_from(options.persons)? * 2;
    let entries = (options.postings - opening).max(0) / 2;
    purchases(pool, &data, entries).await?;
    let total: i64 = pool
        .get()
        .await?
        .query_one("select count(*) as n from journal_postings", &[])
        .await?
        .get("n");
    println!(
        "loaded {} persons and {total} postings in {}",
        options.persons,
        seconds(started)
    );
    let started = Instant::now();
    let mut client = pool.get().await?;
    let mut checkpoints = 0;
    loop {
        let sealed =
            ledger::seal::seal_journal(&mut client, std::time::Duration::from_secs(10)).await?;
        if sealed.is_empty() {
            break;
        }
        checkpoints += sealed.len();
    }
    drop(client);
    println!(
        "sealed the journal ({checkpoints} checkpoints) in {}",
        seconds(started)
    );
    Ok(())
}

async fn time_statements(
    options: &EntitlementOptions,
    pool: &deadpool_postgres::Pool,
) -> anyhow::Result<()> {
    // The instant: a day ago, so the statement leaves out a day of the journal.
    let at = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let key = entitlements::ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let mut times_ms = Vec::new();
    let mut last = String::new();
    for run in 1..=options.runs.max(1) {
        let started = Instant::now();
        let statement = saldo::services::entitlements::statement(pool, &key, at, None).await?;
        last = entitlements::to_file_text(&statement);
        let ms = started.elapsed().as_millis();
        println!(
            "run {run}: statement of {} persons, {} bytes, in {}",
            statement.header.persons,
            last.len(),
            seconds(started)
        );
        times_ms.push(ms);
    }
    let started = Instant::now();
    let verified = entitlements::verify(last.as_bytes(), None)
        .map_err(|error| anyhow::anyhow!("the statement does not verify: {error}"))?;
    println!(
        "verified offline ({} persons, root {}) in {}",
        verified.header.persons,
        verified.header.merkle_root_sha256,
        seconds(started)
    );
    times_ms.sort_unstable();
    let median = times_ms[times_ms.len() / 2];
    let target_ms = u128::from(options.target_s) * 1000;
    println!(
        "entitlement statement: median {}.{:03} s of {:?} ms, target <= {} s: {}",
        median / 1000,
        median % 1000,
        times_ms,
        options.target_s,
        if median <= target_ms { "met" } else { "MISSED" }
    );
    Ok(())
}

/// `entries` card purchases (two postings each) spread over every person and the last 30 days,
/// with the balance rows kept equal to the postings.
async fn purchases(
    pool: &deadpool_postgres::Pool,
    data: &crate::data::Dataset,
    entries: i64,
) -> anyhow::Result<()> {
    let persons = i64::try_from(data.spendable.len())?;
    let mut client = pool.get().await?;
    let mut first = 1_i64;
    while first <= entries {
        let last = (first + CHUNK_ENTRIES - 1).min(entries);
        let tx = client.transaction().await?;
        tx.batch_execute("set local session_replication_role = replica")
            .await?;
        // The recording time: spread over 30 days, in entry order, so seq and time agree.
        tx.execute(
            "insert into journal_entries (id, effective_date, recorded_at, description, metadata)
             select md5('bench-ent-' || n)::uuid, current_date,
                    now() - (($3 - n) * 2592000 / $3) * interval '1 second', 'card purchase', '{}'
             from generate_series($1::bigint, $2::bigint) n",
            &[&first, &last, &entries],
        )
        .await?;
        tx.execute(
            "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
             select e.id, x.account_id, 'EUR', x.amount, e.recorded_at
             from generate_series($1::bigint, $2::bigint) n
             join journal_entries e on e.id = md5('bench-ent-' || n)::uuid,
                  lateral (select ($4::uuid[])[1 + n % $5] as spendable, 100 + n % 900 as amount) s,
                  lateral (values (s.spendable, s.amount), ($3::uuid, -s.amount))
                      as x(account_id, amount)",
            &[&first, &last, &data.payable, &data.spendable, &persons],
        )
        .await?;
        // A liability's balance is minus the sum of its postings: debits lower it.
        tx.execute(
            "update account_balances b set posted_minor = b.posted_minor - s.spent
             from (select ($3::uuid[])[1 + n % $4] as account_id, sum(100 + n % 900)::bigint as spent
                   from generate_series($1::bigint, $2::bigint) n group by 1) s
             where b.account_id = s.account_id",
            &[&first, &last, &data.spendable, &persons],
        )
        .await?;
        tx.commit().await?;
        first = last + 1;
    }
    client
        .batch_execute(
            "analyze journal_entries; analyze journal_postings; analyze account_balances",
        )
        .await?;
    Ok(())
}
