//! Subject access (LED Art. 14, GDPR Art. 15): everything Saldo holds about one person, as JSON
//! and as a plain-text document. The export is itself logged (purpose `data_subject_request`)
//! before it is read, so it lists its own consultation too.
use std::fmt::Write as _;

use deadpool_postgres::Transaction;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access_log::{self, Accessor, LogRow};
use crate::{DepositorView, PrisonerField, PrisonerView, RecordStatus, RestrictionReason, store};

#[derive(Debug, Clone, Serialize)]
pub struct AccountLine {
    pub account_id: Uuid,
    pub purpose: String,
    pub currency: String,
    /// The person's balance (what the service owes them), minor units.
    pub balance_minor: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransactionLine {
    pub posting_id: i64,
    pub entry_id: Uuid,
    pub account: String,
    /// Change of the person's balance: positive money in, negative money out.
    pub amount_minor: i64,
    pub currency: String,
    #[serde(with = "ledger::model::date_format")]
    pub effective_date: time::Date,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CardLine {
    pub card_id: String,
    pub state: String,
    pub last4: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthorizationLine {
    pub authorization_id: String,
    pub card_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub decision: Option<String>,
    pub requested_minor: i64,
    pub approved_minor: i64,
    pub currency: String,
    pub decline_reason: Option<String>,
    pub reason_key: Option<String>,
    pub source: String,
    pub merchant: Option<serde_json::Value>,
    pub channel: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DisclosureLine {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    pub method: String,
    pub path: String,
    pub pseudonym: Option<String>,
    pub field_names: Vec<String>,
    pub outcome: String,
    pub status_code: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionLine {
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub category: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectAccessExport {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub person_id: Uuid,
    /// `prisoner` or `depositor`.
    pub kind: &'static str,
    pub status: Option<RecordStatus>,
    pub prisoner: Option<PrisonerView>,
    pub depositor: Option<DepositorView>,
    pub accounts: Vec<AccountLine>,
    pub transactions: Vec<TransactionLine>,
    pub cards: Vec<CardLine>,
    /// Card payments asked for, and how each was decided and why.
    pub authorizations: Vec<AuthorizationLine>,
    /// Who consulted, changed or disclosed the person's data, when and why.
    pub consultations: Vec<LogRow>,
    /// What was sent to the card processor under the person's pseudonym (field names, never
    /// values: the values were the pseudonym and amounts).
    pub processor_disclosures: Vec<DisclosureLine>,
    pub retention: Vec<RetentionLine>,
}

/// Builds the export. `prison_scope`: staff see only persons of their prison (None: the CLI).
/// Returns None when no such person exists (in that prison).
pub async fn export(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_scope: Option<Uuid>,
    person_id: Uuid,
) -> anyhow::Result<Option<SubjectAccessExport>> {
    let mut fields = PrisonerField::RECORD.to_vec();
    fields.extend([
        PrisonerField::Balances,
        PrisonerField::Statement,
        PrisonerField::Card,
    ]);
    let prisoner = store::access_prisoner(
        tx,
        who,
        prison_scope,
        person_id,
        access_log::Action::Consult,
        &fields,
    )
    .await?;
    let (kind, status, depositor) = match &prisoner {
        Some(_) => (
            "prisoner",
            store::prisoner_status(tx, who, person_id).await?,
            None,
        ),
        None if prison_scope.is_none() => {
            let depositor = store::consult_depositor(tx, who, person_id).await?;
            if depositor.is_none() {
                return Ok(None);
            }
            ("depositor", None, depositor)
        }
        None => return Ok(None),
    };
    let accounts = accounts(tx, person_id).await?;
    let transactions = transactions(tx, person_id).await?;
    let cards = cards(tx, person_id).await?;
    let authorizations = authorizations(tx, person_id).await?;
    let consultations = consultations(tx, person_id).await?;
    let processor_disclosures = processor_disclosures(tx, person_id).await?;
    let retention = retention(tx, person_id).await?;
    Ok(Some(SubjectAccessExport {
        generated_at: OffsetDateTime::now_utc(),
        person_id,
        kind,
        status,
        prisoner,
        depositor,
        accounts,
        transactions,
        cards,
        authorizations,
        consultations,
        processor_disclosures,
        retention,
    }))
}

/// The person's accounts with their balances in each account's normal direction.
async fn accounts(
    tx: &Transaction<'_>,
    person_id: Uuid,
) -> Result<Vec<AccountLine>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "select a.id, a.purpose, a.currency::text as currency,
                coalesce(sum(p.amount_minor), 0)::bigint
                  * case when a.account_type in ('asset', 'expense') then 1 else -1 end
                  as balance_minor,
                a.closed_at
         from ledger_accounts a left join journal_postings p on p.account_id = a.id
         where a.person_id = $1 group by a.id order by a.purpose, a.currency",
            &[&person_id],
        )
        .await?
        .iter()
        .map(|row| AccountLine {
            account_id: row.get("id"),
            purpose: row.get("purpose"),
            currency: row.get("currency"),
            balance_minor: row.get("balance_minor"),
            closed_at: row.get("closed_at"),
        })
        .collect())
}

/// Every posting on the person's accounts, in the account's normal direction.
async fn transactions(
    tx: &Transaction<'_>,
    person_id: Uuid,
) -> Result<Vec<TransactionLine>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "select p.id, p.entry_id, a.purpose,
                p.amount_minor * case when a.account_type in ('asset', 'expense') then 1 else -1 end
                  as amount_minor,
                p.currency::text as currency, e.effective_date, e.recorded_at, e.description
         from journal_postings p
         join ledger_accounts a on a.id = p.account_id
         join journal_entries e on e.id = p.entry_id
         where a.person_id = $1 order by p.id",
            &[&person_id],
        )
        .await?
        .iter()
        .map(|row| TransactionLine {
            posting_id: row.get("id"),
            entry_id: row.get("entry_id"),
            account: row.get("purpose"),
            amount_minor: row.get("amount_minor"),
            currency: row.get("currency"),
            effective_date: row.get("effective_date"),
            recorded_at: row.get("recorded_at"),
            description: row.get("description"),
        })
        .collect())
}

/// The person's payment cards.
async fn cards(
    tx: &Transaction<'_>,
    person_id: Uuid,
) -> Result<Vec<CardLine>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "select card_id, state, last4, created_at from card.cards
         where person_id = $1 order by created_at",
            &[&person_id],
        )
        .await?
        .iter()
        .map(|row| CardLine {
            card_id: row.get("card_id"),
            state: row.get("state"),
            last4: row.get("last4"),
            created_at: row.get("created_at"),
        })
        .collect())
}

/// Every card payment asked for on the person's cards, and how it was decided.
async fn authorizations(
    tx: &Transaction<'_>,
    person_id: Uuid,
) -> Result<Vec<AuthorizationLine>, tokio_postgres::Error> {
    Ok(tx
    .query(
        "select a.authorization_id, a.card_id, a.created_at, a.decision, a.requested_minor,
                a.approved_minor, a.currency::text as currency, a.decline_reason, a.reason_key, a.source,
                a.merchant, a.channel
         from card.authorizations a join card.cards c on c.card_id = a.card_id
         where c.person_id = $1 order by a.created_at, a.authorization_id",
        &[&person_id],
    )
    .await?
    .iter()
    .map(|row| AuthorizationLine {
        authorization_id: row.get("authorization_id"),
        card_id: row.get("card_id"),
        created_at: row.get("created_at"),
        decision: row.get("decision"),
        requested_minor: row.get("requested_minor"),
        approved_minor: row.get("approved_minor"),
        currency: row.get("currency"),
        decline_reason: row.get("decline_reason"),
        reason_key: row.get("reason_key"),
        source: row.get("source"),
        merchant: row.get("merchant"),
        channel: row.get("channel"),
    })
    .collect())
}

/// Every access-log row about the person.
async fn consultations(
    tx: &Transaction<'_>,
    person_id: Uuid,
) -> Result<Vec<LogRow>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "select id, logged_at, actor_kind, actor_id, action, subject_kind, subject_person_id,
                prison_id, fields, purpose, case_ref, recipient, outcome, request_id
         from audit.access_log where subject_person_id = $1 order by id",
            &[&person_id],
        )
        .await?
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

/// What went to the card processor about the person (field names only).
async fn processor_disclosures(
    tx: &Transaction<'_>,
    person_id: Uuid,
) -> Result<Vec<DisclosureLine>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "select id, sent_at, method, path, pseudonym, field_names, outcome, status_code
         from card.egress_register where person_id = $1 order by id",
            &[&person_id],
        )
        .await?
        .iter()
        .map(|row| DisclosureLine {
            id: row.get("id"),
            sent_at: row.get("sent_at"),
            method: row.get("method"),
            path: row.get("path"),
            pseudonym: row.get("pseudonym"),
            field_names: row.get("field_names"),
            outcome: row.get("outcome"),
            status_code: row.get("status_code"),
        })
        .collect())
}

/// Retention runs that touched the person's data.
async fn retention(
    tx: &Transaction<'_>,
    person_id: Uuid,
) -> Result<Vec<RetentionLine>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "select recorded_at, category, outcome from audit.retention_log
         where subject_person_id = $1 order by id",
            &[&person_id],
        )
        .await?
        .iter()
        .map(|row| RetentionLine {
            recorded_at: row.get("recorded_at"),
            category: row.get("category"),
            outcome: row.get("outcome"),
        })
        .collect())
}

fn time_text(time: OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02} {currency}",
        minor.unsigned_abs() / 100,
        minor.unsigned_abs() % 100
    )
}

/// The export as a plain-text document for the person.
pub fn render_text(export: &SubjectAccessExport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "SUBJECT ACCESS: everything held about one person");
    let _ = writeln!(out, "Generated: {}", time_text(export.generated_at));
    let _ = writeln!(out, "Reference (pseudonymous id): {}", export.person_id);
    let _ = writeln!(out, "Kind: {}\n", export.kind);
    let _ = writeln!(out, "1. Identity record");
    if let Some(p) = &export.prisoner {
        let line = |label: &str, value: Option<String>| {
            format!("   {label:<20} {}\n", value.unwrap_or_else(|| "—".into()))
        };
        out.push_str(&line("Prisoner number", p.prisoner_number.clone()));
        out.push_str(&line("Name", p.full_name.clone()));
        out.push_str(&line("National id", p.national_id.clone()));
        out.push_str(&line(
            "Date of birth",
            p.date_of_birth.map(|d| d.to_string()),
        ));
        out.push_str(&line(
            "Language",
            p.preferred_language.map(|l| l.as_str().to_owned()),
        ));
        out.push_str(&line("Unit", p.unit.clone()));
        out.push_str(&line("Payout account", p.payout_iban.clone()));
        out.push_str(&line("Admitted", p.admitted_at.map(time_text)));
    }
    if let Some(d) = &export.depositor {
        let _ = writeln!(
            out,
            "   Name: {}\n   Contact: {}\n   Bank account: {}",
            d.full_name.as_deref().unwrap_or("—"),
            d.contact.as_deref().unwrap_or("—"),
            d.bank_account.as_deref().unwrap_or("—")
        );
    }
    if let Some(s) = &export.status {
        let _ = writeln!(
            out,
            "   Released: {}\n   Restricted: {}\n   Erased: {}",
            s.released_at.map(time_text).unwrap_or_else(|| "—".into()),
            s.restriction_reason.map_or("no", RestrictionReason::as_str),
            s.erased_at.map(time_text).unwrap_or_else(|| "no".into())
        );
    }
    let _ = writeln!(out, "\n2. Accounts");
    for a in &export.accounts {
        let _ = writeln!(
            out,
            "   {:<20} {:>16}{}",
            a.purpose,
            money(a.balance_minor, &a.currency),
            if a.closed_at.is_some() {
                " (closed)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(out, "\n3. Transactions");
    for t in &export.transactions {
        let _ = writeln!(
            out,
            "   {} {:<16} {:>14}  {}",
            t.effective_date,
            t.account,
            money(t.amount_minor, &t.currency),
            t.description
        );
    }
    let _ = writeln!(out, "\n4. Cards and card payment decisions");
    for c in &export.cards {
        let _ = writeln!(
            out,
            "   card {} {} since {}",
            c.card_id,
            c.state,
            time_text(c.created_at)
        );
    }
    for a in &export.authorizations {
        let _ = writeln!(
            out,
            "   {} {} {} asked, {} approved; reason: {}",
            time_text(a.created_at),
            a.decision.as_deref().unwrap_or("pending"),
            money(a.requested_minor, &a.currency),
            money(a.approved_minor, &a.currency),
            a.reason_key
                .as_deref()
                .or(a.decline_reason.as_deref())
                .unwrap_or("—")
        );
    }
    let _ = writeln!(out, "\n5. Who consulted or changed this data");
    for c in &export.consultations {
        let _ = writeln!(
            out,
            "   {} {} {} {} [{}] purpose {} -> {}",
            time_text(c.logged_at),
            c.actor_kind,
            c.actor_id.map(|id| id.to_string()).unwrap_or_default(),
            c.action,
            c.fields.join(", "),
            c.purpose,
            c.outcome
        );
    }
    let _ = writeln!(
        out,
        "\n6. Sent to the card processor (under a pseudonym only)"
    );
    for d in &export.processor_disclosures {
        let _ = writeln!(
            out,
            "   {} {} {} as {} fields [{}] {}",
            time_text(d.sent_at),
            d.method,
            d.path,
            d.pseudonym.as_deref().unwrap_or("—"),
            d.field_names.join(", "),
            d.outcome
        );
    }
    let _ = writeln!(out, "\n7. Retention");
    for r in &export.retention {
        let _ = writeln!(
            out,
            "   {} {} {}",
            time_text(r.recorded_at),
            r.category,
            r.outcome
        );
    }
    out
}
