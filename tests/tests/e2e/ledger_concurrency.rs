use std::sync::Arc;

use ledger::*;
use saldo_tests::TestDb;

use crate::fixtures::*;

/// 64 concurrent holds of 1.00 on an account holding 10.00: exactly ten succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_holds_never_overdraw() {
    let db = TestDb::with_pool_size(64).await;
    let books = Arc::new(Books::open(&db).await);
    books.deposit(1_000).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let books = books.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let command = books.hold_command(100);
                barrier.wait().await;
                books.ledger.place_hold(&command).await
            })
        })
        .collect();
    let mut approved = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => approved += 1,
            Err(error) => assert_eq!(error.code(), "insufficient_funds"),
        }
    }
    assert_eq!(approved, 10);
    let balance = books.ledger.balance(books.spendable).await.unwrap();
    assert_eq!(balance.available, eur(0));
    assert_eq!(balance.held, eur(1_000));
    assert!(books.ledger.verify().await.unwrap().is_ok());
}

/// The same idempotency key sent by many callers at once is executed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replays_of_one_key_post_once() {
    let db = TestDb::with_pool_size(16).await;
    let books = Arc::new(Books::open(&db).await);
    let draft = Arc::new(books.deposit_draft(500));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let books = books.clone();
            let draft = draft.clone();
            tokio::spawn(async move { books.ledger.post_entry(&draft).await.unwrap().id })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(books.available().await, 500);
}

/// Card activity of different prisoners all credits the shared settlement account; none of it
/// waits on a row of that account (it has none), and the derived balance is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_prisoners_capture_concurrently_into_one_hot_account() {
    let db = TestDb::with_pool_size(32).await;
    let ledger = db.ledger();
    let bank = open_institution(&ledger, institution_purpose::BANK_TRUST, AccountType::Asset).await;
    let settlement = open_institution(
        &ledger,
        institution_purpose::CARD_SETTLEMENT_PAYABLE,
        AccountType::Liability,
    )
    .await;
    let mut prisoners = Vec::new();
    for _ in 0..32 {
        let account = ledger
            .open_account(
                &key(),
                &NewAccount::person(uuid::Uuid::now_v7(), "spendable", Currency::EUR),
            )
            .await
            .unwrap()
            .id;
        ledger
            .post_entry(&deposit_draft(bank, account, 1_000))
            .await
            .unwrap();
        prisoners.push(account);
    }
    let tasks: Vec<_> = prisoners
        .iter()
        .map(|&account| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    let hold = ledger
                        .place_hold(&PlaceHold {
                            idempotency_key: key(),
                            account_id: account,
                            amount: eur(100),
                            expires_at: None,
                            description: "card authorization".into(),
                            metadata: serde_json::json!({}),
                            allow_partial: false,
                            overdraft: Overdraft::Refuse,
                        })
                        .await
                        .unwrap();
                    ledger
                        .capture_hold(&CaptureHold {
                            idempotency_key: key(),
                            hold_id: hold.id,
                            amount: eur(100),
                            counter_account_id: settlement,
                            allow_over_capture: false,
                            final_capture: true,
                            effective_date: today(),
                            description: "card clearing".into(),
                            metadata: serde_json::json!({}),
                            external_refs: vec![],
                            overdraft: Overdraft::Refuse,
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        ledger.balance(settlement).await.unwrap().posted,
        eur(32 * 5 * 100)
    );
    for account in prisoners {
        assert_eq!(ledger.balance(account).await.unwrap().available, eur(500));
    }
    assert!(ledger.verify().await.unwrap().is_ok());
}

/// A pipelined transaction (its BEGIN sent with its first statements, as the card batches do)
/// runs those statements inside it; one dropped before its COMMIT (an error, a deadline, a
/// panic) is rolled back before its connection serves anyone else.
#[tokio::test]
async fn a_pipelined_transaction_dropped_before_its_commit_leaves_nothing_behind() {
    use ledger::db::PipelinedTransaction;
    // One connection, so the connection after the drop is the one the dropped transaction had.
    let db = TestDb::with_pool_size(1).await;
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute("create table pipelined_probe (n int)")
        .await
        .unwrap();
    let insert_in_a_pipelined_transaction = |n: i32| {
        let pool = db.pool.clone();
        async move {
            let tx = PipelinedTransaction::new(pool.get().await.unwrap());
            let insert = "insert into pipelined_probe values ($1)";
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&n];
            tokio::try_join!(
                biased;
                tx.begin("set local lock_timeout = 50"),
                tx.client().execute(insert, &params)
            )
            .unwrap();
            tx
        }
    };

    insert_in_a_pipelined_transaction(1)
        .await
        .commit()
        .await
        .unwrap();
    drop(insert_in_a_pipelined_transaction(2).await);

    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "select array_agg(n order by n) as rows,
                    current_setting('lock_timeout') as lock_timeout
             from pipelined_probe",
            &[],
        )
        .await
        .unwrap();
    // Inside the dropped transaction, its own row would be seen, and its setting.
    assert_eq!(
        row.get::<_, Vec<i32>>("rows"),
        vec![1],
        "the committed row stays; the dropped one is rolled back, and the connection came back \
         outside its transaction"
    );
    assert_eq!(row.get::<_, String>("lock_timeout"), "0");
}
