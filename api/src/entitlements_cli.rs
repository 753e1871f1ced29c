//! `saldo entitlements`: the certified entitlement statement (docs/switch-over.md). Making one
//! needs the database; `verify`, `proof` and `public-key` do not.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EntitlementsArgs {
    #[command(subcommand)]
    pub command: Option<EntitlementsCommand>,
    /// The instant, RFC 3339 (e.g. `2026-11-30T23:59:59Z`).
    #[arg(long)]
    pub at: Option<String>,
    /// Only the people placed in this prison at the instant.
    #[arg(long)]
    pub prison: Option<Uuid>,
    /// Write only this person's proof (their own release statement), not the whole statement.
    #[arg(long)]
    pub person: Option<Uuid>,
    /// Where to write it (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum EntitlementsCommand {
    /// Verify a statement or a one-person proof offline (no database): exits 2 if it fails.
    Verify {
        file: PathBuf,
        /// The signer's public key you trust: 64 hex digits, or a file holding them. Without
        /// it the file's own key is used (integrity, not origin).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Cut one person's proof out of a statement file (no database).
    Proof {
        #[arg(long)]
        person: Uuid,
        /// The statement file.
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the signing key's public half (hex), for verifiers.
    PublicKey,
}

fn write_out(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => std::fs::write(path, text)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The offline commands: verify, proof, public-key.
pub fn run_offline(
    command: EntitlementsCommand,
    settings: &Settings,
    data_dir: PathBuf,
) -> anyhow::Result<ExitCode> {
    match command {
        EntitlementsCommand::PublicKey => {
            let key = settings.statement_key(data_dir)?;
            println!("{}", entitlements::public_key_hex(&key.verifying_key()));
            Ok(ExitCode::SUCCESS)
        }
        EntitlementsCommand::Proof { person, from, out } => {
            let bytes = std::fs::read(&from)
                .map_err(|error| anyhow::anyhow!("{}: {error}", from.display()))?;
            let statement: entitlements::Statement = serde_json::from_slice(&bytes)
                .map_err(|error| anyhow::anyhow!("{}: {error}", from.display()))?;
            let proof = entitlements::proof(&statement, &person.to_string())
                .ok_or_else(|| anyhow::anyhow!("{person} has no line in {}", from.display()))?;
            write_out(out.as_deref(), &entitlements::to_file_text(&proof))?;
            Ok(ExitCode::SUCCESS)
        }
        EntitlementsCommand::Verify { file, public_key } => {
            let bytes = std::fs::read(&file)
                .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
            let trusted = match public_key {
                Some(text) if Path::new(&text).is_file() => {
                    Some(std::fs::read_to_string(&text)?.trim().to_owned())
                }
                other => other,
            };
            match entitlements::verify_any(&bytes, trusted.as_deref()) {
                Ok(checked) => {
                    println!("{}", describe(&checked));
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    println!("FAILED {error}");
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

/// What a verification established, in a few lines.
fn describe(checked: &entitlements::Checked) -> String {
    let (kind, header, pinned, extra) = match checked {
        entitlements::Checked::Statement(verified) => (
            "statement",
            &verified.header,
            verified.key_pinned,
            String::new(),
        ),
        entitlements::Checked::Proof(verified) => (
            "proof",
            &verified.header,
            verified.key_pinned,
            format!("\nline: {}", verified.line.canonical()),
        ),
    };
    let journal = match &header.journal {
        Some(journal) => format!(
            "checkpoint {} ({}), entries through seq {}",
            journal.checkpoint_n, journal.checkpoint_sha256, journal.through_seq
        ),
        None => "no journal entry by then".to_owned(),
    };
    let totals: Vec<String> = header
        .totals
        .iter()
        .map(|total| {
            format!(
                "{} posted_minor {} held_minor {}",
                total.currency, total.posted_minor, total.held_minor
            )
        })
        .collect();
    format!(
        "ok {kind} at {} for {} ({} persons)\nroot: {}\njournal: {journal}\ntotals: {}\nkey: {} ({}){extra}",
        header.at,
        header.prison_id.as_deref().unwrap_or("every prison"),
        header.persons,
        header.merkle_root_sha256,
        if totals.is_empty() {
            "none".to_owned()
        } else {
            totals.join("; ")
        },
        header.public_key_ed25519,
        if pinned {
            "the trusted key"
        } else {
            "the file's own key: pass --public-key to check who signed"
        },
    )
}

/// Makes a statement (or one person's proof) from the database.
pub async fn run_make(
    args: EntitlementsArgs,
    pool: &deadpool_postgres::Pool,
    settings: &Settings,
    data_dir: PathBuf,
) -> anyhow::Result<ExitCode> {
    let at = args
        .at
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--at <RFC 3339 instant> is required"))?;
    let at = OffsetDateTime::parse(at, &Rfc3339)
        .map_err(|error| anyhow::anyhow!("--at {at}: not RFC 3339: {error}"))?;
    let key = settings.statement_key(data_dir)?;
    let text = match args.person {
        Some(person) => {
            let proof = crate::services::entitlements::person_proof(pool, &key, at, person).await?;
            entitlements::to_file_text(&proof)
        }
        None => {
            let statement =
                crate::services::entitlements::statement(pool, &key, at, args.prison).await?;
            eprintln!(
                "{} persons, root {}",
                statement.header.persons, statement.header.merkle_root_sha256
            );
            entitlements::to_file_text(&statement)
        }
    };
    write_out(args.out.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
