//! `saldo prison add` and `saldo staff add`: bootstrapping a prison and its first admin from the
//! command line (afterwards admins create staff through the API).
use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::auth::{self, Grant, Role};
use crate::identity::{self, NewPrison};

pub const PASSWORD_ENV: &str = "SALDO_STAFF_PASSWORD";

#[derive(Debug, Subcommand)]
pub enum PrisonCommand {
    /// Register a prison.
    Add {
        /// Short code, e.g. HEL (A-Z 0-9 _ -).
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// IANA time zone, e.g. Europe/Helsinki.
        #[arg(long)]
        time_zone: String,
        /// ISO 3166 alpha-2 country code, e.g. FI.
        #[arg(long)]
        country: String,
    },
    /// Set the language the prison's kiosks start in before a prisoner signs in (fi, sv, en,
    /// nl, fr, de), or `country` for its country's (English where a country has several).
    SetLanguage {
        /// Prison code.
        #[arg(long)]
        code: String,
        #[arg(long)]
        language: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account. The password is read from SALDO_STAFF_PASSWORD, else from the
    /// first line of standard input (never from the command line, which `ps` shows).
    Add {
        #[arg(long)]
        username: String,
        /// officer, finance, finance_approver, auditor or admin; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Prison code; repeat for several. Each role is granted in each prison.
        #[arg(long = "prison", required = true)]
        prisons: Vec<String>,
    },
}

pub async fn run_prison(
    config: &tokio_postgres::Config,
    command: PrisonCommand,
) -> anyhow::Result<ExitCode> {
    ledger::db::migrate(config).await?;
    let pool = ledger::db::pool(config.clone(), 2)?;
    let client = pool.get().await?;
    match command {
        PrisonCommand::Add {
            code,
            name,
            time_zone,
            country,
        } => {
            let prison = identity::store::create_prison(
                &client,
                &NewPrison {
                    code,
                    name,
                    time_zone,
                    country,
                },
            )
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
            println!("prison {} created: {}", prison.code, prison.id);
        }
        PrisonCommand::SetLanguage { code, language } => {
            let language = match language.as_str() {
                "country" => None,
                tag => Some(ledger::controls::Lang::parse(tag).ok_or_else(|| {
                    anyhow::anyhow!("language must be fi, sv, en, nl, fr, de or country")
                })?),
            };
            let prison = identity::store::prison_by_code(&client, &code)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?
                .ok_or_else(|| anyhow::anyhow!("no prison with code {code}"))?;
            identity::store::set_prison_default_language(&client, prison.id, language)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            let shown = language.map_or("its country's", |l| l.as_str());
            println!("prison {code}: kiosks start in {shown}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn run_staff(
    config: &tokio_postgres::Config,
    command: StaffCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        StaffCommand::Add {
            username,
            roles,
            prisons,
        } => {
            let roles = roles
                .iter()
                .map(|text| Role::parse(text).with_context(|| format!("unknown role {text:?}")))
                .collect::<anyhow::Result<Vec<Role>>>()?;
            let password = read_password()?;
            auth::validate_username(&username).map_err(|error| anyhow::anyhow!("{error}"))?;
            auth::validate_password(&password).map_err(|error| anyhow::anyhow!("{error}"))?;
            ledger::db::migrate(config).await?;
            let pool = ledger::db::pool(config.clone(), 2)?;
            let client = pool.get().await?;
            let mut grants = Vec::new();
            for code in &prisons {
                let Some(prison) = identity::store::prison_by_code(&client, code)
                    .await
                    .map_err(|error| anyhow::anyhow!("{error}"))?
                else {
                    bail!("no prison with code {code:?} (add it with `saldo prison add`)");
                };
                for &role in &roles {
                    grants.push(Grant {
                        prison_id: prison.id,
                        role,
                    });
                }
            }
            let hash = crate::secret::hash(password).await?;
            let staff_id = auth::create_staff(&client, &username, &hash, &grants)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            println!("staff account created: {staff_id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
