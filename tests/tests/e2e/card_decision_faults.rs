//! Authorization decisions under database faults, through signed webhooks to the running app:
//! a COMMIT that lands after the answer was due (a deferred constraint trigger that sleeps in
//! this test's own database), and a balance row another transaction keeps locked. Whatever the
//! fault, the answer given is what is durable: a declined answer holds nothing, a redelivery gets
//! the same answer, and one locked row delays only its own card.
// Cent amounts are grouped as euros_cents: `10_00` is 10.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use std::time::{Duration, Instant};

use processor_protocol::signature::WebhookSecret;
use saldo_tests::TestDb;
use serde_json::Value;

use crate::card_booking::CardBooks;
use crate::card_webhook::{WebhookApp, authorization_request};

/// The processor's deadline for an answer (protocol 3.3).
const PROCESSOR_DEADLINE: Duration = Duration::from_millis(2_000);

/// Makes the COMMIT of any transaction that inserts the row of `authorization_id` take
/// `stall`: a deferred constraint trigger runs at COMMIT, inside this test's database only.
async fn stall_commit_of(db: &TestDb, authorization_id: &str, stall: Duration) {
    let stall_ms = stall.as_millis();
    db.raw_client()
        .await
        .batch_execute(&format!(
            "create function public.test_stall_commit() returns trigger language plpgsql as $$
             begin perform pg_sleep({stall_ms} / 1000.0); return null; end $$;
             create constraint trigger test_stall_commit after insert on card.authorizations
                 deferrable initially deferred for each row
                 when (new.authorization_id = '{authorization_id}')
                 execute function public.test_stall_commit();"
        ))
        .await
        .unwrap();
}

/// The decision recorded for an authorization and what it still holds, once the row exists and
/// says `DECLINE` with nothing held, or after `patience` (then as it is).
async fn settled_row(
    db: &TestDb,
    authorization_id: &str,
    patience: Duration,
) -> Option<(String, i64, Option<String>)> {
    let client = db.raw_client().await;
    let give_up = Instant::now() + patience;
    loop {
        let row = client
            .query_opt(
                "select decision, held_minor, reason_key from card.authorizations
                 where authorization_id = $1",
                &[&authorization_id],
            )
            .await
            .unwrap()
            .map(|row| {
                (
                    row.get::<_, Option<String>>(0).unwrap_or_default(),
                    row.get::<_, i64>(1),
                    row.get::<_, Option<String>>(2),
                )
            });
        let settled = matches!(&row, Some((decision, 0, _)) if decision == "DECLINE");
        if settled || Instant::now() >= give_up {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn answer(app: &WebhookApp, webhook_id: &str, body: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let response = app.send_signed(webhook_id, body).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        elapsed,
    )
}

fn assert_declined_other(answer: &Value) {
    assert_eq!(answer["decision"], "DECLINE", "{answer}");
    assert_eq!(answer["decline_reason"], "OTHER", "{answer}");
    assert_eq!(answer["approved_amount"], 0, "{answer}");
}

async fn assert_books_consistent(db: &TestDb) {
    let report = db.ledger().verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
    let client = db.pool.get().await.unwrap();
    let check = card_adapter::decisions::verify_declined_answers_hold_nothing(&client)
        .await
        .unwrap();
    assert_eq!(check.violations, 0, "{check:?}");
}

#[tokio::test]
async fn a_commit_that_lands_after_the_answer_was_due_leaves_the_declined_answer_holding_nothing() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 10_00).await;
    stall_commit_of(&db, "auth_stalled", Duration::from_secs(3)).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let body = authorization_request(&card.card_id, "auth_stalled", 4_00);

    let (status, first, elapsed) = answer(&app, "msg_stalled", &body).await;
    assert_eq!(status, 200);
    assert_declined_other(&first);
    assert!(elapsed < PROCESSOR_DEADLINE, "answered after {elapsed:?}");

    // The batch's COMMIT lands about 3 s later, approving and holding 4.00: what it held is
    // released and the row says what was answered.
    let row = settled_row(&db, "auth_stalled", Duration::from_secs(15)).await;
    assert_eq!(
        row,
        Some((
            "DECLINE".to_owned(),
            0,
            Some("technical_problem".to_owned())
        ))
    );
    assert_eq!(card.state().await, (10_00, 0, 0));

    // Delivered again, under its own webhook id and under another: the same answer, nothing held.
    let (_, again, _) = answer(&app, "msg_stalled", &body).await;
    assert_eq!(again, first);
    let (_, other_id, _) = answer(&app, "msg_stalled_again", &body).await;
    assert_eq!(other_id, first);
    assert_eq!(card.state().await, (10_00, 0, 0));
    assert_books_consistent(&db).await;

    // The card still works.
    let (_, next, _) = answer(
        &app,
        "msg_next",
        &authorization_request(&card.card_id, "auth_next", 4_00),
    )
    .await;
    assert_eq!(next["decision"], "APPROVE", "{next}");
    assert_eq!(card.state().await, (10_00, 4_00, 0));
}

#[tokio::test]
async fn a_stalled_commit_delays_only_its_own_card_and_each_answer_comes_by_the_deadline() {
    let db = TestDb::new().await;
    let stalled = CardBooks::open(&db, 10_00).await;
    let neighbour = card_of_the_same_worker(&db, &stalled).await;
    stall_commit_of(&db, "auth_stalled", Duration::from_secs(4)).await;
    let app = std::sync::Arc::new(WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await);
    let stalled_body = authorization_request(&stalled.card_id, "auth_stalled", 4_00);
    let first = tokio::spawn({
        let app = app.clone();
        async move { answer(&app, "msg_stalled", &stalled_body).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // While that COMMIT hangs: the same worker's other card is decided as usual...
    let neighbour_body = authorization_request(&neighbour.card_id, "auth_neighbour", 3_00);
    let (status, neighbour_answer, elapsed) = answer(&app, "msg_neighbour", &neighbour_body).await;
    assert_eq!(status, 200);
    assert_eq!(
        neighbour_answer["decision"], "APPROVE",
        "{neighbour_answer}"
    );
    assert!(elapsed < PROCESSOR_DEADLINE, "answered after {elapsed:?}");
    // ... and the stalled card's next request, which needs the balance row that COMMIT holds,
    // gets a recorded decline by the deadline.
    let queued_body = authorization_request(&stalled.card_id, "auth_queued", 3_00);
    let (status, queued_answer, elapsed) = answer(&app, "msg_queued", &queued_body).await;
    assert_eq!(status, 200);
    assert_declined_other(&queued_answer);
    assert!(elapsed < PROCESSOR_DEADLINE, "answered after {elapsed:?}");
    let (_, stalled_answer, elapsed) = first.await.unwrap();
    assert_declined_other(&stalled_answer);
    assert!(elapsed < PROCESSOR_DEADLINE, "answered after {elapsed:?}");

    // Once the COMMIT lands, both declines are on their rows and nothing is held for them.
    for authorization_id in ["auth_stalled", "auth_queued"] {
        let row = settled_row(&db, authorization_id, Duration::from_secs(15)).await;
        assert_eq!(
            row,
            Some((
                "DECLINE".to_owned(),
                0,
                Some("technical_problem".to_owned())
            )),
            "{authorization_id}"
        );
    }
    let (_, again, _) = answer(&app, "msg_queued", &queued_body).await;
    assert_eq!(again, queued_answer);
    assert_eq!(stalled.state().await, (10_00, 0, 0));
    assert_eq!(neighbour.state().await, (10_00, 3_00, 0));
    assert_books_consistent(&db).await;
}

#[tokio::test]
async fn a_batch_still_committing_does_not_hold_up_the_other_cards_of_its_worker() {
    let db = TestDb::new().await;
    let slow = CardBooks::open(&db, 10_00).await;
    let neighbour = card_of_the_same_worker(&db, &slow).await;
    // A slow flush: the COMMIT takes 900 ms, within the decision's deadline.
    stall_commit_of(&db, "auth_slow", Duration::from_millis(900)).await;
    let app = std::sync::Arc::new(WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await);
    let slow_body = authorization_request(&slow.card_id, "auth_slow", 4_00);
    let first = tokio::spawn({
        let app = app.clone();
        async move { answer(&app, "msg_slow", &slow_body).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The worker formed the next batch as soon as the slow one's COMMIT went out: the other
    // card is decided while that COMMIT is still landing, not after it.
    let neighbour_body = authorization_request(&neighbour.card_id, "auth_neighbour", 3_00);
    let (status, neighbour_answer, _) = answer(&app, "msg_neighbour", &neighbour_body).await;
    assert_eq!(status, 200);
    assert_eq!(
        neighbour_answer["decision"], "APPROVE",
        "{neighbour_answer}"
    );
    assert!(
        !first.is_finished(),
        "the other card was answered only after the slow COMMIT landed"
    );
    let (status, _, elapsed) = first.await.unwrap();
    assert_eq!(status, 200);
    assert!(elapsed < PROCESSOR_DEADLINE, "answered after {elapsed:?}");
    assert_eq!(neighbour.state().await, (10_00, 3_00, 0));
    assert_books_consistent(&db).await;
}

#[tokio::test]
async fn a_request_not_decided_by_the_deadline_gets_a_recorded_decline_its_redelivery_repeats() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 10_00).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    // A long transaction (a payroll, say) keeps the card's balance row locked for 3 s.
    let locker = lock_balance_row(&db, card.books.spendable, Duration::from_secs(3)).await;

    let body = authorization_request(&card.card_id, "auth_locked", 4_00);
    let (status, first, elapsed) = answer(&app, "msg_locked", &body).await;
    assert_eq!(status, 200);
    assert_declined_other(&first);
    assert!(elapsed < PROCESSOR_DEADLINE, "answered after {elapsed:?}");
    locker.await.unwrap();

    // The row is free now, and the balance covers the request: still the recorded decline.
    let (_, again, _) = answer(&app, "msg_locked", &body).await;
    assert_eq!(again, first);
    let (_, other_id, _) = answer(&app, "msg_locked_again", &body).await;
    assert_eq!(other_id, first);
    let row = settled_row(&db, "auth_locked", Duration::from_secs(5)).await;
    assert_eq!(
        row,
        Some((
            "DECLINE".to_owned(),
            0,
            Some("technical_problem".to_owned())
        ))
    );
    assert_eq!(card.state().await, (10_00, 0, 0));
    assert_books_consistent(&db).await;
}

#[tokio::test]
async fn a_locked_balance_row_delays_only_its_own_card() {
    let db = TestDb::new().await;
    let locked = CardBooks::open(&db, 10_00).await;
    // Card ids are random: open cards until one shares the locked card's decision worker (the
    // first, with one worker; a few tries with more of DECISION_WORKERS), then eight more.
    let mut others = Vec::new();
    for _ in 0..200 {
        let card = CardBooks::open(&db, 10_00).await;
        if worker_of(&card.card_id) == worker_of(&locked.card_id) {
            others.push(card);
            break;
        }
    }
    assert_eq!(
        others.len(),
        1,
        "no card drawn shares the locked card's worker"
    );
    for _ in 0..8 {
        others.push(CardBooks::open(&db, 10_00).await);
    }
    let app = std::sync::Arc::new(WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await);
    let locker = lock_balance_row(&db, locked.books.spendable, Duration::from_secs(4)).await;

    // Six rounds, 300 ms apart, while the row is locked: the locked card and every other card
    // ask at once in each.
    let mut answers = Vec::new();
    for round in 0..6 {
        for (index, card) in std::iter::once(&locked).chain(&others).enumerate() {
            let app = app.clone();
            let authorization_id = format!("auth_{round}_{index}");
            let body = authorization_request(&card.card_id, &authorization_id, 1_00);
            answers.push((
                index,
                authorization_id.clone(),
                tokio::spawn(async move { answer(&app, &authorization_id, &body).await }),
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut declined_others = Vec::new();
    let mut locked_answers = Vec::new();
    for (index, authorization_id, handle) in answers {
        let (status, answer, elapsed) = handle.await.unwrap();
        assert_eq!(status, 200, "{authorization_id}");
        assert!(
            elapsed < PROCESSOR_DEADLINE,
            "{authorization_id} after {elapsed:?}"
        );
        if index == 0 {
            locked_answers.push((authorization_id, answer));
        } else if answer["decision"] != "APPROVE" {
            declined_others.push((authorization_id, answer));
        }
    }
    assert!(
        declined_others.is_empty(),
        "other cards declined: {declined_others:?}"
    );
    locker.await.unwrap();
    for card in &others {
        assert_eq!(card.state().await, (10_00, 6_00, 0));
    }
    // The locked card's requests were declined at their deadlines, recorded, holding nothing.
    for (authorization_id, answer) in &locked_answers {
        assert_declined_other(answer);
        let row = settled_row(&db, authorization_id, Duration::from_secs(5)).await;
        assert_eq!(
            row.map(|(decision, held, _)| (decision, held)),
            Some(("DECLINE".to_owned(), 0)),
            "{authorization_id}"
        );
    }
    assert_eq!(locked.state().await, (10_00, 0, 0));
    assert_books_consistent(&db).await;
}

/// Locks an account's balance row in an open transaction on a connection of its own, for
/// `hold_for`; the returned task ends when the lock is released.
async fn lock_balance_row(
    db: &TestDb,
    account_id: uuid::Uuid,
    hold_for: Duration,
) -> tokio::task::JoinHandle<()> {
    let mut client = db.raw_client().await;
    let (locked, is_locked) = tokio::sync::oneshot::channel();
    let handle = tokio::spawn(async move {
        let tx = client.transaction().await.unwrap();
        tx.execute(
            "select 1 from account_balances where account_id = $1 for update",
            &[&account_id],
        )
        .await
        .unwrap();
        let _ = locked.send(());
        tokio::time::sleep(hold_for).await;
        tx.commit().await.unwrap();
    });
    is_locked.await.unwrap();
    handle
}

/// A new card (10.00 EUR) whose requests go to the same decision worker as `card`'s. Card ids
/// are random: cards are opened until one does (the first with one worker, a few tries with
/// more of DECISION_WORKERS).
async fn card_of_the_same_worker(db: &TestDb, card: &CardBooks) -> CardBooks {
    loop {
        let other = CardBooks::open(db, 10_00).await;
        if worker_of(&other.card_id) == worker_of(&card.card_id) {
            return other;
        }
    }
}

/// The decision worker a card's requests go to, computed as `DecisionQueue` does.
fn worker_of(card_id: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(card_id, &mut hasher);
    std::hash::Hasher::finish(&hasher) % card_adapter::decisions::DECISION_WORKERS as u64
}

#[tokio::test]
async fn saldo_verify_flags_money_held_under_a_declined_answer_and_the_sweep_releases_it() {
    use clap::Parser;
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 10_00).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let body = authorization_request(&card.card_id, "auth_held", 4_00);
    let (_, approved, _) = answer(&app, "msg_held", &body).await;
    assert_eq!(approved["decision"], "APPROVE", "{approved}");
    assert_books_consistent(&db).await;
    let saldo_verify = || async {
        let cli = saldo::cli::Cli::parse_from(["saldo", "--database-url", &db.url(), "verify"]);
        format!("{:?}", saldo::cli::run(cli).await.unwrap())
    };
    assert_eq!(
        saldo_verify().await,
        format!("{:?}", std::process::ExitCode::SUCCESS)
    );

    // What a COMMIT landing after a recorded decline leaves when the process dies before it
    // settles it: the decline recorded, the approval and its hold committed.
    db.raw_client()
        .await
        .execute(
            "insert into card.authorization_deadline_declines
                 (authorization_id, card_id, currency, requested_minor)
             values ('auth_held', $1, 'EUR', 400)",
            &[&card.card_id],
        )
        .await
        .unwrap();
    let client = db.pool.get().await.unwrap();
    let check = card_adapter::decisions::verify_declined_answers_hold_nothing(&client)
        .await
        .unwrap();
    assert_eq!(check.violations, 1, "{check:?}");
    assert!(
        check.examples[0].starts_with("auth_held APPROVE"),
        "{check:?}"
    );
    assert_eq!(
        saldo_verify().await,
        format!("{:?}", std::process::ExitCode::from(2))
    );

    // The sweep (run when the webhook starts, then every minute) settles it.
    assert_eq!(
        card_adapter::decisions::settle_recorded_declines(&db.pool)
            .await
            .unwrap(),
        1
    );
    assert_eq!(card.state().await, (10_00, 0, 0));
    assert_books_consistent(&db).await;
    let (_, again, _) = answer(&app, "msg_held", &body).await;
    assert_declined_other(&again);

    // A row that says DECLINE over a hold is flagged too.
    let (_, other, _) = answer(
        &app,
        "msg_other",
        &authorization_request(&card.card_id, "auth_other", 2_00),
    )
    .await;
    assert_eq!(other["decision"], "APPROVE", "{other}");
    db.raw_client()
        .await
        .execute(
            "update card.authorizations set decision = 'DECLINE' where authorization_id = 'auth_other'",
            &[],
        )
        .await
        .unwrap();
    let check = card_adapter::decisions::verify_declined_answers_hold_nothing(&client)
        .await
        .unwrap();
    assert_eq!(check.violations, 1, "{check:?}");
}

#[tokio::test]
async fn when_not_even_a_decline_can_be_recorded_no_answer_is_given_and_the_timeout_advice_releases()
 {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 10_00).await;
    stall_commit_of(&db, "auth_unrecorded", Duration::from_secs(3)).await;
    // The deadline decline's own statement cannot finish in time either, as when the database
    // commits nothing at all.
    db.raw_client()
        .await
        .batch_execute(
            "create function public.test_stall_decline() returns trigger language plpgsql as $$
             begin perform pg_sleep(3); return new; end $$;
             create trigger test_stall_decline before insert on card.authorization_deadline_declines
                 for each row execute function public.test_stall_decline();",
        )
        .await
        .unwrap();
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let body = authorization_request(&card.card_id, "auth_unrecorded", 4_00);
    let (status, problem, elapsed) = answer(&app, "msg_unrecorded", &body).await;
    // No decision rather than an unrecorded DECLINE: the processor declines and advises.
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["code"], "decision_not_recorded");
    assert!(elapsed < PROCESSOR_DEADLINE, "answered after {elapsed:?}");

    // The COMMIT lands: with no recorded decline the approval stands until the advice comes.
    let client = db.raw_client().await;
    let give_up = Instant::now() + Duration::from_secs(15);
    while client
        .query_opt(
            "select 1 from card.authorizations where authorization_id = 'auth_unrecorded'",
            &[],
        )
        .await
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < give_up, "the stalled COMMIT never landed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut advice: Value = serde_json::from_str(&body).unwrap();
    advice["type"] = "authorization.advice".into();
    advice["data"]["decision"] = "DECLINE".into();
    advice["data"]["reason"] = "TIMEOUT".into();
    let recorded = app
        .send_signed("msg_advice", &advice.to_string())
        .await
        .status();
    assert_eq!(recorded, 200);
    let row = settled_row(&db, "auth_unrecorded", Duration::from_secs(5)).await;
    assert_eq!(
        row.map(|(decision, held, _)| (decision, held)),
        Some(("DECLINE".to_owned(), 0))
    );
    assert_eq!(card.state().await, (10_00, 0, 0));
    let (_, again, _) = answer(&app, "msg_unrecorded", &body).await;
    assert_eq!(again["decision"], "DECLINE", "{again}");
    assert_books_consistent(&db).await;
}
