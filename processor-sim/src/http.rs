//! The simulator's HTTP side: the processor REST API of section 2 and the `/_sim` controls.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use processor_protocol::{
    Card, CardState, Cardholder, CreateCardRequest, CreateCardholderRequest, ErrorBody,
    ErrorDetail, Funding, Merchant, ReissueRequest, SetCardStateRequest, SpendControls,
    WebhookEvent, error_code, format_date, is_token_1_64, is_valid_embossed_name, parse_date,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::Date;

use super::{
    AuthorizeInput, CardRec, ChangedBy, Fault, FaultRule, IdempotencyEntry, Inner, RecordedRequest,
    Scenario, SimError, SimState, Simulator, StateChangeError, WebhookSettings, change_state,
    merchant_canteen, new_id, now,
};

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/_sim/requests", get(get_requests).delete(delete_requests))
        .route("/_sim/deliveries", get(get_deliveries))
        .route("/_sim/emitted", get(get_emitted))
        .route("/_sim/privacy", get(get_privacy))
        .route("/_sim/faults", post(post_fault).delete(delete_faults))
        .route("/_sim/webhook", get(get_webhook).post(post_webhook))
        .route("/_sim/webhooks/flush", post(post_flush))
        .route("/_sim/webhooks/wait", post(post_wait))
        .route("/_sim/authorize", post(post_authorize))
        .route("/_sim/clear", post(post_clear))
        .route("/_sim/force_post", post(post_force_post))
        .route("/_sim/reverse", post(post_reverse))
        .route("/_sim/expire", post(post_expire))
        .route("/_sim/refund", post(post_refund))
        .route("/_sim/card_state", post(post_card_state))
        .route("/_sim/funding", post(post_funding))
        .route("/_sim/settlements/{date}/close", post(post_close_day))
        .route("/_sim/scenarios/{name}", post(post_scenario))
        .fallback(api)
        .with_state(inner)
}

// ---------------------------------------------------------------------------------------------
// The processor API
// ---------------------------------------------------------------------------------------------

/// One API answer, kept whole so an idempotent replay can repeat it byte for byte.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, value: &impl serde::Serialize) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }
    fn error(status: u16, code: &str, message: impl Into<String>) -> Answer {
        Answer::json(status, &ErrorBody::new(code, message))
    }
    fn into_response(self, extra: Option<(header::HeaderName, String)>) -> Response {
        let mut response = (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response();
        if let Some((name, value)) = extra
            && let Ok(value) = value.parse()
        {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Answer> {
    serde_json::from_slice(body)
        .map_err(|e| Answer::error(400, "invalid_request", format!("body: {e}")))
}

async fn api(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let fault = {
        let mut state = inner.state();
        let seq = u64::try_from(state.requests.len()).unwrap_or(u64::MAX);
        state.requests.push(RecordedRequest {
            seq,
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| path.clone()),
            headers: headers
                .iter()
                .filter(|(name, _)| *name != header::AUTHORIZATION)
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let expected = format!("Bearer {}", inner.config.api_key);
        let authorized = headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == expected.as_bytes());
        if !authorized {
            return Answer::error(401, "unauthorized", "missing or wrong API key")
                .into_response(None);
        }
        take_fault(&mut state, &path)
    };

    let mut lose_answer: Option<u16> = None;
    let mut reset_after = false;
    let mut refusal: Option<Answer> = None;
    match fault {
        Some(Fault::RateLimit { retry_after_s, .. }) => {
            return Answer::error(429, "rate_limited", "too many requests")
                .into_response(Some((header::RETRY_AFTER, retry_after_s.to_string())));
        }
        Some(Fault::ServerError {
            status,
            after_processing: false,
            ..
        }) => {
            return Answer::error(status, "internal_error", "simulated failure")
                .into_response(None);
        }
        Some(Fault::ServerError { status, .. }) => lose_answer = Some(status),
        Some(Fault::Slow { delay_ms, .. }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        Some(Fault::Refuse { status, code, .. }) => {
            refusal = Some(Answer::error(status, &code, "simulated refusal"));
        }
        Some(Fault::Reset {
            after_processing: false,
            ..
        }) => return broken_answer(),
        Some(Fault::Reset { .. }) => reset_after = true,
        None => {}
    }

    let idempotency_key = headers
        .get("idempotency-key")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (answer, events) = {
        let mut state = inner.state();
        handle_idempotent(
            &mut state,
            &inner,
            &method,
            &path,
            idempotency_key,
            &body,
            refusal,
        )
    };
    for event in events {
        inner.emit(event);
    }
    if reset_after {
        return broken_answer();
    }
    if let Some(status) = lose_answer {
        return Answer::error(
            status,
            "internal_error",
            "simulated failure after processing",
        )
        .into_response(None);
    }
    answer.into_response(None)
}

/// An answer whose body fails: hyper drops the connection mid-answer, as a reset would.
fn broken_answer() -> Response {
    Response::new(axum::body::Body::new(BrokenBody))
}

struct BrokenBody;

impl http_body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))))
    }
}

/// The first queued fault for this path, one of its `count` used up.
fn take_fault(state: &mut SimState, path: &str) -> Option<Fault> {
    state.faults.retain_mut(|rule| *rule.fault.count_mut() > 0);
    let rule = state.faults.iter_mut().find(|rule| rule.applies_to(path))?;
    *rule.fault.count_mut() -= 1;
    let taken = rule.fault.clone();
    state.faults.retain_mut(|rule| *rule.fault.count_mut() > 0);
    Some(taken)
}

/// Idempotency (section 2): the same key and body get the original answer, the same key with
/// another body `409 idempotency_conflict`. Every POST must carry a key. A `refusal` (fault)
/// stands in for processing the request, and is stored like any 4xx.
fn handle_idempotent(
    state: &mut SimState,
    inner: &Inner,
    method: &Method,
    path: &str,
    key: Option<String>,
    body: &[u8],
    refusal: Option<Answer>,
) -> (Answer, Vec<WebhookEvent>) {
    let writes = *method == Method::POST || *method == Method::PATCH;
    let key = match key {
        None if *method == Method::POST => {
            return (
                Answer::error(
                    400,
                    "idempotency_key_required",
                    "POST needs Idempotency-Key",
                ),
                Vec::new(),
            );
        }
        Some(key) if !is_token_1_64(&key) => {
            return (
                Answer::error(
                    400,
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1..64 chars of [A-Za-z0-9_-]",
                ),
                Vec::new(),
            );
        }
        other => other.filter(|_| writes),
    };
    let fingerprint = {
        let mut hash = Sha256::new();
        hash.update(method.as_str().as_bytes());
        hash.update(b" ");
        hash.update(path.as_bytes());
        hash.update(b"\n");
        hash.update(body);
        hex::encode(hash.finalize())
    };
    if let Some(key) = &key
        && let Some(entry) = state.idempotency.get(key)
    {
        if entry.fingerprint == fingerprint {
            let replay = Answer {
                status: entry.status,
                content_type: entry.content_type,
                body: entry.body.clone(),
            };
            return (replay, Vec::new());
        }
        return (
            Answer::error(
                409,
                error_code::IDEMPOTENCY_CONFLICT,
                "Idempotency-Key reused with a different request",
            ),
            Vec::new(),
        );
    }
    let mut events = Vec::new();
    let answer = match refusal {
        Some(refusal) => refusal,
        None => dispatch(state, inner, method, path, body, &mut events),
    };
    if let Some(key) = key
        && answer.status < 500
        && answer.status != 429
    {
        state.idempotency.insert(
            key,
            IdempotencyEntry {
                fingerprint,
                status: answer.status,
                content_type: answer.content_type,
                body: answer.body.clone(),
            },
        );
    }
    (answer, events)
}

fn dispatch(
    state: &mut SimState,
    inner: &Inner,
    method: &Method,
    path: &str,
    body: &[u8],
    events: &mut Vec<WebhookEvent>,
) -> Answer {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let result = match (method.clone(), segments.as_slice()) {
        (Method::POST, ["v1", "cardholders"]) => create_cardholder(state, body),
        (Method::POST, ["v1", "cards"]) => create_card(state, body),
        (Method::GET, ["v1", "cards", id]) => card(state, id).map(|c| Answer::json(200, &c)),
        (Method::POST, ["v1", "cards", id, "state"]) => set_state(state, id, body, events),
        (Method::POST, ["v1", "cards", id, "reissue"]) => reissue(state, id, body, events),
        (Method::PATCH, ["v1", "cards", id, "spend_controls"]) => patch_controls(state, id, body),
        (Method::GET, ["v1", "funding"]) => Ok(Answer::json(
            200,
            &Funding {
                balance: state.funding_balance_minor,
                currency: inner.config.currency.clone(),
                as_of: now(),
            },
        )),
        (Method::GET, ["v1", "settlements", date]) => settlement(state, date),
        _ => Err(Answer::error(404, "not_found", "no such endpoint")),
    };
    result.unwrap_or_else(|answer| answer)
}

fn card(state: &SimState, id: &str) -> Result<Card, Answer> {
    state
        .cards
        .get(id)
        .map(|c| c.card.clone())
        .ok_or_else(|| Answer::error(404, "not_found", "no such card"))
}

fn create_cardholder(state: &mut SimState, body: &[u8]) -> Result<Answer, Answer> {
    let request: CreateCardholderRequest = parse_body(body)?;
    // The processor accepts these fields (other programs use them); the simulator flags them
    // because this program must never send them (section 1).
    for field in request.personal_fields_present() {
        state
            .privacy_flags
            .push(format!("POST /v1/cardholders carried {field}"));
    }
    if request.memo.as_deref().is_some_and(|m| !m.is_empty()) {
        state
            .privacy_flags
            .push("POST /v1/cardholders carried a memo".to_owned());
    }
    if !is_token_1_64(&request.external_ref) {
        return Err(Answer::error(
            422,
            "invalid_external_ref",
            "external_ref must be 1..64 chars of [A-Za-z0-9_-]",
        ));
    }
    if request.program.is_empty() {
        return Err(Answer::error(422, "invalid_program", "program is required"));
    }
    let ref_key = (request.program.clone(), request.external_ref.clone());
    if let Some(existing) = state.cardholder_by_ref.get(&ref_key) {
        return Err(Answer::json(
            409,
            &ErrorBody {
                error: ErrorDetail {
                    code: error_code::CARDHOLDER_EXISTS.to_owned(),
                    message: "a cardholder with this external_ref exists".to_owned(),
                    existing_id: Some(existing.clone()),
                },
            },
        ));
    }
    let cardholder = Cardholder {
        id: new_id("ch"),
        external_ref: request.external_ref,
        program: request.program,
        created_at: now(),
    };
    state
        .cardholder_by_ref
        .insert(ref_key, cardholder.id.clone());
    state
        .cardholders
        .insert(cardholder.id.clone(), cardholder.clone());
    Ok(Answer::json(201, &cardholder))
}

fn new_card(cardholder_id: &str, request: &CreateCardRequest) -> Card {
    use rand::Rng;
    let mut rng = rand::rng();
    let created_at = now();
    let exp_year = u16::try_from(created_at.year().saturating_add(3)).unwrap_or(u16::MAX);
    Card {
        id: new_id("card"),
        cardholder_id: cardholder_id.to_owned(),
        form: request.form,
        last4: format!("{:04}", rng.random_range(0..10_000u32)),
        exp_month: u8::from(created_at.month()),
        exp_year,
        state: CardState::Inactive,
        spend_controls: Some(request.spend_controls.clone().unwrap_or_default()),
        created_at,
    }
}

fn create_card(state: &mut SimState, body: &[u8]) -> Result<Answer, Answer> {
    let request: CreateCardRequest = parse_body(body)?;
    if request.memo.as_deref().is_some_and(|m| !m.is_empty()) {
        state
            .privacy_flags
            .push("POST /v1/cards carried a memo".to_owned());
    }
    if let Some(name) = &request.embossed_name
        && !is_valid_embossed_name(name)
    {
        return Err(Answer::error(
            422,
            "invalid_embossed_name",
            "embossed_name: at most 24 chars of [A-Z ]",
        ));
    }
    if !state.cardholders.contains_key(&request.cardholder_id) {
        return Err(Answer::error(
            422,
            "unknown_cardholder",
            "no such cardholder",
        ));
    }
    let card = new_card(&request.cardholder_id, &request);
    state.cards.insert(
        card.id.clone(),
        CardRec {
            card: card.clone(),
            replaces: None,
        },
    );
    Ok(Answer::json(201, &card))
}

fn set_state(
    state: &mut SimState,
    id: &str,
    body: &[u8],
    events: &mut Vec<WebhookEvent>,
) -> Result<Answer, Answer> {
    let request: SetCardStateRequest = parse_body(body)?;
    match change_state(
        state,
        id,
        request.state,
        request.reason,
        ChangedBy::Api,
        events,
    ) {
        Ok(card) => Ok(Answer::json(200, &card)),
        Err(StateChangeError::NotFound) => Err(Answer::error(404, "not_found", "no such card")),
        Err(StateChangeError::Invalid) => Err(Answer::error(
            409,
            error_code::INVALID_STATE_TRANSITION,
            "transition not allowed",
        )),
    }
}

fn reissue(
    state: &mut SimState,
    id: &str,
    body: &[u8],
    events: &mut Vec<WebhookEvent>,
) -> Result<Answer, Answer> {
    let request: ReissueRequest = parse_body(body)?;
    let old = card(state, id)?;
    if old.state == CardState::Closed {
        return Err(Answer::error(
            409,
            error_code::INVALID_STATE_TRANSITION,
            "a closed card cannot be reissued",
        ));
    }
    let template = CreateCardRequest {
        cardholder_id: old.cardholder_id.clone(),
        form: old.form,
        embossed_name: None,
        spend_controls: old.spend_controls.clone(),
        memo: None,
    };
    let replacement = new_card(&old.cardholder_id, &template);
    let closes_now = request.reason.closes_old_card_at_once();
    state.cards.insert(
        replacement.id.clone(),
        CardRec {
            card: replacement.clone(),
            replaces: (!closes_now).then(|| id.to_owned()),
        },
    );
    if closes_now {
        let reason = format!("REISSUED_{:?}", request.reason).to_uppercase();
        // Not closed (checked above), so CLOSED is always allowed.
        let _ = change_state(
            state,
            id,
            CardState::Closed,
            Some(reason),
            ChangedBy::Api,
            events,
        );
    }
    Ok(Answer::json(201, &replacement))
}

fn patch_controls(state: &mut SimState, id: &str, body: &[u8]) -> Result<Answer, Answer> {
    let patch: SpendControls = parse_body(body)?;
    let rec = state
        .cards
        .get_mut(id)
        .ok_or_else(|| Answer::error(404, "not_found", "no such card"))?;
    let mut controls = rec.card.spend_controls.clone().unwrap_or_default();
    if patch.per_authorization_max.is_some() {
        controls.per_authorization_max = patch.per_authorization_max;
    }
    if patch.daily_max.is_some() {
        controls.daily_max = patch.daily_max;
    }
    if patch.blocked_mcc.is_some() {
        controls.blocked_mcc = patch.blocked_mcc;
    }
    rec.card.spend_controls = Some(controls);
    Ok(Answer::json(200, &rec.card))
}

fn settlement(state: &SimState, date: &str) -> Result<Answer, Answer> {
    let date = parse_date(date).map_err(|e| Answer::error(400, "invalid_date", e))?;
    match state.settlements.get(&date) {
        Some(file) => Ok(Answer {
            status: 200,
            content_type: "text/csv; charset=utf-8",
            body: file.clone(),
        }),
        None => Err(Answer::error(
            404,
            error_code::NOT_READY,
            format!("no settlement file for {} yet", format_date(date)),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Controls
// ---------------------------------------------------------------------------------------------

fn sim(inner: Arc<Inner>) -> Simulator {
    // The control handlers use the same API as tests; the address is not needed for it.
    Simulator {
        inner,
        local_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        shutdown: Arc::new(tokio::sync::watch::channel(false).0),
    }
}

fn control_error(error: SimError) -> Response {
    let status = match error {
        SimError::NotFound(_) => StatusCode::NOT_FOUND,
        SimError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        SimError::Conflict(_) => StatusCode::CONFLICT,
    };
    (status, axum::Json(json!({"error": error.to_string()}))).into_response()
}

fn control<T: serde::Serialize>(result: Result<T, SimError>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(error) => control_error(error),
    }
}

/// A control request whose body does not parse.
struct BadBody(String);

impl IntoResponse for BadBody {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": format!("body: {}", self.0)})),
        )
            .into_response()
    }
}

fn control_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, BadBody> {
    serde_json::from_slice(body).map_err(|e| BadBody(e.to_string()))
}

async fn get_requests(State(inner): State<Arc<Inner>>) -> Response {
    axum::Json(sim(inner).requests()).into_response()
}

async fn delete_requests(State(inner): State<Arc<Inner>>) -> StatusCode {
    sim(inner).clear_requests();
    StatusCode::NO_CONTENT
}

async fn get_deliveries(State(inner): State<Arc<Inner>>) -> Response {
    axum::Json(sim(inner).deliveries()).into_response()
}

async fn get_emitted(State(inner): State<Arc<Inner>>) -> Response {
    axum::Json(sim(inner).emitted()).into_response()
}

async fn get_privacy(State(inner): State<Arc<Inner>>) -> Response {
    axum::Json(sim(inner).privacy_flags()).into_response()
}

async fn post_fault(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<FaultRule>(&body) {
        Ok(FaultRule {
            fault: Fault::Refuse { status, .. },
            ..
        }) if !(400..=499).contains(&status) => {
            Answer::error(400, "invalid_request", "a refusal is a 4xx").into_response(None)
        }
        Ok(rule) => {
            sim(inner).push_fault_rule(rule);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(bad) => bad.into_response(),
    }
}

async fn delete_faults(State(inner): State<Arc<Inner>>) -> StatusCode {
    sim(inner).clear_faults();
    StatusCode::NO_CONTENT
}

async fn get_webhook(State(inner): State<Arc<Inner>>) -> Response {
    axum::Json(sim(inner).webhook_settings()).into_response()
}

async fn post_webhook(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<WebhookSettings>(&body) {
        Ok(settings) => {
            let sim = sim(inner);
            sim.set_webhook_settings(settings);
            axum::Json(sim.webhook_settings()).into_response()
        }
        Err(bad) => bad.into_response(),
    }
}

async fn post_flush(State(inner): State<Arc<Inner>>) -> Response {
    axum::Json(json!({"order": sim(inner).flush_webhooks()})).into_response()
}

#[derive(Deserialize)]
struct WaitQuery {
    #[serde(default = "default_wait_ms")]
    timeout_ms: u64,
}
fn default_wait_ms() -> u64 {
    10_000
}

async fn post_wait(State(inner): State<Arc<Inner>>, Query(q): Query<WaitQuery>) -> Response {
    let idle = sim(inner).wait_for_deliveries(q.timeout_ms).await;
    axum::Json(json!({"idle": idle})).into_response()
}

async fn post_authorize(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<AuthorizeInput>(&body) {
        Ok(input) => control(sim(inner).authorize(input).await),
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct ClearInput {
    authorization_id: String,
    amount_minor: i64,
    #[serde(default = "yes", rename = "final")]
    is_final: bool,
}
fn yes() -> bool {
    true
}

async fn post_clear(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<ClearInput>(&body) {
        Ok(i) => control(
            sim(inner)
                .clear(&i.authorization_id, i.amount_minor, i.is_final)
                .map(|id| json!({"transaction_id": id})),
        ),
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct CardAmountInput {
    card_id: String,
    amount_minor: i64,
    #[serde(default = "merchant_canteen")]
    merchant: Merchant,
    #[serde(default)]
    original_transaction_id: Option<String>,
}

async fn post_force_post(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<CardAmountInput>(&body) {
        Ok(i) => control(
            sim(inner)
                .force_post(&i.card_id, i.amount_minor, i.merchant)
                .map(|id| json!({"transaction_id": id})),
        ),
        Err(bad) => bad.into_response(),
    }
}

async fn post_refund(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<CardAmountInput>(&body) {
        Ok(i) => control(
            sim(inner)
                .refund(
                    &i.card_id,
                    i.original_transaction_id.as_deref(),
                    i.amount_minor,
                    i.merchant,
                )
                .map(|id| json!({"transaction_id": id})),
        ),
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct AuthAmountInput {
    authorization_id: String,
    #[serde(default)]
    amount_minor: i64,
}

async fn post_reverse(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<AuthAmountInput>(&body) {
        Ok(i) => control(sim(inner).reverse(&i.authorization_id, i.amount_minor)),
        Err(bad) => bad.into_response(),
    }
}

async fn post_expire(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<AuthAmountInput>(&body) {
        Ok(i) => control(sim(inner).expire(&i.authorization_id)),
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct CardStateInput {
    card_id: String,
    state: CardState,
    #[serde(default)]
    reason: Option<String>,
}

async fn post_card_state(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<CardStateInput>(&body) {
        Ok(i) => control(sim(inner).processor_set_card_state(
            &i.card_id,
            i.state,
            i.reason.as_deref().unwrap_or("PROCESSOR_REVIEW"),
        )),
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct FundingInput {
    amount_minor: i64,
}

async fn post_funding(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match control_body::<FundingInput>(&body) {
        Ok(i) => control(
            sim(inner)
                .add_funding(i.amount_minor)
                .map(|balance| json!({"balance": balance})),
        ),
        Err(bad) => bad.into_response(),
    }
}

async fn post_close_day(State(inner): State<Arc<Inner>>, Path(date): Path<String>) -> Response {
    let date: Date = match parse_date(&date) {
        Ok(date) => date,
        Err(e) => return control_error(SimError::Invalid(e)),
    };
    control(sim(inner).close_settlement_day(date).map(|t| {
        json!({"settlement_date": format_date(t.settlement_date), "record_count": t.record_count,
               "net_minor": t.net_minor})
    }))
}

#[derive(Deserialize)]
struct ScenarioInput {
    card_id: String,
}

async fn post_scenario(
    State(inner): State<Arc<Inner>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let scenario: Scenario = match serde_json::from_value(Value::String(name)) {
        Ok(s) => s,
        Err(_) => return control_error(SimError::NotFound("no such scenario".into())),
    };
    match control_body::<ScenarioInput>(&body) {
        Ok(i) => control(sim(inner).run_scenario(scenario, &i.card_id).await),
        Err(bad) => bad.into_response(),
    }
}
