//! `saldo switch-over plan|run|status`: a program's cards moved from one processor to another
//! in waves (docs/switch-over.md; the work is `card_adapter::switch_over`). Every command prints
//! its report as JSON on standard output.
use std::process::ExitCode;

use card_adapter::switch_over::{self, SwitchOverError, WaveRequest};
use clap::Subcommand;
use uuid::Uuid;

#[derive(Debug, clap::Args)]
pub struct WaveArgs {
    /// The processor the cards leave (the default processor is `p1`).
    #[arg(long, default_value = card_adapter::processors::DEFAULT_PROCESSOR)]
    pub from: String,
    /// The processor the cards move to (configured in SALDO_PROCESSORS, registered by `saldo
    /// serve`).
    #[arg(long)]
    pub to: String,
    /// Only cards of people placed in this prison (its uuid).
    #[arg(long)]
    pub prison: Option<Uuid>,
    /// At most this many cards in the wave.
    #[arg(long, default_value_t = 500)]
    pub wave_size: i32,
    /// Who runs the wave.
    #[arg(long, env = "SALDO_STAFF_ID", default_value = "cli")]
    pub by: String,
}

#[derive(Debug, Subcommand)]
pub enum SwitchOverCommand {
    /// What a wave would move, per prison, and what blocks the rest; changes nothing.
    Plan(WaveArgs),
    /// Moves a wave: queues a new card at the new processor per card (the old one closes once
    /// the new one is active). `--dry-run` is `plan`.
    Run {
        #[command(flatten)]
        wave: WaveArgs,
        #[arg(long)]
        dry_run: bool,
    },
    /// Where the switch-over stands: moved, new cards active, old cards closed, failures. When
    /// everything moved and closed, the old processor is marked closed.
    Status {
        #[arg(long, default_value = card_adapter::processors::DEFAULT_PROCESSOR)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

pub async fn run(
    command: SwitchOverCommand,
    config: &tokio_postgres::Config,
) -> anyhow::Result<ExitCode> {
    let pool = ledger::db::pool(config.clone(), 2)?;
    let mut client = pool.get().await?;
    let (wave, dry_run) = match command {
        SwitchOverCommand::Plan(wave) => (wave, true),
        SwitchOverCommand::Run { wave, dry_run } => (wave, dry_run),
        SwitchOverCommand::Status { from, to } => {
            let status = switch_over::status(&client, &from, &to).await?;
            switch_over::close_when_complete(&client, &status).await?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            return Ok(ExitCode::SUCCESS);
        }
    };
    let request = WaveRequest {
        from_processor: wave.from,
        to_processor: wave.to,
        prison_id: wave.prison,
        wave_size: wave.wave_size,
        dry_run,
        requested_by: wave.by,
    };
    let tx = client.transaction().await?;
    match switch_over::run_wave(&tx, &request).await {
        Ok(report) => {
            tx.commit().await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(SwitchOverError::Booking(error)) => Err(error.into()),
        Err(refused) => {
            eprintln!("switch-over refused: {refused}");
            Ok(ExitCode::from(2))
        }
    }
}
