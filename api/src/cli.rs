//! The command line: `saldo serve | migrate | verify`.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::database::{self, DatabaseOptions};
use crate::settings::Settings;
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "saldo",
    version,
    about = "Saldo: the system of record for prisoners' money"
)]
pub struct Cli {
    /// PostgreSQL URL. Without it Saldo runs its own embedded cluster (see --data-dir).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the embedded database keeps its files (default: /var/lib/saldo as root,
    /// ~/.local/share/saldo otherwise).
    #[arg(long, env = "SALDO_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Port of the embedded database (127.0.0.1 only).
    #[arg(long, env = "SALDO_EMBEDDED_PG_PORT", global = true, default_value_t = crate::embedded_pg::DEFAULT_PORT)]
    pub embedded_pg_port: u16,
    #[arg(long, env = "SALDO_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything on one machine: a fresh demo database, the processor simulator, a demo
    /// prison with staff, prisoners, cards and card activity; prints the URLs and sign-ins.
    Demo {
        #[arg(long, env = "SALDO_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Run the HTTP server (applies pending migrations first).
    Serve {
        #[arg(long, env = "SALDO_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, env = "SALDO_DB_POOL_SIZE", default_value_t = 32)]
        db_pool_size: usize,
        /// The processor's webhook signing secrets (`whsec_…`), space-separated: two during a
        /// rotation.
        #[arg(
            long,
            env = "SALDO_WEBHOOK_SECRETS",
            hide_env_values = true,
            default_value = ""
        )]
        webhook_secrets: String,
        /// The prison-management system's feed signing secrets (`whsec_…`), space-separated:
        /// two during a rotation. None: its messages are refused.
        #[arg(
            long,
            env = "SALDO_PMS_SECRETS",
            hide_env_values = true,
            default_value = ""
        )]
        pms_secrets: String,
        /// The feed's id, recorded as the actor `pms:<id>` of what it changes.
        #[arg(long, env = "SALDO_PMS_FEED_ID", default_value = "pms")]
        pms_feed_id: String,
        /// How long a feed event waits for a missing predecessor before it goes to review.
        #[arg(long, env = "SALDO_PMS_GAP_WINDOW_MS", default_value_t = 3_600_000)]
        pms_gap_window_ms: i64,
        /// Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses or
        /// CIDR blocks, comma-separated. From anyone else those headers are ignored.
        #[arg(long, env = "SALDO_TRUSTED_PROXIES", default_value = "")]
        trusted_proxies: String,
        /// Password and PIN hashes (argon2id, 19 MiB each) allowed to run at once; more sign-ins
        /// wait briefly, then get 429. Default: one per CPU core, 2 to 4.
        #[arg(long, env = "SALDO_AUTH_HASH_CONCURRENCY")]
        auth_hash_concurrency: Option<usize>,
        #[command(flatten)]
        processor: ProcessorArgs,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check every ledger invariant; exits non-zero on any violation.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Register prisons.
    Prison {
        #[command(subcommand)]
        command: crate::staff_cli::PrisonCommand,
    },
    /// Staff accounts (bootstrap the first admin here; later ones through the API).
    Staff {
        #[command(subcommand)]
        command: crate::staff_cli::StaffCommand,
    },
    /// Reconcile the processor's settlement files and the bank's statements with the ledger.
    Reconcile {
        #[command(subcommand)]
        command: crate::reconcile_cli::ReconcileCommand,
    },
    /// Move the card program to another processor in waves: `plan` (a dry run), `run`,
    /// `status` (docs/switch-over.md).
    SwitchOver {
        #[command(subcommand)]
        command: crate::switch_over_cli::SwitchOverCommand,
    },
    /// The certified entitlement statement: make one (`--at`), or `verify`, `proof`,
    /// `public-key` offline (docs/switch-over.md).
    Entitlements(crate::entitlements_cli::EntitlementsArgs),
    #[command(flatten)]
    Privacy(crate::privacy::command::PrivacyCommand),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    use crate::privacy::command::{CheckpointCommand, KeysCommand, PrivacyCommand};
    // The data map is configuration alone: no database is opened (let alone created) for it.
    if let Command::Privacy(PrivacyCommand::Residency { json }) = cli.command {
        return crate::privacy::command::residency(&cli.settings, json);
    }
    // Verifying a statement, cutting a proof and showing the public key need no database.
    if let Command::Entitlements(crate::entitlements_cli::EntitlementsArgs {
        command: Some(command),
        ..
    }) = cli.command
    {
        let data_dir = cli
            .data_dir
            .clone()
            .unwrap_or_else(crate::embedded_pg::default_data_dir);
        return crate::entitlements_cli::run_offline(command, &cli.settings, data_dir);
    }
    // Reports that only read never create an embedded cluster.
    let read_only = matches!(
        cli.command,
        Command::Verify { .. }
            | Command::Privacy(
                PrivacyCommand::Checkpoints {
                    command: CheckpointCommand::Export { .. }
                        | CheckpointCommand::CheckExport { .. },
                } | PrivacyCommand::Keys {
                    command: KeysCommand::Status,
                }
            )
    );
    let options = DatabaseOptions {
        database_url: cli.database_url.clone(),
        data_dir: cli.data_dir.clone(),
        embedded_port: cli.embedded_pg_port,
        read_only,
    };
    // Held until the command ends: dropping it stops an embedded cluster this process started.
    let database = tokio::task::spawn_blocking(move || database::open(&options)).await??;
    match cli.command {
        Command::Prison { command } => {
            crate::staff_cli::run_prison(&database.config, command).await
        }
        Command::Staff { command } => crate::staff_cli::run_staff(&database.config, command).await,
        Command::Reconcile { command } => {
            crate::reconcile_cli::run(command, &database.config).await
        }
        Command::SwitchOver { command } => {
            crate::switch_over_cli::run(command, &database.config).await
        }
        Command::Privacy(command) => {
            crate::privacy::command::run(
                command,
                &database.config,
                &cli.settings,
                cli.data_dir.clone(),
            )
            .await
        }
        Command::Entitlements(args) => {
            let pool = ledger::db::pool(database.config.clone(), 2)?;
            let data_dir = cli
                .data_dir
                .clone()
                .unwrap_or_else(crate::embedded_pg::default_data_dir);
            crate::entitlements_cli::run_make(args, &pool, &cli.settings, data_dir).await
        }
        Command::Demo { listen } => {
            crate::demo::run(database.config.clone(), &listen, &cli.settings).await?;
            drop(database);
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let report = ledger::db::migrate(&database.config).await?;
            let pool = ledger::db::pool(database.config.clone(), 2)?;
            crate::privacy::prepare_identity_store(&pool, &cli.settings, cli.data_dir.clone())
                .await?;
            println!("migrations applied: {}", report.applied.len());
            for name in report.applied {
                println!("  {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { json } => {
            let pool = ledger::db::pool(database.config.clone(), 2)?;
            let mut report = ledger::Ledger::new(pool.clone()).verify().await?;
            report.checks.push(
                crate::identity::log_seal::verify_with(
                    &pool.get().await?,
                    &cli.settings.retention()?,
                )
                .await?,
            );
            report.checks.push(
                card_adapter::decisions::verify_declined_answers_hold_nothing(&pool.get().await?)
                    .await?,
            );
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Serve {
            listen,
            db_pool_size,
            webhook_secrets,
            pms_secrets,
            pms_feed_id,
            pms_gap_window_ms,
            trusted_proxies,
            auth_hash_concurrency,
            processor,
        } => {
            let pms_feed = crate::services::pms_feed::FeedConfig::parse(
                &pms_feed_id,
                &pms_secrets,
                pms_gap_window_ms,
            )?;
            let trusted_proxies = crate::http::TrustedProxies::parse(&trusted_proxies)
                .map_err(|error| anyhow::anyhow!("SALDO_TRUSTED_PROXIES: {error}"))?;
            let hashing_limits = match auth_hash_concurrency {
                Some(0) => anyhow::bail!("SALDO_AUTH_HASH_CONCURRENCY: at least 1"),
                Some(max_running) => crate::secret::HashingLimits::with_max_running(max_running),
                None => crate::secret::HashingLimits::for_this_machine(),
            };
            let secrets = webhook_secrets
                .split_whitespace()
                .map(processor_protocol::signature::WebhookSecret::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| anyhow::anyhow!("SALDO_WEBHOOK_SECRETS: {error}"))?;
            if secrets.is_empty() {
                tracing::warn!("no SALDO_WEBHOOK_SECRETS: processor webhooks will be refused");
            }
            ledger::db::migrate(&database.config).await?;
            let pool = ledger::db::pool(database.config.clone(), db_pool_size)?;
            crate::privacy::before_serving(&pool, &cli.settings, cli.data_dir.clone()).await?;
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let outbox_wake = card_adapter::outbox::OutboxWake::default();
            let other_processors = processor.other_processors()?;
            let mut processor_secrets = Vec::new();
            for other in &other_processors {
                card_adapter::processors::register(&pool.get().await?, &other.config.processor_id)
                    .await
                    .map_err(|error| anyhow::anyhow!("SALDO_PROCESSORS: {error}"))?;
                // Its own wake: the staff routes' wake stays the default worker's alone (one
                // permit, taken by one worker), and these calls go out at the next poll.
                let worker = crate::processor::outbox_worker(pool.clone(), &other.config)?;
                // Its settlement files too: the old processor's last days after a switch-over.
                let processor_id = other.config.processor_id.clone();
                let client = worker.client.clone();
                let fetch_pool = pool.clone();
                tokio::spawn(async move {
                    recon::scheduled::run_for(fetch_pool, client, &processor_id).await
                });
                tokio::spawn(crate::processor::run_outbox(worker));
                tracing::info!(processor_id = %other.config.processor_id, "processor outbox worker started");
                processor_secrets.push(card_adapter::webhook::ProcessorSecrets {
                    processor_id: other.config.processor_id.clone(),
                    secrets: other.webhook_secrets.clone(),
                });
            }
            match processor.config()? {
                Some(config) => {
                    let mut worker = crate::processor::outbox_worker(pool.clone(), &config)?;
                    worker.wake = outbox_wake.clone();
                    // The settlement files and funding balance, fetched and reconciled daily.
                    tokio::spawn(recon::scheduled::run(pool.clone(), worker.client.clone()));
                    tokio::spawn(crate::processor::run_outbox(worker));
                    tracing::info!(program = %config.program, "processor outbox worker started");
                }
                None => tracing::warn!(
                    "no SALDO_PROCESSOR_URL: calls to the processor wait in the outbox"
                ),
            }
            let state = crate::state::AppState::new(pool)
                .with_webhook_secrets(secrets)
                .with_processor_webhook_secrets(processor_secrets)
                .with_pms_feed(pms_feed)
                .with_trusted_proxies(trusted_proxies)
                .with_password_hashing(hashing_limits)
                .with_outbox_wake(outbox_wake)
                .with_cookie_secure(cli.settings.cookie_secure())
                .with_statement_key(
                    cli.settings.statement_key(
                        cli.data_dir
                            .clone()
                            .unwrap_or_else(crate::embedded_pg::default_data_dir),
                    )?,
                );
            crate::app::serve(state, listener).await?;
            drop(database);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where the processor's API is and how Saldo appears to it.
#[derive(Debug, clap::Args)]
pub struct ProcessorArgs {
    /// The processor's API base URL. Without it, calls wait in the outbox.
    #[arg(long, env = "SALDO_PROCESSOR_URL")]
    pub processor_url: Option<String>,
    #[arg(
        long,
        env = "SALDO_PROCESSOR_API_KEY",
        hide_env_values = true,
        default_value = ""
    )]
    pub processor_api_key: String,
    /// The card program's name at the processor.
    #[arg(long, env = "SALDO_CARD_PROGRAM", default_value = "prison")]
    pub card_program: String,
    /// The one name embossed on every card (never a person's).
    #[arg(long, env = "SALDO_CARD_NAME", default_value = "PRISON SERVICE CARD")]
    pub card_name: String,
    /// Pseudonym keys, `<version>:<base64 of 32+ bytes>` comma-separated.
    #[arg(
        long,
        env = "SALDO_PSEUDONYM_KEYS",
        hide_env_values = true,
        default_value = ""
    )]
    pub pseudonym_keys: String,
    /// Which of the pseudonym keys is current (the default processor's).
    #[arg(long, env = "SALDO_PSEUDONYM_KEY_VERSION", default_value_t = 1)]
    pub pseudonym_key_version: u32,
    /// Processors beside the default one, for a switch-over: one per line or `;`-separated,
    /// `<id> url=… api_key=… webhook_secrets=whsec_…,whsec_… pseudonym_key_version=<n>`
    /// (docs/switch-over.md).
    #[arg(
        long,
        env = "SALDO_PROCESSORS",
        hide_env_values = true,
        default_value = ""
    )]
    pub processors: String,
    /// A file with the same (when --processors is not given).
    #[arg(long, env = "SALDO_PROCESSORS_FILE")]
    pub processors_file: Option<String>,
}

impl ProcessorArgs {
    /// The processors beside the default one (`SALDO_PROCESSORS`, else the file
    /// `SALDO_PROCESSORS_FILE`).
    pub fn other_processors(&self) -> anyhow::Result<Vec<crate::processor::OtherProcessor>> {
        let spec = match (&self.processors, &self.processors_file) {
            (spec, _) if !spec.trim().is_empty() => spec.clone(),
            (_, Some(path)) => std::fs::read_to_string(path)
                .map_err(|error| anyhow::anyhow!("SALDO_PROCESSORS_FILE {path}: {error}"))?,
            _ => return Ok(Vec::new()),
        };
        crate::processor::parse_other_processors(
            &spec,
            &crate::processor::ProcessorDefaults {
                program: &self.card_program,
                program_card_name: &self.card_name,
                pseudonym_keys: &self.pseudonym_keys,
                pseudonym_key_version: self.pseudonym_key_version,
            },
        )
    }

    pub fn config(&self) -> anyhow::Result<Option<crate::processor::ProcessorConfig>> {
        let Some(base_url) = self.processor_url.clone() else {
            return Ok(None);
        };
        let pseudonyms = card_adapter::pseudonym::PseudonymKeys::parse(
            &self.pseudonym_keys,
            self.pseudonym_key_version,
        )
        .map_err(|error| anyhow::anyhow!("SALDO_PSEUDONYM_KEYS: {error}"))?;
        Ok(Some(crate::processor::ProcessorConfig {
            processor_id: card_adapter::processors::DEFAULT_PROCESSOR.to_owned(),
            base_url,
            api_key: self.processor_api_key.clone(),
            program: self.card_program.clone(),
            program_card_name: self.card_name.clone(),
            pseudonyms,
        }))
    }
}
