//! The spending controls through the real path: signed `authorization.request` webhooks against
//! the running app (`SpendingControls`), for what a probe of the server found.
// Cent amounts are grouped as euros_cents: `100_00` is 100.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use card_adapter::controls::kiosk_limits;
use ledger::controls::{Limits, Policy};
use processor_protocol::signature::WebhookSecret;
use saldo_tests::TestDb;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::card_booking::assert_card_counters_match;
use crate::card_webhook::WebhookApp;
use crate::controls_support::*;
use crate::fixtures::*;

/// The closed template with only a daily limit.
fn daily_only(id: &str, daily_minor: i64) -> Policy {
    let mut policy = Policy::closed_prison(id, 1, "FI", &[CANTEEN]);
    policy.limits = Limits {
        per_authorization: None,
        daily: Some(eur(daily_minor)),
        weekly: None,
        monthly: None,
    };
    policy
}

/// An `authorization.request` at the canteen whose envelope says `at`.
fn request_body(
    card_id: &str,
    authorization_id: &str,
    amount_minor: i64,
    at: OffsetDateTime,
) -> serde_json::Value {
    serde_json::json!({
        "type": "authorization.request",
        "timestamp": at.format(&Rfc3339).unwrap(),
        "data": {
            "authorization_id": authorization_id, "card_id": card_id, "cardholder_id": "ch_test",
            "amount": amount_minor, "currency": "EUR", "merchant_amount": amount_minor,
            "merchant_currency": "EUR",
            "merchant": {"id": CANTEEN, "name": "CANTEEN", "mcc": "5411", "city": "HAMEENLINNA", "country": "FI"},
            "channel": "POS", "partial_approval_capable": false, "parent_authorization_id": null
        }
    })
}

/// Sends a signed request (signed now) and returns the answer.
async fn send(app: &WebhookApp, body: &serde_json::Value) -> serde_json::Value {
    let webhook_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let response = app.send_signed(&webhook_id, &body.to_string()).await;
    assert_eq!(response.status(), 200, "{body}");
    response.json().await.unwrap()
}

async fn spent_today(prisoner: &Prisoner) -> i64 {
    kiosk_limits(
        &prisoner.pool.get().await.unwrap(),
        prisoner.person_id,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
    .unwrap()
    .spent
    .day
    .amount_minor
}

#[tokio::test]
async fn an_increment_is_counted_and_checked_in_the_day_it_was_approved() {
    let db = TestDb::new().await;
    let prison = Prison::with_policy(&db, daily_only("daily-80", 80_00)).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    // Yesterday (local time: Helsinki has no 25-hour day in winter or summer outside October):
    // 10.00, decided then.
    let yesterday = OffsetDateTime::now_utc() - Duration::days(1);
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_yesterday", 10_00, yesterday))
            .await
            .approve
    );
    let now = OffsetDateTime::now_utc();
    let today = send(
        &app,
        &request_body(&prisoner.card_id, "auth_today", 20_00, now),
    )
    .await;
    assert_eq!(today["decision"], "APPROVE");
    // +50.00 on yesterday's authorization, today: 70.00 of today's 80.00.
    let mut first = request_body(&prisoner.card_id, "auth_inc_1", 50_00, now);
    first["data"]["parent_authorization_id"] = "auth_yesterday".into();
    assert_eq!(send(&app, &first).await["decision"], "APPROVE");
    assert_eq!(spent_today(&prisoner).await, 70_00);
    assert_card_counters_match(&db.pool).await;
    // Another +50.00 would make 120.00 today.
    let mut second = request_body(&prisoner.card_id, "auth_inc_2", 50_00, now);
    second["data"]["parent_authorization_id"] = "auth_yesterday".into();
    let answer = send(&app, &second).await;
    assert_eq!(answer["decision"], "DECLINE", "{answer}");
    assert_eq!(answer["decline_reason"], "LIMIT_EXCEEDED");
    // 10.00 fits exactly, one cent more does not.
    let fits = send(
        &app,
        &request_body(&prisoner.card_id, "auth_fits", 10_00, now),
    )
    .await;
    assert_eq!(fits["decision"], "APPROVE");
    let over = send(&app, &request_body(&prisoner.card_id, "auth_over", 1, now)).await;
    assert_eq!(over["decision"], "DECLINE");
    assert_eq!(spent_today(&prisoner).await, 80_00);
    // Yesterday kept its own 10.00.
    let yesterday_spent = kiosk_limits(
        &prisoner.pool.get().await.unwrap(),
        prisoner.person_id,
        yesterday,
    )
    .await
    .unwrap()
    .unwrap()
    .spent
    .day;
    assert_eq!(yesterday_spent, eur(10_00));
    assert_card_counters_match(&db.pool).await;
}

#[tokio::test]
async fn a_reversal_gives_room_back_from_the_latest_increment_first() {
    let db = TestDb::new().await;
    let prison = Prison::with_policy(&db, daily_only("daily-80", 80_00)).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let yesterday = OffsetDateTime::now_utc() - Duration::days(1);
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_parent", 10_00, yesterday))
            .await
            .approve
    );
    let mut increment = request_body(
        &prisoner.card_id,
        "auth_inc",
        50_00,
        OffsetDateTime::now_utc(),
    );
    increment["data"]["parent_authorization_id"] = "auth_parent".into();
    assert_eq!(send(&app, &increment).await["decision"], "APPROVE");
    assert_eq!(spent_today(&prisoner).await, 50_00);
    // 30.00 released: it comes off today's increment, yesterday keeps its 10.00.
    prisoner
        .apply(&card_adapter::process::CardEvent::Reversal {
            authorization_id: "auth_parent".into(),
            card_id: prisoner.card_id.clone(),
            amount: eur(30_00),
        })
        .await;
    assert_eq!(spent_today(&prisoner).await, 20_00);
    assert_card_counters_match(&db.pool).await;
    // A clearing of 70.00 (more than the 30.00 still held): today's increment is whole again
    // (50.00), and what goes beyond everything approved counts with the original, yesterday.
    prisoner
        .apply(&prisoner.clearing("txn_over", Some("auth_parent"), 70_00))
        .await;
    assert_eq!(spent_today(&prisoner).await, 50_00);
    assert_card_counters_match(&db.pool).await;
}

/// (authorized_at, request_timestamp) as recorded on the authorization row.
async fn recorded_times(
    db: &TestDb,
    authorization_id: &str,
) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
    let row = db
        .raw_client()
        .await
        .query_one(
            "select authorized_at, request_timestamp from card.authorizations
             where authorization_id = $1",
            &[&authorization_id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn a_request_time_far_from_the_servers_clock_is_decided_on_the_servers_clock_and_kept() {
    let db = TestDb::new().await;
    let prison = Prison::with_policy(&db, daily_only("daily-80", 80_00)).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    // Whole seconds: compared with what PostgreSQL keeps (microseconds).
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let used_up = send(
        &app,
        &request_body(&prisoner.card_id, "auth_today", 80_00, now),
    )
    .await;
    assert_eq!(used_up["decision"], "APPROVE");
    // The envelope claims another day; the signed header says now. Both are today's.
    for (name, claimed) in [
        ("auth_past", now - Duration::days(3)),
        ("auth_future", now + Duration::days(3)),
    ] {
        let answer = send(&app, &request_body(&prisoner.card_id, name, 50_00, claimed)).await;
        assert_eq!(answer["decision"], "DECLINE", "{name}: {answer}");
        assert_eq!(answer["decline_reason"], "LIMIT_EXCEEDED", "{name}");
        let (authorized_at, request_timestamp) = recorded_times(&db, name).await;
        assert_eq!(
            request_timestamp,
            Some(claimed),
            "{name}: the claim is kept"
        );
        let authorized_at = authorized_at.expect("decided at a time");
        assert!(
            (authorized_at - OffsetDateTime::now_utc()).abs() < Duration::minutes(1),
            "{name}: decided on the server's clock, not {authorized_at}"
        );
    }
    // Within the tolerance (a processor clock two minutes behind) the request's own time stands.
    let close = now - Duration::minutes(2);
    let answer = send(
        &app,
        &request_body(&prisoner.card_id, "auth_close", 1_00, close),
    )
    .await;
    assert_eq!(answer["decision"], "DECLINE");
    assert_eq!(
        recorded_times(&db, "auth_close").await,
        (Some(close), Some(close))
    );
    assert_eq!(spent_today(&prisoner).await, 80_00);
}

#[tokio::test]
async fn a_request_with_malformed_merchant_facts_is_declined_as_invalid_and_recorded() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let now = OffsetDateTime::now_utc();
    for (name, field, value) in [
        ("auth_mcc", "mcc", "54a1"),
        ("auth_country", "country", "fi"),
        ("auth_merchant_id", "id", ""),
    ] {
        let mut body = request_body(&prisoner.card_id, name, 5_00, now);
        body["data"]["merchant"][field] = value.into();
        let answer = send(&app, &body).await;
        assert_eq!(answer["decision"], "DECLINE", "{name}: {answer}");
        assert_eq!(answer["decline_reason"], "OTHER", "{name}");
        let row = db
            .raw_client()
            .await
            .query_one(
                "select a.decision, a.reason_key, a.merchant ->> $2, i.outcome
                 from card.authorizations a, card.inbox i
                 where a.authorization_id = $1 and convert_from(i.body, 'UTF8') like '%' || $1 || '%'",
                &[&name, &field],
            )
            .await
            .unwrap();
        let recorded: (String, String, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(
            recorded,
            (
                "DECLINE".into(),
                "invalid_request".into(),
                value.into(),
                "applied".into()
            ),
            "{name}"
        );
    }
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.held,
        eur(0)
    );
}

#[tokio::test]
async fn a_partial_approval_names_the_limit_that_bound_it_not_the_first_one_below_the_amount() {
    let db = TestDb::new().await;
    let mut policy = daily_only("day-50-week-40", 50_00);
    policy.limits.weekly = Some(eur(40_00));
    let prison = Prison::with_policy(&db, policy).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let now = OffsetDateTime::now_utc();
    let first = send(
        &app,
        &request_body(&prisoner.card_id, "auth_first", 10_00, now),
    )
    .await;
    assert_eq!(first["decision"], "APPROVE");
    // Day room 40.00, week room 30.00: 50.00 asked, 30.00 approved because of the week.
    let mut capable = request_body(&prisoner.card_id, "auth_partial", 50_00, now);
    capable["data"]["partial_approval_capable"] = true.into();
    let answer = send(&app, &capable).await;
    assert_eq!(answer["decision"], "APPROVE");
    assert_eq!(answer["approved_amount"], 30_00);
    assert_eq!(
        prisoner.recorded("auth_partial").await,
        (
            Some("day-50-week-40@1".to_owned()),
            Some("weekly_limit_exceeded".to_owned()),
            30_00
        )
    );
}

#[tokio::test]
async fn a_request_on_a_paused_card_is_recorded_as_card_frozen() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let app = WebhookApp::spawn(&db, vec![WebhookSecret::generate()]).await;
    let paused = serde_json::json!({
        "type": "card.state_changed", "timestamp": OffsetDateTime::now_utc().format(&Rfc3339).unwrap(),
        "data": {"card_id": prisoner.card_id, "state": "PAUSED", "previous_state": "ACTIVE",
                 "reason": "staff_freeze", "changed_by": "API"}
    });
    send(&app, &paused).await;
    let answer = send(
        &app,
        &request_body(
            &prisoner.card_id,
            "auth_paused",
            1_00,
            OffsetDateTime::now_utc(),
        ),
    )
    .await;
    assert_eq!(answer["decline_reason"], "CARD_INACTIVE");
    let reason: String = db
        .raw_client()
        .await
        .query_one(
            "select reason_key from card.authorizations where authorization_id = 'auth_paused'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "card_frozen");
}
