//! `services-sim`: a prison service talking to Saldo's signed service API (docs/services.md).
//!
//! `services-sim buy --person <uuid> --amount-minor 1250`: a purchase held and captured.
//! `services-sim authorize … --purpose call_credit`, `services-sim step <request_id> capture …`.
use clap::{Parser, Subcommand};
use processor_protocol::signature::WebhookSecret;
use services_sim::Service;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(name = "services-sim", about = "Prison service simulator")]
struct Args {
    /// Saldo's base URL.
    #[arg(
        long,
        env = "SERVICES_SIM_SALDO_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    saldo_url: String,
    /// The service's id in the prison's catalogue.
    #[arg(long, env = "SERVICES_SIM_SERVICE_ID")]
    service_id: Uuid,
    /// whsec_<base64>: a key staff issued for the service; twice to sign with two.
    #[arg(long = "secret", env = "SERVICES_SIM_SECRET", required = true)]
    secrets: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Holds and captures a purchase.
    Buy {
        #[arg(long)]
        person: Uuid,
        #[arg(long)]
        amount_minor: i64,
    },
    /// Asks for a hold (`purchase`, `call_credit`, `call`, `reservation`).
    Authorize {
        #[arg(long)]
        person: Uuid,
        #[arg(long)]
        amount_minor: i64,
        #[arg(long, default_value = "purchase")]
        purpose: String,
    },
    /// `capture`, `release`, `refund` or `advice` against an earlier request.
    Step {
        request_id: String,
        step: String,
        #[arg(long)]
        amount_minor: Option<i64>,
    },
    /// A recurring charge every `period_days`.
    Subscribe {
        #[arg(long)]
        person: Uuid,
        #[arg(long)]
        amount_minor: i64,
        #[arg(long, default_value_t = 7)]
        period_days: i32,
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
    let service = Service::new(&args.saldo_url, args.service_id, secrets);
    let id = || format!("sim-{}", Uuid::new_v4().simple());
    let answer = match args.command {
        Command::Buy {
            person,
            amount_minor,
        } => service.buy(&id(), person, amount_minor).await?,
        Command::Authorize {
            person,
            amount_minor,
            purpose,
        } => {
            service
                .authorize(&id(), person, amount_minor, &purpose)
                .await?
        }
        Command::Step {
            request_id,
            step,
            amount_minor,
        } => {
            service
                .step(&request_id, &step, &id(), amount_minor)
                .await?
        }
        Command::Subscribe {
            person,
            amount_minor,
            period_days,
        } => {
            service
                .subscribe(&id(), person, amount_minor, period_days)
                .await?
        }
    };
    println!("{} {}", answer.status, answer.body);
    Ok(())
}
