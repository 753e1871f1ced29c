//! Bad input on the adjustment, dead-letter and card routes: 4xx problem+json with a stable code,
//! and nothing changed anywhere (ledger, proposals, outbox, staff actions, access log).
use reqwest::Method;
use saldo::auth::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_support::*;

async fn everything(world: &World) -> (Vec<i64>, usize, Vec<i64>) {
    let client = world.db.raw_client().await;
    let row = client
        .query_one(
            "select (select count(*) from adjustments.proposals),
                    (select count(*) from adjustments.decisions),
                    (select count(*) from card.outbox),
                    (select count(*) from card.outbox where state = 'dead'),
                    (select count(*) from audit.staff_actions)",
            &[],
        )
        .await
        .unwrap();
    (
        world.table_counts().await,
        world.access_log().await.len(),
        (0..5).map(|i| row.get(i)).collect(),
    )
}

fn proposal() -> Value {
    json!({"account": "spendable", "institution_account": "suspense",
        "direction": "credit_prisoner", "amount_minor": 100, "currency": "EUR",
        "reason_code": "correction", "reason": "why"})
}

struct Setup {
    world: World,
    staff: StaffUser,
    person: Uuid,
    dead: Uuid,
    adjustment: String,
}

async fn setup() -> Setup {
    let world = World::new().await;
    let staff = world.staff("all.roles", &Role::ALL, world.prison_a).await;
    let person = world.admit(&staff, world.prison_a, "BADOPS-1").await;
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let account = ledger::store::account_by_code(&tx, &format!("person:{person}:spendable:EUR"))
        .await
        .unwrap()
        .unwrap();
    card_adapter::booking::register_card(
        &tx,
        "card_bad1",
        "ch_bad1",
        person,
        account.id,
        "ACTIVE",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let dead = Uuid::now_v7();
    world
        .db
        .raw_client()
        .await
        .execute(
            "insert into card.outbox (id, idempotency_key, operation, method, path, state)
             values ($1, $2, 'set_card_state', 'POST', '/v1/cards/card_bad1/state', 'dead')",
            &[&dead, &format!("st_{}", dead.simple())],
        )
        .await
        .unwrap();
    // A proposal by someone else, so the all-roles user could approve it if input were valid.
    let maker = world
        .staff("bad.maker", &[Role::Finance], world.prison_a)
        .await;
    let created: Value = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/adjustments")))
        .bearer_auth(&maker.token)
        .json(&proposal())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Setup {
        adjustment: created["id"].as_str().unwrap().to_owned(),
        world,
        staff,
        person,
        dead,
    }
}

#[tokio::test]
async fn malformed_wrongly_typed_unknown_and_oversized_bodies_change_nothing_on_the_new_json_routes()
 {
    let s = setup().await;
    let before = everything(&s.world).await;
    let routes = [
        (
            s.world.prison_url(
                s.world.prison_a,
                &format!("/prisoners/{}/adjustments", s.person),
            ),
            proposal(),
        ),
        (
            s.world.prison_url(
                s.world.prison_a,
                &format!("/prisoners/{}/card/reissue", s.person),
            ),
            json!({"reason": "LOST"}),
        ),
    ];
    for (url, body) in routes {
        let mut unknown = body.clone();
        unknown["is_admin"] = json!(true);
        let mut wrong = body.clone();
        let first = wrong.as_object().unwrap().keys().next().unwrap().clone();
        wrong[&first] = json!({"nested": [1, 2.5]});
        for (what, content_type, raw, status, code) in [
            (
                "malformed",
                "application/json",
                "{\"".to_owned(),
                400,
                "malformed_json",
            ),
            (
                "empty",
                "application/json",
                String::new(),
                400,
                "malformed_json",
            ),
            (
                "wrong type",
                "application/json",
                wrong.to_string(),
                422,
                "invalid_body",
            ),
            (
                "unknown field",
                "application/json",
                unknown.to_string(),
                422,
                "invalid_body",
            ),
            (
                "array",
                "application/json",
                "[]".to_owned(),
                422,
                "invalid_body",
            ),
            (
                "form",
                "application/x-www-form-urlencoded",
                "a=b".to_owned(),
                415,
                "unsupported_media_type",
            ),
            (
                "oversized",
                "application/json",
                format!("{{\"pad\": \"{}\"}}", "x".repeat(64 * 1024)),
                413,
                "body_too_large",
            ),
        ] {
            let response = s
                .world
                .http
                .post(&url)
                .bearer_auth(&s.staff.token)
                .header("content-type", content_type)
                .body(raw)
                .send()
                .await
                .unwrap();
            let (got, problem) = problem(response).await;
            assert_eq!(
                (got, problem["code"].as_str()),
                (status, Some(code)),
                "{what}: {url}"
            );
        }
    }
    assert_eq!(everything(&s.world).await, before, "nothing changed");
}

#[tokio::test]
async fn out_of_range_adjustments_are_refused_with_their_own_codes() {
    let s = setup().await;
    let before = everything(&s.world).await;
    let url = s.world.prison_url(
        s.world.prison_a,
        &format!("/prisoners/{}/adjustments", s.person),
    );
    let with = |field: &str, value: Value| {
        let mut body = proposal();
        body[field] = value;
        body
    };
    for (body, code) in [
        (with("amount_minor", json!(12.5)), "invalid_body"),
        (with("amount_minor", json!("100")), "invalid_body"),
        (with("amount_minor", json!(0)), "amount_not_positive"),
        (with("amount_minor", json!(-100)), "amount_not_positive"),
        (with("currency", json!("XXX")), "invalid_body"),
        (with("currency", json!("SEK")), "currency_not_supported"),
        (with("direction", json!("sideways")), "invalid_body"),
        (with("reason_code", json!("because")), "invalid_body"),
        (with("reason", json!("")), "reason_invalid"),
        (with("reason", json!("x".repeat(501))), "reason_invalid"),
        (with("account", json!("restitution")), "account_invalid"),
        (
            with("institution_account", json!("card_settlement_payable")),
            "institution_account_invalid",
        ),
    ] {
        let response = s
            .world
            .http
            .post(&url)
            .bearer_auth(&s.staff.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some(code)),
            "{body}"
        );
    }
    assert_eq!(everything(&s.world).await, before, "nothing changed");
}

#[tokio::test]
async fn malformed_ids_queries_and_missing_forged_or_cross_site_credentials_change_nothing() {
    let s = setup().await;
    let before = everything(&s.world).await;
    let prison = |rest: &str| s.world.prison_url(s.world.prison_a, rest);
    let person = s.person;
    let posts = [
        prison(&format!("/adjustments/{}/approve", s.adjustment)),
        prison(&format!("/adjustments/{}/reject", s.adjustment)),
        s.world
            .url(&format!("/api/staff/dead-letters/{}/retry", s.dead)),
        prison(&format!("/prisoners/{person}/card/freeze")),
        prison(&format!("/prisoners/{person}/card/unfreeze")),
    ];
    for url in &posts {
        // No credentials, a forged token, a cross-site browser post.
        let none = s.world.http.post(url).send().await.unwrap();
        assert_eq!(problem(none).await.0, 401, "{url}");
        let forged = s
            .world
            .http
            .post(url)
            .bearer_auth("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .send()
            .await
            .unwrap();
        assert_eq!(problem(forged).await.0, 401, "{url}");
        let cross_site = s
            .world
            .http
            .post(url)
            .header("cookie", format!("saldo_staff={}", s.staff.token))
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        let (status, body) = problem(cross_site).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("cross_site_request")),
            "{url}"
        );
        // The id spoiled.
        let spoiled = url
            .replace(&s.adjustment, "not-a-uuid")
            .replace(&s.dead.to_string(), "42");
        let spoiled = spoiled.replace(&format!("/prisoners/{person}/"), "/prisoners/nope/");
        let response = s
            .world
            .http
            .post(&spoiled)
            .bearer_auth(&s.staff.token)
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_path")),
            "{spoiled}"
        );
    }
    // Unknown ids are 404.
    for url in [
        prison(&format!("/adjustments/{}/approve", Uuid::new_v4())),
        s.world
            .url(&format!("/api/staff/dead-letters/{}/retry", Uuid::new_v4())),
        prison(&format!("/prisoners/{}/card/freeze", Uuid::new_v4())),
    ] {
        let response = s
            .world
            .http
            .post(&url)
            .bearer_auth(&s.staff.token)
            .send()
            .await
            .unwrap();
        assert_eq!(problem(response).await.0, 404, "{url}");
    }
    for url in [
        prison("/adjustments?limit=0"),
        prison("/adjustments?limit=abc"),
        prison("/adjustments?state=maybe"),
        prison("/adjustments?sort=desc"),
        s.world.url("/api/staff/dead-letters?limit=501"),
        s.world.url("/api/staff/dead-letters?body=true"),
    ] {
        let response = s
            .world
            .http
            .request(Method::GET, &url)
            .bearer_auth(&s.staff.token)
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_query")),
            "{url}"
        );
    }
    let (tables, _, ours) = everything(&s.world).await;
    // Failed look-ups of unknown prisoners are logged (not_found); nothing else may change.
    assert_eq!((tables, ours), (before.0, before.2), "nothing changed");
}
