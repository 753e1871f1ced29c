//! The processor REST client (protocol section 2).
//!
//! Every request is first *prepared*: path and body are built and passed through the
//! [`EgressGuard`]; a refused request never leaves. The prepared request carries the
//! [`EgressRecord`], and the one function that sends (`execute`) writes it to the client's
//! [`EgressRegister`] once the processor's status is known: every request that leaves is
//! recorded, the outbox's calls and the reads (settlement files, funding, cards) alike. The
//! client never retries by itself: it classifies failures as transient or permanent, and
//! [`backoff_delay_ms`] says how long the outbox should wait.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use processor_protocol::{
    Card, Cardholder, CreateCardRequest, CreateCardholderRequest, ErrorBody, Funding,
    ReissueRequest, SetCardStateRequest, SpendControls, format_date, is_safe_id, is_token_1_64,
};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::Date;

use crate::egress::{EgressGuard, EgressRecord, EgressRegister, EgressViolation, body_bytes};

pub use reqwest::Method;

pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;
/// The processor answers within 10 s (section 2); a little more before we call it a timeout.
pub const DEFAULT_TOTAL_TIMEOUT_MS: u64 = 12_000;
/// Settlement files can be large; their download gets its own, longer budget.
pub const DEFAULT_SETTLEMENT_TIMEOUT_MS: u64 = 300_000;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://api.processor.example` (no trailing slash needed).
    pub base_url: String,
    pub api_key: String,
    /// The only `embossed_name` the egress guard lets through.
    pub program_card_name: String,
    pub connect_timeout_ms: u64,
    pub total_timeout_ms: u64,
    pub settlement_timeout_ms: u64,
}

impl ClientConfig {
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        program_card_name: impl Into<String>,
    ) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            api_key: api_key.into(),
            program_card_name: program_card_name.into(),
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            total_timeout_ms: DEFAULT_TOTAL_TIMEOUT_MS,
            settlement_timeout_ms: DEFAULT_SETTLEMENT_TIMEOUT_MS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The egress guard refused the request; nothing was sent.
    #[error("refused by the egress guard: {0}")]
    Refused(EgressViolation),
    /// A request we will not send (bad idempotency key, unsafe id); nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// 429, 5xx, timeout, connection failure or an unreadable answer: retry later with the same
    /// Idempotency-Key.
    #[error("transient failure ({reason})")]
    Transient {
        retry_after_ms: Option<u64>,
        status: Option<u16>,
        reason: String,
    },
    /// A 4xx answer: retrying the same request will not help.
    #[error("processor refused with {status} {code}: {message}")]
    Permanent {
        status: u16,
        code: String,
        message: String,
        existing_id: Option<String>,
    },
    /// The settlement file for that day does not exist yet.
    #[error("settlement file not ready")]
    NotReady,
}

impl ClientError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Transient { .. })
    }

    /// Stable code for logs and the outbox's failure record.
    pub fn code(&self) -> &str {
        match self {
            ClientError::Refused(violation) => violation.code(),
            ClientError::InvalidRequest(_) => "invalid_request",
            ClientError::Transient { .. } => "transient",
            ClientError::Permanent { code, .. } => code,
            ClientError::NotReady => "not_ready",
        }
    }

    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            ClientError::Transient { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }
}

/// A request that passed the egress guard, ready to send (and to send again on retry).
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    idempotency_key: Option<String>,
    egress: EgressRecord,
    /// Whose call it is (pseudonymous at the processor), for the egress register.
    person_id: Option<uuid::Uuid>,
}

impl PreparedRequest {
    /// Names the person the request concerns, for the register row.
    pub fn concerning(mut self, person_id: Option<uuid::Uuid>) -> PreparedRequest {
        self.person_id = person_id;
        self
    }
    pub fn egress(&self) -> &EgressRecord {
        &self.egress
    }
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
    pub fn method(&self) -> &Method {
        &self.method
    }
    pub fn path(&self) -> &str {
        &self.path
    }
}

#[derive(Debug, Clone)]
pub struct ProcessorClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    guard: EgressGuard,
    settlement_timeout_ms: u64,
    register: Arc<dyn EgressRegister>,
}

fn safe_id(kind: &str, id: &str) -> Result<(), ClientError> {
    if is_safe_id(id) {
        Ok(())
    } else {
        Err(ClientError::InvalidRequest(format!(
            "{kind} is not a safe identifier"
        )))
    }
}

/// Retry-After in whole seconds (the protocol's form); anything else is ignored.
pub fn parse_retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds: u64 = text.parse().ok()?;
    Some(seconds.saturating_mul(1000))
}

fn classify(status: u16, headers: &HeaderMap, body: &[u8], settlement: bool) -> ClientError {
    let retry_after_ms = parse_retry_after_ms(headers);
    if status == 429 || status == 408 || status >= 500 {
        return ClientError::Transient {
            retry_after_ms,
            status: Some(status),
            reason: format!("HTTP {status}"),
        };
    }
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    if settlement && status == 404 {
        return ClientError::NotReady;
    }
    match detail {
        Some(detail) => ClientError::Permanent {
            status,
            code: detail.code,
            message: detail.message,
            existing_id: detail.existing_id,
        },
        None => ClientError::Permanent {
            status,
            code: format!("http_{status}"),
            message: String::new(),
            existing_id: None,
        },
    }
}

fn transport(error: &reqwest::Error) -> ClientError {
    let reason = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    ClientError::Transient {
        retry_after_ms: None,
        status: None,
        reason: reason.to_owned(),
    }
}

impl ProcessorClient {
    /// A client whose every request is written to `register`.
    pub fn new(
        config: ClientConfig,
        register: Arc<dyn EgressRegister>,
    ) -> Result<ProcessorClient, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.total_timeout_ms))
            // A redirect would send the body somewhere the egress register does not name.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("saldo-card-adapter/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::InvalidRequest(format!("http client: {e}")))?;
        Ok(ProcessorClient {
            http,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            api_key: config.api_key,
            guard: EgressGuard::new(config.program_card_name),
            settlement_timeout_ms: config.settlement_timeout_ms,
            register,
        })
    }

    pub fn guard(&self) -> &EgressGuard {
        &self.guard
    }

    /// Where this client records what it sends (and the outbox what the guard refused).
    pub fn register(&self) -> &Arc<dyn EgressRegister> {
        &self.register
    }

    /// Builds and inspects any request. POST and PATCH need an idempotency key.
    pub fn prepare<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotency_key: Option<&str>,
        personal_values: &[String],
    ) -> Result<PreparedRequest, ClientError> {
        if method == Method::POST || method == Method::PATCH {
            match idempotency_key {
                None => {
                    return Err(ClientError::InvalidRequest(format!(
                        "{method} needs an Idempotency-Key"
                    )));
                }
                Some(key) if !is_token_1_64(key) => {
                    return Err(ClientError::InvalidRequest(
                        "Idempotency-Key must be 1..64 chars of [A-Za-z0-9_-]".to_owned(),
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(key) = idempotency_key {
            self.guard
                .check_text("Idempotency-Key", key, personal_values)
                .map_err(ClientError::Refused)?;
        }
        let value = match body {
            Some(body) => serde_json::to_value(body)
                .map_err(|e| ClientError::InvalidRequest(format!("body: {e}")))?,
            None => Value::Null,
        };
        let egress = self
            .guard
            .inspect(method.as_str(), path, &value, personal_values)
            .map_err(ClientError::Refused)?;
        let body = (!value.is_null()).then(|| body_bytes(&value));
        Ok(PreparedRequest {
            method,
            path: path.to_owned(),
            body,
            idempotency_key: idempotency_key.map(str::to_owned),
            egress,
            person_id: None,
        })
    }

    pub fn prepare_create_cardholder(
        &self,
        idempotency_key: &str,
        request: &CreateCardholderRequest,
        personal_values: &[String],
    ) -> Result<PreparedRequest, ClientError> {
        self.prepare(
            Method::POST,
            "/v1/cardholders",
            Some(request),
            Some(idempotency_key),
            personal_values,
        )
    }

    pub fn prepare_create_card(
        &self,
        idempotency_key: &str,
        request: &CreateCardRequest,
        personal_values: &[String],
    ) -> Result<PreparedRequest, ClientError> {
        self.prepare(
            Method::POST,
            "/v1/cards",
            Some(request),
            Some(idempotency_key),
            personal_values,
        )
    }

    pub fn prepare_get_card(&self, card_id: &str) -> Result<PreparedRequest, ClientError> {
        safe_id("card_id", card_id)?;
        self.prepare::<Value>(
            Method::GET,
            &format!("/v1/cards/{card_id}"),
            None,
            None,
            &[],
        )
    }

    pub fn prepare_set_card_state(
        &self,
        idempotency_key: &str,
        card_id: &str,
        request: &SetCardStateRequest,
        personal_values: &[String],
    ) -> Result<PreparedRequest, ClientError> {
        safe_id("card_id", card_id)?;
        self.prepare(
            Method::POST,
            &format!("/v1/cards/{card_id}/state"),
            Some(request),
            Some(idempotency_key),
            personal_values,
        )
    }

    pub fn prepare_reissue_card(
        &self,
        idempotency_key: &str,
        card_id: &str,
        request: &ReissueRequest,
    ) -> Result<PreparedRequest, ClientError> {
        safe_id("card_id", card_id)?;
        self.prepare(
            Method::POST,
            &format!("/v1/cards/{card_id}/reissue"),
            Some(request),
            Some(idempotency_key),
            &[],
        )
    }

    pub fn prepare_update_spend_controls(
        &self,
        idempotency_key: &str,
        card_id: &str,
        controls: &SpendControls,
    ) -> Result<PreparedRequest, ClientError> {
        safe_id("card_id", card_id)?;
        self.prepare(
            Method::PATCH,
            &format!("/v1/cards/{card_id}/spend_controls"),
            Some(controls),
            Some(idempotency_key),
            &[],
        )
    }

    pub fn prepare_get_funding(&self) -> Result<PreparedRequest, ClientError> {
        self.prepare::<Value>(Method::GET, "/v1/funding", None, None, &[])
    }

    pub fn prepare_get_settlement(&self, date: Date) -> Result<PreparedRequest, ClientError> {
        let path = format!("/v1/settlements/{}", format_date(date));
        self.prepare::<Value>(Method::GET, &path, None, None, &[])
    }

    async fn execute(
        &self,
        request: &PreparedRequest,
        timeout_ms: Option<u64>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = format!("{}{}", self.base_url, request.path);
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .bearer_auth(&self.api_key)
            .header(reqwest::header::ACCEPT, "application/json, text/csv");
        if let Some(key) = &request.idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(timeout_ms) = timeout_ms {
            builder = builder.timeout(Duration::from_millis(timeout_ms));
        }
        tracing::debug!(endpoint = %request.egress.endpoint(), "processor request");
        let sent = builder.send().await;
        // Recorded once the status is known, whatever it is: a read says which day or programme
        // we asked about, and a failed call was said all the same.
        let status = sent
            .as_ref()
            .ok()
            .map(|response| response.status().as_u16());
        if self
            .register
            .sent(&request.egress, request.person_id, status)
            .await
            .is_err()
        {
            // The request left without its row. Report it failed, so the outbox retries (with
            // the same key: harmless) and the retry is recorded; a read is asked again.
            tracing::error!(
                security_event = "egress_register_failed",
                endpoint = %request.egress.endpoint(),
                "a processor request was sent but could not be recorded in the egress register"
            );
            return Err(ClientError::Transient {
                retry_after_ms: None,
                status,
                reason: "egress register unavailable".to_owned(),
            });
        }
        sent.map_err(|e| transport(&e))
    }

    async fn fail(response: reqwest::Response, settlement: bool) -> ClientError {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // The error body is small; a failure to read it must not hide the status.
        let body = response.bytes().await.unwrap_or_default();
        let error = classify(status, &headers, &body, settlement);
        tracing::info!(status, code = error.code(), "processor request failed");
        error
    }

    /// Sends a prepared request and decodes a JSON answer.
    pub async fn send<T: DeserializeOwned>(
        &self,
        request: &PreparedRequest,
    ) -> Result<T, ClientError> {
        let response = self.execute(request, None).await?;
        if !response.status().is_success() {
            return Err(Self::fail(response, false).await);
        }
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| transport(&e))?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Transient {
            retry_after_ms: None,
            status: Some(status),
            reason: format!("unreadable answer: {e}"),
        })
    }

    pub async fn create_cardholder(
        &self,
        idempotency_key: &str,
        request: &CreateCardholderRequest,
        personal_values: &[String],
    ) -> Result<Cardholder, ClientError> {
        let prepared = self.prepare_create_cardholder(idempotency_key, request, personal_values)?;
        self.send(&prepared).await
    }

    pub async fn create_card(
        &self,
        idempotency_key: &str,
        request: &CreateCardRequest,
        personal_values: &[String],
    ) -> Result<Card, ClientError> {
        let prepared = self.prepare_create_card(idempotency_key, request, personal_values)?;
        self.send(&prepared).await
    }

    pub async fn get_card(&self, card_id: &str) -> Result<Card, ClientError> {
        let prepared = self.prepare_get_card(card_id)?;
        self.send(&prepared).await
    }

    pub async fn set_card_state(
        &self,
        idempotency_key: &str,
        card_id: &str,
        request: &SetCardStateRequest,
    ) -> Result<Card, ClientError> {
        let prepared = self.prepare_set_card_state(idempotency_key, card_id, request, &[])?;
        self.send(&prepared).await
    }

    pub async fn reissue_card(
        &self,
        idempotency_key: &str,
        card_id: &str,
        request: &ReissueRequest,
    ) -> Result<Card, ClientError> {
        let prepared = self.prepare_reissue_card(idempotency_key, card_id, request)?;
        self.send(&prepared).await
    }

    pub async fn update_spend_controls(
        &self,
        idempotency_key: &str,
        card_id: &str,
        controls: &SpendControls,
    ) -> Result<Card, ClientError> {
        let prepared = self.prepare_update_spend_controls(idempotency_key, card_id, controls)?;
        self.send(&prepared).await
    }

    pub async fn get_funding(&self) -> Result<Funding, ClientError> {
        let prepared = self.prepare_get_funding()?;
        self.send(&prepared).await
    }

    /// Opens the day's settlement file for streaming (feed the chunks to a
    /// [`processor_protocol::settlement::SettlementReader`] or to disk). `NotReady` before it exists.
    pub async fn open_settlement(&self, date: Date) -> Result<SettlementDownload, ClientError> {
        let prepared = self.prepare_get_settlement(date)?;
        let response = self
            .execute(&prepared, Some(self.settlement_timeout_ms))
            .await?;
        if !response.status().is_success() {
            return Err(Self::fail(response, true).await);
        }
        Ok(SettlementDownload {
            response,
            egress: prepared.egress,
        })
    }

    /// The whole settlement file in memory (small files, tests).
    pub async fn download_settlement(&self, date: Date) -> Result<Vec<u8>, ClientError> {
        let mut download = self.open_settlement(date).await?;
        let mut out = Vec::new();
        while let Some(chunk) = download.chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// A settlement file being received.
#[derive(Debug)]
pub struct SettlementDownload {
    response: reqwest::Response,
    egress: EgressRecord,
}

impl SettlementDownload {
    pub fn egress(&self) -> &EgressRecord {
        &self.egress
    }

    /// The next piece of the body; `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        self.response.chunk().await.map_err(|e| transport(&e))
    }
}

// ---------------------------------------------------------------------------------------------
// Backoff for the outbox worker
// ---------------------------------------------------------------------------------------------

pub const BACKOFF_BASE_MS: u64 = 500;
pub const BACKOFF_CAP_MS: u64 = 5 * 60 * 1000;
/// A Retry-After beyond this is treated as this: a broken header must not park the outbox.
pub const RETRY_AFTER_CAP_MS: u64 = 60 * 60 * 1000;

/// Delay before retry number `attempt` (0 for the first retry): exponential backoff with full
/// jitter, `jitter_source(ceiling)` giving a value in `0..=ceiling`, capped at
/// [`BACKOFF_CAP_MS`], and never earlier than the processor's Retry-After.
pub fn backoff_delay_ms(
    attempt: u32,
    retry_after_ms: Option<u64>,
    jitter_source: impl FnOnce(u64) -> u64,
) -> u64 {
    let exponential = 1u64
        .checked_shl(attempt.min(63))
        .and_then(|factor| BACKOFF_BASE_MS.checked_mul(factor))
        .unwrap_or(BACKOFF_CAP_MS);
    let ceiling = exponential.min(BACKOFF_CAP_MS);
    let jittered = jitter_source(ceiling).min(ceiling);
    match retry_after_ms {
        Some(retry_after) => jittered.max(retry_after.min(RETRY_AFTER_CAP_MS)),
        None => jittered,
    }
}

/// A uniformly random jitter in `0..=ceiling`, for production use of [`backoff_delay_ms`].
pub fn random_jitter(ceiling: u64) -> u64 {
    use rand::Rng;
    rand::rng().random_range(0..=ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let full = |ceiling: u64| ceiling;
        assert_eq!(backoff_delay_ms(0, None, full), 500);
        assert_eq!(backoff_delay_ms(1, None, full), 1000);
        assert_eq!(backoff_delay_ms(3, None, full), 4000);
        assert_eq!(backoff_delay_ms(20, None, full), BACKOFF_CAP_MS);
        assert_eq!(backoff_delay_ms(u32::MAX, None, full), BACKOFF_CAP_MS);
        // Full jitter: anything from zero to the ceiling, and a bad source is clamped.
        assert_eq!(backoff_delay_ms(3, None, |_| 0), 0);
        assert_eq!(backoff_delay_ms(3, None, |c| c / 2), 2000);
        assert_eq!(backoff_delay_ms(3, None, |_| u64::MAX), 4000);
        // Retry-After is a floor, itself capped.
        assert_eq!(backoff_delay_ms(0, Some(7000), full), 7000);
        assert_eq!(backoff_delay_ms(20, Some(7000), full), BACKOFF_CAP_MS);
        assert_eq!(
            backoff_delay_ms(0, Some(u64::MAX), |_| 0),
            RETRY_AFTER_CAP_MS
        );
        for attempt in 0..40 {
            let d = backoff_delay_ms(attempt, None, random_jitter);
            assert!(d <= BACKOFF_CAP_MS);
        }
    }

    #[test]
    fn classification() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            classify(429, &headers, b"", false).retry_after_ms(),
            Some(3000)
        );
        assert!(classify(503, &HeaderMap::new(), b"", false).is_transient());
        let conflict = classify(
            409,
            &HeaderMap::new(),
            br#"{"error":{"code":"cardholder_exists","message":"m","existing_id":"ch_1"}}"#,
            false,
        );
        assert_eq!(
            conflict,
            ClientError::Permanent {
                status: 409,
                code: "cardholder_exists".into(),
                message: "m".into(),
                existing_id: Some("ch_1".into())
            }
        );
        assert_eq!(
            classify(404, &HeaderMap::new(), b"", true),
            ClientError::NotReady
        );
        assert_eq!(
            classify(400, &HeaderMap::new(), b"<html>", false).code(),
            "http_400"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after_ms(&headers), None);
    }

    #[test]
    fn refused_and_invalid_requests_never_get_built() {
        let client = ProcessorClient::new(
            ClientConfig::new("http://127.0.0.1:9", "k", "PRISON SERVICE CARD"),
            Arc::new(crate::egress::NoEgressRegister),
        )
        .unwrap();
        let body = CreateCardholderRequest {
            first_name: Some(Value::String("Matti".into())),
            ..CreateCardholderRequest::pseudonymous(format!("p1_{}", "a".repeat(40)), "prison-fi")
        };
        let err = client
            .prepare_create_cardholder("key-1", &body, &[])
            .unwrap_err();
        assert_eq!(err.code(), "egress_personal_field");
        let ok = CreateCardholderRequest::pseudonymous(format!("p1_{}", "a".repeat(40)), "p");
        assert_eq!(
            client
                .prepare_create_cardholder("bad key!", &ok, &[])
                .unwrap_err()
                .code(),
            "invalid_request"
        );
        assert!(
            client
                .prepare::<Value>(Method::POST, "/v1/x", None, None, &[])
                .is_err()
        );
        assert!(client.prepare_get_card("../funding").is_err());
        let prepared = client.prepare_create_cardholder("key-1", &ok, &[]).unwrap();
        assert_eq!(prepared.idempotency_key(), Some("key-1"));
        assert_eq!(prepared.egress().endpoint(), "POST /v1/cardholders");
    }
}
