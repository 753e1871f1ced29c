//! The transactional outbox of calls to the processor.
//!
//! A business change that needs the processor (admission needs a card, staff freeze a card)
//! writes its call into `card.outbox` in the same transaction as the change itself. A worker
//! delivers due calls with their `Idempotency-Key`, retries 429, 5xx and timeouts with
//! exponential backoff and jitter (never before `Retry-After`), and parks calls that keep
//! failing, or that the egress guard refuses, as `dead` for staff to see and retry. If the
//! process dies between the commit and the call, the call is still in the table: nothing is
//! lost, and the processor's idempotency makes a repeated call harmless.
//!
//! Every request that leaves, and every one the egress guard refuses, is written to the egress
//! register (`card.egress_register`) for the data protection officer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use deadpool_postgres::{GenericClient, Pool, Transaction};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::booking::{self, BookingError, BookingResult};
use crate::client::{self, ClientError, ProcessorClient};
use crate::egress::EgressRecord;
use crate::protocol::{
    CardForm, CardState, CreateCardRequest, CreateCardholderRequest, SetCardStateRequest,
};
use crate::pseudonym::PseudonymKeys;

/// After this many failed attempts a call is parked as dead.
pub const MAX_ATTEMPTS: i32 = 12;
/// A claimed call is someone's for this long; if its worker dies, another takes it over.
const CLAIM_LEASE_SECONDS: i32 = 120;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The identity store, as the outbox sees it: the personal data of one person, for the egress
/// guard to look for, and the place where disclosures to the processor are logged.
pub trait PersonalData: Send + Sync {
    fn values_for(&self, person_id: Uuid) -> BoxFuture<'_, Vec<String>>;
    /// Called after a request about `person_id` was sent (it carried a pseudonym only).
    fn record_disclosure<'a>(
        &'a self,
        person_id: Uuid,
        sent: &'a EgressRecord,
    ) -> BoxFuture<'a, ()>;
}

/// For deployments and tests without an identity store: the guard still refuses personal
/// fields and free text by shape, but has no values to look for.
pub struct NoPersonalData;

impl PersonalData for NoPersonalData {
    fn values_for(&self, _person_id: Uuid) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async { Vec::new() })
    }

    fn record_disclosure<'a>(
        &'a self,
        _person_id: Uuid,
        _sent: &'a EgressRecord,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxCall {
    pub id: Uuid,
    pub idempotency_key: String,
    pub operation: String,
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
    pub person_id: Option<Uuid>,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Writes a call into the outbox, in the caller's transaction. The same idempotency key twice
/// is one call.
pub async fn enqueue(
    tx: &Transaction<'_>,
    idempotency_key: &str,
    operation: &str,
    method: &Method,
    path: &str,
    body: Option<&Value>,
    person_id: Option<Uuid>,
) -> BookingResult<()> {
    enqueue_at(
        tx,
        idempotency_key,
        operation,
        method,
        path,
        body,
        person_id,
        OffsetDateTime::now_utc(),
    )
    .await
}

/// [`enqueue`], to be sent no earlier than `not_before`.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue_at(
    tx: &Transaction<'_>,
    idempotency_key: &str,
    operation: &str,
    method: &Method,
    path: &str,
    body: Option<&Value>,
    person_id: Option<Uuid>,
    not_before: OffsetDateTime,
) -> BookingResult<()> {
    let insert = tx
        .prepare_cached(
            "insert into card.outbox
                 (id, idempotency_key, operation, method, path, body, person_id, next_attempt_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (idempotency_key) do nothing",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &Uuid::now_v7(),
            &idempotency_key,
            &operation,
            &method.as_str(),
            &path,
            &body,
            &person_id,
            &not_before,
        ],
    )
    .await?;
    Ok(())
}

/// Idempotency keys are 1..64 of [A-Za-z0-9_-]: a uuid's simple form with a short prefix fits.
fn key(prefix: &str, id: Uuid) -> String {
    format!("{prefix}_{}", id.simple())
}

/// Requests a card for a person (admission): a pseudonymous cardholder, then a card, then its
/// activation, each call queued once the previous one answered. The pseudonym is computed when
/// the call is sent, under the key current then.
pub async fn request_card(tx: &Transaction<'_>, person_id: Uuid) -> BookingResult<()> {
    enqueue(
        tx,
        &key("ch", person_id),
        "create_cardholder",
        &Method::POST,
        "/v1/cardholders",
        None,
        Some(person_id),
    )
    .await
}

/// Asks the processor to change a card's state (freeze, unfreeze, close).
pub async fn request_card_state(
    tx: &Transaction<'_>,
    card_id: &str,
    person_id: Option<Uuid>,
    state: CardState,
    reason: &str,
    request_id: Uuid,
) -> BookingResult<()> {
    let body = serde_json::to_value(SetCardStateRequest {
        state,
        reason: Some(reason.to_owned()),
    })
    .map_err(|e| ledger::LedgerError::invalid("body", e.to_string()))?;
    enqueue(
        tx,
        &key("st", request_id),
        "set_card_state",
        &Method::POST,
        &format!("/v1/cards/{card_id}/state"),
        Some(&body),
        person_id,
    )
    .await
}

/// What the worker needs.
pub struct OutboxWorker {
    pub pool: Pool,
    pub client: ProcessorClient,
    pub personal_data: Arc<dyn PersonalData>,
    /// The program's card name, embossed on every card.
    pub program_card_name: String,
    /// Keys for the `external_ref` pseudonyms (versioned: rotation keeps old refs resolvable).
    pub pseudonyms: PseudonymKeys,
    /// The card program's name at the processor, e.g. `prison-fi`.
    pub program: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
}

impl OutboxWorker {
    /// Delivers up to `batch` due calls once. Returns what happened to them.
    pub async fn deliver_due(&self, batch: i64) -> BookingResult<DeliveryReport> {
        let claimed = self.claim(batch).await?;
        let mut report = DeliveryReport::default();
        for call in claimed {
            match self.deliver(&call).await? {
                Outcome::Delivered => report.delivered += 1,
                Outcome::Retry => report.retried += 1,
                Outcome::Dead => report.dead += 1,
            }
        }
        Ok(report)
    }

    /// Takes due calls under a lease, so two workers never send the same call at once and a
    /// dead worker's calls come back by themselves.
    async fn claim(&self, batch: i64) -> BookingResult<Vec<OutboxCall>> {
        let client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        let rows = client
            .query(
                "update card.outbox set next_attempt_at = now() + $2::int * interval '1 second'
                 where id in (select id from card.outbox
                              where state = 'pending' and next_attempt_at <= now()
                              order by next_attempt_at limit $1 for update skip locked)
                 returning id, idempotency_key, operation, method, path, body, person_id, state,
                           attempts, last_error",
                &[&batch, &CLAIM_LEASE_SECONDS],
            )
            .await?;
        Ok(rows.iter().map(call_from_row).collect())
    }

    async fn deliver(&self, call: &OutboxCall) -> BookingResult<Outcome> {
        let personal_values = match call.person_id {
            Some(person_id) => self.personal_data.values_for(person_id).await,
            None => Vec::new(),
        };
        let method = Method::from_bytes(call.method.as_bytes()).unwrap_or(Method::POST);
        let body = match (call.operation.as_str(), call.person_id, &call.body) {
            ("create_cardholder", Some(person_id), None) => Some(
                serde_json::to_value(CreateCardholderRequest::pseudonymous(
                    self.pseudonyms.pseudonym_for(person_id),
                    self.program.clone(),
                ))
                .map_err(|e| ledger::LedgerError::invalid("body", e.to_string()))?,
            ),
            (crate::fence::SYNC_OPERATION, Some(person_id), None) => {
                let client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
                let controls = crate::fence::current_spend_controls(&client, person_id).await?;
                Some(
                    serde_json::to_value(controls)
                        .map_err(|e| ledger::LedgerError::invalid("body", e.to_string()))?,
                )
            }
            _ => call.body.clone(),
        };
        let prepared = match self.client.prepare(
            method,
            &call.path,
            body.as_ref(),
            Some(&call.idempotency_key),
            &personal_values,
        ) {
            Ok(prepared) => prepared,
            Err(error) => {
                // Refused before anything left: a security event, and never retried.
                tracing::warn!(
                    security_event = "egress_refused",
                    outbox_id = %call.id,
                    error.code = error.code(),
                    "outbound processor call refused"
                );
                if let ClientError::Refused(_) = &error {
                    self.register_refusal(call).await?;
                }
                self.finish(call, "dead", Some(error.code()), None).await?;
                return Ok(Outcome::Dead);
            }
        };
        let result = self.client.send::<Value>(&prepared).await;
        let status = match &result {
            Ok(_) => Some(200),
            Err(ClientError::Transient { status, .. }) => status.map(i32::from),
            Err(ClientError::Permanent { status, .. }) => Some(i32::from(*status)),
            Err(_) => None,
        };
        self.register_sent(call, prepared.egress(), status).await?;
        if let Some(person_id) = call.person_id {
            self.personal_data
                .record_disclosure(person_id, prepared.egress())
                .await;
        }
        match result {
            Ok(response) => {
                self.on_delivered(call, &response).await?;
                Ok(Outcome::Delivered)
            }
            Err(ClientError::Permanent {
                code, existing_id, ..
            }) if code == "cardholder_exists" && existing_id.is_some() => {
                // Created by an earlier attempt whose answer we lost: carry on with it.
                let response = json!({"id": existing_id});
                self.on_delivered(call, &response).await?;
                Ok(Outcome::Delivered)
            }
            Err(error) if error.is_transient() && call.attempts + 1 < MAX_ATTEMPTS => {
                let attempt = u32::try_from(call.attempts).unwrap_or(0);
                let delay_ms = client::backoff_delay_ms(
                    attempt,
                    error.retry_after_ms(),
                    client::random_jitter,
                );
                self.retry_later(call, error.code(), delay_ms).await?;
                Ok(Outcome::Retry)
            }
            Err(error) => {
                tracing::warn!(outbox_id = %call.id, operation = %call.operation, error.code = error.code(), "processor call parked as dead");
                self.finish(call, "dead", Some(error.code()), None).await?;
                Ok(Outcome::Dead)
            }
        }
    }

    /// Marks the call delivered and does what its answer calls for, in one transaction.
    async fn on_delivered(&self, call: &OutboxCall, response: &Value) -> BookingResult<()> {
        let mut client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        let tx = client.transaction().await?;
        match call.operation.as_str() {
            "create_cardholder" => {
                let cardholder_id = response["id"].as_str().unwrap_or_default().to_owned();
                let person_id = call.person_id.unwrap_or_default();
                // The fence for the person's mode now; later changes queue syncs (`fence`).
                let spend_controls = crate::fence::current_spend_controls(&tx, person_id).await?;
                let body = serde_json::to_value(CreateCardRequest {
                    cardholder_id,
                    form: CardForm::Physical,
                    embossed_name: Some(self.program_card_name.clone()),
                    spend_controls: Some(spend_controls),
                    memo: None,
                })
                .map_err(|e| ledger::LedgerError::invalid("body", e.to_string()))?;
                enqueue(
                    &tx,
                    &key("cd", person_id),
                    "create_card",
                    &Method::POST,
                    "/v1/cards",
                    Some(&body),
                    Some(person_id),
                )
                .await?;
            }
            "create_card" => {
                let person_id = call.person_id.unwrap_or_default();
                let card_id = response["id"].as_str().unwrap_or_default();
                let cardholder_id = response["cardholder_id"].as_str().unwrap_or_default();
                let spendable = ledger::store::accounts_of_person(&tx, person_id)
                    .await?
                    .into_iter()
                    .find(|a| {
                        a.purpose == ledger::person_purpose::SPENDABLE && a.closed_at.is_none()
                    })
                    .ok_or_else(|| {
                        ledger::LedgerError::invalid(
                            "no_spendable_account",
                            "the person has no open spendable account",
                        )
                    })?;
                booking::register_card(
                    &tx,
                    card_id,
                    cardholder_id,
                    person_id,
                    spendable.id,
                    response["state"].as_str().unwrap_or("INACTIVE"),
                    response["last4"].as_str(),
                )
                .await?;
                request_card_state(
                    &tx,
                    card_id,
                    Some(person_id),
                    CardState::Active,
                    "issued",
                    call.id,
                )
                .await?;
            }
            "reissue_card" => {
                // The replacement belongs to the same person and account; the old card closes by
                // the processor's rules (at once for LOST/STOLEN, else on activation), which
                // its card.state_changed webhook mirrors.
                let person_id = call.person_id.unwrap_or_default();
                let old_card_id = call
                    .path
                    .trim_start_matches("/v1/cards/")
                    .trim_end_matches("/reissue");
                if let Some(old) = booking::card(&tx, old_card_id).await? {
                    let card_id = response["id"].as_str().unwrap_or_default();
                    booking::register_card(
                        &tx,
                        card_id,
                        response["cardholder_id"].as_str().unwrap_or_default(),
                        old.person_id,
                        old.account_id,
                        response["state"].as_str().unwrap_or("INACTIVE"),
                        response["last4"].as_str(),
                    )
                    .await?;
                    request_card_state(
                        &tx,
                        card_id,
                        Some(person_id),
                        CardState::Active,
                        "replacement issued",
                        call.id,
                    )
                    .await?;
                }
            }
            "set_card_state" => {
                let card_id = response["id"].as_str().unwrap_or_default();
                let state = response["state"].as_str().unwrap_or_default();
                let previous = booking::card(&tx, card_id).await?.map(|card| card.state);
                if previous.as_deref() != Some(state) {
                    match booking::record_card_state(
                        &tx,
                        card_id,
                        previous.as_deref(),
                        state,
                        Some("outbox"),
                        "SALDO",
                    )
                    .await
                    {
                        Ok(()) | Err(BookingError::UnknownCard) => {}
                        Err(error) => return Err(error),
                    }
                }
            }
            _ => {}
        }
        finish_in(&tx, call, "delivered", None, Some(response)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retry_later(
        &self,
        call: &OutboxCall,
        error_code: &str,
        delay_ms: u64,
    ) -> BookingResult<()> {
        let client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        let delay_ms = i64::try_from(delay_ms).unwrap_or(i64::MAX);
        client
            .execute(
                "update card.outbox set attempts = attempts + 1, last_error = $2,
                        next_attempt_at = now() + $3::bigint * interval '1 millisecond'
                 where id = $1",
                &[&call.id, &error_code, &delay_ms],
            )
            .await?;
        Ok(())
    }

    async fn finish(
        &self,
        call: &OutboxCall,
        state: &str,
        error_code: Option<&str>,
        response: Option<&Value>,
    ) -> BookingResult<()> {
        let mut client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        let tx = client.transaction().await?;
        finish_in(&tx, call, state, error_code, response).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn register_sent(
        &self,
        call: &OutboxCall,
        egress: &crate::egress::EgressRecord,
        status: Option<i32>,
    ) -> BookingResult<()> {
        let client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        client
            .execute(
                "insert into card.egress_register
                    (method, path, pseudonym, person_id, field_names, body_sha256, outcome, status_code)
                 values ($1, $2, $3, $4, $5, $6, 'sent', $7)",
                &[&egress.method, &egress.path, &egress.pseudonym, &call.person_id, &egress.fields, &egress.body_sha256, &status],
            )
            .await?;
        Ok(())
    }

    async fn register_refusal(&self, call: &OutboxCall) -> BookingResult<()> {
        let client = self.pool.get().await.map_err(ledger::LedgerError::from)?;
        // The refused body is not kept anywhere: only its hash.
        let body_sha256 = call
            .body
            .as_ref()
            .map(|body| {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(crate::egress::body_bytes(body)))
            })
            .unwrap_or_default();
        client
            .execute(
                "insert into card.egress_register
                    (method, path, pseudonym, person_id, field_names, body_sha256, outcome)
                 values ($1, $2, null, $3, '{}', $4, 'refused')",
                &[&call.method, &call.path, &call.person_id, &body_sha256],
            )
            .await?;
        Ok(())
    }
}

enum Outcome {
    Delivered,
    Retry,
    Dead,
}

async fn finish_in(
    tx: &Transaction<'_>,
    call: &OutboxCall,
    state: &str,
    error_code: Option<&str>,
    response: Option<&Value>,
) -> BookingResult<()> {
    tx.execute(
        "update card.outbox set state = $2, attempts = attempts + 1, last_error = coalesce($3, last_error),
                response = $4, delivered_at = case when $2 = 'delivered' then now() end
         where id = $1",
        &[&call.id, &state, &error_code, &response],
    )
    .await?;
    Ok(())
}

fn call_from_row(row: &tokio_postgres::Row) -> OutboxCall {
    OutboxCall {
        id: row.get(0),
        idempotency_key: row.get(1),
        operation: row.get(2),
        method: row.get(3),
        path: row.get(4),
        body: row.get(5),
        person_id: row.get(6),
        state: row.get(7),
        attempts: row.get(8),
        last_error: row.get(9),
    }
}

/// Calls parked as dead, newest first, for staff.
pub async fn dead_letters(
    client: &impl GenericClient,
    limit: i64,
) -> BookingResult<Vec<OutboxCall>> {
    let rows = client
        .query(
            "select id, idempotency_key, operation, method, path, body, person_id, state, attempts,
                    last_error
             from card.outbox where state = 'dead' order by created_at desc limit $1",
            &[&limit],
        )
        .await?;
    Ok(rows.iter().map(call_from_row).collect())
}

/// Puts a dead call back in the queue (staff action); same idempotency key, so harmless.
pub async fn retry_dead(client: &impl GenericClient, id: Uuid) -> BookingResult<bool> {
    let updated = client
        .execute(
            "update card.outbox set state = 'pending', attempts = 0, next_attempt_at = now()
             where id = $1 and state = 'dead'",
            &[&id],
        )
        .await?;
    Ok(updated == 1)
}

/// Calls not yet delivered (for `/metrics`: the outbox depth).
pub async fn pending_count(client: &impl GenericClient) -> BookingResult<i64> {
    Ok(client
        .query_one(
            "select count(*) from card.outbox where state = 'pending'",
            &[],
        )
        .await?
        .get(0))
}
