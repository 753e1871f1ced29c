//! A prison's own service (canteen, telephony, TV rental…) as Saldo sees it over its signed
//! service API (docs/services.md): every message signed Standard Webhooks style with the
//! service's own `whsec_` key (`processor_protocol::signature`, the one signing code), and an
//! offline till that approves purchases only within the reservation Saldo granted, keeping the
//! advices to send when Saldo answers again. Its types are its own (the wire's JSON), so it
//! depends on Saldo's protocol crate for signing only.
use processor_protocol::signature::{self, WebhookSecret};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// Saldo's answer: the status and the JSON body (a purchase, a subscription or a problem).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn approved(&self) -> bool {
        self.status == 200 && self.body["approved"] == json!(true)
    }
}

/// One service's side of the API.
#[derive(Debug, Clone)]
pub struct Service {
    pub base_url: String,
    pub service_id: Uuid,
    pub secrets: Vec<WebhookSecret>,
    pub currency: String,
    http: reqwest::Client,
}

impl Service {
    pub fn new(base_url: &str, service_id: Uuid, secrets: Vec<WebhookSecret>) -> Service {
        Service {
            base_url: base_url.trim_end_matches('/').to_owned(),
            service_id,
            secrets,
            currency: "EUR".to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Posts a signed JSON body to `/service-api/{service_id}{path}`.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        let bytes = serde_json::to_vec(body)?;
        let message_id = format!("msg_{}", Uuid::new_v4().simple());
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signed = signature::sign_all(&self.secrets, &message_id, timestamp, &bytes);
        let response = self
            .http
            .post(format!(
                "{}/service-api/{}{path}",
                self.base_url, self.service_id
            ))
            .header(signature::HEADER_ID, message_id)
            .header(signature::HEADER_TIMESTAMP, timestamp.to_string())
            .header(signature::HEADER_SIGNATURE, signed)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        })
    }

    /// Asks Saldo to hold `amount_minor` for `purpose` (`purchase`, `call_credit`, `call`,
    /// `reservation`).
    pub async fn authorize(
        &self,
        request_id: &str,
        person_id: Uuid,
        amount_minor: i64,
        purpose: &str,
    ) -> anyhow::Result<Answer> {
        self.post(
            "/authorizations",
            &json!({
                "request_id": request_id,
                "person_id": person_id,
                "amount_minor": amount_minor,
                "currency": self.currency,
                "purpose": purpose,
            }),
        )
        .await
    }

    /// `capture`, `release`, `refund` or `advice` against a request, by the service's event id.
    pub async fn step(
        &self,
        request_id: &str,
        step: &str,
        event_id: &str,
        amount_minor: Option<i64>,
    ) -> anyhow::Result<Answer> {
        let mut body = json!({ "event_id": event_id });
        if let Some(amount) = amount_minor {
            body["amount_minor"] = json!(amount);
        }
        self.post(&format!("/authorizations/{request_id}/{step}"), &body)
            .await
    }

    /// A purchase held and, when approved, captured at once (a canteen order handed over).
    pub async fn buy(
        &self,
        request_id: &str,
        person_id: Uuid,
        amount_minor: i64,
    ) -> anyhow::Result<Answer> {
        let held = self
            .authorize(request_id, person_id, amount_minor, "purchase")
            .await?;
        if !held.approved() {
            return Ok(held);
        }
        self.step(
            request_id,
            "capture",
            &format!("{request_id}:capture"),
            Some(amount_minor),
        )
        .await
    }

    pub async fn subscribe(
        &self,
        request_id: &str,
        person_id: Uuid,
        amount_minor: i64,
        period_days: i32,
    ) -> anyhow::Result<Answer> {
        self.post(
            "/subscriptions",
            &json!({
                "request_id": request_id,
                "person_id": person_id,
                "amount_minor": amount_minor,
                "currency": self.currency,
                "period_days": period_days,
            }),
        )
        .await
    }
}

/// What the offline till answered a prisoner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TillAnswer {
    Approved,
    /// Beyond what remains of the reservation: never approved offline.
    BeyondReservation,
    NoReservation,
}

/// An offline advice the till still owes Saldo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub event_id: String,
    pub amount_minor: i64,
}

/// A service's till that keeps working when Saldo cannot be reached: it approves a purchase only
/// within what remains of the person's reservation (a hold Saldo placed in advance), and keeps
/// each approval as an advice to book when Saldo answers again.
#[derive(Debug, Clone)]
pub struct OfflineTill {
    pub reservation_request_id: Option<String>,
    pub reserved_minor: i64,
    pub approved_offline_minor: i64,
    pub pending: Vec<Advice>,
}

impl OfflineTill {
    /// Asks Saldo, while online, to reserve `amount_minor` for the person.
    pub async fn reserve(
        service: &Service,
        request_id: &str,
        person_id: Uuid,
        amount_minor: i64,
    ) -> anyhow::Result<(OfflineTill, Answer)> {
        let answer = service
            .authorize(request_id, person_id, amount_minor, "reservation")
            .await?;
        let approved = answer.approved();
        Ok((
            OfflineTill {
                reservation_request_id: approved.then(|| request_id.to_owned()),
                reserved_minor: if approved { amount_minor } else { 0 },
                approved_offline_minor: 0,
                pending: Vec::new(),
            },
            answer,
        ))
    }

    /// Decides a purchase with Saldo unreachable.
    pub fn sell_offline(&mut self, event_id: &str, amount_minor: i64) -> TillAnswer {
        if self.reservation_request_id.is_none() {
            return TillAnswer::NoReservation;
        }
        let after = self.approved_offline_minor.checked_add(amount_minor);
        match after {
            Some(after) if amount_minor > 0 && after <= self.reserved_minor => {
                self.approved_offline_minor = after;
                self.pending.push(Advice {
                    event_id: event_id.to_owned(),
                    amount_minor,
                });
                TillAnswer::Approved
            }
            _ => TillAnswer::BeyondReservation,
        }
    }

    /// Sends the pending advices; those Saldo booked (or had booked: the same event id again)
    /// are dropped, the others kept with their answers.
    pub async fn send_advices(&mut self, service: &Service) -> anyhow::Result<Vec<Answer>> {
        let Some(request_id) = self.reservation_request_id.clone() else {
            return Ok(Vec::new());
        };
        let mut answers = Vec::new();
        let mut kept = Vec::new();
        for advice in std::mem::take(&mut self.pending) {
            let answer = service
                .step(
                    &request_id,
                    "advice",
                    &advice.event_id,
                    Some(advice.amount_minor),
                )
                .await?;
            if answer.status != 200 {
                kept.push(advice);
            }
            answers.push(answer);
        }
        self.pending = kept;
        Ok(answers)
    }
}
