//! `saldo-chaos` against a real server and database: a clean run audits green, and the audit
//! catches an acknowledged message the database does not have (a loss) and an answer that
//! changed. The scripts under scripts/reliability/ rely on exactly this.
use clap::Parser;
use processor_protocol::signature::WebhookSecret;
use saldo_bench::chaos::record::{self, Line, Recorder};
use saldo_bench::chaos::{Cli, run};
use tokio_postgres::NoTls;

/// A fresh database on the test server: its URL and a way to drop it.
async fn fresh_database() -> (String, tokio_postgres::Client, String) {
    let base = std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let (prefix, _) = base.rsplit_once('/').expect("a URL with a database name");
    let name = format!("saldo_test_chaos_{}", uuid::Uuid::new_v4().simple());
    let (admin, connection) = base
        .parse::<tokio_postgres::Config>()
        .unwrap()
        .connect(NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin
        .batch_execute(&format!("create database {name}"))
        .await
        .unwrap();
    (format!("{prefix}/{name}"), admin, name)
}

async fn chaos(args: &[&str]) -> bool {
    let mut argv = vec!["saldo-chaos"];
    argv.extend_from_slice(args);
    run(Cli::parse_from(argv)).await.expect("saldo-chaos runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_passes_a_clean_run_and_catches_a_loss_and_a_changed_answer() {
    let (database_url, admin, name) = fresh_database().await;
    assert!(chaos(&["seed", "--database-url", &database_url, "--prisoners", "20"]).await);
    let secret = WebhookSecret::generate();
    let config: tokio_postgres::Config = database_url.parse().unwrap();
    let pool = ledger::db::pool(config, 8).unwrap();
    let server = saldo_bench::server::Server::start_in_process(pool, &secret)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("saldo-chaos-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let record_path = dir.join("record.jsonl");
    let record = record_path.to_str().unwrap();
    let whsec = secret.to_whsec();
    let target = [
        "--url",
        server.base.as_str(),
        "--webhook-secret",
        whsec.as_str(),
    ];

    let mut load = vec!["load", "--database-url", &database_url, "--record", record];
    load.extend_from_slice(&target);
    load.extend_from_slice(&["--concurrency", "4", "--duration-s", "1", "--cards", "20"]);
    assert!(chaos(&load).await);
    let mut redeliver = vec!["redeliver", "--record", record, "--share-percent", "50"];
    redeliver.extend_from_slice(&target);
    assert!(chaos(&redeliver).await);
    let audit = ["audit", "--database-url", &database_url, "--record", record];
    assert!(chaos(&audit).await, "a clean run audits green");

    let lines = record::read(&record_path).unwrap();
    let approved = record::deliveries(&lines)
        .find(|d| {
            d.acked
                && d.answer
                    .as_ref()
                    .is_some_and(|a| a["decision"] == "APPROVE")
        })
        .expect("an approval")
        .clone();
    let recorder = Recorder::open(&record_path, false).unwrap();

    // A loss: an approval acknowledged that Saldo never saw.
    let mut lost = approved.clone();
    lost.event_id = "msg_never_sent_req".into();
    lost.authorization_id = "auth_never_sent".into();
    recorder.write(&Line::Delivery(lost)).unwrap();
    assert!(!chaos(&audit).await, "the audit misses a lost approval");

    // A changed answer: the same message acknowledged with another answer.
    let lines: Vec<Line> = record::read(&record_path)
        .unwrap()
        .into_iter()
        .filter(|line| !matches!(line, Line::Delivery(d) if d.event_id == "msg_never_sent_req"))
        .collect();
    let clean = dir.join("clean.jsonl");
    let rewriter = Recorder::open(&clean, false).unwrap();
    for line in &lines {
        rewriter.write(line).unwrap();
    }
    let clean_audit = [
        "audit",
        "--database-url",
        &database_url,
        "--record",
        clean.to_str().unwrap(),
    ];
    assert!(
        chaos(&clean_audit).await,
        "the rewritten record audits green"
    );
    let mut changed = approved;
    changed.redelivery = true;
    changed.answer = Some(serde_json::json!({"decision": "DECLINE", "decline_reason": "OTHER"}));
    rewriter.write(&Line::Delivery(changed)).unwrap();
    assert!(
        !chaos(&clean_audit).await,
        "the audit misses a changed answer"
    );

    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    let _ = admin
        .batch_execute(&format!("drop database if exists {name} with (force)"))
        .await;
}
