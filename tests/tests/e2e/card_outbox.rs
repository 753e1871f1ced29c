//! The outbound side against the processor simulator over HTTP: calls go out concurrently but
//! keep each card's order, every request the processor received (reads included) is in the
//! egress register, and a dead call staff retry is delivered once.
use std::collections::BTreeMap;
use std::time::Duration;

use processor_protocol::CardState;
use processor_sim::{Fault, Scenario};
use saldo::auth::{self, Grant, Role};
use serde_json::Value;
use uuid::Uuid;

use crate::card_e2e::{Harness, PEOPLE};

/// How long a test waits for something the workers do at their own pace before it calls it
/// lost. A cap on a wait, not a measure of speed.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// Waits until `probe` answers `Some`; panics with `what` after [`GIVE_UP_AFTER`].
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(started.elapsed() < GIVE_UP_AFTER, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The outbox worker `saldo serve` runs, on its own, until the test ends, woken like it by the
/// staff routes.
fn start_serve_worker(harness: &Harness) {
    let mut worker = saldo::processor::outbox_worker(harness.db.pool.clone(), &harness.processor)
        .expect("worker");
    worker.wake = harness.worker.wake.clone();
    tokio::spawn(saldo::processor::run_outbox(worker));
}

async fn queue_card_state(harness: &Harness, card_id: &str, person_id: Uuid, state: CardState) {
    let mut client = harness.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    card_adapter::outbox::request_card_state(
        &tx,
        card_id,
        Some(person_id),
        state,
        "staff_freeze",
        Uuid::now_v7(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn outbox_state(harness: &Harness, path: &str) -> Vec<String> {
    harness
        .db
        .raw_client()
        .await
        .query(
            "select state from card.outbox where path = $1 order by scheduled_at, id",
            &[&path],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn sim_card_state(harness: &Harness, card_id: &str) -> CardState {
    harness
        .sim
        .card(card_id)
        .expect("the processor knows it")
        .state
}

/// Point 12: the processor holds one call's answer for seconds; a freeze of another card, queued
/// after that call was already at the processor, reaches the processor and is carried out while
/// the slow call is still unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_call_does_not_hold_up_a_freeze_queued_after_it() {
    let harness = Harness::start().await;
    let slow = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let frozen = harness.admit(&PEOPLE[1], 1, 1_000).await;
    let slow_path = format!("/v1/cards/{}/spend_controls", slow.card_id);
    harness.sim.push_fault_for(
        slow_path.clone(),
        Fault::Slow {
            count: 1,
            delay_ms: 8_000,
        },
    );
    start_serve_worker(&harness);

    // A fence sync for the first card: its answer is held.
    {
        let mut client = harness.db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        card_adapter::fence::request_sync(&tx, slow.person_id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    eventually("the slow call reaches the processor", async || {
        harness
            .sim
            .requests()
            .iter()
            .any(|request| request.path == slow_path)
            .then_some(())
    })
    .await;

    // Then a freeze of the other card.
    queue_card_state(
        &harness,
        &frozen.card_id,
        frozen.person_id,
        CardState::Paused,
    )
    .await;
    eventually("the freeze is carried out at the processor", async || {
        (sim_card_state(&harness, &frozen.card_id) == CardState::Paused).then_some(())
    })
    .await;
    // `/metrics` counts the slow call as in flight (a count only: no card, no person).
    eventually("/metrics shows the slow call in flight", async || {
        let metrics = reqwest::get(format!("{}/metrics", harness.base_url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics
            .lines()
            .any(|line| line == "saldo_outbox_in_flight 1")
            .then_some(())
    })
    .await;
    assert_eq!(
        outbox_state(&harness, &slow_path).await[0],
        "pending",
        "the freeze went out only after the slow call was answered"
    );

    // The slow call is delivered in its own time, once.
    eventually("the slow call is delivered", async || {
        (outbox_state(&harness, &slow_path).await[0] == "delivered").then_some(())
    })
    .await;
    let sent = harness
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == slow_path)
        .count();
    assert_eq!(sent, 1);
}

/// Point 12, the order kept: a freeze that fails for a while and the fence sync queued after it
/// for the same card reach the processor in that order: the sync waits for the freeze's retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_about_one_card_keep_their_order_when_the_first_must_be_retried() {
    let harness = Harness::start().await;
    let person = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let state_path = format!("/v1/cards/{}/state", person.card_id);
    let fence_path = format!("/v1/cards/{}/spend_controls", person.card_id);
    harness.sim.clear_requests();
    harness.sim.push_fault_for(
        state_path.clone(),
        Fault::ServerError {
            count: 1,
            status: 503,
            after_processing: false,
        },
    );
    queue_card_state(
        &harness,
        &person.card_id,
        person.person_id,
        CardState::Paused,
    )
    .await;
    {
        let mut client = harness.db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        card_adapter::fence::request_sync(&tx, person.person_id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    for _ in 0..20 {
        harness.worker.deliver_due(10).await.unwrap();
        if outbox_state(&harness, &fence_path).await[0] == "delivered" {
            break;
        }
        // The retry is due at once instead of after its backoff.
        make_pending_due_now(&harness).await;
    }
    let asked: Vec<String> = harness
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == state_path || request.path == fence_path)
        .map(|request| format!("{} {}", request.method, request.path))
        .collect();
    let freeze = format!("POST {state_path}");
    let fence = format!("PATCH {fence_path}");
    assert_eq!(
        asked[..3],
        [freeze.clone(), freeze, fence],
        "the fence sync waited for the freeze's retry"
    );
    assert_eq!(sim_card_state(&harness, &person.card_id), CardState::Paused);
}

/// Makes every pending call due now instead of after its backoff.
async fn make_pending_due_now(harness: &Harness) {
    harness
        .db
        .raw_client()
        .await
        .execute(
            "update card.outbox set next_attempt_at = now() where state = 'pending'",
            &[],
        )
        .await
        .unwrap();
}

/// Follow-up point 1, in the worker: a freeze waiting for its retry is not sent once an unfreeze
/// of the same card is queued after it. It is marked superseded (kept, with the call that replaced
/// it), the unfreeze goes out without waiting for the freeze's backoff, and the card ends ACTIVE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_waiting_for_its_retry_is_superseded_by_the_unfreeze_queued_after_it() {
    let harness = Harness::start().await;
    let person = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let state_path = format!("/v1/cards/{}/state", person.card_id);
    harness.sim.clear_requests();
    harness.sim.push_fault_for(
        state_path.clone(),
        Fault::ServerError {
            count: 1,
            status: 503,
            after_processing: false,
        },
    );
    queue_card_state(
        &harness,
        &person.card_id,
        person.person_id,
        CardState::Paused,
    )
    .await;
    let report = harness.worker.deliver_due(10).await.unwrap();
    assert_eq!(report.retried, 1, "{report:?}");
    queue_card_state(
        &harness,
        &person.card_id,
        person.person_id,
        CardState::Active,
    )
    .await;

    // The freeze's retry is not due yet (backoff): the unfreeze does not wait for it.
    let report = harness.worker.deliver_due(10).await.unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    make_pending_due_now(&harness).await;
    let report = harness.worker.deliver_due(10).await.unwrap();
    assert_eq!(report, Default::default(), "nothing left to send");

    let asked: Vec<String> = harness
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == state_path)
        .map(|request| {
            serde_json::from_str::<Value>(&request.body).unwrap()["state"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        asked,
        ["PAUSED", "ACTIVE"],
        "the stale freeze was not sent again"
    );
    assert_eq!(
        outbox_state(&harness, &state_path).await,
        ["delivered", "superseded", "delivered"]
    );
    let (superseded_by, unfreeze_id): (Option<Uuid>, Uuid) = {
        let client = harness.db.raw_client().await;
        let stale = client
            .query_one(
                "select superseded_by from card.outbox where state = 'superseded'",
                &[],
            )
            .await
            .unwrap();
        let unfreeze = client
            .query_one(
                "select id from card.outbox where path = $1 and body->>'state' = 'ACTIVE'
                 order by scheduled_at desc limit 1",
                &[&state_path],
            )
            .await
            .unwrap();
        (stale.get(0), unfreeze.get(0))
    };
    assert_eq!(superseded_by, Some(unfreeze_id));
    assert_eq!(sim_card_state(&harness, &person.card_id), CardState::Active);
}

/// Point 13: every request the processor received is in the egress register, the reads of the
/// settlement files and the funding balance included, with the status the processor answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_processor_received_is_in_the_egress_register_reads_included() {
    let harness = Harness::start().await;
    let person = harness.admit(&PEOPLE[0], 0, 10_000).await;
    harness
        .run(Scenario::CanteenPurchase, &person.card_id)
        .await;
    let today = time::OffsetDateTime::now_utc().date();
    harness.sim.close_settlement_day(today).unwrap();
    let tomorrow = today + time::Duration::days(1);
    use recon::scheduled::{Fetched, fetch_funding, fetch_settlement};
    let (pool, client) = (&harness.db.pool, &harness.worker.client);
    assert_eq!(
        fetch_settlement(pool, client, today).await.unwrap(),
        Fetched::Imported
    );
    assert_eq!(
        fetch_settlement(pool, client, tomorrow).await.unwrap(),
        Fetched::NotReady
    );
    fetch_funding(pool, client).await.unwrap();
    client.get_card(&person.card_id).await.unwrap();

    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    for request in harness.sim.requests() {
        *received
            .entry(format!("{} {}", request.method, request.path))
            .or_default() += 1;
    }
    let rows = harness
        .db
        .raw_client()
        .await
        .query(
            "select method || ' ' || path, status_code from card.egress_register
             where outcome = 'sent' order by id",
            &[],
        )
        .await
        .unwrap();
    let mut registered: BTreeMap<String, usize> = BTreeMap::new();
    let mut status_of: BTreeMap<String, Option<i32>> = BTreeMap::new();
    for row in &rows {
        let endpoint: String = row.get(0);
        *registered.entry(endpoint.clone()).or_default() += 1;
        status_of.insert(endpoint, row.get(1));
    }
    assert!(received.contains_key("GET /v1/funding"), "{received:?}");
    assert_eq!(
        registered, received,
        "the register against the processor's log"
    );
    assert_eq!(
        status_of[&format!("GET /v1/settlements/{today}")],
        Some(200)
    );
    assert_eq!(
        status_of[&format!("GET /v1/settlements/{tomorrow}")],
        Some(404),
        "a file not ready yet is recorded with the processor's answer"
    );
    assert_eq!(status_of["GET /v1/funding"], Some(200));
}

/// A member of staff with a session, in the harness's prison.
pub(crate) async fn staff_token(harness: &Harness, username: &str, role: Role) -> String {
    let client = harness.db.pool.get().await.unwrap();
    let prison = saldo::identity::store::prison_by_code(&client, "HML")
        .await
        .unwrap()
        .expect("the harness's prison");
    let id = auth::create_staff(
        &client,
        username,
        "not-a-password-hash",
        &[Grant {
            prison_id: prison.id,
            role,
        }],
    )
    .await
    .unwrap();
    auth::start_staff_session(&client, id).await.unwrap().token
}

/// Point 14: a staff freeze the processor refused with a 409 is parked dead; once staff retry
/// it, it is delivered, once, and the card is paused at the processor. The dead-letter routes
/// show the call's state, attempts, last error and next attempt throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_freeze_retried_by_staff_is_delivered_once() {
    let harness = Harness::start().await;
    let person = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let officer = staff_token(&harness, "outbox.officer", Role::Officer).await;
    let finance = staff_token(&harness, "outbox.finance", Role::Finance).await;
    let prison_id = {
        let client = harness.db.pool.get().await.unwrap();
        saldo::identity::store::prison_by_code(&client, "HML")
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", harness.base_url);
    let state_path = format!("/v1/cards/{}/state", person.card_id);
    // The processor refuses the freeze once (and keeps that answer for its key, as protocol 2
    // says it does for any answer it gave), then recovers.
    harness.sim.push_fault_for(
        state_path.clone(),
        Fault::Refuse {
            count: 1,
            status: 409,
            code: "invalid_state_transition".into(),
        },
    );
    start_serve_worker(&harness);

    let freeze = http
        .post(url(&format!(
            "/api/staff/prisons/{prison_id}/prisoners/{}/card/freeze",
            person.person_id
        )))
        .bearer_auth(&officer)
        .send()
        .await
        .unwrap();
    assert_eq!(freeze.status(), 202);

    let dead: Value = eventually("the refused freeze is parked dead", async || {
        let listed: Value = http
            .get(url("/api/staff/dead-letters"))
            .bearer_auth(&finance)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed["dead_letters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|call| call["path"] == state_path.as_str())
            .cloned()
    })
    .await;
    assert_eq!(dead["state"], "dead");
    assert_eq!(dead["attempts"], 1);
    assert_eq!(dead["last_error"], "invalid_state_transition");
    assert_eq!(dead["last_error_status"], 409);
    assert_eq!(dead["next_attempt_at"], Value::Null);
    assert_eq!(sim_card_state(&harness, &person.card_id), CardState::Active);
    let outbox_id = dead["id"].as_str().unwrap().to_owned();

    let retry = http
        .post(url(&format!("/api/staff/dead-letters/{outbox_id}/retry")))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap();
    assert!(retry.status().is_success(), "{}", retry.status());

    let delivered: Value = eventually("the retried freeze is delivered", async || {
        let now: Value = http
            .get(url(&format!("/api/staff/dead-letters/{outbox_id}")))
            .bearer_auth(&finance)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match now["state"].as_str() {
            Some("delivered") => Some(now),
            Some("dead") if now["staff_retries"] == 1 => {
                panic!("the retried freeze died again: {now}")
            }
            _ => None,
        }
    })
    .await;
    assert_eq!(delivered["attempts"], 1, "{delivered}");
    assert_eq!(delivered["staff_retries"], 1);
    assert_eq!(delivered["next_attempt_at"], Value::Null);
    assert!(delivered["delivered_at"].is_string());
    assert_eq!(sim_card_state(&harness, &person.card_id), CardState::Paused);

    // Once: two requests reached the processor (the refused one and the retry, under a key of
    // its own), and it paused the card once.
    let sent: Vec<String> = harness
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == state_path && request.body.contains("PAUSED"))
        .map(|request| request.header("idempotency-key").unwrap().to_owned())
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_ne!(sent[0], sent[1]);
    let paused = harness
        .sim
        .emitted()
        .iter()
        .filter(|message| {
            message.event_type == "card.state_changed" && message.body.contains("\"PAUSED\"")
        })
        .count();
    assert_eq!(paused, 1);
}

/// Point 14, the answer: the retry route answers the call as it is then; a call that is not
/// dead cannot be retried, and the look-up shows only calls that are or were dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_answers_the_call_pending_and_due_now() {
    let harness = Harness::start().await;
    let person = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let finance = staff_token(&harness, "outbox.finance", Role::Finance).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", harness.base_url);
    let delivered_id: Uuid = harness
        .db
        .raw_client()
        .await
        .query_one(
            "select id from card.outbox where state = 'delivered' and person_id = $1 limit 1",
            &[&person.person_id],
        )
        .await
        .unwrap()
        .get(0);
    for path in [
        format!("/api/staff/dead-letters/{delivered_id}"),
        format!("/api/staff/dead-letters/{}", Uuid::now_v7()),
    ] {
        let response = http
            .get(url(&path))
            .bearer_auth(&finance)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let retry_delivered = http
        .post(url(&format!(
            "/api/staff/dead-letters/{delivered_id}/retry"
        )))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap();
    assert_eq!(retry_delivered.status(), 404);

    harness.sim.push_fault_for(
        format!("/v1/cards/{}/state", person.card_id),
        Fault::Refuse {
            count: 1,
            status: 422,
            code: "invalid_request".into(),
        },
    );
    queue_card_state(
        &harness,
        &person.card_id,
        person.person_id,
        CardState::Paused,
    )
    .await;
    let report = harness.worker.deliver_due(10).await.unwrap();
    assert_eq!(report.dead, 1, "{report:?}");
    let dead_id: Uuid = harness
        .db
        .raw_client()
        .await
        .query_one("select id from card.outbox where state = 'dead'", &[])
        .await
        .unwrap()
        .get(0);
    let before = time::OffsetDateTime::now_utc();
    let retry = http
        .post(url(&format!("/api/staff/dead-letters/{dead_id}/retry")))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    let answer: Value = retry.json().await.unwrap();
    assert_eq!(answer["state"], "pending");
    assert_eq!(answer["attempts"], 0);
    assert_eq!(answer["staff_retries"], 1);
    assert_eq!(answer["last_error"], "invalid_request");
    assert_eq!(answer["last_error_status"], 422);
    let next_attempt = time::OffsetDateTime::parse(
        answer["next_attempt_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        next_attempt <= time::OffsetDateTime::now_utc(),
        "due now, not after {before}: {next_attempt}"
    );
    let shown: Value = http
        .get(url(&format!("/api/staff/dead-letters/{dead_id}")))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["state"], "pending");
    let report = harness.worker.deliver_due(10).await.unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(sim_card_state(&harness, &person.card_id), CardState::Paused);
}

/// A fence sync's body is computed when it is sent. When the processor carried out an attempt but
/// its answer was lost, and the person's mode changed before the retry, the retry carries another
/// body: under the same key the processor answers `409 idempotency_conflict` and the call would
/// be parked dead for staff. It is sent under a key of its body instead, so the newer fence goes
/// through and nothing is left for staff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fence_sync_retried_after_the_mode_changed_is_delivered_not_parked() {
    let harness = Harness::start().await;
    let person = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let fence_path = format!("/v1/cards/{}/spend_controls", person.card_id);
    harness.sim.push_fault_for(
        fence_path.clone(),
        Fault::ServerError {
            count: 1,
            status: 502,
            after_processing: true,
        },
    );
    let mut client = harness.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    card_adapter::fence::request_sync(&tx, person.person_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let report = harness.worker.deliver_due(10).await.unwrap();
    assert_eq!(report.retried, 1, "{report:?}");

    // The person is frozen before the retry: the next attempt computes a closed fence.
    harness
        .freeze_by_staff(person.person_id, "freeze-before-retry")
        .await;
    for _ in 0..5 {
        harness
            .db
            .raw_client()
            .await
            .execute(
                "update card.outbox set next_attempt_at = now()
                 where state = 'pending' and next_attempt_at < now() + interval '1 minute'",
                &[],
            )
            .await
            .unwrap();
        harness.worker.deliver_due(10).await.unwrap();
    }
    let states = outbox_state(&harness, &fence_path).await;
    assert!(!states.contains(&"dead".to_owned()), "{states:?}");
    let controls = harness
        .sim
        .card(&person.card_id)
        .unwrap()
        .spend_controls
        .unwrap_or_default();
    assert_eq!(
        (controls.per_authorization_max, controls.daily_max),
        (Some(0), Some(0))
    );
}

/// The harness's prison, as the staff routes name it.
async fn prison_id(harness: &Harness) -> Uuid {
    let client = harness.db.pool.get().await.unwrap();
    saldo::identity::store::prison_by_code(&client, "HML")
        .await
        .unwrap()
        .expect("the harness's prison")
        .id
}

/// Saldo's own record of the card's state (what the staff card routes check).
async fn saldo_card_state(harness: &Harness, card_id: &str) -> String {
    harness
        .db
        .raw_client()
        .await
        .query_one(
            "select state from card.cards where card_id = $1",
            &[&card_id],
        )
        .await
        .unwrap()
        .get(0)
}

/// An officer's freeze or unfreeze through the staff route; answers the action's status.
async fn staff_card_action(
    harness: &Harness,
    officer: &str,
    person_id: Uuid,
    action: &str,
) -> reqwest::StatusCode {
    let prison_id = prison_id(harness).await;
    reqwest::Client::new()
        .post(format!(
            "{}/api/staff/prisons/{prison_id}/prisoners/{person_id}/card/{action}",
            harness.base_url
        ))
        .bearer_auth(officer)
        .send()
        .await
        .unwrap()
        .status()
}

/// Follow-up point 1: a stale instruction never wins. A freeze the processor refused with a 409
/// is parked dead; staff freeze again (delivered) and then unfreeze (delivered). Retrying the old
/// dead freeze now would pause a card staff last asked to be active: the retry is answered
/// `409 call_superseded`, the call is kept as `superseded` (not deleted), nothing more reaches the
/// processor, and the card stays ACTIVE there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_freeze_retried_after_a_later_unfreeze_is_superseded_not_sent() {
    let harness = Harness::start().await;
    let person = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let officer = staff_token(&harness, "outbox.officer", Role::Officer).await;
    let finance = staff_token(&harness, "outbox.finance", Role::Finance).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", harness.base_url);
    let state_path = format!("/v1/cards/{}/state", person.card_id);
    harness.sim.push_fault_for(
        state_path.clone(),
        Fault::Refuse {
            count: 1,
            status: 409,
            code: "invalid_state_transition".into(),
        },
    );
    start_serve_worker(&harness);

    assert_eq!(
        staff_card_action(&harness, &officer, person.person_id, "freeze").await,
        202
    );
    let dead_id = eventually("the refused freeze is parked dead", async || {
        let listed: Value = http
            .get(url("/api/staff/dead-letters"))
            .bearer_auth(&finance)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed["dead_letters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|call| call["path"] == state_path.as_str())
            .map(|call| call["id"].as_str().unwrap().to_owned())
    })
    .await;

    // Staff freeze again, then unfreeze: both delivered.
    assert_eq!(
        staff_card_action(&harness, &officer, person.person_id, "freeze").await,
        202
    );
    eventually("the second freeze is carried out", async || {
        (saldo_card_state(&harness, &person.card_id).await == "PAUSED").then_some(())
    })
    .await;
    assert_eq!(
        staff_card_action(&harness, &officer, person.person_id, "unfreeze").await,
        202
    );
    eventually("the unfreeze is carried out", async || {
        (saldo_card_state(&harness, &person.card_id).await == "ACTIVE").then_some(())
    })
    .await;
    assert_eq!(sim_card_state(&harness, &person.card_id), CardState::Active);
    let state_requests_before = harness
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == state_path)
        .count();

    let retry = http
        .post(url(&format!("/api/staff/dead-letters/{dead_id}/retry")))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 409, "the stale freeze was put back");
    assert_eq!(retry.headers()["content-type"], "application/problem+json");
    let problem: Value = retry.json().await.unwrap();
    assert_eq!(problem["code"], "call_superseded", "{problem}");

    let shown: Value = http
        .get(url(&format!("/api/staff/dead-letters/{dead_id}")))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["state"], "superseded", "{shown}");
    assert!(shown["superseded_by"].is_string(), "{shown}");
    assert_eq!(shown["next_attempt_at"], Value::Null);
    // A second retry is refused the same way.
    let again = http
        .post(url(&format!("/api/staff/dead-letters/{dead_id}/retry")))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);

    // Give a wrongly requeued call every chance to go out before looking.
    harness.worker.deliver_due(10).await.unwrap();
    let state_requests_after = harness
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == state_path)
        .count();
    assert_eq!(state_requests_after, state_requests_before);
    assert_eq!(sim_card_state(&harness, &person.card_id), CardState::Active);
    assert_eq!(saldo_card_state(&harness, &person.card_id).await, "ACTIVE");
}

/// Follow-up point 2: a staff retry wakes the worker. The worker here polls once an hour (its
/// first poll is at its start, before the retry), so the retried call is delivered within the
/// test's wait only if the retry route wakes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_retry_wakes_the_worker_instead_of_waiting_for_its_poll() {
    const ONE_HOUR_MS: u64 = 3_600_000;
    let harness = Harness::start().await;
    let person = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let finance = staff_token(&harness, "outbox.finance", Role::Finance).await;
    harness.sim.push_fault_for(
        format!("/v1/cards/{}/state", person.card_id),
        Fault::Refuse {
            count: 1,
            status: 422,
            code: "invalid_request".into(),
        },
    );
    queue_card_state(
        &harness,
        &person.card_id,
        person.person_id,
        CardState::Paused,
    )
    .await;
    let report = harness.worker.deliver_due(10).await.unwrap();
    assert_eq!(report.dead, 1, "{report:?}");
    let dead_id: Uuid = harness
        .db
        .raw_client()
        .await
        .query_one("select id from card.outbox where state = 'dead'", &[])
        .await
        .unwrap()
        .get(0);
    // The same worker `saldo serve` runs, sharing the server's wake, polling hourly.
    tokio::spawn(std::sync::Arc::new(harness.worker.clone()).run(ONE_HOUR_MS));
    // Its first poll (at once) has passed before the retry.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let retry = reqwest::Client::new()
        .post(format!(
            "{}/api/staff/dead-letters/{dead_id}/retry",
            harness.base_url
        ))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    eventually(
        "the retried freeze is delivered without a poll",
        async || (sim_card_state(&harness, &person.card_id) == CardState::Paused).then_some(()),
    )
    .await;
}
