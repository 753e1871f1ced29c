//! No personal data in logs or metrics: every log line of the test process is captured at TRACE
//! level (a global subscriber: a thread-local one misses lines when other tests' threads register
//! the same callsites first) while identifiable test persons are admitted, looked up, consulted,
//! paid with and refused; none of their data may appear in the lines nor in `/metrics`. Lines of
//! other tests running meanwhile are checked too, which only makes the test stricter.
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use processor_sim::Scenario;
use saldo::auth::Role;
use serde_json::json;

use crate::api_support::World;
use crate::card_e2e::{Harness, PEOPLE, TestPerson};

/// A `MakeWriter` appending to one shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// Everything of a person that would identify them, in the forms it could be logged in.
fn identifying(person: &TestPerson) -> Vec<String> {
    let mut values = vec![
        person.prisoner_number.to_owned(),
        person.full_name.to_owned(),
        person.national_id.to_owned(),
        person.iban.to_owned(),
        person.unit.to_owned(),
        person.date_of_birth.to_owned(),
    ];
    values.extend(person.full_name.split_whitespace().map(str::to_owned));
    values
}

fn admission(person: &TestPerson, suffix: &str) -> serde_json::Value {
    json!({
        "prisoner_number": format!("{}{suffix}", person.prisoner_number),
        "full_name": person.full_name,
        "national_id": person.national_id,
        "date_of_birth": person.date_of_birth,
        "preferred_language": "fi",
        "unit": person.unit,
        "payout_iban": person.iban,
        "pin": "4321",
    })
}

#[tokio::test]
async fn no_personal_data_of_identifiable_persons_reaches_the_logs_or_the_metrics() {
    use tracing_subscriber::prelude::*;
    type Level = tracing_subscriber::filter::LevelFilter;
    type Handle = tracing_subscriber::reload::Handle<Level, tracing_subscriber::Registry>;
    static CAPTURED: OnceLock<(Captured, Handle)> = OnceLock::new();
    let (captured, level) = CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let (filter, handle) = tracing_subscriber::reload::Layer::new(Level::TRACE);
            let subscriber = tracing_subscriber::registry().with(filter).with(
                tracing_subscriber::fmt::layer()
                    .with_writer(captured.clone())
                    .with_ansi(false),
            );
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other test installs a global subscriber");
            (captured, handle)
        })
        .clone();

    // The card path: admission through the store, the outbox and its egress guard, webhooks.
    let harness = Harness::start().await;
    for (i, person) in PEOPLE.iter().enumerate() {
        let admitted = harness.admit(person, i, 10_000).await;
        harness
            .run(Scenario::CanteenPurchase, &admitted.card_id)
            .await;
    }

    // The staff API: admission, a duplicate and an invalid one, look-up, record, statement.
    let world = World::new().await;
    let officer = world
        .staff("officer1", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance1", &[Role::Finance], world.prison_a)
        .await;
    let auditor = world
        .staff("auditor1", &[Role::Auditor], world.prison_a)
        .await;
    for person in &PEOPLE {
        let created = world
            .http
            .post(world.prison_url(world.prison_a, "/prisoners"))
            .bearer_auth(&officer.token)
            .json(&admission(person, "-api"))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let person_id = created.json::<serde_json::Value>().await.unwrap()["person_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let again = world
            .http
            .post(world.prison_url(world.prison_a, "/prisoners"))
            .bearer_auth(&officer.token)
            .json(&admission(person, "-api"))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 409);
        let mut invalid = admission(person, "-bad");
        invalid["payout_iban"] = json!(format!("{}X", person.iban));
        let refused = world
            .http
            .post(world.prison_url(world.prison_a, "/prisoners"))
            .bearer_auth(&officer.token)
            .json(&invalid)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422);
        let problem = refused.text().await.unwrap();
        assert!(!problem.contains(person.iban), "the error quotes no value");
        let found = world
            .http
            .post(world.prison_url(world.prison_a, "/prisoners/lookup"))
            .bearer_auth(&officer.token)
            .header("Saldo-Purpose", "case_management")
            .json(&json!({"prisoner_number": format!("{}-api", person.prisoner_number)}))
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), 200);
        for (user, path, purpose) in [
            (
                &officer,
                format!("/prisoners/{person_id}"),
                "case_management",
            ),
            (
                &finance,
                format!("/prisoners/{person_id}/statement?account=spendable"),
                "case_management",
            ),
            (
                &auditor,
                format!("/prisoners/{person_id}/subject-access"),
                "data_subject_request",
            ),
        ] {
            let response = world
                .http
                .get(world.prison_url(world.prison_a, &path))
                .bearer_auth(&user.token)
                .header("Saldo-Purpose", purpose)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
    }
    let metrics = world
        .http
        .get(world.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("saldo_http_requests_total"),
        "metrics were rendered"
    );
    assert!(
        metrics.contains("saldo_card_decision_batch_requests_bucket{le=\"1\"}"),
        "the card payments above were decided in batches, and their sizes counted: {metrics}"
    );
    let batch_limit = card_adapter::decisions::MAX_BATCH_REQUESTS;
    assert!(
        metrics.contains(&format!(
            "saldo_card_decision_batch_requests_bucket{{le=\"{batch_limit}\"}}"
        )),
        "the batch sizes' top bucket is the batch limit, {batch_limit}: {metrics}"
    );

    // Done capturing: the other tests of the process need not pay for TRACE formatting.
    level.modify(|filter| *filter = Level::OFF).unwrap();
    let logs = captured.text();
    assert!(
        logs.contains("saldo listening") && logs.lines().count() > 50,
        "the capture saw the server's lines ({} lines)",
        logs.lines().count()
    );
    for person in &PEOPLE {
        for value in identifying(person) {
            assert!(!logs.contains(&value), "{value:?} appears in the logs");
            assert!(!metrics.contains(&value), "{value:?} appears in /metrics");
        }
    }
}
