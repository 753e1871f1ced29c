//! Staff sign-in: passwords, the session cookie, and throttling per account and per address.
use saldo::auth::Role;
use saldo::http::TrustedProxies;
use saldo::secret::HashingLimits;
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

/// A client that is not a configured proxy cannot claim https: `X-Forwarded-Proto` from it is
/// ignored, so the cookie gets no `Secure` flag it would be right to trust only from the proxy.
#[tokio::test]
async fn x_forwarded_proto_from_a_client_that_is_not_a_trusted_proxy_is_ignored() {
    let world = World::new().await;
    world
        .staff_with_password("officer.a", Role::Officer, world.prison_a)
        .await;
    let response = world
        .http
        .post(world.url("/api/staff/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": "officer.a", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        !cookie.contains("Secure"),
        "an untrusted client's X-Forwarded-Proto decided the cookie: {cookie}"
    );
}

/// From a configured proxy, `X-Forwarded-Proto: https` sets `Secure`, and the client's address
/// is the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (so the
/// per-address lockout counts the client, not the proxy).
#[tokio::test]
async fn a_trusted_proxy_decides_the_secure_flag_and_names_the_client_address() {
    let world = World::configured(|state| {
        state.with_trusted_proxies(TrustedProxies::parse("127.0.0.0/8, ::1").unwrap())
    })
    .await;
    world
        .staff_with_password("officer.a", Role::Officer, world.prison_a)
        .await;
    let via_proxy = |password: &str| {
        world
            .http
            .post(world.url("/api/staff/login"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", "198.51.100.7, 203.0.113.9, 127.0.0.2")
            .json(&json!({"username": "officer.a", "password": password}))
    };
    let response = via_proxy(PASSWORD).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    assert_eq!(
        via_proxy("not the password").send().await.unwrap().status(),
        401
    );
    let keys: Vec<String> = world
        .db
        .raw_client()
        .await
        .query(
            "select throttle_key from auth.login_throttle where throttle_key like 'ip:%'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(keys, vec!["ip:203.0.113.9".to_owned()]);
}

/// A burst of failed sign-ins (unknown users, as in an attack) runs at most the bound of argon2
/// hashes at once; the excess is answered `429 login_busy` with `Retry-After`, not queued
/// without end, and is not hashed at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_hashes_at_most_the_bound_at_once_and_refuses_the_rest() {
    let world = World::configured(|state| {
        state.with_password_hashing(HashingLimits {
            max_running: 2,
            max_waiting: 4,
            max_wait_ms: 1_000,
            max_per_client: 2,
        })
    })
    .await;
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..100 {
        let http = world.http.clone();
        let url = world.url("/api/staff/login");
        burst.spawn(async move {
            http.post(url)
                .json(&json!({"username": format!("nobody.{n}"), "password": "some password"}))
                .send()
                .await
                .unwrap()
        });
    }
    let (mut failed, mut busy, mut locked) = (0, 0, 0);
    while let Some(response) = burst.join_next().await {
        let response = response.unwrap();
        let retry_after = response.headers().get("retry-after").cloned();
        let (status, body) = problem(response).await;
        match (status, body["code"].as_str()) {
            (401, Some("login_failed")) => failed += 1,
            (429, Some("login_busy")) => {
                let seconds: u64 = retry_after
                    .expect("a busy answer says when to retry")
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&seconds));
                busy += 1;
            }
            (429, Some("login_locked")) => locked += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(busy > 0, "none refused: {failed} failed, {locked} locked");
    assert_eq!(failed + busy + locked, 100);
    let hashing = &world.app.password_hashing;
    assert!(
        (1..=2).contains(&hashing.peak_running()),
        "{} hashes ran at once",
        hashing.peak_running()
    );
    assert_eq!(hashing.running(), 0);
    assert_eq!(
        hashing.hashes_done(),
        failed,
        "every failure, and only those, cost one hash"
    );
    assert_eq!(hashing.refused_busy(), busy);
}

/// An unknown username costs the same argon2 work as a wrong password for a known one: one hash
/// each, with the pinned parameters the stored hashes have.
#[tokio::test]
async fn an_unknown_user_costs_the_same_hash_work_as_a_known_one() {
    let world = World::new().await;
    let id = world
        .staff_with_password("officer.a", Role::Officer, world.prison_a)
        .await;
    let hashing = &world.app.password_hashing;
    for _ in 0..3 {
        assert_eq!(
            login(&world, "officer.a", "wrong password!!")
                .await
                .status(),
            401
        );
    }
    let known = hashing.hashes_done();
    for n in 0..3 {
        assert_eq!(
            login(&world, &format!("nobody.{n}"), "wrong password!!")
                .await
                .status(),
            401
        );
    }
    let unknown = hashing.hashes_done() - known;
    assert_eq!((known, unknown), (3, 3));
    let stored: String = world
        .db
        .raw_client()
        .await
        .query_one("select password_hash from auth.staff where id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "the known user's hash has the parameters the unknown one is hashed with"
    );
}

/// One client's burst cannot keep another out: each client (address) has at most its share of
/// the gate running or waiting, the rest of its burst is refused at once, and a member of staff
/// at another address signing in meanwhile gets a turn and is signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_addresss_burst_of_sign_ins_does_not_lock_out_staff_at_another_address() {
    let world = World::configured(|state| {
        state
            .with_trusted_proxies(TrustedProxies::parse("127.0.0.1").unwrap())
            .with_password_hashing(HashingLimits {
                max_running: 1,
                max_waiting: 4,
                max_wait_ms: 5_000,
                max_per_client: 1,
            })
    })
    .await;
    world
        .staff_with_password("officer.a", Role::Officer, world.prison_a)
        .await;
    let sign_in = |from: &str, username: String, password: &str| {
        world
            .http
            .post(world.url("/api/staff/login"))
            .header("x-forwarded-for", from)
            .json(&json!({"username": username, "password": password}))
            .send()
    };
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..15 {
        let request = sign_in("203.0.113.66", format!("guess.{n}"), "some password");
        burst.spawn(request);
    }
    // Once the burst has filled what it may of the gate (some of it is refused)…
    let hashing = world.app.password_hashing.clone();
    for _ in 0..1_000 {
        if hashing.refused_busy() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        hashing.refused_busy() > 0,
        "the burst never filled its share"
    );
    // …a member of staff at another address still gets a turn.
    let staff = sign_in("198.51.100.20", "officer.a".into(), PASSWORD)
        .await
        .unwrap();
    assert_eq!(staff.status(), 200, "the member of staff got a turn");
    let (mut failed, mut busy) = (0, 0);
    while let Some(response) = burst.join_next().await {
        let (status, body) = problem(response.unwrap().unwrap()).await;
        match (status, body["code"].as_str()) {
            (401, Some("login_failed")) => failed += 1,
            (429, Some("login_busy")) => busy += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(
        busy > 0,
        "the burst beyond its share was refused ({failed} failed)"
    );
    // Its share was one at a time: the 15 arrived together, so hardly any got a turn (without a
    // share per client, one running and four waiting would have).
    assert!(failed <= 2, "{failed} of the burst were hashed");
    assert_eq!(hashing.peak_running(), 1);
}
