//! `saldo-bench`: measures Saldo against PostgreSQL's own pgbench in one run.
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    // `saldo-bench entitlements …`: the entitlement statement's benchmark, on its own data.
    if std::env::args().nth(1).as_deref() == Some("entitlements") {
        let options =
            saldo_bench::entitlements::EntitlementOptions::parse_from(std::env::args().skip(1));
        return match saldo_bench::entitlements::run(options).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("saldo-bench entitlements: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let options = saldo_bench::Options::parse();
    match saldo_bench::run_and_write(options).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("saldo-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}
