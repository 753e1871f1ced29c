//! Payroll import over the staff API: a CSV file credits the prison's prisoners, split by the
//! wage allocation rules, all lines or none, once per idempotency key.
// Cent amounts are grouped as euros_cents: `100_00` is 100.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use ledger::allocation::{AllocationKind, AllocationRule, Purpose};
use ledger::income::IncomeKind;
use ledger::{Currency, Money};
use saldo::auth::Role;
use serde_json::Value;
use time::macros::date;
use uuid::Uuid;

use crate::api_support::*;

/// The posted balance of one of a prisoner's sub-accounts.
pub async fn posted(world: &World, person: Uuid, purpose: &str) -> i64 {
    world
        .db
        .raw_client()
        .await
        .query_opt(
            "select b.posted_minor from ledger_accounts a join account_balances b on b.account_id = a.id
             where a.code = $1",
            &[&format!("person:{person}:{purpose}:EUR")],
        )
        .await
        .unwrap()
        .map_or(0, |row| row.get(0))
}

/// [`World::table_counts`] plus the controls tables payroll and deposits write to.
pub async fn counts(world: &World) -> (Vec<i64>, Vec<i64>) {
    let row = world
        .db
        .raw_client()
        .await
        .query_one(
            "select (select count(*) from controls.payroll_batches),
                    (select count(*) from controls.deposits),
                    (select count(*) from controls.deposit_decisions),
                    (select count(*) from controls.approved_senders),
                    (select count(*) from controls.policies),
                    (select count(*) from controls.prison_policies),
                    (select count(*) from controls.policy_overrides),
                    (select count(*) from controls.override_revocations),
                    (select count(*) from controls.allocation_rule_sets),
                    (select count(*) from idempotency_keys)",
            &[],
        )
        .await
        .unwrap();
    (
        world.table_counts().await,
        (0..10).map(|i| row.get(i)).collect(),
    )
}

/// The prison's wage rules: 10 % to release savings.
async fn ten_percent_to_savings(world: &World, prison_id: Uuid) {
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    ledger::income::publish_rule_set(
        &tx,
        prison_id,
        IncomeKind::Wages,
        &[AllocationRule {
            id: "savings-10pc".into(),
            purpose: Purpose::ReleaseSavings,
            kind: AllocationKind::Percentage {
                basis_points: 1_000,
            },
            cap: None,
            threshold: None,
            effective_from: date!(2020 - 01 - 01),
            effective_until: None,
        }],
        Money::zero(Currency::EUR),
        "finance_a",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

pub async fn post_payroll(
    world: &World,
    token: &str,
    prison_id: Uuid,
    key: &str,
    csv: &str,
) -> reqwest::Response {
    world
        .http
        .post(world.prison_url(prison_id, "/payroll?kind=wages&effective_date=2026-11-27"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_payroll_file_credits_each_prisoner_split_by_the_wage_rules_and_a_replay_changes_nothing()
{
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let first = world.admit(&officer, world.prison_a, "PAY-1").await;
    let second = world.admit(&officer, world.prison_a, "PAY-2").await;
    ten_percent_to_savings(&world, world.prison_a).await;

    let csv = format!("person_id,amount,currency\n{first},25.00,EUR\n{second},12.35,EUR\n");
    let response = post_payroll(&world, &finance.token, world.prison_a, "W48", &csv).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["entries_posted"], 2);
    assert_eq!(body["total_minor"], 37_35);
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["rule_set_version"], 1);
    assert_eq!(posted(&world, first, "spendable").await, 22_50);
    assert_eq!(posted(&world, first, "release_savings").await, 2_50);
    // 10 % of 12.35 is 1.235: rounded down to 1.23, the cent left over goes to spendable.
    assert_eq!(posted(&world, second, "spendable").await, 11_12);
    assert_eq!(posted(&world, second, "release_savings").await, 1_23);

    let before = counts(&world).await;
    let again = post_payroll(&world, &finance.token, world.prison_a, "W48", &csv).await;
    assert_eq!(again.status(), 201);
    let replayed: Value = again.json().await.unwrap();
    assert_eq!(replayed, body, "a replay answers as the first post did");
    assert_eq!(counts(&world).await, before, "a replay posts nothing");
    assert_eq!(posted(&world, first, "spendable").await, 22_50);

    let other = post_payroll(
        &world,
        &finance.token,
        world.prison_a,
        "W48",
        &format!("person_id,amount,currency\n{first},25.01,EUR\n"),
    )
    .await;
    let (status, problem) = problem(other).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    assert_eq!(counts(&world).await, before);

    // Each payee's change is in the access log, under the payroll purpose.
    let logged: Vec<LogRow> = world
        .access_log()
        .await
        .into_iter()
        .filter(|row| row.purpose == "payroll")
        .collect();
    assert_eq!(
        logged.len(),
        4,
        "two payees, twice (the replay is logged too)"
    );
    assert!(logged.iter().all(|row| row.action == "change"
        && row.fields == ["payroll"]
        && row.actor_id == Some(finance.id)));
}

#[tokio::test]
async fn payees_may_be_named_by_prisoner_number_and_amounts_given_in_minor_units() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::FinanceApprover], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "PAY-9").await;
    let response = post_payroll(
        &world,
        &finance.token,
        world.prison_a,
        "numbers",
        "prisoner_number,currency,amount_minor\nPAY-9,EUR,1500\n\"PAY-9\",\"EUR\",\"250\"\n",
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        posted(&world, person, "spendable").await,
        17_50,
        "no rules: all spendable"
    );
    let lookups = world
        .access_log()
        .await
        .into_iter()
        .filter(|row| row.purpose == "payroll" && row.fields.contains(&"prisoner_number".into()))
        .count();
    assert_eq!(lookups, 1, "each number is looked up once, and logged");
}

#[tokio::test]
async fn a_bad_line_refuses_the_whole_file_with_its_line_number_and_nothing_is_posted() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "PAY-3").await;
    let before = counts(&world).await;
    let log_before = world.access_log().await.len();
    let csv = format!(
        "person_id,amount,currency\n{person},10.00,EUR\n{person},ten,EUR\n\n{person},1.001,EUR\n{person},-2,EUR\n{person},5,SEK\n"
    );
    let (status, body) =
        problem(post_payroll(&world, &finance.token, world.prison_a, "bad", &csv).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("payroll_lines_invalid"))
    );
    let errors: Vec<(u64, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (3, "amount_invalid"),
            (5, "amount_too_precise"),
            (6, "amount_not_positive"),
            (7, "currency_not_supported"),
        ]
    );
    assert_eq!(body["error_count"], 4);
    assert!(
        !body.to_string().contains(&person.to_string()),
        "no line content echoed"
    );
    assert_eq!(counts(&world).await, before, "nothing posted");
    assert_eq!(
        world.access_log().await.len(),
        log_before,
        "nobody looked up"
    );
    assert_eq!(posted(&world, person, "spendable").await, 0);

    // The key was not used up: the corrected file goes through under it.
    let fixed = format!("person_id,amount,currency\n{person},10.00,EUR\n");
    let response = post_payroll(&world, &finance.token, world.prison_a, "bad", &fixed).await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_prisoner_of_another_prison_or_nobody_at_all_is_not_found_and_nothing_is_posted() {
    let world = World::new().await;
    let officer_a = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let officer_b = world
        .staff("officer.b", &[Role::Officer], world.prison_b)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let ours = world.admit(&officer_a, world.prison_a, "PAY-4").await;
    let theirs = world.admit(&officer_b, world.prison_b, "PAY-5").await;
    let before = counts(&world).await;
    let csv = format!(
        "person_id,amount,currency\n{ours},10.00,EUR\n{theirs},10.00,EUR\n{},1.00,EUR\n",
        Uuid::new_v4()
    );
    let (status, body) =
        problem(post_payroll(&world, &finance.token, world.prison_a, "mixed", &csv).await).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["line"], 3);
    assert_eq!(body["errors"][0]["code"], "prisoner_not_found");
    assert_eq!(body["errors"][1]["line"], 4);
    assert_eq!(body["errors"][1]["code"], "prisoner_not_found");
    assert_eq!(counts(&world).await, before, "nothing posted");
    assert_eq!(posted(&world, ours, "spendable").await, 0);
    assert_eq!(posted(&world, theirs, "spendable").await, 0);

    // By number, prison B's prisoner is not found from prison A either.
    let (status, body) = problem(
        post_payroll(
            &world,
            &finance.token,
            world.prison_a,
            "by-number",
            "prisoner_number,amount,currency\nPAY-5,1.00,EUR\n",
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (422, Some("prisoner_not_found"))
    );
    assert_eq!(counts(&world).await, before);
}

#[tokio::test]
async fn payroll_is_refused_to_other_roles_other_prisons_and_malformed_requests() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance_b = world
        .staff("finance.b", &[Role::Finance], world.prison_b)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "PAY-6").await;
    let csv = format!("person_id,amount,currency\n{person},10.00,EUR\n");
    let before = counts(&world).await;
    for token in [&officer.token, &finance_b.token] {
        let (status, _) =
            problem(post_payroll(&world, token, world.prison_a, "x", &csv).await).await;
        assert_eq!(status, 403);
    }
    let send =
        |url: String, key: Option<&'static str>, content_type: &'static str, body: String| {
            let mut request = world
                .http
                .post(url)
                .bearer_auth(&finance.token)
                .header("content-type", content_type)
                .body(body);
            if let Some(key) = key {
                request = request.header("idempotency-key", key);
            }
            request.send()
        };
    let url = |query: &str| world.prison_url(world.prison_a, &format!("/payroll{query}"));
    let good_query = "?effective_date=2026-11-27";
    let cases: Vec<(reqwest::Response, u16, &str)> = vec![
        (
            send(url(good_query), None, "text/csv", csv.clone())
                .await
                .unwrap(),
            400,
            "idempotency_key_required",
        ),
        (
            send(url(good_query), Some("k"), "application/json", "{}".into())
                .await
                .unwrap(),
            415,
            "unsupported_media_type",
        ),
        (
            send(url(""), Some("k"), "text/csv", csv.clone())
                .await
                .unwrap(),
            400,
            "invalid_query",
        ),
        (
            send(
                url("?effective_date=27.11.2026"),
                Some("k"),
                "text/csv",
                csv.clone(),
            )
            .await
            .unwrap(),
            422,
            "date_invalid",
        ),
        (
            send(
                url("?effective_date=2026-11-27&kind=deposit"),
                Some("k"),
                "text/csv",
                csv.clone(),
            )
            .await
            .unwrap(),
            400,
            "invalid_query",
        ),
        (
            send(
                url(good_query),
                Some("k"),
                "text/csv",
                "person_id,amount,currency\n".into(),
            )
            .await
            .unwrap(),
            422,
            "payroll_empty",
        ),
        (
            send(
                url(good_query),
                Some("k"),
                "text/csv",
                "name,amount,currency\n".into(),
            )
            .await
            .unwrap(),
            422,
            "payroll_lines_invalid",
        ),
        (
            send(
                url(good_query),
                Some("k"),
                "text/csv",
                "x".repeat(200 * 1024 + 1),
            )
            .await
            .unwrap(),
            413,
            "body_too_large",
        ),
    ];
    for (response, status, code) in cases {
        let (got, body) = problem(response).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)));
    }
    assert_eq!(counts(&world).await, before, "nothing changed");
}

#[tokio::test]
async fn the_payroll_page_posts_a_pasted_file_once_and_shows_the_refused_lines() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "PAY-7").await;
    let path = format!("/staff/prisons/{}/payroll", world.prison_a);
    let post = |csv: String| {
        world
            .http
            .post(world.url(&path))
            .header("cookie", format!("saldo_staff={}", finance.token))
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("idempotency_key", "page-1"),
                ("kind", "wages"),
                ("effective_date", "2026-11-27"),
                ("description", ""),
                ("csv", csv.as_str()),
            ])
            .send()
    };
    let form = world
        .http
        .get(world.url(&path))
        .header("cookie", format!("saldo_staff={}", finance.token))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("name=\"csv\""));

    let refused = post(format!(
        "person_id,amount,currency\n{person},1.00,EUR\n{person},x,EUR\n"
    ))
    .await
    .unwrap();
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(text.contains("<td>3</td><td>amount_invalid</td>"), "{text}");
    assert_eq!(posted(&world, person, "spendable").await, 0);

    let csv = format!("person_id,amount,currency\n{person},8.00,EUR\n");
    for _ in 0..2 {
        let response = post(csv.clone()).await.unwrap();
        assert_eq!(response.status(), 201);
        assert!(response.text().await.unwrap().contains("8.00 EUR"));
    }
    assert_eq!(
        posted(&world, person, "spendable").await,
        8_00,
        "the same form twice posts once"
    );
}
