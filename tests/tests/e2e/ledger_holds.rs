use ledger::*;
use saldo_tests::TestDb;

use crate::fixtures::*;

#[tokio::test]
async fn a_hold_lowers_the_available_balance_and_a_capture_posts_it() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let hold = books
        .ledger
        .place_hold(&books.hold_command(300))
        .await
        .unwrap();
    let balance = books.ledger.balance(books.spendable).await.unwrap();
    assert_eq!(
        (balance.posted, balance.held, balance.available),
        (eur(1_000), eur(300), eur(700))
    );

    let capture = books
        .ledger
        .capture_hold(&books.capture_command(hold.id, 300, true))
        .await
        .unwrap();
    assert_eq!(capture.hold.remaining, eur(0));
    let balance = books.ledger.balance(books.spendable).await.unwrap();
    assert_eq!(
        (balance.posted, balance.held, balance.available),
        (eur(700), eur(0), eur(700))
    );
    assert_eq!(
        books.ledger.balance(books.settlement).await.unwrap().posted,
        eur(300)
    );
}

#[tokio::test]
async fn a_partial_capture_keeps_the_rest_held_and_the_final_capture_releases_it() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let hold = books
        .ledger
        .place_hold(&books.hold_command(500))
        .await
        .unwrap();
    let first = books
        .ledger
        .capture_hold(&books.capture_command(hold.id, 200, false))
        .await
        .unwrap();
    assert_eq!(first.hold.remaining, eur(300));
    assert_eq!(books.available().await, 500);
    let last = books
        .ledger
        .capture_hold(&books.capture_command(hold.id, 100, true))
        .await
        .unwrap();
    assert_eq!(last.hold.remaining, eur(0));
    assert_eq!(books.available().await, 700);
}

#[tokio::test]
async fn capturing_more_than_held_needs_the_callers_permission() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let hold = books
        .ledger
        .place_hold(&books.hold_command(200))
        .await
        .unwrap();
    let before = row_counts(&db).await;
    let error = books
        .ledger
        .capture_hold(&books.capture_command(hold.id, 250, true))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "exceeds_hold");
    assert_eq!(row_counts(&db).await, before);

    let mut allowed = books.capture_command(hold.id, 250, true);
    allowed.allow_over_capture = true;
    books.ledger.capture_hold(&allowed).await.unwrap();
    assert_eq!(books.available().await, 750);
    assert!(books.ledger.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn a_release_frees_the_hold_partly_or_fully_and_a_released_hold_cannot_be_captured() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let hold = books
        .ledger
        .place_hold(&books.hold_command(400))
        .await
        .unwrap();
    let partly = books
        .ledger
        .release_hold(&ReleaseHold {
            idempotency_key: key(),
            hold_id: hold.id,
            amount: Some(eur(150)),
        })
        .await
        .unwrap();
    assert_eq!(partly.remaining, eur(250));
    assert_eq!(books.available().await, 750);
    let fully = books
        .ledger
        .release_hold(&ReleaseHold {
            idempotency_key: key(),
            hold_id: hold.id,
            amount: None,
        })
        .await
        .unwrap();
    assert_eq!(fully.remaining, eur(0));
    assert_eq!(books.available().await, 1_000);

    let before = row_counts(&db).await;
    let error = books
        .ledger
        .capture_hold(&books.capture_command(hold.id, 100, true))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "exceeds_hold");
    let error = books
        .ledger
        .release_hold(&ReleaseHold {
            idempotency_key: key(),
            hold_id: hold.id,
            amount: None,
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), "exceeds_hold");
    assert_eq!(row_counts(&db).await, before);
}

#[tokio::test]
async fn an_expired_hold_frees_the_money_and_a_late_capture_is_still_booked() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let mut command = books.hold_command(300);
    command.expires_at = Some(time::OffsetDateTime::now_utc() - time::Duration::seconds(1));
    let hold = books.ledger.place_hold(&command).await.unwrap();
    assert_eq!(books.available().await, 700);
    let expired = books
        .ledger
        .expire_due_holds(time::OffsetDateTime::now_utc(), 100)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(books.available().await, 1_000);
    assert_eq!(
        books
            .ledger
            .expire_due_holds(time::OffsetDateTime::now_utc(), 100)
            .await
            .unwrap(),
        0
    );

    let mut late = books.capture_command(hold.id, 300, true);
    late.allow_over_capture = true;
    books.ledger.capture_hold(&late).await.unwrap();
    assert_eq!(books.available().await, 700);
    assert!(books.ledger.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn a_hold_beyond_the_available_balance_is_refused_unless_partial_is_allowed() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(250).await;
    let before = row_counts(&db).await;
    let error = books
        .ledger
        .place_hold(&books.hold_command(300))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "insufficient_funds");
    assert_eq!(row_counts(&db).await, before);

    let mut partial = books.hold_command(300);
    partial.allow_partial = true;
    let hold = books.ledger.place_hold(&partial).await.unwrap();
    assert_eq!(hold.remaining, eur(250));
    assert_eq!(books.available().await, 0);
}

#[tokio::test]
async fn an_incremental_hold_adds_to_the_existing_one() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let hold = books
        .ledger
        .place_hold(&books.hold_command(300))
        .await
        .unwrap();
    let increased = books
        .ledger
        .increase_hold(&IncreaseHold {
            idempotency_key: key(),
            hold_id: hold.id,
            amount: eur(200),
            allow_partial: false,
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap();
    assert_eq!(increased.remaining, eur(500));
    assert_eq!(books.available().await, 500);
    let error = books
        .ledger
        .increase_hold(&IncreaseHold {
            idempotency_key: key(),
            hold_id: hold.id,
            amount: eur(501),
            allow_partial: false,
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), "insufficient_funds");
}

#[tokio::test]
async fn holds_are_refused_on_hot_accounts_and_for_bad_amounts() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let before = row_counts(&db).await;
    let mut on_hot = books.hold_command(100);
    on_hot.account_id = books.settlement;
    assert_eq!(
        books.ledger.place_hold(&on_hot).await.unwrap_err().code(),
        "hold_on_hot_account"
    );
    assert_eq!(
        books
            .ledger
            .place_hold(&books.hold_command(0))
            .await
            .unwrap_err()
            .code(),
        "amount_not_positive"
    );
    assert_eq!(
        books
            .ledger
            .place_hold(&books.hold_command(-5))
            .await
            .unwrap_err()
            .code(),
        "amount_not_positive"
    );
    let mut unknown = books.hold_command(100);
    unknown.account_id = uuid::Uuid::now_v7();
    assert_eq!(
        books.ledger.place_hold(&unknown).await.unwrap_err().code(),
        "unknown_account"
    );
    let error = books
        .ledger
        .release_hold(&ReleaseHold {
            idempotency_key: key(),
            hold_id: uuid::Uuid::now_v7(),
            amount: None,
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unknown_hold");
    assert_eq!(row_counts(&db).await, before);
}

#[tokio::test]
async fn replaying_a_hold_command_holds_once() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let command = books.hold_command(300);
    let first = books.ledger.place_hold(&command).await.unwrap();
    let second = books.ledger.place_hold(&command).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(books.available().await, 700);
}

#[tokio::test]
async fn a_stand_in_hold_beyond_the_balance_is_placed_flagged_and_verifies() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(100).await;
    let mut stand_in = books.hold_command(250);
    stand_in.overdraft = Overdraft::AllowAndFlag;
    let hold = books.ledger.place_hold(&stand_in).await.unwrap();
    assert_eq!(hold.remaining, eur(250));
    assert_eq!(books.available().await, -150);
    let flagged: bool = db
        .raw_client()
        .await
        .query_one(
            "select overdraft_flagged from holds where id = $1",
            &[&hold.id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(flagged);
    assert!(books.ledger.verify().await.unwrap().is_ok());
}

/// Captures on two holds of one account (a partial, a final, an over-capture), made one after
/// the other or in one `capture_holds_deduplicated_by_caller` call, leave the same books.
#[tokio::test]
async fn captures_made_in_one_call_add_up_as_they_would_one_after_the_other() {
    async fn books_after(together: bool) -> (Vec<(i64, bool)>, (i64, i64), i64, i64) {
        let db = TestDb::new().await;
        let books = Books::open(&db).await;
        books.deposit(1_000).await;
        let first = books
            .ledger
            .place_hold(&books.hold_command(500))
            .await
            .unwrap();
        let second = books
            .ledger
            .place_hold(&books.hold_command(300))
            .await
            .unwrap();
        let mut over = books.capture_command(second.id, 450, true);
        over.allow_over_capture = true;
        over.overdraft = Overdraft::AllowAndFlag;
        let commands = [
            books.capture_command(first.id, 200, false),
            books.capture_command(first.id, 100, true),
            over,
        ];
        let mut client = db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let captures = if together {
            store::capture_holds_deduplicated_by_caller(&tx, &commands)
                .await
                .unwrap()
        } else {
            let mut captures = Vec::new();
            for command in &commands {
                captures.push(
                    store::capture_hold_deduplicated_by_caller(&tx, command)
                        .await
                        .unwrap(),
                );
            }
            captures
        };
        tx.commit().await.unwrap();
        let balance = books.ledger.balance(books.spendable).await.unwrap();
        let settlement = books.ledger.balance(books.settlement).await.unwrap();
        assert!(books.ledger.verify().await.unwrap().is_ok());
        let events: i64 = client
            .query_one("select count(*) from hold_events", &[])
            .await
            .unwrap()
            .get(0);
        (
            captures
                .iter()
                .map(|c| (c.hold.remaining.amount_minor, c.entry.overdraft_flagged))
                .collect(),
            (balance.posted.amount_minor, balance.held.amount_minor),
            settlement.posted.amount_minor,
            events,
        )
    }
    let one_by_one = books_after(false).await;
    // Of the 500 held, 200 captured (300 left), then 100 captured and the other 200 freed; of
    // the 300 held, 450 captured: beyond the hold, within the balance, so not flagged.
    assert_eq!(one_by_one.0, vec![(300, false), (0, false), (0, false)]);
    assert_eq!(one_by_one.1, (1_000 - 200 - 100 - 450, 0));
    assert_eq!(one_by_one.2, 750);
    assert_eq!(one_by_one.3, 4);
    assert_eq!(books_after(true).await, one_by_one);
}

/// A capture that cannot be made fails the whole call, and nothing of it is written.
#[tokio::test]
async fn one_capture_that_cannot_be_made_fails_the_whole_call() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(1_000).await;
    let hold = books
        .ledger
        .place_hold(&books.hold_command(500))
        .await
        .unwrap();
    let commands = [
        books.capture_command(hold.id, 200, false),
        // Beyond what remains, over-capture not allowed.
        books.capture_command(hold.id, 400, false),
    ];
    let before = row_counts(&db).await;
    let mut client = db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let error = store::capture_holds_deduplicated_by_caller(&tx, &commands)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "exceeds_hold");
    drop(tx);
    assert_eq!(row_counts(&db).await, before);
}
