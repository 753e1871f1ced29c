//! `POST /webhooks/processor` over real HTTP: signatures, answers, nothing left by bad input.
use processor_protocol::signature::{self, WebhookSecret};
use saldo_tests::TestDb;

use crate::card_booking::CardBooks;

pub struct WebhookApp {
    pub base: String,
    pub secret: WebhookSecret,
    pub client: reqwest::Client,
}

impl WebhookApp {
    pub async fn spawn(db: &TestDb, secrets: Vec<WebhookSecret>) -> WebhookApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let secret = secrets[0].clone();
        let state = saldo::state::AppState::new(db.pool.clone()).with_webhook_secrets(secrets);
        tokio::spawn(saldo::app::serve(state, listener));
        WebhookApp {
            base: format!("http://{address}"),
            secret,
            client: reqwest::Client::new(),
        }
    }

    pub async fn send_signed(&self, webhook_id: &str, body: &str) -> reqwest::Response {
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = signature::sign(&self.secret, webhook_id, timestamp, body.as_bytes());
        self.send(webhook_id, &timestamp.to_string(), &signature, body)
            .await
    }

    pub async fn send(
        &self,
        webhook_id: &str,
        timestamp: &str,
        signature: &str,
        body: &str,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}/webhooks/processor", self.base))
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }
}

pub fn authorization_request(card_id: &str, authorization_id: &str, amount_minor: i64) -> String {
    // Requested now: the card's policy takes effect a day before the test, not on a fixed date.
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    serde_json::json!({
        "type": "authorization.request",
        "timestamp": now,
        "data": {
            "authorization_id": authorization_id, "card_id": card_id, "cardholder_id": "ch_test",
            "amount": amount_minor, "currency": "EUR", "merchant_amount": amount_minor,
            "merchant_currency": "EUR",
            "merchant": {"id": "m_canteen", "name": "CANTEEN", "mcc": "5411", "city": "HAMEENLINNA", "country": "FI"},
            "channel": "POS", "partial_approval_capable": false, "parent_authorization_id": null
        }
    })
    .to_string()
}

pub async fn inbox_count(db: &TestDb) -> i64 {
    db.raw_client()
        .await
        .query_one("select count(*) from card.inbox", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_signed_authorization_request_is_answered_and_held() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let response = app
        .send_signed(
            "msg_a1",
            &authorization_request(&card.card_id, "auth_h1", 400),
        )
        .await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["decision"], "APPROVE");
    assert_eq!(answer["approved_amount"], 400);
    assert_eq!(card.state().await, (1_000, 400, 0));
    // Delivered again: the same answer, held once.
    let again: serde_json::Value = app
        .send_signed(
            "msg_a1",
            &authorization_request(&card.card_id, "auth_h1", 400),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, answer);
    assert_eq!(card.state().await, (1_000, 400, 0));
}

#[tokio::test]
async fn a_decline_names_the_protocols_reason_and_says_zero() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 100).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let answer: serde_json::Value = app
        .send_signed(
            "msg_d1",
            &authorization_request(&card.card_id, "auth_d1", 400),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["decision"], "DECLINE");
    assert_eq!(answer["decline_reason"], "INSUFFICIENT_FUNDS");
    assert_eq!(answer["approved_amount"], 0);
}

#[tokio::test]
async fn messages_that_fail_verification_are_refused_and_leave_nothing_behind() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let body = authorization_request(&card.card_id, "auth_bad", 400);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let other = WebhookSecret::generate();
    let wrong = signature::sign(&other, "msg_x", now, body.as_bytes());
    let good = signature::sign(&app.secret, "msg_x", now, body.as_bytes());
    let stale = signature::sign(&app.secret, "msg_x", now - 301, body.as_bytes());
    let cases: Vec<(&str, String, String, String, u16)> = vec![
        ("wrong secret", now.to_string(), wrong, body.clone(), 401),
        (
            "tampered body",
            now.to_string(),
            good.clone(),
            body.replace("400", "4"),
            401,
        ),
        (
            "stale timestamp",
            (now - 301).to_string(),
            stale,
            body.clone(),
            401,
        ),
        (
            "empty signature",
            now.to_string(),
            String::new(),
            body.clone(),
            400,
        ),
        (
            "truncated signature",
            now.to_string(),
            good[..good.len() - 8].to_owned(),
            body.clone(),
            400,
        ),
        (
            "wrong version",
            now.to_string(),
            good.replace("v1,", "v2,"),
            body.clone(),
            400,
        ),
        (
            "garbage timestamp",
            "12e5".into(),
            good.clone(),
            body.clone(),
            400,
        ),
    ];
    for (name, timestamp, signature, body, status) in cases {
        let response = app.send("msg_x", &timestamp, &signature, &body).await;
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{name}"
        );
    }
    assert_eq!(inbox_count(&db).await, 0);
    assert_eq!(card.state().await, (1_000, 0, 0));
}

#[tokio::test]
async fn during_a_secret_rotation_either_secret_is_accepted() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let old = WebhookSecret::generate();
    let new = WebhookSecret::generate();
    let app = WebhookApp::spawn(&db, vec![new.clone(), old.clone()]).await;
    let body = authorization_request(&card.card_id, "auth_rot", 100);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let both = signature::sign_all(
        &[old.clone(), WebhookSecret::generate()],
        "msg_rot",
        now,
        body.as_bytes(),
    );
    let response = app.send("msg_rot", &now.to_string(), &both, &body).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let db = TestDb::new().await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(100 * 1024));
    let response = app.send_signed("msg_big", &body).await;
    assert_eq!(response.status(), 413);
    assert_eq!(inbox_count(&db).await, 0);
}

#[tokio::test]
async fn an_authentic_but_malformed_message_gets_a_problem_and_changes_nothing() {
    let db = TestDb::new().await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let response = app
        .send_signed("msg_mal", r#"{"type":"transaction.clearing","timestamp":"2026-11-26T10:15:02Z","data":{"amount":12.5}}"#)
        .await;
    assert_eq!(response.status(), 400);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert!(problem["code"].is_string());
    assert_eq!(inbox_count(&db).await, 0);
}

#[tokio::test]
async fn asynchronous_events_are_recorded_before_the_answer_and_duplicates_change_nothing() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    app.send_signed(
        "msg_r1",
        &authorization_request(&card.card_id, "auth_c1", 400),
    )
    .await;
    let clearing = serde_json::json!({
        "type": "transaction.clearing", "timestamp": "2026-11-26T10:15:02Z",
        "data": {"transaction_id": "txn_c1", "authorization_id": "auth_c1", "card_id": card.card_id,
                 "amount": 350, "currency": "EUR",
                 "merchant": {"id": "m_canteen", "name": "CANTEEN", "mcc": "5411", "city": "HAMEENLINNA", "country": "FI"},
                 "cleared_at": "2026-11-26T12:00:00Z", "final": true}
    })
    .to_string();
    for _ in 0..3 {
        let response = app.send_signed("msg_c1", &clearing).await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(card.state().await, (650, 0, 350));
    assert_eq!(inbox_count(&db).await, 2);
    let unknown = r#"{"type":"dispute.opened","timestamp":"2026-11-26T10:15:02Z","data":{"dispute_id":"dp_1"}}"#;
    assert_eq!(app.send_signed("msg_u1", unknown).await.status(), 200);
    let outcome: String = db
        .raw_client()
        .await
        .query_one(
            "select outcome from card.inbox where webhook_id = 'msg_u1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(outcome, "ignored");
}

#[tokio::test]
async fn the_same_request_delivered_many_times_at_once_is_decided_and_held_once() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let body = authorization_request(&card.card_id, "auth_race", 300);
    // Eight redeliveries of one webhook and four copies under other webhook ids, all in flight
    // together: the authorization row, not a webhook lock, makes them one decision.
    let sends = (0..12).map(|i| {
        let webhook_id = if i < 8 {
            "msg_race".to_owned()
        } else {
            format!("msg_race_{i}")
        };
        let app = &app;
        let body = &body;
        async move {
            let response = app.send_signed(&webhook_id, body).await;
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }
    });
    let answers = futures_util::future::join_all(sends).await;
    assert_eq!(answers[0]["decision"], "APPROVE");
    assert!(answers.iter().all(|answer| *answer == answers[0]));
    assert_eq!(card.state().await, (1_000, 300, 0));
    // One inbox row per webhook id: the one delivery and the four other ids.
    assert_eq!(inbox_count(&db).await, 5);
}

#[tokio::test]
async fn an_authentic_message_with_a_nul_character_in_its_text_is_still_decided_and_booked() {
    // JSON may escape U+0000, which PostgreSQL's text and jsonb refuse: without care such a
    // clearing would be answered 5xx and redelivered for 72 hours, its money never booked.
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let request = authorization_request(&card.card_id, "auth_nul", 400)
        .replace("\"CANTEEN\"", "\"CANT\\u0000EEN\"")
        .replace("\"m_canteen\"", "\"m_\\u0000\"");
    assert!(request.contains("\\u0000"));
    let response = app.send_signed("msg_nul_a", &request).await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["decision"], "APPROVE");
    assert_eq!(card.state().await, (1_000, 400, 0));

    let clearing = serde_json::json!({
        "type": "transaction.clearing", "timestamp": "2026-11-26T10:15:02Z",
        "data": {"transaction_id": "txn_\u{0}1", "authorization_id": "auth_nul", "card_id": card.card_id,
                 "amount": 350, "currency": "EUR",
                 "merchant": {"id": "m_\u{0}", "name": "CANT\u{0}EEN", "mcc": "5411", "city": "H\u{0}", "country": "FI"},
                 "cleared_at": "2026-11-26T12:00:00Z", "final": true}
    })
    .to_string();
    assert!(clearing.contains("\\u0000"));
    for _ in 0..2 {
        assert_eq!(app.send_signed("msg_nul_c", &clearing).await.status(), 200);
    }
    assert_eq!(card.state().await, (650, 0, 350));
    assert_eq!(inbox_count(&db).await, 2);
}

#[tokio::test]
async fn clearings_delivered_at_once_and_again_are_each_booked_once() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 10_000).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    for i in 0..20 {
        let request = authorization_request(&card.card_id, &format!("auth_many_{i}"), 100);
        assert_eq!(
            app.send_signed(&format!("msg_r{i}"), &request)
                .await
                .status(),
            200
        );
    }
    let clearing = |i: usize| {
        serde_json::json!({
            "type": "transaction.clearing", "timestamp": "2026-11-26T10:15:02Z",
            "data": {"transaction_id": format!("txn_many_{i}"),
                     "authorization_id": format!("auth_many_{i}"), "card_id": card.card_id,
                     "amount": 80, "currency": "EUR",
                     "merchant": {"id": "m_canteen", "name": "CANTEEN", "mcc": "5411", "city": "HAMEENLINNA", "country": "FI"},
                     "cleared_at": "2026-11-26T12:00:00Z", "final": true}
        })
        .to_string()
    };
    // Each clearing three times, all in flight together: twice under its webhook id, once
    // under another.
    let sends = (0..60).map(|n| {
        let i = n % 20;
        let webhook_id = if n < 40 {
            format!("msg_c{i}")
        } else {
            format!("msg_c{i}_again")
        };
        let body = clearing(i);
        let app = &app;
        async move { app.send_signed(&webhook_id, &body).await.status() }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    // Each 80 captured of 100 held, the rest freed.
    assert_eq!(card.state().await, (10_000 - 20 * 80, 0, 20 * 80));
    // The twenty requests, and forty clearings' webhook ids.
    assert_eq!(inbox_count(&db).await, 60);
    crate::card_booking::assert_card_counters_match(&card.pool).await;
    assert!(card.books.ledger.verify().await.unwrap().is_ok());
}
