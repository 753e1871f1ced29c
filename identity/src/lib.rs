//! The identity store: the one place that holds personal data (prisoners, depositors) and the
//! prisons they belong to. Everything else names people by pseudonymous `person_id`.
//!
//! All access goes through [`store`]: reads write an access log row in the same transaction, and
//! records are sealed at rest there with per-person data keys ([`crypto`]).
//!
//! This crate is the only one that holds or decrypts personal data. Besides the store it has
//! the [`access_log`] (who consulted whose data, and why), its tamper evidence ([`log_seal`]),
//! [`retention`] and erasure, [`subject_access`] exports and the declared data location
//! ([`residency`]). It depends on `ledger` only; errors are domain errors, which the HTTP layer
//! maps to problem+json.
pub mod access_log;
pub mod crypto;
pub mod log_seal;
pub mod pms_feed;
pub mod residency;
pub mod retention;
pub mod store;
pub mod subject_access;
pub mod validate;

use ledger::controls::Lang;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// The legal regime a personal record falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Law Enforcement Directive (EU) 2016/680: prisoners.
    Led,
    /// GDPR: depositors and other outside persons.
    Gdpr,
}

impl Regime {
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Led => "led",
            Regime::Gdpr => "gdpr",
        }
    }
}

/// A regime as stored (`led`, `gdpr`); anything else is an error, never a default.
impl std::str::FromStr for Regime {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Regime, IdentityError> {
        [Regime::Led, Regime::Gdpr]
            .into_iter()
            .find(|regime| regime.as_str() == text)
            .ok_or(IdentityError::Invalid(
                "regime_invalid",
                "a regime is led or gdpr",
            ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prison {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub country: String,
    /// The kiosk's language before a prisoner signs in; `None`: the country's.
    pub default_language: Option<ledger::controls::Lang>,
}

#[derive(Debug, Clone)]
pub struct NewPrison {
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub country: String,
}

/// What admission records about a prisoner.
#[derive(Debug, Clone)]
pub struct NewPrisoner {
    pub prisoner_number: String,
    pub full_name: String,
    pub national_id: Option<String>,
    pub date_of_birth: Option<Date>,
    pub preferred_language: Lang,
    pub unit: Option<String>,
    pub payout_iban: Option<String>,
}

/// The fields of a prisoner's record, and the ledger data about them, that an access names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrisonerField {
    PrisonerNumber,
    FullName,
    NationalId,
    DateOfBirth,
    PreferredLanguage,
    Unit,
    PayoutIban,
    /// Ledger data about the person, consulted through the identity store's gate.
    Balances,
    Statement,
    Deposit,
    Pin,
    /// The prisoner's payment card (freeze, unfreeze, replacement).
    Card,
    /// A ledger adjustment proposed or decided by finance staff.
    Adjustment,
    /// Where the person is placed (transfer, leave, release).
    Placement,
    /// Wages or allowances credited by a payroll import.
    Payroll,
    /// The person's spending controls (a per-person policy override).
    SpendingControls,
    /// The prison-management system's reference linked to the person (`pms_feed`).
    PmsReference,
}

impl PrisonerField {
    /// Every field of the record itself (not the ledger data).
    pub const RECORD: [PrisonerField; 7] = [
        PrisonerField::PrisonerNumber,
        PrisonerField::FullName,
        PrisonerField::NationalId,
        PrisonerField::DateOfBirth,
        PrisonerField::PreferredLanguage,
        PrisonerField::Unit,
        PrisonerField::PayoutIban,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PrisonerField::PrisonerNumber => "prisoner_number",
            PrisonerField::FullName => "full_name",
            PrisonerField::NationalId => "national_id",
            PrisonerField::DateOfBirth => "date_of_birth",
            PrisonerField::PreferredLanguage => "preferred_language",
            PrisonerField::Unit => "unit",
            PrisonerField::PayoutIban => "payout_iban",
            PrisonerField::Balances => "balances",
            PrisonerField::Statement => "statement",
            PrisonerField::Deposit => "deposit",
            PrisonerField::Pin => "pin",
            PrisonerField::Card => "card",
            PrisonerField::Adjustment => "adjustment",
            PrisonerField::Placement => "placement",
            PrisonerField::Payroll => "payroll",
            PrisonerField::SpendingControls => "spending_controls",
            PrisonerField::PmsReference => "pms_reference",
        }
    }
}

/// A prisoner's record as one access sees it: only the fields it asked for (and logged) are
/// filled; the others are `None`.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct PrisonerView {
    pub person_id: Uuid,
    pub regime: Option<Regime>,
    pub prison_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prisoner_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub national_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_date"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<Lang>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payout_iban: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub admitted_at: Option<OffsetDateTime>,
}

fn serialize_date<S: serde::Serializer>(
    date: &Option<Date>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => ledger::model::date_format::serialize(date, serializer),
        None => serializer.serialize_none(),
    }
}

#[derive(Debug, Clone)]
pub struct NewDepositor {
    pub full_name: String,
    pub contact: Option<String>,
    pub bank_account: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("database error")]
    Database(tokio_postgres::Error),
    #[error("that prisoner number is already in use")]
    PrisonerNumberTaken,
    #[error("that prison code is already in use")]
    PrisonCodeTaken,
    #[error("{1}")]
    Invalid(&'static str, &'static str),
    /// A record could not be sealed or opened (a missing or wrong key). Never carries data.
    #[error("identity keys: {0}")]
    Keys(#[from] crypto::KeyError),
}

ledger::database_error_from!(IdentityError, Database);

/// Why processing of a record is restricted (LED Art. 16(3), GDPR Art. 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionReason {
    /// The person contests the accuracy; restricted while it is checked.
    AccuracyContested,
    /// Kept as evidence instead of being erased.
    Evidence,
    UnlawfulProcessing,
    LegalClaims,
    Objection,
}

impl RestrictionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RestrictionReason::AccuracyContested => "accuracy_contested",
            RestrictionReason::Evidence => "evidence",
            RestrictionReason::UnlawfulProcessing => "unlawful_processing",
            RestrictionReason::LegalClaims => "legal_claims",
            RestrictionReason::Objection => "objection",
        }
    }

    pub const ALL: [RestrictionReason; 5] = [
        RestrictionReason::AccuracyContested,
        RestrictionReason::Evidence,
        RestrictionReason::UnlawfulProcessing,
        RestrictionReason::LegalClaims,
        RestrictionReason::Objection,
    ];
}

/// A restriction reason as stored; anything else is an error, never a default.
impl std::str::FromStr for RestrictionReason {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<RestrictionReason, IdentityError> {
        RestrictionReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or(IdentityError::Invalid(
                "restriction_reason_invalid",
                "unknown restriction reason",
            ))
    }
}

/// A rectification: the fields given replace the record's (`Some(None)` clears an optional one).
#[derive(Debug, Clone, Default)]
pub struct Rectification {
    pub prisoner_number: Option<String>,
    pub full_name: Option<String>,
    pub national_id: Option<Option<String>>,
    pub date_of_birth: Option<Option<Date>>,
    pub preferred_language: Option<Lang>,
    pub unit: Option<Option<String>>,
    pub payout_iban: Option<Option<String>>,
}

/// What the identity store knows about a record besides its contents: no personal data
/// beyond dates.
#[derive(Debug, Clone, Serialize)]
pub struct RecordStatus {
    pub person_id: Uuid,
    pub regime: Regime,
    pub prison_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub restricted_at: Option<OffsetDateTime>,
    pub restriction_reason: Option<RestrictionReason>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub erased_at: Option<OffsetDateTime>,
    /// The master key version the record's data key is wrapped under (none once erased).
    pub master_key_version: Option<i32>,
}

/// A depositor's record, for the person's own subject-access export.
#[derive(Debug, Clone, Serialize)]
pub struct DepositorView {
    pub person_id: Uuid,
    pub registered_prison_id: Uuid,
    pub full_name: Option<String>,
    pub contact: Option<String>,
    pub bank_account: Option<String>,
}
