//! The prison-management system's (PMS) event feed (docs/pms-feed.md): receiving signed
//! batches of lifecycle events, applying each person's events in their sequence order through
//! the same functions the officers' routes use, the review queue staff replay or dismiss, and
//! the daily population snapshot compared with Saldo's placements.
//!
//! Durable first: a batch is stored (sealed, in the identity store) in one transaction before
//! anything is applied or answered; applying happens after, one event per transaction, so an
//! event that cannot apply leaves nothing behind but its place in review.
use deadpool_postgres::Transaction;
use ledger::controls::{CardMode, Lang, Regime};
use ledger::lifecycle::{FreezeCause, GrantLeave, Release, SavingsOnRelease, Transfer};
use ledger::policy_store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::identity::access_log::{Accessor, ActorKind, Purpose};
use crate::identity::pms_feed::{self as inbox, DueEvent, FeedPerson, Receipt, Stored};
use crate::identity::{self, IdentityError, NewPrisoner, Rectification};
use crate::services::ServiceError;
use crate::services::lifecycle::{refused, sync_fence};
use crate::state::AppState;

/// Largest number of events in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 200;
/// Largest number of person references in one population snapshot (a body is at most
/// 256 KiB: `crate::http::MAX_BODY_BYTES`).
pub const MAX_POPULATION: usize = 10_000;

/// How long an event waits for its predecessor by default: an hour.
pub const DEFAULT_GAP_WINDOW_MS: i64 = 3_600_000;

/// The feed id when none is configured.
pub const DEFAULT_FEED_ID: &str = "pms";

/// The feed as configured: its id (recorded as the actor `pms:<feed id>`) and signing secrets.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub feed_id: String,
    pub secrets: Vec<processor_protocol::signature::WebhookSecret>,
    /// How long an event waits for a missing predecessor before it goes to review
    /// (`sequence_gap`).
    pub gap_window_ms: i64,
}

impl FeedConfig {
    /// The feed from its settings: an id of `a-z 0-9 _ -` and space-separated `whsec_` secrets.
    pub fn parse(feed_id: &str, secrets: &str, gap_window_ms: i64) -> anyhow::Result<FeedConfig> {
        if gap_window_ms < 0 {
            anyhow::bail!("SALDO_PMS_GAP_WINDOW_MS: 0 or more");
        }
        let id_ok = (1..=32).contains(&feed_id.len())
            && feed_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !id_ok {
            anyhow::bail!("SALDO_PMS_FEED_ID: 1 to 32 of a-z 0-9 _ -");
        }
        let secrets = secrets
            .split_whitespace()
            .map(processor_protocol::signature::WebhookSecret::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| anyhow::anyhow!("SALDO_PMS_SECRETS: {error}"))?;
        if secrets.is_empty() {
            tracing::warn!("no SALDO_PMS_SECRETS: the prison-management feed will be refused");
        }
        Ok(FeedConfig {
            feed_id: feed_id.to_owned(),
            secrets,
            gap_window_ms,
        })
    }

    pub fn actor(&self) -> String {
        format!("pms:{}", self.feed_id)
    }
}

/// The event types of the feed, as the wire spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Admission,
    Transfer,
    LeaveStart,
    LeaveEnd,
    Release,
    Death,
    Escape,
    IdentityCorrection,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::Admission,
        EventType::Transfer,
        EventType::LeaveStart,
        EventType::LeaveEnd,
        EventType::Release,
        EventType::Death,
        EventType::Escape,
        EventType::IdentityCorrection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Admission => "admission",
            EventType::Transfer => "transfer",
            EventType::LeaveStart => "leave_start",
            EventType::LeaveEnd => "leave_end",
            EventType::Release => "release",
            EventType::Death => "death",
            EventType::Escape => "escape",
            EventType::IdentityCorrection => "identity_correction",
        }
    }
}

/// One event's envelope; `data` depends on `type` (docs/pms-feed.schema.json).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventEnvelope {
    /// The PMS's id of the event: the same id again is a duplicate.
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    /// The prison the event happened in (for a transfer: the one the person leaves).
    #[schema(example = "BRU")]
    pub prison_code: String,
    /// The PMS's own reference of the person, 1 to 64 of `A-Z a-z 0-9 _ - . /`.
    #[schema(example = "PMS-000123")]
    pub person_ref: String,
    /// The person's event number in the PMS: 1, 2, 3… without gaps. Events apply in this order.
    #[schema(minimum = 1, example = 1)]
    pub sequence: i64,
    /// The type's fields: an object (`{}` when the type has none).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// `admission`: the person data goes to the identity store only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdmissionData {
    prisoner_number: String,
    full_name: String,
    #[serde(default)]
    national_id: Option<String>,
    #[serde(default)]
    date_of_birth: Option<String>,
    preferred_language: Lang,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    payout_iban: Option<String>,
    #[serde(default)]
    regime: Option<Regime>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferData {
    to_prison_code: String,
    #[serde(default)]
    regime: Option<Regime>,
    #[serde(default)]
    unit: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaveData {
    #[serde(with = "time::serde::rfc3339")]
    from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    until: OffsetDateTime,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoData {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionData {
    #[serde(default)]
    prisoner_number: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    national_id: Option<String>,
    #[serde(default)]
    date_of_birth: Option<String>,
    #[serde(default)]
    preferred_language: Option<Lang>,
}

/// An event's data, read for its type.
#[derive(Debug, Clone)]
enum EventData {
    Admission(AdmissionData),
    Transfer(TransferData),
    LeaveStart(LeaveData),
    Plain,
    Correction(CorrectionData),
}

fn invalid(index: usize, detail: &str) -> ServiceError {
    ServiceError::invalid("pms_event_invalid", format!("event {index}: {detail}"))
}

fn data_of(envelope: &EventEnvelope, index: usize) -> Result<EventData, ServiceError> {
    let data = if envelope.data.is_null() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        envelope.data.clone()
    };
    // Serde's message could quote a value (a name): only the field's path is said.
    let bad = |_| invalid(index, "data does not match the event type's fields");
    Ok(match envelope.event_type {
        EventType::Admission => EventData::Admission(serde_json::from_value(data).map_err(bad)?),
        EventType::Transfer => EventData::Transfer(serde_json::from_value(data).map_err(bad)?),
        EventType::LeaveStart => EventData::LeaveStart(serde_json::from_value(data).map_err(bad)?),
        EventType::IdentityCorrection => {
            EventData::Correction(serde_json::from_value(data).map_err(bad)?)
        }
        EventType::LeaveEnd | EventType::Release | EventType::Death | EventType::Escape => {
            serde_json::from_value::<NoData>(data).map_err(bad)?;
            EventData::Plain
        }
    })
}

/// The identity store's own checks of an admission's person data, without storing anything.
fn check_person_data(data: &EventData, index: usize) -> Result<(), ServiceError> {
    use crate::identity::validate;
    let date = |text: &Option<String>| match text {
        Some(text) if ledger::model::date_format::parse(text).is_none() => {
            Err(invalid(index, "a date is YYYY-MM-DD"))
        }
        _ => Ok(()),
    };
    match data {
        EventData::Admission(admission) => {
            validate::prisoner_number(&admission.prisoner_number)?;
            validate::name(&admission.full_name)?;
            if let Some(national_id) = &admission.national_id {
                validate::national_id(national_id)?;
            }
            if let Some(unit) = &admission.unit {
                validate::short_text(unit, "unit_invalid", "a unit is 1 to 64 characters", 64)?;
            }
            if let Some(iban) = &admission.payout_iban {
                validate::iban(iban)?;
            }
            date(&admission.date_of_birth)
        }
        EventData::Correction(correction) => {
            if let Some(number) = &correction.prisoner_number {
                validate::prisoner_number(number)?;
            }
            if let Some(name) = &correction.full_name {
                validate::name(name)?;
            }
            if let Some(national_id) = &correction.national_id {
                validate::national_id(national_id)?;
            }
            date(&correction.date_of_birth)
        }
        EventData::Transfer(transfer) => match &transfer.unit {
            Some(unit) => Ok(validate::short_text(
                unit,
                "unit_invalid",
                "a unit is 1 to 64 characters",
                64,
            )?),
            None => Ok(()),
        },
        EventData::LeaveStart(leave) if leave.until <= leave.from => {
            Err(invalid(index, "a leave ends after it starts"))
        }
        EventData::LeaveStart(_) | EventData::Plain => Ok(()),
    }
}

fn person_ref_ok(person_ref: &str) -> bool {
    (1..=64).contains(&person_ref.len())
        && person_ref
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
}

/// A batch as the PMS sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// 1 to 200 events, in any order, possibly repeated.
    pub events: Vec<serde_json::Value>,
}

/// What became of one event of a batch.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventReceived {
    pub event_id: Uuid,
    /// `new`, or `duplicate` (that id and body were received before: nothing changed).
    #[schema(example = "new")]
    pub received: String,
    /// `applied`, `pending` (waiting for an earlier event of the person), `review` (could not
    /// apply: staff see it) or `dismissed`.
    #[schema(example = "applied")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchReceived {
    pub events: Vec<EventReceived>,
}

/// One event read and checked, ready to store.
struct Checked {
    envelope: EventEnvelope,
    canonical: Vec<u8>,
    body_sha256: Vec<u8>,
    person_ref_hmac: Vec<u8>,
    prison_id: Uuid,
}

async fn check_batch(
    client: &impl deadpool_postgres::GenericClient,
    feed: &FeedConfig,
    batch: EventBatch,
) -> Result<Vec<Checked>, ServiceError> {
    if batch.events.is_empty() || batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(ServiceError::invalid(
            "pms_batch_invalid",
            format!("a batch has 1 to {MAX_EVENTS_PER_BATCH} events"),
        ));
    }
    let mut checked = Vec::with_capacity(batch.events.len());
    for (index, value) in batch.events.into_iter().enumerate() {
        let envelope: EventEnvelope = serde_json::from_value(value.clone())
            .map_err(|_| invalid(index, "not an event envelope (docs/pms-feed.schema.json)"))?;
        if !person_ref_ok(&envelope.person_ref) {
            return Err(invalid(
                index,
                "person_ref is 1 to 64 of A-Z a-z 0-9 _ - . /",
            ));
        }
        if envelope.sequence < 1 {
            return Err(invalid(index, "sequence is 1 or more"));
        }
        let data = data_of(&envelope, index)?;
        check_person_data(&data, index)?;
        let prison = identity::store::prison_by_code(client, &envelope.prison_code)
            .await?
            .ok_or_else(|| {
                ServiceError::invalid(
                    "prison_unknown",
                    format!("event {index}: no prison has that code"),
                )
            })?;
        // serde_json's maps are ordered by key: the same event always hashes the same.
        let canonical = serde_json::to_vec(&value).map_err(|_| ServiceError::Internal)?;
        checked.push(Checked {
            body_sha256: Sha256::digest(&canonical).to_vec(),
            person_ref_hmac: inbox::person_ref_hmac(&feed.feed_id, &envelope.person_ref),
            prison_id: prison.id,
            envelope,
            canonical,
        });
    }
    Ok(checked)
}

/// Receives a batch: checks every event (one bad event refuses the batch, nothing stored),
/// stores them all in one transaction, then applies what is due for each person named.
pub async fn receive(
    state: &AppState,
    feed: &FeedConfig,
    batch: EventBatch,
) -> Result<BatchReceived, ServiceError> {
    let mut client = state.pool.get().await?;
    let mut checked = check_batch(&client, feed, batch).await?;
    let order: Vec<Uuid> = checked.iter().map(|c| c.envelope.event_id).collect();
    // Locks are taken in one order, so two batches naming the same persons cannot deadlock.
    checked.sort_by(|a, b| a.person_ref_hmac.cmp(&b.person_ref_hmac));
    let tx = client.transaction().await?;
    let mut received = std::collections::HashMap::new();
    for event in &checked {
        inbox::lock_person(&tx, &feed.feed_id, &event.person_ref_hmac).await?;
        let stored = inbox::store_event(
            &tx,
            &Receipt {
                event_id: event.envelope.event_id,
                feed_id: &feed.feed_id,
                body_sha256: &event.body_sha256,
                event_type: event.envelope.event_type.as_str(),
                occurred_at: event.envelope.occurred_at,
                person_ref_hmac: &event.person_ref_hmac,
                sequence: event.envelope.sequence,
                prison_id: Some(event.prison_id),
                body: &event.canonical,
            },
        )
        .await?;
        let word = match stored {
            Stored::New => "new",
            Stored::Duplicate => "duplicate",
            Stored::IdConflict => {
                return Err(ServiceError::conflict(
                    "event_id_conflict",
                    format!(
                        "event {} was received before with another body",
                        event.envelope.event_id
                    ),
                ));
            }
            Stored::SequenceTaken => {
                return Err(ServiceError::conflict(
                    "sequence_taken",
                    format!(
                        "event {}: another event has that person's sequence number",
                        event.envelope.event_id
                    ),
                ));
            }
        };
        // The first word counts: an event twice in one batch is new once.
        received
            .entry(event.envelope.event_id)
            .or_insert(word.to_owned());
    }
    tx.commit().await?;
    drop(client);
    let mut persons: Vec<&Vec<u8>> = checked.iter().map(|c| &c.person_ref_hmac).collect();
    persons.dedup();
    for person_ref_hmac in persons {
        // Stored durably: a failure here leaves the events pending for the next delivery.
        if let Err(error) = apply_due(state, feed, person_ref_hmac).await {
            tracing::warn!(error = %error, "pms events stored but not applied yet");
        }
    }
    sweep(state, feed).await;
    let client = state.pool.get().await?;
    let mut events = Vec::with_capacity(order.len());
    for event_id in order {
        let (status, reason_code) = inbox::event_status(&client, event_id)
            .await?
            .ok_or(ServiceError::Internal)?;
        events.push(EventReceived {
            event_id,
            received: received
                .get(&event_id)
                .cloned()
                .unwrap_or_else(|| "duplicate".to_owned()),
            status,
            reason_code,
        });
    }
    Ok(BatchReceived { events })
}

/// Looks at the persons whose events have waited longer than the window (a few per delivery),
/// so a missing predecessor sends its successor to review even if the person is not named
/// again. Failures are logged: the next delivery sweeps again.
async fn sweep(state: &AppState, feed: &FeedConfig) {
    let waiting_since =
        OffsetDateTime::now_utc() - time::Duration::milliseconds(feed.gap_window_ms);
    let persons = match state.pool.get().await {
        Ok(client) => inbox::waiting_persons(&client, &feed.feed_id, waiting_since, 20).await,
        Err(error) => {
            tracing::warn!(error = %error, "pms sweep skipped");
            return;
        }
    };
    match persons {
        Ok(persons) => {
            for person_ref_hmac in persons {
                if let Err(error) = apply_due(state, feed, &person_ref_hmac).await {
                    tracing::warn!(error = %error, "pms sweep stopped");
                    return;
                }
            }
        }
        Err(error) => tracing::warn!(error = %error, "pms sweep skipped"),
    }
}

/// Why an event did not apply.
enum NotApplied {
    /// Definitive for now: the event goes to review with this reason code.
    Review(&'static str),
    /// Something below failed (the database): the event stays pending.
    Failed(ServiceError),
}

impl From<ServiceError> for NotApplied {
    fn from(error: ServiceError) -> NotApplied {
        let code = match &error {
            ServiceError::Invalid(code, _)
            | ServiceError::Conflict(code, _)
            | ServiceError::NotAllowed(code, _) => Some(*code),
            ServiceError::NotFound(_) => Some("person_unknown"),
            ServiceError::Ledger(error) if error.is_client_error() => Some(error.code()),
            ServiceError::Identity(IdentityError::PrisonerNumberTaken) => {
                Some("prisoner_number_taken")
            }
            ServiceError::Identity(IdentityError::Invalid(code, _)) => Some(*code),
            _ => None,
        };
        match code {
            Some(code) => NotApplied::Review(code),
            None => NotApplied::Failed(error),
        }
    }
}

impl From<IdentityError> for NotApplied {
    fn from(error: IdentityError) -> NotApplied {
        NotApplied::from(ServiceError::from(error))
    }
}

impl From<ledger::LedgerError> for NotApplied {
    fn from(error: ledger::LedgerError) -> NotApplied {
        NotApplied::from(refused(error))
    }
}

impl From<tokio_postgres::Error> for NotApplied {
    fn from(error: tokio_postgres::Error) -> NotApplied {
        NotApplied::Failed(ServiceError::from(error))
    }
}

/// Applies the person's due events, one transaction each, until one is missing (a gap: it
/// waits) or goes to review (its successors wait behind it).
pub async fn apply_due(
    state: &AppState,
    feed: &FeedConfig,
    person_ref_hmac: &[u8],
) -> Result<(), ServiceError> {
    let actor = feed.actor();
    loop {
        let mut client = state.pool.get().await?;
        let mut tx = client.transaction().await?;
        inbox::lock_person(&tx, &feed.feed_id, person_ref_hmac).await?;
        let (person, due) = inbox::next_due(&tx, &feed.feed_id, person_ref_hmac).await?;
        let Some(due) = due else {
            // Nothing is due: an event skipped by a replay, or one whose predecessor has not
            // come within the window, goes to review; then the next one is looked at.
            let waiting_since =
                OffsetDateTime::now_utc() - time::Duration::milliseconds(feed.gap_window_ms);
            let stalled = inbox::stalled(
                &tx,
                &feed.feed_id,
                person_ref_hmac,
                person.next_sequence,
                waiting_since,
            )
            .await?;
            let Some((event_id, reason)) = stalled else {
                tx.commit().await?;
                return Ok(());
            };
            inbox::mark_review(&tx, event_id, person.person_id, reason, &actor).await?;
            tx.commit().await?;
            metrics::counter!("saldo_pms_events_total", "outcome" => "review").increment(1);
            tracing::warn!(%event_id, reason_code = reason, "pms event to review");
            continue;
        };
        let attempt = tx.savepoint("pms_apply").await?;
        match apply_one(&attempt, feed, &person, &due).await {
            Ok(person_id) => {
                attempt.commit().await?;
                inbox::mark_applied(
                    &tx,
                    &feed.feed_id,
                    person_ref_hmac,
                    due.event_id,
                    person_id,
                    &actor,
                )
                .await?;
                tx.commit().await?;
                metrics::counter!("saldo_pms_events_total", "outcome" => "applied").increment(1);
                tracing::info!(event_id = %due.event_id, event_type = %due.event_type,
                    %person_id, "pms event applied");
            }
            Err(NotApplied::Review(reason)) => {
                attempt.rollback().await?;
                // The table takes snake-case codes only; a refusal's code always is one.
                let reason = if !reason.is_empty()
                    && reason.len() <= 64
                    && reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                {
                    reason
                } else {
                    "refused"
                };
                inbox::mark_review(&tx, due.event_id, person.person_id, reason, &actor).await?;
                tx.commit().await?;
                metrics::counter!("saldo_pms_events_total", "outcome" => "review").increment(1);
                tracing::warn!(event_id = %due.event_id, event_type = %due.event_type,
                    reason_code = reason, "pms event to review");
                return Ok(());
            }
            Err(NotApplied::Failed(error)) => return Err(error),
        }
    }
}

fn accessor(purpose: Purpose, event_id: Uuid) -> Accessor {
    Accessor {
        actor_kind: ActorKind::System,
        actor_id: None,
        purpose,
        // The access log's case references allow no colon.
        case_ref: Some(format!("pms/{event_id}")),
        request_id: None,
    }
}

/// Applies one event through the officers' functions; returns the person it concerns.
async fn apply_one(
    tx: &Transaction<'_>,
    feed: &FeedConfig,
    person: &FeedPerson,
    due: &DueEvent,
) -> Result<Uuid, NotApplied> {
    let envelope: EventEnvelope =
        serde_json::from_slice(&due.body).map_err(|_| NotApplied::Review("event_unreadable"))?;
    let data = data_of(&envelope, 0).map_err(|_| NotApplied::Review("event_unreadable"))?;
    let prison_id = due.prison_id.ok_or(NotApplied::Review("prison_unknown"))?;
    let key = format!("pms:{}", due.event_id);
    let actor = feed.actor();
    if let EventData::Admission(admission) = &data {
        if person.person_id.is_some() {
            // Readmission of a released person through the feed is not built: staff decide.
            return Err(NotApplied::Review("already_admitted"));
        }
        let prisoner = NewPrisoner {
            prisoner_number: admission.prisoner_number.clone(),
            full_name: admission.full_name.clone(),
            national_id: admission.national_id.clone(),
            date_of_birth: admission
                .date_of_birth
                .as_deref()
                .and_then(ledger::model::date_format::parse),
            preferred_language: admission.preferred_language,
            unit: admission.unit.clone(),
            payout_iban: admission.payout_iban.clone(),
        };
        let (person_id, _) = crate::services::admission::admit_in(
            tx,
            &accessor(Purpose::Admission, due.event_id),
            prison_id,
            &prisoner,
            admission.regime.unwrap_or(Regime::ClosedPrison),
            &actor,
        )
        .await?;
        return Ok(person_id);
    }
    // Every other event is about an admitted person placed in the event's prison.
    let person_id = person
        .person_id
        .ok_or(NotApplied::Review("person_unknown"))?;
    let who = accessor(Purpose::CaseManagement, due.event_id);
    let current = policy_store::current_placement(tx, person_id)
        .await?
        .ok_or(NotApplied::Review("person_unknown"))?;
    if current.prison_id != prison_id {
        return Err(NotApplied::Review("prison_mismatch"));
    }
    if current.mode == CardMode::Frozen && current.reason == "closed" {
        return Err(NotApplied::Review("accounts_closed"));
    }
    match data {
        // Admissions were applied above.
        EventData::Admission(_) => return Err(NotApplied::Review("already_admitted")),
        EventData::Transfer(transfer) => {
            let to = identity::store::prison_by_code(tx, &transfer.to_prison_code)
                .await?
                .ok_or(NotApplied::Review("prison_unknown"))?;
            if to.id == prison_id {
                return Err(NotApplied::Review("transfer_same_prison"));
            }
            ledger::lifecycle::transfer(
                tx,
                &Transfer {
                    idempotency_key: key,
                    person_id,
                    to_prison_id: to.id,
                    to_regime: transfer.regime.unwrap_or(current.regime),
                    transferred_by: actor,
                },
            )
            .await?;
            if !identity::store::transfer_prisoner(
                tx,
                &who,
                prison_id,
                person_id,
                to.id,
                transfer.unit,
            )
            .await?
            {
                return Err(NotApplied::Review("person_unknown"));
            }
        }
        EventData::LeaveStart(leave) => {
            let now = OffsetDateTime::now_utc();
            if leave.until <= now {
                return Err(NotApplied::Review("leave_ended"));
            }
            if let CardMode::Leave { until, .. } = current.mode
                && until > now
            {
                return Err(NotApplied::Review("leave_overlaps"));
            }
            ledger::lifecycle::grant_leave(
                tx,
                &GrantLeave {
                    idempotency_key: key,
                    person_id,
                    from: leave.from,
                    until: leave.until,
                    limits: None,
                    granted_by: actor,
                },
            )
            .await?;
        }
        EventData::Plain => {
            apply_plain(tx, &who, &envelope, &current, key, actor).await?;
        }
        EventData::Correction(correction) => {
            let change = Rectification {
                prisoner_number: correction.prisoner_number,
                full_name: correction.full_name,
                national_id: correction.national_id.map(Some),
                // Checked at receipt: a date that does not read changes nothing.
                date_of_birth: correction
                    .date_of_birth
                    .as_deref()
                    .and_then(ledger::model::date_format::parse)
                    .map(Some),
                preferred_language: correction.preferred_language,
                unit: None,
                payout_iban: None,
            };
            if !identity::store::rectify_prisoner(tx, &who, Some(prison_id), person_id, &change)
                .await?
            {
                return Err(NotApplied::Review("person_unknown"));
            }
            return Ok(person_id);
        }
    }
    sync_fence(tx, person_id).await?;
    Ok(person_id)
}

/// The events without data: leave end, release, death, escape.
async fn apply_plain(
    tx: &Transaction<'_>,
    who: &Accessor,
    envelope: &EventEnvelope,
    current: &policy_store::Placement,
    key: String,
    actor: String,
) -> Result<(), NotApplied> {
    let person_id = current.person_id;
    match envelope.event_type {
        EventType::LeaveEnd => {
            ledger::lifecycle::end_leave(tx, person_id, &actor).await?;
        }
        EventType::Release => {
            let prison = identity::store::prison(tx, current.prison_id)
                .await?
                .ok_or(NotApplied::Review("prison_unknown"))?;
            let now = OffsetDateTime::now_utc();
            let grace_until = ledger::lifecycle::release_grace_until(now, &prison.time_zone)?;
            ledger::lifecycle::release(
                tx,
                &Release {
                    idempotency_key: key,
                    person_id,
                    // The default choice: the savings are usable on the card during the grace
                    // period; a payout needs a decision the PMS does not make.
                    savings: SavingsOnRelease::ToSpendable,
                    grace_until,
                    effective_date: crate::services::prison_today(&prison.time_zone),
                    released_by: actor,
                },
            )
            .await?;
            let who = Accessor {
                purpose: Purpose::ReleasePreparation,
                ..who.clone()
            };
            identity::store::record_release(tx, &who, person_id, envelope.occurred_at).await?;
        }
        EventType::Death | EventType::Escape => {
            if current.mode == CardMode::Frozen {
                return Err(NotApplied::Review("already_frozen"));
            }
            let cause = if envelope.event_type == EventType::Death {
                FreezeCause::Death
            } else {
                FreezeCause::Escape
            };
            ledger::lifecycle::freeze(
                tx,
                &ledger::lifecycle::Freeze {
                    idempotency_key: key,
                    person_id,
                    cause,
                    note: None,
                    frozen_by: actor,
                },
            )
            .await?;
        }
        _ => return Err(NotApplied::Review("event_unreadable")),
    }
    Ok(())
}

/// An event as staff see it in the review queue: no personal data.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedEventView {
    pub event_id: Uuid,
    #[schema(example = "release")]
    pub event_type: String,
    pub sequence: i64,
    /// `review` or `pending` (in this list).
    #[schema(example = "review")]
    pub status: String,
    /// Why it is in review: `person_unknown`, `prison_unknown`, `prison_mismatch`,
    /// `already_admitted`, `mode_conflict`, `no_policy`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: OffsetDateTime,
    /// A pending event: the person's sequence number that must apply first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for_sequence: Option<i64>,
}

/// The prison's events in review or waiting, oldest first.
pub async fn unsettled(
    state: &AppState,
    prison_id: Uuid,
) -> Result<Vec<FeedEventView>, ServiceError> {
    let client = state.pool.get().await?;
    Ok(inbox::unsettled(&client, prison_id)
        .await?
        .into_iter()
        .map(|row| FeedEventView {
            event_id: row.event_id,
            event_type: row.event_type,
            sequence: row.sequence,
            status: row.status,
            reason_code: row.reason_code,
            person_id: row.person_id,
            occurred_at: row.occurred_at,
            received_at: row.received_at,
            waiting_for_sequence: row.waiting_for_sequence,
        })
        .collect())
}

/// What staff do with an event in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    /// Apply it again (its cause fixed); the person's later events follow.
    Replay,
    /// It will never apply; the person's later events follow.
    Dismiss,
}

/// Replays or dismisses an event of the prison in review (recorded with the member of staff),
/// then applies what is due for its person. Answers the event's status afterwards.
pub async fn act_on_review(
    state: &AppState,
    staff_id: Uuid,
    prison_id: Uuid,
    event_id: Uuid,
    action: ReviewAction,
) -> Result<EventReceived, ServiceError> {
    let actor = format!("staff:{staff_id}");
    let found = {
        let mut client = state.pool.get().await?;
        let tx = client.transaction().await?;
        let found = match action {
            ReviewAction::Replay => inbox::replay(&tx, event_id, prison_id, &actor).await?,
            ReviewAction::Dismiss => inbox::dismiss(&tx, event_id, prison_id, &actor).await?,
        };
        tx.commit().await?;
        found.ok_or(ServiceError::NotFound("event in review"))?
    };
    tracing::info!(%event_id, staff.id = %staff_id, action = ?action, "pms event review action");
    // The event's own feed, whatever this process is configured with now.
    if found.skipped && action == ReviewAction::Replay {
        return Err(ServiceError::conflict(
            "sequence_skipped",
            "a later event of the person was applied: this one can only be dismissed",
        ));
    }
    let feed = FeedConfig {
        feed_id: found.feed_id.clone(),
        secrets: Vec::new(),
        gap_window_ms: state.pms_feed.gap_window_ms,
    };
    apply_due(state, &feed, &found.person_ref_hmac).await?;
    let client = state.pool.get().await?;
    let (status, reason_code) = inbox::event_status(&client, event_id)
        .await?
        .ok_or(ServiceError::Internal)?;
    Ok(EventReceived {
        event_id,
        received: "duplicate".to_owned(),
        status,
        reason_code,
    })
}

/// The PMS's population of one prison on a date.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PopulationSnapshot {
    #[schema(example = "BRU")]
    pub prison_code: String,
    /// `YYYY-MM-DD`: the day the PMS counted.
    #[schema(format = Date, example = "2026-05-01")]
    pub population_date: String,
    /// Every person reference the PMS holds in the prison that day.
    pub person_refs: Vec<String>,
}

/// A snapshot compared with Saldo's placements: person ids only.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PopulationDifferences {
    pub prison_id: Uuid,
    #[schema(format = Date, example = "2026-05-01")]
    pub population_date: String,
    /// Persons the PMS and Saldo both place in the prison.
    pub matching: usize,
    /// In the PMS's population, but Saldo places them nowhere now (released, never placed).
    pub in_pms_not_saldo: Vec<Uuid>,
    /// How many of the PMS's references Saldo has never seen admitted.
    pub unknown_to_saldo: usize,
    /// Placed in this prison by Saldo, absent from the PMS's population.
    pub in_saldo_not_pms: Vec<Uuid>,
    /// In the PMS's population, placed by Saldo in another prison.
    pub different_prison: Vec<PlacedElsewhere>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlacedElsewhere {
    pub person_id: Uuid,
    pub saldo_prison_id: Uuid,
}

/// Whether a placement counts as present in its prison (not released, not closed).
fn present(placement: &policy_store::Placement) -> bool {
    match placement.mode {
        CardMode::Released { .. } => false,
        CardMode::Frozen => placement.reason != "closed",
        CardMode::Inside | CardMode::Leave { .. } => true,
    }
}

/// Stores a snapshot (the same prison and date twice: the same body, else `409
/// population_conflict`) and answers its differences.
pub async fn receive_population(
    state: &AppState,
    feed: &FeedConfig,
    snapshot: &PopulationSnapshot,
) -> Result<PopulationDifferences, ServiceError> {
    let date = ledger::model::date_format::parse(&snapshot.population_date)
        .ok_or_else(|| ServiceError::invalid("date_invalid", "a date is YYYY-MM-DD"))?;
    if snapshot.person_refs.len() > MAX_POPULATION {
        return Err(ServiceError::invalid(
            "population_too_large",
            format!("a snapshot names at most {MAX_POPULATION} persons"),
        ));
    }
    if let Some(index) = snapshot.person_refs.iter().position(|r| !person_ref_ok(r)) {
        return Err(ServiceError::invalid(
            "person_ref_invalid",
            format!("person_refs[{index}] is not 1 to 64 of A-Z a-z 0-9 _ - . /"),
        ));
    }
    let mut client = state.pool.get().await?;
    let prison = identity::store::prison_by_code(&client, &snapshot.prison_code)
        .await?
        .ok_or_else(|| ServiceError::invalid("prison_unknown", "no prison has that code"))?;
    let hmacs: Vec<Vec<u8>> = snapshot
        .person_refs
        .iter()
        .map(|person_ref| inbox::person_ref_hmac(&feed.feed_id, person_ref))
        .collect();
    let mut sorted = snapshot.person_refs.clone();
    sorted.sort();
    let body_sha256 = Sha256::digest(sorted.join("\n")).to_vec();
    let tx = client.transaction().await?;
    let stored =
        inbox::store_population(&tx, &feed.feed_id, prison.id, date, &body_sha256, &hmacs).await?;
    if stored.is_none() {
        return Err(ServiceError::conflict(
            "population_conflict",
            "another snapshot of that prison and date was received",
        ));
    }
    tx.commit().await?;
    drop(client);
    sweep(state, feed).await;
    differences(state, prison.id)
        .await?
        .ok_or(ServiceError::Internal)
}

/// The latest snapshot of the prison against Saldo's placements now; None without a snapshot.
pub async fn differences(
    state: &AppState,
    prison_id: Uuid,
) -> Result<Option<PopulationDifferences>, ServiceError> {
    let client = state.pool.get().await?;
    let Some((date, persons)) = inbox::latest_population(&client, prison_id).await? else {
        return Ok(None);
    };
    let mut found = PopulationDifferences {
        prison_id,
        population_date: date.to_string(),
        ..PopulationDifferences::default()
    };
    let mut in_snapshot = std::collections::HashSet::new();
    for person in persons {
        let Some(person_id) = person.person_id else {
            found.unknown_to_saldo += 1;
            continue;
        };
        in_snapshot.insert(person_id);
        match policy_store::current_placement(&client, person_id)
            .await
            .map_err(refused)?
        {
            Some(placement) if present(&placement) && placement.prison_id == prison_id => {
                found.matching += 1;
            }
            Some(placement) if present(&placement) => {
                found.different_prison.push(PlacedElsewhere {
                    person_id,
                    saldo_prison_id: placement.prison_id,
                });
            }
            _ => found.in_pms_not_saldo.push(person_id),
        }
    }
    for placement in policy_store::placed_in(&client, prison_id)
        .await
        .map_err(refused)?
    {
        if present(&placement) && !in_snapshot.contains(&placement.person_id) {
            found.in_saldo_not_pms.push(placement.person_id);
        }
    }
    found.in_pms_not_saldo.sort();
    found.in_saldo_not_pms.sort();
    found.different_prison.sort_by_key(|p| p.person_id);
    Ok(Some(found))
}

/// Links the PMS's reference to a prisoner admitted before the feed named them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The PMS's reference of the person, 1 to 64 of `A-Z a-z 0-9 _ - . /`.
    #[schema(example = "PMS-000123")]
    pub person_ref: String,
    /// The sequence number of the person's first event Saldo should apply (the PMS's count of
    /// their events so far, plus one).
    #[schema(minimum = 1, example = 7)]
    pub next_sequence: i64,
}

/// Links a reference to a prisoner of the prison (the change logged like other case changes),
/// then applies what was waiting for it.
pub async fn link(
    state: &AppState,
    staff: &crate::auth::Staff,
    prison_id: Uuid,
    person_id: Uuid,
    request: &LinkRequest,
) -> Result<(), ServiceError> {
    if !person_ref_ok(&request.person_ref) {
        return Err(ServiceError::invalid(
            "person_ref_invalid",
            "person_ref is 1 to 64 of A-Z a-z 0-9 _ - . /",
        ));
    }
    if request.next_sequence < 1 {
        return Err(ServiceError::invalid(
            "sequence_invalid",
            "next_sequence is 1 or more",
        ));
    }
    let feed = state.pms_feed.as_ref();
    let hmac = inbox::person_ref_hmac(&feed.feed_id, &request.person_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let gated = crate::services::lifecycle::gate(
        &tx,
        staff,
        prison_id,
        person_id,
        &[identity::PrisonerField::PmsReference],
    )
    .await?;
    if gated.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    }
    inbox::lock_person(&tx, &feed.feed_id, &hmac).await?;
    match inbox::link_person(&tx, &feed.feed_id, &hmac, person_id, request.next_sequence).await? {
        inbox::Linked::Linked => {}
        inbox::Linked::ReferenceTaken => {
            return Err(ServiceError::conflict(
                "person_ref_linked",
                "that reference already names a person, or its events have gone past that sequence",
            ));
        }
        inbox::Linked::PersonTaken => {
            return Err(ServiceError::conflict(
                "person_linked",
                "the prisoner is already linked to another reference of the feed",
            ));
        }
    }
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "pms reference linked");
    apply_due(state, feed, &hmac).await
}
