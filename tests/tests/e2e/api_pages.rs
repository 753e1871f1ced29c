//! The staff pages over plain HTTP (the browser tests drive sign-in and the trial balance):
//! the prisoner page, proposing and approving an adjustment with forms, the dead-letter page,
//! and the redirect to sign-in without a session.
use saldo::auth::Role;
use serde_json::json;
use uuid::Uuid;

use crate::api_support::*;

fn page(
    world: &World,
    user: &StaffUser,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    world
        .http
        .request(method, world.url(path))
        .header("cookie", format!("saldo_staff={}", user.token))
        // What a browser sends on its own pages' forms.
        .header("sec-fetch-site", "same-origin")
}

#[tokio::test]
async fn a_page_without_a_session_redirects_to_sign_in() {
    let world = World::new().await;
    for path in [
        "/staff",
        "/staff/home",
        "/staff/trial-balance",
        "/staff/dead-letters",
    ] {
        let response = world.http.get(world.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/staff/sign-in", "{path}");
    }
}

#[tokio::test]
async fn finance_staff_propose_on_the_prisoner_page_and_another_approver_approves_on_the_adjustments_page()
 {
    let world = World::new().await;
    let officer = world
        .staff("pg.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "PG-1").await;
    let maker = world
        .staff(
            "pg.maker",
            &[Role::Finance, Role::FinanceApprover],
            world.prison_a,
        )
        .await;
    let checker = world
        .staff("pg.checker", &[Role::FinanceApprover], world.prison_a)
        .await;
    let prison = world.prison_a;

    let shown = page(
        &world,
        &maker,
        reqwest::Method::GET,
        &format!("/staff/prisons/{prison}/prisoners/{person}?purpose=balance_enquiry"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    assert!(html.contains("Prisoner PG-1"), "{html}");
    assert!(html.contains("Propose an adjustment"));
    let logged = world.access_log().await;
    assert!(
        logged
            .iter()
            .any(|row| row.purpose == "balance_enquiry" && row.subject_person_id == Some(person)),
        "the page's consultation is logged with its purpose"
    );

    let proposed = page(
        &world,
        &maker,
        reqwest::Method::POST,
        &format!("/staff/prisons/{prison}/prisoners/{person}/adjustments"),
    )
    .header("content-type", "application/x-www-form-urlencoded")
    .body("account=spendable&institution_account=suspense&direction=credit_prisoner&amount=12.50&reason_code=refund&reason=double+charge")
    .send()
    .await
    .unwrap();
    assert_eq!(proposed.status(), 303);

    // The maker sees the proposal but no approve button for it.
    let list = page(
        &world,
        &maker,
        reqwest::Method::GET,
        &format!("/staff/prisons/{prison}/adjustments"),
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        list.contains("12.50 EUR") && list.contains("proposed"),
        "{list}"
    );
    assert!(!list.contains("/approve"), "the maker is offered approval");

    let id: Uuid = world
        .db
        .raw_client()
        .await
        .query_one("select id from adjustments.proposals", &[])
        .await
        .unwrap()
        .get(0);
    let approve = format!("/staff/prisons/{prison}/adjustments/{id}/approve");
    let refused = page(&world, &maker, reqwest::Method::POST, &approve)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("four_eyes"));

    let list = page(
        &world,
        &checker,
        reqwest::Method::GET,
        &format!("/staff/prisons/{prison}/adjustments"),
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(list.contains(&approve), "the checker is offered approval");
    let approved = page(&world, &checker, reqwest::Method::POST, &approve)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 303);
    let balances: serde_json::Value = world
        .http
        .get(world.prison_url(prison, &format!("/prisoners/{person}/balances")))
        .bearer_auth(&checker.token)
        .header("saldo-purpose", "balance_enquiry")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let spendable = balances["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|account| account["purpose"] == "spendable")
        .unwrap();
    assert_eq!(
        spendable["available"],
        json!({"amount_minor": 1250, "currency": "EUR"})
    );
}

#[tokio::test]
async fn the_dead_letter_page_lists_calls_and_its_retry_button_requeues_one() {
    let world = World::new().await;
    let admin = world
        .staff("pg.admin", &[Role::Admin], world.prison_a)
        .await;
    let id = Uuid::now_v7();
    world
        .db
        .raw_client()
        .await
        .execute(
            "insert into card.outbox (id, idempotency_key, operation, method, path, body, state, last_error)
             values ($1, $2, 'create_card', 'POST', '/v1/cards', '{\"memo\": \"PRIVATE\"}', 'dead', 'egress_personal_value')",
            &[&id, &format!("cd_{}", id.simple())],
        )
        .await
        .unwrap();
    let html = page(&world, &admin, reqwest::Method::GET, "/staff/dead-letters")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("egress_personal_value") && html.contains("/v1/cards"),
        "{html}"
    );
    assert!(!html.contains("PRIVATE"), "a body leaked");
    let retried = page(
        &world,
        &admin,
        reqwest::Method::POST,
        &format!("/staff/dead-letters/{id}/retry"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(retried.status(), 303);
    let state: String = world
        .db
        .raw_client()
        .await
        .query_one("select state from card.outbox where id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "pending");
    // A cross-site post of the same form is refused.
    let cross = world
        .http
        .post(world.url(&format!("/staff/dead-letters/{id}/retry")))
        .header("cookie", format!("saldo_staff={}", admin.token))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
}
