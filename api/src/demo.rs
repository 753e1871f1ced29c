//! `saldo demo`: everything on one machine with one command. A fresh demo database (`saldo_demo`,
//! recreated on every run) on the embedded cluster or the configured server, the processor
//! simulator, two demo prisons (a Finnish one; a Belgian one whose kiosks start in Dutch) with
//! staff of every role in both, a registered kiosk each, prisoners speaking fi, sv, en, nl and fr
//! with cards and some card activity, and purchases at each prison's canteen and telephony
//! services (docs/services.md); then the URLs and sign-ins, and it serves until Ctrl-C.
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
const DEMO_API_KEY: &str = "sk_demo_saldo";
/// Demo sign-ins, printed at start, each with its role in both prisons: this database is thrown
/// away at the next run.
const DEMO_STAFF: [(&str, Role, &str); 5] = [
    ("officer", Role::Officer, "demo-officer-password"),
    ("finance", Role::Finance, "demo-finance-password"),
    ("approver", Role::FinanceApprover, "demo-approver-password"),
    ("auditor", Role::Auditor, "demo-auditor-password"),
    ("admin", Role::Admin, "demo-admin-password"),
];

/// One demo prisoner; the people are made up.
pub struct DemoPrisoner {
    pub number: &'static str,
    pub name: &'static str,
    pub pin: &'static str,
    pub language: &'static str,
    pub deposit_minor: i64,
    /// On leave for three days, so the card works outside the prison too.
    pub on_leave: bool,
    /// The card activity the simulator plays on their card.
    pub scenario: Scenario,
}

/// One demo prison: a Finnish one, and a Belgian one whose kiosks start in Dutch.
pub struct DemoPrison {
    pub code: &'static str,
    pub name: &'static str,
    pub time_zone: &'static str,
    pub country: &'static str,
    pub default_language: Option<ledger::controls::Lang>,
    /// The prison's canteen, the one merchant its spending controls allow inside.
    pub canteen: fn() -> processor_protocol::Merchant,
    pub prisoners: &'static [DemoPrisoner],
}

pub const DEMO_PRISONS: [DemoPrison; 2] = [
    DemoPrison {
        code: "HML",
        name: "Demo Prison Hämeenlinna",
        time_zone: "Europe/Helsinki",
        country: "FI",
        default_language: Some(ledger::controls::Lang::Fi),
        canteen: processor_sim::merchant_canteen,
        prisoners: &[
            DemoPrisoner {
                number: "HML-0001",
                name: "Aino Virtanen",
                pin: "1234",
                language: "fi",
                deposit_minor: 12_000,
                on_leave: false,
                scenario: Scenario::CanteenPurchase,
            },
            DemoPrisoner {
                number: "HML-0002",
                name: "Lars Holmström",
                pin: "2345",
                language: "sv",
                deposit_minor: 8_050,
                on_leave: true,
                scenario: Scenario::PartialClearing,
            },
            DemoPrisoner {
                number: "HML-0003",
                name: "Sophie Dubois",
                pin: "3456",
                language: "en",
                deposit_minor: 4_500,
                on_leave: false,
                scenario: Scenario::Refund,
            },
        ],
    },
    DemoPrison {
        code: "HAR",
        name: "Demo Prison Haren",
        time_zone: "Europe/Brussels",
        country: "BE",
        default_language: Some(ledger::controls::Lang::Nl),
        canteen: processor_sim::merchant_canteen_haren,
        prisoners: &[
            DemoPrisoner {
                number: "HAR-0001",
                name: "Jan Peeters",
                pin: "4567",
                language: "nl",
                deposit_minor: 9_500,
                on_leave: false,
                scenario: Scenario::CanteenPurchase,
            },
            DemoPrisoner {
                number: "HAR-0002",
                name: "Camille Lambert",
                pin: "5678",
                language: "fr",
                deposit_minor: 6_000,
                on_leave: false,
                scenario: Scenario::Reversal,
            },
        ],
    },
];

/// A demo that is up: its addresses, what was seeded, and the server to wait on.
pub struct RunningDemo {
    pub base: String,
    pub seeded: Seeded,
    pub simulator: Simulator,
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn run(
    config: tokio_postgres::Config,
    listen: &str,
    settings: &crate::settings::Settings,
) -> anyhow::Result<()> {
    let demo = start(config, listen, settings.cookie_secure(), DEMO_DB).await?;
    print_welcome(&demo.base, &demo.simulator.base_url(), &demo.seeded);
    demo.server.await??;
    Ok(())
}

/// Recreates `database_name` on the server of `config`, seeds it, and serves on `listen`.
pub async fn start(
    config: tokio_postgres::Config,
    listen: &str,
    cookie_secure: bool,
    database_name: &str,
) -> anyhow::Result<RunningDemo> {
    let demo_config = recreate_demo_database(&config, database_name).await?;
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
        .with_cookie_secure(cookie_secure)
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
    let prisoner_count = DEMO_PRISONS.iter().map(|p| p.prisoners.len()).sum();
    wait_for_cards(&pool, prisoner_count).await?;
    let cards = card_scenarios(&pool, &seeded).await?;
    for (card, scenario, canteen) in &cards {
        sim.run_scenario_at(*scenario, card, canteen.clone())
            .await
            .map_err(|e| anyhow::anyhow!("demo card activity: {e}"))?;
    }
    if let Some((card, _, _)) = cards.first() {
        // A declined attempt too, so the kiosk shows a reason.
        let _ = sim.run_scenario(Scenario::BlockedMccOnline, card).await;
    }
    sim.flush_webhooks();
    sim.wait_for_deliveries(10_000).await;
    service_activity(&base, &seeded).await?;
    Ok(RunningDemo {
        base,
        seeded,
        simulator: sim,
        server,
    })
}

fn random_key() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

async fn recreate_demo_database(
    config: &tokio_postgres::Config,
    database_name: &str,
) -> anyhow::Result<tokio_postgres::Config> {
    if !database_name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        bail!("a demo database name is lower-case letters, digits and underscores");
    }
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .context("cannot connect to PostgreSQL")?;
    tokio::spawn(connection);
    // Two statements, two implicit transactions: CREATE DATABASE cannot share one.
    for statement in [
        format!("drop database if exists {database_name} with (force)"),
        format!("create database {database_name}"),
    ] {
        client
            .batch_execute(&statement)
            .await
            .context("cannot create the demo database (the database user needs CREATEDB)")?;
    }
    let mut demo = config.clone();
    demo.dbname(database_name);
    Ok(demo)
}

/// One seeded prison: its id, its kiosk's device token, its prisoners' numbers and PINs.
pub struct SeededPrison {
    pub prison: &'static DemoPrison,
    pub prison_id: Uuid,
    pub kiosk_token: String,
    /// The prison's canteen and telephony services (docs/services.md), each with its key.
    pub services: Vec<(Uuid, WebhookSecret)>,
    /// Its first prisoner, who buys at those services.
    pub first_person: Option<Uuid>,
}

/// An admitted demo prisoner: the card activity the simulator plays on their card, and where.
pub struct SeededPerson {
    pub person_id: Uuid,
    pub scenario: Scenario,
    pub canteen: fn() -> processor_protocol::Merchant,
}

pub struct Seeded {
    pub prisons: Vec<SeededPrison>,
    /// Each admitted person, in the order of [`DEMO_PRISONS`].
    pub people: Vec<SeededPerson>,
}

async fn seed(state: &crate::state::AppState) -> anyhow::Result<Seeded> {
    let client = state.pool.get().await?;
    let mut prison_ids = Vec::new();
    for demo in &DEMO_PRISONS {
        let prison = identity::store::create_prison(
            &client,
            &NewPrison {
                code: demo.code.into(),
                name: demo.name.into(),
                time_zone: demo.time_zone.into(),
                country: demo.country.into(),
            },
        )
        .await
        .map_err(|_| anyhow::anyhow!("cannot create the demo prison {}", demo.code))?;
        identity::store::set_prison_default_language(&client, prison.id, demo.default_language)
            .await?;
        publish_closed_prison_policy(state, demo, prison.id).await?;
        prison_ids.push(prison.id);
    }
    let mut officer = Uuid::nil();
    let mut finance = Uuid::nil();
    let mut admin = Uuid::nil();
    for (username, role, password) in DEMO_STAFF {
        let hash = secret::hash(password.to_owned()).await?;
        let grants: Vec<Grant> = prison_ids
            .iter()
            .map(|&prison_id| Grant { prison_id, role })
            .collect();
        let id = auth::create_staff(&client, username, &hash, &grants)
            .await
            .map_err(|e| anyhow::anyhow!("demo staff {username}: {e}"))?;
        match role {
            Role::Officer => officer = id,
            Role::Finance => finance = id,
            Role::Admin => admin = id,
            _ => {}
        }
    }
    let officer_token = auth::start_staff_session(&client, officer).await?.token;
    let finance_token = auth::start_staff_session(&client, finance).await?.token;
    let admin_token = auth::start_staff_session(&client, admin).await?.token;

    let app = crate::app::router(state.clone());
    let mut prisons = Vec::new();
    let mut people = Vec::new();
    for (demo, prison_id) in DEMO_PRISONS.iter().zip(prison_ids) {
        let (_, kiosk_token) =
            auth::kiosk::issue_device(&client, prison_id, "demo kiosk", admin).await?;
        let services = add_services(&app, &admin_token, prison_id).await?;
        let mut first_person = None;
        for prisoner in demo.prisoners {
            let person_id = admit_with_deposit(
                state,
                &app,
                &officer_token,
                &finance_token,
                prison_id,
                prisoner,
            )
            .await?;
            first_person.get_or_insert(person_id);
            people.push(SeededPerson {
                person_id,
                scenario: prisoner.scenario,
                canteen: demo.canteen,
            });
        }
        prisons.push(SeededPrison {
            prison: demo,
            prison_id,
            kiosk_token,
            services,
            first_person,
        });
    }
    Ok(Seeded { prisons, people })
}

/// The prison's own services (docs/services.md): a canteen and the telephony, each with a key.
async fn add_services(
    app: &axum::Router,
    admin_token: &str,
    prison_id: Uuid,
) -> anyhow::Result<Vec<(Uuid, WebhookSecret)>> {
    let mut services = Vec::new();
    for (code, kind, mcc) in [
        ("canteen", "canteen", "5411"),
        ("phone", "telephony", "4814"),
    ] {
        let created = call(
            app,
            admin_token,
            &format!("/api/staff/prisons/{prison_id}/services"),
            serde_json::json!({"code": code, "kind": kind, "mcc": mcc, "currency": "EUR"}),
        )
        .await?;
        let service_id: Uuid = created["service_id"].as_str().unwrap_or_default().parse()?;
        let key = call(
            app,
            admin_token,
            &format!("/api/staff/prisons/{prison_id}/services/{service_id}/keys"),
            serde_json::Value::Null,
        )
        .await?;
        let secret = WebhookSecret::parse(key["secret"].as_str().unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("demo service key: {e}"))?;
        services.push((service_id, secret));
    }
    Ok(services)
}

/// Each prison's first prisoner at its services, over the signed service API as the services
/// would call it (`services-sim`): a canteen order, call credit topped up, a call.
async fn service_activity(base: &str, seeded: &Seeded) -> anyhow::Result<()> {
    for prison in &seeded.prisons {
        let (Some(person), [(canteen_id, canteen_key), (phone_id, phone_key)]) =
            (prison.first_person, prison.services.as_slice())
        else {
            continue;
        };
        let code = prison.prison.code.to_lowercase();
        let canteen = services_sim::Service::new(base, *canteen_id, vec![canteen_key.clone()]);
        let phone = services_sim::Service::new(base, *phone_id, vec![phone_key.clone()]);
        let order = format!("demo-{code}-order-1");
        let top_up = format!("demo-{code}-top-up-1");
        let call_id = format!("demo-{code}-call-1");
        // (service, request, what it is for, held, captured)
        let steps = [
            (&canteen, &order, "purchase", 4_50, 4_50),
            (&phone, &top_up, "call_credit", 10_00, 10_00),
            (&phone, &call_id, "call", 2_00, 1_20),
        ];
        for (service, request_id, purpose, held_minor, captured_minor) in steps {
            let held = service
                .authorize(request_id, person, held_minor, purpose)
                .await?;
            if !held.approved() {
                bail!("demo {purpose} at {}: {}", prison.prison.code, held.body);
            }
            let captured = service
                .step(
                    request_id,
                    "capture",
                    &format!("{request_id}:capture"),
                    Some(captured_minor),
                )
                .await?;
            if !(200..300).contains(&captured.status) {
                bail!("demo capture at {}: {}", prison.prison.code, captured.body);
            }
        }
    }
    Ok(())
}

/// The prison's spending controls: the closed-prison template, the canteen allowed inside.
async fn publish_closed_prison_policy(
    state: &crate::state::AppState,
    demo: &DemoPrison,
    prison_id: Uuid,
) -> anyhow::Result<()> {
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let policy = ledger::policy_store::publish_policy(
        &tx,
        &ledger::controls::Policy::closed_prison(
            &format!("demo-closed-{}", demo.code.to_lowercase()),
            1,
            demo.country,
            &[(demo.canteen)().id.as_str()],
        ),
        Some(prison_id),
        since,
        "demo",
    )
    .await?;
    ledger::policy_store::assign_policy(
        &tx,
        prison_id,
        policy.regime,
        &policy.id,
        demo.time_zone,
        since,
        "demo",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Admission and a cash deposit through the HTTP API, as an officer and a clerk would.
async fn admit_with_deposit(
    state: &crate::state::AppState,
    app: &axum::Router,
    officer_token: &str,
    finance_token: &str,
    prison_id: Uuid,
    prisoner: &DemoPrisoner,
) -> anyhow::Result<Uuid> {
    let admitted = call(
        app,
        officer_token,
        &format!("/api/staff/prisons/{prison_id}/prisoners"),
        serde_json::json!({
            "prisoner_number": prisoner.number, "full_name": prisoner.name,
            "preferred_language": prisoner.language, "pin": prisoner.pin,
        }),
    )
    .await?;
    let person_id: Uuid = admitted["person_id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .context("the admission answered without a person id")?;
    call(
        app,
        finance_token,
        &format!("/api/staff/prisons/{prison_id}/prisoners/{person_id}/deposits"),
        serde_json::json!({
            "idempotency_key": format!("demo-deposit-{}", prisoner.number),
            "source": "cash_at_intake", "amount_minor": prisoner.deposit_minor, "currency": "EUR",
        }),
    )
    .await?;
    if prisoner.on_leave {
        // On leave for three days: outside purchases allowed within the leave limits.
        let mut client = state.pool.get().await?;
        let tx = client.transaction().await?;
        let now = time::OffsetDateTime::now_utc();
        ledger::lifecycle::grant_leave(
            &tx,
            &ledger::lifecycle::GrantLeave {
                idempotency_key: format!("demo-leave-{}", prisoner.number),
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
    Ok(person_id)
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

/// Each demo card with the activity its holder was seeded with.
async fn card_scenarios(
    pool: &deadpool_postgres::Pool,
    seeded: &Seeded,
) -> anyhow::Result<Vec<(String, Scenario, processor_protocol::Merchant)>> {
    let client = pool.get().await?;
    let mut cards = Vec::new();
    for person in &seeded.people {
        let card = client
            .query_one(
                "select card_id from card.cards where person_id = $1 order by created_at limit 1",
                &[&person.person_id],
            )
            .await?;
        cards.push((card.get("card_id"), person.scenario, (person.canteen)()));
    }
    Ok(cards)
}

fn print_welcome(base: &str, sim: &str, seeded: &Seeded) {
    println!();
    println!("Saldo demo is running (Ctrl-C stops it; the next run starts afresh).");
    println!();
    for seeded_prison in &seeded.prisons {
        let prison = seeded_prison.prison;
        println!(
            "  Kiosk of {} ({}, {}):",
            prison.name,
            prison.code,
            prison.default_language.map_or("en", |lang| lang.as_str())
        );
        println!("               {base}/kiosk/enrol   paste this device token once:");
        println!("               {}", seeded_prison.kiosk_token);
        println!("               then sign in at {base}/kiosk with a prisoner number and PIN:");
        for prisoner in prison.prisoners {
            println!(
                "                 {}  PIN {}  ({})",
                prisoner.number, prisoner.pin, prisoner.language
            );
        }
    }
    println!(
        "  Staff:       {base}/staff   (or the JSON API under {base}/api/staff); both prisons"
    );
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
