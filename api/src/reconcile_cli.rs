//! `saldo reconcile …`: imports with progress on stderr, and the daily report.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Subcommand;
use ledger::Currency;
use time::Date;

use recon::{ImportOptions, ImportOutcome, ProgressEvent, ReconError};

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

fn parse_currency(text: &str) -> Result<Currency, String> {
    Currency::from_code(text).map_err(|_| format!("{text:?} is not a known currency"))
}

#[derive(Debug, Subcommand)]
pub enum ReconcileCommand {
    /// Import and reconcile the processor's settlement file for a day (protocol section 4).
    Settlement {
        file: PathBuf,
        /// The settlement date the file must be for.
        #[arg(long, value_parser = parse_date)]
        date: Date,
        /// The processor whose file it is (`p1`, the default; during a switch-over the old and
        /// the new processor each send theirs).
        #[arg(long, default_value = card_adapter::processors::DEFAULT_PROCESSOR)]
        processor: String,
        /// Days a ledger clearing may wait for its settlement before it is a break.
        #[arg(long, default_value_t = recon::DEFAULT_GRACE_DAYS)]
        grace_days: i64,
        /// Who imports (staff id, or `scheduler`).
        #[arg(long, env = "SALDO_STAFF_ID", default_value = "cli")]
        by: String,
    },
    /// Import and reconcile a camt.053 statement of a prison's trust bank account.
    Bank {
        file: PathBuf,
        /// The prison (code) whose trust account the statement must be of.
        #[arg(long)]
        prison: String,
        #[arg(long, default_value_t = recon::DEFAULT_GRACE_DAYS)]
        grace_days: i64,
        #[arg(long, env = "SALDO_STAFF_ID", default_value = "cli")]
        by: String,
    },
    /// Set (or, without --iban, show) a prison's trust bank account: statements of any other
    /// account or currency are refused.
    TrustAccount {
        /// The prison's code.
        #[arg(long)]
        prison: String,
        /// The account's IBAN (spaces allowed); checked with mod-97.
        #[arg(long, requires = "currency")]
        iban: Option<String>,
        /// ISO 4217 code of the account, e.g. EUR.
        #[arg(long, requires = "iban")]
        currency: Option<String>,
        /// The first day reconciled (YYYY-MM-DD); default 35 days ago.
        #[arg(long, value_parser = parse_date)]
        from: Option<Date>,
        #[arg(long, env = "SALDO_STAFF_ID", default_value = "cli")]
        by: String,
    },
    /// Record what the processor reports its funding account holds (GET /v1/funding).
    Funding {
        #[arg(long, value_parser = parse_date)]
        date: Date,
        #[arg(long, allow_negative_numbers = true)]
        balance_minor: i64,
        #[arg(long, value_parser = parse_currency, default_value = "EUR")]
        currency: Currency,
    },
    /// The daily report: matched, breaks by class, ending balances against the ledger.
    Report {
        #[arg(long, value_parser = parse_date)]
        from: Date,
        #[arg(long, value_parser = parse_date)]
        to: Date,
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
        #[arg(long, value_parser = parse_currency, default_value = "EUR")]
        currency: Currency,
    },
}

fn progress_printer(label: String) -> recon::Progress {
    let started = Instant::now();
    Arc::new(move |event| match event {
        ProgressEvent::Loaded { rows } => {
            let elapsed_ms = u64::try_from(started.elapsed().as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let rate = rows.saturating_mul(1000) / elapsed_ms;
            eprintln!("{label}: {rows} rows read ({rate} rows/s)");
        }
        ProgressEvent::Phase(phase) => {
            let elapsed_ms = started.elapsed().as_millis();
            eprintln!("{label}: {phase}… ({elapsed_ms} ms)");
        }
    })
}

fn print_outcome(outcome: &ImportOutcome) {
    match outcome {
        ImportOutcome::AlreadyImported { import_id } => {
            println!("already imported as {import_id}: nothing changed");
        }
        ImportOutcome::Imported(summary) => {
            println!(
                "imported {} {} for {}: {} rows, {} matched ({} minor units)",
                summary.kind,
                summary.import_id,
                summary.business_date,
                summary.row_count,
                summary.matched_count,
                summary.matched_minor
            );
            if summary.breaks.is_empty() {
                println!("no new breaks");
            }
            for (class, count) in &summary.breaks {
                println!("  {class}: {count}");
            }
            if summary.matched_later > 0 {
                println!(
                    "{} earlier breaks were timing differences and are now matched",
                    summary.matched_later
                );
            }
        }
    }
}

/// Refusals of a file or a setting: exit code 2, nothing written.
fn is_refusal(error: &ReconError) -> bool {
    matches!(
        error,
        ReconError::InvalidFile { .. }
            | ReconError::TotalsMismatch(_)
            | ReconError::SettlementDateTaken { .. }
            | ReconError::Invalid(_)
            | ReconError::WrongAccount(_)
            | ReconError::WrongCurrency(_)
            | ReconError::OutOfPeriod(_)
            | ReconError::TrustAccountNotConfigured
            | ReconError::Refused { .. }
            | ReconError::NotFound(_)
    )
}

async fn prison_id_of(
    pool: &deadpool_postgres::Pool,
    code: &str,
) -> anyhow::Result<Option<uuid::Uuid>> {
    let client = pool.get().await?;
    Ok(crate::identity::store::prison_by_code(&client, code)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?
        .map(|prison| prison.id))
}

/// Which file is imported, and for whom.
enum FileKind {
    Settlement,
    BankStatement { prison_id: uuid::Uuid },
}

async fn import_file(
    pool: &deadpool_postgres::Pool,
    file: PathBuf,
    options: ImportOptions,
    kind: FileKind,
) -> anyhow::Result<ExitCode> {
    // The cheap check first: a re-import does not read the file twice.
    let hash_path = file.clone();
    let sha =
        tokio::task::spawn_blocking(move || recon::sha256_of(std::fs::File::open(hash_path)?))
            .await??;
    if let Some(import_id) = recon::import_by_sha(pool, &sha).await? {
        print_outcome(&ImportOutcome::AlreadyImported { import_id });
        return Ok(ExitCode::SUCCESS);
    }
    let reader = BufReader::with_capacity(256 * 1024, std::fs::File::open(&file)?);
    let result = match kind {
        FileKind::Settlement => recon::import_settlement(pool, reader, &options).await,
        FileKind::BankStatement { prison_id } => {
            recon::import_bank_statement(pool, reader, prison_id, &options).await
        }
    };
    match result {
        Ok(outcome) => {
            print_outcome(&outcome);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) if is_refusal(&error) => {
            eprintln!("rejected ({}), nothing imported: {error}", error.code());
            Ok(ExitCode::from(2))
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn run(
    command: ReconcileCommand,
    config: &tokio_postgres::Config,
) -> anyhow::Result<ExitCode> {
    ledger::db::migrate(config).await?;
    let pool = ledger::db::pool(config.clone(), 4)?;
    match command {
        ReconcileCommand::Settlement {
            file,
            date,
            processor,
            grace_days,
            by,
        } => {
            let options = ImportOptions {
                processor_id: processor,
                file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
                imported_by: by,
                expected_date: Some(date),
                grace_days,
                progress: Some(progress_printer(format!("settlement {date}"))),
            };
            import_file(&pool, file, options, FileKind::Settlement).await
        }
        ReconcileCommand::Bank {
            file,
            prison,
            grace_days,
            by,
        } => {
            let Some(prison_id) = prison_id_of(&pool, &prison).await? else {
                eprintln!("rejected (not_found), nothing imported: no prison with code {prison:?}");
                return Ok(ExitCode::from(2));
            };
            let options = ImportOptions {
                file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
                imported_by: by,
                expected_date: None,
                grace_days,
                progress: Some(progress_printer("bank statement".into())),
                processor_id: card_adapter::processors::DEFAULT_PROCESSOR.to_owned(),
            };
            import_file(&pool, file, options, FileKind::BankStatement { prison_id }).await
        }
        ReconcileCommand::TrustAccount {
            prison,
            iban,
            currency,
            from,
            by,
        } => {
            let Some(prison_id) = prison_id_of(&pool, &prison).await? else {
                eprintln!("refused (not_found): no prison with code {prison:?}");
                return Ok(ExitCode::from(2));
            };
            let client = pool.get().await?;
            let account = match (iban, currency) {
                (Some(iban), Some(currency)) => {
                    let by = format!("cli:{by}");
                    match recon::trust_account::configure(
                        &client, prison_id, &iban, &currency, from, &by,
                    )
                    .await
                    {
                        Ok(account) => account,
                        Err(error) if is_refusal(&error) => {
                            eprintln!("refused ({}): {error}", error.code());
                            return Ok(ExitCode::from(2));
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
                _ => match recon::trust_account::current(&client, prison_id).await? {
                    Some(account) => account,
                    None => {
                        eprintln!("{}", ReconError::TrustAccountNotConfigured);
                        return Ok(ExitCode::from(2));
                    }
                },
            };
            println!(
                "trust account of {prison}: {} in {}, reconciled from {} (set by {} at {})",
                recon::trust_account::grouped_iban(&account.iban),
                account.currency.code(),
                account.reconcile_from,
                account.configured_by,
                account.configured_at
            );
            Ok(ExitCode::SUCCESS)
        }
        ReconcileCommand::Funding {
            date,
            balance_minor,
            currency,
        } => {
            recon::record_funding_balance(&pool, date, ledger::Money::new(balance_minor, currency))
                .await?;
            println!("recorded the processor's funding balance for {date}");
            Ok(ExitCode::SUCCESS)
        }
        ReconcileCommand::Report {
            from,
            to,
            csv,
            currency,
        } => {
            let report = recon::report::report(&pool, from, to, currency).await?;
            if csv {
                print!("{}", recon::report::to_csv(&report));
            } else {
                println!(
                    "{:<10} {:>8} {:>16} {:>7} {:>5} {:>16} {:>16} {:>16} {:>16}",
                    "date",
                    "matched",
                    "amount",
                    "breaks",
                    "open",
                    "funding ledger",
                    "funding proc.",
                    "bank ledger",
                    "bank statement"
                );
                let optional = |value: Option<i64>| {
                    value
                        .map(|v| recon::report::major(v, currency))
                        .unwrap_or_else(|| "—".into())
                };
                for day in &report.days {
                    println!(
                        "{:<10} {:>8} {:>16} {:>7} {:>5} {:>16} {:>16} {:>16} {:>16}",
                        day.date.to_string(),
                        day.matched_count(),
                        recon::report::major(
                            day.settlement_matched_minor
                                .saturating_add(day.bank_matched_minor),
                            currency
                        ),
                        day.breaks_total,
                        day.breaks_open,
                        recon::report::major(day.funding_ledger_minor, currency),
                        optional(day.funding_processor_minor),
                        recon::report::major(day.bank_ledger_minor, currency),
                        optional(day.bank_statement_minor),
                    );
                    for (class, count) in day.breaks.iter().filter(|(_, count)| **count > 0) {
                        println!("{:<10}   {class}: {count}", "");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
