//! The batch jobs' same-run baseline: PostgreSQL's own speed at their raw work, on the same
//! server in the same run, as pgbench is for the connection-level figures.
//!
//! Payroll, reconciliation and verify have absolute targets, and the machine's speed drifts
//! from day to day (this machine's pgbench TPC-B with one client ran at ~1,000/s on one day and
//! ~450/s on another). Without a baseline a slow day reads as a regression. Each job is
//! therefore also reported ÷ a plain statement of the same shape and size, with none of Saldo's
//! checks: rows inserted into a table shaped like the postings (three indexes, one of them by
//! account in random order), and those rows grouped and summed (verify's largest check).

use std::time::Instant;

use deadpool_postgres::Pool;

use crate::micros;
use crate::report::{self, Report, display, ratio_bp};

/// The scratch table, dropped again before the jobs go on.
const TABLE: &str = "saldo_bench_job_baseline";

/// One plain statement: how long it took (committed), and what it did, in the report's words.
#[derive(Debug, Clone)]
pub struct Timed {
    pub us: u64,
    pub what: String,
}

impl Timed {
    /// Adds `job_us` ÷ this statement's time to the report, as a ratio figure.
    pub fn add_ratio(&self, report: &mut Report, id: &'static str, label: &str, job_us: u64) {
        report.add(
            id,
            label,
            ratio_bp(job_us, self.us),
            "bp",
            "",
            None,
            format!(
                "PostgreSQL {}: {}",
                self.what,
                display(self.us / 1000, "ms")
            ),
            "how many times the plain statement's time: lower is better",
        );
    }
}

/// The three statements, each what one job is compared with.
#[derive(Debug, Clone)]
pub struct JobBaseline {
    /// The settlement file's number of rows inserted into the empty table: reconciliation.
    pub insert_rows: Timed,
    /// As many more rows as the payroll wrote postings: payroll.
    pub insert_payroll_rows: Timed,
    /// All the rows grouped four to a group and each group's sum compared with zero: verify.
    pub aggregate: Timed,
}

/// Inserts `count` rows numbered from `first`: four rows to a group (as a payroll line's
/// entry), group ids ascending (as the journal's time-ordered entry ids), accounts spread over
/// 30,000 in random order (as the payroll's persons).
fn insert_statement(first: i64, count: i64) -> String {
    format!(
        "insert into {TABLE} (group_id, account_id, amount_minor, recorded_at)
         select lpad(to_hex(n / 4), 32, '0')::uuid, md5((n % 30000)::text)::uuid,
                case when n % 4 = 0 then -300 else 100 end, clock_timestamp()
         from generate_series({first}, {last}) as n",
        last = first + count - 1
    )
}

async fn timed_insert(pool: &Pool, first: i64, count: i64, what: String) -> anyhow::Result<Timed> {
    let mut client = pool.get().await?;
    let started = Instant::now();
    let tx = client.transaction().await?;
    tx.batch_execute(&insert_statement(first, count)).await?;
    tx.commit().await?;
    Ok(Timed {
        us: micros(started),
        what,
    })
}

fn grouped_rows(rows: i64) -> String {
    report::grouped(u64::try_from(rows).unwrap_or(0))
}

/// Measures the three statements on a scratch table in the bench's database (`rows`: the
/// reconciliation's row count, at least one group; `payroll_postings`: what the payroll wrote).
pub async fn measure(pool: &Pool, rows: i64, payroll_postings: i64) -> anyhow::Result<JobBaseline> {
    let rows = rows.max(4);
    let payroll_rows = payroll_postings.max(1);
    pool.get()
        .await?
        .batch_execute(&format!(
            "drop table if exists {TABLE};
             create table {TABLE} (
                 id bigint generated always as identity primary key,
                 group_id uuid not null,
                 account_id uuid not null,
                 amount_minor bigint not null,
                 recorded_at timestamptz not null);
             create index on {TABLE} (group_id);
             create index on {TABLE} (account_id, recorded_at, id);"
        ))
        .await?;
    let insert_rows = timed_insert(
        pool,
        0,
        rows,
        format!(
            "inserting {} rows into a table of three indexes, one statement",
            grouped_rows(rows)
        ),
    )
    .await?;
    let insert_payroll_rows = timed_insert(
        pool,
        rows,
        payroll_rows,
        format!(
            "inserting {} more rows into that table, one statement",
            grouped_rows(payroll_rows)
        ),
    )
    .await?;
    let client = pool.get().await?;
    let started = Instant::now();
    let unbalanced: i64 = client
        .query_one(
            &format!(
                "select count(*) from (select group_id from {TABLE} group by group_id
                                       having sum(amount_minor) <> 0) as unbalanced"
            ),
            &[],
        )
        .await?
        .get(0);
    let aggregate = Timed {
        us: micros(started),
        what: "grouping those rows by four and summing each group".into(),
    };
    // Every group of four sums to zero, so the grouping really read every row.
    anyhow::ensure!(
        unbalanced == 0,
        "{unbalanced} baseline groups do not sum to zero"
    );
    client.batch_execute(&format!("drop table {TABLE}")).await?;
    Ok(JobBaseline {
        insert_rows,
        insert_payroll_rows,
        aggregate,
    })
}

impl JobBaseline {
    /// Logs the three statements' times and adds them to the report as figures.
    pub fn report(&self, report: &mut Report) {
        for (id, timed, note) in [
            (
                "baseline_insert_rows_ms",
                &self.insert_rows,
                "the reconciliation's baseline (saldo_bench::job_baseline)",
            ),
            (
                "baseline_insert_payroll_rows_ms",
                &self.insert_payroll_rows,
                "the payroll's baseline: its postings as plain rows",
            ),
            (
                "baseline_aggregate_ms",
                &self.aggregate,
                "verify's baseline: its largest check, entries_balance, without the join",
            ),
        ] {
            report.log(format!("job baseline: {} in {} µs", timed.what, timed.us));
            report.add(
                id,
                format!("Baseline: PostgreSQL {}", timed.what),
                Some(timed.us / 1000),
                "ms",
                "",
                None,
                "",
                note,
            );
        }
    }
}
