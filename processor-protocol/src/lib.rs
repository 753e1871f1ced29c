//! The card processor's protocol, version 1 (`shared/processor-spec/PROTOCOL.md`), as both
//! sides speak it: Saldo's adapter (`card-adapter`) and the simulator (`processor-sim`).
//!
//! Everything that crosses the boundary in either direction has a type here: webhook envelopes
//! and events (3.2-3.9), the synchronous authorization answer (3.3) and REST bodies (section 2);
//! [`settlement`] reads and writes the settlement CSV (section 4) and [`signature`] signs and
//! verifies webhooks (3.1). Amounts are `i64` minor units and currencies ISO 4217 codes; there
//! are no floats. Validating newtypes (`CurrencyCode`, `Mcc`, `Country`) make serde reject
//! malformed values with a message that names the field; extra unknown fields are accepted so
//! the processor can add fields without breaking us. Nothing here touches a database or a
//! network: the crate is the vocabulary, not a client or a server.
//!
//! Two words of the wire are also the spending controls' own, and have one type each, in the
//! ledger, used here as they are: how the card was presented (`ledger::controls::Channel`) and
//! the decline code of an answer (`ledger::controls::DeclineCode`).

pub mod settlement;
pub mod signature;

use std::fmt;

use ledger::controls::{Channel, DeclineCode};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::macros::format_description;
use time::serde::rfc3339;
use time::{Date, OffsetDateTime};

/// Longest identifier we accept from the processor; ids are opaque but never huge.
pub const MAX_ID_LEN: usize = 255;

// ---------------------------------------------------------------------------------------------
// Small validated values
// ---------------------------------------------------------------------------------------------

/// A currency as the wire writes it: any ISO 4217 alpha-3 code in upper case (`"EUR"`).
///
/// Deliberately not `ledger::Currency`, Saldo's closed list of the currencies it keeps books
/// in: the processor may send a well-formed code Saldo does not know, and that is not a
/// malformed message. The adapter answers it where the money would be booked: an authorization
/// request is declined (`OTHER`, reason `currency_not_supported`), any other event is refused
/// with 422 `currency_not_supported`, and reconciliation refuses a settlement file whose
/// currency is unknown. Refusing the code at parse time would change those answers, so this
/// type checks the shape and `ledger::Currency::from_code` checks the list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn new(code: &str) -> Result<CurrencyCode, String> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(CurrencyCode(code.to_owned()))
        } else {
            Err(format!(
                "currency must be an ISO 4217 alpha-3 code in upper case, got {code:?}"
            ))
        }
    }
    pub fn eur() -> CurrencyCode {
        CurrencyCode("EUR".to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CurrencyCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CurrencyCode::new(&value)
    }
}
impl From<CurrencyCode> for String {
    fn from(value: CurrencyCode) -> String {
        value.0
    }
}
impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Merchant category code: exactly four ASCII digits, kept as a string (`"0742"` is valid).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mcc(String);

impl Mcc {
    pub fn new(code: &str) -> Result<Mcc, String> {
        if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Mcc(code.to_owned()))
        } else {
            Err(format!("mcc must be a 4-digit string, got {code:?}"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Mcc {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Mcc::new(&value)
    }
}
impl From<Mcc> for String {
    fn from(value: Mcc) -> String {
        value.0
    }
}
impl fmt::Display for Mcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(String);

impl Country {
    pub fn new(code: &str) -> Result<Country, String> {
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Country(code.to_owned()))
        } else {
            Err(format!(
                "country must be an ISO 3166-1 alpha-2 code in upper case, got {code:?}"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Country {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Country::new(&value)
    }
}
impl From<Country> for String {
    fn from(value: Country) -> String {
        value.0
    }
}

/// `true` for the protocol's `1..64 chars of [A-Za-z0-9_-]` (idempotency keys, external_ref).
pub fn is_token_1_64(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `true` for an opaque processor id we are willing to put into a URL path.
pub fn is_safe_id(value: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Serde helpers: amounts that must not be negative, ids that must not be empty.
mod checked {
    use super::*;

    pub fn non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let amount = i64::deserialize(d)?;
        if amount < 0 {
            return Err(D::Error::custom(format!(
                "amount must not be negative, got {amount}"
            )));
        }
        Ok(amount)
    }

    pub fn opt_non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<i64>::deserialize(d)? {
            Some(amount) if amount < 0 => Err(D::Error::custom(format!(
                "amount must not be negative, got {amount}"
            ))),
            other => Ok(other),
        }
    }

    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let id = String::deserialize(d)?;
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Err(D::Error::custom(format!(
                "identifier must be 1..={MAX_ID_LEN} characters"
            )));
        }
        Ok(id)
    }

    /// At most `MAX_ID_LEN` characters, possibly empty (for the controls to decline).
    pub fn bounded_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let id = String::deserialize(d)?;
        if id.len() > MAX_ID_LEN {
            return Err(D::Error::custom(format!(
                "identifier must be at most {MAX_ID_LEN} characters"
            )));
        }
        Ok(id)
    }

    pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(id) if id.is_empty() || id.len() > MAX_ID_LEN => Err(D::Error::custom(format!(
                "identifier must be null or 1..={MAX_ID_LEN} characters"
            ))),
            other => Ok(other),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Common objects (3.2)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    #[serde(deserialize_with = "checked::id")]
    pub id: String,
    pub name: String,
    pub mcc: Mcc,
    pub city: String,
    pub country: Country,
}

/// The merchant of an authorization request (3.3) as the processor sent it, shape unchecked: a
/// malformed MCC, country or an empty id is the spending controls' to decline (`invalid_request`,
/// docs/controls.md), as a decision on record, rather than a message refused with nothing kept.
/// Every other event carries a checked [`Merchant`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMerchant {
    #[serde(deserialize_with = "checked::bounded_id")]
    pub id: String,
    pub name: String,
    pub mcc: String,
    pub city: String,
    pub country: String,
}

impl From<Merchant> for RequestMerchant {
    fn from(merchant: Merchant) -> RequestMerchant {
        RequestMerchant {
            id: merchant.id,
            name: merchant.name,
            mcc: merchant.mcc.into(),
            city: merchant.city,
            country: merchant.country.into(),
        }
    }
}

impl TryFrom<RequestMerchant> for Merchant {
    type Error = String;
    fn try_from(merchant: RequestMerchant) -> Result<Merchant, String> {
        if merchant.id.is_empty() {
            return Err("merchant id must not be empty".into());
        }
        Ok(Merchant {
            id: merchant.id,
            name: merchant.name,
            mcc: Mcc::new(&merchant.mcc)?,
            city: merchant.city,
            country: Country::new(&merchant.country)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CardState {
    Inactive,
    Active,
    Paused,
    Closed,
}

impl CardState {
    pub fn as_str(self) -> &'static str {
        match self {
            CardState::Inactive => "INACTIVE",
            CardState::Active => "ACTIVE",
            CardState::Paused => "PAUSED",
            CardState::Closed => "CLOSED",
        }
    }

    /// The protocol's state machine (2.2). Setting the same state is a no-op and allowed;
    /// `CLOSED` is terminal.
    pub fn can_become(self, next: CardState) -> bool {
        use CardState::*;
        matches!(
            (self, next),
            (Inactive, Inactive)
                | (Active, Active)
                | (Paused, Paused)
                | (Closed, Closed)
                | (Inactive, Active)
                | (Active, Paused)
                | (Paused, Active)
                | (Inactive, Closed)
                | (Active, Closed)
                | (Paused, Closed)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook events (3.3 - 3.9)
// ---------------------------------------------------------------------------------------------

/// The event type strings of protocol v1.
pub mod event_type {
    pub const AUTHORIZATION_REQUEST: &str = "authorization.request";
    pub const AUTHORIZATION_ADVICE: &str = "authorization.advice";
    pub const AUTHORIZATION_REVERSAL: &str = "authorization.reversal";
    pub const AUTHORIZATION_EXPIRED: &str = "authorization.expired";
    pub const TRANSACTION_CLEARING: &str = "transaction.clearing";
    pub const TRANSACTION_REFUND: &str = "transaction.refund";
    pub const CARD_STATE_CHANGED: &str = "card.state_changed";
}

/// `authorization.request` data (3.3); also the common part of an advice (3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    #[serde(deserialize_with = "checked::id")]
    pub authorization_id: String,
    #[serde(deserialize_with = "checked::id")]
    pub card_id: String,
    #[serde(deserialize_with = "checked::id")]
    pub cardholder_id: String,
    /// Amount in the card's currency, minor units. For an incremental authorization: the increase.
    #[serde(deserialize_with = "checked::non_negative")]
    pub amount: i64,
    pub currency: CurrencyCode,
    #[serde(deserialize_with = "checked::non_negative")]
    pub merchant_amount: i64,
    pub merchant_currency: CurrencyCode,
    pub merchant: RequestMerchant,
    pub channel: Channel,
    /// Absent means not capable: the fail-safe reading.
    #[serde(default)]
    pub partial_approval_capable: bool,
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub parent_authorization_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    Approve,
    Decline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdviceReason {
    StandIn,
    Timeout,
    ProcessorRule,
}

/// `authorization.advice` data (3.4): a decision the processor made without us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationAdvice {
    #[serde(flatten)]
    pub authorization: AuthorizationRequest,
    pub decision: Decision,
    /// Omitted on an approval means the full amount (as in the 3.3 answer).
    #[serde(
        default,
        deserialize_with = "checked::opt_non_negative",
        skip_serializing_if = "Option::is_none"
    )]
    pub approved_amount: Option<i64>,
    pub reason: AdviceReason,
}

impl AuthorizationAdvice {
    /// What the processor approved, minor units: 0 for a decline.
    pub fn approved_amount_minor(&self) -> i64 {
        match self.decision {
            Decision::Decline => 0,
            Decision::Approve => self.approved_amount.unwrap_or(self.authorization.amount),
        }
    }
}

/// `authorization.reversal` data (3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationReversal {
    #[serde(deserialize_with = "checked::id")]
    pub authorization_id: String,
    #[serde(deserialize_with = "checked::id")]
    pub card_id: String,
    #[serde(deserialize_with = "checked::non_negative")]
    pub amount: i64,
    pub currency: CurrencyCode,
}

/// `authorization.expired` data (3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationExpired {
    #[serde(deserialize_with = "checked::id")]
    pub authorization_id: String,
    #[serde(deserialize_with = "checked::id")]
    pub card_id: String,
}

/// `transaction.clearing` data (3.7). `authorization_id: None` is a force post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionClearing {
    #[serde(deserialize_with = "checked::id")]
    pub transaction_id: String,
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub authorization_id: Option<String>,
    #[serde(deserialize_with = "checked::id")]
    pub card_id: String,
    #[serde(deserialize_with = "checked::non_negative")]
    pub amount: i64,
    pub currency: CurrencyCode,
    pub merchant: Merchant,
    #[serde(with = "rfc3339")]
    pub cleared_at: OffsetDateTime,
    /// Required: guessing `true` would release a hold that later parts still clear against.
    #[serde(rename = "final")]
    pub is_final: bool,
}

impl TransactionClearing {
    pub fn is_force_post(&self) -> bool {
        self.authorization_id.is_none()
    }
}

/// `transaction.refund` data (3.8): money back to the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRefund {
    #[serde(deserialize_with = "checked::id")]
    pub transaction_id: String,
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub original_transaction_id: Option<String>,
    #[serde(deserialize_with = "checked::id")]
    pub card_id: String,
    #[serde(deserialize_with = "checked::non_negative")]
    pub amount: i64,
    pub currency: CurrencyCode,
    pub merchant: Merchant,
    #[serde(with = "rfc3339")]
    pub cleared_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangedBy {
    Processor,
    Api,
}

/// `card.state_changed` data (3.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardStateChanged {
    #[serde(deserialize_with = "checked::id")]
    pub card_id: String,
    pub state: CardState,
    pub previous_state: CardState,
    #[serde(default)]
    pub reason: Option<String>,
    pub changed_by: ChangedBy,
}

/// One webhook event, typed by its `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    AuthorizationRequest(AuthorizationRequest),
    AuthorizationAdvice(AuthorizationAdvice),
    AuthorizationReversal(AuthorizationReversal),
    AuthorizationExpired(AuthorizationExpired),
    TransactionClearing(TransactionClearing),
    TransactionRefund(TransactionRefund),
    CardStateChanged(CardStateChanged),
    /// A type this version does not know: acknowledged and recorded, not acted on.
    Unknown {
        event_type: String,
        data: serde_json::Value,
    },
}

impl WebhookEvent {
    pub fn event_type(&self) -> &str {
        use event_type::*;
        match self {
            WebhookEvent::AuthorizationRequest(_) => AUTHORIZATION_REQUEST,
            WebhookEvent::AuthorizationAdvice(_) => AUTHORIZATION_ADVICE,
            WebhookEvent::AuthorizationReversal(_) => AUTHORIZATION_REVERSAL,
            WebhookEvent::AuthorizationExpired(_) => AUTHORIZATION_EXPIRED,
            WebhookEvent::TransactionClearing(_) => TRANSACTION_CLEARING,
            WebhookEvent::TransactionRefund(_) => TRANSACTION_REFUND,
            WebhookEvent::CardStateChanged(_) => CARD_STATE_CHANGED,
            WebhookEvent::Unknown { event_type, .. } => event_type,
        }
    }

    /// The authorization this event is about, if any (the inbox deduplicates and orders on it).
    pub fn authorization_id(&self) -> Option<&str> {
        match self {
            WebhookEvent::AuthorizationRequest(d) => Some(&d.authorization_id),
            WebhookEvent::AuthorizationAdvice(d) => Some(&d.authorization.authorization_id),
            WebhookEvent::AuthorizationReversal(d) => Some(&d.authorization_id),
            WebhookEvent::AuthorizationExpired(d) => Some(&d.authorization_id),
            WebhookEvent::TransactionClearing(d) => d.authorization_id.as_deref(),
            WebhookEvent::TransactionRefund(_)
            | WebhookEvent::CardStateChanged(_)
            | WebhookEvent::Unknown { .. } => None,
        }
    }

    pub fn card_id(&self) -> Option<&str> {
        match self {
            WebhookEvent::AuthorizationRequest(d) => Some(&d.card_id),
            WebhookEvent::AuthorizationAdvice(d) => Some(&d.authorization.card_id),
            WebhookEvent::AuthorizationReversal(d) => Some(&d.card_id),
            WebhookEvent::AuthorizationExpired(d) => Some(&d.card_id),
            WebhookEvent::TransactionClearing(d) => Some(&d.card_id),
            WebhookEvent::TransactionRefund(d) => Some(&d.card_id),
            WebhookEvent::CardStateChanged(d) => Some(&d.card_id),
            WebhookEvent::Unknown { .. } => None,
        }
    }

    fn data_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            WebhookEvent::AuthorizationRequest(d) => serde_json::to_value(d),
            WebhookEvent::AuthorizationAdvice(d) => serde_json::to_value(d),
            WebhookEvent::AuthorizationReversal(d) => serde_json::to_value(d),
            WebhookEvent::AuthorizationExpired(d) => serde_json::to_value(d),
            WebhookEvent::TransactionClearing(d) => serde_json::to_value(d),
            WebhookEvent::TransactionRefund(d) => serde_json::to_value(d),
            WebhookEvent::CardStateChanged(d) => serde_json::to_value(d),
            WebhookEvent::Unknown { data, .. } => Ok(data.clone()),
        }
    }
}

/// The webhook envelope `{"type", "timestamp", "data"}` (3.2).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEnvelope {
    pub timestamp: OffsetDateTime,
    pub event: WebhookEvent,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("webhook body is not a valid envelope: {0}")]
    Envelope(serde_json::Error),
    #[error("{event_type} data is malformed: {source}")]
    Data {
        event_type: String,
        source: serde_json::Error,
    },
}

impl EnvelopeError {
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Envelope(_) => "malformed_envelope",
            EnvelopeError::Data { .. } => "malformed_event_data",
        }
    }
}

/// U+0000 is valid JSON (escaped) but no PostgreSQL text or jsonb value can hold it, so a
/// careless processor's NUL would leave an authentic message unrecordable: answered 5xx,
/// redelivered for 72 hours, its money never booked. It becomes U+FFFD, the replacement
/// character, the same way on every delivery; the inbox keeps the raw body as it came.
fn replace_nul(text: &mut String) {
    if text.contains('\0') {
        *text = text.replace('\0', "\u{FFFD}");
    }
}

fn replace_nul_in(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => replace_nul(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(replace_nul_in),
        serde_json::Value::Object(fields) => {
            // Keys are only matched against the protocol's field names, never stored.
            fields.values_mut().for_each(replace_nul_in)
        }
        _ => {}
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(with = "rfc3339")]
    timestamp: OffsetDateTime,
    data: serde_json::Value,
}

impl WebhookEnvelope {
    pub fn new(event: WebhookEvent, timestamp: OffsetDateTime) -> WebhookEnvelope {
        WebhookEnvelope { timestamp, event }
    }

    /// Parses a raw webhook body. Known types must have well-formed data; unknown types become
    /// [`WebhookEvent::Unknown`].
    pub fn from_slice(raw_body: &[u8]) -> Result<WebhookEnvelope, EnvelopeError> {
        let mut raw: RawEnvelope =
            serde_json::from_slice(raw_body).map_err(EnvelopeError::Envelope)?;
        if raw_body.windows(6).any(|window| window == b"\\u0000") {
            replace_nul(&mut raw.event_type);
            replace_nul_in(&mut raw.data);
        }
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawEnvelope) -> Result<WebhookEnvelope, EnvelopeError> {
        use event_type::*;
        fn data<T: serde::de::DeserializeOwned>(
            event_type: &str,
            value: serde_json::Value,
        ) -> Result<T, EnvelopeError> {
            serde_json::from_value(value).map_err(|source| EnvelopeError::Data {
                event_type: event_type.to_owned(),
                source,
            })
        }
        let t = raw.event_type.as_str();
        let event = match t {
            AUTHORIZATION_REQUEST => WebhookEvent::AuthorizationRequest(data(t, raw.data)?),
            AUTHORIZATION_ADVICE => WebhookEvent::AuthorizationAdvice(data(t, raw.data)?),
            AUTHORIZATION_REVERSAL => WebhookEvent::AuthorizationReversal(data(t, raw.data)?),
            AUTHORIZATION_EXPIRED => WebhookEvent::AuthorizationExpired(data(t, raw.data)?),
            TRANSACTION_CLEARING => WebhookEvent::TransactionClearing(data(t, raw.data)?),
            TRANSACTION_REFUND => WebhookEvent::TransactionRefund(data(t, raw.data)?),
            CARD_STATE_CHANGED => WebhookEvent::CardStateChanged(data(t, raw.data)?),
            _ => {
                if raw.event_type.is_empty() {
                    return Err(EnvelopeError::Envelope(serde_json::Error::custom(
                        "type must not be empty",
                    )));
                }
                WebhookEvent::Unknown {
                    event_type: raw.event_type,
                    data: raw.data,
                }
            }
        };
        Ok(WebhookEnvelope {
            timestamp: raw.timestamp,
            event,
        })
    }

    pub fn to_vec(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

impl Serialize for WebhookEnvelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let data = self.event.data_value().map_err(serde::ser::Error::custom)?;
        let timestamp = self
            .timestamp
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(serde::ser::Error::custom)?;
        let mut s = serializer.serialize_struct("WebhookEnvelope", 3)?;
        s.serialize_field("type", self.event.event_type())?;
        s.serialize_field("timestamp", &timestamp)?;
        s.serialize_field("data", &data)?;
        s.end()
    }
}

impl<'de> Deserialize<'de> for WebhookEnvelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawEnvelope::deserialize(deserializer)?;
        WebhookEnvelope::from_raw(raw).map_err(D::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// The synchronous authorization answer (3.3)
// ---------------------------------------------------------------------------------------------

/// Our `200` answer to `authorization.request`. Unknown extra fields are ignored when parsed,
/// as everywhere in this module; unknown decisions or reasons are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationResponse {
    pub decision: Decision,
    /// Omitted means the full amount on an approval.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "checked::opt_non_negative"
    )]
    pub approved_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<DeclineCode>,
}

impl AuthorizationResponse {
    pub fn approve(amount_minor: i64) -> AuthorizationResponse {
        AuthorizationResponse {
            decision: Decision::Approve,
            approved_amount: Some(amount_minor),
            decline_reason: None,
        }
    }

    /// A decline says `approved_amount: 0` explicitly: "omitted" would read as the full amount.
    pub fn decline(reason: DeclineCode) -> AuthorizationResponse {
        AuthorizationResponse {
            decision: Decision::Decline,
            approved_amount: Some(0),
            decline_reason: Some(reason),
        }
    }

    /// Checks an answer against its request the way the processor must, and gives the approved
    /// amount (0 for a decline). A partial approval to a request that is not partial-capable,
    /// more than asked, a zero approval or a decline without reason is malformed.
    pub fn approved_amount_for(&self, request: &AuthorizationRequest) -> Result<i64, String> {
        match self.decision {
            Decision::Decline => {
                if self.decline_reason.is_none() {
                    return Err("a decline must carry decline_reason".to_owned());
                }
                if self.approved_amount.is_some_and(|a| a != 0) {
                    return Err("a decline must not approve an amount".to_owned());
                }
                Ok(0)
            }
            Decision::Approve => {
                if self.decline_reason.is_some() {
                    return Err("an approval must not carry decline_reason".to_owned());
                }
                let approved = self.approved_amount.unwrap_or(request.amount);
                if approved > request.amount {
                    return Err(format!(
                        "approved_amount {approved} exceeds the requested {}",
                        request.amount
                    ));
                }
                if approved < request.amount && !request.partial_approval_capable {
                    return Err(
                        "partial approval to a request that is not partial_approval_capable"
                            .to_owned(),
                    );
                }
                if approved == 0 && request.amount > 0 {
                    return Err("an approval of 0 is not an approval".to_owned());
                }
                Ok(approved)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// REST bodies (section 2)
// ---------------------------------------------------------------------------------------------

/// `POST /v1/cardholders` body. The personal fields exist in the processor's API and are modelled
/// so the simulator can detect them; this program always leaves them `None` (section 1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateCardholderRequest {
    pub external_ref: String,
    pub program: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

impl CreateCardholderRequest {
    /// The only shape this program sends.
    pub fn pseudonymous(external_ref: impl Into<String>, program: impl Into<String>) -> Self {
        CreateCardholderRequest {
            external_ref: external_ref.into(),
            program: program.into(),
            ..Default::default()
        }
    }

    /// Names of personal fields present in the body (section 1 forbids all of them).
    pub fn personal_fields_present(&self) -> Vec<&'static str> {
        let mut present = Vec::new();
        for (name, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("date_of_birth", &self.date_of_birth),
            ("email", &self.email),
            ("phone", &self.phone),
            ("address", &self.address),
        ] {
            if value.is_some() {
                present.push(name);
            }
        }
        present
    }
}

/// The cardholder personal field names of section 1.
pub const PERSONAL_FIELDS: [&str; 6] = [
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "address",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cardholder {
    #[serde(deserialize_with = "checked::id")]
    pub id: String,
    pub external_ref: String,
    pub program: String,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CardForm {
    Physical,
    Virtual,
}

/// The processor's own fence (2.2). `None` means no limit of that kind. As a PATCH body, fields
/// left `None` are unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendControls {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "checked::opt_non_negative"
    )]
    pub per_authorization_max: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "checked::opt_non_negative"
    )]
    pub daily_max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_mcc: Option<Vec<Mcc>>,
}

/// `embossed_name`: at most 24 characters of `[A-Z ]` (2.2).
pub fn is_valid_embossed_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 24
        && name.bytes().all(|b| b.is_ascii_uppercase() || b == b' ')
}

/// `POST /v1/cards` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCardRequest {
    pub cardholder_id: String,
    pub form: CardForm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embossed_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_controls: Option<SpendControls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// The card object. The full card number never reaches us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    #[serde(deserialize_with = "checked::id")]
    pub id: String,
    #[serde(deserialize_with = "checked::id")]
    pub cardholder_id: String,
    pub form: CardForm,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub state: CardState,
    #[serde(default)]
    pub spend_controls: Option<SpendControls>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `POST /v1/cards/{card_id}/state` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetCardStateRequest {
    pub state: CardState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why a card is replaced (2.2): the processor's closed list, and the one type for it (Saldo's
/// staff choose one, the outbox sends it, the simulator reads it). `Lost` and `Stolen` close the
/// old card at once; the others keep it usable until the new one is activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReissueReason {
    Lost,
    Stolen,
    Damaged,
    Expired,
}

impl ReissueReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ReissueReason::Lost => "LOST",
            ReissueReason::Stolen => "STOLEN",
            ReissueReason::Damaged => "DAMAGED",
            ReissueReason::Expired => "EXPIRED",
        }
    }

    /// LOST and STOLEN cards are closed at once; others stay usable until the new card is active.
    pub fn closes_old_card_at_once(self) -> bool {
        matches!(self, ReissueReason::Lost | ReissueReason::Stolen)
    }
}

/// `POST /v1/cards/{card_id}/reissue` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReissueRequest {
    pub reason: ReissueReason,
}

/// `GET /v1/funding` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funding {
    pub balance: i64,
    pub currency: CurrencyCode,
    #[serde(with = "rfc3339")]
    pub as_of: OffsetDateTime,
}

/// `{"error": {"code", "message", "existing_id"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                existing_id: None,
            },
        }
    }
}

/// The REST error codes the protocol names.
pub mod error_code {
    pub const IDEMPOTENCY_CONFLICT: &str = "idempotency_conflict";
    pub const CARDHOLDER_EXISTS: &str = "cardholder_exists";
    pub const INVALID_STATE_TRANSITION: &str = "invalid_state_transition";
    pub const NOT_READY: &str = "not_ready";
}

const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// Parses `YYYY-MM-DD`.
pub fn parse_date(value: &str) -> Result<Date, String> {
    if value.len() != 10 {
        return Err(format!("date must be YYYY-MM-DD, got {value:?}"));
    }
    Date::parse(value, DATE_FORMAT).map_err(|e| format!("date must be YYYY-MM-DD ({e})"))
}

pub fn format_date(date: Date) -> String {
    // `[year]` of a real settlement date always formats; fall back to Display just in case.
    date.format(DATE_FORMAT)
        .unwrap_or_else(|_| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn merchant() -> serde_json::Value {
        json!({"id": "m_canteen_01", "name": "CANTEEN HML", "mcc": "5411", "city": "HAMEENLINNA", "country": "FI"})
    }

    fn auth_data() -> serde_json::Value {
        json!({"authorization_id": "auth_1", "card_id": "card_1", "cardholder_id": "ch_1",
               "amount": 1250, "currency": "EUR", "merchant_amount": 1250, "merchant_currency": "EUR",
               "merchant": merchant(), "channel": "POS", "partial_approval_capable": false,
               "parent_authorization_id": null})
    }

    fn envelope(event_type: &str, data: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"type": event_type, "timestamp": "2026-11-26T10:15:02Z", "data": data}),
        )
        .unwrap()
    }

    /// Found by the `webhook_envelope` fuzz target: an unknown event's data holding a number too
    /// big for an integer came back one bit off when written again (serde_json's fast float
    /// parsing); the workspace reads floats exactly (`float_roundtrip`).
    #[test]
    fn an_unknown_events_numbers_survive_a_round_trip() {
        let body = br#"{"type": "transaction.clearin-", "timestamp": "2026-11-26T10:15:02Z", "data": {"amount": 9999999999999999999999999999999999999999999999999999999999999999999999999999991250, "small": 0.1, "tiny": 5e-324}}"#;
        let parsed = WebhookEnvelope::from_slice(body).unwrap();
        assert!(matches!(parsed.event, WebhookEvent::Unknown { .. }));
        let again = WebhookEnvelope::from_slice(&parsed.to_vec().unwrap()).unwrap();
        assert_eq!(again, parsed);
    }

    #[test]
    fn a_nul_character_in_any_text_becomes_the_replacement_character() {
        let mut data = auth_data();
        data["merchant"]["name"] = json!("CANT\u{0}EEN");
        data["authorization_id"] = json!("auth_\u{0}");
        let parsed = WebhookEnvelope::from_slice(&envelope("authorization.request", data)).unwrap();
        let WebhookEvent::AuthorizationRequest(request) = &parsed.event else {
            panic!("not a request: {parsed:?}");
        };
        assert_eq!(request.merchant.name, "CANT\u{FFFD}EEN");
        assert_eq!(request.authorization_id, "auth_\u{FFFD}");
        let unknown = WebhookEnvelope::from_slice(&envelope("x.\u{0}", json!({}))).unwrap();
        assert_eq!(unknown.event.event_type(), "x.\u{FFFD}");
    }

    #[test]
    fn parses_every_event_type() {
        let mut advice = auth_data();
        advice["decision"] = json!("APPROVE");
        advice["approved_amount"] = json!(1000);
        advice["reason"] = json!("STAND_IN");
        let cases = [
            ("authorization.request", auth_data()),
            ("authorization.advice", advice),
            (
                "authorization.reversal",
                json!({"authorization_id": "auth_1", "card_id": "card_1", "amount": 250, "currency": "EUR"}),
            ),
            (
                "authorization.expired",
                json!({"authorization_id": "auth_1", "card_id": "card_1"}),
            ),
            (
                "transaction.clearing",
                json!({"transaction_id": "txn_1", "authorization_id": null, "card_id": "card_1",
                       "amount": 700, "currency": "EUR", "merchant": merchant(),
                       "cleared_at": "2026-11-26T10:15:02Z", "final": true}),
            ),
            (
                "transaction.refund",
                json!({"transaction_id": "txn_2", "original_transaction_id": "txn_1", "card_id": "card_1",
                       "amount": 700, "currency": "EUR", "merchant": merchant(),
                       "cleared_at": "2026-11-26T10:15:02Z"}),
            ),
            (
                "card.state_changed",
                json!({"card_id": "card_1", "state": "PAUSED", "previous_state": "ACTIVE",
                       "reason": "fraud review", "changed_by": "PROCESSOR"}),
            ),
        ];
        for (event_type, data) in cases {
            let parsed = WebhookEnvelope::from_slice(&envelope(event_type, data)).unwrap();
            assert_eq!(parsed.event.event_type(), event_type);
            assert!(!matches!(parsed.event, WebhookEvent::Unknown { .. }));
            assert_eq!(parsed.timestamp, datetime!(2026-11-26 10:15:02 UTC));
            // Round trip: what we serialize parses back to the same value.
            let again = WebhookEnvelope::from_slice(&parsed.to_vec().unwrap()).unwrap();
            assert_eq!(again, parsed);
        }
    }

    #[test]
    fn advice_and_clearing_details() {
        let mut advice = auth_data();
        advice["decision"] = json!("APPROVE");
        advice["reason"] = json!("STAND_IN");
        let parsed =
            WebhookEnvelope::from_slice(&envelope("authorization.advice", advice)).unwrap();
        let WebhookEvent::AuthorizationAdvice(advice) = parsed.event else {
            panic!("not an advice");
        };
        // Omitted approved_amount on an approval means the full amount.
        assert_eq!(advice.approved_amount_minor(), 1250);
        assert_eq!(advice.reason, AdviceReason::StandIn);

        let clearing = json!({"transaction_id": "txn_1", "card_id": "card_1",
               "amount": 700, "currency": "EUR", "merchant": merchant(),
               "cleared_at": "2026-11-26T10:15:02Z", "final": false});
        let parsed =
            WebhookEnvelope::from_slice(&envelope("transaction.clearing", clearing)).unwrap();
        let WebhookEvent::TransactionClearing(c) = parsed.event else {
            panic!("not a clearing");
        };
        assert!(c.is_force_post());
        assert!(!c.is_final);
    }

    #[test]
    fn unknown_types_are_kept_not_rejected() {
        let parsed =
            WebhookEnvelope::from_slice(&envelope("dispute.opened", json!({"x": 1}))).unwrap();
        assert_eq!(
            parsed.event,
            WebhookEvent::Unknown {
                event_type: "dispute.opened".into(),
                data: json!({"x": 1})
            }
        );
        assert_eq!(parsed.event.event_type(), "dispute.opened");
    }

    #[test]
    fn malformed_payloads_are_rejected_with_clear_errors() {
        let mut negative = auth_data();
        negative["amount"] = json!(-5);
        let mut float = auth_data();
        float["amount"] = json!(12.5);
        let mut lower = auth_data();
        lower["currency"] = json!("eur");
        let mut channel = auth_data();
        channel["channel"] = json!("MAIL");
        let mut missing = auth_data();
        missing.as_object_mut().unwrap().remove("card_id");
        let mut empty_id = auth_data();
        empty_id["authorization_id"] = json!("");
        let cases = [
            (negative, "negative"),
            (float, "i64"),
            (lower, "currency"),
            (channel, "MAIL"),
            (missing, "card_id"),
            (empty_id, "identifier"),
        ];
        for (data, needle) in cases {
            let err =
                WebhookEnvelope::from_slice(&envelope("authorization.request", data)).unwrap_err();
            assert_eq!(err.code(), "malformed_event_data");
            assert!(
                err.to_string().contains(needle),
                "{err} should mention {needle}"
            );
        }
        // The envelope itself.
        for body in [
            &b"not json"[..],
            br#"{"type":"authorization.request","data":{}}"#,
            br#"{"type":"x","timestamp":"yesterday","data":{}}"#,
            br#"{"type":"","timestamp":"2026-11-26T10:15:02Z","data":{}}"#,
        ] {
            let err = WebhookEnvelope::from_slice(body).unwrap_err();
            assert_eq!(err.code(), "malformed_envelope", "{err}");
        }
        // A request's merchant facts are the controls' to decline (invalid_request), as a
        // decision on record; every other event's merchant is checked here.
        let mut mcc = auth_data();
        mcc["merchant"]["mcc"] = json!("541");
        let parsed = WebhookEnvelope::from_slice(&envelope("authorization.request", mcc)).unwrap();
        let WebhookEvent::AuthorizationRequest(request) = parsed.event else {
            panic!("not a request: {parsed:?}");
        };
        assert_eq!(request.merchant.mcc, "541");
        assert!(Merchant::try_from(request.merchant).is_err());
        let mut bad_merchant = merchant();
        bad_merchant["mcc"] = json!("541");
        let clearing = json!({"transaction_id": "txn_1", "authorization_id": "auth_1", "card_id": "card_1",
               "amount": 700, "currency": "EUR", "merchant": bad_merchant,
               "cleared_at": "2026-11-26T10:15:02Z", "final": true});
        let err =
            WebhookEnvelope::from_slice(&envelope("transaction.clearing", clearing)).unwrap_err();
        assert!(err.to_string().contains("mcc"), "{err}");
        // A clearing without `final` is refused rather than guessed.
        let clearing = json!({"transaction_id": "txn_1", "authorization_id": "auth_1", "card_id": "card_1",
               "amount": 700, "currency": "EUR", "merchant": merchant(),
               "cleared_at": "2026-11-26T10:15:02Z"});
        let err =
            WebhookEnvelope::from_slice(&envelope("transaction.clearing", clearing)).unwrap_err();
        assert!(err.to_string().contains("final"), "{err}");
    }

    #[test]
    fn authorization_response_shape_and_checks() {
        assert_eq!(
            serde_json::to_value(AuthorizationResponse::approve(1250)).unwrap(),
            json!({"decision": "APPROVE", "approved_amount": 1250})
        );
        assert_eq!(
            serde_json::to_value(AuthorizationResponse::decline(DeclineCode::MerchantBlocked))
                .unwrap(),
            json!({"decision": "DECLINE", "approved_amount": 0, "decline_reason": "MERCHANT_BLOCKED"})
        );
        assert_eq!(DeclineCode::parse("BECAUSE"), None);
        for reason in DeclineCode::ALL {
            let v = serde_json::to_value(reason).unwrap();
            assert_eq!(v, json!(reason.as_str()));
            assert_eq!(serde_json::from_value::<DeclineCode>(v).unwrap(), reason);
            assert_eq!(DeclineCode::parse(reason.as_str()), Some(reason));
        }
        let request: AuthorizationRequest = serde_json::from_value(auth_data()).unwrap();
        assert_eq!(
            AuthorizationResponse::approve(1250).approved_amount_for(&request),
            Ok(1250)
        );
        let full: AuthorizationResponse =
            serde_json::from_value(json!({"decision": "APPROVE"})).unwrap();
        assert_eq!(full.approved_amount_for(&request), Ok(1250));
        assert!(
            AuthorizationResponse::approve(1000)
                .approved_amount_for(&request)
                .is_err()
        );
        assert!(
            AuthorizationResponse::approve(2000)
                .approved_amount_for(&request)
                .is_err()
        );
        let mut capable = request.clone();
        capable.partial_approval_capable = true;
        assert_eq!(
            AuthorizationResponse::approve(1000).approved_amount_for(&capable),
            Ok(1000)
        );
        let no_reason: AuthorizationResponse =
            serde_json::from_value(json!({"decision": "DECLINE"})).unwrap();
        assert!(no_reason.approved_amount_for(&request).is_err());
        assert!(
            serde_json::from_value::<AuthorizationResponse>(json!({"decision": "MAYBE"})).is_err()
        );
        assert!(
            serde_json::from_value::<AuthorizationResponse>(
                json!({"decision": "DECLINE", "decline_reason": "BECAUSE"})
            )
            .is_err()
        );
    }

    #[test]
    fn rest_bodies() {
        let body = CreateCardholderRequest::pseudonymous("p1_abc", "prison-fi");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"external_ref": "p1_abc", "program": "prison-fi"})
        );
        let with_name: CreateCardholderRequest = serde_json::from_value(
            json!({"external_ref": "x", "program": "p", "first_name": "Matti", "address": {"city": "X"}}),
        )
        .unwrap();
        assert_eq!(
            with_name.personal_fields_present(),
            vec!["first_name", "address"]
        );

        let card: Card = serde_json::from_value(json!({"id": "card_1", "cardholder_id": "ch_1",
            "form": "PHYSICAL", "last4": "4821", "exp_month": 11, "exp_year": 2029, "state": "INACTIVE",
            "spend_controls": {"per_authorization_max": 20000, "daily_max": 50000, "blocked_mcc": ["7995"]},
            "created_at": "2026-11-26T10:15:02Z"}))
        .unwrap();
        assert_eq!(card.state, CardState::Inactive);
        assert_eq!(
            card.spend_controls.unwrap().blocked_mcc.unwrap(),
            vec![Mcc::new("7995").unwrap()]
        );
        let err: ErrorBody = serde_json::from_value(json!({"error": {"code": "cardholder_exists",
            "message": "exists", "existing_id": "ch_9"}}))
        .unwrap();
        assert_eq!(err.error.existing_id.as_deref(), Some("ch_9"));
        assert!(serde_json::from_value::<SpendControls>(json!({"daily_max": -1})).is_err());
        assert!(serde_json::from_value::<SpendControls>(json!({"blocked_mcc": ["79"]})).is_err());
        assert!(is_valid_embossed_name("PRISON SERVICE CARD"));
        assert!(!is_valid_embossed_name("Matti Meikalainen"));
        assert!(!is_valid_embossed_name("ABCDEFGHIJKLMNOPQRSTUVWXY"));
        assert!(is_token_1_64("p1_abc-DEF"));
        assert!(!is_token_1_64(""));
        assert!(!is_token_1_64("a b"));
        assert!(!is_token_1_64(&"a".repeat(65)));
    }

    #[test]
    fn state_machine() {
        use CardState::*;
        assert!(Inactive.can_become(Active));
        assert!(Active.can_become(Paused));
        assert!(Paused.can_become(Active));
        assert!(Paused.can_become(Closed));
        assert!(Active.can_become(Active));
        assert!(!Inactive.can_become(Paused));
        assert!(!Closed.can_become(Active));
        assert!(!Active.can_become(Inactive));
    }
}
