//! Tamper evidence and amount bounds (issue #21, points 4, 5, 8 and 9): what an account is and
//! whose it is, sealed; the access log pruned only by the retention run; a clearing or refund of
//! nothing acknowledged; amounts beyond the currency's bound never booked.
use std::process::ExitCode;

use clap::Parser;
use processor_protocol::signature::WebhookSecret;
use saldo_tests::TestDb;
use serde_json::{Value, json};

use crate::card_booking::CardBooks;
use crate::card_webhook::WebhookApp;
use crate::fixtures::Books;

/// The bound on one amount in euros (`ledger::Currency::max_amount_minor`): 1,000,000.00.
const MAX_EUR_MINOR: i64 = 100_000_000;

/// Runs the `saldo` command line, in process, on the test's database.
async fn saldo(db: &TestDb, args: &[&str]) -> ExitCode {
    let cli = saldo::cli::Cli::parse_from(
        ["saldo", "--database-url", &db.url()]
            .iter()
            .chain(args)
            .map(|s| s.to_string()),
    );
    saldo::cli::run(cli).await.unwrap()
}

/// The names of the `saldo verify` checks that fail.
async fn failing_checks(db: &TestDb) -> Vec<String> {
    let mut report = db.ledger().verify().await.unwrap();
    let client = db.pool.get().await.unwrap();
    report.checks.push(
        saldo::identity::log_seal::verify_with(
            &client,
            &saldo::identity::retention::RetentionPolicy::default(),
        )
        .await
        .unwrap(),
    );
    report
        .checks
        .iter()
        .filter(|check| check.violations > 0)
        .map(|check| check.name.to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 4. What an account is and whose it is

#[tokio::test]
async fn swapping_two_prisoners_spendable_accounts_is_found_by_verify() {
    let db = TestDb::new().await;
    let rich = Books::open(&db).await;
    rich.deposit(99_900).await;
    let poor = Books::open(&db).await;
    poor.deposit(100).await;
    assert_eq!(
        saldo(&db, &["checkpoints", "seal"]).await,
        ExitCode::SUCCESS
    );
    assert_eq!(
        saldo(&db, &["verify"]).await,
        ExitCode::SUCCESS,
        "untouched"
    );
    let export = std::env::temp_dir().join(format!("accounts-{}.json", uuid::Uuid::new_v4()));
    let file = export.display().to_string();
    assert_eq!(
        saldo(&db, &["checkpoints", "export", "--out", &file]).await,
        ExitCode::SUCCESS
    );
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(
        exported["accounts"].as_array().map(Vec::len),
        Some(1),
        "the account chain is exported"
    );

    // A superuser with the triggers off swaps owner and code: each prisoner gets the other's money.
    let raw = db.raw_client().await;
    raw.batch_execute(&format!(
        "set session_replication_role = replica;
         create temp table swap as select id, code, person_id from ledger_accounts
             where id in ('{rich}', '{poor}');
         update ledger_accounts set code = 'swapping:' || id where id in ('{rich}', '{poor}');
         update ledger_accounts a set code = s.code, person_id = s.person_id from swap s
             where s.id <> a.id and a.id in ('{rich}', '{poor}');
         set session_replication_role = origin;",
        rich = rich.spendable,
        poor = poor.spendable
    ))
    .await
    .unwrap();
    let owner: uuid::Uuid = raw
        .query_one(
            "select person_id from ledger_accounts where id = $1",
            &[&rich.spendable],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, poor.person_id, "the tamper took");

    assert_eq!(
        saldo(&db, &["verify"]).await,
        ExitCode::from(2),
        "saldo verify must fail on swapped owners"
    );
    assert_eq!(
        failing_checks(&db).await,
        vec!["accounts_sealed".to_owned()]
    );
    assert_eq!(
        saldo(&db, &["checkpoints", "check-export", &file]).await,
        ExitCode::from(2),
        "an auditor running check-export alone is told too"
    );
    let _ = std::fs::remove_file(&export);
}

// ---------------------------------------------------------------------------------------------
// 5. The access log is pruned only by the retention run

/// Writes `count` access-log rows logged `age` ago (as the identity store would have, at that
/// time): as a superuser with the triggers off, since the database dates every row itself.
async fn log_rows(db: &TestDb, count: i64, age: &str) {
    let raw = db.raw_client().await;
    raw.batch_execute("set session_replication_role = replica")
        .await
        .unwrap();
    raw.execute(
        "insert into audit.access_log (logged_at, actor_kind, action, subject_kind, fields,
                                           purpose, outcome)
             select now() - $2::text::interval, 'system', 'consult', 'prisoner', '{}',
                    'case_management', 'ok'
             from generate_series(1, $1::bigint)",
        &[&count, &age],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn pruning_fresh_access_log_rows_outside_the_retention_run_is_refused_and_found() {
    let db = TestDb::new().await;
    log_rows(&db, 3, "5 minutes").await;
    assert_eq!(
        saldo(&db, &["checkpoints", "seal"]).await,
        ExitCode::SUCCESS
    );
    assert_eq!(
        saldo(&db, &["verify"]).await,
        ExitCode::SUCCESS,
        "untouched"
    );

    // The harness has no separate application role: this is `postgres` *without* replica mode,
    // so every trigger applies exactly as it does to the role the application runs as.
    let mut app = db.raw_client().await;
    let prune_alone =
        "insert into audit.log_checkpoint_prunes (n, run_id) values (1, gen_random_uuid());
                       delete from audit.access_log where id between 1 and 3;";
    let tx = app.transaction().await.unwrap();
    let refused = tx.batch_execute(prune_alone).await;
    assert!(
        refused.is_err(),
        "a prune with no retention run behind it is refused"
    );
    drop(tx);
    // Mimicking the retention run with a period the configuration does not have: refused too.
    for period in ["P0M0D", "P0M1D", "P60M0D"] {
        let tx = app.transaction().await.unwrap();
        let forged = tx
            .batch_execute(&format!(
                "insert into audit.retention_log (run_id, category, outcome, detail)
                 values ('00000000-0000-7000-8000-000000000001', 'access_log', 'pruned',
                         '{{\"period\": \"{period}\", \"checkpoint\": 1, \"rows\": 3}}');
                 insert into audit.log_checkpoint_prunes (n, run_id)
                 values (1, '00000000-0000-7000-8000-000000000001');
                 delete from audit.access_log where id between 1 and 3;"
            ))
            .await;
        assert!(
            forged.is_err(),
            "a prune of minutes-old rows claiming {period} is refused"
        );
        drop(tx);
    }
    let rows: i64 = app
        .query_one("select count(*) from audit.access_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 3, "nothing was deleted");
    // Nor can the role make fresh rows look old: the database dates a row and a checkpoint itself.
    let backdated: time::OffsetDateTime = app
        .query_one(
            "insert into audit.access_log (logged_at, actor_kind, action, subject_kind, fields,
                                           purpose, outcome)
             values ('2001-01-01Z', 'system', 'consult', 'prisoner', '{}', 'case_management', 'ok')
             returning logged_at",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        backdated > time::OffsetDateTime::now_utc() - time::Duration::hours(1),
        "a row is dated when it is logged"
    );
    let checkpoint_time: time::OffsetDateTime = app
        .query_one(
            "insert into audit.log_checkpoints (n, first_id, last_id, rows, last_logged_at,
                                                range_sha256, checkpoint_sha256, previous_sha256)
             select 2, 4, 4, 1, '2001-01-01Z', sha256('r'), sha256('c'), checkpoint_sha256
             from audit.log_checkpoints where n = 1
             returning last_logged_at",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        checkpoint_time, backdated,
        "a checkpoint's time is its latest row's"
    );

    // A superuser who bypasses the triggers gets the prune in, and verify says so.
    app.batch_execute(&format!(
        "set session_replication_role = replica;
         {prune_alone}
         set session_replication_role = origin;"
    ))
    .await
    .unwrap();
    assert_eq!(
        saldo(&db, &["verify"]).await,
        ExitCode::from(2),
        "a prune with no retention-log record, of rows minutes old, fails verify"
    );
    let client = db.pool.get().await.unwrap();
    let check = saldo::identity::log_seal::verify_with(
        &client,
        &saldo::identity::retention::RetentionPolicy::default(),
    )
    .await
    .unwrap();
    let examples = check.examples.join("\n");
    assert!(
        examples.contains("no retention-log record") && examples.contains("retention period"),
        "{examples}"
    );
}

#[tokio::test]
async fn a_prune_claiming_a_shorter_period_than_configured_is_reported_by_verify() {
    let db = TestDb::new().await;
    log_rows(&db, 2, "2 years").await;
    assert_eq!(
        saldo(&db, &["checkpoints", "seal"]).await,
        ExitCode::SUCCESS
    );
    // As the application's role: a retention record claiming 1 year, the least the database
    // takes, for rows two years old: the database cannot know the configured period (5 years).
    db.raw_client()
        .await
        .batch_execute(
            "begin;
             insert into audit.retention_log (run_id, category, outcome, detail)
             values ('00000000-0000-7000-8000-000000000002', 'access_log', 'pruned',
                     '{\"period\": \"P12M0D\", \"checkpoint\": 1, \"rows\": 2}');
             insert into audit.log_checkpoint_prunes (n, run_id)
             values (1, '00000000-0000-7000-8000-000000000002');
             delete from audit.access_log where id between 1 and 2;
             commit;",
        )
        .await
        .unwrap();
    assert_eq!(saldo(&db, &["verify"]).await, ExitCode::from(2));
    let client = db.pool.get().await.unwrap();
    let check = saldo::identity::log_seal::verify_with(
        &client,
        &saldo::identity::retention::RetentionPolicy::default(),
    )
    .await
    .unwrap();
    assert_eq!(check.violations, 1, "{:?}", check.examples);
    assert!(
        check.examples[0].contains("within the retention period (P60M0D)"),
        "{:?}",
        check.examples
    );
}

#[tokio::test]
async fn the_retention_run_prunes_old_access_log_rows_and_verify_stays_green() {
    let db = TestDb::new().await;
    log_rows(&db, 4, "6 years").await;
    assert_eq!(
        saldo(&db, &["checkpoints", "seal"]).await,
        ExitCode::SUCCESS
    );
    log_rows(&db, 2, "1 minute").await;
    let report = saldo::identity::retention::run(
        &db.pool,
        &Default::default(),
        time::OffsetDateTime::now_utc(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(report.access_log_checkpoints, vec![(1, 4)]);
    let raw = db.raw_client().await;
    let left: i64 = raw
        .query_one("select count(*) from audit.access_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 2, "only the old checkpoint's rows are gone");
    let recorded: i64 = raw
        .query_one(
            "select count(*) from audit.retention_log r join audit.log_checkpoint_prunes p
                 on p.run_id = r.run_id and r.detail->>'checkpoint' = p.n::text
             where r.category = 'access_log' and r.outcome = 'pruned'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 1, "the prune is on the retention log");
    assert_eq!(saldo(&db, &["verify"]).await, ExitCode::SUCCESS);

    // A prune dated in the future would pass any period: the database dates it itself.
    let pruned_at: time::OffsetDateTime = raw
        .query_one("select pruned_at from audit.log_checkpoint_prunes", &[])
        .await
        .unwrap()
        .get(0);
    assert!(pruned_at <= time::OffsetDateTime::now_utc());
}

// ---------------------------------------------------------------------------------------------
// 8 and 9: processor events over signed webhooks

fn event(event_type: &str, data: Value) -> String {
    json!({"type": event_type, "timestamp": "2026-11-26T10:15:02Z", "data": data}).to_string()
}

fn merchant() -> Value {
    json!({"id": "m_canteen", "name": "CANTEEN", "mcc": "5411", "city": "HAMEENLINNA", "country": "FI"})
}

fn clearing(card: &CardBooks, txn: &str, auth: Option<&str>, amount: i64, last: bool) -> String {
    event(
        "transaction.clearing",
        json!({"transaction_id": txn, "authorization_id": auth, "card_id": card.card_id,
               "amount": amount, "currency": "EUR", "merchant": merchant(),
               "cleared_at": "2026-11-26T12:00:00Z", "final": last}),
    )
}

fn refund(card: &CardBooks, txn: &str, amount: i64) -> String {
    event(
        "transaction.refund",
        json!({"transaction_id": txn, "original_transaction_id": null, "card_id": card.card_id,
               "amount": amount, "currency": "EUR", "merchant": merchant(),
               "cleared_at": "2026-11-26T12:00:00Z"}),
    )
}

async fn inbox(db: &TestDb, webhook_id: &str) -> (String, Option<String>) {
    let row = db
        .raw_client()
        .await
        .query_one(
            "select outcome, detail from card.inbox where webhook_id = $1",
            &[&webhook_id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn entries(db: &TestDb) -> i64 {
    db.raw_client()
        .await
        .query_one("select count(*) from journal_entries", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_clearing_or_refund_of_nothing_is_acknowledged_and_kept_for_staff() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 99_900).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let before = entries(&db).await;
    let zero_force_post = clearing(&card, "txn_zero_1", None, 0, true);
    let zero_refund = refund(&card, "txn_zero_2", 0);
    for (webhook_id, body) in [("msg_z1", &zero_force_post), ("msg_z2", &zero_refund)] {
        let response = app.send_signed(webhook_id, body).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        assert_eq!(
            inbox(&db, webhook_id).await,
            ("rejected".to_owned(), Some("zero_amount".to_owned()))
        );
    }
    // Delivered again: still acknowledged, nothing more.
    assert_eq!(
        app.send_signed("msg_z1", &zero_force_post).await.status(),
        200
    );
    assert_eq!(entries(&db).await, before, "nothing booked");
    assert_eq!(card.state().await, (99_900, 0, 0));

    // A final clearing of nothing on an authorization frees what it held, as any final one does.
    let request = crate::card_webhook::authorization_request(&card.card_id, "auth_z", 2_500);
    assert_eq!(app.send_signed("msg_z3", &request).await.status(), 200);
    assert_eq!(card.state().await, (99_900, 2_500, 0));
    let final_zero = clearing(&card, "txn_zero_3", Some("auth_z"), 0, true);
    assert_eq!(app.send_signed("msg_z4", &final_zero).await.status(), 200);
    assert_eq!(inbox(&db, "msg_z4").await.0, "applied");
    assert_eq!(card.state().await, (99_900, 0, 0), "the hold is released");
    assert_eq!(saldo(&db, &["verify"]).await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn an_absurd_amount_from_the_processor_is_parked_for_staff_never_booked() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 99_900).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let before = entries(&db).await;
    let max = MAX_EUR_MINOR;
    let absurd = [
        (
            "msg_a1",
            clearing(&card, "txn_absurd_1", None, i64::MAX, true),
        ),
        (
            "msg_a2",
            clearing(&card, "txn_absurd_2", None, i64::MAX, true),
        ),
        (
            "msg_a3",
            clearing(&card, "txn_absurd_3", None, max + 1, true),
        ),
        ("msg_a4", refund(&card, "txn_absurd_4", i64::MAX)),
    ];
    for (webhook_id, body) in &absurd {
        let response = app.send_signed(webhook_id, body).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        assert_eq!(
            inbox(&db, webhook_id).await,
            (
                "rejected".to_owned(),
                Some("amount_beyond_bound".to_owned())
            ),
            "kept in the inbox for staff"
        );
    }
    assert_eq!(entries(&db).await, before, "nothing booked");
    assert_eq!(card.state().await, (99_900, 0, 0));

    // At the bound itself a force post is booked (flagged, beyond the balance).
    let at_bound = clearing(&card, "txn_bound", None, max, true);
    assert_eq!(app.send_signed("msg_a5", &at_bound).await.status(), 200);
    assert_eq!(inbox(&db, "msg_a5").await.0, "applied");
    assert_eq!(card.state().await, (99_900 - max, 0, max));
    assert_eq!(saldo(&db, &["verify"]).await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn staff_see_the_parked_events_with_why_and_never_the_merchant() {
    use crate::api_support::World;
    use saldo::auth::Role;
    let world = World::new().await;
    let finance = world
        .staff("parked.finance", &[Role::Finance], world.prison_a)
        .await;
    let officer = world
        .staff("parked.officer", &[Role::Officer], world.prison_a)
        .await;
    let card = CardBooks::open(&world.db, 99_900).await;
    let app = WebhookApp::spawn(&world.db, vec![WebhookSecret::generate()]).await;
    let absurd = clearing(&card, "txn_parked_1", None, i64::MAX, true);
    assert_eq!(app.send_signed("msg_p1", &absurd).await.status(), 200);
    let nothing = refund(&card, "txn_parked_2", 0);
    assert_eq!(app.send_signed("msg_p2", &nothing).await.status(), 200);
    let booked = clearing(&card, "txn_booked", None, 100, true);
    assert_eq!(app.send_signed("msg_p3", &booked).await.status(), 200);

    let url = world.url("/api/staff/processor-events/parked");
    let response = world
        .http
        .get(&url)
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("CANTEEN"),
        "the merchant is not shown: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    let parked = body["parked_events"].as_array().unwrap();
    let by_id = |id: &str| {
        parked
            .iter()
            .find(|event| event["webhook_id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(parked.len(), 2, "only what was not booked: {text}");
    let first = by_id("msg_p1");
    assert_eq!(first["detail"], "amount_beyond_bound");
    assert_eq!(first["transaction_id"], "txn_parked_1");
    assert_eq!(first["card_id"], json!(card.card_id));
    assert_eq!(first["amount_minor"], json!(i64::MAX));
    assert_eq!(first["currency"], "EUR");
    assert_eq!(by_id("msg_p2")["detail"], "zero_amount");

    let officer_try = world
        .http
        .get(&url)
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(officer_try.status(), 403);
    let bad_limit = world
        .http
        .get(format!("{url}?limit=0"))
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_limit.status(), 400);
}

#[tokio::test]
async fn every_amount_entering_the_books_is_bounded_per_currency() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let max = MAX_EUR_MINOR;
    let error = books
        .ledger
        .post_entry(&books.deposit_draft(max + 1))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "amount_beyond_bound");
    let mut hold = books.hold_command(max + 1);
    hold.overdraft = ledger::Overdraft::AllowAndFlag;
    assert_eq!(
        books.ledger.place_hold(&hold).await.unwrap_err().code(),
        "amount_beyond_bound"
    );
    assert_eq!(entries(&db).await, 0, "nothing written");
    books.deposit(max).await;
    assert_eq!(books.available().await, max, "the bound itself is taken");
}

#[tokio::test]
async fn a_deposit_beyond_the_bound_gets_a_problem_and_changes_nothing() {
    use crate::api_support::World;
    use saldo::auth::Role;
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "A-9").await;
    let before = entries(&world.db).await;
    let response = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits")))
        .bearer_auth(&finance.token)
        .json(
            &json!({"idempotency_key": "big", "source": "cash_at_intake",
                      "amount_minor": MAX_EUR_MINOR + 1, "currency": "EUR"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "amount_beyond_bound", "{problem}");
    assert_eq!(entries(&world.db).await, before);
}

#[tokio::test]
async fn verify_flags_a_balance_beyond_any_plausible_bound() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 99_900).await;
    let spendable = card.books.spendable;
    let settlement = card.books.settlement;
    assert_eq!(saldo(&db, &["verify"]).await, ExitCode::SUCCESS);
    // What the unbounded code booked: a flagged force post of i64::MAX, with its balance row.
    db.raw_client()
        .await
        .batch_execute(&format!(
            "set session_replication_role = replica;
             insert into journal_entries (id, effective_date, description, overdraft_flagged)
                 values ('00000000-0000-7000-8000-00000000000a', current_date, 'card purchase (force post)', true);
             insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
                 select '00000000-0000-7000-8000-00000000000a', a, 'EUR', m, recorded_at
                 from journal_entries, (values ('{spendable}'::uuid, {max}::bigint), ('{settlement}'::uuid, -{max}::bigint)) v(a, m)
                 where id = '00000000-0000-7000-8000-00000000000a';
             update account_balances set posted_minor = posted_minor - {max} where account_id = '{spendable}';
             update account_balances set posted_minor = posted_minor + {max} where account_id = '{settlement}';
             set session_replication_role = origin;",
            max = i64::MAX
        ))
        .await
        .unwrap();
    assert_eq!(saldo(&db, &["verify"]).await, ExitCode::from(2));
    let failing = failing_checks(&db).await;
    assert!(
        failing.contains(&"amounts_bounded".to_owned())
            && failing.contains(&"balances_plausible".to_owned()),
        "{failing:?}"
    );
}
