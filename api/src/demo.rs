//! `saldo demo`: everything on one machine with one command. A fresh demo database (`saldo_demo`,
//! recreated on every run) on the embedded cluster or the configured server, the processor
//! simulator, a demo prison with staff of every role, a registered kiosk, three prisoners with
//! cards and some card activity; then the URLs and sign-ins, and it serves until Ctrl-C.
//!
//! Seeding goes through the same code as real use: admission and deposits through the HTTP API
//! (in-process), cards through the outbox and the simulator, card activity as signed webhooks.

use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Method, Request, header};
use processor_protocol::signature::WebhookSecret;
use processor_sim::{Scenario, SimConfig, Simulator};
use tower::ServiceExt;
use uuid::Uuid;

use crate::auth::{self, Grant, Role};
use crate::identity::{self, NewPrison};
use crate::secret;

const DEMO_DB: &str = "saldo_demo";
const DEMO_PRISON: &str = "HML";
const DEMO_API_KEY: &str = "sk_demo_saldo";
/// Demo sign-ins, printed at start: this database is thrown away at the next run.
const DEMO_STAFF: [(&str, Role, &str); 5] = [
    ("officer", Role::Officer, "demo-officer-password"),
    ("finance", Role::Finance, "demo-finance-password"),
    ("approver", Role::FinanceApprover, "demo-approver-password"),
    ("auditor", Role::Auditor, "demo-auditor-password"),
    ("admin", Role::Admin, "demo-admin-password"),
];
/// (prisoner number, name, PIN, language, deposit in cents). The people are made up.
/// This one is on leave, so the card works outside the prison too.
const DEMO_PRISONER_ON_LEAVE: &str = "HML-0002";
const DEMO_PRISONERS: [(&str, &str, &str, &str, i64); 3] = [
    ("HML-0001", "Aino Virtanen", "1234", "fi", 12_000),
    ("HML-0002", "Lars Holmström", "2345", "sv", 8_050),
    ("HML-0003", "Sophie Dubois", "3456", "en", 4_500),
];

pub async fn run(
    config: tokio_postgres::Config,
    listen: &str,
    settings: &crate::settings::Settings,
) -> anyhow::Result<()> {
    let demo_config = recreate_demo_database(&config).await?;
    ledger::db::migrate(&demo_config).await?;
    let pool = ledger::db::pool(demo_config, 16)?;

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let base = format!("http://{}", listener.local_addr()?);
    let secret = WebhookSecret::generate();

    let mut sim_config = SimConfig::new(DEMO_API_KEY, secret.clone());
    sim_config.webhook_url = Some(format!("{base}/webhooks/processor"));
    sim_config.retry_base_delay_ms = 200;
    let sim = Simulator::start(sim_config).await?;

    let state = crate::state::AppState::new(pool.clone())
        .with_webhook_secrets(vec![secret])
        .with_cookie_secure(settings.cookie_secure())
        // The demo's statements are signed by a key of its own, new every run.
        .with_statement_key(entitlements::ed25519_dalek::SigningKey::from_bytes(
            &random_key()
                .try_into()
                .map_err(|_| anyhow::anyhow!("random key"))?,
        ));
    let processor = crate::processor::ProcessorConfig {
        processor_id: card_adapter::processors::DEFAULT_PROCESSOR.into(),
        base_url: sim.base_url(),
        api_key: DEMO_API_KEY.into(),
        program: "prison-demo".into(),
        program_card_name: "PRISON SERVICE CARD".into(),
        pseudonyms: card_adapter::pseudonym::PseudonymKeys::new(1, random_key())
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let mut worker = crate::processor::outbox_worker(pool.clone(), &processor)?;
    worker.wake = state.outbox_wake.clone();
    tokio::spawn(crate::processor::run_outbox(worker));

    let seeded = seed(&state).await?;
    let server = tokio::spawn(crate::app::serve(state, listener));
    wait_for_cards(&pool, seeded.prisoners.len()).await?;
    let cards = card_ids(&pool).await?;
    for (card, scenario) in cards.iter().zip([
        Scenario::CanteenPurchase,
        Scenario::PartialClearing,
        Scenario::Refund,
    ]) {
        sim.run_scenario(scenario, card)
            .await
            .map_err(|e| anyhow::anyhow!("demo card activity: {e}"))?;
    }
    if let Some(card) = cards.first() {
        // A declined attempt too, so the kiosk shows a reason.
        let _ = sim.run_scenario(Scenario::BlockedMccOnline, card).await;
    }
    sim.flush_webhooks();
    sim.wait_for_deliveries(10_000).await;

    print_welcome(&base, &sim.base_url(), &seeded);
    server.await??;
    Ok(())
}

fn random_key() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

async fn recreate_demo_database(
    config: &tokio_postgres::Config,
) -> anyhow::Result<tokio_postgres::Config> {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .context("cannot connect to PostgreSQL")?;
    tokio::spawn(connection);
    // Two statements, two implicit transactions: CREATE DATABASE cannot share one.
    for statement in [
        format!("drop database if exists {DEMO_DB} with (force)"),
        format!("create database {DEMO_DB}"),
    ] {
        client
            .batch_execute(&statement)
            .await
            .context("cannot create the demo database (the database user needs CREATEDB)")?;
    }
    let mut demo = config.clone();
    demo.dbname(DEMO_DB);
    Ok(demo)
}

struct Seeded {
    kiosk_token: String,
    prisoners: Vec<(&'static str, &'static str)>,
}

async fn seed(state: &crate::state::AppState) -> anyhow::Result<Seeded> {
    let client = state.pool.get().await?;
    let prison = identity::store::create_prison(
        &client,
        &NewPrison {
            code: DEMO_PRISON.into(),
            name: "Demo Prison".into(),
            time_zone: "Europe/Helsinki".into(),
            country: "FI".into(),
        },
    )
    .await
    .map_err(|_| anyhow::anyhow!("cannot create the demo prison"))?;
    // The prison's spending controls: the closed-prison template, the canteen allowed inside.
    {
        let mut client = state.pool.get().await?;
        let tx = client.transaction().await?;
        let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        let policy = ledger::policy_store::publish_policy(
            &tx,
            &ledger::controls::Policy::closed_prison("demo-closed", 1, "FI", &["m_canteen_01"]),
            Some(prison.id),
            since,
            "demo",
        )
        .await?;
        ledger::policy_store::assign_policy(
            &tx,
            prison.id,
            policy.regime,
            &policy.id,
            "Europe/Helsinki",
            since,
            "demo",
        )
        .await?;
        tx.commit().await?;
    }
    let mut officer = Uuid::nil();
    let mut finance = Uuid::nil();
    let mut admin = Uuid::nil();
    for (username, role, password) in DEMO_STAFF {
        let hash = secret::hash(password.to_owned()).await?;
        let id = auth::create_staff(
            &client,
            username,
            &hash,
            &[Grant {
                prison_id: prison.id,
                role,
            }],
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo staff {username}: {e}"))?;
        match role {
            Role::Officer => officer = id,
            Role::Finance => finance = id,
            Role::Admin => admin = id,
            _ => {}
        }
    }
    let (_, kiosk_token) =
        auth::kiosk::issue_device(&client, prison.id, "demo kiosk", admin).await?;
    let officer_token = auth::start_staff_session(&client, officer).await?.token;
    let finance_token = auth::start_staff_session(&client, finance).await?.token;
    drop(client);

    let app = crate::app::router(state.clone());
    let mut prisoners = Vec::new();
    for (number, name, pin, language, deposit_minor) in DEMO_PRISONERS {
        let admitted = call(
            &app,
            &officer_token,
            &format!("/api/staff/prisons/{}/prisoners", prison.id),
            serde_json::json!({
                "prisoner_number": number, "full_name": name, "preferred_language": language, "pin": pin,
            }),
        )
        .await?;
        let person_id = admitted["person_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        call(
            &app,
            &finance_token,
            &format!(
                "/api/staff/prisons/{}/prisoners/{person_id}/deposits",
                prison.id
            ),
            serde_json::json!({
                "idempotency_key": format!("demo-deposit-{number}"), "source": "cash_at_intake",
                "amount_minor": deposit_minor, "currency": "EUR",
            }),
        )
        .await?;
        if number == DEMO_PRISONER_ON_LEAVE {
            // On leave for three days: outside purchases allowed within the leave limits.
            let person_id: Uuid = person_id.parse()?;
            let mut client = state.pool.get().await?;
            let tx = client.transaction().await?;
            let now = time::OffsetDateTime::now_utc();
            ledger::lifecycle::grant_leave(
                &tx,
                &ledger::lifecycle::GrantLeave {
                    idempotency_key: format!("demo-leave-{number}"),
                    person_id,
                    from: now - time::Duration::hours(1),
                    until: now + time::Duration::days(3),
                    limits: None,
                    granted_by: "demo".into(),
                },
            )
            .await?;
            tx.commit().await?;
        }
        prisoners.push((number, pin));
    }
    Ok(Seeded {
        kiosk_token,
        prisoners,
    })
}

/// One staff API call through the real router, as a client would make it.
async fn call(
    app: &axum::Router,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            "saldo-purpose",
            if path.ends_with("deposits") {
                "deposit"
            } else {
                "admission"
            },
        )
        .body(Body::from(body.to_string()))?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    if !status.is_success() {
        bail!(
            "demo seeding: {path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    Ok(serde_json::from_slice(&bytes)?)
}

async fn wait_for_cards(pool: &deadpool_postgres::Pool, count: usize) -> anyhow::Result<()> {
    for _ in 0..100 {
        let client = pool.get().await?;
        let active: i64 = client
            .query_one(
                "select count(*) as active from card.cards where state = 'ACTIVE'",
                &[],
            )
            .await?
            .get("active");
        if usize::try_from(active).unwrap_or(0) >= count {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the demo cards did not become active (see the outbox: card.outbox)")
}

async fn card_ids(pool: &deadpool_postgres::Pool) -> anyhow::Result<Vec<String>> {
    let client = pool.get().await?;
    Ok(client
        .query("select card_id from card.cards order by created_at", &[])
        .await?
        .iter()
        .map(|row| row.get("card_id"))
        .collect())
}

fn print_welcome(base: &str, sim: &str, seeded: &Seeded) {
    println!();
    println!("Saldo demo is running (Ctrl-C stops it; the next run starts afresh).");
    println!();
    println!("  Kiosk:       {base}/kiosk/enrol   paste this device token once:");
    println!("               {}", seeded.kiosk_token);
    println!("               then sign in at {base}/kiosk with a prisoner number and PIN:");
    for (number, pin) in &seeded.prisoners {
        println!("                 {number}  PIN {pin}");
    }
    println!("  Staff:       {base}/staff   (or the JSON API under {base}/api/staff)");
    for (username, role, password) in DEMO_STAFF {
        println!(
            "                 {username:<9} {password:<26} ({})",
            role.as_str()
        );
    }
    println!("  API:         {base}/openapi.json   {base}/health   {base}/metrics");
    println!("  Processor:   {sim}   (the simulator; its controls under /_sim)");
    println!();
}
