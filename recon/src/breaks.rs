//! The break workflow: assign, comment, resolve by an adjusting entry that a second person
//! approves (four-eyes), or accept with a reason. Every step is an append-only event.

use deadpool_postgres::{GenericClient, Pool};
use ledger::{Currency, EntryDraft, ExternalRef, Overdraft, PostingDraft};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{ReconError, ReconResult, ref_kind};

const MAX_TEXT_CHARS: usize = 2000;
const MAX_LIST: i64 = 500;

/// Where a break was found: in a settlement file or on a bank statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakSource {
    Settlement,
    Bank,
}

/// Where a break stands: open or assigned until it is resolved (by an adjusting entry, or by
/// the difference catching up) or accepted with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakState {
    Open,
    Assigned,
    Resolved,
    Accepted,
}

/// An adjusting entry's four-eyes decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentState {
    Proposed,
    Approved,
    Rejected,
}

/// `as_str`, `Display` and a `FromStr` that refuses anything it does not know, for an enum
/// stored as text.
macro_rules! stored_text {
    ($name:ident, $what:literal, $($variant:ident => $text:literal),+ $(,)?) => {
        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compared with its stored text, as callers and tests that read the JSON do.
        impl PartialEq<&str> for $name {
            fn eq(&self, text: &&str) -> bool {
                self.as_str() == *text
            }
        }

        impl std::str::FromStr for $name {
            type Err = ReconError;

            fn from_str(text: &str) -> ReconResult<$name> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| {
                        ReconError::Invalid(format!(concat!("unknown ", $what, " {:?}"), text))
                    })
            }
        }
    };
}

stored_text!(BreakSource, "break source", Settlement => "settlement", Bank => "bank");
stored_text!(
    BreakState,
    "break state",
    Open => "open",
    Assigned => "assigned",
    Resolved => "resolved",
    Accepted => "accepted",
);
stored_text!(
    AdjustmentState,
    "adjustment state",
    Proposed => "proposed",
    Approved => "approved",
    Rejected => "rejected",
);

impl BreakState {
    /// Open or assigned: still to be worked on.
    pub fn is_open(self) -> bool {
        matches!(self, BreakState::Open | BreakState::Assigned)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Break {
    pub id: Uuid,
    pub source: BreakSource,
    pub class: String,
    #[serde(with = "ledger::date_format")]
    pub business_date: Date,
    pub import_id: Option<Uuid>,
    pub line_no: Option<i64>,
    pub entry_id: Option<Uuid>,
    pub reference: Option<String>,
    pub amount_minor: Option<i64>,
    pub ledger_amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub explanation: String,
    pub state: BreakState,
    pub assignee: Option<String>,
    pub resolution: Option<String>,
    pub resolution_entry_id: Option<Uuid>,
    pub accepted_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakEvent {
    pub kind: String,
    pub actor: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdjustmentPosting {
    /// A ledger account code, e.g. `institution:suspense:EUR`.
    pub account_code: String,
    /// Debit positive, credit negative.
    pub amount_minor: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdjustmentRef {
    pub kind: String,
    pub value: String,
}

/// The entry a clerk proposes to correct a break.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdjustmentDraft {
    #[serde(with = "ledger::date_format")]
    pub effective_date: Date,
    pub description: String,
    pub postings: Vec<AdjustmentPosting>,
    /// E.g. the `processor_transaction` or `bank_end_to_end` reference the ledger lacked, so
    /// later matching finds the entry.
    #[serde(default)]
    pub external_refs: Vec<AdjustmentRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Adjustment {
    pub id: Uuid,
    pub break_id: Uuid,
    pub proposed_by: String,
    pub draft: serde_json::Value,
    pub state: AdjustmentState,
    pub decided_by: Option<String>,
    pub entry_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakDetail {
    #[serde(flatten)]
    pub item: Break,
    pub events: Vec<BreakEvent>,
    pub adjustments: Vec<Adjustment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BreakFilter {
    pub state: Option<String>,
    pub class: Option<String>,
    #[serde(default, with = "optional_date")]
    pub from: Option<Date>,
    #[serde(default, with = "optional_date")]
    pub to: Option<Date>,
    pub limit: Option<i64>,
}

mod optional_date {
    use serde::{Deserialize, Deserializer};
    use time::Date;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) if text.is_empty() => Ok(None),
            Some(text) => Date::parse(&text, &time::format_description::well_known::Iso8601::DATE)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

const BREAK_COLUMNS: &str = "id, source, class, business_date, import_id, line_no, entry_id,
    reference, amount_minor, ledger_amount_minor, currency::text as currency, explanation, state, assignee,
    resolution, resolution_entry_id, accepted_reason, created_at";

fn break_from_row(row: &tokio_postgres::Row) -> ReconResult<Break> {
    Ok(Break {
        id: row.get("id"),
        source: row.get::<_, &str>("source").parse()?,
        class: row.get("class"),
        business_date: row.get("business_date"),
        import_id: row.get("import_id"),
        line_no: row.get("line_no"),
        entry_id: row.get("entry_id"),
        reference: row.get("reference"),
        amount_minor: row.get("amount_minor"),
        ledger_amount_minor: row.get("ledger_amount_minor"),
        currency: row.get("currency"),
        explanation: row.get("explanation"),
        state: row.get::<_, &str>("state").parse()?,
        assignee: row.get("assignee"),
        resolution: row.get("resolution"),
        resolution_entry_id: row.get("resolution_entry_id"),
        accepted_reason: row.get("accepted_reason"),
        created_at: row.get("created_at"),
    })
}

fn checked_text(what: &str, text: &str) -> ReconResult<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_TEXT_CHARS {
        return Err(ReconError::Invalid(format!(
            "{what} must be 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(trimmed.to_owned())
}

fn checked_actor(actor: &str) -> ReconResult<String> {
    let actor = actor.trim();
    if actor.is_empty() || actor.len() > 200 {
        return Err(ReconError::Invalid("a staff id is required".into()));
    }
    Ok(actor.to_owned())
}

pub async fn list_breaks(pool: &Pool, filter: &BreakFilter) -> ReconResult<Vec<Break>> {
    let client = pool.get().await?;
    let limit = filter.limit.unwrap_or(100).clamp(1, MAX_LIST);
    let rows = client
        .query(
            &format!(
                "select {BREAK_COLUMNS} from recon.breaks
                 where ($1::text is null or state = $1) and ($2::text is null or class = $2)
                   and ($3::date is null or business_date >= $3)
                   and ($4::date is null or business_date <= $4)
                 order by business_date desc, created_at, id limit $5"
            ),
            &[
                &filter.state,
                &filter.class,
                &filter.from,
                &filter.to,
                &limit,
            ],
        )
        .await?;
    rows.iter().map(break_from_row).collect()
}

async fn load_break(client: &impl GenericClient, break_id: Uuid, lock: bool) -> ReconResult<Break> {
    let sql = format!(
        "select {BREAK_COLUMNS} from recon.breaks where id = $1{}",
        if lock { " for update" } else { "" }
    );
    client
        .query_opt(&sql, &[&break_id])
        .await?
        .map(|row| break_from_row(&row))
        .ok_or(ReconError::NotFound("break"))?
}

pub async fn get_break(pool: &Pool, break_id: Uuid) -> ReconResult<BreakDetail> {
    let client = pool.get().await?;
    let item = load_break(&client, break_id, false).await?;
    let events = client
        .query(
            "select kind, actor, body, recorded_at from recon.break_events
             where break_id = $1 order by id",
            &[&break_id],
        )
        .await?
        .iter()
        .map(|row| BreakEvent {
            kind: row.get("kind"),
            actor: row.get("actor"),
            body: row.get("body"),
            recorded_at: row.get("recorded_at"),
        })
        .collect();
    let adjustments = client
        .query(
            "select id, break_id, proposed_by, draft, state, decided_by, entry_id
             from recon.adjustments where break_id = $1 order by proposed_at",
            &[&break_id],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(Adjustment {
                id: row.get("id"),
                break_id: row.get("break_id"),
                proposed_by: row.get("proposed_by"),
                draft: row.get("draft"),
                state: row.get::<_, &str>("state").parse()?,
                decided_by: row.get("decided_by"),
                entry_id: row.get("entry_id"),
            })
        })
        .collect::<ReconResult<_>>()?;
    Ok(BreakDetail {
        item,
        events,
        adjustments,
    })
}

async fn add_event(
    client: &impl GenericClient,
    break_id: Uuid,
    kind: &str,
    actor: &str,
    body: &str,
) -> ReconResult<()> {
    client
        .execute(
            "insert into recon.break_events (break_id, kind, actor, body) values ($1, $2, $3, $4)",
            &[&break_id, &kind, &actor, &body],
        )
        .await?;
    Ok(())
}

fn require_open(item: &Break) -> ReconResult<()> {
    if item.state.is_open() {
        Ok(())
    } else {
        Err(ReconError::Conflict(format!(
            "the break is {} already",
            item.state
        )))
    }
}

pub async fn assign(
    pool: &Pool,
    break_id: Uuid,
    assignee: &str,
    actor: &str,
) -> ReconResult<Break> {
    let assignee = checked_actor(assignee)?;
    let actor = checked_actor(actor)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let item = load_break(&tx, break_id, true).await?;
    require_open(&item)?;
    tx.execute(
        "update recon.breaks set state = 'assigned', assignee = $2 where id = $1",
        &[&break_id, &assignee],
    )
    .await?;
    add_event(
        &tx,
        break_id,
        "assigned",
        &actor,
        &format!("assigned to {assignee}"),
    )
    .await?;
    let item = load_break(&tx, break_id, false).await?;
    tx.commit().await?;
    Ok(item)
}

/// Comments are appended, never edited; closed breaks can still be commented on.
pub async fn comment(pool: &Pool, break_id: Uuid, actor: &str, body: &str) -> ReconResult<()> {
    let actor = checked_actor(actor)?;
    let body = checked_text("a comment", body)?;
    let client = pool.get().await?;
    load_break(&client, break_id, false).await?;
    add_event(&client, break_id, "comment", &actor, &body).await
}

pub async fn accept(pool: &Pool, break_id: Uuid, actor: &str, reason: &str) -> ReconResult<Break> {
    let actor = checked_actor(actor)?;
    let reason = checked_text("a reason", reason)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let item = load_break(&tx, break_id, true).await?;
    require_open(&item)?;
    if tx
        .query_opt(
            "select 1 from recon.adjustments where break_id = $1 and state = 'proposed'",
            &[&break_id],
        )
        .await?
        .is_some()
    {
        return Err(ReconError::Conflict(
            "an adjusting entry is waiting for approval: approve or reject it first".into(),
        ));
    }
    tx.execute(
        "update recon.breaks set state = 'accepted', accepted_reason = $2,
                closed_at = clock_timestamp() where id = $1",
        &[&break_id, &reason],
    )
    .await?;
    add_event(&tx, break_id, "accepted", &actor, &reason).await?;
    let item = load_break(&tx, break_id, false).await?;
    tx.commit().await?;
    Ok(item)
}

async fn resolve_postings(
    client: &impl GenericClient,
    draft: &AdjustmentDraft,
) -> ReconResult<Vec<PostingDraft>> {
    let mut postings = Vec::with_capacity(draft.postings.len());
    for posting in &draft.postings {
        let account = ledger::store::account_by_code(client, &posting.account_code)
            .await?
            .ok_or_else(|| {
                ReconError::Invalid(format!("no account with code {}", posting.account_code))
            })?;
        postings.push(PostingDraft {
            account_id: account.id,
            amount: ledger::Money::new(posting.amount_minor, posting.currency),
        });
    }
    ledger::store::validate_postings(&postings)?;
    Ok(postings)
}

/// Proposes the entry that would correct the break; it is posted only when someone else
/// approves it.
pub async fn propose_adjustment(
    pool: &Pool,
    break_id: Uuid,
    actor: &str,
    draft: &AdjustmentDraft,
) -> ReconResult<Adjustment> {
    let actor = checked_actor(actor)?;
    checked_text("a description", &draft.description)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let item = load_break(&tx, break_id, true).await?;
    require_open(&item)?;
    resolve_postings(&tx, draft).await?;
    let id = Uuid::now_v7();
    let draft_json = serde_json::to_value(draft)
        .map_err(|_| ReconError::Invalid("the draft cannot be stored".into()))?;
    let inserted = tx
        .execute(
            "insert into recon.adjustments (id, break_id, proposed_by, draft)
             values ($1, $2, $3, $4) on conflict do nothing",
            &[&id, &break_id, &actor, &draft_json],
        )
        .await?;
    if inserted == 0 {
        return Err(ReconError::Conflict(
            "another adjusting entry is already waiting for approval".into(),
        ));
    }
    add_event(
        &tx,
        break_id,
        "proposed",
        &actor,
        &format!("proposed adjusting entry {id}: {}", draft.description),
    )
    .await?;
    tx.commit().await?;
    Ok(Adjustment {
        id,
        break_id,
        proposed_by: actor,
        draft: draft_json,
        state: AdjustmentState::Proposed,
        decided_by: None,
        entry_id: None,
    })
}

async fn lock_adjustment(
    tx: &deadpool_postgres::Transaction<'_>,
    adjustment_id: Uuid,
) -> ReconResult<(Uuid, String, serde_json::Value)> {
    let row = tx
        .query_opt(
            "select break_id, proposed_by, draft, state from recon.adjustments
             where id = $1 for update",
            &[&adjustment_id],
        )
        .await?
        .ok_or(ReconError::NotFound("adjustment"))?;
    let state: AdjustmentState = row.get::<_, &str>("state").parse()?;
    if state != AdjustmentState::Proposed {
        return Err(ReconError::Conflict(format!(
            "the adjustment is {state} already"
        )));
    }
    Ok((
        row.get("break_id"),
        row.get("proposed_by"),
        row.get("draft"),
    ))
}

/// Four-eyes: a second person approves, and only then is the entry posted and the break
/// resolved. The database refuses the same person too (a check constraint).
pub async fn approve_adjustment(
    pool: &Pool,
    adjustment_id: Uuid,
    actor: &str,
) -> ReconResult<Break> {
    let actor = checked_actor(actor)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let (break_id, proposed_by, draft_json) = lock_adjustment(&tx, adjustment_id).await?;
    if proposed_by == actor {
        return Err(ReconError::SamePerson);
    }
    let item = load_break(&tx, break_id, true).await?;
    require_open(&item)?;
    let draft: AdjustmentDraft = serde_json::from_value(draft_json)
        .map_err(|_| ReconError::Invalid("the stored draft cannot be read".into()))?;
    let postings = resolve_postings(&tx, &draft).await?;
    let mut external_refs: Vec<ExternalRef> = draft
        .external_refs
        .iter()
        .map(|r| ExternalRef {
            kind: r.kind.clone(),
            value: r.value.clone(),
            unique: true,
        })
        .collect();
    external_refs.push(ExternalRef {
        kind: ref_kind::RECON_BREAK.into(),
        value: break_id.to_string(),
        unique: true,
    });
    let entry = ledger::store::post_entry(
        &tx,
        &EntryDraft {
            idempotency_key: format!("recon:adjustment:{adjustment_id}"),
            effective_date: draft.effective_date,
            description: draft.description.clone(),
            metadata: serde_json::json!({
                "recon_break_id": break_id,
                "adjustment_id": adjustment_id,
                "proposed_by": proposed_by,
                "approved_by": actor,
            }),
            external_refs,
            postings,
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    tx.execute(
        "update recon.adjustments set state = 'approved', decided_by = $2,
                decided_at = clock_timestamp(), entry_id = $3 where id = $1",
        &[&adjustment_id, &actor, &entry.id],
    )
    .await?;
    tx.execute(
        "update recon.breaks set state = 'resolved', resolution = 'adjusting_entry',
                resolution_entry_id = $2, closed_at = clock_timestamp() where id = $1",
        &[&break_id, &entry.id],
    )
    .await?;
    // A bank line the ledger lacked is now accounted for by this entry.
    if item.source == BreakSource::Bank
        && let (Some(import_id), Some(line_no)) = (item.import_id, item.line_no)
    {
        tx.execute(
            "update recon.bank_lines set entry_id = $3
             where import_id = $1 and line_no = $2 and entry_id is null",
            &[&import_id, &line_no, &entry.id],
        )
        .await?;
    }
    add_event(
        &tx,
        break_id,
        "approved",
        &actor,
        &format!("approved adjusting entry {adjustment_id}, proposed by {proposed_by}; posted as ledger entry {}", entry.id),
    )
    .await?;
    let item = load_break(&tx, break_id, false).await?;
    tx.commit().await?;
    Ok(item)
}

pub async fn reject_adjustment(
    pool: &Pool,
    adjustment_id: Uuid,
    actor: &str,
    reason: &str,
) -> ReconResult<()> {
    let actor = checked_actor(actor)?;
    let reason = checked_text("a reason", reason)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let (break_id, proposed_by, _) = lock_adjustment(&tx, adjustment_id).await?;
    if proposed_by == actor {
        return Err(ReconError::SamePerson);
    }
    tx.execute(
        "update recon.adjustments set state = 'rejected', decided_by = $2,
                decided_at = clock_timestamp() where id = $1",
        &[&adjustment_id, &actor],
    )
    .await?;
    add_event(
        &tx,
        break_id,
        "rejected",
        &actor,
        &format!("rejected adjusting entry {adjustment_id}: {reason}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Files the bank rail's breaks of an import (`returned_to_sender`): one per bank line's
/// end-to-end reference, so an overlapping statement files none again.
pub async fn file_rail_breaks(
    tx: &deadpool_postgres::Transaction<'_>,
    import_id: Uuid,
    rail_breaks: &[super::RailBreak],
) -> ReconResult<()> {
    let insert = tx
        .prepare_cached(
            "insert into recon.breaks (id, break_key, source, class, business_date, import_id,
                 line_no, reference, amount_minor, currency, explanation)
             values (gen_random_uuid(), 'returned:' || $1, 'bank', 'returned_to_sender', $2, $3,
                 $4, $1, $5, $6, $7)
             on conflict (break_key) do nothing",
        )
        .await?;
    for rail_break in rail_breaks {
        let line_no = i64::try_from(rail_break.line_no).map_err(|_| ReconError::Overflow)?;
        tx.execute(
            &insert,
            &[
                &rail_break.end_to_end_id,
                &rail_break.booking_date,
                &import_id,
                &line_no,
                &rail_break.amount_minor,
                &rail_break.currency.code(),
                &rail_break.explanation,
            ],
        )
        .await?;
    }
    Ok(())
}
