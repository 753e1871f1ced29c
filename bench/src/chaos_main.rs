//! `saldo-chaos`: load with a durable record, redelivery, audit (see docs/reliability.md).
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = saldo_bench::chaos::Cli::parse();
    match saldo_bench::chaos::run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("saldo-chaos: {error:#}");
            ExitCode::from(2)
        }
    }
}
