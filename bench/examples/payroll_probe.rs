//! Posts a payroll of one line per prisoner of a prison (at most 10,000) on a database kept by
//! `saldo-bench --keep-db`, as many times as asked, and prints how long each took: the payroll
//! figure alone, repeatable, for profiling (docs/performance.md).
//!
//! `DATABASE_URL=postgres://…/saldo_bench_… cargo run --release -p saldo-bench --example
//! payroll_probe -- 5`

use std::time::Instant;

use anyhow::Context;
use uuid::Uuid;

const MAX_LINES: usize = 10_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL names the kept database")?;
    let runs: usize = match std::env::args().nth(1) {
        Some(runs) => runs
            .parse()
            .context("the argument is the number of payrolls")?,
        None => 3,
    };
    let pool = ledger::db::pool(url.parse()?, 2)?;
    let client = pool.get().await?;
    // The bench places everyone in one prison; the payroll goes to its people.
    let prison_id: Uuid = client
        .query_opt("select prison_id from controls.card_modes limit 1", &[])
        .await?
        .context("no one is placed in a prison: is this a bench database?")?
        .get("prison_id");
    let persons: Vec<Uuid> = ledger::policy_store::placed_in(&client, prison_id)
        .await?
        .into_iter()
        .map(|placement| placement.person_id)
        .take(MAX_LINES)
        .collect();
    drop(client);
    for run in 0..runs {
        let batch =
            saldo_bench::wage_batch(format!("probe-{}", Uuid::now_v7()), prison_id, &persons);
        let started = Instant::now();
        let mut client = pool.get().await?;
        let tx = client.transaction().await?;
        let posted = ledger::payroll::post_payroll(&tx, &batch).await?;
        let posted_in = started.elapsed();
        tx.commit().await?;
        println!(
            "payroll {run}: {} lines in {} ms (posted in {} ms, then committed)",
            posted.line_count,
            started.elapsed().as_millis(),
            posted_in.as_millis()
        );
    }
    Ok(())
}
