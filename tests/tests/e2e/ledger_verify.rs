use saldo_tests::TestDb;

use crate::fixtures::*;

/// A deposit of 1,000, and a hold of 300 of which 100 was captured.
async fn deposit_and_capture(books: &Books) {
    books.deposit(1_000).await;
    let hold = books
        .ledger
        .place_hold(&books.hold_command(300))
        .await
        .unwrap();
    books
        .ledger
        .capture_hold(&books.capture_command(hold.id, 100, false))
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_reports_ok_on_a_consistent_ledger() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    deposit_and_capture(&books).await;
    let report = books.ledger.verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.entries, 2);
    assert!(report.to_string().ends_with("OK"));
}

/// Runs `sql` as a superuser can, with the ledger's triggers off.
async fn behind_the_ledgers_back(db: &TestDb, sql: &str) {
    db.raw_client()
        .await
        .batch_execute(&format!("set session_replication_role = replica; {sql}"))
        .await
        .unwrap();
}

/// A superuser who disables the triggers and edits a posting is caught.
#[tokio::test]
async fn verify_finds_a_posting_altered_behind_the_ledgers_back() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    books.deposit(200).await;
    behind_the_ledgers_back(
        &db,
        "update journal_postings set amount_minor = amount_minor * 2
         where id = (select min(id) from journal_postings)",
    )
    .await;
    let report = books.ledger.verify().await.unwrap();
    assert!(!report.is_ok());
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.violations > 0)
        .map(|c| c.name)
        .collect();
    assert!(failed.contains(&"entries_balance"), "{report}");
    assert!(failed.contains(&"trial_balance"), "{report}");
}

/// With the triggers off, a posting can name an account or an entry that does not exist; verify
/// finds both (the database's own check is V15's trigger, no longer a foreign key).
#[tokio::test]
async fn verify_finds_postings_that_name_no_account_or_no_entry() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    behind_the_ledgers_back(
        &db,
        "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
         select entry_id, gen_random_uuid(), currency, amount_minor, recorded_at
         from journal_postings where id = (select min(id) from journal_postings);
         insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
         select gen_random_uuid(), account_id, currency, amount_minor, recorded_at
         from journal_postings where id = (select min(id) from journal_postings)",
    )
    .await;
    let report = books.ledger.verify().await.unwrap();
    let check = |name: &str| report.check(name).unwrap().clone();
    let accounts = check("posting_currency");
    assert_eq!(accounts.violations, 1, "{report}");
    assert!(
        accounts.examples[0].ends_with("names no account"),
        "{report}"
    );
    let entries = check("posting_time");
    assert_eq!(entries.violations, 1, "{report}");
    assert!(entries.examples[0].ends_with("names no entry"), "{report}");
}

#[tokio::test]
async fn verify_finds_a_stored_balance_that_drifted_from_its_postings() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let client = db.raw_client().await;
    client
        .execute(
            "update account_balances set posted_minor = posted_minor + 1 where account_id = $1",
            &[&books.spendable],
        )
        .await
        .unwrap();
    let report = books.ledger.verify().await.unwrap();
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.violations > 0)
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, vec!["stored_balances"], "{report}");
}

#[tokio::test]
async fn verify_finds_a_held_amount_that_does_not_match_the_holds() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    books
        .ledger
        .place_hold(&books.hold_command(300))
        .await
        .unwrap();
    let client = db.raw_client().await;
    client
        .execute(
            "update account_balances set held_minor = 0 where account_id = $1",
            &[&books.spendable],
        )
        .await
        .unwrap();
    let report = books.ledger.verify().await.unwrap();
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.violations > 0)
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, vec!["held_amounts"], "{report}");
}

/// A session the server ended while it waited in the pool (a killed backend, a failover) is
/// handed out once more when its end is not seen yet; `saldo verify` only reads, so it tries
/// again on a new session rather than failing the auditor's run (the simulation met it).
#[tokio::test]
async fn verify_runs_again_on_a_new_session_when_its_session_was_ended_in_the_pool() {
    let db = TestDb::new().await;
    let pool = ledger::db::pool(db.config.clone(), 1).unwrap();
    let ledger = ledger::Ledger::new(pool.clone());
    let client = pool.get().await.unwrap();
    let pid: i32 = client
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    drop(client);
    // Ended from another thread, its own runtime: this one does not run the pooled session's
    // task meanwhile, so the pool has not seen the end when verify takes the session.
    let config = db.config.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (killer, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            killer
                .execute("select pg_terminate_backend($1)", &[&pid])
                .await
                .unwrap();
            while killer
                .query_opt("select 1 from pg_stat_activity where pid = $1", &[&pid])
                .await
                .unwrap()
                .is_some()
            {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        });
    })
    .join()
    .unwrap();

    let report = ledger.verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
}

/// An entry whose postings sum to zero overall but not in each of its currencies is caught (the
/// check sums per currency only for entries in several).
#[tokio::test]
async fn verify_finds_an_entry_balanced_in_sum_but_not_in_each_currency() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    books.deposit(200).await;
    behind_the_ledgers_back(
        &db,
        "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
         select entry_id, account_id, c.currency, c.amount_minor, recorded_at
         from (select * from journal_postings order by id limit 1) p,
              (values ('EUR', -300::bigint), ('SEK', 300::bigint)) c(currency, amount_minor)",
    )
    .await;
    let report = books.ledger.verify().await.unwrap();
    let balance = report.check("entries_balance").unwrap();
    assert_eq!(balance.violations, 1, "{report}");
    assert!(
        balance.examples[0].ends_with("lines 4 unbalanced"),
        "{report}"
    );
    let trial = report.check("trial_balance").unwrap();
    assert_eq!(trial.violations, 2, "EUR and SEK each off: {report}");
}

/// An entry with no postings at all (written around the ledger) is caught.
#[tokio::test]
async fn verify_finds_an_entry_without_postings() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let empty = uuid::Uuid::now_v7();
    db.raw_client()
        .await
        .execute(
            "insert into journal_entries (id, effective_date, description)
             values ($1, current_date, 'written around the ledger')",
            &[&empty],
        )
        .await
        .unwrap();
    let report = books.ledger.verify().await.unwrap();
    let balance = report.check("entries_balance").unwrap();
    assert_eq!(balance.violations, 1, "{report}");
    assert_eq!(
        balance.examples,
        vec![format!("{empty} lines 0")],
        "{report}"
    );
}

/// `saldo verify` spreads its checks over two sessions of one snapshot when the pool has a
/// second one free, and over one otherwise; either way the report is the same, check for check
/// and in the same order, violations and examples included.
#[tokio::test]
async fn verify_on_two_sessions_reports_what_one_session_reports() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    deposit_and_capture(&books).await;
    books.deposit(200).await;
    // Violations for several checks, so that a check lost, run twice or reported in another's
    // place would show.
    behind_the_ledgers_back(
        &db,
        "update journal_postings set amount_minor = amount_minor * 2
         where id = (select min(id) from journal_postings);
         insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
         select gen_random_uuid(), account_id, currency, amount_minor, recorded_at
         from journal_postings where id = (select max(id) from journal_postings);
         update account_balances set held_minor = held_minor + 7, posted_minor = posted_minor + 5
         where account_id = (select account_id from holds limit 1)",
    )
    .await;

    let one_session = ledger::db::pool(db.config.clone(), 1).unwrap();
    let alone = ledger::Ledger::new(one_session).verify().await.unwrap();
    let spread = books.ledger.verify().await.unwrap();

    assert_eq!((spread.sessions, alone.sessions), (2, 1));
    assert_eq!(spread.to_string(), alone.to_string());
    let failing: Vec<&str> = spread
        .checks
        .iter()
        .filter(|check| check.violations > 0)
        .map(|check| check.name)
        .collect();
    for name in [
        "entries_balance",
        "trial_balance",
        "posting_time",
        "stored_balances",
        "held_amounts",
    ] {
        assert!(failing.contains(&name), "{name}: {spread}");
    }
    let names: Vec<&str> = spread.checks.iter().map(|check| check.name).collect();
    assert_eq!(names.first(), Some(&"entries_balance"));
    assert_eq!(names.last(), Some(&"accounts_sealed"));
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "each check once: {names:?}");
    assert_eq!(
        (spread.entries, spread.postings),
        (alone.entries, alone.postings)
    );
}
