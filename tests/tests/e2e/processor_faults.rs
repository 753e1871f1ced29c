//! Processor faults on the outbound side (issue 20): the simulator breaks connections (before
//! and after carrying a call out), times out, answers 503, 502 after carrying the call out, and
//! 429 with Retry-After, on card creation and on fence syncs. The outbox finishes, and the
//! processor carried each call out once: every attempt of a call carried the call's one
//! Idempotency-Key. A permanent 4xx parks the call dead, where staff see it.
use std::collections::{BTreeMap, BTreeSet};

use processor_sim::Fault;
use saldo::auth::Role;
use serde_json::Value;
use uuid::Uuid;

use crate::card_e2e::{Harness, PEOPLE};
use crate::card_outbox::staff_token;

/// One of each fault the processor can throw at a call.
fn every_fault() -> Vec<Fault> {
    vec![
        Fault::Reset {
            count: 1,
            after_processing: false,
        },
        Fault::Reset {
            count: 1,
            after_processing: true,
        },
        Fault::Slow {
            count: 1,
            delay_ms: 1_000,
        },
        Fault::ServerError {
            count: 1,
            status: 503,
            after_processing: false,
        },
        Fault::RateLimit {
            count: 1,
            retry_after_s: 1,
        },
        Fault::ServerError {
            count: 1,
            status: 502,
            after_processing: true,
        },
    ]
}

/// The harness with a client timeout shorter than the simulator's slow answer, so `Slow` is a
/// timeout.
async fn harness_with_short_timeout() -> Harness {
    let mut harness = Harness::start().await;
    let mut client_config = card_adapter::client::ClientConfig::new(
        harness.sim.base_url(),
        "sk_test_saldo",
        "PRISON SERVICE CARD",
    );
    client_config.total_timeout_ms = 300;
    harness.worker.client =
        saldo::processor::processor_client(harness.db.pool.clone(), client_config).unwrap();
    harness
}

/// Delivers the person's calls until none is pending, making each retry due at once instead of
/// waiting out its backoff. Returns each call's operation and state.
async fn deliver_until_settled(harness: &Harness, person_id: Uuid) -> Vec<(String, String)> {
    let client = harness.db.raw_client().await;
    let mut calls = Vec::new();
    for _ in 0..60 {
        harness.worker.deliver_due(10).await.unwrap();
        client
            .execute(
                "update card.outbox set next_attempt_at = now() where state = 'pending'",
                &[],
            )
            .await
            .unwrap();
        calls = client
            .query(
                "select operation, state from card.outbox where person_id = $1
                 order by created_at, id",
                &[&person_id],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get("operation"), row.get("state")))
            .collect();
        if calls.iter().all(|(_, state)| state != "pending") {
            break;
        }
    }
    calls
}

/// The Idempotency-Keys of the requests the simulator received for `method path`.
fn keys_sent(harness: &Harness, method: &str, path: &str) -> Vec<String> {
    harness
        .sim
        .requests()
        .iter()
        .filter(|request| request.method == method && request.path == path)
        .map(|request| request.header("idempotency-key").unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_creation_through_every_fault_makes_one_cardholder_and_one_card() {
    let harness = harness_with_short_timeout().await;
    for fault in every_fault() {
        harness.sim.push_fault_for("/v1/cardholders", fault.clone());
        harness.sim.push_fault_for("/v1/cards", fault);
    }
    let person_id = harness.admit_without_delivery(&PEOPLE[0]).await;
    let calls = deliver_until_settled(&harness, person_id).await;
    assert!(
        calls.iter().all(|(_, state)| state == "delivered"),
        "{calls:?}"
    );

    // Every fault was met: six failed attempts before each call got through.
    let cardholder_keys = keys_sent(&harness, "POST", "/v1/cardholders");
    let card_keys = keys_sent(&harness, "POST", "/v1/cards");
    assert_eq!(cardholder_keys.len(), 7, "{cardholder_keys:?}");
    assert!(card_keys.len() >= 2, "{card_keys:?}");
    // One call each, so one key each, however often it was sent.
    let distinct = |keys: &[String]| keys.iter().collect::<BTreeSet<_>>().len();
    assert_eq!(distinct(&cardholder_keys), 1, "{cardholder_keys:?}");
    assert_eq!(distinct(&card_keys), 1, "{card_keys:?}");
    // And the processor made one of each.
    assert_eq!(harness.sim.cardholders().len(), 1);
    let cards = harness.sim.cards();
    assert_eq!(cards.len(), 1, "{cards:?}");
    let saldo_cards: Vec<(String, String)> = harness
        .db
        .raw_client()
        .await
        .query(
            "select card_id, state from card.cards where person_id = $1",
            &[&person_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get("card_id"), row.get("state")))
        .collect();
    assert_eq!(
        saldo_cards,
        vec![(cards[0].id.clone(), "ACTIVE".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fence_sync_through_every_fault_is_carried_out_once_under_one_key() {
    let harness = harness_with_short_timeout().await;
    let person = harness.admit(&PEOPLE[0], 0, 1_000).await;
    let fence_path = format!("/v1/cards/{}/spend_controls", person.card_id);
    harness.sim.clear_requests();
    for fault in every_fault() {
        harness.sim.push_fault_for(fence_path.clone(), fault);
    }
    // A freeze closes the fence: the sync must carry zero limits to the processor.
    harness
        .freeze_by_staff(person.person_id, "freeze-under-faults")
        .await;
    let calls = deliver_until_settled(&harness, person.person_id).await;
    assert!(
        calls.iter().all(|(_, state)| state == "delivered"),
        "{calls:?}"
    );

    let keys = keys_sent(&harness, "PATCH", &fence_path);
    assert!(keys.len() >= 7, "every fault met: {keys:?}");
    let per_key: BTreeMap<&String, usize> = keys.iter().fold(BTreeMap::new(), |mut map, key| {
        *map.entry(key).or_default() += 1;
        map
    });
    // Each sync call kept its key through all its attempts; none was sent under a second key.
    let synced: i64 = harness
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from card.outbox where path = $1 and state = 'delivered'",
            &[&fence_path],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        per_key.len(),
        usize::try_from(synced).unwrap(),
        "{per_key:?}"
    );
    assert!(per_key.keys().all(|key| !key.is_empty()), "{per_key:?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanently_refused_card_creation_is_a_dead_letter_staff_see() {
    let harness = harness_with_short_timeout().await;
    // A reset first (retried), then a refusal the processor would give again: dead, not retried.
    harness.sim.push_fault_for(
        "/v1/cardholders",
        Fault::Reset {
            count: 1,
            after_processing: false,
        },
    );
    harness.sim.push_fault_for(
        "/v1/cardholders",
        Fault::Refuse {
            count: 1,
            status: 422,
            code: "invalid_request".into(),
        },
    );
    let person_id = harness.admit_without_delivery(&PEOPLE[0]).await;
    let calls = deliver_until_settled(&harness, person_id).await;
    assert_eq!(
        calls,
        vec![("create_cardholder".to_owned(), "dead".to_owned())],
    );
    assert_eq!(keys_sent(&harness, "POST", "/v1/cardholders").len(), 2);
    assert!(harness.sim.cardholders().is_empty());

    let finance = staff_token(&harness, "faults.finance", Role::Finance).await;
    let listed: Value = reqwest::Client::new()
        .get(format!("{}/api/staff/dead-letters", harness.base_url))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dead: Vec<&Value> = listed["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|call| call["path"] == "/v1/cardholders")
        .collect();
    assert_eq!(dead.len(), 1, "{listed}");
    assert_eq!(dead[0]["state"], "dead");
    assert_eq!(dead[0]["attempts"], 2);
    assert_eq!(dead[0]["last_error"], "invalid_request");
    assert_eq!(dead[0]["last_error_status"], 422);
}
