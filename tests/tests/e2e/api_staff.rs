//! The staff JSON API: admission, look-ups, balances, statements, deposits, the trial balance,
//! staff accounts and kiosk devices, sessions.
use saldo::auth::Role;
use serde_json::{Value, json};

use crate::api_support::*;

const PURPOSE: (&str, &str) = ("saldo-purpose", "case_management");

#[tokio::test]
async fn an_officer_admits_a_prisoner_with_three_euro_sub_accounts_and_a_pin() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let response = world
        .http
        .post(world.prison_url(world.prison_a, "/prisoners"))
        .bearer_auth(&officer.token)
        .json(&admission("A-1001"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["regime"], "led");
    assert_eq!(body["prison_regime"], "closed_prison", "the default");
    let mut purposes: Vec<&str> = body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["currency"], "EUR");
            a["purpose"].as_str().unwrap()
        })
        .collect();
    purposes.sort();
    assert_eq!(purposes, ["held_deposits", "release_savings", "spendable"]);
    let person_id: uuid::Uuid = body["person_id"].as_str().unwrap().parse().unwrap();
    let client = world.db.raw_client().await;
    let pins: i64 = client
        .query_one(
            "select count(*) from auth.kiosk_pins where person_id = $1 and pin_hash like '$argon2id$%'",
            &[&person_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pins, 1, "the PIN is stored as an argon2id hash");
    // The ledger knows the person by id only.
    let codes: Vec<String> = client
        .query(
            "select code from ledger_accounts where person_id = $1",
            &[&person_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        codes
            .iter()
            .all(|c| !c.contains("A-1001") && !c.contains("Matti"))
    );
}

/// The card follows the policy of the regime it is admitted under; an unknown one is refused.
#[tokio::test]
async fn an_admission_names_the_prison_regime_whose_policy_the_card_follows() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    for (number, regime) in [("A-2001", "open_prison"), ("A-2002", "remand")] {
        let mut request = admission(number);
        request["prison_regime"] = json!(regime);
        let response = world
            .post_admission(&officer, world.prison_a, &request)
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["prison_regime"], regime);
        let person_id: uuid::Uuid = body["person_id"].as_str().unwrap().parse().unwrap();
        let placed: String = world
            .db
            .raw_client()
            .await
            .query_one(
                "select regime from controls.card_modes where person_id = $1
                 order by effective_from desc, id desc limit 1",
                &[&person_id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(placed, regime);
    }
    let before = world.table_counts().await;
    let mut request = admission("A-2003");
    request["prison_regime"] = json!("hotel");
    let response = world
        .post_admission(&officer, world.prison_a, &request)
        .await;
    let (status, body) = problem(response).await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "regime_invalid");
    assert_eq!(world.table_counts().await, before);
}

#[tokio::test]
async fn a_prisoner_number_is_admitted_only_once() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    world.admit(&officer, world.prison_a, "A-1").await;
    let before = world.table_counts().await;
    let response = world
        .http
        .post(world.prison_url(world.prison_a, "/prisoners"))
        .bearer_auth(&officer.token)
        .json(&admission("A-1"))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "prisoner_number_taken");
    assert!(
        !body.to_string().contains("A-1\""),
        "the number is not echoed"
    );
    assert_eq!(world.table_counts().await, before);
}

#[tokio::test]
async fn a_look_up_by_prisoner_number_returns_the_record_when_a_purpose_is_given() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "A-77").await;
    let lookup = |purpose: Option<&'static str>| {
        let mut request = world
            .http
            .post(world.prison_url(world.prison_a, "/prisoners/lookup"))
            .bearer_auth(&officer.token)
            .json(&json!({"prisoner_number": "A-77"}));
        if let Some(purpose) = purpose {
            request = request.header("saldo-purpose", purpose);
        }
        request.send()
    };
    let (status, body) = problem(lookup(None).await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("purpose_required"))
    );
    let (status, body) = problem(lookup(Some("curiosity")).await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("purpose_invalid"))
    );

    let found: Value = lookup(Some("case_management"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["person_id"], person_id.to_string());
    assert_eq!(found["full_name"], "Matti Meikäläinen");
    assert_eq!(found["date_of_birth"], "1990-01-01");
    assert_eq!(found["preferred_language"], "fi");
    assert_eq!(found["regime"], "led");

    let shown: Value = world
        .http
        .get(world.prison_url(world.prison_a, &format!("/prisoners/{person_id}")))
        .bearer_auth(&officer.token)
        .header(PURPOSE.0, PURPOSE.1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["prisoner_number"], "A-77");
    assert_eq!(shown["payout_iban"], "FI2112345600000785");
}

async fn deposit(world: &World, token: &str, person: uuid::Uuid, body: Value) -> reqwest::Response {
    world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cash_at_intake_shows_in_the_balances_and_the_statement() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "A-2").await;
    let response = deposit(
        &world,
        &finance.token,
        person,
        json!({"idempotency_key": "k1", "source": "cash_at_intake", "amount_minor": 2550, "currency": "EUR"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["spendable"]["available"]["amount_minor"], 2550);

    let balances: Value = world
        .http
        .get(world.prison_url(world.prison_a, &format!("/prisoners/{person}/balances")))
        .bearer_auth(&finance.token)
        .header(PURPOSE.0, "balance_enquiry")
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
        .find(|a| a["purpose"] == "spendable")
        .unwrap();
    assert_eq!(
        spendable["posted"],
        json!({"amount_minor": 2550, "currency": "EUR"})
    );
    assert_eq!(spendable["held"]["amount_minor"], 0);

    let statement: Value = world
        .http
        .get(world.prison_url(
            world.prison_a,
            &format!("/prisoners/{person}/statement?limit=10"),
        ))
        .bearer_auth(&officer.token)
        .header(PURPOSE.0, PURPOSE.1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lines = statement["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["amount"]["amount_minor"], 2550);
    assert_eq!(lines[0]["description"], "Cash at intake");

    let cash: i64 = world
        .db
        .raw_client()
        .await
        .query_one(
            "select coalesce(sum(p.amount_minor), 0)::bigint from journal_postings p
             join ledger_accounts a on a.id = p.account_id where a.code = 'institution:cash_on_hand:EUR'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cash, 2550, "cash on hand is debited");
}

#[tokio::test]
async fn a_family_deposit_needs_a_registered_depositor_and_is_booked_once_per_key() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::FinanceApprover], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "A-3").await;

    let without = deposit(
        &world,
        &finance.token,
        person,
        json!({"idempotency_key": "f1", "source": "family_deposit", "amount_minor": 1000, "currency": "EUR"}),
    )
    .await;
    assert_eq!(problem(without).await.1["code"], "depositor_required");

    let unknown = deposit(
        &world,
        &finance.token,
        person,
        json!({"idempotency_key": "f1", "source": "family_deposit", "amount_minor": 1000,
               "currency": "EUR", "depositor_person_id": uuid::Uuid::new_v4()}),
    )
    .await;
    assert_eq!(problem(unknown).await.0, 404);

    let depositor: Value = world
        .http
        .post(world.prison_url(world.prison_a, "/depositors"))
        .bearer_auth(&finance.token)
        .json(&json!({"full_name": "Maija Meikäläinen", "contact": "+358 40 123", "bank_account": "BE68539007547034"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(depositor["regime"], "gdpr");
    let body = json!({"idempotency_key": "f2", "source": "family_deposit", "amount_minor": 1000,
                      "currency": "EUR", "depositor_person_id": depositor["person_id"]});
    // A registered depositor still needs approval as a sender to this prisoner.
    let unapproved = deposit(&world, &finance.token, person, body.clone()).await;
    assert_eq!(problem(unapproved).await.1["code"], "sender_not_approved");
    let approval = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!(
                "/depositors/{}/approval",
                depositor["person_id"].as_str().unwrap()
            ),
        ))
        .bearer_auth(&finance.token)
        .json(&json!({"person_id": person, "approved": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(approval.status(), 200);
    let first: Value = deposit(&world, &finance.token, person, body.clone())
        .await
        .json()
        .await
        .unwrap();
    let again: Value = deposit(&world, &finance.token, person, body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        first["entry_id"], again["entry_id"],
        "a replay returns the same entry"
    );
    assert_eq!(first["state"], "accepted", "under the review threshold");
    assert_eq!(first["spendable"]["available"]["amount_minor"], 1000);
    let entries: i64 = world
        .db
        .raw_client()
        .await
        .query_one("select count(*) from journal_entries", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(entries, 1);
    let conflicting = deposit(
        &world,
        &finance.token,
        person,
        json!({"idempotency_key": "f2", "source": "family_deposit", "amount_minor": 999,
               "currency": "EUR", "depositor_person_id": depositor["person_id"]}),
    )
    .await;
    assert_eq!(problem(conflicting).await.1["code"], "idempotency_conflict");
}

#[tokio::test]
async fn the_trial_balance_balances_and_sums_prisoners_per_purpose_in_json_and_csv() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let auditor = world
        .staff("auditor.a", &[Role::Auditor], world.prison_a)
        .await;
    for (number, amount) in [("A-10", 500), ("A-11", 700)] {
        let person = world.admit(&officer, world.prison_a, number).await;
        let response = deposit(
            &world,
            &finance.token,
            person,
            json!({"idempotency_key": number, "source": "cash_at_intake", "amount_minor": amount, "currency": "EUR"}),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    let balance: Value = world
        .http
        .get(world.url("/api/staff/trial-balance"))
        .bearer_auth(&auditor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        balance["totals"],
        json!([{"currency": "EUR", "debit_minor": 1200, "credit_minor": 1200, "balanced": true}])
    );
    let spendable = balance["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["account"] == "prisoners:spendable:EUR")
        .unwrap();
    assert_eq!(spendable["accounts"], 2);
    assert_eq!(spendable["credit_minor"], 1200);
    assert!(
        !balance.to_string().contains("person:"),
        "no line names a person"
    );

    let csv = world
        .http
        .get(world.url("/api/staff/trial-balance.csv"))
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("account,account_type,currency,accounts,debit_minor,credit_minor\r\n")
    );
    assert!(text.contains("prisoners:spendable:EUR,liability,EUR,2,0,1200\r\n"));
    assert!(text.contains("total,,EUR,,1200,1200\r\n"));
}

#[tokio::test]
async fn an_admin_creates_staff_who_sign_in_and_registers_kiosk_devices() {
    let world = World::new().await;
    let admin = world.staff("admin.a", &[Role::Admin], world.prison_a).await;
    let created = world
        .http
        .post(world.prison_url(world.prison_a, "/staff"))
        .bearer_auth(&admin.token)
        .json(&json!({"username": "new.officer", "password": PASSWORD, "roles": ["officer"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let login = world
        .http
        .post(world.url("/api/staff/login"))
        .json(&json!({"username": "new.officer", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let token = login.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me: Value = world
        .http
        .get(world.url("/api/staff/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["grants"],
        json!([{"prison_id": world.prison_a, "role": "officer"}])
    );

    let device: Value = world
        .http
        .post(world.prison_url(world.prison_a, "/kiosk-devices"))
        .bearer_auth(&admin.token)
        .json(&json!({"label": "Wing B"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_token = device["device_token"].as_str().unwrap();
    let page = world
        .http
        .get(world.url("/kiosk"))
        .header("saldo-kiosk-device", device_token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the new device opens the kiosk");
    let stored: i64 = world
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from auth.kiosk_devices where token_sha256 = sha256($1::text::bytea)",
            &[&device_token],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1, "only the token's SHA-256 is stored");
}

#[tokio::test]
async fn a_session_ends_at_logout_and_after_idle_time() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let me = |token: String| {
        world
            .http
            .get(world.url("/api/staff/me"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(me(officer.token.clone()).await.unwrap().status(), 200);
    let logout = world
        .http
        .post(world.url("/api/staff/logout"))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(me(officer.token.clone()).await.unwrap().status(), 401);

    let idle = world
        .staff("officer.idle", &[Role::Officer], world.prison_a)
        .await;
    assert_eq!(me(idle.token.clone()).await.unwrap().status(), 200);
    world
        .db
        .raw_client()
        .await
        .execute(
            "update auth.staff_sessions set last_seen_at = now() - interval '31 minutes' where staff_id = $1",
            &[&idle.id],
        )
        .await
        .unwrap();
    let (status, body) = problem(me(idle.token.clone()).await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );

    let old = world
        .staff("officer.old", &[Role::Officer], world.prison_a)
        .await;
    world
        .db
        .raw_client()
        .await
        .execute(
            "update auth.staff_sessions set expires_at = now() - interval '1 second' where staff_id = $1",
            &[&old.id],
        )
        .await
        .unwrap();
    assert_eq!(
        me(old.token.clone()).await.unwrap().status(),
        401,
        "absolute expiry"
    );
}

#[tokio::test]
async fn staff_answers_carry_security_headers_and_cross_site_posts_are_refused() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let response = world
        .http
        .get(world.url("/api/staff/me"))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");

    let before = world.table_counts().await;
    let cross_site = world
        .http
        .post(world.prison_url(world.prison_a, "/prisoners"))
        .header("cookie", format!("saldo_staff={}", officer.token))
        .header("origin", "https://evil.example")
        .json(&admission("A-9"))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(cross_site).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("cross_site_request"))
    );
    let fetch_site = world
        .http
        .post(world.prison_url(world.prison_a, "/prisoners"))
        .header("cookie", format!("saldo_staff={}", officer.token))
        .header("sec-fetch-site", "cross-site")
        .json(&admission("A-9"))
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_site.status(), 403);
    assert_eq!(world.table_counts().await, before);
    // The same post from the same origin with the cookie works.
    let host = world.base.trim_start_matches("http://").to_owned();
    let same = world
        .http
        .post(world.prison_url(world.prison_a, "/prisoners"))
        .header("cookie", format!("saldo_staff={}", officer.token))
        .header("origin", format!("http://{host}"))
        .json(&admission("A-9"))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 201);
}
