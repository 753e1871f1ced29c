//! The prison service's own services as merchants inside Saldo (docs/services.md): the
//! catalogue per prison and each service's keys (staff routes), and what a service asks over its
//! signed API: authorize (a hold), capture, release, refund; call credit; subscriptions; offline
//! stand-in reservations and their advices.
//!
//! A purchase is decided by the card path's controls (`card_adapter::controls::
//! decide_service_purchase`: `ledger::controls::evaluate` with the same mode, policy, windows and
//! balance; card and service spend share the windows) and booked with the ledger's holds and
//! entries. Every call is idempotent by the service's own id: the same id and body again answers
//! what was decided and changes nothing; the same id with another body is `409`.

use deadpool_postgres::{GenericClient, Pool, Transaction};
use ledger::controls::{AuthorizationRequest, Channel, Decision, MerchantKind};
use ledger::entry_text::EntryText;
use ledger::store::{self, CaptureHold, PlaceHold, ReleaseHold};
use ledger::{AccountType, Currency, EntryDraft, Money, NewAccount, Overdraft, PostingDraft};
use processor_protocol::signature::WebhookSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ServiceError;

/// What Saldo owes the prison's services for what prisoners bought (an institution account;
/// each service's share is in `services.purchases`).
pub const SERVICES_PAYABLE: &str = "prison_services_payable";
/// A prisoner's call credit: their own sub-account (docs/services.md, "Call credit").
pub const CALL_CREDIT: &str = ledger::person_purpose::CALL_CREDIT;

pub const SERVICE_KINDS: [&str; 4] = ["canteen", "telephony", "tv_rental", "other"];
pub const PURPOSES: [&str; 4] = ["purchase", "call_credit", "call", "reservation"];

/// A service of a prison's catalogue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceView {
    pub service_id: Uuid,
    pub prison_id: Uuid,
    pub code: String,
    pub kind: String,
    pub mcc: String,
    pub currency: String,
    /// The prison's country (ISO 3166-1 alpha-2), the merchant's country the controls record.
    pub country: String,
}

impl ServiceView {
    fn from_row(row: &tokio_postgres::Row) -> ServiceView {
        ServiceView {
            service_id: row.get("id"),
            prison_id: row.get("prison_id"),
            code: row.get("code"),
            kind: row.get("kind"),
            mcc: row.get("mcc"),
            currency: row.get("currency"),
            country: row.get("country"),
        }
    }

    fn currency(&self) -> Result<Currency, ServiceError> {
        Ok(Currency::from_code(&self.currency).map_err(ledger::LedgerError::from)?)
    }

    /// The merchant id the controls see (a policy may block it by this id).
    pub fn merchant_id(&self) -> String {
        format!("service:{}", self.service_id)
    }
}

pub struct NewService<'a> {
    pub prison_id: Uuid,
    pub code: &'a str,
    pub kind: &'a str,
    pub mcc: &'a str,
    pub currency: &'a str,
    pub created_by: String,
}

fn valid_code(code: &str) -> bool {
    let mut bytes = code.bytes();
    code.len() <= 32
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub async fn create_service(pool: &Pool, new: NewService<'_>) -> Result<ServiceView, ServiceError> {
    if !valid_code(new.code) {
        return Err(ServiceError::Invalid(
            "service_code_invalid",
            "a code is 1 to 32 of a-z, 0-9 and _, starting with a letter".into(),
        ));
    }
    if !SERVICE_KINDS.contains(&new.kind) {
        return Err(ServiceError::Invalid(
            "service_kind_invalid",
            format!("kind is one of {}", SERVICE_KINDS.join(", ")),
        ));
    }
    if !ledger::controls::is_valid_mcc(new.mcc) {
        return Err(ServiceError::Invalid(
            "mcc_invalid",
            "a merchant category code is four digits".into(),
        ));
    }
    let currency = Currency::from_code(new.currency).map_err(|_| {
        ServiceError::Invalid("currency_invalid", "not a currency the ledger keeps".into())
    })?;
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "insert into services.catalogue (id, prison_id, code, kind, mcc, currency, created_by)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (prison_id, code) do nothing
             returning id, prison_id, code, kind, mcc, currency,
                       (select country from identity.prisons where id = prison_id) as country",
            &[
                &Uuid::new_v4(),
                &new.prison_id,
                &new.code,
                &new.kind,
                &new.mcc,
                &currency.code(),
                &new.created_by,
            ],
        )
        .await?;
    match row {
        Some(row) => Ok(ServiceView::from_row(&row)),
        None => Err(ServiceError::Conflict(
            "service_code_taken",
            "the prison already has a service with that code".into(),
        )),
    }
}

pub async fn services_of(pool: &Pool, prison_id: Uuid) -> Result<Vec<ServiceView>, ServiceError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "select c.id, c.prison_id, c.code, c.kind, c.mcc, c.currency, p.country
             from services.catalogue c join identity.prisons p on p.id = c.prison_id
             where c.prison_id = $1 order by c.code",
            &[&prison_id],
        )
        .await?;
    Ok(rows.iter().map(ServiceView::from_row).collect())
}

/// The service, if it is in `prison_id` (another prison's answers as unknown).
pub async fn service_in(
    client: &impl GenericClient,
    prison_id: Option<Uuid>,
    service_id: Uuid,
) -> Result<ServiceView, ServiceError> {
    let row = client
        .query_opt(
            "select c.id, c.prison_id, c.code, c.kind, c.mcc, c.currency, p.country
             from services.catalogue c join identity.prisons p on p.id = c.prison_id
             where c.id = $1 and ($2::uuid is null or c.prison_id = $2)",
            &[&service_id, &prison_id],
        )
        .await?
        .ok_or(ServiceError::NotFound("service"))?;
    Ok(ServiceView::from_row(&row))
}

/// A fresh signing secret for a service: returned once (`whsec_…`), kept for verification.
/// Earlier keys stay live until revoked, so a service can rotate without a gap.
pub async fn issue_key(
    pool: &Pool,
    prison_id: Uuid,
    service_id: Uuid,
    created_by: String,
) -> Result<(i64, String), ServiceError> {
    let client = pool.get().await?;
    service_in(&client, Some(prison_id), service_id).await?;
    let key: [u8; 32] = rand::random();
    let secret = WebhookSecret::from_bytes(key.to_vec()).map_err(|_| ServiceError::Internal)?;
    let key_id: i64 = client
        .query_one(
            "insert into services.keys (service_id, secret, created_by) values ($1, $2, $3)
             returning id",
            &[&service_id, &key.as_slice(), &created_by],
        )
        .await?
        .get("id");
    Ok((key_id, secret.to_whsec()))
}

/// Revokes one of a service's keys: messages signed with it are refused from now on. The key
/// stays on record; revoking it again changes nothing.
pub async fn revoke_key(
    pool: &Pool,
    prison_id: Uuid,
    service_id: Uuid,
    key_id: i64,
) -> Result<(), ServiceError> {
    let client = pool.get().await?;
    service_in(&client, Some(prison_id), service_id).await?;
    let found = client
        .execute(
            "update services.keys set revoked_at = coalesce(revoked_at, clock_timestamp())
             where id = $1 and service_id = $2",
            &[&key_id, &service_id],
        )
        .await?;
    if found == 0 {
        return Err(ServiceError::NotFound("key"));
    }
    Ok(())
}

/// The service's live secrets, to verify its messages with (none: every message refused).
pub async fn live_secrets(
    pool: &Pool,
    service_id: Uuid,
) -> Result<Vec<WebhookSecret>, ServiceError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "select secret from services.keys where service_id = $1 and revoked_at is null",
            &[&service_id],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| WebhookSecret::from_bytes(row.get::<_, Vec<u8>>("secret")).ok())
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The signed API

/// `POST …/authorizations`: hold money for a purchase, a call-credit top-up, a call, or an
/// offline stand-in reservation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// The service's own id of this request: the same id again is the same request.
    #[schema(min_length = 1, max_length = 100)]
    pub request_id: String,
    /// Saldo's pseudonymous id of the prisoner.
    pub person_id: Uuid,
    #[schema(minimum = 1, example = 1250)]
    pub amount_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    /// `purchase` (default), `call_credit`, `call`, `reservation`.
    #[serde(default)]
    pub purpose: Option<String>,
}

/// A later step by the service's own event id: `capture`, `release`, `refund`, `advice`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub event_id: String,
    /// Capture, refund, advice: how much. Release: omitted (everything still held).
    #[serde(default)]
    pub amount_minor: Option<i64>,
    /// Capture: the last one (whatever remains held is released). Default true.
    #[serde(default)]
    pub final_capture: Option<bool>,
}

/// What Saldo decided and where the money stands, in minor units.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PurchaseView {
    pub purchase_id: Uuid,
    pub request_id: String,
    pub person_id: Uuid,
    pub purpose: String,
    pub approved: bool,
    /// The controls' reason key when declined (`daily_limit_exceeded`…): the kiosk's words.
    pub decline_reason: Option<String>,
    pub currency: String,
    pub requested_minor: i64,
    pub approved_minor: i64,
    pub held_minor: i64,
    pub captured_minor: i64,
    pub released_minor: i64,
    pub refunded_minor: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub authorized_at: OffsetDateTime,
}

const PURCHASE_COLUMNS: &str = "id, service_id, request_id, request_sha256, person_id, account_id,
    purpose, currency, requested_minor, approved_minor, captured_minor, released_minor,
    refunded_minor, approved, decline_reason, hold_id, authorized_at";

struct PurchaseRow {
    id: Uuid,
    request_sha256: Vec<u8>,
    account_id: Uuid,
    hold_id: Option<Uuid>,
    view: PurchaseView,
}

impl PurchaseRow {
    fn from_row(row: &tokio_postgres::Row) -> PurchaseRow {
        let approved_minor: i64 = row.get("approved_minor");
        let captured_minor: i64 = row.get("captured_minor");
        let released_minor: i64 = row.get("released_minor");
        PurchaseRow {
            id: row.get("id"),
            request_sha256: row.get("request_sha256"),
            account_id: row.get("account_id"),
            hold_id: row.get("hold_id"),
            view: PurchaseView {
                purchase_id: row.get("id"),
                request_id: row.get("request_id"),
                person_id: row.get("person_id"),
                purpose: row.get("purpose"),
                approved: row.get("approved"),
                decline_reason: row.get("decline_reason"),
                currency: row.get("currency"),
                requested_minor: row.get("requested_minor"),
                approved_minor,
                // The table's checks keep this non-negative.
                held_minor: approved_minor - captured_minor - released_minor,
                captured_minor,
                released_minor,
                refunded_minor: row.get("refunded_minor"),
                authorized_at: row.get("authorized_at"),
            },
        }
    }

    fn money(&self, amount_minor: i64) -> Result<Money, ServiceError> {
        Ok(Money::new(
            amount_minor,
            Currency::from_code(&self.view.currency).map_err(ledger::LedgerError::from)?,
        ))
    }
}

fn sha256_of(value: &impl Serialize) -> Vec<u8> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(bytes).to_vec()
}

fn id_conflict(what: &str) -> ServiceError {
    ServiceError::Conflict(
        "request_id_conflict",
        format!("this {what} id was used before with another body"),
    )
}

fn check_id(id: &str) -> Result<(), ServiceError> {
    if id.is_empty() || id.len() > 100 || id.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            "request_id_invalid",
            "an id is 1 to 100 printable characters".into(),
        ));
    }
    Ok(())
}

async fn institution(tx: &Transaction<'_>, currency: Currency) -> Result<Uuid, ServiceError> {
    Ok(ledger::accounts::institution_account(
        tx,
        SERVICES_PAYABLE,
        AccountType::Liability,
        currency,
    )
    .await?)
}

/// The person's call-credit sub-account, opened at the first top-up.
async fn call_credit_account(
    tx: &Transaction<'_>,
    person_id: Uuid,
    currency: Currency,
) -> Result<Uuid, ServiceError> {
    let account = NewAccount::person(person_id, CALL_CREDIT, currency);
    if let Some(existing) = store::account_by_code(tx, &account.code).await? {
        return Ok(existing.id);
    }
    Ok(
        store::open_account(tx, &format!("open:{}", account.code), &account)
            .await?
            .id,
    )
}

async fn purchase_by_request(
    client: &impl GenericClient,
    service_id: Uuid,
    request_id: &str,
    lock: bool,
) -> Result<Option<PurchaseRow>, ServiceError> {
    let sql = format!(
        "select {PURCHASE_COLUMNS} from services.purchases where service_id = $1 and request_id = $2{}",
        if lock { " for update" } else { "" }
    );
    Ok(client
        .query_opt(&sql, &[&service_id, &request_id])
        .await?
        .as_ref()
        .map(PurchaseRow::from_row))
}

/// How a purchase is decided and booked.
struct Decide<'a> {
    service: &'a ServiceView,
    request_id: &'a str,
    request_sha256: Vec<u8>,
    person_id: Uuid,
    amount: Money,
    purpose: &'a str,
    at: OffsetDateTime,
    subscription_id: Option<Uuid>,
}

/// Authorizes a service's request: decided by the card path's controls and held on the
/// prisoner's spendable account (a call: on their call credit, already through the controls
/// when topped up). Declines are answered 200 with the reason and kept, so the same request id
/// answers the same.
pub async fn authorize(
    pool: &Pool,
    service: &ServiceView,
    request: &AuthorizeRequest,
) -> Result<PurchaseView, ServiceError> {
    check_id(&request.request_id)?;
    let purpose = request.purpose.as_deref().unwrap_or("purchase");
    if !PURPOSES.contains(&purpose) {
        return Err(ServiceError::Invalid(
            "purpose_invalid",
            format!("purpose is one of {}", PURPOSES.join(", ")),
        ));
    }
    if (purpose == "call" || purpose == "call_credit") && service.kind != "telephony" {
        return Err(ServiceError::Invalid(
            "purpose_not_for_service",
            "call credit and calls are the telephony service's".into(),
        ));
    }
    let currency = service.currency()?;
    if request.currency != currency.code() {
        return Err(ServiceError::Invalid(
            "currency_invalid",
            "the service's currency only".into(),
        ));
    }
    let amount = Money::new(request.amount_minor, currency);
    if !amount.is_positive() || amount.within_bound().is_err() {
        return Err(ServiceError::Invalid(
            "amount_invalid",
            "a positive amount within the ledger's bound".into(),
        ));
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let view = decide_in(
        &tx,
        Decide {
            service,
            request_id: &request.request_id,
            request_sha256: sha256_of(request),
            person_id: request.person_id,
            amount,
            purpose,
            at: OffsetDateTime::now_utc(),
            subscription_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

/// Decides and holds one request in the caller's transaction (shared by the signed route and
/// the subscription charges).
async fn decide_in(tx: &Transaction<'_>, ask: Decide<'_>) -> Result<PurchaseView, ServiceError> {
    // One request id at a time: the advisory lock makes a concurrent retry wait, then replay.
    tx.execute(
        "select pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&format!(
            "service:{}:{}",
            ask.service.service_id, ask.request_id
        )],
    )
    .await?;
    if let Some(known) =
        purchase_by_request(tx, ask.service.service_id, ask.request_id, false).await?
    {
        if known.request_sha256 != ask.request_sha256 {
            return Err(id_conflict("request"));
        }
        return Ok(known.view);
    }
    let placement = ledger::policy_store::current_placement(tx, ask.person_id)
        .await?
        .filter(|placement| placement.prison_id == ask.service.prison_id)
        .ok_or(ServiceError::NotFound("prisoner"))?;
    let accounts =
        ledger::accounts::PersonAccounts::of(tx, placement.person_id, ask.amount.currency).await?;
    let account_id = if ask.purpose == "call" {
        call_credit_account(tx, ask.person_id, ask.amount.currency).await?
    } else {
        accounts.spendable
    };
    // Locks the balance row first: the hold placed below is the one the controls decided.
    store::lock_accounts_for_holds(tx, &[account_id]).await?;
    let (approved, reason, policy_version) = if ask.purpose == "call" {
        // A call draws on credit that went through the controls when topped up; only the mode
        // still decides (a frozen person makes no calls).
        if placement.mode.effective_at(ask.at).is_active() {
            (true, None, None)
        } else {
            (false, Some("card_frozen".to_owned()), None)
        }
    } else {
        let request = AuthorizationRequest {
            amount: ask.amount,
            merchant_id: ask.service.merchant_id(),
            merchant_name: ask.service.code.clone(),
            mcc: ask.service.mcc.clone(),
            // Not checked for a prison service (it is in the prison); recorded as the prison's.
            merchant_country: ask.service.country.clone(),
            channel: Channel::Pos,
            at: ask.at,
            partial_approval_capable: false,
            merchant_kind: MerchantKind::PrisonService,
        };
        match card_adapter::controls::decide_service_purchase(
            tx,
            ask.person_id,
            accounts.spendable,
            &request,
        )
        .await
        .map_err(booking_error)?
        {
            None => (false, Some("evaluation_error".to_owned()), None),
            Some((Decision::Approve { .. }, version)) => (true, None, Some(version)),
            Some((Decision::Decline { reason, .. }, version)) => {
                (false, Some(reason.as_str().to_owned()), Some(version))
            }
        }
    };
    let purchase_id = Uuid::new_v4();
    let mut hold_id = None;
    let mut reason = reason;
    if approved {
        let held = store::place_hold(
            tx,
            &PlaceHold {
                idempotency_key: format!("service:hold:{purchase_id}"),
                account_id,
                amount: ask.amount,
                expires_at: None,
                description: text_of(ask.purpose).english().to_owned(),
                metadata: serde_json::json!({
                    "service_id": ask.service.service_id,
                    "service_purchase_id": purchase_id,
                }),
                allow_partial: false,
                overdraft: Overdraft::Refuse,
            },
        )
        .await;
        match held {
            Ok(hold) => hold_id = Some(hold.id),
            Err(ledger::LedgerError::InsufficientFunds { .. }) => {
                reason = Some(if ask.purpose == "call" {
                    "insufficient_call_credit".to_owned()
                } else {
                    "insufficient_funds".to_owned()
                });
            }
            Err(error) => return Err(error.into()),
        }
    }
    let approved = hold_id.is_some();
    let row = tx
        .query_one(
            &format!(
                "insert into services.purchases
                    (id, service_id, request_id, request_sha256, person_id, account_id, purpose,
                     currency, requested_minor, approved_minor, approved, decline_reason,
                     policy_version, hold_id, subscription_id, authorized_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                 returning {PURCHASE_COLUMNS}"
            ),
            &[
                &purchase_id,
                &ask.service.service_id,
                &ask.request_id,
                &ask.request_sha256,
                &ask.person_id,
                &account_id,
                &ask.purpose,
                &ask.amount.currency.code(),
                &ask.amount.amount_minor,
                &if approved { ask.amount.amount_minor } else { 0 },
                &approved,
                &if approved { None } else { reason },
                &policy_version,
                &hold_id,
                &ask.subscription_id,
                &ask.at,
            ],
        )
        .await?;
    Ok(PurchaseRow::from_row(&row).view)
}

fn booking_error(error: card_adapter::booking::BookingError) -> ServiceError {
    match error {
        card_adapter::booking::BookingError::Ledger(error) => ServiceError::Ledger(error),
        other => {
            tracing::error!(error = ?other, "service purchase: controls failed");
            ServiceError::Internal
        }
    }
}

/// The entry text of what a purpose's capture books.
fn text_of(purpose: &str) -> EntryText {
    match purpose {
        "call_credit" => EntryText::CallCreditTopUp,
        "call" => EntryText::CallCharge,
        "recurring" => EntryText::ServiceSubscriptionCharge,
        "reservation" => EntryText::ServiceOfflinePurchase,
        _ => EntryText::ServicePurchase,
    }
}

/// Where a purpose's captured money goes: a top-up to the person's call credit, everything else
/// to what Saldo owes the services.
async fn counter_account(
    tx: &Transaction<'_>,
    purpose: &str,
    person_id: Uuid,
    currency: Currency,
) -> Result<Uuid, ServiceError> {
    if purpose == "call_credit" {
        call_credit_account(tx, person_id, currency).await
    } else {
        institution(tx, currency).await
    }
}

/// A step's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Capture,
    Release,
    Refund,
    /// An offline purchase the service approved within a reservation, booked now.
    Advice,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Capture => "capture",
            Step::Release => "release",
            Step::Refund => "refund",
            Step::Advice => "advice",
        }
    }
}

/// Captures, releases, refunds or books an advice against a purchase, once per event id.
pub async fn step(
    pool: &Pool,
    service: &ServiceView,
    request_id: &str,
    step: Step,
    request: &StepRequest,
) -> Result<PurchaseView, ServiceError> {
    check_id(&request.event_id)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let view = step_in(
        &tx,
        service,
        request_id,
        step,
        request,
        OffsetDateTime::now_utc(),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

async fn step_in(
    tx: &Transaction<'_>,
    service: &ServiceView,
    request_id: &str,
    step: Step,
    request: &StepRequest,
    now: OffsetDateTime,
) -> Result<PurchaseView, ServiceError> {
    let sha = sha256_of(&(step.as_str(), request_id, request));
    let Some(purchase) = purchase_by_request(tx, service.service_id, request_id, true).await?
    else {
        return Err(ServiceError::NotFound("purchase"));
    };
    // The purchase row is locked: one step of a purchase at a time, so this look-up is final.
    let known = tx
        .query_opt(
            "select request_sha256 from services.events where service_id = $1 and event_id = $2",
            &[&service.service_id, &request.event_id],
        )
        .await?;
    if let Some(known) = known {
        if known.get::<_, Vec<u8>>("request_sha256") != sha {
            return Err(id_conflict("event"));
        }
        return Ok(purchase.view);
    }
    let view = &purchase.view;
    let effective_date = local_date(tx, service.prison_id, now).await?;
    let is_reservation = view.purpose == "reservation";
    match step {
        Step::Advice if !is_reservation => {
            return Err(not_now(
                "not_a_reservation",
                "advices book against a reservation",
            ));
        }
        Step::Capture if is_reservation => {
            return Err(not_now(
                "reservation_captured_by_advice",
                "a reservation is drawn on by advices",
            ));
        }
        _ => {}
    }
    let held = view.held_minor;
    let (amount_minor, entry_id) = match step {
        Step::Capture | Step::Advice => {
            let amount_minor = positive(request.amount_minor)?;
            let Some(hold_id) = purchase.hold_id.filter(|_| held > 0) else {
                return Err(not_now("nothing_held", "nothing is held for this purchase"));
            };
            if amount_minor > held {
                // Never beyond what was held (for an advice: what was reserved).
                return Err(not_now(
                    if step == Step::Advice {
                        "beyond_reservation"
                    } else {
                        "beyond_hold"
                    },
                    "more than remains held",
                ));
            }
            let final_capture = step == Step::Capture && request.final_capture.unwrap_or(true);
            let currency =
                Currency::from_code(&view.currency).map_err(ledger::LedgerError::from)?;
            let counter = counter_account(tx, &view.purpose, view.person_id, currency).await?;
            let capture = store::capture_hold(
                tx,
                &CaptureHold {
                    idempotency_key: format!("service:{}:{}", service.service_id, request.event_id),
                    hold_id,
                    amount: purchase.money(amount_minor)?,
                    counter_account_id: counter,
                    allow_over_capture: false,
                    final_capture,
                    effective_date,
                    description: text_of(&view.purpose).english().to_owned(),
                    metadata: serde_json::json!({
                        "service_id": service.service_id,
                        "service_purchase_id": purchase.id,
                        "service_event_id": request.event_id,
                    }),
                    external_refs: Vec::new(),
                    overdraft: Overdraft::Refuse,
                },
            )
            .await?;
            let released = if final_capture {
                held - amount_minor
            } else {
                0
            };
            tx.execute(
                "update services.purchases set captured_minor = captured_minor + $2,
                        released_minor = released_minor + $3 where id = $1",
                &[&purchase.id, &amount_minor, &released],
            )
            .await?;
            (amount_minor, Some(capture.entry.id))
        }
        Step::Release => {
            let Some(hold_id) = purchase.hold_id.filter(|_| held > 0) else {
                return Err(not_now("nothing_held", "nothing is held for this purchase"));
            };
            store::release_hold(
                tx,
                &ReleaseHold {
                    idempotency_key: format!("service:{}:{}", service.service_id, request.event_id),
                    hold_id,
                    amount: None,
                },
            )
            .await?;
            tx.execute(
                "update services.purchases set released_minor = released_minor + $2 where id = $1",
                &[&purchase.id, &held],
            )
            .await?;
            (held, None)
        }
        Step::Refund => {
            let amount_minor = positive(request.amount_minor)?;
            if amount_minor > view.captured_minor - view.refunded_minor {
                return Err(not_now(
                    "beyond_captured",
                    "more than was captured and not yet refunded",
                ));
            }
            let amount = purchase.money(amount_minor)?;
            let counter =
                counter_account(tx, &view.purpose, view.person_id, amount.currency).await?;
            let entry = store::post_entry(
                tx,
                &EntryDraft {
                    idempotency_key: format!("service:{}:{}", service.service_id, request.event_id),
                    effective_date,
                    description: EntryText::ServiceRefund.english().to_owned(),
                    metadata: serde_json::json!({
                        "service_id": service.service_id,
                        "service_purchase_id": purchase.id,
                        "service_event_id": request.event_id,
                    }),
                    external_refs: Vec::new(),
                    postings: vec![
                        PostingDraft::debit(counter, amount),
                        PostingDraft::credit(purchase.account_id, amount)?,
                    ],
                    // A top-up's refund cannot take call credit below zero.
                    overdraft: Overdraft::Refuse,
                },
            )
            .await?;
            tx.execute(
                "update services.purchases set refunded_minor = refunded_minor + $2 where id = $1",
                &[&purchase.id, &amount_minor],
            )
            .await?;
            (amount_minor, Some(entry.id))
        }
    };
    tx.execute(
        "insert into services.events
            (service_id, event_id, request_sha256, purchase_id, kind, amount_minor, entry_id, occurred_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &service.service_id,
            &request.event_id,
            &sha,
            &purchase.id,
            &step.as_str(),
            &amount_minor,
            &entry_id,
            &now,
        ],
    )
    .await?;
    let after = purchase_by_request(tx, service.service_id, request_id, false)
        .await?
        .ok_or(ServiceError::Internal)?;
    Ok(after.view)
}

/// `at` as a date on the prison's clock: the entries' effective date.
async fn local_date(
    client: &impl GenericClient,
    prison_id: Uuid,
    at: OffsetDateTime,
) -> Result<time::Date, ServiceError> {
    let row = client
        .query_one(
            "select ($2::timestamptz at time zone p.time_zone)::date as local_date
             from identity.prisons p where p.id = $1",
            &[&prison_id, &at],
        )
        .await?;
    Ok(row.get("local_date"))
}

fn not_now(code: &'static str, detail: &str) -> ServiceError {
    ServiceError::Conflict(code, detail.to_owned())
}

fn positive(amount_minor: Option<i64>) -> Result<i64, ServiceError> {
    match amount_minor {
        Some(amount) if amount > 0 => Ok(amount),
        _ => Err(ServiceError::Invalid(
            "amount_invalid",
            "a positive amount_minor".into(),
        )),
    }
}

/// A purchase the service asked about, by its own request id.
pub async fn purchase(
    pool: &Pool,
    service: &ServiceView,
    request_id: &str,
) -> Result<PurchaseView, ServiceError> {
    let client = pool.get().await?;
    Ok(
        purchase_by_request(&client, service.service_id, request_id, false)
            .await?
            .ok_or(ServiceError::NotFound("purchase"))?
            .view,
    )
}

// ---------------------------------------------------------------------------------------------
// Subscriptions (recurring charges)

/// `POST …/subscriptions`: a standing charge every `period_days` (a TV rental per week), the
/// first due now. Each charge is a purchase of its own, decided by the same controls and
/// captured at once; a declined period is recorded and not retried. It stops at the person's
/// release or transfer out of the service's prison.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub request_id: String,
    pub person_id: Uuid,
    #[schema(minimum = 1, example = 500)]
    pub amount_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(minimum = 1, maximum = 31, example = 7)]
    pub period_days: i32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub subscription_id: Uuid,
    pub request_id: String,
    pub person_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub period_days: i32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub next_charge_at: OffsetDateTime,
    pub periods_done: i32,
    /// `released`, `transferred`, `cancelled`, `closed` once stopped.
    pub stop_reason: Option<String>,
}

const SUBSCRIPTION_COLUMNS: &str = "id, service_id, request_id, request_sha256, person_id,
    amount_minor, currency, period_days, next_charge_at, periods_done, stop_reason";

fn subscription_from(row: &tokio_postgres::Row) -> SubscriptionView {
    SubscriptionView {
        subscription_id: row.get("id"),
        request_id: row.get("request_id"),
        person_id: row.get("person_id"),
        amount_minor: row.get("amount_minor"),
        currency: row.get("currency"),
        period_days: row.get("period_days"),
        next_charge_at: row.get("next_charge_at"),
        periods_done: row.get("periods_done"),
        stop_reason: row.get("stop_reason"),
    }
}

pub async fn subscribe(
    pool: &Pool,
    service: &ServiceView,
    request: &SubscribeRequest,
) -> Result<SubscriptionView, ServiceError> {
    check_id(&request.request_id)?;
    if request.currency != service.currency {
        return Err(ServiceError::Invalid(
            "currency_invalid",
            "the service's currency only".into(),
        ));
    }
    if !(1..=31).contains(&request.period_days) {
        return Err(ServiceError::Invalid(
            "period_invalid",
            "period_days is 1 to 31".into(),
        ));
    }
    let amount = Money::new(request.amount_minor, service.currency()?);
    if !amount.is_positive() || amount.within_bound().is_err() {
        return Err(ServiceError::Invalid(
            "amount_invalid",
            "a positive amount within the ledger's bound".into(),
        ));
    }
    let sha = sha256_of(request);
    let client = pool.get().await?;
    let placed = ledger::policy_store::current_placement(&client, request.person_id)
        .await?
        .is_some_and(|placement| placement.prison_id == service.prison_id);
    if !placed {
        return Err(ServiceError::NotFound("prisoner"));
    }
    let inserted = client
        .query_opt(
            &format!(
                "insert into services.subscriptions
                    (id, service_id, request_id, request_sha256, person_id, currency,
                     amount_minor, period_days, next_charge_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
                 on conflict (service_id, request_id) do nothing
                 returning {SUBSCRIPTION_COLUMNS}"
            ),
            &[
                &Uuid::new_v4(),
                &service.service_id,
                &request.request_id,
                &sha,
                &request.person_id,
                &request.currency,
                &request.amount_minor,
                &request.period_days,
            ],
        )
        .await?;
    if let Some(row) = inserted {
        return Ok(subscription_from(&row));
    }
    let row = client
        .query_one(
            &format!(
                "select {SUBSCRIPTION_COLUMNS} from services.subscriptions
                 where service_id = $1 and request_id = $2"
            ),
            &[&service.service_id, &request.request_id],
        )
        .await?;
    if row.get::<_, Vec<u8>>("request_sha256") != sha {
        return Err(id_conflict("subscription"));
    }
    Ok(subscription_from(&row))
}

/// What one run of the subscription job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChargeRun {
    pub charged: u32,
    pub declined: u32,
    pub stopped: u32,
}

/// At most this many periods are caught up per subscription and run (a job that was down).
const CATCH_UP_PERIODS: u32 = 8;

/// Charges every subscription due at `now`, one transaction per period: stops those whose
/// person was released or moved out of the service's prison first. Safe to run from several
/// processes (due rows are taken `skip locked`) and again (each period is its own request id).
pub async fn charge_due(pool: &Pool, now: OffsetDateTime) -> Result<ChargeRun, ServiceError> {
    let mut run = ChargeRun::default();
    let ids: Vec<Uuid> = {
        let client = pool.get().await?;
        client
            .query(
                "select id from services.subscriptions
                 where stopped_at is null and next_charge_at <= $1 order by next_charge_at limit 500",
                &[&now],
            )
            .await?
            .iter()
            .map(|row| row.get("id"))
            .collect()
    };
    for id in ids {
        for _ in 0..CATCH_UP_PERIODS {
            if !charge_one(pool, id, now, &mut run).await? {
                break;
            }
        }
    }
    Ok(run)
}

/// Charges one due period of a subscription; false when nothing was due (or it stopped).
async fn charge_one(
    pool: &Pool,
    subscription_id: Uuid,
    now: OffsetDateTime,
    run: &mut ChargeRun,
) -> Result<bool, ServiceError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            &format!(
                "select {SUBSCRIPTION_COLUMNS} from services.subscriptions
                 where id = $1 and stopped_at is null and next_charge_at <= $2
                 for update skip locked"
            ),
            &[&subscription_id, &now],
        )
        .await?
    else {
        return Ok(false);
    };
    let subscription = subscription_from(&row);
    let service_id: Uuid = row.get("service_id");
    let service = service_in(&tx, None, service_id).await?;
    let placement = ledger::policy_store::current_placement(&tx, subscription.person_id).await?;
    let stop = match &placement {
        None => Some("closed"),
        Some(placement) if placement.prison_id != service.prison_id => Some("transferred"),
        Some(placement)
            if matches!(placement.mode, ledger::controls::CardMode::Released { .. }) =>
        {
            Some("released")
        }
        Some(_) => None,
    };
    if let Some(reason) = stop {
        tx.execute(
            "update services.subscriptions set stopped_at = $2, stop_reason = $3 where id = $1",
            &[&subscription_id, &now, &reason],
        )
        .await?;
        tx.commit().await?;
        run.stopped += 1;
        tracing::info!(%subscription_id, stop_reason = reason, "subscription stopped");
        return Ok(false);
    }
    let period = subscription.periods_done;
    let request_id = format!("sub:{subscription_id}:{period}");
    let amount = Money::new(subscription.amount_minor, service.currency()?);
    let view = decide_in(
        &tx,
        Decide {
            service: &service,
            request_id: &request_id,
            request_sha256: sha256_of(&(&request_id, subscription.amount_minor)),
            person_id: subscription.person_id,
            amount,
            purpose: "recurring",
            at: subscription.next_charge_at,
            subscription_id: Some(subscription_id),
        },
    )
    .await?;
    if view.approved {
        step_in(
            &tx,
            &service,
            &request_id,
            Step::Capture,
            &StepRequest {
                event_id: format!("{request_id}:capture"),
                amount_minor: Some(subscription.amount_minor),
                final_capture: Some(true),
            },
            now,
        )
        .await?;
        run.charged += 1;
    } else {
        run.declined += 1;
    }
    let next =
        subscription.next_charge_at + time::Duration::days(i64::from(subscription.period_days));
    tx.execute(
        "update services.subscriptions set periods_done = periods_done + 1, next_charge_at = $2
         where id = $1",
        &[&subscription_id, &next],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// What the kiosk and staff see

/// One of a prisoner's service purchases, for the kiosk: what is held, paid, refunded, or why
/// it was declined.
#[derive(Debug, Clone)]
pub struct KioskPurchase {
    pub service_code: String,
    pub purpose: String,
    pub at: OffsetDateTime,
    pub requested: Money,
    pub held: Money,
    pub captured: Money,
    pub refunded: Money,
    pub approved: bool,
    pub decline_reason: Option<String>,
}

/// The person's latest service purchases (open holds among them), newest first.
pub async fn purchases_of(
    client: &impl GenericClient,
    person_id: Uuid,
    limit: i64,
) -> Result<Vec<KioskPurchase>, ServiceError> {
    let rows = client
        .query(
            "select c.code, p.purpose, p.authorized_at, p.currency, p.requested_minor,
                    p.approved_minor - p.captured_minor - p.released_minor as held_minor,
                    p.captured_minor, p.refunded_minor, p.approved, p.decline_reason
             from services.purchases p join services.catalogue c on c.id = p.service_id
             where p.person_id = $1
             order by p.authorized_at desc limit $2",
            &[&person_id, &limit],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let currency =
                Currency::from_code(row.get("currency")).map_err(ledger::LedgerError::from)?;
            let money = |column: &str| Money::new(row.get(column), currency);
            Ok(KioskPurchase {
                service_code: row.get("code"),
                purpose: row.get("purpose"),
                at: row.get("authorized_at"),
                requested: money("requested_minor"),
                held: money("held_minor"),
                captured: money("captured_minor"),
                refunded: money("refunded_minor"),
                approved: row.get("approved"),
                decline_reason: row.get("decline_reason"),
            })
        })
        .collect()
}

/// A service's day, in its prison's time zone: what it captured (held purchases captured and
/// offline advices booked) and refunded, from Saldo's records.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DailyTotals {
    pub service_id: Uuid,
    /// `YYYY-MM-DD`, the prison's local day.
    pub date: String,
    pub currency: String,
    pub authorized_count: i64,
    pub declined_count: i64,
    pub captured_count: i64,
    pub captured_minor: i64,
    pub refunded_count: i64,
    pub refunded_minor: i64,
    /// Captured less refunded: what Saldo owes the service for the day.
    pub net_minor: i64,
}

fn parse_date(text: &str) -> Result<time::Date, ServiceError> {
    ledger::model::date_format::parse(text)
        .ok_or_else(|| ServiceError::Invalid("date_invalid", "a date is YYYY-MM-DD".into()))
}

/// One step Saldo booked on the day, by the service's event id.
struct BookedStep {
    event_id: String,
    kind: String,
    amount_minor: i64,
}

async fn booked_steps(
    client: &impl GenericClient,
    service_id: Uuid,
    date: time::Date,
) -> Result<Vec<BookedStep>, ServiceError> {
    let rows = client
        .query(
            "select e.event_id, e.kind, e.amount_minor
             from services.events e
             join services.catalogue c on c.id = e.service_id
             join identity.prisons p on p.id = c.prison_id
             where e.service_id = $1 and e.kind in ('capture', 'advice', 'refund')
               and (e.occurred_at at time zone p.time_zone)::date = $2
             order by e.event_id",
            &[&service_id, &date],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| BookedStep {
            event_id: row.get("event_id"),
            kind: row.get("kind"),
            amount_minor: row.get("amount_minor"),
        })
        .collect())
}

pub async fn daily_totals(
    pool: &Pool,
    prison_id: Uuid,
    service_id: Uuid,
    date: &str,
) -> Result<DailyTotals, ServiceError> {
    let date = parse_date(date)?;
    let client = pool.get().await?;
    let service = service_in(&client, Some(prison_id), service_id).await?;
    let steps = booked_steps(&client, service_id, date).await?;
    let counts = client
        .query_one(
            "select count(*) filter (where sp.approved) as authorized,
                    count(*) filter (where not sp.approved) as declined
             from services.purchases sp
             join services.catalogue c on c.id = sp.service_id
             join identity.prisons p on p.id = c.prison_id
             where sp.service_id = $1 and (sp.authorized_at at time zone p.time_zone)::date = $2",
            &[&service_id, &date],
        )
        .await?;
    let mut totals = DailyTotals {
        service_id,
        date: date.to_string(),
        currency: service.currency.clone(),
        authorized_count: counts.get("authorized"),
        declined_count: counts.get("declined"),
        captured_count: 0,
        captured_minor: 0,
        refunded_count: 0,
        refunded_minor: 0,
        net_minor: 0,
    };
    for step in &steps {
        let overflow = || ServiceError::Ledger(ledger::MoneyError::Overflow.into());
        if step.kind == "refund" {
            totals.refunded_count += 1;
            totals.refunded_minor = totals
                .refunded_minor
                .checked_add(step.amount_minor)
                .ok_or_else(overflow)?;
        } else {
            totals.captured_count += 1;
            totals.captured_minor = totals
                .captured_minor
                .checked_add(step.amount_minor)
                .ok_or_else(overflow)?;
        }
    }
    totals.net_minor = totals
        .captured_minor
        .checked_sub(totals.refunded_minor)
        .ok_or(ServiceError::Ledger(ledger::MoneyError::Overflow.into()))?;
    Ok(totals)
}

/// A difference between the service's daily report and Saldo's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportDifference {
    pub event_id: String,
    /// `missing_in_saldo`, `missing_in_report`, `amount_differs`, `kind_differs`.
    pub issue: String,
    pub saldo_amount_minor: Option<i64>,
    pub report_amount_minor: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reconciliation {
    pub totals: DailyTotals,
    pub report_captured_minor: i64,
    pub report_refunded_minor: i64,
    pub matched: usize,
    pub differences: Vec<ReportDifference>,
    /// No differences: the report and Saldo agree line by line.
    pub balanced: bool,
}

/// The report's lines as `(event_id, kind, amount_minor)`: a header
/// `event_id,kind,amount_minor`, then one line per capture, advice or refund of the day.
fn read_report(csv_text: &str) -> Result<Vec<(String, String, i64)>, ServiceError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let bad = |line: usize, what: &str| {
        ServiceError::Invalid("report_invalid", format!("line {line}: {what}"))
    };
    let headers = reader.headers().map_err(|_| bad(1, "unreadable header"))?;
    if headers.iter().collect::<Vec<_>>() != ["event_id", "kind", "amount_minor"] {
        return Err(bad(1, "the header is event_id,kind,amount_minor"));
    }
    let mut lines = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|_| bad(line, "unreadable line"))?;
        let (Some(event_id), Some(kind), Some(amount), 3) =
            (record.get(0), record.get(1), record.get(2), record.len())
        else {
            return Err(bad(line, "three fields"));
        };
        if event_id.is_empty() || event_id.len() > 100 {
            return Err(bad(line, "event_id is 1 to 100 characters"));
        }
        if !["capture", "advice", "refund"].contains(&kind) {
            return Err(bad(line, "kind is capture, advice or refund"));
        }
        let amount_minor: i64 = amount
            .parse()
            .ok()
            .filter(|amount: &i64| *amount > 0)
            .ok_or_else(|| bad(line, "amount_minor is a positive integer"))?;
        if lines
            .iter()
            .any(|(known, _, _): &(String, String, i64)| known == event_id)
        {
            return Err(bad(line, "event_id repeated"));
        }
        lines.push((event_id.to_owned(), kind.to_owned(), amount_minor));
    }
    Ok(lines)
}

/// Compares a service's daily report (CSV) with what Saldo booked for it that day, line by line
/// by the service's event id. Reads only: nothing is stored or booked.
pub async fn reconcile_day(
    pool: &Pool,
    prison_id: Uuid,
    service_id: Uuid,
    date: &str,
    csv_text: &str,
) -> Result<Reconciliation, ServiceError> {
    let report = read_report(csv_text)?;
    let totals = daily_totals(pool, prison_id, service_id, date).await?;
    let client = pool.get().await?;
    let booked = booked_steps(&client, service_id, parse_date(date)?).await?;
    let mut differences = Vec::new();
    let mut matched = 0;
    let (mut report_captured_minor, mut report_refunded_minor) = (0_i64, 0_i64);
    for (event_id, kind, amount_minor) in &report {
        let sum = if kind == "refund" {
            &mut report_refunded_minor
        } else {
            &mut report_captured_minor
        };
        *sum = sum
            .checked_add(*amount_minor)
            .ok_or(ServiceError::Ledger(ledger::MoneyError::Overflow.into()))?;
        let difference = |issue: &str, saldo: Option<i64>| ReportDifference {
            event_id: event_id.clone(),
            issue: issue.to_owned(),
            saldo_amount_minor: saldo,
            report_amount_minor: Some(*amount_minor),
        };
        match booked.iter().find(|step| &step.event_id == event_id) {
            None => differences.push(difference("missing_in_saldo", None)),
            Some(step) if step.kind != *kind => {
                differences.push(difference("kind_differs", Some(step.amount_minor)));
            }
            Some(step) if step.amount_minor != *amount_minor => {
                differences.push(difference("amount_differs", Some(step.amount_minor)));
            }
            Some(_) => matched += 1,
        }
    }
    for step in &booked {
        if !report
            .iter()
            .any(|(event_id, _, _)| *event_id == step.event_id)
        {
            differences.push(ReportDifference {
                event_id: step.event_id.clone(),
                issue: "missing_in_report".to_owned(),
                saldo_amount_minor: Some(step.amount_minor),
                report_amount_minor: None,
            });
        }
    }
    Ok(Reconciliation {
        totals,
        report_captured_minor,
        report_refunded_minor,
        matched,
        balanced: differences.is_empty(),
        differences,
    })
}
