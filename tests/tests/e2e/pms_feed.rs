//! The prison-management system's feed end to end (docs/pms-feed.md): `pms-sim` signs and sends
//! events over HTTP to a running Saldo on a fresh database; the state is read back from the
//! database and the staff routes.
use pms_sim::{Feed, PmsEvent, PmsPerson, admission_data, shuffled_with_duplicates};
use processor_protocol::signature::WebhookSecret;
use saldo::auth::Role;
use saldo::identity;
use saldo::services::pms_feed::{EventType, FeedConfig};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_support::{World, give_policy, problem};

const FEED_ID: &str = "pms";

fn secret() -> WebhookSecret {
    WebhookSecret::parse("whsec_cG1zLWZlZWQtdGVzdC1zZWNyZXQtMzJieXRlcyE=").unwrap()
}

/// A running Saldo that trusts the feed's secret, with both prisons (HEL, BRU) given a policy
/// when `with_policies`.
async fn world(with_policies: bool) -> World {
    let world = World::configured(|state| {
        state.with_pms_feed(FeedConfig {
            feed_id: FEED_ID.to_owned(),
            secrets: vec![secret()],
            gap_window_ms: saldo::services::pms_feed::DEFAULT_GAP_WINDOW_MS,
        })
    })
    .await;
    if with_policies {
        give_policy(&world, world.prison_a).await;
        give_policy(&world, world.prison_b).await;
    }
    world
}

fn feed(world: &World) -> Feed {
    Feed::new(&world.base, vec![secret()])
}

/// The Saldo person id the feed's admission created for a PMS reference.
async fn person_of(world: &World, person_ref: &str) -> Option<Uuid> {
    let client = world.db.pool.get().await.unwrap();
    identity::pms_feed::person_for_ref(
        &client,
        FEED_ID,
        &identity::pms_feed::person_ref_hmac(FEED_ID, person_ref),
    )
    .await
    .unwrap()
}

async fn prison_code(world: &World, prison_id: Uuid) -> String {
    let client = world.db.pool.get().await.unwrap();
    identity::store::prison(&client, prison_id)
        .await
        .unwrap()
        .unwrap()
        .code
}

/// Everything the feed changes for a person, in words that do not depend on the database's
/// ids: placement, mode and why, accounts and balances, and the identity record's name.
async fn state_of(world: &World, person_ref: &str) -> String {
    let Some(person_id) = person_of(world, person_ref).await else {
        return format!("{person_ref}: unknown");
    };
    let mut client = world.db.pool.get().await.unwrap();
    let placement = ledger::policy_store::current_placement(&client, person_id)
        .await
        .unwrap()
        .unwrap();
    let mode = match placement.mode {
        ledger::controls::CardMode::Inside => "inside".to_owned(),
        ledger::controls::CardMode::Leave { .. } => "leave".to_owned(),
        ledger::controls::CardMode::Released { .. } => "released".to_owned(),
        ledger::controls::CardMode::Frozen => "frozen".to_owned(),
    };
    let accounts: i64 = client
        .query_one(
            "select count(*) from ledger_accounts where person_id = $1",
            &[&person_id],
        )
        .await
        .unwrap()
        .get(0);
    let tx = client.transaction().await.unwrap();
    let who = identity::access_log::Accessor {
        actor_kind: identity::access_log::ActorKind::System,
        actor_id: None,
        purpose: identity::access_log::Purpose::Audit,
        case_ref: None,
        request_id: None,
    };
    let record = identity::store::consult_prisoner(
        &tx,
        &who,
        None,
        person_id,
        &[
            identity::PrisonerField::FullName,
            identity::PrisonerField::PrisonerNumber,
        ],
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    format!(
        "{person_ref}: placed {} identity {} mode {mode} ({}) accounts {accounts} name {:?} number {:?}",
        prison_code(world, placement.prison_id).await,
        prison_code(world, record.prison_id).await,
        placement.reason,
        record.full_name,
        record.prisoner_number,
    )
}

async fn statuses(world: &World) -> Vec<(String, i64)> {
    let client = world.db.raw_client().await;
    client
        .query(
            "select status, count(*) from identity.pms_events group by status order by status",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Four persons' lives in the PMS: admissions, leave, transfers, a correction, a release, an
/// escape and a death.
fn story() -> (Vec<&'static str>, Vec<PmsEvent>) {
    let mut events = Vec::new();
    let mut anna = PmsPerson::new("PMS-0001", "HEL");
    events.push(anna.admission(admission_data("HEL-0001", "Anna Example")));
    events.push(anna.leave_start(24));
    events.push(anna.leave_end());
    events.push(anna.transfer("BRU"));
    events.push(anna.identity_correction(json!({ "full_name": "Anna Corrected" })));
    let mut bert = PmsPerson::new("PMS-0002", "HEL");
    events.push(bert.admission(admission_data("HEL-0002", "Bert Example")));
    events.push(bert.transfer("BRU"));
    events.push(bert.release());
    let mut cleo = PmsPerson::new("PMS-0003", "BRU");
    events.push(cleo.admission(admission_data("BRU-0003", "Cleo Example")));
    events.push(cleo.escape());
    let mut dirk = PmsPerson::new("PMS-0004", "HEL");
    events.push(dirk.admission(admission_data("HEL-0004", "Dirk Example")));
    events.push(dirk.leave_start(48));
    events.push(dirk.death());
    (vec!["PMS-0001", "PMS-0002", "PMS-0003", "PMS-0004"], events)
}

#[tokio::test]
async fn shuffled_and_duplicated_feed_events_give_the_same_state_as_ordered_ones() {
    let (refs, events) = story();
    let ordered = world(true).await;
    let answer = feed(&ordered).send(&events).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["status"] == "applied"),
        "{}",
        answer.body
    );

    let shuffled = world(true).await;
    let batches = shuffled_with_duplicates(&events, 11, 2, 3);
    let answers = feed(&shuffled).send_all(&batches, 1).await.unwrap();
    assert!(answers.iter().all(|answer| answer.status == 200));
    // At least once: the first batch is delivered again at the end, and changes nothing.
    let again = feed(&shuffled).send(&batches[0]).await.unwrap();
    assert_eq!(again.status, 200);
    assert!(
        again.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["received"] == "duplicate"),
        "{}",
        again.body
    );

    let total = i64::try_from(events.len()).unwrap();
    assert_eq!(
        statuses(&ordered).await,
        vec![("applied".to_owned(), total)]
    );
    assert_eq!(
        statuses(&shuffled).await,
        vec![("applied".to_owned(), total)]
    );
    let mut ordered_state = Vec::new();
    let mut shuffled_state = Vec::new();
    for person_ref in &refs {
        ordered_state.push(state_of(&ordered, person_ref).await);
        shuffled_state.push(state_of(&shuffled, person_ref).await);
    }
    assert_eq!(ordered_state, shuffled_state);
    // And that state is what the story says.
    assert!(ordered_state[0].contains("placed BRU identity BRU mode inside (transfer)"));
    assert!(ordered_state[0].contains("Anna Corrected"));
    assert!(ordered_state[1].contains("mode released (release)"));
    assert!(ordered_state[2].contains("mode frozen (freeze_escape)"));
    assert!(ordered_state[3].contains("mode frozen (freeze_death)"));
    assert!(
        ordered_state
            .iter()
            .all(|state| state.contains("accounts 4"))
    );
    assert_eq!(
        ordered.table_counts().await,
        shuffled.table_counts().await,
        "the same rows in identity, auth and ledger tables"
    );
}

#[tokio::test]
async fn a_feed_event_that_cannot_apply_lands_in_review_and_replays_after_the_fix() {
    // HEL has no spending-controls policy: a leave (with the policy's limits) cannot apply.
    let world = world(false).await;
    let officer = world
        .staff("officer", &[Role::Officer], world.prison_a)
        .await;
    let mut erik = PmsPerson::new("PMS-0100", "HEL");
    let admission = erik.admission(admission_data("HEL-0100", "Erik Example"));
    let leave = erik.leave_start(24);
    let leave_end = erik.leave_end();
    // Out of order: the end of the leave arrives first and waits for its predecessor.
    let answer = feed(&world)
        .send(&[leave_end.clone(), admission, leave.clone()])
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let events = answer.body["events"].as_array().unwrap();
    assert_eq!(events[0]["status"], "pending");
    assert_eq!(events[1]["status"], "applied");
    assert_eq!(events[2]["status"], "review");
    assert_eq!(events[2]["reason_code"], "no_policy");

    let listed: Value = world
        .http
        .get(world.prison_url(world.prison_a, "/pms/events"))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["event_id"], leave_end.event_id.to_string());
    assert_eq!(listed[0]["status"], "pending");
    assert_eq!(listed[0]["waiting_for_sequence"], 2);
    assert_eq!(listed[1]["event_id"], leave.event_id.to_string());
    assert_eq!(listed[1]["reason_code"], "no_policy");
    // Staff of another prison do not see it, nor replay it.
    let other = world.staff("other", &[Role::Officer], world.prison_b).await;
    let foreign = world
        .http
        .post(world.prison_url(
            world.prison_b,
            &format!("/pms/events/{}/replay", leave.event_id),
        ))
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(foreign).await.0, 404);

    // The fix: the prison gets its policy. The replay applies the leave, then its end.
    give_policy(&world, world.prison_a).await;
    let replayed: Value = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!("/pms/events/{}/replay", leave.event_id),
        ))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replayed["status"], "applied", "{replayed}");
    assert!(
        state_of(&world, "PMS-0100")
            .await
            .contains("mode inside (leave_ended)")
    );
    assert_eq!(statuses(&world).await, vec![("applied".to_owned(), 3)]);
    let client = world.db.raw_client().await;
    let actions: Vec<(String, String)> = client
        .query(
            "select action, actor from identity.pms_event_actions where event_id = $1 order by id",
            &[&leave.event_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("review".to_owned(), "pms:pms".to_owned()),
            ("replayed".to_owned(), format!("staff:{}", officer.id)),
            ("applied".to_owned(), "pms:pms".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_release_before_any_admission_lands_in_review_and_a_dismissal_deletes_its_body() {
    let world = world(true).await;
    let officer = world
        .staff("officer", &[Role::Officer], world.prison_a)
        .await;
    let mut stranger = PmsPerson::new("PMS-0200", "HEL");
    let release = stranger.release();
    let answer = feed(&world)
        .send(std::slice::from_ref(&release))
        .await
        .unwrap();
    assert_eq!(answer.body["events"][0]["status"], "review");
    assert_eq!(answer.body["events"][0]["reason_code"], "person_unknown");

    let dismissed: Value = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!("/pms/events/{}/dismiss", release.event_id),
        ))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dismissed["status"], "dismissed");
    let client = world.db.raw_client().await;
    let sealed_left: i64 = client
        .query_one(
            "select count(*) from identity.pms_events where sealed is not null",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sealed_left, 0);
    // A dismissed event cannot be replayed.
    let again = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!("/pms/events/{}/replay", release.event_id),
        ))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(again).await.0, 404);
}

#[tokio::test]
async fn feed_messages_with_a_bad_signature_or_a_reused_event_id_store_nothing() {
    let world = world(true).await;
    let mut person = PmsPerson::new("PMS-0300", "HEL");
    let admission = person.admission(admission_data("HEL-0300", "Fay Example"));
    let forger = Feed::new(&world.base, vec![WebhookSecret::generate()]);
    let forged = forger.send(std::slice::from_ref(&admission)).await.unwrap();
    assert_eq!(forged.status, 401);
    assert_eq!(forged.body["code"], "signature_mismatch");
    assert_eq!(statuses(&world).await, vec![]);
    let before = world.table_counts().await;

    // An event that breaks the identity store's rules refuses the whole batch.
    let mut bad = person.clone();
    let mut broken = bad.admission(admission_data("HEL-0301", "Bad\u{7}Name"));
    broken.sequence = 1;
    let refused = feed(&world)
        .send(&[broken.clone(), admission.clone()])
        .await
        .unwrap();
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(statuses(&world).await, vec![]);
    assert_eq!(world.table_counts().await, before);

    let stored = feed(&world)
        .send(std::slice::from_ref(&admission))
        .await
        .unwrap();
    assert_eq!(stored.status, 200);
    let mut changed = admission.clone();
    changed.data = admission_data("HEL-0300", "Someone Else");
    let conflict = feed(&world).send(&[changed]).await.unwrap();
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.body["code"], "event_id_conflict");
    let mut other_id = admission.clone();
    other_id.event_id = Uuid::new_v4();
    let taken = feed(&world).send(&[other_id]).await.unwrap();
    assert_eq!(taken.status, 409);
    assert_eq!(taken.body["code"], "sequence_taken");
    assert_eq!(statuses(&world).await, vec![("applied".to_owned(), 1)]);
}

#[tokio::test]
async fn personal_data_from_the_feed_is_kept_only_sealed_and_its_use_is_logged() {
    let world = world(true).await;
    let mut person = PmsPerson::new("PMS-0400", "HEL");
    let admission = person.admission(admission_data("HEL-0400", "Gustav Uniquename"));
    let leave = person.leave_start(24);
    // The leave waits (its admission has not arrived): its body is kept sealed meanwhile.
    feed(&world).send(&[leave]).await.unwrap();
    let client = world.db.raw_client().await;
    let raw: Vec<String> = client
        .query(
            "select row_to_json(e)::text from identity.pms_events e
             union all select row_to_json(p)::text from identity.pms_persons p",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(!raw.is_empty());
    assert!(raw.iter().all(|row| !row.contains("PMS-0400")));
    feed(&world)
        .send(std::slice::from_ref(&admission))
        .await
        .unwrap();
    let raw: String = client
        .query_one(
            "select string_agg(row_to_json(e)::text, ' ') from identity.pms_events e",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!raw.contains("Uniquename") && !raw.contains("HEL-0400"));
    let person_id = person_of(&world, "PMS-0400").await.unwrap();
    let created = client
        .query_one(
            "select actor_kind, purpose, case_ref from audit.access_log
             where subject_person_id = $1 and action = 'create'",
            &[&person_id],
        )
        .await
        .unwrap();
    assert_eq!(created.get::<_, String>(0), "system");
    assert_eq!(created.get::<_, String>(1), "admission");
    assert_eq!(
        created.get::<_, Option<String>>(2),
        Some(format!("pms/{}", admission.event_id))
    );
}

#[tokio::test]
async fn the_population_snapshot_lists_the_persons_only_one_side_places_in_the_prison() {
    let world = world(true).await;
    let reader = world
        .staff("finance", &[Role::Finance], world.prison_a)
        .await;
    let mut events = Vec::new();
    let mut persons: Vec<PmsPerson> = ["PMS-0501", "PMS-0502", "PMS-0503"]
        .iter()
        .map(|person_ref| PmsPerson::new(person_ref, "HEL"))
        .collect();
    for (index, person) in persons.iter_mut().enumerate() {
        events.push(person.admission(admission_data(&format!("HEL-050{index}"), "Pop Example")));
    }
    events.push(persons[2].transfer("BRU"));
    let answer = feed(&world).send(&events).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);

    let none = world
        .http
        .get(world.prison_url(world.prison_a, "/pms/population"))
        .bearer_auth(&reader.token)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(none).await.0, 404);

    let sent = feed(&world)
        .send_population("HEL", "2026-05-01", &["PMS-0501", "PMS-0503", "PMS-9999"])
        .await
        .unwrap();
    assert_eq!(sent.status, 200, "{}", sent.body);
    let shown: Value = world
        .http
        .get(world.prison_url(world.prison_a, "/pms/population"))
        .bearer_auth(&reader.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown, sent.body);
    let second = person_of(&world, "PMS-0502").await.unwrap();
    let third = person_of(&world, "PMS-0503").await.unwrap();
    assert_eq!(shown["population_date"], "2026-05-01");
    assert_eq!(shown["matching"], 1);
    assert_eq!(shown["unknown_to_saldo"], 1);
    assert_eq!(shown["in_pms_not_saldo"], json!([]));
    assert_eq!(shown["in_saldo_not_pms"], json!([second]));
    assert_eq!(
        shown["different_prison"],
        json!([{ "person_id": third, "saldo_prison_id": world.prison_b }])
    );
    // The same day again with another list is refused; with the same list it is a no-op.
    let conflict = feed(&world)
        .send_population("HEL", "2026-05-01", &["PMS-0501"])
        .await
        .unwrap();
    assert_eq!(conflict.status, 409);
    let same = feed(&world)
        .send_population("HEL", "2026-05-01", &["PMS-9999", "PMS-0503", "PMS-0501"])
        .await
        .unwrap();
    assert_eq!(same.status, 200);
}

/// A small reader of the subset of JSON Schema docs/pms-feed.schema.json uses: `required`,
/// `properties`, `additionalProperties: false`, `type`, `enum`, `const`, `$ref` to `$defs`, and
/// `oneOf` by `type`'s `const`.
fn check(schema: &Value, root: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        return check(&root["$defs"][name], root, value, path, errors);
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        let matching = choices
            .iter()
            .filter(|choice| {
                let mut inner = Vec::new();
                check(choice, root, value, path, &mut inner);
                inner.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!("{path}: matches {matching} of oneOf"));
        }
        return;
    }
    if let Some(expected) = schema.get("const")
        && value != expected
    {
        errors.push(format!("{path}: not {expected}"));
    }
    if let Some(choices) = schema["enum"].as_array()
        && !choices.contains(value)
    {
        errors.push(format!("{path}: not one of the enum"));
    }
    let type_ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64(),
        Some("array") => value.is_array(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!("{path}: wrong type"));
        return;
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(name.as_str().unwrap()) {
                errors.push(format!("{path}: {name} missing"));
            }
        }
        for (name, field) in object {
            match schema["properties"].get(name) {
                Some(field_schema) => {
                    check(field_schema, root, field, &format!("{path}.{name}"), errors);
                }
                None if schema["additionalProperties"] == json!(false) => {
                    errors.push(format!("{path}: {name} not allowed"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            check(items, root, item, &format!("{path}[{index}]"), errors);
        }
    }
}

#[test]
fn the_simulators_events_and_saldos_event_types_follow_the_documented_json_schema() {
    let schema: Value = serde_json::from_str(include_str!("../../../docs/pms-feed.schema.json"))
        .expect("docs/pms-feed.schema.json is JSON");
    let (_, mut events) = story();
    let mut other = PmsPerson::new("PMS-0600", "HEL");
    events.push(other.admission(json!({
        "prisoner_number": "HEL-0600",
        "full_name": "Hanna Example",
        "national_id": "010190-123A",
        "date_of_birth": "1990-01-01",
        "preferred_language": "fi",
        "unit": "B2",
        "payout_iban": "FI2112345600000785",
        "regime": "open_prison",
    })));
    let batch = json!({ "events": events });
    let mut errors = Vec::new();
    check(&schema, &schema, &batch, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let mut wrong = batch.clone();
    wrong["events"][0]["data"]["nickname"] = json!("x");
    let mut errors = Vec::new();
    check(&schema, &schema, &wrong, "$", &mut errors);
    assert!(!errors.is_empty(), "the reader must catch an unknown field");

    let documented: Vec<&str> = schema["$defs"]["event_type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect();
    let saldo: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(documented, saldo);
    assert_eq!(documented, pms_sim::EVENT_TYPES.to_vec());
}

#[tokio::test]
async fn the_staff_page_shows_the_review_queue_and_replays_from_its_button() {
    let world = world(false).await;
    let officer = world
        .staff("officer", &[Role::Officer], world.prison_a)
        .await;
    let reader = world
        .staff("finance", &[Role::Finance], world.prison_a)
        .await;
    let mut person = PmsPerson::new("PMS-0700", "HEL");
    let admission = person.admission(admission_data("HEL-0700", "Ida Pagename"));
    let leave = person.leave_start(24);
    feed(&world)
        .send(&[admission, leave.clone()])
        .await
        .unwrap();
    let page_url = world.url(&format!("/staff/prisons/{}/pms", world.prison_a));

    let seen = world
        .http
        .get(&page_url)
        .bearer_auth(&reader.token)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 200);
    let html = seen.text().await.unwrap();
    assert!(html.contains("no_policy"));
    assert!(!html.contains("Pagename") && !html.contains("HEL-0700"));
    // Finance staff read the queue; only officers get the buttons.
    assert!(!html.contains("/replay"));
    let officer_html = world
        .http
        .get(&page_url)
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(officer_html.contains(&format!("/pms/events/{}/replay", leave.event_id)));

    give_policy(&world, world.prison_a).await;
    let replayed = world
        .http
        .post(world.url(&format!(
            "/staff/prisons/{}/pms/events/{}/replay",
            world.prison_a, leave.event_id
        )))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 303);
    assert_eq!(statuses(&world).await, vec![("applied".to_owned(), 2)]);
}

#[tokio::test]
async fn two_deliveries_of_the_same_events_at_once_apply_each_event_once() {
    let (refs, events) = story();
    let ordered = world(true).await;
    feed(&ordered).send(&events).await.unwrap();
    let racing = world(true).await;
    let first = shuffled_with_duplicates(&events, 3, 0, 4);
    let second = shuffled_with_duplicates(&events, 5, 0, 4);
    let (feed_one, feed_two) = (feed(&racing), feed(&racing));
    let (one, two) = tokio::join!(feed_one.send_all(&first, 3), feed_two.send_all(&second, 3));
    assert!(
        one.unwrap()
            .iter()
            .chain(two.unwrap().iter())
            .all(|answer| answer.status == 200)
    );
    let total = i64::try_from(events.len()).unwrap();
    assert_eq!(statuses(&racing).await, vec![("applied".to_owned(), total)]);
    for person_ref in &refs {
        assert_eq!(
            state_of(&ordered, person_ref).await,
            state_of(&racing, person_ref).await
        );
    }
    assert_eq!(ordered.table_counts().await, racing.table_counts().await);
}

#[tokio::test]
async fn a_prisoner_admitted_before_the_feed_is_linked_to_its_reference_and_its_waiting_events_apply()
 {
    let world = world(true).await;
    let officer = world
        .staff("officer", &[Role::Officer], world.prison_a)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "HEL-0800").await;
    let mut person = PmsPerson::new("PMS-0800", "HEL");
    let mut transfer = person.transfer("BRU");
    // The PMS has counted four earlier events of this person.
    transfer.sequence = 5;
    let answer = feed(&world)
        .send(std::slice::from_ref(&transfer))
        .await
        .unwrap();
    assert_eq!(answer.body["events"][0]["status"], "pending");

    let link_url = world.prison_url(
        world.prison_a,
        &format!("/prisoners/{person_id}/pms-reference"),
    );
    let linked = world
        .http
        .put(&link_url)
        .bearer_auth(&officer.token)
        .json(&json!({ "person_ref": "PMS-0800", "next_sequence": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), 204);
    assert_eq!(statuses(&world).await, vec![("applied".to_owned(), 1)]);
    let placement = {
        let client = world.db.pool.get().await.unwrap();
        ledger::policy_store::current_placement(&client, person_id)
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(placement.prison_id, world.prison_b);
    assert!(
        world
            .access_log()
            .await
            .iter()
            .any(|row| row.subject_person_id == Some(person_id)
                && row.action == "change"
                && row.fields.contains(&"pms_reference".to_owned()))
    );

    // The prisoner is in BRU now: HEL's officer no longer finds them; a second reference for
    // the same person is refused there.
    let other = world
        .staff("bru-officer", &[Role::Officer], world.prison_b)
        .await;
    let again = world
        .http
        .put(world.prison_url(
            world.prison_b,
            &format!("/prisoners/{person_id}/pms-reference"),
        ))
        .bearer_auth(&other.token)
        .json(&json!({ "person_ref": "PMS-0801", "next_sequence": 1 }))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(again).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("person_linked"))
    );
    let gone = world
        .http
        .put(&link_url)
        .bearer_auth(&officer.token)
        .json(&json!({ "person_ref": "PMS-0800", "next_sequence": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(gone).await.0, 404);
}

#[tokio::test]
async fn a_rotated_master_key_rewraps_the_keys_of_waiting_events_too() {
    let world = world(true).await;
    let mut person = PmsPerson::new("PMS-0900", "HEL");
    let admission = person.admission(admission_data("HEL-0900", "Jan Rotation"));
    let leave = person.leave_start(24);
    // The leave waits for its admission, its body sealed under the current master key.
    feed(&world).send(&[leave]).await.unwrap();
    let rotated = identity::crypto::current().with_new_master_key();
    let new_version = rotated.current_version();
    // Both keys stay configured: every other test keeps working.
    identity::crypto::install(rotated.clone());
    let mut client = world.db.pool.get().await.unwrap();
    while identity::store::rewrap_data_keys(&mut client, &rotated, 10)
        .await
        .unwrap()
        > 0
    {}
    let versions = identity::store::data_keys_by_version(&client)
        .await
        .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.0).collect::<Vec<_>>(),
        vec![new_version]
    );
    let answer = feed(&world)
        .send(std::slice::from_ref(&admission))
        .await
        .unwrap();
    assert_eq!(answer.body["events"][0]["status"], "applied");
    assert_eq!(statuses(&world).await, vec![("applied".to_owned(), 2)]);
}

#[tokio::test]
async fn an_event_whose_predecessor_never_comes_goes_to_review_and_a_replay_skips_the_gap() {
    // No waiting window: a missing predecessor sends its successor to review at once.
    let world = World::configured(|state| {
        state.with_pms_feed(FeedConfig {
            feed_id: FEED_ID.to_owned(),
            secrets: vec![secret()],
            gap_window_ms: 0,
        })
    })
    .await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("officer", &[Role::Officer], world.prison_a)
        .await;
    let mut person = PmsPerson::new("PMS-1000", "HEL");
    let lost = person.leave_end();
    let admission = person.admission(admission_data("HEL-1000", "Kai Gap"));
    let answer = feed(&world)
        .send(std::slice::from_ref(&admission))
        .await
        .unwrap();
    assert_eq!(answer.body["events"][0]["status"], "review");
    assert_eq!(answer.body["events"][0]["reason_code"], "sequence_gap");

    let replay = |event_id: Uuid| {
        world
            .http
            .post(world.prison_url(world.prison_a, &format!("/pms/events/{event_id}/replay")))
    };
    let replayed: Value = replay(admission.event_id)
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replayed["status"], "applied", "{replayed}");
    assert!(person_of(&world, "PMS-1000").await.is_some());

    // The lost event turns up after all: the person's story has moved past it.
    let late = feed(&world)
        .send(std::slice::from_ref(&lost))
        .await
        .unwrap();
    assert_eq!(late.body["events"][0]["status"], "review");
    assert_eq!(late.body["events"][0]["reason_code"], "sequence_skipped");
    let refused = replay(lost.event_id)
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    let (status, body) = problem(refused).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("sequence_skipped"))
    );
    let dismissed: Value = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!("/pms/events/{}/dismiss", lost.event_id),
        ))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dismissed["status"], "dismissed");
    // The person's later events still apply.
    let leave = person.leave_start(24);
    let answer = feed(&world)
        .send(std::slice::from_ref(&leave))
        .await
        .unwrap();
    assert_eq!(
        answer.body["events"][0]["status"], "applied",
        "{}",
        answer.body
    );
}
