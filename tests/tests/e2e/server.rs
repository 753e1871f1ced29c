//! The `saldo` binary's library: migrations, verify, and the HTTP server's basics.
use saldo_tests::TestDb;

use crate::fixtures::*;

#[tokio::test]
async fn migrations_are_safe_to_run_twice_and_from_two_processes_at_once() {
    let db = TestDb::empty().await;
    let (first, second) = tokio::join!(
        ledger::db::migrate(&db.config),
        ledger::db::migrate(&db.config)
    );
    let applied = first.unwrap().applied.len() + second.unwrap().applied.len();
    assert_eq!(
        applied,
        ledger::db::embedded_migrations().len(),
        "each migration applied exactly once"
    );
    assert!(
        ledger::db::migrate(&db.config)
            .await
            .unwrap()
            .applied
            .is_empty()
    );
    let client = db.pool.get().await.unwrap();
    assert!(ledger::db::migrations_current(&client).await.unwrap());
}

async fn spawn_app(db: &TestDb) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let state = saldo::state::AppState::new(db.pool.clone());
    tokio::spawn(saldo::app::serve(state, listener));
    format!("http://{address}")
}

#[tokio::test]
async fn health_and_ready_answer_when_the_database_is_current() {
    let db = TestDb::new().await;
    let base = spawn_app(&db).await;
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn ready_says_no_while_migrations_are_pending() {
    let db = TestDb::empty().await;
    let base = spawn_app(&db).await;
    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let problem: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(problem["code"], "migrations_pending");
}

#[tokio::test]
async fn unknown_routes_get_a_problem_json_404() {
    let db = TestDb::new().await;
    let base = spawn_app(&db).await;
    let response = reqwest::get(format!("{base}/no/such/route")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "not_found");
    assert_eq!(problem["status"], 404);
}

/// `saldo verify` on thousands of entries: OK and exit 0; after a superuser alters a posting
/// behind the ledger's back: the violation is reported and the exit code is not 0.
#[tokio::test]
async fn saldo_verify_passes_on_thousands_of_entries_and_fails_after_tampering() {
    use clap::Parser;
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    // Thousands of entries, written in one statement-heavy loop over a few connections.
    let ledger = books.ledger.clone();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let ledger = ledger.clone();
        let (bank, spendable, settlement) = (books.bank, books.spendable, books.settlement);
        tasks.push(tokio::spawn(async move {
            for i in 0..500i64 {
                ledger
                    .post_entry(&deposit_draft(bank, spendable, 100 + i + worker))
                    .await
                    .unwrap();
                if i % 5 == 0 {
                    let spend = ledger::EntryDraft {
                        postings: vec![
                            ledger::PostingDraft::debit(spendable, eur(50)),
                            ledger::PostingDraft::credit(settlement, eur(50)).unwrap(),
                        ],
                        ..deposit_draft(bank, spendable, 1)
                    };
                    ledger.post_entry(&spend).await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let verify = |url: String| async move {
        let cli = saldo::cli::Cli::parse_from(["saldo", "--database-url", &url, "verify"]);
        format!("{:?}", saldo::cli::run(cli).await.unwrap())
    };
    let report = books.ledger.verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
    assert!(report.entries >= 2_000);
    assert_eq!(
        verify(db.url()).await,
        format!("{:?}", std::process::ExitCode::SUCCESS)
    );

    db.raw_client()
        .await
        .batch_execute(
            "alter table journal_postings disable trigger user;
             update journal_postings set amount_minor = amount_minor + 1
             where id = (select max(id) from journal_postings);
             alter table journal_postings enable trigger user;",
        )
        .await
        .unwrap();
    let report = books.ledger.verify().await.unwrap();
    assert!(!report.is_ok());
    assert!(report.to_string().contains("VIOLATIONS FOUND"));
    assert_eq!(
        verify(db.url()).await,
        format!("{:?}", std::process::ExitCode::from(2))
    );
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_format_with_request_counts() {
    let db = TestDb::new().await;
    let base = spawn_app(&db).await;
    reqwest::get(format!("{base}/health")).await.unwrap();
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("saldo_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/health\""), "{text}");
    assert!(text.contains("saldo_db_pool_connections"), "{text}");
    assert!(text.contains("saldo_outbox_pending"), "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("saldo_outbox_in_flight ")),
        "{text}"
    );
}
