//! `saldo-bench`: measures Saldo against PostgreSQL's own pgbench in one run.
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let options = saldo_bench::Options::parse();
    match saldo_bench::run_and_write(options).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("saldo-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}
