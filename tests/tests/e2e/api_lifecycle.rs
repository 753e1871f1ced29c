//! Officers' lifecycle routes over HTTP: grant and end a leave, transfer to another prison,
//! release. Each changes the card's mode as the ledger library says, happens once however often
//! it is asked, and refuses bad input, other prisons and other roles without changing anything.
// Cent amounts are grouped as euros_cents: `100_00` is 100.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use ledger::controls::EffectiveMode;
use ledger::*;
use saldo::auth::Role;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::api_support::*;
use crate::controls_support::Prisoner;
use crate::fixtures::*;

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

async fn post(
    world: &World,
    user: &StaffUser,
    prison_id: Uuid,
    rest: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = world
        .http
        .post(world.prison_url(prison_id, rest))
        .bearer_auth(&user.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Every table a lifecycle command may write: identity, auth and ledger (table_counts), card
/// modes, command keys and the access log.
async fn everything(world: &World) -> (Vec<i64>, i64, i64, usize) {
    let client = world.db.raw_client().await;
    let row = client
        .query_one(
            "select (select count(*) from controls.card_modes),
                    (select count(*) from idempotency_keys)",
            &[],
        )
        .await
        .unwrap();
    (
        world.table_counts().await,
        row.get(0),
        row.get(1),
        world.access_log().await.len(),
    )
}

async fn card_modes(world: &World) -> i64 {
    everything(world).await.1
}

async fn mode_now(world: &World, person_id: Uuid) -> EffectiveMode {
    let client = world.db.pool.get().await.unwrap();
    ledger::lifecycle::effective_mode(&client, person_id, OffsetDateTime::now_utc())
        .await
        .unwrap()
        .unwrap()
}

fn leave(key: &str, hours: i64) -> Value {
    let now = OffsetDateTime::now_utc();
    json!({
        "idempotency_key": key,
        "from": rfc3339(now - Duration::minutes(5)),
        "until": rfc3339(now + Duration::hours(hours)),
    })
}

#[tokio::test]
async fn a_granted_leave_opens_the_town_shops_until_an_officer_ends_it_and_repeats_change_nothing()
{
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("lc.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "LC-1").await;
    let prisoner = with_card(&world, person, 200_00).await;
    let in_town = |id: &str| Prisoner::in_town(prisoner.input(id, 20_00));
    assert!(!prisoner.authorize(&in_town("auth_inside")).await.approve);

    let request = leave("leave-1", 48);
    let granted = ok(post(
        &world,
        &officer,
        world.prison_a,
        &format!("/prisoners/{person}/leave"),
        Some(request.clone()),
    )
    .await)
    .await;
    assert_eq!(granted["mode"], "leave");
    assert_eq!(granted["effective_mode"], "leave");
    assert_eq!(granted["prison_id"], world.prison_a.to_string());
    assert_eq!(granted["reason"], "leave");
    // No limits asked: the policy's default leave limits.
    assert_eq!(granted["limits"]["per_authorization_minor"], 100_00);
    assert!(matches!(
        mode_now(&world, person).await,
        EffectiveMode::Leave { .. }
    ));
    assert!(prisoner.authorize(&in_town("auth_on_leave")).await.approve);

    // The same request again: the first answer, nothing written.
    let modes = card_modes(&world).await;
    let again = ok(post(
        &world,
        &officer,
        world.prison_a,
        &format!("/prisoners/{person}/leave"),
        Some(request.clone()),
    )
    .await)
    .await;
    assert_eq!(again, granted);
    assert_eq!(card_modes(&world).await, modes);
    // The same key for another leave is a conflict; another key while the leave runs overlaps.
    let mut other = request.clone();
    other["until"] = json!(rfc3339(OffsetDateTime::now_utc() + Duration::hours(72)));
    let (status, body) = problem(
        post(
            &world,
            &officer,
            world.prison_a,
            &format!("/prisoners/{person}/leave"),
            Some(other),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    let (status, body) = problem(
        post(
            &world,
            &officer,
            world.prison_a,
            &format!("/prisoners/{person}/leave"),
            Some(leave("leave-2", 10)),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("leave_overlaps"))
    );
    assert_eq!(card_modes(&world).await, modes);

    let ended = ok(post(
        &world,
        &officer,
        world.prison_a,
        &format!("/prisoners/{person}/leave/end"),
        None,
    )
    .await)
    .await;
    assert_eq!(ended["mode"], "inside");
    assert_eq!(ended["effective_mode"], "inside");
    assert_eq!(ended["reason"], "leave_ended");
    assert_eq!(mode_now(&world, person).await, EffectiveMode::Inside);
    assert!(
        !prisoner
            .authorize(&in_town("auth_back_inside"))
            .await
            .approve
    );
    let before = everything(&world).await;
    let (status, body) = problem(
        post(
            &world,
            &officer,
            world.prison_a,
            &format!("/prisoners/{person}/leave/end"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("mode_conflict"))
    );
    assert_eq!(
        everything(&world).await,
        before,
        "a second end changes nothing"
    );

    let logged: Vec<LogRow> = world
        .access_log()
        .await
        .into_iter()
        .filter(|row| row.subject_person_id == Some(person) && row.fields == ["placement"])
        .collect();
    assert!(
        logged.len() >= 2
            && logged
                .iter()
                .all(|row| row.action == "change" && row.actor_id == Some(officer.id)),
        "{logged:?}"
    );
}

#[tokio::test]
async fn a_leave_with_its_own_limits_needs_no_policy_but_one_without_them_is_refused_no_policy() {
    let world = World::new().await;
    let officer = world
        .staff("lc.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "LC-2").await;
    let path = format!("/prisoners/{person}/leave");
    let before = everything(&world).await;
    let (status, body) = problem(
        post(
            &world,
            &officer,
            world.prison_a,
            &path,
            Some(leave("no-policy", 5)),
        )
        .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("no_policy")));
    assert_eq!(everything(&world).await, before, "nothing changed");

    let mut request = leave("own-limits", 5);
    request["limits"] = json!({"per_authorization_minor": 30_00, "daily_minor": 60_00});
    let granted = ok(post(&world, &officer, world.prison_a, &path, Some(request)).await).await;
    assert_eq!(
        granted["limits"],
        json!({"per_authorization_minor": 30_00, "daily_minor": 60_00})
    );
}

#[tokio::test]
async fn bad_leave_requests_are_refused_with_stable_codes_and_change_nothing() {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("lc.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "LC-3").await;
    let path = format!("/prisoners/{person}/leave");
    let now = OffsetDateTime::now_utc();
    let before = everything(&world).await;
    let mut backwards = leave("k1", 5);
    backwards["until"] = backwards["from"].clone();
    let mut past = leave("k2", 5);
    past["from"] = json!(rfc3339(now - Duration::days(3)));
    past["until"] = json!(rfc3339(now - Duration::days(1)));
    let mut negative = leave("k3", 5);
    negative["limits"] = json!({"daily_minor": -1});
    let mut no_key = leave("", 5);
    no_key["idempotency_key"] = json!("");
    let mut long_key = leave("k", 5);
    long_key["idempotency_key"] = json!("k".repeat(101));
    let mut not_a_time = leave("k4", 5);
    not_a_time["from"] = json!("tomorrow morning");
    let mut unknown_limit = leave("k5", 5);
    unknown_limit["limits"] = json!({"hourly_minor": 5});
    for (what, body, status, code) in [
        ("ends before it starts", backwards, 422, "leave_invalid"),
        ("already over", past, 422, "leave_invalid"),
        ("negative limit", negative, 422, "limit_invalid"),
        ("empty key", no_key, 422, "idempotency_key_invalid"),
        ("long key", long_key, 422, "idempotency_key_invalid"),
        ("not a time", not_a_time, 422, "invalid_body"),
        ("unknown limit", unknown_limit, 422, "invalid_body"),
    ] {
        let (got, problem) =
            problem(post(&world, &officer, world.prison_a, &path, Some(body)).await).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(code)),
            "{what}"
        );
    }
    assert_eq!(everything(&world).await, before, "nothing changed");
    assert_eq!(mode_now(&world, person).await, EffectiveMode::Inside);
}

#[tokio::test]
async fn a_transfer_hands_the_prisoner_to_the_destinations_staff_and_out_of_the_origins_sight() {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    give_policy(&world, world.prison_b).await;
    let officer_a = world
        .staff("lc.officer.a", &[Role::Officer], world.prison_a)
        .await;
    let officer_b = world
        .staff("lc.officer.b", &[Role::Officer], world.prison_b)
        .await;
    let person = world.admit(&officer_a, world.prison_a, "LC-4").await;
    let prisoner = with_card(&world, person, 75_00).await;
    let balances_before = prisoner.balance(prisoner.accounts.spendable).await;
    let show = |user: &StaffUser, prison_id: Uuid| {
        world
            .http
            .get(world.prison_url(prison_id, &format!("/prisoners/{person}")))
            .bearer_auth(&user.token)
            .header("saldo-purpose", "case_management")
            .send()
    };
    assert_eq!(
        show(&officer_b, world.prison_b).await.unwrap().status(),
        404
    );

    let request =
        json!({"idempotency_key": "move-1", "to_prison_id": world.prison_b, "unit": "C1"});
    let path = format!("/prisoners/{person}/transfer");
    let moved = ok(post(
        &world,
        &officer_a,
        world.prison_a,
        &path,
        Some(request.clone()),
    )
    .await)
    .await;
    assert_eq!(moved["from_prison_id"], world.prison_a.to_string());
    assert_eq!(moved["placement"]["prison_id"], world.prison_b.to_string());
    assert_eq!(moved["placement"]["regime"], "closed_prison");
    assert_eq!(moved["placement"]["mode"], "inside");
    assert_eq!(moved["placement"]["reason"], "transfer");
    assert_eq!(moved["destination_has_policy"], true);

    // The origin's staff no longer see the prisoner; the destination's do, with the new unit.
    assert_eq!(
        show(&officer_a, world.prison_a).await.unwrap().status(),
        404
    );
    let record: Value = show(&officer_b, world.prison_b)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["prison_id"], world.prison_b.to_string());
    assert_eq!(record["prisoner_number"], "LC-4");
    assert_eq!(record["unit"], "C1");
    let found = world
        .http
        .post(world.prison_url(world.prison_b, "/prisoners/lookup"))
        .bearer_auth(&officer_b.token)
        .header("saldo-purpose", "case_management")
        .json(&json!({"prisoner_number": "LC-4"}))
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    let placement =
        ledger::policy_store::current_placement(&world.db.pool.get().await.unwrap(), person)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(placement.prison_id, world.prison_b);
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await,
        balances_before,
        "money stays"
    );
    // The card now answers to the destination's policy: the canteen still sells.
    assert!(
        prisoner
            .authorize(&prisoner.input("auth_after_move", 5_00))
            .await
            .approve
    );

    // A repeat returns the first answer although the prisoner has left the path's prison.
    let before = everything(&world).await;
    let again = ok(post(&world, &officer_a, world.prison_a, &path, Some(request)).await).await;
    assert_eq!(again, moved);
    assert_eq!(everything(&world).await.1, before.1, "no second transfer");
    let (status, _) = problem(
        post(
            &world,
            &officer_a,
            world.prison_a,
            &path,
            Some(json!({"idempotency_key": "move-2", "to_prison_id": world.prison_b})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);

    // The move is logged: the gate under the origin, the arrival under the destination.
    let log = world.access_log().await;
    assert!(log.iter().any(|row| row.subject_person_id == Some(person)
        && row.fields == ["placement", "unit"]
        && row.prison_id == Some(world.prison_a)
        && row.outcome == "ok"));
    assert!(log.iter().any(|row| row.subject_person_id == Some(person)
        && row.fields == ["prison"]
        && row.prison_id == Some(world.prison_b)));
}

#[tokio::test]
async fn transfers_to_an_unknown_prison_or_the_same_one_are_refused_and_change_nothing() {
    let world = World::new().await;
    let officer = world
        .staff("lc.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "LC-5").await;
    let path = format!("/prisoners/{person}/transfer");
    let before = everything(&world).await;
    for (what, body, code) in [
        (
            "unknown prison",
            json!({"idempotency_key": "t1", "to_prison_id": Uuid::new_v4()}),
            "prison_unknown",
        ),
        (
            "same prison",
            json!({"idempotency_key": "t2", "to_prison_id": world.prison_a}),
            "transfer_same_prison",
        ),
        (
            "empty unit",
            json!({"idempotency_key": "t3", "to_prison_id": world.prison_b, "unit": ""}),
            "unit_invalid",
        ),
        (
            "unknown regime",
            json!({"idempotency_key": "t4", "to_prison_id": world.prison_b, "regime": "hotel"}),
            "invalid_body",
        ),
        (
            "no destination",
            json!({"idempotency_key": "t5"}),
            "invalid_body",
        ),
    ] {
        let (status, problem) =
            problem(post(&world, &officer, world.prison_a, &path, Some(body)).await).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some(code)),
            "{what}"
        );
    }
    assert_eq!(everything(&world).await, before, "nothing changed");
}

#[tokio::test]
async fn a_release_moves_the_savings_to_spendable_puts_the_card_in_released_mode_and_happens_once()
{
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("lc.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "LC-6").await;
    let prisoner = with_card(&world, person, 150_00).await;
    prisoner
        .ledger
        .post_entry(&EntryDraft {
            idempotency_key: key(),
            effective_date: today(),
            description: "to release savings".into(),
            metadata: json!({}),
            external_refs: vec![],
            postings: vec![
                PostingDraft::debit(prisoner.accounts.spendable, eur(120_00)),
                PostingDraft::credit(prisoner.accounts.release_savings, eur(120_00)).unwrap(),
            ],
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap();
    // In town the card is declined while inside.
    let abroad = |id: &str| Prisoner::in_town(prisoner.input(id, 40_00));
    assert!(!prisoner.authorize(&abroad("auth_inside")).await.approve);

    let path = format!("/prisoners/{person}/release");
    let request = json!({"idempotency_key": "release-1", "savings": "to_spendable"});
    let grace_before =
        ledger::lifecycle::release_grace_until(OffsetDateTime::now_utc(), "Europe/Helsinki")
            .unwrap();
    let released = ok(post(
        &world,
        &officer,
        world.prison_a,
        &path,
        Some(request.clone()),
    )
    .await)
    .await;
    let grace_after =
        ledger::lifecycle::release_grace_until(OffsetDateTime::now_utc(), "Europe/Helsinki")
            .unwrap();
    assert_eq!(released["savings"], "to_spendable");
    assert_eq!(
        released["savings_moved"],
        json!({"amount_minor": 120_00, "currency": "EUR"})
    );
    assert!(released["savings_entry_id"].is_string());
    assert_eq!(released["placement"]["mode"], "released");
    assert_eq!(released["placement"]["effective_mode"], "released");
    let grace = OffsetDateTime::parse(released["grace_until"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(grace == grace_before || grace == grace_after, "{grace}");
    assert_eq!(released["placement"]["until"], released["grace_until"]);
    assert!(grace > OffsetDateTime::now_utc() + Duration::days(27));
    let balance = |purpose: &str| {
        released["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|line| line["purpose"] == purpose)
            .unwrap()["posted"]["amount_minor"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (balance("spendable"), balance("release_savings")),
        (150_00, 0)
    );
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.posted,
        eur(150_00)
    );
    assert_eq!(
        prisoner
            .balance(prisoner.accounts.release_savings)
            .await
            .posted,
        eur(0)
    );
    assert_eq!(mode_now(&world, person).await, EffectiveMode::Released);
    assert!(
        prisoner.authorize(&abroad("auth_released")).await.approve,
        "a normal card now"
    );
    let released_at: Option<OffsetDateTime> = world
        .db
        .raw_client()
        .await
        .query_one(
            "select released_at from identity.prisoners where person_id = $1",
            &[&person],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        released_at.is_some(),
        "the identity record notes the release"
    );

    // A repeat: the first answer, no second entry. Another key: already released.
    let before = everything(&world).await;
    let again = ok(post(&world, &officer, world.prison_a, &path, Some(request)).await).await;
    assert_eq!(again, released);
    assert_eq!(everything(&world).await.0, before.0, "no entry twice");
    let before = everything(&world).await;
    for (rest, body, code) in [
        (
            "release",
            json!({"idempotency_key": "release-2", "savings": "to_spendable"}),
            "mode_conflict",
        ),
        ("leave", leave("after-release", 5), "mode_conflict"),
        (
            "transfer",
            json!({"idempotency_key": "t", "to_prison_id": world.prison_b}),
            "person_released",
        ),
    ] {
        let (status, problem) = problem(
            post(
                &world,
                &officer,
                world.prison_a,
                &format!("/prisoners/{person}/{rest}"),
                Some(body),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (409, Some(code)),
            "{rest}"
        );
    }
    assert_eq!(everything(&world).await, before, "nothing changed");
}

#[tokio::test]
async fn paying_the_savings_out_at_release_needs_a_payout_account_on_record() {
    let world = World::new().await;
    let officer = world
        .staff("lc.officer", &[Role::Officer], world.prison_a)
        .await;
    let with_iban = world.admit(&officer, world.prison_a, "LC-7").await;
    let mut admission = admission("LC-8");
    admission.as_object_mut().unwrap().remove("payout_iban");
    let created: Value = world
        .http
        .post(world.prison_url(world.prison_a, "/prisoners"))
        .bearer_auth(&officer.token)
        .json(&admission)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let without_iban: Uuid = created["person_id"].as_str().unwrap().parse().unwrap();
    let request = json!({"idempotency_key": "out-1", "savings": "pay_out"});

    let before = (world.table_counts().await, card_modes(&world).await);
    let (status, body) = problem(
        post(
            &world,
            &officer,
            world.prison_a,
            &format!("/prisoners/{without_iban}/release"),
            Some(request.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("payout_account_missing"))
    );
    assert_eq!(
        (world.table_counts().await, card_modes(&world).await),
        before
    );

    let prisoner = with_card(&world, with_iban, 0).await;
    prisoner
        .ledger
        .post_entry(&deposit_draft(
            prisoner.bank,
            prisoner.accounts.release_savings,
            80_00,
        ))
        .await
        .unwrap();
    let released = ok(post(
        &world,
        &officer,
        world.prison_a,
        &format!("/prisoners/{with_iban}/release"),
        Some(request),
    )
    .await)
    .await;
    assert_eq!(released["savings"], "pay_out");
    assert_eq!(released["savings_moved"]["amount_minor"], 80_00);
    assert_eq!(
        prisoner
            .balance(prisoner.accounts.release_savings)
            .await
            .posted,
        eur(0)
    );
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.posted,
        eur(0),
        "paid out, not moved"
    );
    let log = world.access_log().await;
    assert!(
        log.iter()
            .any(|row| row.subject_person_id == Some(with_iban)
                && row.fields == ["placement", "payout_iban"]
                && row.outcome == "ok")
    );
}

#[tokio::test]
async fn other_prisons_get_404_other_roles_403_and_neither_changes_anything() {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer_a = world
        .staff("lc.officer.a", &[Role::Officer], world.prison_a)
        .await;
    let officer_b = world
        .staff("lc.officer.b", &[Role::Officer], world.prison_b)
        .await;
    let finance_a = world
        .staff(
            "lc.finance.a",
            &[
                Role::Finance,
                Role::FinanceApprover,
                Role::Auditor,
                Role::Admin,
            ],
            world.prison_a,
        )
        .await;
    let person = world.admit(&officer_a, world.prison_a, "LC-9").await;
    let routes = [
        ("leave", Some(leave("x", 5))),
        ("leave/end", None),
        (
            "transfer",
            Some(json!({"idempotency_key": "x", "to_prison_id": world.prison_a})),
        ),
        (
            "release",
            Some(json!({"idempotency_key": "x", "savings": "to_spendable"})),
        ),
    ];
    let before = everything(&world).await;
    for (rest, body) in &routes {
        let path = format!("/prisoners/{person}/{rest}");
        // An officer of prison B through their own prison's path: the prisoner does not exist.
        let (status, problem_b) =
            problem(post(&world, &officer_b, world.prison_b, &path, body.clone()).await).await;
        assert_eq!(
            (status, problem_b["code"].as_str()),
            (404, Some("not_found")),
            "{rest}"
        );
        // Through prison A's path: not their prison.
        let (status, _) =
            problem(post(&world, &officer_b, world.prison_a, &path, body.clone()).await).await;
        assert_eq!(status, 403, "{rest} via A");
        // Every other role in prison A.
        let (status, _) =
            problem(post(&world, &finance_a, world.prison_a, &path, body.clone()).await).await;
        assert_eq!(status, 403, "{rest} as non-officer");
    }
    let after = everything(&world).await;
    assert_eq!(
        (after.0, after.1, after.2),
        (before.0, before.1, before.2),
        "nothing changed"
    );
    // The not-found attempts are logged, and only they.
    let attempts: Vec<LogRow> = world
        .access_log()
        .await
        .into_iter()
        .skip(before.3)
        .collect();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    assert!(attempts.iter().all(|row| row.outcome == "not_found"
        && row.actor_id == Some(officer_b.id)
        && row.prison_id == Some(world.prison_b)));
    assert_eq!(mode_now(&world, person).await, EffectiveMode::Inside);
}

/// A staff page request as a browser sends it from the pages' own forms.
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
        .header("sec-fetch-site", "same-origin")
}

async fn form(world: &World, user: &StaffUser, path: &str, body: String) -> reqwest::Response {
    page(world, user, reqwest::Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A `datetime-local` value: far enough from now that the prison's offset does not matter.
fn local(at: OffsetDateTime) -> String {
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]"
    ))
    .unwrap()
}

#[tokio::test]
async fn officers_grant_and_end_a_leave_and_release_from_the_prisoner_page_without_javascript() {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("lc.officer", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("lc.finance", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "LC-10").await;
    let prison = world.prison_a;
    let base = format!("/staff/prisons/{prison}/prisoners/{person}");
    let show = async |user: &StaffUser, query: &str| {
        let response = page(
            &world,
            user,
            reqwest::Method::GET,
            &format!("{base}?purpose=case_management{query}"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let html = show(&officer, "").await;
    assert!(
        html.contains("Card and placement") && html.contains(r#"<td class="mode">inside</td>"#),
        "{html}"
    );
    for action in ["leave", "transfer", "release"] {
        assert!(
            html.contains(&format!(r#"action="{base}/{action}""#)),
            "{action}: {html}"
        );
    }
    // Finance staff see the placement but get no officer forms, and their posts are refused.
    let html = show(&finance, "").await;
    assert!(html.contains("Card and placement") && !html.contains("Grant the leave"));
    let now = OffsetDateTime::now_utc();
    let leave_form = |key: &str| {
        format!(
            "idempotency_key={key}&purpose=case_management&from={}&until={}",
            local(now - Duration::days(1)),
            local(now + Duration::days(2))
        )
    };
    let refused = form(&world, &finance, &format!("{base}/leave"), leave_form("f1")).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(mode_now(&world, person).await, EffectiveMode::Inside);

    // Bad input is a page with the stable code, and nothing changes.
    let before = everything(&world).await;
    let bad = form(
        &world,
        &officer,
        &format!("{base}/leave"),
        "idempotency_key=b1&purpose=case_management&from=tomorrow&until=later".into(),
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("leave_invalid"));
    let bad = form(
        &world,
        &officer,
        &format!("{base}/transfer"),
        "idempotency_key=b2&purpose=case_management&to_prison=NOWHERE&regime=&unit=".into(),
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("prison_unknown"));
    assert_eq!(everything(&world).await, before, "nothing changed");

    let granted = form(&world, &officer, &format!("{base}/leave"), leave_form("p1")).await;
    assert_eq!(granted.status(), 303);
    let location = granted.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("{base}?purpose=case_management&done=leave_granted")
    );
    assert!(matches!(
        mode_now(&world, person).await,
        EffectiveMode::Leave { .. }
    ));
    // The browser sends the form twice: the same key, nothing more.
    let modes = card_modes(&world).await;
    assert_eq!(
        form(&world, &officer, &format!("{base}/leave"), leave_form("p1"))
            .await
            .status(),
        303
    );
    assert_eq!(card_modes(&world).await, modes);
    let html = show(&officer, "&done=leave_granted").await;
    assert!(
        html.contains("Leave granted.") && html.contains("End the leave"),
        "{html}"
    );

    let ended = form(
        &world,
        &officer,
        &format!("{base}/leave/end"),
        "purpose=case_management".into(),
    )
    .await;
    assert_eq!(ended.status(), 303);
    assert!(
        ended.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("&done=leave_ended")
    );
    assert_eq!(mode_now(&world, person).await, EffectiveMode::Inside);

    let released = form(
        &world,
        &officer,
        &format!("{base}/release"),
        "idempotency_key=r1&purpose=release_preparation&savings=to_spendable".into(),
    )
    .await;
    assert_eq!(released.status(), 303);
    assert!(
        released.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("purpose=release_preparation&done=released")
    );
    assert_eq!(mode_now(&world, person).await, EffectiveMode::Released);
    let html = show(&officer, "&done=released").await;
    assert!(
        html.contains("Grace period until") && html.contains(r#"<td class="mode">released</td>"#),
        "{html}"
    );
    assert!(
        !html.contains("Grant the leave") && !html.contains(r#"name="savings""#),
        "no forms once released"
    );
    // An unknown status code is not echoed.
    assert!(!show(&officer, "&done=%3Cb%3Ehello").await.contains("hello"));
}

#[tokio::test]
async fn a_transfer_from_the_prisoner_page_says_where_the_prisoner_went_and_the_page_is_gone_here()
{
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("lc.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "LC-11").await;
    let base = format!("/staff/prisons/{}/prisoners/{person}", world.prison_a);
    let moved = form(
        &world,
        &officer,
        &format!("{base}/transfer"),
        "idempotency_key=t1&purpose=case_management&to_prison=bru&regime=open_prison&unit=D4"
            .into(),
    )
    .await;
    assert_eq!(moved.status(), 200);
    let html = moved.text().await.unwrap();
    assert!(html.contains("BRU prison"), "{html}");
    assert!(
        html.contains("no spending-controls policy"),
        "prison B has none: {html}"
    );
    let placement =
        ledger::policy_store::current_placement(&world.db.pool.get().await.unwrap(), person)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (placement.prison_id, placement.regime),
        (world.prison_b, ledger::controls::Regime::OpenPrison)
    );
    let gone = page(
        &world,
        &officer,
        reqwest::Method::GET,
        &format!("{base}?purpose=case_management"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(gone.status(), 404);
}
