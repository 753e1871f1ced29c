//! Spending-control policies and per-person overrides over the staff API: published and
//! assigned per prison and regime, exceptions approved by a second member of staff, and the
//! authorization path's view of them (`effective_controls`).
// Cent amounts are grouped as euros_cents: `75_00` is 75.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use ledger::controls::Policy;
use saldo::auth::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api_payroll::counts;
use crate::api_support::*;

fn template(id: &str) -> Value {
    serde_json::to_value(Policy::closed_prison(id, 1, "FI", &["m_canteen"])).unwrap()
}

async fn publish(world: &World, token: &str, prison_id: Uuid, body: Value) -> reqwest::Response {
    world
        .http
        .post(world.prison_url(prison_id, "/policies"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn controls(world: &World, person: Uuid) -> Option<ledger::policy_store::EffectiveControls> {
    let client = world.db.pool.get().await.unwrap();
    ledger::policy_store::effective_controls(&client, person, OffsetDateTime::now_utc())
        .await
        .unwrap()
}

async fn grant(world: &World, token: &str, person: Uuid, body: &Value) -> reqwest::Response {
    world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/overrides")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_published_policy_is_assigned_to_its_regime_and_decides_for_the_prisons_cards() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let approver = world
        .staff("approver.a", &[Role::FinanceApprover], world.prison_a)
        .await;
    let admin = world.staff("admin.a", &[Role::Admin], world.prison_a).await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "POL-1").await;
    assert!(
        controls(&world, person).await.is_none(),
        "no policy yet: fail closed"
    );

    let response = publish(
        &world,
        &approver.token,
        world.prison_a,
        json!({"policy": template("hel-closed")}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let published: Value = response.json().await.unwrap();
    assert_eq!(published["policy"]["version"], 1);
    assert_eq!(published["regime"], "closed_prison");
    assert_eq!(
        published["time_zone"], "Europe/Helsinki",
        "the prison's own zone"
    );
    let effective = controls(&world, person).await.expect("a policy in effect");
    assert_eq!(effective.policy.id, "hel-closed");
    assert_eq!(effective.policy.version, 1);

    // An administrator publishes the next version with a lower weekly limit.
    let mut tighter = template("hel-closed");
    tighter["limits"]["weekly"] = json!({"amount_minor": 75_00, "currency": "EUR"});
    let response = publish(
        &world,
        &admin.token,
        world.prison_a,
        json!({"policy": tighter}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let effective = controls(&world, person).await.unwrap();
    assert_eq!(effective.policy.version, 2);
    assert_eq!(effective.policy.limits.weekly.unwrap().amount_minor, 75_00);

    // A scheduled version does not apply before its time.
    let later = OffsetDateTime::now_utc() + time::Duration::days(7);
    let response = publish(
        &world,
        &approver.token,
        world.prison_a,
        json!({"policy": template("hel-closed"),
               "effective_from": later.format(&time::format_description::well_known::Rfc3339).unwrap()}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(controls(&world, person).await.unwrap().policy.version, 2);

    let shown: Value = world
        .http
        .get(world.prison_url(world.prison_a, "/policies"))
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let regimes = shown["regimes"].as_array().unwrap();
    assert_eq!(regimes.len(), 3);
    assert_eq!(regimes[0]["regime"], "closed_prison");
    assert_eq!(regimes[0]["assignment"]["policy_id"], "hel-closed");
    assert_eq!(regimes[0]["assignment"]["policy"]["version"], 2);
    assert_eq!(
        regimes[1]["assignment"],
        Value::Null,
        "open prison: none assigned"
    );
}

#[tokio::test]
async fn policies_are_refused_to_plain_finance_other_prisons_and_bad_templates_and_nothing_changes()
{
    let world = World::new().await;
    let approver_a = world
        .staff("approver.a", &[Role::FinanceApprover], world.prison_a)
        .await;
    let approver_b = world
        .staff("approver.b", &[Role::FinanceApprover], world.prison_b)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let response = publish(
        &world,
        &approver_a.token,
        world.prison_a,
        json!({"policy": template("hel-closed")}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let before = counts(&world).await;
    for (token, prison_id) in [
        (&finance.token, world.prison_a),
        (&officer.token, world.prison_a),
        (&approver_b.token, world.prison_a),
    ] {
        let (status, _) =
            problem(publish(&world, token, prison_id, json!({"policy": template("x")})).await)
                .await;
        assert_eq!(status, 403);
    }
    let (status, _) = problem(
        world
            .http
            .get(world.prison_url(world.prison_a, "/policies"))
            .bearer_auth(&officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403, "officers do not read policies");

    // Prison B may not publish over prison A's template.
    let (status, body) = problem(
        publish(
            &world,
            &approver_b.token,
            world.prison_b,
            json!({"policy": template("hel-closed")}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("policy_id_taken"))
    );

    let mut negative = template("neg");
    negative["limits"]["daily"] = json!({"amount_minor": -1, "currency": "EUR"});
    let mut other_currency = template("sek");
    other_currency["max_balance"] = json!({"amount_minor": 1, "currency": "SEK"});
    let mut lifted = template("lifted");
    lifted["mcc"]["unblocked_defaults"] = json!(["7995"]);
    let mut bad_id = template("no spaces allowed");
    bad_id["id"] = json!("no spaces allowed");
    let mut overridden = template("ovr");
    overridden["overrides"] = json!([{"id": "o", "version": 1}]);
    for (what, body, code) in [
        (
            "negative limit",
            json!({"policy": negative}),
            "policy_invalid",
        ),
        (
            "limit in another currency",
            json!({"policy": other_currency}),
            "policy_invalid",
        ),
        (
            "lifted safe default",
            json!({"policy": lifted}),
            "policy_invalid",
        ),
        ("bad id", json!({"policy": bad_id}), "policy_invalid"),
        (
            "overrides in a template",
            json!({"policy": overridden}),
            "policy_invalid",
        ),
        (
            "unknown zone",
            json!({"policy": template("tz"), "time_zone": "Mars/Olympus"}),
            "time_zone_invalid",
        ),
        (
            "bad time",
            json!({"policy": template("t"), "effective_from": "tomorrow"}),
            "invalid_body",
        ),
        (
            "not a policy",
            json!({"policy": {"id": "x"}}),
            "invalid_body",
        ),
    ] {
        let (status, body) =
            problem(publish(&world, &approver_a.token, world.prison_a, body).await).await;
        assert_eq!((status, body["code"].as_str()), (422, Some(code)), "{what}");
    }
    assert_eq!(counts(&world).await, before, "nothing changed");
}

#[tokio::test]
async fn an_override_approved_by_a_second_member_of_staff_changes_one_prisoners_controls_until_revoked()
 {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let approver = world
        .staff("approver.a", &[Role::FinanceApprover], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "POL-2").await;
    let other = world.admit(&officer, world.prison_a, "POL-3").await;
    let response = publish(
        &world,
        &approver.token,
        world.prison_a,
        json!({"policy": template("hel-closed")}),
    )
    .await;
    assert_eq!(response.status(), 201);

    let body = json!({
        "override_id": "ovr-1",
        "change": {"change": "set_max_balance", "max_balance": {"amount_minor": 5_000_00, "currency": "EUR"}},
        "reason": "saving for release: housing deposit",
        "requested_by": officer.id,
    });
    let response = grant(&world, &approver.token, person, &body).await;
    assert_eq!(response.status(), 201);
    let granted: Value = response.json().await.unwrap();
    assert_eq!(granted["override"]["version"], 1);
    assert_eq!(
        granted["override"]["approved_by"],
        json!(approver.id.to_string())
    );
    let effective = controls(&world, person).await.unwrap();
    assert_eq!(effective.policy.max_balance.unwrap().amount_minor, 5_000_00);
    assert_eq!(effective.policy.overrides.len(), 1);
    assert_eq!(
        controls(&world, other)
            .await
            .unwrap()
            .policy
            .max_balance
            .unwrap()
            .amount_minor,
        1_500_00,
        "only this prisoner"
    );

    // The same grant again changes nothing.
    let before = counts(&world).await;
    let again = grant(&world, &approver.token, person, &body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(counts(&world).await, before);

    let logged = world
        .access_log()
        .await
        .into_iter()
        .filter(|row| row.fields == ["spending_controls"] && row.subject_person_id == Some(person))
        .count();
    assert_eq!(logged, 2, "each grant is logged against the prisoner");

    let revoke = |reason: &'static str| {
        world
            .http
            .post(world.prison_url(
                world.prison_a,
                &format!("/prisoners/{person}/overrides/ovr-1/revoke"),
            ))
            .bearer_auth(&approver.token)
            .json(&json!({"reason": reason}))
            .send()
    };
    assert_eq!(revoke("released early").await.unwrap().status(), 200);
    let effective = controls(&world, person).await.unwrap();
    assert_eq!(effective.policy.max_balance.unwrap().amount_minor, 1_500_00);
    assert!(effective.policy.overrides.is_empty());
    let before = counts(&world).await;
    assert_eq!(
        revoke("again").await.unwrap().status(),
        200,
        "revoking twice is harmless"
    );
    assert_eq!(counts(&world).await, before);

    // A revoked override gets no new versions.
    let (status, body) = problem(grant(&world, &approver.token, person, &body).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("override_revoked"))
    );
}

#[tokio::test]
async fn overrides_need_a_second_person_a_policy_in_effect_and_a_prisoner_of_the_prison() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let officer_b = world
        .staff("officer.b", &[Role::Officer], world.prison_b)
        .await;
    let approver = world
        .staff("approver.a", &[Role::FinanceApprover], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "POL-4").await;
    let theirs = world.admit(&officer_b, world.prison_b, "POL-5").await;
    let body = |requested_by: Uuid| {
        json!({"override_id": "ovr-2", "change": {"change": "allow_mcc", "mcc": "5942"},
               "reason": "education: course books", "requested_by": requested_by})
    };
    let before = counts(&world).await;
    // No policy in effect yet.
    let (status, problem_body) =
        problem(grant(&world, &approver.token, person, &body(officer.id)).await).await;
    assert_eq!(
        (status, problem_body["code"].as_str()),
        (409, Some("no_policy"))
    );
    let response = publish(
        &world,
        &approver.token,
        world.prison_a,
        json!({"policy": template("hel-closed")}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let before = (before.0, counts(&world).await.1);

    let cases = [
        (&approver.token, person, body(approver.id), 403, "four_eyes"),
        (
            &approver.token,
            person,
            body(officer_b.id),
            422,
            "requester_invalid",
        ),
        (
            &approver.token,
            person,
            body(Uuid::new_v4()),
            422,
            "requester_invalid",
        ),
        (&finance.token, person, body(officer.id), 403, "forbidden"),
        (&approver.token, theirs, body(officer.id), 404, "not_found"),
        (
            &approver.token,
            person,
            json!({"override_id": "bad id!", "change": {"change": "allow_mcc", "mcc": "5942"},
                   "reason": "r", "requested_by": officer.id}),
            422,
            "override_invalid",
        ),
        (
            &approver.token,
            person,
            json!({"override_id": "ovr-3", "change": {"change": "allow_mcc", "mcc": "5942"},
                   "reason": " ", "requested_by": officer.id}),
            422,
            "reason_invalid",
        ),
        (
            &approver.token,
            person,
            json!({"override_id": "ovr-3", "change": {"change": "teleport"},
                   "reason": "r", "requested_by": officer.id}),
            422,
            "invalid_body",
        ),
    ];
    for (token, who, request, status, code) in cases {
        let (got, answer) = problem(grant(&world, token, who, &request).await).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{request}"
        );
    }
    let (status, _) = problem(
        world
            .http
            .post(world.prison_url(
                world.prison_a,
                &format!("/prisoners/{person}/overrides/nope/revoke"),
            ))
            .bearer_auth(&approver.token)
            .json(&json!({"reason": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "an unknown override");
    assert_eq!(counts(&world).await.1, before.1, "no override stored");
    assert_eq!(world.table_counts().await, before.0);
}
