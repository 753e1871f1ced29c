//! `POST /webhooks/processor` (the default processor) and `/webhooks/processor/{id}` (another,
//! during a switch-over): the processors' signed messages in, each verified with its sender's
//! own secrets.
//!
//! Verify the Standard Webhooks signature over the raw bytes first; only then parse. A message
//! that fails verification leaves nothing behind but a security log line (never its body). An
//! authentic message is recorded and applied in one transaction before the 2xx answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use deadpool_postgres::Pool;
use ledger::controls::DeclineCode;
use ledger::{Currency, Money};
use processor_protocol::signature::{self, WebhookHeaders, WebhookSecret};
use processor_protocol::{AuthorizationResponse, WebhookEnvelope, WebhookEvent};
use serde_json::json;

use crate::authorization::{AuthorizationInput, AuthorizationOutcome, Decide, MerchantFacts};
use crate::clearings::ClearingQueue;
use crate::decisions::{Answer, DecisionQueue};
use crate::inbox::InboxMessage;
use crate::process::{AdviceReason, CardEvent};
use crate::processors::DEFAULT_PROCESSOR;
use crate::states::{self, Named};

pub const PATH: &str = "/webhooks/processor";
/// Each processor other than the default has its own route, `/webhooks/processor/{id}`.
pub const PROCESSOR_PATH: &str = "/webhooks/processor/{processor_id}";
/// The protocol's messages are small; anything larger is not one of them.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 64 * 1024;

pub struct WebhookState<D> {
    pub pool: Pool,
    /// The default processor's secrets (one normally; two during a rotation), at [`PATH`].
    pub secrets: Vec<WebhookSecret>,
    /// Every other processor's secrets, each verified at its own route ([`PROCESSOR_PATH`]).
    pub processors: Vec<ProcessorSecrets>,
    pub decide: D,
}

/// A processor's webhook signing secrets.
#[derive(Clone)]
pub struct ProcessorSecrets {
    pub processor_id: String,
    pub secrets: Vec<WebhookSecret>,
}

/// What the handler shares: the state, with its authorization requests queued for batches.
struct Receiver<D> {
    pool: Pool,
    /// By processor id, the default's included: a message is verified with its sender's only.
    secrets: HashMap<String, Vec<WebhookSecret>>,
    /// Whether a message can be about another processor's card at all: more than one processor
    /// configured here, or known to the database. Read once; until then (and while it cannot be
    /// read) every message is checked.
    several_processors: tokio::sync::OnceCell<bool>,
    decisions: DecisionQueue<D>,
    clearings: ClearingQueue,
}

pub fn router<D: Decide + 'static>(state: WebhookState<D>) -> Router {
    let mut secrets: HashMap<String, Vec<WebhookSecret>> = state
        .processors
        .into_iter()
        .map(|processor| (processor.processor_id, processor.secrets))
        .collect();
    secrets.insert(DEFAULT_PROCESSOR.to_owned(), state.secrets);
    let receiver = Arc::new(Receiver {
        decisions: DecisionQueue::new(state.pool.clone(), state.decide),
        clearings: ClearingQueue::new(state.pool.clone()),
        pool: state.pool,
        secrets,
        several_processors: tokio::sync::OnceCell::new(),
    });
    Router::new()
        .route(PATH, post(receive_default::<D>))
        .route(PROCESSOR_PATH, post(receive_from::<D>))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES))
        .with_state(receiver)
}

fn problem(status: StatusCode, code: &'static str, detail: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        axum::Json(json!({
            "type": format!("https://saldo.invalid/problems/{code}"),
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "code": code,
            "detail": detail,
        })),
    )
        .into_response()
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The default processor's route.
async fn receive_default<D: Decide + 'static>(
    State(state): State<Arc<Receiver<D>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&state, DEFAULT_PROCESSOR, &headers, body).await
}

/// Another processor's route. An id that is not configured is refused like a bad signature:
/// nothing says which ids exist.
async fn receive_from<D: Decide + 'static>(
    State(state): State<Arc<Receiver<D>>>,
    Path(processor_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if processor_id == DEFAULT_PROCESSOR || !state.secrets.contains_key(&processor_id) {
        tracing::warn!(
            security_event = "webhook_rejected",
            error.code = "unknown_processor",
            body_bytes = body.len(),
            "processor webhook for a processor that is not configured"
        );
        return problem(
            StatusCode::UNAUTHORIZED,
            "signature_mismatch",
            "the message is not an authentic processor message",
        );
    }
    receive(&state, &processor_id, &headers, body).await
}

async fn receive<D: Decide + 'static>(
    state: &Receiver<D>,
    processor_id: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let no_secrets = Vec::new();
    let secrets = state.secrets.get(processor_id).unwrap_or(&no_secrets);
    let received = WebhookHeaders {
        id: header_text(headers, signature::HEADER_ID),
        timestamp: header_text(headers, signature::HEADER_TIMESTAMP),
        signature: header_text(headers, signature::HEADER_SIGNATURE),
    };
    let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Err(error) = signature::verify(secrets, received, &body, now_unix) {
        // A security event: who tried what, never the body.
        tracing::warn!(
            security_event = "webhook_rejected",
            error.code = error.code(),
            processor_id,
            body_bytes = body.len(),
            "processor webhook failed verification"
        );
        let status = match error {
            signature::SignatureError::NoMatch
            | signature::SignatureError::TimestampOutOfTolerance => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        return problem(
            status,
            error.code(),
            "the message is not an authentic processor message",
        );
    }
    // Verified, so the headers are present and well formed.
    let webhook_id = received.id.unwrap_or_default();
    let webhook_timestamp: i64 = received
        .timestamp
        .and_then(|t| t.parse().ok())
        .unwrap_or_default();

    let envelope = match WebhookEnvelope::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(error) => {
            tracing::warn!(
                webhook_id,
                error.code = error.code(),
                "authentic processor webhook is malformed"
            );
            return problem(
                StatusCode::BAD_REQUEST,
                error.code(),
                "the message body does not follow protocol v1",
            );
        }
    };
    // A processor speaks only for its own cards: a message about another processor's card is
    // refused before anything is recorded or held.
    if let Some(refused) = refuse_other_processors_card(state, processor_id, &envelope.event).await
    {
        return refused;
    }
    let message = InboxMessage {
        processor_id,
        webhook_id,
        webhook_timestamp,
        event_type: envelope.event.event_type(),
        body: &body,
    };
    match &envelope.event {
        WebhookEvent::AuthorizationRequest(request) => {
            answer_request(state, &message, &body, request, envelope.timestamp).await
        }
        event => apply_event(state, &message, body.clone(), event, envelope.timestamp).await,
    }
}

/// Decides an `authorization.request` (protocol 3.3) by its deadline and answers it.
async fn answer_request<D: Decide + 'static>(
    state: &Receiver<D>,
    message: &InboxMessage<'_>,
    body: &Bytes,
    request: &processor_protocol::AuthorizationRequest,
    at: time::OffsetDateTime,
) -> Response {
    let webhook_id = message.webhook_id;
    let started = std::time::Instant::now();
    let decided = match authorization_input(request, at) {
        Ok(input) => {
            let input = input.on_our_clock(time::OffsetDateTime::now_utc());
            state.decisions.decide(message, body.clone(), input).await
        }
        Err(_) => Answer::Outcome(AuthorizationOutcome::decline(
            DeclineCode::Other,
            "currency_not_supported",
        )),
    };
    let outcome = match decided {
        Answer::Outcome(outcome) => outcome,
        Answer::Unrecorded => {
            // No decision to give: the processor declines (fails closed) and its TIMEOUT
            // advice releases whatever a commit that lands later held.
            metrics::counter!("saldo_card_authorizations_total", "decision" => "NONE", "reason" => "not_recorded")
                .increment(1);
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "decision_not_recorded",
                "no decision could be recorded in time",
            );
        }
    };
    let decision = states::decision(outcome.approve).name();
    let reason = outcome.decline_reason.clone().unwrap_or_default();
    metrics::counter!("saldo_card_authorizations_total", "decision" => decision, "reason" => reason)
        .increment(1);
    metrics::histogram!("saldo_card_authorization_duration_seconds").record(started.elapsed());
    tracing::info!(
        webhook_id,
        authorization_id = %request.authorization_id,
        decision,
        decline_reason = outcome.decline_reason.as_deref().unwrap_or(""),
        "authorization decided"
    );
    axum::Json(answer(&outcome)).into_response()
}

/// Records and applies an asynchronous event (protocol 3.4 to 3.9) before the 2xx answer; a
/// clearing in a batch with the others that arrive with it (`crate::clearings`).
async fn apply_event<D>(
    state: &Receiver<D>,
    message: &InboxMessage<'_>,
    body: Bytes,
    event: &WebhookEvent,
    at: time::OffsetDateTime,
) -> Response {
    let webhook_id = message.webhook_id;
    let card_event = match card_event(event, at) {
        Ok(card_event) => card_event,
        Err(code) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                "the message cannot be booked",
            );
        }
    };
    match state.clearings.apply(message, body, card_event).await {
        Ok(applied) => {
            tracing::info!(webhook_id, event_type = message.event_type, outcome = ?applied, "processor event recorded");
            (StatusCode::OK, axum::Json(json!({"status": "recorded"}))).into_response()
        }
        Err(error) => {
            // Not recorded: a non-2xx answer makes the processor deliver it again.
            tracing::error!(webhook_id, error.code = error.code(), error = ?error, "processor event not recorded");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_recorded",
                "the message was not recorded; deliver it again",
            )
        }
    }
}

/// [`Receiver::several_processors`], read on the first message that needs it.
async fn several_processors<D>(state: &Receiver<D>) -> bool {
    if state.secrets.len() > 1 {
        return true;
    }
    if let Some(several) = state.several_processors.get() {
        return *several;
    }
    let known = match state.pool.get().await {
        Ok(client) => crate::processors::any_besides_default(&client).await,
        Err(error) => Err(ledger::LedgerError::from(error).into()),
    };
    match known {
        Ok(several) => {
            *state
                .several_processors
                .get_or_init(|| async { several })
                .await
        }
        // Unread: check this message (the check answers 503 if the database is down).
        Err(_) => true,
    }
}

/// The card a message is about.
fn card_of(event: &WebhookEvent) -> Option<&str> {
    Some(match event {
        WebhookEvent::AuthorizationRequest(request) => &request.card_id,
        WebhookEvent::AuthorizationAdvice(advice) => &advice.authorization.card_id,
        WebhookEvent::AuthorizationReversal(reversal) => &reversal.card_id,
        WebhookEvent::AuthorizationExpired(expired) => &expired.card_id,
        WebhookEvent::TransactionClearing(clearing) => &clearing.card_id,
        WebhookEvent::TransactionRefund(refund) => &refund.card_id,
        WebhookEvent::CardStateChanged(change) => &change.card_id,
        WebhookEvent::Unknown { .. } => return None,
    })
}

/// The answer to a message from `processor_id` about a card Saldo has at another processor (or
/// about an authorization recorded for another processor's card): an authorization request is
/// declined as an unknown card (nothing held, nothing recorded), any other message refused with
/// `422 card_of_another_processor`. `None`: the card is the sender's, or unknown (which the
/// usual path answers).
async fn refuse_other_processors_card<D>(
    state: &Receiver<D>,
    processor_id: &str,
    event: &WebhookEvent,
) -> Option<Response> {
    let card_id = card_of(event)?;
    // With one processor only (the usual case), every card is the sender's: no round trip on
    // the authorization path.
    if !several_processors(state).await {
        return None;
    }
    let owners = match state.pool.get().await {
        Ok(client) => {
            crate::processors::of_card_and_authorization(&client, card_id, event.authorization_id())
                .await
        }
        Err(error) => Err(ledger::LedgerError::from(error).into()),
    };
    let owner = match owners {
        Ok((card_owner, authorization_owner)) => {
            // The first that is not the sender's, if any.
            [card_owner, authorization_owner]
                .into_iter()
                .flatten()
                .find(|owner| owner != processor_id)?
        }
        Err(error) => {
            tracing::error!(error.code = error.code(), "card's processor not read");
            return Some(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_recorded",
                "the message was not recorded; deliver it again",
            ));
        }
    };
    tracing::warn!(
        security_event = "webhook_card_of_another_processor",
        processor_id,
        card_processor_id = %owner,
        event_type = event.event_type(),
        "processor message about another processor's card refused"
    );
    Some(match event {
        WebhookEvent::AuthorizationRequest(_) => {
            metrics::counter!("saldo_card_authorizations_total", "decision" => "DECLINE", "reason" => "card_of_another_processor")
                .increment(1);
            axum::Json(answer(&AuthorizationOutcome::decline(
                DeclineCode::UnknownCard,
                "unknown_card",
            )))
            .into_response()
        }
        _ => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_of_another_processor",
            "the card is not at this processor",
        ),
    })
}

fn answer(outcome: &AuthorizationOutcome) -> AuthorizationResponse {
    if outcome.approve {
        return AuthorizationResponse::approve(outcome.approved_minor);
    }
    let reason = outcome
        .decline_reason
        .as_deref()
        .and_then(DeclineCode::parse)
        .unwrap_or(DeclineCode::Other);
    AuthorizationResponse::decline(reason)
}

fn money(
    amount_minor: i64,
    currency: &processor_protocol::CurrencyCode,
) -> Result<Money, &'static str> {
    let currency = Currency::from_code(currency.as_str()).map_err(|_| "currency_not_supported")?;
    Ok(Money::new(amount_minor, currency))
}

fn merchant_facts(merchant: &processor_protocol::RequestMerchant) -> MerchantFacts {
    MerchantFacts {
        id: merchant.id.clone(),
        name: merchant.name.clone(),
        mcc: merchant.mcc.as_str().to_owned(),
        city: merchant.city.clone(),
        country: merchant.country.as_str().to_owned(),
    }
}

fn merchant_json(merchant: &processor_protocol::Merchant) -> serde_json::Value {
    serde_json::to_value(merchant_facts(&merchant.clone().into()))
        .unwrap_or(serde_json::Value::Null)
}

fn authorization_input(
    request: &processor_protocol::AuthorizationRequest,
    at: time::OffsetDateTime,
) -> Result<AuthorizationInput, &'static str> {
    Ok(AuthorizationInput {
        authorization_id: request.authorization_id.clone(),
        card_id: request.card_id.clone(),
        amount: money(request.amount, &request.currency)?,
        merchant: merchant_facts(&request.merchant),
        channel: request.channel.as_str().to_owned(),
        partial_approval_capable: request.partial_approval_capable,
        parent_authorization_id: request.parent_authorization_id.clone(),
        at,
        requested_at: at,
    })
}

fn card_event(event: &WebhookEvent, at: time::OffsetDateTime) -> Result<CardEvent, &'static str> {
    Ok(match event {
        WebhookEvent::AuthorizationAdvice(advice) => CardEvent::Advice {
            input: authorization_input(&advice.authorization, at)?,
            approved: advice.decision == processor_protocol::Decision::Approve,
            approved_minor: advice.approved_amount_minor(),
            reason: match advice.reason {
                processor_protocol::AdviceReason::StandIn => AdviceReason::StandIn,
                processor_protocol::AdviceReason::Timeout => AdviceReason::Timeout,
                processor_protocol::AdviceReason::ProcessorRule => AdviceReason::ProcessorRule,
            },
        },
        WebhookEvent::AuthorizationReversal(reversal) => CardEvent::Reversal {
            authorization_id: reversal.authorization_id.clone(),
            card_id: reversal.card_id.clone(),
            amount: money(reversal.amount, &reversal.currency)?,
        },
        WebhookEvent::AuthorizationExpired(expired) => CardEvent::Expired {
            authorization_id: expired.authorization_id.clone(),
            card_id: expired.card_id.clone(),
        },
        WebhookEvent::TransactionClearing(clearing) => CardEvent::Clearing {
            transaction_id: clearing.transaction_id.clone(),
            authorization_id: clearing.authorization_id.clone(),
            card_id: clearing.card_id.clone(),
            amount: money(clearing.amount, &clearing.currency)?,
            merchant: merchant_json(&clearing.merchant),
            cleared_at: clearing.cleared_at,
            final_clearing: clearing.is_final,
        },
        WebhookEvent::TransactionRefund(refund) => CardEvent::Refund {
            transaction_id: refund.transaction_id.clone(),
            original_transaction_id: refund.original_transaction_id.clone(),
            card_id: refund.card_id.clone(),
            amount: money(refund.amount, &refund.currency)?,
            merchant: merchant_json(&refund.merchant),
            cleared_at: refund.cleared_at,
        },
        WebhookEvent::CardStateChanged(change) => CardEvent::CardStateChanged {
            card_id: change.card_id.clone(),
            state: change.state.as_str().to_owned(),
            previous_state: Some(change.previous_state.as_str().to_owned()),
            reason: change.reason.clone(),
            changed_by: change.changed_by.name().to_owned(),
        },
        WebhookEvent::Unknown { .. } => CardEvent::Unknown,
        // Handled synchronously by the caller.
        WebhookEvent::AuthorizationRequest(_) => return Err("unexpected_event"),
    })
}
