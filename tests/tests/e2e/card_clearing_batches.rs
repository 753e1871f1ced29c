//! Clearings booked together in one transaction (`card_adapter::clearings`): the usual ones in
//! one transaction, the repeated and unusual ones as they are booked alone, and a batch that
//! fails booked one clearing at a time.
use card_adapter::clearings::apply_batch;
use card_adapter::inbox::{Applied, InboxMessage};
use card_adapter::process::CardEvent;
use saldo_tests::TestDb;

use crate::card_booking::{CardBooks, assert_card_counters_match};
use crate::card_webhook::inbox_count;

/// Each event under its webhook id, applied as one batch.
async fn batch(card: &CardBooks, events: &[(&str, CardEvent)]) -> Vec<Result<Applied, String>> {
    let messages: Vec<(InboxMessage<'_>, &CardEvent)> = events
        .iter()
        .map(|(webhook_id, event)| {
            let message = InboxMessage {
                processor_id: card_adapter::processors::DEFAULT_PROCESSOR,
                webhook_id,
                webhook_timestamp: 0,
                event_type: "transaction.clearing",
                body: b"{}",
            };
            (message, event)
        })
        .collect();
    apply_batch(&card.pool, &messages)
        .await
        .into_iter()
        .map(|result| result.map_err(|error| error.code().to_owned()))
        .collect()
}

async fn approve(card: &CardBooks, authorization_id: &str, amount_minor: i64) {
    let outcome = card
        .authorize(&card.input(authorization_id, amount_minor))
        .await;
    assert!(outcome.approve, "{outcome:?}");
}

/// How many transactions wrote the clearings' entries (their rows' `xmin`).
async fn transactions_of_clearings(card: &CardBooks) -> i64 {
    card.pool
        .get()
        .await
        .unwrap()
        .query_one(
            "select count(distinct e.xmin::text) from journal_entries e
             join journal_entry_refs r on r.entry_id = e.id
             where r.ref_kind = 'processor_transaction'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Per authorization: (cleared, held, final) as its row has them.
async fn authorization_rows(card: &CardBooks) -> Vec<(String, i64, i64, bool)> {
    card.pool
        .get()
        .await
        .unwrap()
        .query(
            "select authorization_id, cleared_minor, held_minor, final_cleared
             from card.authorizations where card_id = $1 order by authorization_id",
            &[&card.card_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
}

#[tokio::test]
async fn clearings_that_arrive_together_are_booked_in_one_transaction_and_once() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    for (authorization_id, amount_minor) in [("auth_1", 100), ("auth_2", 200), ("auth_3", 300)] {
        approve(&card, authorization_id, amount_minor).await;
    }
    let inbox_before = inbox_count(&db).await;
    let events = [
        // Less than held, not final: the rest stays held.
        ("msg_c1", card.clearing("tx_1", Some("auth_1"), 60, false)),
        // Less than held, final: the rest is freed.
        ("msg_c2", card.clearing("tx_2", Some("auth_2"), 150, true)),
        // More than held (a tip): all of it is booked.
        ("msg_c3", card.clearing("tx_3", Some("auth_3"), 340, true)),
    ];
    assert_eq!(batch(&card, &events).await, vec![Ok(Applied::Applied); 3]);
    assert_eq!(transactions_of_clearings(&card).await, 1);
    // Posted 1,000 - 60 - 150 - 340; held: 40 of auth_1.
    assert_eq!(card.state().await, (450, 40, 550));
    assert_eq!(
        authorization_rows(&card).await,
        vec![
            ("auth_1".into(), 60, 40, false),
            ("auth_2".into(), 150, 0, true),
            ("auth_3".into(), 340, 0, true),
        ]
    );
    assert_eq!(inbox_count(&db).await, inbox_before + 3);
    assert_card_counters_match(&card.pool).await;
    assert!(card.books.ledger.verify().await.unwrap().is_ok());

    // Delivered again, under the same webhook ids or new ones: nothing changes.
    let again = [
        ("msg_c1", card.clearing("tx_1", Some("auth_1"), 60, false)),
        (
            "msg_c2_again",
            card.clearing("tx_2", Some("auth_2"), 150, true),
        ),
    ];
    assert_eq!(
        batch(&card, &again).await,
        vec![Ok(Applied::Duplicate), Ok(Applied::Duplicate)]
    );
    assert_eq!(card.state().await, (450, 40, 550));
    assert_eq!(transactions_of_clearings(&card).await, 1);
}

/// The same events on two cards with the same history: one card's as one batch, the other's
/// one at a time. Every answer and every balance and authorization row is the same.
#[tokio::test]
async fn a_batch_books_repeated_and_unusual_clearings_as_they_are_booked_alone() {
    let db = TestDb::new().await;
    let batched = CardBooks::open(&db, 1_000).await;
    let alone = CardBooks::open(&db, 1_000).await;
    let mut results = Vec::new();
    let mut states = Vec::new();
    for (card, together) in [(&batched, true), (&alone, false)] {
        // Ids are unique across cards: each card's carry its own prefix.
        let prefix = if together { "one_" } else { "two_" };
        let p = |id: &str| format!("{prefix}{id}");
        let (auth_a, auth_b) = (p("auth_a"), p("auth_b"));
        approve(card, &auth_a, 300).await;
        approve(card, &auth_b, 200).await;
        let mut zero = card.clearing(&p("tx_zero"), Some(&auth_b), 0, false);
        if let CardEvent::Clearing { amount, .. } = &mut zero {
            amount.amount_minor = 0;
        }
        let mut unknown_card = card.clearing(&p("tx_unknown"), Some(&p("auth_x")), 10, false);
        if let CardEvent::Clearing { card_id, .. } = &mut unknown_card {
            *card_id = "card_nobody".into();
        }
        let mut atm = card.clearing(&p("tx_atm"), Some(&auth_b), 50, false);
        if let CardEvent::Clearing { merchant, .. } = &mut atm {
            *merchant = serde_json::json!({"mcc": "6011"});
        }
        let events: Vec<(String, CardEvent)> = vec![
            (
                p("w1"),
                card.clearing(&p("tx_1"), Some(&auth_a), 100, false),
            ),
            // The same webhook again in the same batch.
            (
                p("w1"),
                card.clearing(&p("tx_1"), Some(&auth_a), 100, false),
            ),
            // The same transaction under another webhook id.
            (
                p("w2"),
                card.clearing(&p("tx_1"), Some(&auth_a), 100, false),
            ),
            // A second clearing of the same authorization, final.
            (p("w3"), card.clearing(&p("tx_2"), Some(&auth_a), 50, true)),
            // Before its authorization, and a force post.
            (
                p("w4"),
                card.clearing(&p("tx_early"), Some(&p("auth_later")), 70, false),
            ),
            (p("w5"), card.clearing(&p("tx_force"), None, 30, false)),
            (p("w6"), zero),
            (p("w7"), unknown_card),
            (p("w8"), atm),
            (
                p("w9"),
                card.clearing(&p("tx_3"), Some(&auth_b), 120, false),
            ),
        ];
        let events: Vec<(&str, CardEvent)> = events
            .iter()
            .map(|(w, e)| (w.as_str(), e.clone()))
            .collect();
        results.push(if together {
            batch(card, &events).await
        } else {
            let mut one_by_one = Vec::new();
            for event in &events {
                one_by_one.extend(batch(card, std::slice::from_ref(event)).await);
            }
            one_by_one
        });
        let rows: Vec<(String, i64, i64, bool)> = authorization_rows(card)
            .await
            .into_iter()
            .map(|(id, cleared, held, final_cleared)| {
                let id = id.strip_prefix(prefix).unwrap_or(&id).to_owned();
                (id, cleared, held, final_cleared)
            })
            .collect();
        let (posted, held, _) = card.state().await;
        states.push((posted, held, rows));
    }
    assert_eq!(
        results[0],
        vec![
            Ok(Applied::Applied),
            Ok(Applied::Duplicate),
            Ok(Applied::Duplicate),
            Ok(Applied::Applied),
            Ok(Applied::Applied),
            Ok(Applied::Applied),
            Ok(Applied::Rejected),
            Ok(Applied::Rejected),
            Ok(Applied::Applied),
            Ok(Applied::Applied),
        ]
    );
    assert_eq!(results[0], results[1]);
    assert_eq!(states[0], states[1]);
    // 1,000 - 100 - 50 - 70 - 30 - 50 - 120 and the ATM fee, if the prison has one; held: the
    // rest of auth_b (200 - 50 - 120).
    assert_eq!(states[0].1, 30);
    assert_card_counters_match(&batched.pool).await;
    assert!(batched.books.ledger.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn a_batch_that_fails_books_each_of_its_clearings_alone() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    approve(&card, "auth_1", 100).await;
    approve(&card, "auth_2", 100).await;
    approve(&card, "auth_3", 100).await;
    // The other currency's settlement account exists, so the batch takes the clearing in.
    card.books
        .ledger
        .open_account(
            "open:sek-settlement",
            &ledger::NewAccount::institution(
                ledger::institution_purpose::CARD_SETTLEMENT_PAYABLE,
                ledger::AccountType::Liability,
                ledger::Currency::from_code("SEK").unwrap(),
            ),
        )
        .await
        .unwrap();
    let mut other_currency = card.clearing("tx_2", Some("auth_2"), 50, false);
    if let CardEvent::Clearing { amount, .. } = &mut other_currency {
        *amount = ledger::Money::new(50, ledger::Currency::from_code("SEK").unwrap());
    }
    let events = [
        ("msg_1", card.clearing("tx_1", Some("auth_1"), 40, true)),
        // Not in the hold's currency: the batch's capture fails, and so would this alone.
        ("msg_2", other_currency),
        ("msg_3", card.clearing("tx_3", Some("auth_3"), 60, true)),
    ];
    let results = batch(&card, &events).await;
    assert_eq!(results[0], Ok(Applied::Applied));
    assert!(results[1].is_err(), "{:?}", results[1]);
    assert_eq!(results[2], Ok(Applied::Applied));
    // Booked one at a time, after the batch was rolled back.
    assert_eq!(transactions_of_clearings(&card).await, 2);
    assert_eq!(card.state().await, (900, 100, 100));
    assert_card_counters_match(&card.pool).await;
}
