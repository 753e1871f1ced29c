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

use crate::report::{self, Report, display, ratio_bp};

/// The scratch table, dropped again before the jobs run.
const TABLE: &str = "saldo_bench_job_baseline";

/// Postings per payroll line (debit wages, credit three sub-accounts).
pub const POSTINGS_PER_PAYROLL_LINE: i64 = 4;

/// Microseconds each plain statement took (each in its own committed transaction).
#[derive(Debug, Clone, Copy)]
pub struct JobBaseline {
    /// `rows` rows inserted into the empty table: what reconciliation is compared with.
    pub insert_rows_us: u64,
    /// As many more rows as the payroll has postings: what payroll is compared with.
    pub insert_payroll_rows_us: u64,
    pub payroll_rows: i64,
    /// All the rows grouped four to a group and each group's sum compared with zero: what
    /// verify is compared with.
    pub aggregate_us: u64,
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

async fn timed(pool: &Pool, sql: &str) -> anyhow::Result<u64> {
    let mut client = pool.get().await?;
    let started = Instant::now();
    let tx = client.transaction().await?;
    tx.batch_execute(sql).await?;
    tx.commit().await?;
    Ok(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX))
}

/// Measures the three statements on a scratch table in the bench's database (`rows`: the
/// reconciliation's row count, at least one group; `payroll_lines`: the payroll's).
pub async fn measure(pool: &Pool, rows: i64, payroll_lines: i64) -> anyhow::Result<JobBaseline> {
    let rows = rows.max(POSTINGS_PER_PAYROLL_LINE);
    let payroll_rows = payroll_lines
        .max(1)
        .saturating_mul(POSTINGS_PER_PAYROLL_LINE);
    let client = pool.get().await?;
    client
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
    drop(client);
    let insert_rows_us = timed(pool, &insert_statement(0, rows)).await?;
    let insert_payroll_rows_us = timed(pool, &insert_statement(rows, payroll_rows)).await?;
    let aggregate_us = {
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
        let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        // Every group of four sums to zero, so the grouping really read every row.
        anyhow::ensure!(
            unbalanced == 0,
            "{unbalanced} baseline groups do not sum to zero"
        );
        elapsed_us
    };
    pool.get()
        .await?
        .batch_execute(&format!("drop table {TABLE}"))
        .await?;
    Ok(JobBaseline {
        insert_rows_us,
        insert_payroll_rows_us,
        payroll_rows,
        aggregate_us,
    })
}

/// Which baseline statement a job is compared with.
#[derive(Debug, Clone, Copy)]
pub enum Against {
    /// Reconciliation: as many rows as the settlement file, inserted.
    InsertRows,
    /// Payroll: its postings as plain rows.
    InsertPayrollRows,
    /// Verify: the rows grouped and summed.
    Aggregate,
}

fn grouped_rows(rows: i64) -> String {
    report::grouped(u64::try_from(rows).unwrap_or(0))
}

impl JobBaseline {
    /// Logs the three statements' times and adds them to the report as figures.
    pub fn report(&self, report: &mut Report, rows: i64) {
        report.log(format!(
            "job baseline: {rows} rows inserted in {} µs, {} more in {} µs, grouped in {} µs",
            self.insert_rows_us, self.payroll_rows, self.insert_payroll_rows_us, self.aggregate_us
        ));
        for (id, label, us, note) in [
            (
                "baseline_insert_rows_ms",
                format!(
                    "Baseline: PostgreSQL inserting {} rows (three indexes, one statement)",
                    grouped_rows(rows)
                ),
                self.insert_rows_us,
                "the reconciliation's baseline (saldo_bench::job_baseline)",
            ),
            (
                "baseline_insert_payroll_rows_ms",
                format!(
                    "Baseline: PostgreSQL inserting {} more rows (three indexes, one statement)",
                    grouped_rows(self.payroll_rows)
                ),
                self.insert_payroll_rows_us,
                "the payroll's baseline: its postings as plain rows",
            ),
            (
                "baseline_aggregate_ms",
                "Baseline: PostgreSQL grouping those rows by four and summing each group".into(),
                self.aggregate_us,
                "verify's baseline: its largest check, entries_balance, without the join",
            ),
        ] {
            report.add(id, label, Some(us / 1000), "ms", "", None, "", note);
        }
    }

    /// Adds `job_us` ÷ the baseline statement it is compared with, as a ratio figure.
    pub fn add_ratio(
        &self,
        report: &mut Report,
        id: &'static str,
        label: &str,
        job_us: u64,
        against: Against,
    ) {
        let (baseline_us, what) = match against {
            Against::InsertRows => (
                self.insert_rows_us,
                "the rows inserted into a table of three indexes, one statement",
            ),
            Against::InsertPayrollRows => (
                self.insert_payroll_rows_us,
                "the payroll's postings as more rows into that table, one statement",
            ),
            Against::Aggregate => (self.aggregate_us, "those rows grouped by four and summed"),
        };
        report.add(
            id,
            label,
            ratio_bp(job_us, baseline_us),
            "bp",
            "",
            None,
            format!("PostgreSQL, {what}: {}", display(baseline_us / 1000, "ms")),
            "how many times the plain statement's time: lower is better",
        );
    }
}
