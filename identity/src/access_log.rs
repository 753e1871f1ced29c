//! The access log (LED article 25): who consulted, created, changed or disclosed which person's
//! data, when, which fields, for what purpose, with what outcome. Append-only (a trigger refuses
//! UPDATE, DELETE and TRUNCATE). Rows name people by pseudonymous id only.
//!
//! [`record`] is the one writer. Identity-store reads call it in their own transaction, so a
//! consultation that is not logged cannot happen: if the row cannot be written, nothing is read.
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Why personal data is consulted. A closed list: free text could itself carry personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Admission,
    CaseManagement,
    BalanceEnquiry,
    Deposit,
    PrisonerRequest,
    ReleasePreparation,
    Complaint,
    DataSubjectRequest,
    Audit,
    PinManagement,
    /// Wages and allowances credited by a payroll import.
    Payroll,
    /// The prisoner at the kiosk, consulting their own data.
    SelfService,
    /// The outbox worker reads a person's data only to make sure none of it leaves for the
    /// processor (the egress guard), and records what it disclosed (a pseudonym, never data).
    EgressCheck,
    /// The retention run erasing what is due (system only).
    Retention,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Admission => "admission",
            Purpose::CaseManagement => "case_management",
            Purpose::BalanceEnquiry => "balance_enquiry",
            Purpose::Deposit => "deposit",
            Purpose::PrisonerRequest => "prisoner_request",
            Purpose::ReleasePreparation => "release_preparation",
            Purpose::Complaint => "complaint",
            Purpose::DataSubjectRequest => "data_subject_request",
            Purpose::Audit => "audit",
            Purpose::PinManagement => "pin_management",
            Purpose::Payroll => "payroll",
            Purpose::SelfService => "self_service",
            Purpose::EgressCheck => "egress_check",
            Purpose::Retention => "retention",
        }
    }

    /// Purposes staff may state for a consultation (not `self_service`, which is the prisoner's).
    pub fn parse_staff(text: &str) -> Option<Purpose> {
        [
            Purpose::Admission,
            Purpose::CaseManagement,
            Purpose::BalanceEnquiry,
            Purpose::Deposit,
            Purpose::PrisonerRequest,
            Purpose::ReleasePreparation,
            Purpose::Complaint,
            Purpose::DataSubjectRequest,
            Purpose::Audit,
            Purpose::PinManagement,
        ]
        .into_iter()
        .find(|purpose| purpose.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Staff,
    /// A prisoner at the kiosk.
    Prisoner,
    System,
}

impl ActorKind {
    fn as_str(self) -> &'static str {
        match self {
            ActorKind::Staff => "staff",
            ActorKind::Prisoner => "prisoner",
            ActorKind::System => "system",
        }
    }
}

/// Who is accessing, and why: passed to every identity-store function.
#[derive(Debug, Clone)]
pub struct Accessor {
    pub actor_kind: ActorKind,
    /// Staff account id, or the prisoner's person id at the kiosk.
    pub actor_id: Option<Uuid>,
    pub purpose: Purpose,
    pub case_ref: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Consult,
    Create,
    Change,
    Disclose,
    /// A record erased (crypto-shredded) by retention or on request.
    Erase,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Consult => "consult",
            Action::Create => "create",
            Action::Change => "change",
            Action::Disclose => "disclose",
            Action::Erase => "erase",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Prisoner,
    Depositor,
    AccessLog,
}

impl SubjectKind {
    fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Prisoner => "prisoner",
            SubjectKind::Depositor => "depositor",
            SubjectKind::AccessLog => "access_log",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied,
    NotFound,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not_found",
        }
    }
}

/// One access, as it goes into the log.
#[derive(Debug, Clone)]
pub struct Access<'a> {
    pub action: Action,
    pub subject_kind: SubjectKind,
    pub subject_person_id: Option<Uuid>,
    pub prison_id: Option<Uuid>,
    /// Field names only (`full_name`, `balances`…), never values.
    pub fields: &'a [&'a str],
    pub outcome: Outcome,
    /// For disclosures: to whom (an organisation or system name, never a person's name).
    pub recipient: Option<&'a str>,
}

/// Appends one row to the access log, on the caller's transaction.
pub async fn record(
    client: &impl GenericClient,
    who: &Accessor,
    access: &Access<'_>,
) -> Result<i64, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "insert into audit.access_log
                (actor_kind, actor_id, action, subject_kind, subject_person_id, prison_id, fields,
                 purpose, case_ref, recipient, outcome, request_id)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             returning id",
        )
        .await?;
    let fields: Vec<&str> = access.fields.to_vec();
    let row = client
        .query_one(
            &statement,
            &[
                &who.actor_kind.as_str(),
                &who.actor_id,
                &access.action.as_str(),
                &access.subject_kind.as_str(),
                &access.subject_person_id,
                &access.prison_id,
                &fields,
                &who.purpose.as_str(),
                &who.case_ref,
                &access.recipient,
                &access.outcome.as_str(),
                &who.request_id,
            ],
        )
        .await?;
    Ok(row.get("id"))
}

/// Why a refused access could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("database pool")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database error")]
    Database(tokio_postgres::Error),
}

ledger::database_error_from!(RecordError, Database);

/// Records a refused access on its own connection: the refused request's transaction (if any)
/// rolls back, the record of the refusal must not.
pub async fn record_denied(
    pool: &deadpool_postgres::Pool,
    who: &Accessor,
    access: &Access<'_>,
) -> Result<i64, RecordError> {
    let client = pool.get().await?;
    Ok(record(&client, who, access).await?)
}

/// A row of the log, as auditors see it.
#[derive(Debug, Clone, Serialize)]
pub struct LogRow {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub logged_at: OffsetDateTime,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub subject_kind: String,
    pub subject_person_id: Option<Uuid>,
    pub prison_id: Option<Uuid>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub case_ref: Option<String>,
    pub recipient: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub prison_id: Uuid,
    pub subject_person_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Keyset pagination: rows with a larger id than this.
    pub after_id: Option<i64>,
    pub limit: i64,
}

pub const MAX_SEARCH_PAGE: i64 = 500;

/// Searches the log within one prison. Reading the log is itself logged, in the same transaction.
pub async fn search(
    tx: &deadpool_postgres::Transaction<'_>,
    who: &Accessor,
    filter: &SearchFilter,
) -> Result<Vec<LogRow>, tokio_postgres::Error> {
    record(
        tx,
        who,
        &Access {
            action: Action::Consult,
            subject_kind: SubjectKind::AccessLog,
            subject_person_id: filter.subject_person_id,
            prison_id: Some(filter.prison_id),
            fields: &["access_log"],
            outcome: Outcome::Ok,
            recipient: None,
        },
    )
    .await?;
    let statement = tx
        .prepare_cached(
            "select id, logged_at, actor_kind, actor_id, action, subject_kind, subject_person_id,
                    prison_id, fields, purpose, case_ref, recipient, outcome, request_id
             from audit.access_log
             where prison_id = $1
               and ($2::uuid is null or subject_person_id = $2)
               and ($3::uuid is null or actor_id = $3)
               and ($4::timestamptz is null or logged_at >= $4)
               and ($5::timestamptz is null or logged_at < $5)
               and id > $6
             order by id limit $7",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &filter.prison_id,
                &filter.subject_person_id,
                &filter.actor_id,
                &filter.since,
                &filter.until,
                &filter.after_id.unwrap_or(0),
                &filter.limit.clamp(1, MAX_SEARCH_PAGE),
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| LogRow {
            id: row.get("id"),
            logged_at: row.get("logged_at"),
            actor_kind: row.get("actor_kind"),
            actor_id: row.get("actor_id"),
            action: row.get("action"),
            subject_kind: row.get("subject_kind"),
            subject_person_id: row.get("subject_person_id"),
            prison_id: row.get("prison_id"),
            fields: row.get("fields"),
            purpose: row.get("purpose"),
            case_ref: row.get("case_ref"),
            recipient: row.get("recipient"),
            outcome: row.get("outcome"),
            request_id: row.get("request_id"),
        })
        .collect())
}
