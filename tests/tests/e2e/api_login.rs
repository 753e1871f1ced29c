//! Staff sign-in: passwords, the session cookie, and throttling per account and per address.
use saldo::auth::Role;
use serde_json::{Value, json};

use crate::api_support::*;

async fn login(world: &World, username: &str, password: &str) -> reqwest::Response {
    world
        .http
        .post(world.url("/api/staff/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let world = World::new().await;
    world
        .staff_with_password("officer.a", Role::Officer, world.prison_a)
        .await;
    let (status, wrong) = problem(login(&world, "officer.a", "wrong password!!").await).await;
    let (status_unknown, unknown) = problem(login(&world, "nobody.here", PASSWORD).await).await;
    assert_eq!((status, status_unknown), (401, 401));
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "login_failed");
}

#[tokio::test]
async fn the_session_cookie_from_sign_in_authenticates_api_calls() {
    let world = World::new().await;
    let id = world
        .staff_with_password("officer.a", Role::Officer, world.prison_a)
        .await;
    let response = login(&world, "officer.a", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!cookie.contains("Secure"), "no Secure flag over plain http");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me: Value = world
        .http
        .get(world.url("/api/staff/me"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["staff_id"], id.to_string());
    let stored: i64 = world
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from auth.staff_sessions where staff_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    let https = world
        .http
        .post(world.url("/api/staff/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": "officer.a", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(
        https.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_even_against_the_right_one_for_a_while() {
    let world = World::new().await;
    let id = world
        .staff_with_password("officer.a", Role::Officer, world.prison_a)
        .await;
    for _ in 0..5 {
        assert_eq!(
            login(&world, "officer.a", "not the password")
                .await
                .status(),
            401
        );
    }
    let locked = login(&world, "officer.a", PASSWORD).await;
    assert!(locked.headers().contains_key("retry-after"));
    let (status, body) = problem(locked).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("login_locked")));

    // The lock runs out: the right password works again, and resets the account's counter.
    world
        .db
        .raw_client()
        .await
        .execute(
            "update auth.login_throttle set locked_until = now() - interval '1 second'
             where throttle_key = $1",
            &[&format!("staff:{id}")],
        )
        .await
        .unwrap();
    assert_eq!(login(&world, "officer.a", PASSWORD).await.status(), 200);
    let counters: i64 = world
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from auth.login_throttle where throttle_key = $1",
            &[&format!("staff:{id}")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(counters, 0);
}

#[tokio::test]
async fn twenty_failures_from_one_address_lock_that_address_for_every_account() {
    let world = World::new().await;
    world
        .staff_with_password("finance.a", Role::Finance, world.prison_a)
        .await;
    for n in 0..20 {
        let response = login(&world, &format!("guess.{n}"), "some password").await;
        assert_eq!(response.status(), 401);
    }
    let (status, body) = problem(login(&world, "finance.a", PASSWORD).await).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("login_locked")));
}
