//! Staff routes for what used to be library-only: closing after release, death and escape
//! freezes and their resolution, rectification and restriction of a record. Each is role-checked
//! and prison-scoped like its neighbours, refuses invalid states with a stable code and changes
//! nothing then, happens once however often it is retried, and is access-logged.
// Cent amounts are grouped as euros_cents: `100_00` is 100.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use ledger::lifecycle::{Release, SavingsOnRelease};
use saldo::auth::Role;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::api_support::*;

async fn post(
    world: &World,
    user: &StaffUser,
    prison_id: Uuid,
    rest: &str,
    body: Value,
) -> reqwest::Response {
    world
        .http
        .post(world.prison_url(prison_id, rest))
        .bearer_auth(&user.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

async fn refused(response: reqwest::Response) -> (u16, String) {
    let (status, body) = problem(response).await;
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// Ledger, identity and auth rows, card modes and command keys: what a refusal must not change.
async fn state_counts(world: &World) -> (Vec<i64>, i64, i64) {
    let row = world
        .db
        .raw_client()
        .await
        .query_one(
            "select (select count(*) from controls.card_modes),
                    (select count(*) from idempotency_keys)",
            &[],
        )
        .await
        .unwrap();
    (world.table_counts().await, row.get(0), row.get(1))
}

async fn open_accounts(world: &World, person: Uuid) -> i64 {
    world
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from ledger_accounts where person_id = $1 and closed_at is null",
            &[&person],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_death_freeze_declines_every_payment_until_it_is_resolved_by_paying_out_and_closing() {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("cr.officer", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("cr.finance", &[Role::Finance], world.prison_a)
        .await;
    let officer_b = world
        .staff("cr.officer.b", &[Role::Officer], world.prison_b)
        .await;
    let person = world.admit(&officer, world.prison_a, "CR-1").await;
    let prisoner = with_card(&world, person, 150_00).await;
    let freeze = format!("/prisoners/{person}/freeze");
    let resolve = format!("/prisoners/{person}/freeze/resolve");

    // Nothing to resolve yet; a bad cause, another role or another prison change nothing.
    let before = state_counts(&world).await;
    let close_it = json!({"idempotency_key": "resolve-1", "resolution": "pay_out_and_close"});
    assert_eq!(
        refused(post(&world, &officer, world.prison_a, &resolve, close_it.clone()).await).await,
        (409, "not_frozen".into())
    );
    let death = json!({"idempotency_key": "freeze-1", "cause": "death"});
    for (user, prison, body, expected) in [
        (
            &officer,
            world.prison_a,
            json!({"idempotency_key": "f", "cause": "asleep"}),
            (422, "invalid_body"),
        ),
        (
            &officer,
            world.prison_a,
            json!({"idempotency_key": "", "cause": "death"}),
            (422, "idempotency_key_invalid"),
        ),
        (&finance, world.prison_a, death.clone(), (403, "forbidden")),
        (
            &officer_b,
            world.prison_a,
            death.clone(),
            (403, "forbidden"),
        ),
        (
            &officer_b,
            world.prison_b,
            death.clone(),
            (404, "not_found"),
        ),
    ] {
        let path = if prison == world.prison_b {
            format!("/prisoners/{person}/freeze")
        } else {
            freeze.clone()
        };
        let (status, code) = refused(post(&world, user, prison, &path, body).await).await;
        assert_eq!((status, code.as_str()), expected);
    }
    let after_refusals = state_counts(&world).await;
    assert_eq!(
        after_refusals.0, before.0,
        "refusals change no ledger, identity or auth row"
    );
    assert_eq!((after_refusals.1, after_refusals.2), (before.1, before.2));

    // The death freeze: every payment declined card_frozen, money where it was.
    assert!(
        prisoner
            .authorize(&prisoner.input("auth_before", 10_00))
            .await
            .approve
    );
    let frozen = ok(post(&world, &officer, world.prison_a, &freeze, death.clone()).await).await;
    assert_eq!(frozen["placement"]["mode"], "frozen");
    assert_eq!(frozen["placement"]["reason"], "freeze_death");
    let declined = prisoner
        .authorize(&prisoner.input("auth_after", 10_00))
        .await;
    assert!(!declined.approve);
    // A retry is the first answer; another freeze of a frozen person is a conflict.
    let modes = state_counts(&world).await.1;
    assert_eq!(
        ok(post(&world, &officer, world.prison_a, &freeze, death).await).await,
        frozen
    );
    assert_eq!(
        refused(
            post(
                &world,
                &officer,
                world.prison_a,
                &freeze,
                json!({"idempotency_key": "freeze-2", "cause": "escape"})
            )
            .await
        )
        .await,
        (409, "already_frozen".into())
    );
    assert_eq!(state_counts(&world).await.1, modes);
    // return_to needs its prison; restore takes no prison.
    assert_eq!(
        refused(
            post(
                &world,
                &officer,
                world.prison_a,
                &resolve,
                json!({"idempotency_key": "r", "resolution": "return_to"})
            )
            .await
        )
        .await,
        (422, "prison_required".into())
    );
    assert_eq!(
        refused(
            post(&world, &officer, world.prison_a, &resolve,
                json!({"idempotency_key": "r", "resolution": "restore", "to_prison_id": world.prison_b}))
            .await
        )
        .await,
        (422, "resolution_invalid".into())
    );

    // A payment approved before the death is still held: it must clear first.
    assert_eq!(
        refused(post(&world, &officer, world.prison_a, &resolve, close_it.clone()).await).await,
        (409, "holds_open".into())
    );
    prisoner
        .apply(&prisoner.clearing("txn_before", Some("auth_before"), 10_00))
        .await;

    // Resolved by paying everything out to the payout account on record and closing.
    let balance_before = prisoner
        .ledger
        .balance(prisoner.accounts.spendable)
        .await
        .unwrap();
    let resolved =
        ok(post(&world, &officer, world.prison_a, &resolve, close_it.clone()).await).await;
    assert_eq!(resolved["resolution"], "pay_out_and_close");
    assert_eq!(resolved["placement"]["reason"], "closed");
    assert_eq!(
        resolved["closed"]["paid_out"]["amount_minor"],
        balance_before.posted.amount_minor
    );
    assert!(resolved["closed"]["payout_entry_id"].is_string());
    assert_eq!(
        open_accounts(&world, person).await,
        0,
        "every account closed"
    );
    // Retried: the same answer, nothing paid twice; afterwards there is no freeze to resolve.
    let entries = world.table_counts().await;
    assert_eq!(
        ok(post(&world, &officer, world.prison_a, &resolve, close_it).await).await,
        resolved
    );
    assert_eq!(world.table_counts().await, entries);
    assert_eq!(
        refused(
            post(
                &world,
                &officer,
                world.prison_a,
                &resolve,
                json!({"idempotency_key": "resolve-2", "resolution": "restore"})
            )
            .await
        )
        .await,
        (409, "accounts_closed".into())
    );
    assert_eq!(
        refused(
            post(
                &world,
                &officer,
                world.prison_a,
                &freeze,
                json!({"idempotency_key": "freeze-3", "cause": "staff"})
            )
            .await
        )
        .await,
        (409, "accounts_closed".into())
    );
    // Every attempt that reached the record is in the access log as a change of its placement.
    let logged = world
        .access_log()
        .await
        .into_iter()
        .filter(|row| {
            row.subject_person_id == Some(person) && row.fields.contains(&"placement".to_owned())
        })
        .count();
    assert!(logged >= 3, "freeze and resolution are logged ({logged})");
}

#[tokio::test]
async fn an_escape_freeze_resolved_by_return_to_another_prison_moves_the_card_and_the_record() {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    give_policy(&world, world.prison_b).await;
    let officer = world
        .staff("esc.officer", &[Role::Officer], world.prison_a)
        .await;
    let officer_b = world
        .staff("esc.officer.b", &[Role::Officer], world.prison_b)
        .await;
    let person = world.admit(&officer, world.prison_a, "ESC-1").await;
    let prisoner = with_card(&world, person, 50_00).await;
    ok(post(
        &world,
        &officer,
        world.prison_a,
        &format!("/prisoners/{person}/freeze"),
        json!({"idempotency_key": "escape", "cause": "escape"}),
    )
    .await)
    .await;
    assert!(
        !prisoner
            .authorize(&prisoner.input("auth_escaped", 5_00))
            .await
            .approve
    );
    let resolved = ok(post(
        &world,
        &officer,
        world.prison_a,
        &format!("/prisoners/{person}/freeze/resolve"),
        json!({"idempotency_key": "recaptured", "resolution": "return_to",
               "to_prison_id": world.prison_b, "regime": "closed_prison"}),
    )
    .await)
    .await;
    assert_eq!(resolved["placement"]["mode"], "inside");
    assert_eq!(
        resolved["placement"]["prison_id"],
        world.prison_b.to_string()
    );
    assert!(resolved.get("closed").is_none());
    assert!(
        prisoner
            .authorize(&prisoner.input("auth_back", 5_00))
            .await
            .approve
    );
    // The record moved with the card: prison B's staff find it, prison A's no longer do.
    let consult = |user: &StaffUser, prison: Uuid| {
        world
            .http
            .get(world.prison_url(prison, &format!("/prisoners/{person}")))
            .bearer_auth(&user.token)
            .header("Saldo-Purpose", "case_management")
            .send()
    };
    assert_eq!(
        consult(&officer_b, world.prison_b).await.unwrap().status(),
        200
    );
    assert_eq!(
        consult(&officer, world.prison_a).await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn closing_after_release_pays_out_and_closes_only_once_the_grace_period_is_over() {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("close.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "CL-1").await;
    with_card(&world, person, 80_00).await;
    let close = format!("/prisoners/{person}/close");
    let request = json!({"idempotency_key": "close-1"});

    // Not released: refused, nothing written.
    let before = state_counts(&world).await;
    assert_eq!(
        refused(post(&world, &officer, world.prison_a, &close, request.clone()).await).await,
        (409, "not_released".into())
    );
    assert_eq!(
        refused(
            post(
                &world,
                &officer,
                world.prison_a,
                &close,
                json!({"idempotency_key": "x", "extra": 1})
            )
            .await
        )
        .await,
        (422, "invalid_body".into())
    );
    let after = state_counts(&world).await;
    assert_eq!((after.0, after.1, after.2), (before.0, before.1, before.2));

    // Released through the route: the grace period runs to the end of next month.
    ok(post(
        &world,
        &officer,
        world.prison_a,
        &format!("/prisoners/{person}/release"),
        json!({"idempotency_key": "release-1", "savings": "to_spendable"}),
    )
    .await)
    .await;
    assert_eq!(
        refused(post(&world, &officer, world.prison_a, &close, request.clone()).await).await,
        (409, "grace_period_running".into())
    );

    // Another prisoner, released a while ago: the grace period ended a minute ago (the route
    // computes it from today, so the past release is recorded through the ledger library).
    let person = world.admit(&officer, world.prison_a, "CL-2").await;
    let prisoner = with_card(&world, person, 80_00).await;
    let close = format!("/prisoners/{person}/close");
    let now = OffsetDateTime::now_utc();
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    ledger::lifecycle::release(
        &tx,
        &Release {
            idempotency_key: "test-release-over".into(),
            person_id: person,
            savings: SavingsOnRelease::ToSpendable,
            grace_until: now - Duration::minutes(1),
            effective_date: now.date(),
            released_by: "test".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    drop(client);
    let balance = prisoner
        .ledger
        .balance(prisoner.accounts.spendable)
        .await
        .unwrap();
    assert!(balance.posted.amount_minor > 0);
    let closed = ok(post(&world, &officer, world.prison_a, &close, request.clone()).await).await;
    assert_eq!(
        closed["paid_out"]["amount_minor"],
        balance.posted.amount_minor
    );
    assert_eq!(closed["paid_out"]["currency"], "EUR");
    assert_eq!(closed["placement"]["mode"], "frozen");
    assert_eq!(closed["placement"]["reason"], "closed");
    assert_eq!(open_accounts(&world, person).await, 0);
    // Retried: the same answer, one payout.
    let rows = world.table_counts().await;
    assert_eq!(
        ok(post(&world, &officer, world.prison_a, &close, request).await).await,
        closed
    );
    assert_eq!(world.table_counts().await, rows);
    assert_eq!(
        refused(
            post(
                &world,
                &officer,
                world.prison_a,
                &close,
                json!({"idempotency_key": "close-2"})
            )
            .await
        )
        .await,
        (409, "accounts_closed".into())
    );
    assert!(
        !prisoner
            .authorize(&prisoner.input("auth_closed", 1_00))
            .await
            .approve
    );
    // The ledger library refuses too: a closure is not a freeze to lift.
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let error = ledger::lifecycle::resolve_freeze(
        &tx,
        &ledger::lifecycle::ResolveFreeze {
            idempotency_key: "library-restore".into(),
            person_id: person,
            resolution: ledger::lifecycle::Resolution::Restore,
            resolved_by: "test".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "accounts_closed");
}

async fn consult(world: &World, user: &StaffUser, person: Uuid) -> Value {
    let response = world
        .http
        .get(world.prison_url(world.prison_a, &format!("/prisoners/{person}")))
        .bearer_auth(&user.token)
        .header("Saldo-Purpose", "case_management")
        .send()
        .await
        .unwrap();
    ok(response).await
}

fn with_purpose(request: reqwest::RequestBuilder, purpose: &str) -> reqwest::RequestBuilder {
    request
        .header("Saldo-Purpose", purpose)
        .header("Saldo-Case-Ref", "DSR-2026-17")
}

#[tokio::test]
async fn rectification_and_restriction_are_staff_routes_logged_with_their_purpose() {
    let world = World::new().await;
    let officer = world
        .staff("dsr.officer", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("dsr.finance", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "DSR-1").await;
    let rectification = world.prison_url(
        world.prison_a,
        &format!("/prisoners/{person}/rectification"),
    );
    let restriction = world.prison_url(world.prison_a, &format!("/prisoners/{person}/restriction"));
    let change = json!({"full_name": "Matti Korjattu", "unit": null, "payout_iban": "DE89370400440532013000"});

    // Refused without a purpose, with nothing to change, with a bad IBAN, for finance staff, or
    // for a prisoner of another prison: the record stays as it was.
    let log_before = world.access_log().await.len();
    let cases = [
        (
            with_purpose(world.http.post(&rectification), "nope"),
            change.clone(),
            400,
            "purpose_invalid",
        ),
        (
            world.http.post(&rectification),
            change.clone(),
            400,
            "purpose_required",
        ),
        (
            with_purpose(world.http.post(&rectification), "data_subject_request"),
            json!({}),
            422,
            "nothing_to_rectify",
        ),
        (
            with_purpose(world.http.post(&rectification), "data_subject_request"),
            json!({"payout_iban": "DE89370400440532013001"}),
            422,
            "iban_invalid",
        ),
        (
            with_purpose(world.http.post(&rectification), "data_subject_request"),
            json!({"date_of_birth": "31.12.1990"}),
            422,
            "date_invalid",
        ),
        (
            with_purpose(world.http.post(&rectification), "data_subject_request"),
            json!({"full_name": "X", "favourite_colour": "blue"}),
            422,
            "invalid_body",
        ),
    ];
    for (request, body, status, code) in cases {
        let (got_status, got) = problem(
            request
                .bearer_auth(&officer.token)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (got_status, got["code"].as_str()),
            (status, Some(code)),
            "{got}"
        );
    }
    let (status, _) = problem(
        with_purpose(world.http.post(&rectification), "data_subject_request")
            .bearer_auth(&finance.token)
            .json(&change)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        world.access_log().await.len(),
        log_before,
        "bad input is not even logged"
    );
    let record = consult(&world, &officer, person).await;
    assert_eq!(record["full_name"], "Matti Meikäläinen");
    assert_eq!(record["unit"], "B2");

    // Rectified: the fields given replaced, null cleared; logged with purpose and field names.
    let rectified = ok(
        with_purpose(world.http.post(&rectification), "data_subject_request")
            .bearer_auth(&officer.token)
            .json(&change)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        rectified["fields"],
        json!(["full_name", "unit", "payout_iban"])
    );
    let record = consult(&world, &officer, person).await;
    assert_eq!(record["full_name"], "Matti Korjattu");
    assert!(record.get("unit").is_none());
    assert_eq!(record["payout_iban"], "DE89370400440532013000");
    let change_row = world
        .access_log()
        .await
        .into_iter()
        .rev()
        .find(|row| row.action == "change" && row.subject_person_id == Some(person))
        .unwrap();
    assert_eq!(change_row.purpose, "data_subject_request");
    assert_eq!(change_row.fields, ["full_name", "unit", "payout_iban"]);
    assert_eq!(change_row.outcome, "ok");
    // Another prison's officer: 404, and the attempt logged as not found.
    let officer_b = world
        .staff("dsr.officer.b", &[Role::Officer], world.prison_b)
        .await;
    let (status, _) = problem(
        with_purpose(
            world.http.post(world.prison_url(
                world.prison_b,
                &format!("/prisoners/{person}/rectification"),
            )),
            "data_subject_request",
        )
        .bearer_auth(&officer_b.token)
        .json(&json!({"full_name": "Someone Else"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        consult(&world, &officer, person).await["full_name"],
        "Matti Korjattu"
    );

    // Restricted: the record's fields are withheld from case management; logged.
    let restrict = || {
        with_purpose(world.http.put(&restriction), "data_subject_request")
            .bearer_auth(&officer.token)
            .json(&json!({"reason": "accuracy_contested"}))
            .send()
    };
    let restricted = ok(restrict().await.unwrap()).await;
    assert_eq!(
        restricted,
        json!({"person_id": person, "restricted": true, "reason": "accuracy_contested"})
    );
    let restricted_at = || async {
        world
            .db
            .raw_client()
            .await
            .query_one(
                "select restricted_at from identity.prisoners where person_id = $1",
                &[&person],
            )
            .await
            .unwrap()
            .get::<_, Option<OffsetDateTime>>(0)
    };
    let first = restricted_at().await;
    assert!(first.is_some());
    let withheld = consult(&world, &officer, person).await;
    assert!(withheld.get("full_name").is_none(), "{withheld}");
    // A retry keeps the first restriction's time.
    assert_eq!(ok(restrict().await.unwrap()).await, restricted);
    assert_eq!(restricted_at().await, first);
    let (status, body) = problem(
        with_purpose(world.http.put(&restriction), "data_subject_request")
            .bearer_auth(&officer.token)
            .json(&json!({"reason": "because"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid_body")));
    let (status, body) = problem(
        world
            .http
            .delete(&restriction)
            .bearer_auth(&officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("purpose_required"))
    );

    // Lifted: the record shows again; lifting twice changes nothing.
    for _ in 0..2 {
        let lifted = ok(
            with_purpose(world.http.delete(&restriction), "data_subject_request")
                .bearer_auth(&officer.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(lifted, json!({"person_id": person, "restricted": false}));
    }
    assert_eq!(restricted_at().await, None);
    assert_eq!(
        consult(&world, &officer, person).await["full_name"],
        "Matti Korjattu"
    );
    let restriction_rows: Vec<_> = world
        .access_log()
        .await
        .into_iter()
        .filter(|row| row.fields == ["restriction"] && row.subject_person_id == Some(person))
        .collect();
    assert_eq!(restriction_rows.len(), 4);
    assert!(
        restriction_rows
            .iter()
            .all(|row| row.purpose == "data_subject_request"
                && row.actor_id == Some(officer.id)
                && row.outcome == "ok")
    );
}
