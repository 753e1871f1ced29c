//! `pms-sim`: the prison-management system's side of Saldo's PMS feed (docs/pms-feed.md), for
//! tests, demos and local runs. It builds the feed's events (docs/pms-feed.schema.json) as the
//! PMS would, one [`PmsPerson`] at a time with their sequence numbers, and sends them signed
//! (Standard Webhooks, the processor protocol's signing) in order, shuffled or duplicated.
//!
//! Its types are the PMS's own, not Saldo's: the JSON Schema is the contract between the two,
//! and a test checks both sides against it.
use processor_protocol::signature::{self, WebhookSecret};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// The feed's event types, as the schema lists them.
pub const EVENT_TYPES: [&str; 8] = [
    "admission",
    "transfer",
    "leave_start",
    "leave_end",
    "release",
    "death",
    "escape",
    "identity_correction",
];

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PmsEvent {
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// RFC 3339.
    pub occurred_at: String,
    pub prison_code: String,
    pub person_ref: String,
    pub sequence: i64,
    pub data: Value,
}

/// A person as the PMS follows them: each event gets the next sequence number.
#[derive(Debug, Clone)]
pub struct PmsPerson {
    pub person_ref: String,
    /// Where the PMS has the person now.
    pub prison_code: String,
    next_sequence: i64,
}

fn now_text() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The person data of an admission (made-up values, valid for Saldo's identity store).
pub fn admission_data(prisoner_number: &str, full_name: &str) -> Value {
    json!({
        "prisoner_number": prisoner_number,
        "full_name": full_name,
        "date_of_birth": "1990-01-01",
        "preferred_language": "nl",
        "unit": "A1",
    })
}

impl PmsPerson {
    pub fn new(person_ref: &str, prison_code: &str) -> PmsPerson {
        PmsPerson {
            person_ref: person_ref.to_owned(),
            prison_code: prison_code.to_owned(),
            next_sequence: 1,
        }
    }

    /// The next event of the person, of any type and data.
    pub fn event(&mut self, event_type: &'static str, data: Value) -> PmsEvent {
        let event = PmsEvent {
            event_id: Uuid::new_v4(),
            event_type,
            occurred_at: now_text(),
            prison_code: self.prison_code.clone(),
            person_ref: self.person_ref.clone(),
            sequence: self.next_sequence,
            data,
        };
        self.next_sequence += 1;
        event
    }

    pub fn admission(&mut self, data: Value) -> PmsEvent {
        self.event("admission", data)
    }

    /// A transfer to `to_prison_code`; the person's later events happen there.
    pub fn transfer(&mut self, to_prison_code: &str) -> PmsEvent {
        let event = self.event("transfer", json!({ "to_prison_code": to_prison_code }));
        self.prison_code = to_prison_code.to_owned();
        event
    }

    /// A leave from now for `hours`.
    pub fn leave_start(&mut self, hours: i64) -> PmsEvent {
        let from = OffsetDateTime::now_utc() - time::Duration::minutes(1);
        let until = from + time::Duration::hours(hours);
        self.event(
            "leave_start",
            json!({
                "from": from.format(&Rfc3339).unwrap_or_default(),
                "until": until.format(&Rfc3339).unwrap_or_default(),
            }),
        )
    }

    pub fn leave_end(&mut self) -> PmsEvent {
        self.event("leave_end", json!({}))
    }

    pub fn release(&mut self) -> PmsEvent {
        self.event("release", json!({}))
    }

    pub fn death(&mut self) -> PmsEvent {
        self.event("death", json!({}))
    }

    pub fn escape(&mut self) -> PmsEvent {
        self.event("escape", json!({}))
    }

    pub fn identity_correction(&mut self, fields: Value) -> PmsEvent {
        self.event("identity_correction", fields)
    }
}

/// The same events shuffled (reproducibly, by `seed`), every one of them at least once and
/// every `duplicate_every`-th one twice, cut in batches of `batch_size`.
pub fn shuffled_with_duplicates<T: Clone>(
    events: &[T],
    seed: u64,
    duplicate_every: usize,
    batch_size: usize,
) -> Vec<Vec<T>> {
    let mut all: Vec<T> = events.to_vec();
    if duplicate_every > 0 {
        all.extend(events.iter().step_by(duplicate_every).cloned());
    }
    all.shuffle(&mut StdRng::seed_from_u64(seed));
    all.chunks(batch_size.max(1)).map(<[_]>::to_vec).collect()
}

/// Saldo's answer to one message.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// Sends signed messages to a Saldo.
#[derive(Debug, Clone)]
pub struct Feed {
    /// Saldo's base URL, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Signs with every secret (two during a rotation).
    pub secrets: Vec<WebhookSecret>,
    http: reqwest::Client,
}

impl Feed {
    pub fn new(base_url: &str, secrets: Vec<WebhookSecret>) -> Feed {
        Feed {
            base_url: base_url.trim_end_matches('/').to_owned(),
            secrets,
            http: reqwest::Client::new(),
        }
    }

    /// Posts a signed body to `path`.
    pub async fn post_signed(&self, path: &str, body: &[u8]) -> anyhow::Result<Answer> {
        let message_id = format!("msg_{}", Uuid::new_v4().simple());
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = signature::sign_all(&self.secrets, &message_id, timestamp, body);
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header(signature::HEADER_ID, message_id)
            .header(signature::HEADER_TIMESTAMP, timestamp.to_string())
            .header(signature::HEADER_SIGNATURE, signature)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok(Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    /// Sends one batch of events to `/webhooks/pms`.
    pub async fn send(&self, events: &[PmsEvent]) -> anyhow::Result<Answer> {
        let body = serde_json::to_vec(&json!({ "events": events }))?;
        self.post_signed("/webhooks/pms", &body).await
    }

    /// Sends batches in turn, resending a batch that was not answered 200 (at-least-once, as a
    /// PMS with a retry queue does) up to `attempts` times.
    pub async fn send_all(
        &self,
        batches: &[Vec<PmsEvent>],
        attempts: u32,
    ) -> anyhow::Result<Vec<Answer>> {
        let mut answers = Vec::new();
        for batch in batches {
            let mut answer = self.send(batch).await?;
            let mut tries = 1;
            while answer.status != 200 && tries < attempts {
                answer = self.send(batch).await?;
                tries += 1;
            }
            answers.push(answer);
        }
        Ok(answers)
    }

    /// Sends a population snapshot to `/webhooks/pms/population`.
    pub async fn send_population(
        &self,
        prison_code: &str,
        population_date: &str,
        person_refs: &[&str],
    ) -> anyhow::Result<Answer> {
        let body = serde_json::to_vec(&json!({
            "prison_code": prison_code,
            "population_date": population_date,
            "person_refs": person_refs,
        }))?;
        self.post_signed("/webhooks/pms/population", &body).await
    }
}
