//! The privacy commands: `saldo retention run`, `saldo subject-access`, `saldo residency`,
//! `saldo checkpoints seal|export|check-export`, `saldo keys status|rewrap`.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use uuid::Uuid;

use crate::identity::access_log::{Accessor, ActorKind, Purpose};
use crate::settings::Settings;

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Erase what the retention periods make due (SALDO_RETENTION).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Everything held about one person, as a document or JSON (logged as a data subject request).
    SubjectAccess {
        #[arg(long)]
        person: Uuid,
        /// Print JSON instead of the readable document.
        #[arg(long)]
        json: bool,
        /// The request's case reference, kept in the access log.
        #[arg(long)]
        case_ref: Option<String>,
    },
    /// Print the data map: what is stored where, what flows to whom (SALDO_DATA_LOCATION).
    Residency {
        #[arg(long)]
        json: bool,
    },
    /// Tamper-evidence checkpoints over the journal and the access log.
    Checkpoints {
        #[command(subcommand)]
        command: CheckpointCommand,
    },
    /// The identity store's keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    Run {
        /// List what is due without erasing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Seal everything committed that is not sealed yet.
    Seal,
    /// Write every checkpoint as JSON (to keep outside the database).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare the database's checkpoints with an earlier export, and recompute every sealed range
    /// from its rows; exits 2 on a difference.
    CheckExport { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// How many data keys are wrapped under each master key version.
    Status,
    /// Re-wrap every data key under the current master key version (servers keep running).
    Rewrap,
}

/// `saldo residency`: the data map from the declared locations alone (no database is touched).
/// Exits 2 when personal data would sit outside the EU/EEA.
pub fn residency(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let map = crate::identity::residency::data_map(&settings.data_locations()?);
    if json {
        println!("{}", serde_json::to_string_pretty(&map)?);
    } else {
        println!("{map}");
    }
    Ok(if map.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub async fn run(
    command: PrivacyCommand,
    config: &tokio_postgres::Config,
    settings: &Settings,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    if let PrivacyCommand::Residency { json } = command {
        return residency(settings, json);
    }
    let pool = ledger::db::pool(config.clone(), 2)?;
    match command {
        PrivacyCommand::Residency { .. } => Ok(ExitCode::SUCCESS),
        PrivacyCommand::Retention {
            command: RetentionCommand::Run { dry_run },
        } => {
            super::prepare_identity_store(&pool, settings, data_dir).await?;
            let policy = settings.retention()?;
            super::seal_once(&pool, Duration::from_secs(30)).await?;
            let report = crate::identity::retention::run(
                &pool,
                &policy,
                time::OffsetDateTime::now_utc(),
                dry_run,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        PrivacyCommand::SubjectAccess {
            person,
            json,
            case_ref,
        } => {
            super::prepare_identity_store(&pool, settings, data_dir).await?;
            let who = Accessor {
                actor_kind: ActorKind::System,
                actor_id: None,
                purpose: Purpose::DataSubjectRequest,
                case_ref,
                request_id: None,
            };
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let export = crate::identity::subject_access::export(&tx, &who, None, person).await?;
            tx.commit().await?;
            let Some(export) = export else {
                eprintln!("no such person");
                return Ok(ExitCode::from(1));
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&export)?);
            } else {
                print!("{}", crate::identity::subject_access::render_text(&export));
            }
            Ok(ExitCode::SUCCESS)
        }
        PrivacyCommand::Checkpoints { command } => checkpoints(command, &pool, settings).await,
        PrivacyCommand::Keys { command } => {
            let keys = super::install_keys(settings, data_dir)?;
            let mut client = pool.get().await?;
            if let KeysCommand::Rewrap = command {
                let mut total = 0;
                loop {
                    let done =
                        crate::identity::store::rewrap_data_keys(&mut client, &keys, 500).await?;
                    total += done;
                    if done == 0 {
                        break;
                    }
                }
                println!(
                    "re-wrapped {total} data keys under master key version {}",
                    keys.current_version()
                );
            }
            crate::identity::store::register_keys(&client, &keys).await?;
            for (version, count) in crate::identity::store::data_keys_by_version(&client).await? {
                println!("master key version {version}: {count} data keys");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Export {
    journal: Vec<serde_json::Value>,
    /// Absent from exports made before accounts were sealed.
    #[serde(default)]
    accounts: Vec<serde_json::Value>,
    access_log: Vec<serde_json::Value>,
}

async fn checkpoints(
    command: CheckpointCommand,
    pool: &deadpool_postgres::Pool,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    match command {
        CheckpointCommand::Seal => {
            let sealed = super::seal_once(pool, Duration::from_secs(30)).await?;
            println!(
                "sealed: {} journal checkpoint(s), {} account checkpoint(s), {} access-log checkpoint(s)",
                sealed.journal, sealed.accounts, sealed.access_log
            );
            Ok(ExitCode::SUCCESS)
        }
        CheckpointCommand::Export { out } => {
            let client = pool.get().await?;
            let export = Export {
                journal: ledger::seal::journal_checkpoints(&client)
                    .await?
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()?,
                accounts: ledger::seal::account_checkpoints(&client)
                    .await?
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()?,
                access_log: crate::identity::log_seal::checkpoints(&client)
                    .await?
                    .iter()
                    .map(|(c, _)| serde_json::to_value(c))
                    .collect::<Result<_, _>>()?,
            };
            let text = serde_json::to_string_pretty(&export)?;
            match out {
                Some(path) => std::fs::write(path, text)?,
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        CheckpointCommand::CheckExport { file } => {
            let export: Export = serde_json::from_str(&std::fs::read_to_string(file)?)?;
            let pairs = |values: &[serde_json::Value]| -> Vec<(i64, String)> {
                values
                    .iter()
                    .filter_map(|v| {
                        Some((
                            v["n"].as_i64()?,
                            v["checkpoint_sha256"].as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            };
            let client = pool.get().await?;
            let journal = ledger::seal::journal_checkpoints(&client).await?;
            let log: Vec<_> = crate::identity::log_seal::checkpoints(&client)
                .await?
                .into_iter()
                .map(|(c, _)| c)
                .collect();
            let accounts = ledger::seal::account_checkpoints(&client).await?;
            let mut problems = ledger::seal::compare_with_export(&journal, &pairs(&export.journal));
            problems.extend(
                ledger::seal::compare_with_export(&accounts, &pairs(&export.accounts))
                    .into_iter()
                    .map(|p| format!("accounts {p}")),
            );
            // The export vouches for the checkpoints only; the rows must still hash to them, or an
            // auditor running this alone would be told OK over rewritten rows.
            for check in [
                ledger::seal::verify_journal(&client).await?,
                ledger::seal::verify_accounts(&client).await?,
                crate::identity::log_seal::verify_with(&client, &settings.retention()?).await?,
            ] {
                problems.extend(
                    check
                        .examples
                        .iter()
                        .map(|example| format!("{}: {example}", check.name)),
                );
                if check.violations > check.examples.len() as i64 {
                    problems.push(format!(
                        "{}: {} violations in all",
                        check.name, check.violations
                    ));
                }
            }
            problems.extend(
                ledger::seal::compare_with_export(&log, &pairs(&export.access_log))
                    .into_iter()
                    .map(|p| format!("access log {p}")),
            );
            for problem in &problems {
                println!("FAIL {problem}");
            }
            println!(
                "{}",
                if problems.is_empty() {
                    "OK"
                } else {
                    "VIOLATIONS FOUND"
                }
            );
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
    }
}
