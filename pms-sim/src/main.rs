//! `pms-sim`: sends the prison-management feed's events to a Saldo. See docs/pms-feed.md.
//!
//! `pms-sim send FILE`: the events of FILE (a JSON array, docs/pms-feed.schema.json), in order or
//! shuffled and duplicated. `pms-sim story`: made-up persons admitted, moved, on leave and
//! released, sent the same way.
use clap::{Parser, Subcommand};
use pms_sim::{Feed, PmsEvent, PmsPerson, admission_data, shuffled_with_duplicates};
use processor_protocol::signature::WebhookSecret;

#[derive(Parser, Debug)]
#[command(name = "pms-sim", about = "Prison-management system feed simulator")]
struct Args {
    /// Saldo's base URL.
    #[arg(
        long,
        env = "PMS_SIM_SALDO_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    saldo_url: String,
    /// whsec_<base64> signing secret (one of Saldo's SALDO_PMS_SECRETS); twice to sign with two.
    #[arg(long = "secret", env = "PMS_SIM_SECRET", required = true)]
    secrets: Vec<String>,
    /// Shuffle the events with this seed (and send every third one twice).
    #[arg(long)]
    shuffle_seed: Option<u64>,
    /// Events per batch.
    #[arg(long, default_value_t = 20)]
    batch_size: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sends the events of a JSON file (an array of events).
    Send { file: std::path::PathBuf },
    /// Makes up `persons` persons in the prison and sends their admission, a leave and its end,
    /// and a release for every other one.
    Story {
        #[arg(long)]
        prison_code: String,
        #[arg(long, default_value_t = 3)]
        persons: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let secrets = args
        .secrets
        .iter()
        .map(|secret| WebhookSecret::parse(secret))
        .collect::<Result<Vec<_>, _>>()?;
    let feed = Feed::new(&args.saldo_url, secrets);
    let events: Vec<serde_json::Value> = match &args.command {
        Command::Send { file } => serde_json::from_slice(&std::fs::read(file)?)?,
        Command::Story {
            prison_code,
            persons,
        } => story(prison_code, *persons)
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?,
    };
    let batches: Vec<Vec<serde_json::Value>> = match args.shuffle_seed {
        Some(seed) => shuffled_with_duplicates(&events, seed, 3, args.batch_size),
        None => events
            .chunks(args.batch_size.max(1))
            .map(<[_]>::to_vec)
            .collect(),
    };
    for batch in batches {
        let body = serde_json::to_vec(&serde_json::json!({ "events": batch }))?;
        let answer = feed.post_signed("/webhooks/pms", &body).await?;
        println!("{} {}", answer.status, answer.body);
    }
    Ok(())
}

fn story(prison_code: &str, persons: usize) -> Vec<PmsEvent> {
    let mut events = Vec::new();
    for index in 0..persons {
        let mut person = PmsPerson::new(&format!("SIM-{index:06}"), prison_code);
        events.push(person.admission(admission_data(
            &format!("SIM{index:06}"),
            &format!("Sim Person {index}"),
        )));
        events.push(person.leave_start(24));
        events.push(person.leave_end());
        if index % 2 == 1 {
            events.push(person.release());
        }
    }
    events
}
