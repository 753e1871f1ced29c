//! Staff and the processor outbox: the dead-letter list and retry, and officers' card actions
//! (freeze, unfreeze, replacement) queued with the record of the staff action.
use saldo::auth::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_support::*;

async fn dead_call(world: &World, secret_in_body: &str) -> Uuid {
    let client = world.db.raw_client().await;
    let id = Uuid::now_v7();
    client
        .execute(
            "insert into card.outbox (id, idempotency_key, operation, method, path, body, person_id,
                                      state, attempts, last_error)
             values ($1, $2, 'set_card_state', 'POST', '/v1/cards/card_dead1/state', $3, $4, 'dead',
                     12, 'http_409')",
            &[
                &id,
                &format!("st_{}", id.simple()),
                &json!({"state": "PAUSED", "reason": secret_in_body}),
                &Uuid::new_v4(),
            ],
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn staff_list_dead_calls_without_their_bodies_and_put_one_back_in_the_queue() {
    let world = World::new().await;
    let finance = world
        .staff("dl.finance", &[Role::Finance], world.prison_a)
        .await;
    let id = dead_call(&world, "SECRET-BODY-VALUE").await;

    let response = world
        .http
        .get(world.url("/api/staff/dead-letters"))
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains("SECRET-BODY-VALUE"), "a body leaked: {text}");
    assert!(!text.contains("person_id"), "whose call it was leaked");
    let body: Value = serde_json::from_str(&text).unwrap();
    let listed = &body["dead_letters"][0];
    assert_eq!(listed["id"], json!(id));
    assert_eq!(listed["operation"], "set_card_state");
    assert_eq!(listed["path"], "/v1/cards/card_dead1/state");
    assert_eq!(listed["last_error"], "http_409");
    assert_eq!(listed["state"], "dead");
    assert_eq!(listed["attempts"], 12);
    assert_eq!(listed["staff_retries"], 0);
    assert_eq!(listed["next_attempt_at"], Value::Null);

    let retry = world
        .http
        .post(world.url(&format!("/api/staff/dead-letters/{id}/retry")))
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    let text = retry.text().await.unwrap();
    assert!(!text.contains("SECRET-BODY-VALUE"), "a body leaked: {text}");
    assert!(!text.contains("person_id"), "whose call it was leaked");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["id"], json!(id));
    assert_eq!(answer["state"], "pending");
    assert_eq!(answer["attempts"], 0);
    assert_eq!(answer["staff_retries"], 1);
    assert!(answer["next_attempt_at"].is_string(), "{answer}");
    let client = world.db.raw_client().await;
    let row = client
        .query_one(
            "select state, attempts from card.outbox where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i32>(1)),
        ("pending".to_owned(), 0)
    );
    let recorded: i64 = client
        .query_one(
            "select count(*) from audit.staff_actions where action = 'dead_letter_retry'
             and outbox_id = $1 and staff_id = $2",
            &[&id, &finance.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 1);

    // It is no longer dead: a second retry finds nothing.
    let again = world
        .http
        .post(world.url(&format!("/api/staff/dead-letters/{id}/retry")))
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(again).await.0, 404);
}

async fn with_card(world: &World, officer: &StaffUser, state: &str) -> (Uuid, String) {
    let person = world.admit(officer, world.prison_a, "CARD-1").await;
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let spendable = ledger::store::account_by_code(&tx, &format!("person:{person}:spendable:EUR"))
        .await
        .unwrap()
        .unwrap();
    let card_id = "card_staff1".to_owned();
    card_adapter::booking::register_card(
        &tx,
        &card_id,
        "ch_staff1",
        person,
        spendable.id,
        state,
        Some("4821"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (person, card_id)
}

async fn card_action(
    world: &World,
    officer: &StaffUser,
    person: Uuid,
    action: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!("/prisoners/{person}/card/{action}"),
        ))
        .bearer_auth(&officer.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn queued(world: &World, operation: &str) -> Vec<(String, Value)> {
    let client = world.db.raw_client().await;
    client
        .query(
            "select path, body from card.outbox where operation = $1 order by created_at",
            &[&operation],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[tokio::test]
async fn an_officer_freezes_a_card_and_the_state_changes_only_when_the_processor_confirms() {
    let world = World::new().await;
    let officer = world
        .staff("card.officer", &[Role::Officer], world.prison_a)
        .await;
    let (person, card_id) = with_card(&world, &officer, "ACTIVE").await;

    let response = card_action(&world, &officer, person, "freeze", None).await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["card_id"], card_id);
    assert_eq!(
        accepted["card_state"], "ACTIVE",
        "not changed before confirmation"
    );
    let calls = queued(&world, "set_card_state").await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, format!("/v1/cards/{card_id}/state"));
    assert_eq!(calls[0].1["state"], "PAUSED");

    let client = world.db.raw_client().await;
    let state: String = client
        .query_one(
            "select state from card.cards where card_id = $1",
            &[&card_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "ACTIVE");
    let action_id: Uuid = accepted["action_id"].as_str().unwrap().parse().unwrap();
    let recorded: i64 = client
        .query_one(
            "select count(*) from audit.staff_actions where id = $1 and action = 'card_freeze'
             and staff_id = $2 and person_id = $3",
            &[&action_id, &officer.id, &person],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 1);

    // Unfreezing an active card is a conflict; nothing more is queued.
    let (status, problem) =
        problem(card_action(&world, &officer, person, "unfreeze", None).await).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("card_state_conflict"))
    );
    assert_eq!(queued(&world, "set_card_state").await.len(), 1);
}

#[tokio::test]
async fn an_officer_unfreezes_a_paused_card_and_requests_a_replacement() {
    let world = World::new().await;
    let officer = world
        .staff("card.officer", &[Role::Officer], world.prison_a)
        .await;
    let (person, card_id) = with_card(&world, &officer, "PAUSED").await;
    assert_eq!(
        card_action(&world, &officer, person, "unfreeze", None)
            .await
            .status(),
        202
    );
    assert_eq!(
        queued(&world, "set_card_state").await[0].1["state"],
        "ACTIVE"
    );

    let response = card_action(
        &world,
        &officer,
        person,
        "reissue",
        Some(json!({"reason": "DAMAGED"})),
    )
    .await;
    assert_eq!(response.status(), 202);
    let calls = queued(&world, "reissue_card").await;
    assert_eq!(
        calls,
        vec![(
            format!("/v1/cards/{card_id}/reissue"),
            json!({"reason": "DAMAGED"})
        )]
    );
    let (status, _) = problem(
        card_action(
            &world,
            &officer,
            person,
            "reissue",
            Some(json!({"reason": "because I said so"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "only the processor's reasons");
}

#[tokio::test]
async fn a_prisoner_without_a_card_has_nothing_to_freeze() {
    let world = World::new().await;
    let officer = world
        .staff("card.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "NOCARD-1").await;
    let (status, problem) =
        problem(card_action(&world, &officer, person, "freeze", None).await).await;
    assert_eq!(
        (status, problem["detail"].as_str()),
        (404, Some("no such card"))
    );
    assert!(queued(&world, "set_card_state").await.is_empty());
}

/// The fence syncs queued for a card, by when they are due.
async fn fence_syncs(world: &World, card_id: &str) -> Vec<time::OffsetDateTime> {
    world
        .db
        .raw_client()
        .await
        .query(
            "select next_attempt_at from card.outbox
             where operation = 'sync_spend_controls' and path = $1 order by next_attempt_at",
            &[&format!("/v1/cards/{card_id}/spend_controls")],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn granting_and_ending_a_leave_queue_the_processor_fence_for_now_and_for_its_start_and_end() {
    let world = World::new().await;
    let officer = world
        .staff("fence.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "F-1").await;
    give_policy(&world, world.prison_a).await;
    let prisoner = crate::api_support::with_card(&world, person, 0).await;
    let from = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let until = from + time::Duration::hours(24);
    let rfc3339 = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let granted = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/leave")))
        .bearer_auth(&officer.token)
        .json(&json!({"idempotency_key": "fence-leave", "from": rfc3339(from), "until": rfc3339(until)}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    let seconds = |times: Vec<time::OffsetDateTime>| {
        times
            .into_iter()
            .map(|at| at.unix_timestamp())
            .collect::<Vec<_>>()
    };
    let queued = seconds(fence_syncs(&world, &prisoner.card_id).await);
    assert_eq!(queued.len(), 3, "now, the leave's start and its end");
    assert_eq!(queued[1..], [from.unix_timestamp(), until.unix_timestamp()]);

    let ended = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/leave/end")))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    assert_eq!(
        fence_syncs(&world, &prisoner.card_id).await.len(),
        4,
        "one more, due now"
    );
}
