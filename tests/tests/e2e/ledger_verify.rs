use saldo_tests::TestDb;

use crate::fixtures::*;

#[tokio::test]
async fn verify_reports_ok_on_a_consistent_ledger() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
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
    let report = books.ledger.verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.entries, 2);
    assert!(report.to_string().ends_with("OK"));
}

/// A superuser who disables the triggers and edits a posting is caught.
#[tokio::test]
async fn verify_finds_a_posting_altered_behind_the_ledgers_back() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    books.deposit(200).await;
    let client = db.raw_client().await;
    client
        .batch_execute(
            "set session_replication_role = replica;
             update journal_postings set amount_minor = amount_minor * 2
             where id = (select min(id) from journal_postings);",
        )
        .await
        .unwrap();
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
    let client = db.raw_client().await;
    client
        .batch_execute(
            "set session_replication_role = replica;
             insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
             select entry_id, gen_random_uuid(), currency, amount_minor, recorded_at
             from journal_postings where id = (select min(id) from journal_postings);
             insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
             select gen_random_uuid(), account_id, currency, amount_minor, recorded_at
             from journal_postings where id = (select min(id) from journal_postings);",
        )
        .await
        .unwrap();
    let report = books.ledger.verify().await.unwrap();
    let check = |name: &str| {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .clone()
    };
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
