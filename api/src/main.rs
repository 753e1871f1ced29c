//! The `saldo` binary: parse the command line, hand over to the library.
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = saldo::cli::Cli::parse();
    saldo::telemetry::init(cli.log_format);
    match saldo::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            // anyhow's chain carries no personal data: errors name ids and codes only.
            eprintln!("saldo: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
