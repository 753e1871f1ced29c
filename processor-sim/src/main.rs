//! `processor-sim`: the card processor simulator as a standalone server.
//! See docs/processor-simulator.md.

use std::net::SocketAddr;

use clap::Parser;
use processor_protocol::signature::WebhookSecret;
use processor_sim::{SimConfig, Simulator};

#[derive(Parser, Debug)]
#[command(
    name = "processor-sim",
    about = "Card processor simulator (protocol v1)"
)]
struct Args {
    /// Address to serve the processor API and the /_sim controls on.
    #[arg(long, env = "SIM_LISTEN", default_value = "127.0.0.1:8099")]
    listen: SocketAddr,
    /// Saldo's webhook endpoint, e.g. http://127.0.0.1:8080/webhooks/processor.
    #[arg(long, env = "SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// whsec_<base64> signing secret; give it twice to sign with two (a rotation).
    #[arg(long = "webhook-secret", env = "SIM_WEBHOOK_SECRET", required = true)]
    webhook_secrets: Vec<String>,
    /// The API key Saldo must send as `Authorization: Bearer <key>`.
    #[arg(long, env = "SIM_API_KEY")]
    api_key: String,
    /// First retry delay of asynchronous webhooks (doubles per attempt).
    #[arg(long, default_value_t = 1000)]
    retry_base_delay_ms: u64,
    /// Attempts per asynchronous webhook, the first included.
    #[arg(long, default_value_t = 8)]
    max_delivery_attempts: u32,
    /// Deadline of the synchronous authorization request.
    #[arg(long, default_value_t = 2000)]
    auth_deadline_ms: u64,
    /// Prefunded amount of the program funding account at start, minor units.
    #[arg(long, default_value_t = 10_000_000)]
    initial_funding_minor: i64,
    /// FEE row of every settlement file, minor units (0 for none).
    #[arg(long, default_value_t = 250)]
    settlement_fee_minor: i64,
    /// Decline instead of standing in when Saldo cannot be reached.
    #[arg(long)]
    no_stand_in: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let secrets = args
        .webhook_secrets
        .iter()
        .map(|s| WebhookSecret::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = SimConfig::new(args.api_key, secrets[0].clone());
    config.webhook_secrets = secrets;
    config.listen = args.listen;
    config.webhook_url = args.webhook_url;
    config.retry_base_delay_ms = args.retry_base_delay_ms;
    config.max_delivery_attempts = args.max_delivery_attempts;
    config.auth_deadline_ms = args.auth_deadline_ms;
    config.initial_funding_minor = args.initial_funding_minor;
    config.settlement_fee_minor = args.settlement_fee_minor;
    config.stand_in = !args.no_stand_in;
    let sim = Simulator::start(config).await?;
    tracing::info!(base_url = %sim.base_url(), "processor simulator listening");
    tokio::signal::ctrl_c().await?;
    sim.shutdown();
    Ok(())
}
