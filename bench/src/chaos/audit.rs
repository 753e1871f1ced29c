//! `saldo-chaos audit`: the database against the record. Every acknowledged decision is in
//! `card.authorizations` with the answered amount and its one hold; every acknowledged clearing
//! is one ledger entry; every acknowledged asynchronous message is in the inbox; each card's
//! balance is its balance at the start less what was cleared, and its holds are what the record
//! says is still open; and `saldo verify` finds nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use clap::Args;

use super::record::{self, Delivery, Line};

#[derive(Debug, Clone, Args)]
pub struct AuditOptions {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    #[arg(long)]
    pub record: PathBuf,
    /// Print the figures as one JSON object too.
    #[arg(long)]
    pub json: bool,
}

/// What the record says happened to one authorization.
#[derive(Debug, Default)]
struct Expected<'a> {
    card_id: &'a str,
    request: Option<&'a Delivery>,
    /// The first acknowledged answer to the request.
    answer: Option<&'a serde_json::Value>,
    cleared_minor: i64,
    clearings: Vec<&'a str>,
    timeout_advised: bool,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Figures {
    pub messages_sent: u64,
    pub deliveries: u64,
    pub acknowledged: u64,
    pub approved: u64,
    pub declined: u64,
    pub clearings: u64,
    pub advices: u64,
    pub redeliveries: u64,
    /// Acknowledged, then not (or not as answered) in the database.
    pub lost: u64,
    /// Applied more than once.
    pub duplicated: u64,
    /// Answers to redeliveries that differ from the first.
    pub changed_answers: u64,
    /// Requests neither answered nor advised: `redeliver` has not finished.
    pub unresolved: u64,
    pub balance_mismatches: u64,
    pub verify_violations: i64,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

pub async fn run(options: &AuditOptions) -> anyhow::Result<bool> {
    let lines = record::read(&options.record)?;
    let client = super::connect(&options.database_url).await?;
    let mut figures = Figures::default();
    let mut problems: Vec<String> = Vec::new();

    // The baseline: the first start line that names a card.
    let mut starts: BTreeMap<&str, &record::CardStart> = BTreeMap::new();
    for line in &lines {
        if let Line::Start { cards, .. } = line {
            for card in cards {
                starts.entry(card.card_id.as_str()).or_insert(card);
            }
        }
    }

    let mut authorizations: BTreeMap<&str, Expected> = BTreeMap::new();
    let mut first_answers: HashMap<&str, &serde_json::Value> = HashMap::new();
    let mut acked_async: Vec<String> = Vec::new();
    let mut latencies_us: Vec<u64> = Vec::new();
    let mut seen_events: HashMap<&str, ()> = HashMap::new();
    for delivery in record::deliveries(&lines) {
        figures.deliveries += 1;
        if delivery.redelivery {
            figures.redeliveries += 1;
        }
        if seen_events.insert(&delivery.event_id, ()).is_none() {
            figures.messages_sent += 1;
        }
        let expected = authorizations
            .entry(delivery.authorization_id.as_str())
            .or_default();
        expected.card_id = &delivery.card_id;
        if !delivery.acked {
            if delivery.event_type == record::AUTHORIZATION_REQUEST && expected.request.is_none() {
                expected.request = Some(delivery);
            }
            continue;
        }
        let answer = delivery.answer.as_ref();
        // A message acknowledged twice must have been answered the same both times.
        match (first_answers.get(delivery.event_id.as_str()), answer) {
            (Some(first), Some(now)) => {
                if *first != now {
                    figures.changed_answers += 1;
                    problems.push(format!(
                        "{}: answered {first} first, then {now}",
                        delivery.event_id
                    ));
                }
                continue;
            }
            (None, Some(now)) => {
                first_answers.insert(&delivery.event_id, now);
            }
            _ => {}
        }
        figures.acknowledged += 1;
        match delivery.event_type.as_str() {
            record::AUTHORIZATION_REQUEST => {
                expected.request = Some(delivery);
                expected.answer = answer;
                if answer.is_some_and(|a| a["decision"] == "APPROVE") {
                    figures.approved += 1;
                } else {
                    figures.declined += 1;
                }
                if !delivery.redelivery {
                    latencies_us.push(delivery.latency_us);
                }
            }
            record::TRANSACTION_CLEARING => {
                figures.clearings += 1;
                expected.cleared_minor = expected
                    .cleared_minor
                    .checked_add(delivery.amount_minor)
                    .ok_or_else(|| anyhow::anyhow!("cleared amount overflows"))?;
                if let Some(transaction_id) = &delivery.transaction_id {
                    expected.clearings.push(transaction_id);
                }
                acked_async.push(delivery.event_id.clone());
            }
            record::AUTHORIZATION_ADVICE => {
                figures.advices += 1;
                expected.timeout_advised = true;
                acked_async.push(delivery.event_id.clone());
            }
            other => anyhow::bail!("unknown event type {other} in the record"),
        }
    }

    // Every acknowledged asynchronous message is in the inbox.
    let present: i64 = client
        .query_one(
            "select count(*) from card.inbox where webhook_id = any($1)",
            &[&acked_async],
        )
        .await?
        .get(0);
    let missing = i64::try_from(acked_async.len())? - present;
    if missing != 0 {
        figures.lost += u64::try_from(missing.max(0))?;
        problems.push(format!(
            "{missing} acknowledged messages are not in card.inbox"
        ));
    }

    // The authorizations as the database has them, with their holds and what remains held.
    let ids: Vec<&str> = authorizations.keys().copied().collect();
    let rows = client
        .query(
            "select a.authorization_id, a.decision, a.approved_minor, a.hold_id,
                    (select count(*) from holds h
                      where h.metadata->>'authorization_id' = a.authorization_id) as holds,
                    coalesce((select h.amount_minor + coalesce(sum(case when e.kind = 'increase'
                                then e.held_delta_minor else -e.held_delta_minor end), 0)
                              from holds h left join hold_events e on e.hold_id = h.id
                              where h.id = a.hold_id group by h.amount_minor), 0)::bigint
                        as held_minor
             from card.authorizations a where a.authorization_id = any($1)",
            &[&ids],
        )
        .await?;
    struct Row {
        decision: Option<String>,
        approved_minor: i64,
        has_hold: bool,
        holds: i64,
        held_minor: i64,
    }
    let in_db: HashMap<String, Row> = rows
        .iter()
        .map(|row| {
            (
                row.get::<_, String>("authorization_id"),
                Row {
                    decision: row.get("decision"),
                    approved_minor: row.get("approved_minor"),
                    has_hold: row.get::<_, Option<uuid::Uuid>>("hold_id").is_some(),
                    holds: row.get("holds"),
                    held_minor: row.get("held_minor"),
                },
            )
        })
        .collect();
    let transactions: Vec<&str> = authorizations
        .values()
        .flat_map(|e| e.clearings.iter().copied())
        .collect();
    let entries: HashMap<String, i64> = client
        .query(
            "select ref_value, count(*) as entries from journal_entry_refs
             where ref_kind = 'processor_transaction' and ref_value = any($1) group by ref_value",
            &[&transactions],
        )
        .await?
        .iter()
        .map(|row| (row.get("ref_value"), row.get("entries")))
        .collect();

    let mut expected_held: HashMap<&str, i64> = HashMap::new();
    let mut expected_cleared: HashMap<&str, i64> = HashMap::new();
    for (authorization_id, expected) in &authorizations {
        let row = in_db.get(*authorization_id);
        for transaction_id in &expected.clearings {
            match entries.get(*transaction_id).copied().unwrap_or(0) {
                1 => {}
                0 => {
                    figures.lost += 1;
                    problems.push(format!("clearing {transaction_id} acknowledged, no entry"));
                }
                n => {
                    figures.duplicated += 1;
                    problems.push(format!("clearing {transaction_id} booked {n} times"));
                }
            }
        }
        let cleared = expected_cleared.entry(expected.card_id).or_insert(0);
        *cleared = cleared
            .checked_add(expected.cleared_minor)
            .ok_or_else(|| anyhow::anyhow!("cleared amount overflows"))?;
        if row.is_some_and(|row| row.holds > 1) {
            figures.duplicated += 1;
            problems.push(format!("{authorization_id} has more than one hold"));
        }
        let approved = expected.answer.is_some_and(|a| a["decision"] == "APPROVE");
        let open_minor = match (expected.answer, expected.timeout_advised) {
            (Some(answer), _) if approved => {
                let answered_minor = answer["approved_amount"].as_i64().unwrap_or(0);
                match row {
                    Some(row)
                        if row.decision.as_deref() == Some("APPROVE")
                            && row.approved_minor == answered_minor
                            && row.has_hold => {}
                    _ => {
                        figures.lost += 1;
                        problems.push(format!(
                            "{authorization_id} answered APPROVE {answered_minor}, the database has {}",
                            row.map(|r| format!(
                                "{:?} {} hold {}",
                                r.decision, r.approved_minor, r.has_hold
                            ))
                            .unwrap_or_else(|| "nothing".into())
                        ));
                    }
                }
                if expected.clearings.is_empty() {
                    answered_minor
                } else {
                    0
                }
            }
            (Some(_), _) => {
                // Declined: nothing may be held for it.
                if let Some(row) = row
                    && (row.decision.as_deref() == Some("APPROVE") || row.held_minor != 0)
                {
                    figures.lost += 1;
                    problems.push(format!(
                        "{authorization_id} answered DECLINE, the database has {:?} holding {}",
                        row.decision, row.held_minor
                    ));
                }
                0
            }
            (None, true) => 0,
            (None, false) => {
                if expected.request.is_some() {
                    figures.unresolved += 1;
                }
                0
            }
        };
        if let Some(row) = row
            && expected.request.is_some()
            && row.held_minor != open_minor
            && (expected.answer.is_some() || expected.timeout_advised)
        {
            figures.balance_mismatches += 1;
            problems.push(format!(
                "{authorization_id}: {} held, {open_minor} expected",
                row.held_minor
            ));
        }
        let held = expected_held.entry(expected.card_id).or_insert(0);
        *held = held
            .checked_add(open_minor)
            .ok_or_else(|| anyhow::anyhow!("held amount overflows"))?;
    }
    if figures.unresolved > 0 {
        problems.push(format!(
            "{} authorization requests were neither answered nor advised: run `saldo-chaos redeliver` first",
            figures.unresolved
        ));
    }

    // Balances: posted = start − cleared; held = start + what is still open.
    let accounts: Vec<uuid::Uuid> = starts.values().map(|c| c.account_id).collect();
    let balances: HashMap<uuid::Uuid, (i64, i64)> = client
        .query(
            "select account_id, posted_minor, held_minor from account_balances
             where account_id = any($1)",
            &[&accounts],
        )
        .await?
        .iter()
        .map(|row| {
            (
                row.get("account_id"),
                (row.get("posted_minor"), row.get("held_minor")),
            )
        })
        .collect();
    for (card_id, start) in &starts {
        let cleared = expected_cleared.get(card_id).copied().unwrap_or(0);
        let held = expected_held.get(card_id).copied().unwrap_or(0);
        let want_posted = start.posted_minor.checked_sub(cleared);
        let want_held = start.held_minor.checked_add(held);
        let have = balances.get(&start.account_id).copied();
        if have.map(|(p, h)| (Some(p), Some(h))) != Some((want_posted, want_held)) {
            figures.balance_mismatches += 1;
            problems.push(format!(
                "{card_id}: posted/held {have:?}, expected {want_posted:?}/{want_held:?} (start {}/{}, cleared {cleared}, open {held})",
                start.posted_minor, start.held_minor
            ));
        }
    }

    let config: tokio_postgres::Config = options.database_url.parse()?;
    let report = ledger::Ledger::new(ledger::db::pool(config, 1)?)
        .verify()
        .await?;
    figures.verify_violations = report.checks.iter().map(|c| c.violations).sum();
    if !report.is_ok() {
        problems.push(format!("saldo verify:\n{report}"));
    }

    latencies_us.sort_unstable();
    figures.p50_ms = super::percentile_ms(&latencies_us, 50);
    figures.p99_ms = super::percentile_ms(&latencies_us, 99);
    figures.max_ms = latencies_us.last().copied().unwrap_or(0) / 1000;
    println!(
        "audit: {} messages, {} deliveries ({} redeliveries); acknowledged {} ({} approved, {} declined, {} clearings, {} advices); lost {}; duplicated {}; changed answers {}; unresolved {}; balance mismatches {}; verify violations {}; request p50 {} ms, p99 {} ms, max {} ms",
        figures.messages_sent,
        figures.deliveries,
        figures.redeliveries,
        figures.acknowledged,
        figures.approved,
        figures.declined,
        figures.clearings,
        figures.advices,
        figures.lost,
        figures.duplicated,
        figures.changed_answers,
        figures.unresolved,
        figures.balance_mismatches,
        figures.verify_violations,
        figures.p50_ms,
        figures.p99_ms,
        figures.max_ms,
    );
    if options.json {
        println!("{}", serde_json::to_string(&figures)?);
    }
    for problem in problems.iter().take(20) {
        println!("  FAIL {problem}");
    }
    Ok(problems.is_empty())
}
