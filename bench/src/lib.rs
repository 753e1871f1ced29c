//! Saldo's benchmark harness (`saldo-bench`, see `docs/performance.md`).
//!
//! From an empty database: load prisoners with cards and balances in bulk, start Saldo's server,
//! run PostgreSQL's own pgbench against the same server at the same concurrency (the baseline),
//! then drive the real webhook path and the other workloads, and report every figure beside its
//! target and the baseline of the same run.

pub mod chaos;
pub mod cpu;
pub mod data;
pub mod entitlements;
pub mod job_baseline;
pub mod load;
pub mod pgbench;
pub mod report;
pub mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use ledger::payroll::{PayrollBatch, PayrollLine};
use ledger::{Currency, Money};
use processor_protocol::signature::WebhookSecret;
use tokio_postgres::NoTls;

use crate::load::{Outcome, authorization_body, authorization_outcome, clearing_body};
use crate::report::{Report, display, per_second, ratio_bp};
use crate::server::Server;

#[derive(Debug, Clone, Parser, serde::Serialize)]
#[command(
    name = "saldo-bench",
    about = "Saldo's figures beside PostgreSQL's pgbench, in one run"
)]
pub struct Options {
    /// A PostgreSQL database to use as is (it must be empty). Default: a fresh database on the
    /// server named by TEST_DATABASE_URL/DATABASE_URL's server or the PG* variables
    /// (127.0.0.1:5432, user postgres), dropped afterwards.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Concurrent connections of the load generator (and of pgbench, and the server's pool).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Several levels measured one after another in this run, e.g. `8,16,32,64`: at each, its
    /// own pgbench, server and phases (overrides --concurrency). The payroll, verify and
    /// reconciliation figures, which do not depend on it, are measured once at the end.
    #[arg(long, value_delimiter = ',')]
    pub concurrency_sweep: Vec<usize>,
    /// Seconds per measured phase (pgbench runs, each authorization run, clearings, reads).
    #[arg(long, default_value_t = 20)]
    pub duration_s: u64,
    #[arg(long, default_value_t = 10_000)]
    pub prisoners: usize,
    /// Rows of the settlement file and card purchases for verify.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: i64,
    /// pgbench's scale (branches); default: the concurrency, so its clients do not queue on
    /// a few branch rows.
    #[arg(long)]
    pub pgbench_scale: Option<u32>,
    /// A smoke run: tiny sizes, one second per phase, the server in this process.
    #[arg(long)]
    pub quick: bool,
    /// Run the server in this process instead of as `saldo serve` (its memory is then this
    /// process's).
    #[arg(long)]
    pub in_process: bool,
    /// The `saldo` binary to run (default: the one next to this binary).
    #[arg(long)]
    pub saldo_bin: Option<PathBuf>,
    /// The server's SALDO_LOG filter.
    #[arg(long, default_value = "info")]
    pub server_log: String,
    /// Connections in the server's database pool (default: the concurrency, as many as the
    /// load generator's).
    #[arg(long)]
    pub server_pool: Option<usize>,
    /// Keep the databases afterwards.
    #[arg(long)]
    pub keep_db: bool,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Milliseconds per measured phase of the load generator, overriding --duration-s (smoke).
    #[arg(skip)]
    pub phase_ms: Option<u64>,
}

impl Options {
    /// The smoke run's options.
    pub fn quick() -> Options {
        let mut options = Options::parse_from(["saldo-bench", "--quick"]);
        options.apply_quick();
        options
    }

    /// The connection levels this run measures, in order.
    pub fn levels(&self) -> Vec<usize> {
        if self.concurrency_sweep.is_empty() {
            vec![self.concurrency.max(1)]
        } else {
            self.concurrency_sweep.iter().map(|&n| n.max(1)).collect()
        }
    }

    fn apply_quick(&mut self) {
        if self.quick {
            self.concurrency = self.concurrency.min(4);
            for level in &mut self.concurrency_sweep {
                *level = (*level).min(4);
            }
            self.duration_s = 1;
            self.phase_ms = Some(300);
            self.prisoners = self.prisoners.min(200);
            self.rows = self.rows.min(2_000);
            self.pgbench_scale = Some(1);
            self.in_process = true;
        }
    }
}

/// The server the harness uses, from the environment (the conventions of the test harness).
pub fn server_config() -> anyhow::Result<tokio_postgres::Config> {
    for variable in ["TEST_DATABASE_URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(variable) {
            return Ok(url.parse()?);
        }
    }
    let mut config = tokio_postgres::Config::new();
    config.host(std::env::var("PGHOST").as_deref().unwrap_or("127.0.0.1"));
    config.port(
        std::env::var("PGPORT")
            .ok()
            .and_then(|port| port.parse().ok())
            .unwrap_or(5432),
    );
    config.user(std::env::var("PGUSER").as_deref().unwrap_or("postgres"));
    if let Ok(password) = std::env::var("PGPASSWORD") {
        config.password(password);
    }
    config.dbname("postgres");
    Ok(config)
}

fn url_of(config: &tokio_postgres::Config, dbname: &str) -> String {
    let env = pgbench::libpq_env(config);
    let get = |key: &str| env.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    let user = get("PGUSER").unwrap_or_else(|| "postgres".into());
    let password = get("PGPASSWORD")
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let host = get("PGHOST").unwrap_or_else(|| "127.0.0.1".into());
    let port = get("PGPORT").unwrap_or_else(|| "5432".into());
    if host.starts_with('/') {
        return format!("postgres://{user}{password}@/{dbname}?host={host}&port={port}");
    }
    format!("postgres://{user}{password}@{host}:{port}/{dbname}")
}

pub(crate) async fn admin_client(
    config: &tokio_postgres::Config,
) -> anyhow::Result<tokio_postgres::Client> {
    let mut admin = config.clone();
    admin.dbname("postgres");
    let (client, connection) = admin.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

pub(crate) fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Runs everything, prints the markdown and writes the reports where asked; a run that fails
/// part way still writes what it measured before the failure (the report names it), then
/// returns the error.
pub async fn run_and_write(options: Options) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let outcome = run_into(options.clone(), &mut report).await;
    if let Err(error) = &outcome {
        report.stopped_by = Some(format!("{error:#}"));
    }
    let markdown = report.to_markdown();
    println!("{markdown}");
    if let Some(path) = &options.json {
        std::fs::write(path, report.to_json())?;
    }
    if let Some(path) = &options.markdown {
        std::fs::write(path, &markdown)?;
    }
    outcome.map(|()| report)
}

pub async fn run(options: Options) -> anyhow::Result<Report> {
    let mut report = Report::default();
    run_into(options, &mut report).await?;
    Ok(report)
}

/// The run, its figures added to `report` as they are measured.
async fn run_into(mut options: Options, report: &mut Report) -> anyhow::Result<()> {
    options.apply_quick();
    report.started_at = load::now_rfc3339();
    report.options = serde_json::to_value(&options)?;
    report.machine.cpus = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);

    // The database: given, or fresh on the local server.
    let run_id = format!(
        "{}_{}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let (config, database_url, created_db) = match &options.database_url {
        Some(url) => {
            let config: tokio_postgres::Config = url.parse()?;
            (config, url.clone(), None)
        }
        None => {
            let server = server_config()?;
            let name = format!("saldo_bench_{run_id}");
            admin_client(&server)
                .await?
                .batch_execute(&format!("create database {name}"))
                .await?;
            let mut config = server.clone();
            config.dbname(&name);
            (config, url_of(&server, &name), Some(name))
        }
    };
    let result = run_on(&options, report, &config, &database_url, &run_id).await;
    if !options.keep_db
        && let Some(name) = created_db
        && let Ok(admin) = admin_client(&config).await
    {
        let _ = admin
            .batch_execute(&format!("drop database if exists {name} with (force)"))
            .await;
    }
    result
}

/// What every level of a run shares.
struct Shared<'a> {
    options: &'a Options,
    config: &'a tokio_postgres::Config,
    database_url: &'a str,
    run_id: &'a str,
    data: &'a data::Dataset,
    pool: &'a deadpool_postgres::Pool,
    binary: Option<PathBuf>,
    duration: Duration,
}

async fn run_on(
    options: &Options,
    report: &mut Report,
    config: &tokio_postgres::Config,
    database_url: &str,
    run_id: &str,
) -> anyhow::Result<()> {
    let levels = options.levels();
    report.levels = levels.clone();
    let most = levels.iter().copied().max().unwrap_or(1);
    let duration = match options.phase_ms {
        Some(ms) => Duration::from_millis(ms.max(1)),
        None => Duration::from_secs(options.duration_s.max(1)),
    };
    let started = Instant::now();
    ledger::db::migrate(config).await?;
    let pool = ledger::db::pool(config.clone(), most + 4)?;
    {
        let client = pool.get().await?;
        for (name, slot) in [
            ("server_version", &mut report.machine.postgres),
            ("synchronous_commit", &mut report.machine.synchronous_commit),
            ("fsync", &mut report.machine.fsync),
            ("shared_buffers", &mut report.machine.shared_buffers),
            ("autovacuum", &mut report.machine.autovacuum),
        ] {
            // With its unit ("128MB"), as the server's configuration names it.
            *slot = client
                .query_one("select current_setting($1)", &[&name])
                .await?
                .get(0);
        }
    }
    report.log(format!("migrated in {} ms", started.elapsed().as_millis()));

    let started = Instant::now();
    let data = data::load(&pool, options.prisoners).await?;
    report.log(format!(
        "loaded {} prisoners (4 sub-accounts, a deposit and a card each) in {} ms",
        options.prisoners,
        started.elapsed().as_millis()
    ));
    let shared = Shared {
        options,
        config,
        database_url,
        run_id,
        data: &data,
        pool: &pool,
        binary: options
            .saldo_bin
            .clone()
            .or_else(server::sibling_saldo_binary),
        duration,
    };
    for &n in &levels {
        let first = report.figures.len();
        let measured = measure_level(&shared, report, n).await;
        for figure in &mut report.figures[first..] {
            figure.concurrency = Some(n);
        }
        measured?;
    }
    measure_batch_jobs(&shared, report).await
}

/// Everything that depends on the number of connections, at `n`: pgbench's baseline, then the
/// server (its pool of `n` unless `--server-pool`) under authorizations, clearings and reads.
async fn measure_level(shared: &Shared<'_>, report: &mut Report, n: usize) -> anyhow::Result<()> {
    let Shared {
        options,
        config,
        database_url,
        run_id,
        data,
        pool,
        duration,
        ..
    } = *shared;
    let binary = &shared.binary;
    report.log(format!("— {n} connections —"));
    // The baseline first, while no server runs: pgbench in its own database.
    let scale = options
        .pgbench_scale
        .unwrap_or_else(|| u32::try_from(n).unwrap_or(32));
    let pgbench_db = format!("saldo_bench_pgbench_{run_id}_{n}");
    let admin = admin_client(config).await?;
    admin
        .batch_execute(&format!("create database {pgbench_db}"))
        .await?;
    let started = Instant::now();
    let init = pgbench::initialise(config, &pgbench_db, scale).await;
    report.log(format!(
        "{} in {} ms",
        init.note,
        started.elapsed().as_millis()
    ));
    // One client: the baseline of the serial path (one request at a time, each its own commit).
    let mut tpcb_cpu = None;
    let (tpcb, select_only, tpcb_serial) = if init.tps_milli.is_some() {
        let cpu_before = cpu::CpuSample::take(None);
        let tpcb = pgbench::run(config, &pgbench_db, n, options.duration_s, "tpcb-like").await;
        // pgbench runs for the whole duration: its transactions are its rate times that.
        tpcb_cpu = cpu_before
            .zip(cpu::CpuSample::take(None))
            .zip(tpcb.tps_milli)
            .and_then(|((before, after), tps_milli)| {
                before.until(&after, tps_milli.saturating_mul(options.duration_s) / 1000)
            });
        let select_only =
            pgbench::run(config, &pgbench_db, n, options.duration_s, "select-only").await;
        let tpcb_serial =
            pgbench::run(config, &pgbench_db, 1, options.duration_s, "tpcb-like").await;
        (tpcb, select_only, tpcb_serial)
    } else {
        (init.clone(), init.clone(), init)
    };
    if !options.keep_db {
        let _ = admin
            .batch_execute(&format!(
                "drop database if exists {pgbench_db} with (force)"
            ))
            .await;
    }
    let tpcb_tps = tpcb.tps_milli.map(|milli| milli / 1000);
    let select_tps = select_only.tps_milli.map(|milli| milli / 1000);
    let baseline_text = |tps: Option<u64>, what: &str| match tps {
        Some(tps) => format!("pgbench {what}: {}/s", report::grouped(tps)),
        None => format!("pgbench {what}: missing"),
    };
    let tpcb_serial_tps = tpcb_serial.tps_milli.map(|milli| milli / 1000);
    let tpcb_baseline = baseline_text(tpcb_tps, "tpcb-like");
    let tpcb_serial_baseline = baseline_text(tpcb_serial_tps, "tpcb-like, 1 client");
    let select_baseline = baseline_text(select_tps, "select-only");
    report.add(
        "baseline_pgbench_tpcb_tps",
        format!("Baseline: pgbench TPC-B-like, scale {scale}, {n} clients"),
        tpcb_tps,
        "per_s",
        "",
        None,
        "",
        tpcb.note.clone(),
    );
    report.add(
        "baseline_pgbench_select_only_tps",
        format!("Baseline: pgbench select-only, scale {scale}, {n} clients"),
        select_tps,
        "per_s",
        "",
        None,
        "",
        select_only.note.clone(),
    );
    report.add(
        "baseline_pgbench_tpcb_1_client_tps",
        format!("Baseline: pgbench TPC-B-like, scale {scale}, 1 client"),
        tpcb_serial_tps,
        "per_s",
        "",
        None,
        "",
        tpcb_serial.note.clone(),
    );
    report.log(format!(
        "{tpcb_baseline} ({}); {select_baseline}; {tpcb_serial_baseline}",
        tpcb.note
    ));

    // The server.
    let secret = WebhookSecret::generate();
    let server_pool_size = options.server_pool.unwrap_or(n).max(1);
    let server = match (binary, options.in_process) {
        (Some(binary), false) => {
            Server::start_child(
                binary,
                database_url,
                &secret,
                server_pool_size,
                &options.server_log,
            )
            .await?
        }
        _ => {
            let server_pool = ledger::db::pool(config.clone(), server_pool_size)?;
            Server::start_in_process(server_pool, &secret).await?
        }
    };
    report.machine.server_mode = if server.is_child() {
        format!(
            "`saldo serve` child process ({}), pool {}, SALDO_LOG={}",
            binary
                .as_ref()
                .map(|b| b.display().to_string())
                .unwrap_or_default(),
            options
                .server_pool
                .map(|size| size.to_string())
                .unwrap_or_else(|| "of the connections".to_owned()),
            options.server_log
        )
    } else {
        format!(
            "in process (saldo::app::serve), pool {}; memory figures are of the whole harness",
            options
                .server_pool
                .map(|size| size.to_string())
                .unwrap_or_else(|| "of the connections".to_owned())
        )
    };
    report.log(format!("server: pool {server_pool_size}"));
    let webhook_url = Arc::new(format!("{}/webhooks/processor", server.base));
    let client = load::http_client(n);
    let secret = Arc::new(secret);
    let mut rss_samples: Vec<u64> = Vec::new();

    // Authorizations through the webhook path, over 10,000 / 100 / 1 cards.
    let authorize = |cards: Arc<Vec<String>>, tag: &str| -> load::Job {
        let client = client.clone();
        let url = webhook_url.clone();
        let secret = secret.clone();
        // Unique in the run: the same cards are authorized again at every level.
        let prefix = Arc::new(format!("{run_id}_{tag}_c{n}"));
        let timestamp = Arc::new(load::now_rfc3339());
        Arc::new(move |task, k| {
            let client = client.clone();
            let url = url.clone();
            let secret = secret.clone();
            let cards = cards.clone();
            let timestamp = timestamp.clone();
            let id = format!("{prefix}_{task}_{k}");
            Box::pin(async move {
                // Task t takes cards t, t+N, t+2N…: with many cards no two requests in flight
                // share one; with few they do, as in a queue at one canteen till.
                let index = usize::try_from(k)
                    .unwrap_or(0)
                    .wrapping_mul(n)
                    .wrapping_add(task)
                    % cards.len();
                let card = &cards[index];
                let authorization_id = format!("auth_{id}");
                let amount = 100 + i64::try_from(k % 400).unwrap_or(0);
                let body = authorization_body(&timestamp, card, &authorization_id, amount);
                let answer =
                    load::send_webhook(&client, &url, &secret, &format!("msg_{id}"), body).await;
                authorization_outcome(answer, authorization_id, card.clone())
            })
        })
    };
    let all_cards = Arc::new(data.cards.clone());
    let hundred = Arc::new(
        data.cards
            .iter()
            .take(data::HOT_CARDS)
            .cloned()
            .collect::<Vec<_>>(),
    );
    let one = Arc::new(data.cards.iter().take(1).cloned().collect::<Vec<_>>());
    // Warm up connections, prepared statements and caches.
    let warm = load::drive(
        n,
        if options.quick {
            duration
        } else {
            Duration::from_secs(3)
        },
        None,
        authorize(all_cards.clone(), "warm"),
    )
    .await;
    report.log(format!("warm-up: {}", warm.summary()));
    let metrics_client = reqwest::Client::new();
    let (auth_all, auth_cost) = cpu::measure_phase(
        &metrics_client,
        &server.base,
        server.pid(),
        "saldo_card_decision_batch_requests",
        load::drive(n, duration, None, authorize(all_cards.clone(), "a10k")),
    )
    .await;
    report.log(format!(
        "authorizations, {} cards: {}",
        all_cards.len(),
        auth_all.summary()
    ));
    rss_samples.extend(server.peak_rss_kib());
    let auth_hundred = load::drive(n, duration, None, authorize(hundred.clone(), "a100")).await;
    report.log(format!(
        "authorizations, {} cards: {}",
        hundred.len(),
        auth_hundred.summary()
    ));
    let auth_one = load::drive(n, duration, None, authorize(one.clone(), "a1")).await;
    report.log(format!("authorizations, 1 card: {}", auth_one.summary()));
    // The same single card, one request at a time: the serial path, every round trip and the
    // commit's flush in turn.
    let auth_serial = load::drive(1, duration, None, authorize(one.clone(), "a1s")).await;
    report.log(format!(
        "authorizations, 1 card, 1 connection: {}",
        auth_serial.summary()
    ));

    let rate_all = auth_all.per_second();
    let errors_all = auth_all.errors + auth_all.declined;
    let vs_pgbench = tpcb_tps.and_then(|tps| ratio_bp(rate_all, tps));
    report.add(
        "auth_10000_cards_per_s",
        format!(
            "1. Authorizations, {} cards, {n} connections: decisions/s",
            all_cards.len()
        ),
        Some(rate_all),
        "per_s",
        "≥ 1.0× pgbench TPC-B",
        vs_pgbench.map(|bp| bp >= 10_000),
        tpcb_baseline.clone(),
        format!(
            "{} approved, {} declined, {} errors",
            auth_all.approved, auth_all.declined, auth_all.errors
        ),
    );
    report.add(
        "auth_10000_cards_vs_pgbench_bp",
        "1. Authorizations ÷ pgbench TPC-B (same run)",
        vs_pgbench,
        "bp",
        "≥ 1.00×",
        vs_pgbench.map(|bp| bp >= 10_000),
        tpcb_baseline.clone(),
        "",
    );
    let latency = |report: &mut Report,
                   id: &'static str,
                   label: String,
                   value: u64,
                   target: &str,
                   meets: Option<bool>| {
        report.add(id, label, Some(value), "us", target, meets, "", "");
    };
    latency(
        report,
        "auth_10000_cards_p50_us",
        "1. Authorizations: p50 latency".into(),
        auth_all.p(50),
        "",
        None,
    );
    latency(
        report,
        "auth_10000_cards_p99_us",
        "1. Authorizations: p99 latency".into(),
        auth_all.p(99),
        "≤ 15 ms",
        Some(auth_all.p(99) <= 15_000),
    );
    latency(
        report,
        "auth_10000_cards_max_us",
        "1. Authorizations: max latency".into(),
        auth_all.max(),
        "< 1.2 s (decision budget)",
        Some(auth_all.max() < 1_200_000),
    );
    report.add(
        "auth_10000_cards_errors",
        "1. Authorizations: errors and declines",
        Some(errors_all),
        "requests",
        "0",
        Some(errors_all == 0),
        "",
        auth_all.first_error.clone().unwrap_or_default(),
    );

    report.add(
        "baseline_pgbench_tpcb_cpu_us",
        "Baseline: pgbench TPC-B-like, CPU per transaction (the whole machine)",
        tpcb_cpu.map(|cpu| cpu.per_op_us),
        "us",
        "",
        None,
        "",
        tpcb_cpu
            .map(|cpu| format!("pgbench's client included; {} % idle", cpu.idle_percent))
            .unwrap_or_default(),
    );
    add_phase_cpu(
        report,
        "auth_10000_cpu_us",
        "1. Authorizations: CPU per decision (the whole machine)",
        auth_cost.cpu,
    );
    let cpu_vs_tpcb = auth_cost
        .cpu
        .zip(tpcb_cpu)
        .and_then(|(auth, tpcb)| ratio_bp(auth.per_op_us, tpcb.per_op_us));
    report.add(
        "auth_10000_cpu_vs_tpcb_bp",
        "1. Authorizations: CPU per decision ÷ CPU per TPC-B transaction (same run)",
        cpu_vs_tpcb,
        "bp",
        "",
        None,
        "",
        "",
    );
    add_batch_mean(
        report,
        "auth_10000_batch_requests_centi",
        "1. Authorizations: requests per decision batch (mean)",
        auth_cost.batch_centi,
        "saldo_card_decision_batch_requests",
    );

    let rate_hundred = auth_hundred.per_second();
    let hundred_vs_all = ratio_bp(rate_hundred, rate_all);
    report.add(
        "auth_100_cards_per_s",
        format!("7. Authorizations, 100 cards, {n} connections: decisions/s"),
        Some(rate_hundred),
        "per_s",
        "",
        None,
        tpcb_baseline.clone(),
        format!(
            "{} errors, {} declined",
            auth_hundred.errors, auth_hundred.declined
        ),
    );
    report.add(
        "auth_100_vs_10000_cards_bp",
        "7. Authorizations: 100 cards ÷ 10,000 cards",
        hundred_vs_all,
        "bp",
        "0.80× to 1.20×",
        hundred_vs_all.map(|bp| (8_000..=12_000).contains(&bp)),
        "",
        "",
    );
    latency(
        report,
        "auth_100_cards_p99_us",
        "7. Authorizations, 100 cards: p99 latency".into(),
        auth_hundred.p(99),
        "≤ 15 ms",
        Some(auth_hundred.p(99) <= 15_000),
    );
    report.add(
        "auth_1_card_per_s",
        format!("7. Authorizations, 1 card, {n} connections: decisions/s"),
        Some(auth_one.per_second()),
        "per_s",
        "",
        None,
        "",
        format!("{} errors, {} declined", auth_one.errors, auth_one.declined),
    );
    latency(
        report,
        "auth_1_card_p99_us",
        "7. Authorizations, 1 card: p99 latency".into(),
        auth_one.p(99),
        "",
        None,
    );
    report.add(
        "auth_1_card_serial_per_s",
        "7. One card, one request at a time (one connection): decisions/s",
        Some(auth_serial.per_second()),
        "per_s",
        "≥ 1,000/s",
        Some(auth_serial.per_second() >= 1_000 && auth_serial.errors == 0),
        tpcb_serial_baseline.clone(),
        format!(
            "p50 {}, p99 {}; {} errors, {} declined",
            display(auth_serial.p(50), "us"),
            display(auth_serial.p(99), "us"),
            auth_serial.errors,
            auth_serial.declined
        ),
    );

    let serial_vs_pgbench = tpcb_serial_tps.and_then(|tps| ratio_bp(auth_serial.per_second(), tps));
    report.add(
        "auth_1_card_serial_vs_pgbench_1_client_bp",
        "7. One card, one request at a time ÷ pgbench TPC-B with 1 client (same run)",
        serial_vs_pgbench,
        "bp",
        "",
        None,
        tpcb_serial_baseline.clone(),
        "one durable commit per request on both sides",
    );

    // Clearings of the approved authorizations, through the webhook path.
    let mut approvals = auth_all.approvals;
    approvals.extend(auth_hundred.approvals);
    let approvals = Arc::new(approvals);
    let per_task = u64::try_from(approvals.len() / n).unwrap_or(0);
    let clearing_job: load::Job = {
        let client = client.clone();
        let url = webhook_url.clone();
        let secret = secret.clone();
        let approvals = approvals.clone();
        let timestamp = Arc::new(load::now_rfc3339());
        let prefix = Arc::new(format!("{run_id}_c{n}"));
        Arc::new(move |task, k| {
            let client = client.clone();
            let url = url.clone();
            let secret = secret.clone();
            let approvals = approvals.clone();
            let timestamp = timestamp.clone();
            let prefix = prefix.clone();
            Box::pin(async move {
                let index = usize::try_from(k).unwrap_or(0) * n + task;
                let Some((authorization_id, card, amount)) = approvals.get(index) else {
                    return Outcome::Error("no authorization left to clear".into());
                };
                let body = clearing_body(
                    &timestamp,
                    &format!("txn_{prefix}_{index}"),
                    authorization_id,
                    card,
                    *amount,
                );
                match load::send_webhook(
                    &client,
                    &url,
                    &secret,
                    &format!("msg_{prefix}_clr_{index}"),
                    body,
                )
                .await
                {
                    Ok((status, _)) if status.is_success() => Outcome::Ok,
                    Ok((status, text)) => Outcome::Error(format!("HTTP {status}: {text}")),
                    Err(error) => Outcome::Error(error),
                }
            })
        })
    };
    let (clearings, clearings_cost) = cpu::measure_phase(
        &metrics_client,
        &server.base,
        server.pid(),
        "saldo_card_clearing_batch_events",
        load::drive(n, duration, Some(per_task), clearing_job),
    )
    .await;
    report.log(format!("clearings: {}", clearings.summary()));
    rss_samples.extend(server.peak_rss_kib());
    let clearing_rate = clearings.per_second();
    let clearings_vs_pgbench = tpcb_tps.and_then(|tps| ratio_bp(clearing_rate, tps));
    let clearings_clean = clearings.errors == 0 && clearings.requests > 0;
    report.add(
        "clearings_per_s",
        format!("2. Clearings through the webhook path, {n} connections: events/s"),
        Some(clearing_rate),
        "per_s",
        "≥ 1.0× pgbench TPC-B, no errors",
        clearings_vs_pgbench.map(|bp| bp >= 10_000 && clearings_clean),
        tpcb_baseline.clone(),
        format!(
            "{} cleared, {} errors{}",
            clearings.ok,
            clearings.errors,
            clearings
                .first_error
                .as_deref()
                .map(|error| format!("; first: {error}"))
                .unwrap_or_default()
        ),
    );
    report.add(
        "clearings_vs_pgbench_bp",
        "2. Clearings ÷ pgbench TPC-B (same run)",
        clearings_vs_pgbench,
        "bp",
        "≥ 1.00×",
        clearings_vs_pgbench.map(|bp| bp >= 10_000),
        tpcb_baseline.clone(),
        "",
    );
    latency(
        report,
        "clearings_p99_us",
        "2. Clearings: p99 latency".into(),
        clearings.p(99),
        "≤ 25 ms",
        Some(clearings.p(99) <= 25_000),
    );
    add_phase_cpu(
        report,
        "clearings_cpu_us",
        "2. Clearings: CPU per clearing (the whole machine)",
        clearings_cost.cpu,
    );
    add_batch_mean(
        report,
        "clearings_batch_events_centi",
        "2. Clearings: clearings per batch (mean)",
        clearings_cost.batch_centi,
        "saldo_card_clearing_batch_events",
    );

    rss_samples.extend(server.peak_rss_kib());
    let server_peak = rss_samples.iter().copied().max();
    let server_is_child = server.is_child();
    // Stopped before the reads, whose pool of `n` would otherwise sit beside the server's.
    server.stop().await;
    report.add(
        "server_peak_rss_kib",
        "8. Server peak resident memory (VmHWM) under load",
        server_peak,
        "kib",
        "≤ 200 MiB",
        server_peak.map(|kib| kib <= 200 * 1024),
        "",
        if server_is_child {
            "of the `saldo serve` process"
        } else {
            "in process: of the whole harness (server and load generator)"
        },
    );

    // Balance reads.
    let (kiosk, kiosk_note) = kiosk_reads(pool, data, n, duration).await?;
    report.log(format!("balance reads: {}", kiosk.summary()));
    report.add(
        "kiosk_reads_per_s",
        format!("4. Balance reads over HTTP, {n} connections: requests/s"),
        Some(kiosk.per_second()),
        "per_s",
        "≥ 5,000/s",
        Some(kiosk.per_second() >= 5_000 && kiosk.errors == 0),
        select_baseline.clone(),
        kiosk_note.clone(),
    );
    latency(
        report,
        "kiosk_reads_p99_us",
        "4. Balance reads: p99 latency".into(),
        kiosk.p(99),
        "≤ 10 ms",
        Some(kiosk.p(99) <= 10_000),
    );
    Ok(())
}

/// The bench's payroll: one wage line per person (1,234 to 2,233 cents), this week, in EUR.
/// A phase's CPU per request, with where it went in the note.
fn add_phase_cpu(report: &mut Report, id: &'static str, label: &str, cpu: Option<cpu::CpuUse>) {
    report.add(
        id,
        label,
        cpu.map(|cpu| cpu.per_op_us),
        "us",
        "",
        None,
        "",
        cpu.map(|cpu| cpu.note()).unwrap_or_default(),
    );
}

/// A phase's mean batch size, from the server's histogram `metric`.
fn add_batch_mean(
    report: &mut Report,
    id: &'static str,
    label: &str,
    centi: Option<u64>,
    metric: &str,
) {
    report.add(
        id,
        label,
        centi,
        "centi",
        "",
        None,
        "",
        format!("from the server's {metric}"),
    );
}

pub fn wage_batch(
    batch_key: String,
    prison_id: uuid::Uuid,
    persons: &[uuid::Uuid],
) -> PayrollBatch {
    let lines = persons
        .iter()
        .zip((0_i64..1_000).cycle())
        .map(|(person_id, cents)| PayrollLine {
            person_id: *person_id,
            amount: Money::new(1_234 + cents, Currency::EUR),
        })
        .collect();
    PayrollBatch {
        batch_key,
        prison_id,
        kind: ledger::income::IncomeKind::Wages,
        effective_date: time::OffsetDateTime::now_utc().date(),
        description: "wages, benchmark week".into(),
        lines,
        posted_by: "bench".into(),
    }
}

/// The figures that do not depend on the connections: the payroll batch, then a million card
/// purchases for `saldo verify` and the settlement file's reconciliation.
async fn measure_batch_jobs(shared: &Shared<'_>, report: &mut Report) -> anyhow::Result<()> {
    let Shared {
        options,
        database_url,
        run_id,
        data,
        pool,
        ..
    } = *shared;
    // Payroll: the controls' own function, one atomic batch.
    let batch = wage_batch(format!("bench-{run_id}"), data.prison_id, &data.persons);
    let line_count = u64::try_from(batch.lines.len()).unwrap_or(0);
    let started = Instant::now();
    let posted = {
        let mut client = pool.get().await?;
        let tx = client.transaction().await?;
        let posted = ledger::payroll::post_payroll(&tx, &batch).await?;
        tx.commit().await?;
        posted
    };
    let payroll_us = micros(started);
    let postings: i64 = pool
        .get()
        .await?
        .query_one(
            "select count(*) from journal_postings p join journal_entry_refs r using (entry_id)
             where r.ref_kind = 'payroll_batch' and r.ref_value = $1",
            &[&batch.batch_key],
        )
        .await?
        .get(0);
    report.log(format!(
        "payroll: {} lines, {postings} postings, posted and committed in {} µs",
        posted.line_count, payroll_us
    ));
    // On the same server: what the three jobs are also reported against, the payroll's part
    // as many rows as it wrote postings.
    let baseline = job_baseline::measure(pool, options.rows, postings).await?;
    baseline.report(report);
    report.add(
        "payroll_10000_ms",
        format!(
            "3. Payroll of {} wage allocations (one batch, one transaction)",
            report::grouped(line_count)
        ),
        Some(payroll_us / 1000),
        "ms",
        "≤ 0.5 s for 10,000",
        Some(payroll_us <= 500_000),
        "",
        format!(
            "ledger::payroll::post_payroll; {postings} postings ({} per entry)",
            postings / i64::try_from(line_count.max(1)).unwrap_or(1)
        ),
    );
    baseline.insert_payroll_rows.add_ratio(
        report,
        "payroll_vs_baseline_bp",
        "3. Payroll ÷ PostgreSQL inserting its postings as plain rows (same run)",
        payroll_us,
    );
    report.add(
        "payroll_entries_per_s",
        "3. Payroll: entries/s",
        Some(per_second(line_count, payroll_us)),
        "per_s",
        "≥ 20,000/s",
        Some(per_second(line_count, payroll_us) >= 20_000),
        "",
        "",
    );

    // A million card purchases: then `saldo verify` and the settlement file over them.
    let date = time::OffsetDateTime::now_utc().date() - time::Duration::days(1);
    let path = std::env::temp_dir().join(format!("saldo-bench-settlement-{run_id}.csv"));
    let started = Instant::now();
    data::card_purchases_and_settlement_file(pool, data, options.rows, date, &path).await?;
    report.log(format!(
        "{} card purchases booked in bulk and their settlement file written in {} ms",
        options.rows,
        started.elapsed().as_millis()
    ));
    let entries: i64 = pool
        .get()
        .await?
        .query_one("select count(*) from journal_entries", &[])
        .await?
        .get(0);
    let started = Instant::now();
    let verified = ledger::Ledger::new(pool.clone()).verify().await?;
    let verify_us = micros(started);
    let violations: i64 = verified.checks.iter().map(|check| check.violations).sum();
    // Name the failing checks, so a red figure says what to look at.
    let failing: Vec<String> = verified
        .checks
        .iter()
        .filter(|check| check.violations > 0)
        .map(|check| format!("{}: {}", check.name, check.violations))
        .collect();
    report.log(format!(
        "verify: {entries} entries in {verify_us} µs, ok: {}",
        verified.is_ok()
    ));
    report.add(
        "verify_ms",
        format!(
            "6. `saldo verify` over {} entries",
            report::grouped(u64::try_from(entries).unwrap_or(0))
        ),
        Some(verify_us / 1000),
        "ms",
        "≤ 5 s for 1,000,000",
        Some(verify_us <= 5_000_000 && verified.is_ok()),
        "",
        format!(
            "ledger::verify; {} ({violations} violations)",
            if verified.is_ok() {
                "all checks pass".to_owned()
            } else {
                format!("CHECKS FAIL [{}]", failing.join(", "))
            }
        ),
    );

    baseline.aggregate.add_ratio(
        report,
        "verify_vs_baseline_bp",
        "6. `saldo verify` ÷ PostgreSQL grouping as many rows (same run)",
        verify_us,
    );

    let (recon_us, recon_peak, recon_note) =
        reconcile(options, pool, &shared.binary, database_url, &path, date).await?;
    let _ = std::fs::remove_file(&path);
    report.log(format!(
        "reconciliation: {} rows in {recon_us} µs, peak {recon_peak:?} KiB; {recon_note}",
        options.rows
    ));
    report.add(
        "recon_settlement_ms",
        format!(
            "5. Reconciliation of {} settlement rows",
            report::grouped(u64::try_from(options.rows).unwrap_or(0))
        ),
        Some(recon_us / 1000),
        "ms",
        "≤ 10 s for 1,000,000",
        Some(recon_us <= 10_000_000),
        "",
        recon_note.clone(),
    );
    baseline.insert_rows.add_ratio(
        report,
        "recon_vs_baseline_bp",
        "5. Reconciliation ÷ PostgreSQL inserting as many rows (same run)",
        recon_us,
    );
    report.add(
        "recon_peak_rss_kib",
        "5. Reconciliation: peak resident memory",
        recon_peak,
        "kib",
        "≤ 300 MiB",
        recon_peak.map(|kib| kib <= 300 * 1024),
        "",
        "",
    );
    Ok(())
}

/// Balance reads. The kiosk page itself needs a registered kiosk device, a prisoner in the
/// identity store and a PIN session; what is measured here is the read underneath it: HTTP GET
/// → `ledger::Ledger::balance` (one indexed query on ledger_accounts ⋈ account_balances) →
/// JSON, served by axum from this process with a pool of N connections.
async fn kiosk_reads(
    pool: &deadpool_postgres::Pool,
    data: &data::Dataset,
    n: usize,
    duration: Duration,
) -> anyhow::Result<(load::LoadResult, String)> {
    use axum::extract::{Path, State};
    use axum::response::IntoResponse;

    async fn balance(
        State(ledger): State<ledger::Ledger>,
        Path(account_id): Path<uuid::Uuid>,
    ) -> axum::response::Response {
        match ledger.balance(account_id).await {
            Ok(balance) => axum::Json(balance).into_response(),
            Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    let app = axum::Router::new()
        .route("/balance/{account_id}", axum::routing::get(balance))
        .with_state(ledger::Ledger::new(pool.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = Arc::new(format!("http://{}", listener.local_addr()?));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = load::http_client(n);
    let accounts = Arc::new(data.spendable.clone());
    let job: load::Job = Arc::new(move |task, k| {
        let client = client.clone();
        let base = base.clone();
        let accounts = accounts.clone();
        Box::pin(async move {
            let index = (usize::try_from(k).unwrap_or(0) * 7919 + task * 104_729) % accounts.len();
            match client
                .get(format!("{base}/balance/{}", accounts[index]))
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(_) => Outcome::Ok,
                    Err(error) => Outcome::Error(error.to_string()),
                },
                Ok(response) => Outcome::Error(format!("HTTP {}", response.status())),
                Err(error) => Outcome::Error(error.to_string()),
            }
        })
    });
    let result = load::drive(n, duration, None, job).await;
    server.abort();
    Ok((
        result,
        "GET → ledger::Ledger::balance → JSON (the read under the kiosk page; not the kiosk's \
         session, identity and access-log work)"
            .to_owned(),
    ))
}

/// `saldo reconcile settlement FILE --date D` as a child process (its own peak memory), or
/// `recon::import_settlement` in this process.
async fn reconcile(
    options: &Options,
    pool: &deadpool_postgres::Pool,
    binary: &Option<PathBuf>,
    database_url: &str,
    path: &std::path::Path,
    date: time::Date,
) -> anyhow::Result<(u64, Option<u64>, String)> {
    let started = Instant::now();
    match (binary, options.in_process) {
        (Some(binary), false) => {
            let mut child = tokio::process::Command::new(binary)
                .arg("reconcile")
                .arg("settlement")
                .arg(path)
                .arg("--date")
                .arg(date.to_string())
                .env("DATABASE_URL", database_url)
                .env("SALDO_LOG", "warn")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()?;
            let pid = child.id();
            let mut peak: Option<u64> = None;
            let status = loop {
                if let Some(kib) = server::proc_status_kib(pid, "VmHWM:") {
                    peak = Some(peak.unwrap_or(0).max(kib));
                }
                tokio::select! {
                    status = child.wait() => break status?,
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            };
            let elapsed = micros(started);
            let mut stdout = String::new();
            if let Some(mut out) = child.stdout.take() {
                use tokio::io::AsyncReadExt;
                let _ = out.read_to_string(&mut stdout).await;
            }
            if !status.success() {
                anyhow::bail!("saldo reconcile settlement failed ({status}): {stdout}");
            }
            Ok((
                elapsed,
                peak,
                format!(
                    "`saldo reconcile settlement` child process (peak sampled every 20 ms): {}",
                    stdout.lines().next().unwrap_or("")
                ),
            ))
        }
        _ => {
            let before = server::proc_status_kib(None, "VmHWM:");
            let reader = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(path)?);
            let outcome =
                recon::import_settlement(pool, reader, &recon::ImportOptions::new("bench"))
                    .await
                    .map_err(|error| anyhow::anyhow!("reconciliation failed: {error}"))?;
            let elapsed = micros(started);
            let matched = match outcome {
                recon::ImportOutcome::Imported(summary) => summary.matched_count,
                recon::ImportOutcome::AlreadyImported { .. } => 0,
            };
            Ok((
                elapsed,
                server::proc_status_kib(None, "VmHWM:"),
                format!(
                    "in process (peak of the whole harness, {} KiB before): {matched} matched",
                    before.unwrap_or(0)
                ),
            ))
        }
    }
}
