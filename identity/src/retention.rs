//! Retention (LED Art. 5, GDPR Art. 5(1)(e)): per category, how long data is kept, and the run
//! that erases what is due. Identity records are erased by destroying their data key
//! (crypto-shredding, [`crate::store::erase_prisoner`]); the ledger keeps the
//! pseudonymous accounts and entries, so it still balances and `saldo verify` still passes. The
//! access log is pruned by whole sealed checkpoints. Bookkeeping material is never deleted here:
//! entries past the accounting-law period are reported as due for archiving. Every erasure is
//! recorded in `audit.retention_log` (append-only) and in the access log (`erase`).
use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access_log::{Accessor, ActorKind, Purpose};
use crate::store::{self, Due};

/// A retention period in calendar months and days (`5y`, `18m`, `30d`, combinable: `1y6m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub months: u32,
    pub days: u32,
}

impl Period {
    pub const fn years(years: u32) -> Period {
        Period {
            months: years * 12,
            days: 0,
        }
    }

    pub fn parse(text: &str) -> Option<Period> {
        let mut period = Period { months: 0, days: 0 };
        let mut number = String::new();
        for c in text.trim().chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let n: u32 = number.parse().ok()?;
            number.clear();
            match c {
                'y' => period.months = period.months.checked_add(n.checked_mul(12)?)?,
                'm' => period.months = period.months.checked_add(n)?,
                'd' => period.days = period.days.checked_add(n)?,
                _ => return None,
            }
        }
        number.is_empty().then_some(period)
    }

    /// ISO 8601, for the record of what rule applied.
    pub fn iso(&self) -> String {
        format!("P{}M{}D", self.months, self.days)
    }

    /// The moment `self` before `now` (calendar months; the day is clamped to the month's end).
    pub fn before(&self, now: OffsetDateTime) -> OffsetDateTime {
        let total = now.year() * 12 + i32::from(u8::from(now.month())) - 1 - self.months as i32;
        let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
        let month = time::Month::try_from(month0 as u8 + 1).unwrap_or(time::Month::January);
        let day = now.day().min(month.length(year));
        let date = time::Date::from_calendar_date(year, month, day).unwrap_or(now.date());
        now.replace_date(date) - time::Duration::days(i64::from(self.days))
    }
}

/// How long each category is kept. The defaults are a starting point for the controller to
/// confirm (docs/data-protection.md): `SALDO_RETENTION=prisoner_identity=5y,depositor=6y,…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    /// Prisoners' identity records, counted from release.
    pub prisoner_identity: Period,
    /// Depositors' records, counted from registration or their latest deposit.
    pub depositor: Period,
    /// Access-log rows, counted from logging (whole sealed checkpoints).
    pub access_log: Period,
    /// Bookkeeping material under accounting law (Finland: books 10 years).
    pub bookkeeping: Period,
}

impl Default for RetentionPolicy {
    fn default() -> RetentionPolicy {
        RetentionPolicy {
            prisoner_identity: Period::years(5),
            depositor: Period::years(6),
            access_log: Period::years(5),
            bookkeeping: Period::years(10),
        }
    }
}

/// The least retention of the access log Saldo accepts, whatever `SALDO_RETENTION` says: the log
/// is the evidence of who consulted whose data. The database refuses a prune of rows younger
/// than this too (V18, `audit.min_access_log_retention()`).
pub const MIN_ACCESS_LOG_RETENTION: Period = Period::years(1);

impl Period {
    /// True when the period is at least `other` in every month it could start in (a month taken
    /// as at least 28 days, at most 31).
    fn at_least(&self, other: &Period) -> bool {
        u64::from(self.months) * 28 + u64::from(self.days)
            >= u64::from(other.months) * 31 + u64::from(other.days)
            || (self.months >= other.months && self.days >= other.days)
    }
}

impl RetentionPolicy {
    /// `category=period` pairs, comma-separated, over the defaults (`SALDO_RETENTION`, read by
    /// the binary's settings; empty: the defaults).
    pub fn parse(text: &str) -> anyhow::Result<RetentionPolicy> {
        let mut policy = RetentionPolicy::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (category, period) = item
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("SALDO_RETENTION: expected category=period"))?;
            let period = Period::parse(period).ok_or_else(|| {
                anyhow::anyhow!("SALDO_RETENTION: {category}: a period is like 5y, 18m or 30d")
            })?;
            match category.trim() {
                "prisoner_identity" => policy.prisoner_identity = period,
                "depositor" => policy.depositor = period,
                "access_log" => policy.access_log = period,
                "bookkeeping" => policy.bookkeeping = period,
                other => anyhow::bail!("SALDO_RETENTION: unknown category {other}"),
            }
        }
        if !policy.access_log.at_least(&MIN_ACCESS_LOG_RETENTION) {
            anyhow::bail!("SALDO_RETENTION: access_log is kept at least 1y");
        }
        Ok(policy)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ErasedRecord {
    pub person_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    pub run_id: Uuid,
    pub dry_run: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    pub policy: RetentionPolicy,
    pub prisoners: Vec<ErasedRecord>,
    pub depositors: Vec<ErasedRecord>,
    /// Access-log checkpoints whose rows were (or would be) deleted, and how many rows.
    pub access_log_checkpoints: Vec<(i64, i64)>,
    /// Journal entries older than the bookkeeping period: reported, kept.
    pub bookkeeping_entries_due: i64,
}

const BATCH: i64 = 500;

fn system() -> Accessor {
    Accessor {
        actor_kind: ActorKind::System,
        actor_id: None,
        purpose: Purpose::Retention,
        case_ref: None,
        request_id: None,
    }
}

fn erased(due: &[Due]) -> Vec<ErasedRecord> {
    due.iter()
        .map(|due| ErasedRecord {
            person_id: due.person_id,
            since: due.since,
        })
        .collect()
}

async fn record(
    client: &impl deadpool_postgres::GenericClient,
    run_id: Uuid,
    category: &str,
    outcome: &str,
    person_id: Option<Uuid>,
    detail: serde_json::Value,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "insert into audit.retention_log (run_id, category, outcome, subject_person_id, detail)
             values ($1, $2, $3, $4, $5)",
            &[&run_id, &category, &outcome, &person_id, &detail],
        )
        .await?;
    Ok(())
}

/// Erases (or with `dry_run` only lists) everything due at `now` under `policy`.
pub async fn run(
    pool: &Pool,
    policy: &RetentionPolicy,
    now: OffsetDateTime,
    dry_run: bool,
) -> anyhow::Result<RetentionReport> {
    let run_id = Uuid::now_v7();
    let mut report = RetentionReport {
        run_id,
        dry_run,
        now,
        policy: *policy,
        prisoners: Vec::new(),
        depositors: Vec::new(),
        access_log_checkpoints: Vec::new(),
        bookkeeping_entries_due: 0,
    };
    let mut client = pool.get().await?;
    let who = system();

    // Prisoners released longer ago than the period; each erased in its own transaction.
    let cutoff = policy.prisoner_identity.before(now);
    loop {
        let due = store::prisoners_due(&client, cutoff, BATCH).await?;
        if dry_run || due.is_empty() {
            report.prisoners.extend(erased(&due));
            break;
        }
        for record_due in &due {
            let tx = client.transaction().await?;
            if store::erase_prisoner(&tx, &who, record_due.person_id).await? {
                // The kiosk PIN goes too: nothing about the person is kept but their pseudonym.
                tx.execute(
                    "delete from auth.kiosk_pins where person_id = $1",
                    &[&record_due.person_id],
                )
                .await?;
                tx.execute(
                    "update auth.kiosk_sessions set ended_at = now()
                     where person_id = $1 and ended_at is null",
                    &[&record_due.person_id],
                )
                .await?;
                record(
                    &tx,
                    run_id,
                    "prisoner_identity",
                    "erased",
                    Some(record_due.person_id),
                    json!({"period": policy.prisoner_identity.iso(), "from": "released_at",
                           "since": record_due.since.unix_timestamp()}),
                )
                .await?;
            }
            tx.commit().await?;
        }
        report.prisoners.extend(erased(&due));
        if (due.len() as i64) < BATCH {
            break;
        }
    }

    let cutoff = policy.depositor.before(now);
    loop {
        let due = store::depositors_due(&client, cutoff, BATCH).await?;
        if dry_run || due.is_empty() {
            report.depositors.extend(erased(&due));
            break;
        }
        for record_due in &due {
            let tx = client.transaction().await?;
            if store::erase_depositor(&tx, &who, record_due.person_id).await? {
                record(
                    &tx,
                    run_id,
                    "depositor",
                    "erased",
                    Some(record_due.person_id),
                    json!({"period": policy.depositor.iso(), "from": "last_use",
                           "since": record_due.since.unix_timestamp()}),
                )
                .await?;
            }
            tx.commit().await?;
        }
        report.depositors.extend(erased(&due));
        if (due.len() as i64) < BATCH {
            break;
        }
    }

    // The access log: whole sealed checkpoints whose last row is older than the period, by our
    // clock and by the database's (which is the one its guard, V18, measures with).
    let cutoff = policy.access_log.before(now);
    let prunable = client
        .query(
            "select c.n, c.first_id, c.last_id, c.rows from audit.log_checkpoints c
             where c.last_logged_at < $1 and c.last_logged_at < now() - $2::text::interval
               and not exists (select 1 from audit.log_checkpoint_prunes p where p.n = c.n)
             order by c.n",
            &[&cutoff, &policy.access_log.iso()],
        )
        .await?;
    for row in &prunable {
        let (n, first, last, rows): (i64, i64, i64, i64) = (
            row.get("n"),
            row.get("first_id"),
            row.get("last_id"),
            row.get("rows"),
        );
        report.access_log_checkpoints.push((n, rows));
        if dry_run {
            continue;
        }
        // In this order: the database accepts a prune only with the run's record of it in the
        // same transaction (V18), and rows only of a pruned checkpoint.
        let tx = client.transaction().await?;
        record(
            &tx,
            run_id,
            "access_log",
            "pruned",
            None,
            json!({"period": policy.access_log.iso(), "checkpoint": n, "rows": rows}),
        )
        .await?;
        tx.execute(
            "insert into audit.log_checkpoint_prunes (n, run_id) values ($1, $2)",
            &[&n, &run_id],
        )
        .await?;
        tx.execute(
            "delete from audit.access_log where id between $1 and $2",
            &[&first, &last],
        )
        .await?;
        tx.commit().await?;
    }

    let cutoff = policy.bookkeeping.before(now);
    report.bookkeeping_entries_due = client
        .query_one(
            "select count(*) as due from journal_entries where recorded_at < $1",
            &[&cutoff],
        )
        .await?
        .get("due");
    if !dry_run && report.bookkeeping_entries_due > 0 {
        record(
            &client,
            run_id,
            "bookkeeping",
            "due",
            None,
            json!({"period": policy.bookkeeping.iso(), "entries": report.bookkeeping_entries_due}),
        )
        .await?;
    }

    let erased_any = !report.prisoners.is_empty() || !report.depositors.is_empty();
    if !dry_run && erased_any {
        // Destroyed data keys leave the table's files at once, not at some later vacuum.
        client
            .batch_execute("vacuum full identity.data_keys")
            .await?;
        client
            .batch_execute("vacuum identity.prisoners, identity.depositors")
            .await?;
    }
    tracing::info!(
        retention.run_id = %run_id,
        retention.dry_run = dry_run,
        retention.prisoners = report.prisoners.len(),
        retention.depositors = report.depositors.len(),
        retention.access_log_checkpoints = report.access_log_checkpoints.len(),
        "retention run finished"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_count_calendar_months_back() {
        assert_eq!(Period::parse("5y"), Some(Period::years(5)));
        assert_eq!(
            Period::parse("1y6m10d"),
            Some(Period {
                months: 18,
                days: 10
            })
        );
        assert_eq!(Period::parse("5"), None);
        assert_eq!(Period::parse("5w"), None);
        let now = time::macros::datetime!(2028-02-29 12:00 UTC);
        assert_eq!(
            Period::years(1).before(now),
            time::macros::datetime!(2027-02-28 12:00 UTC)
        );
        assert_eq!(
            Period { months: 2, days: 1 }.before(now),
            time::macros::datetime!(2027-12-28 12:00 UTC)
        );
    }

    #[test]
    fn a_policy_overrides_only_the_categories_it_names() {
        let policy = RetentionPolicy::parse("prisoner_identity=2y, access_log=18m").unwrap();
        assert_eq!(policy.prisoner_identity, Period::years(2));
        assert_eq!(
            policy.access_log,
            Period {
                months: 18,
                days: 0
            }
        );
        assert_eq!(policy.bookkeeping, Period::years(10));
        assert!(RetentionPolicy::parse("names=1y").is_err());
    }

    #[test]
    fn the_access_log_is_kept_at_least_a_year_whatever_is_configured() {
        for short in [
            "access_log=30d",
            "access_log=11m",
            "access_log=364d",
            "access_log=0d",
        ] {
            assert!(RetentionPolicy::parse(short).is_err(), "{short}");
        }
        for enough in [
            "access_log=1y",
            "access_log=12m",
            "access_log=400d",
            "access_log=13m",
        ] {
            assert!(RetentionPolicy::parse(enough).is_ok(), "{enough}");
        }
    }
}
