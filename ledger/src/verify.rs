//! `saldo verify`: proves the ledger's invariants from the rows themselves.

use std::fmt;

use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::check::Check;
use crate::error::LedgerResult;
use crate::money::{Currency, PLAUSIBLE_BALANCE_FACTOR};

/// At most this many examples are listed per check; the count is always complete.
const MAX_EXAMPLES: i64 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub entries: i64,
    pub postings: i64,
    pub accounts: i64,
    pub holds: i64,
    pub checks: Vec<Check>,
    /// The database sessions the checks were spread over (1 or 2), all in one snapshot.
    pub sessions: usize,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.checks.iter().all(|check| check.violations == 0)
    }

    /// The check of that name, if the report has it.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "ledger: {} entries, {} postings, {} accounts, {} holds",
            self.entries, self.postings, self.accounts, self.holds
        )?;
        for check in &self.checks {
            let verdict = if check.violations == 0 {
                "ok  "
            } else {
                "FAIL"
            };
            writeln!(f, "{verdict} {:<28} {}", check.name, check.description)?;
            if check.violations > 0 {
                writeln!(f, "     {} violation(s), e.g.:", check.violations)?;
                for example in &check.examples {
                    writeln!(f, "       {example}")?;
                }
            }
        }
        write!(
            f,
            "{}",
            if self.is_ok() {
                "OK"
            } else {
                "VIOLATIONS FOUND"
            }
        )
    }
}

/// Each check is one query returning (count, examples) of violations.
const CHECKS: &[(&str, &str, &str)] = &[
    (
        "entries_balance",
        "every entry has two or more postings summing to zero per currency",
        // Entries and postings in one pass and one aggregate per entry, without a join of
        // per-currency sums (the slowest check; docs/performance.md). An entry's own row marks
        // it. An entry in one currency (nearly all) balances when its sum is zero; only one in
        // several currencies is summed per currency.
        "with per_entry as (
             select u.entry_id, count(*) filter (where u.posting) as lines,
                    sum(u.amount_minor) as total, min(u.currency) as low, max(u.currency) as high
             from (select id as entry_id, false as posting, 0::bigint as amount_minor,
                          null::text as currency
                   from journal_entries
                   union all
                   select entry_id, true, amount_minor, currency::text from journal_postings) u
             group by u.entry_id
             having bool_or(not u.posting)),
         checked as (
             select pe.entry_id, pe.lines,
                    pe.total <> 0 or (pe.low <> pe.high and exists (
                        select 1 from journal_postings p where p.entry_id = pe.entry_id
                        group by p.currency having sum(p.amount_minor) <> 0)) as unbalanced
             from per_entry pe)
         select entry_id::text || ' lines ' || lines
                || case when unbalanced then ' unbalanced' else '' end
         from checked where lines < 2 or unbalanced",
    ),
    (
        "trial_balance",
        "the trial balance is zero in every currency",
        "select currency || ' ' || sum(amount_minor) from journal_postings
         group by currency having sum(amount_minor) <> 0",
    ),
    (
        "posting_currency",
        "every posting names an existing account, in that account's currency",
        "select p.id::text || coalesce(' in ' || p.currency || ', its account in ' || a.currency,
                                       ' names no account')
         from journal_postings p left join ledger_accounts a on a.id = p.account_id
         where a.id is null or a.currency <> p.currency",
    ),
    (
        "posting_time",
        "every posting belongs to an existing entry and carries its recording time",
        "select p.id::text || case when e.id is null then ' names no entry' else ' recorded at '
                                   || p.recorded_at || ', its entry at ' || e.recorded_at end
         from journal_postings p left join journal_entries e on e.id = p.entry_id
         where e.id is null or p.recorded_at <> e.recorded_at",
    ),
    (
        "stored_balances",
        "every stored balance equals the sum of its postings",
        "select a.code || ' stored ' || b.posted_minor || ' postings ' || coalesce(s.total, 0)
         from account_balances b
         join ledger_accounts a on a.id = b.account_id
         left join (select account_id, sum(amount_minor) as total from journal_postings
                    group by account_id) s on s.account_id = b.account_id
         where b.posted_minor <> coalesce(s.total, 0) * case when a.account_type in ('asset', 'expense')
                                                         then 1 else -1 end",
    ),
    (
        "balance_rows",
        "non-hot accounts have a balance row, hot ones none",
        "select a.code from ledger_accounts a left join account_balances b on b.account_id = a.id
         where a.is_hot = (b.account_id is not null)",
    ),
    (
        "held_amounts",
        "every account's held amount equals what its holds still hold",
        "select a.code || ' held ' || b.held_minor || ' holds ' || coalesce(h.remaining, 0)
         from account_balances b join ledger_accounts a on a.id = b.account_id
         left join (select h.account_id,
                           sum(h.amount_minor + coalesce(e.delta, 0)) as remaining
                    from holds h
                    left join (select hold_id, sum(case when kind = 'increase' then held_delta_minor
                                                        else -held_delta_minor end) as delta
                               from hold_events group by hold_id) e on e.hold_id = h.id
                    group by h.account_id) h on h.account_id = b.account_id
         where b.held_minor <> coalesce(h.remaining, 0)",
    ),
    (
        "holds_consistent",
        "no hold has released or captured more than it held, and captures are posted",
        "select h.id::text || ' remaining ' || (h.amount_minor + coalesce(sum(case when e.kind = 'increase'
                    then e.held_delta_minor else -e.held_delta_minor end), 0))
         from holds h left join hold_events e on e.hold_id = h.id
         group by h.id, h.amount_minor
         having h.amount_minor + coalesce(sum(case when e.kind = 'increase' then e.held_delta_minor
                                                   else -e.held_delta_minor end), 0) < 0
             or bool_or(e.kind = 'capture' and (e.entry_id is null or e.posted_minor < e.held_delta_minor))",
    ),
    (
        "captures_posted",
        "every capture's entry posts the captured amount out of the hold's account",
        "select e.hold_id::text from hold_events e join holds h on h.id = e.hold_id
         where e.kind = 'capture' and not exists (
             select 1 from journal_postings p where p.entry_id = e.entry_id
               and p.account_id = h.account_id and abs(p.amount_minor) = e.posted_minor)",
    ),
    (
        "reversals_mirror",
        "every reversal posts exactly the negation of the entry it reverses",
        "select r.id::text from journal_entries r
         where r.reverses_entry_id is not null and exists (
             (select account_id, currency, -amount_minor from journal_postings where entry_id = r.reverses_entry_id
              except all
              select account_id, currency, amount_minor from journal_postings where entry_id = r.id)
             union all
             (select account_id, currency, amount_minor from journal_postings where entry_id = r.id
              except all
              select account_id, currency, -amount_minor from journal_postings where entry_id = r.reverses_entry_id))",
    ),
    (
        "non_negative_accounts",
        "accounts that may not go negative are not negative, unless an overdraft was flagged",
        "select a.code || ' available ' || (b.posted_minor - b.held_minor)
         from account_balances b join ledger_accounts a on a.id = b.account_id
         where a.balance_rule = 'non_negative' and b.posted_minor - b.held_minor < 0
           and not exists (select 1 from journal_postings p join journal_entries e on e.id = p.entry_id
                           where p.account_id = a.id and e.overdraft_flagged)
           and not exists (select 1 from holds h where h.account_id = a.id and (h.overdraft_flagged
                           or exists (select 1 from hold_events e where e.hold_id = h.id and e.overdraft_flagged)))",
    ),
    (
        "fees_posted",
        "every fee's entry debits its bearer once (the prisoner's spendable, or the service's fee expense for its kind) and credits the rest",
        "select c.id::text || ' ' || c.fee_kind || ' borne by ' || c.borne_by
         from fees.charges c
         where (select count(*) from journal_postings p join ledger_accounts a on a.id = p.account_id
                where p.entry_id = c.entry_id and p.amount_minor > 0
                  and case when c.borne_by = 'prisoner'
                               then a.owner_kind = 'person' and a.purpose = 'spendable'
                           when c.fee_kind = 'processor_program' then a.purpose = 'processor_fees'
                           else a.purpose = 'fee_' || c.fee_kind end) <> 1
            or (select count(*) from journal_postings p
                where p.entry_id = c.entry_id and p.amount_minor > 0) <> 1",
    ),
];

/// The currencies' bounds as an SQL `values` list: `(code, max_amount_minor)`. The code is typed
/// as the columns are (`char(3)`), so the join compares them as they are instead of casting every
/// posting's currency to text, and the bound is a `bigint`, like the amounts (together:
/// `amounts_bounded` 0.69 → 0.37 s over a million entries).
fn bounds_sql() -> String {
    let rows: Vec<String> = Currency::all()
        .map(|c| {
            format!(
                "('{}'::char(3), {}::bigint)",
                c.code(),
                c.max_amount_minor()
            )
        })
        .collect();
    format!("bound(currency, max_minor) as (values {})", rows.join(", "))
}

/// The checks on amounts: none beyond its currency's bound (`Currency::max_amount_minor`), and no
/// balance beyond any plausible one (`PLAUSIBLE_BALANCE_FACTOR` times the bound). An amount is
/// compared as a range, not through `abs` (which overflows for the lowest `bigint`); sums are
/// `numeric`, so even rows written around the code (or before the bound existed) are measured.
fn bound_checks() -> Vec<(&'static str, &'static str, String)> {
    let bounds = bounds_sql();
    vec![
        (
            "amounts_bounded",
            "every posting and hold is within its currency's bound",
            format!(
                "with {bounds}
                 select 'posting ' || p.id || ': ' || p.amount_minor || ' ' || p.currency
                 from journal_postings p left join bound b on b.currency = p.currency
                 where b.currency is null or p.amount_minor not between -b.max_minor and b.max_minor
                 union all
                 select 'hold ' || h.id || ': ' || h.amount_minor || ' ' || h.currency
                 from holds h left join bound b on b.currency = h.currency
                 where b.currency is null or h.amount_minor > b.max_minor"
            ),
        ),
        (
            "balances_plausible",
            "no account's balance is beyond any plausible bound",
            format!(
                "with {bounds}
                 select a.code || ' balance ' || s.total || ' ' || a.currency
                 from (select account_id, sum(amount_minor) as total
                       from journal_postings group by account_id) s
                 join ledger_accounts a on a.id = s.account_id
                 left join bound b on b.currency = a.currency
                 where b.currency is null
                    or abs(s.total) > b.max_minor * {PLAUSIBLE_BALANCE_FACTOR}"
            ),
        ),
    ]
}

/// One check's work: an SQL query of (count, examples), or one of the seals' chain checks.
#[derive(Clone, Copy)]
enum Task<'a> {
    Counts,
    Query {
        name: &'static str,
        description: &'static str,
        query: &'a str,
    },
    JournalSealed,
    AccountsSealed,
}

/// What a task found.
enum Found {
    Counts(tokio_postgres::Row),
    Check(Check),
}

/// Every check, in one snapshot shared by `sessions` (one or two transactions that see the same
/// snapshot: `pg_export_snapshot`). The sessions take the next check as each finishes, in the
/// report's order; `entries_balance`, the largest by far, comes first, so it is not left to the
/// end. The report lists the checks in the same order however they were spread.
pub async fn verify<C: GenericClient + Sync>(sessions: &[C]) -> LedgerResult<VerifyReport> {
    assert!(
        (1..=2).contains(&sessions.len()),
        "verify runs on one or two sessions"
    );
    let bound_checks = bound_checks();
    let tasks: Vec<Task<'_>> = std::iter::once(Task::Counts)
        .chain(
            CHECKS
                .iter()
                .map(|(name, description, query)| (*name, *description, *query))
                .chain(
                    bound_checks
                        .iter()
                        .map(|(name, description, query)| (*name, *description, query.as_str())),
                )
                .map(|(name, description, query)| Task::Query {
                    name,
                    description,
                    query,
                }),
        )
        .chain([Task::JournalSealed, Task::AccountsSealed])
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take = || {
        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tasks.get(index).map(|task| (index, *task))
    };
    let mut found: Vec<(usize, Found)> = Vec::with_capacity(tasks.len());
    match sessions {
        [one] => found.extend(run_tasks(one, &take).await?),
        [first, second] => {
            let (a, b) = tokio::try_join!(run_tasks(first, &take), run_tasks(second, &take))?;
            found.extend(a);
            found.extend(b);
        }
        _ => unreachable!("one or two sessions"),
    }
    found.sort_by_key(|(index, _)| *index);
    let mut counts = None;
    let mut checks = Vec::with_capacity(tasks.len());
    for (_, result) in found {
        match result {
            Found::Counts(row) => counts = Some(row),
            Found::Check(check) => checks.push(check),
        }
    }
    let counts = counts.expect("the counts are the first task");
    assert_eq!(checks.len() + 1, tasks.len(), "every task ran once");
    Ok(VerifyReport {
        entries: counts.get("entries"),
        postings: counts.get("postings"),
        accounts: counts.get("accounts"),
        holds: counts.get("holds"),
        checks,
        sessions: sessions.len(),
    })
}

/// One session's share: tasks taken one at a time until none is left.
async fn run_tasks<'a, C: GenericClient + Sync>(
    client: &C,
    take: &impl Fn() -> Option<(usize, Task<'a>)>,
) -> LedgerResult<Vec<(usize, Found)>> {
    let mut found = Vec::new();
    while let Some((index, task)) = take() {
        let result = match task {
            Task::Counts => Found::Counts(
                client
                    .query_one(
                        "select (select count(*) from journal_entries) as entries,
                                (select count(*) from journal_postings) as postings,
                                (select count(*) from ledger_accounts) as accounts,
                                (select count(*) from holds) as holds",
                        &[],
                    )
                    .await?,
            ),
            Task::Query {
                name,
                description,
                query,
            } => Found::Check(query_check(client, name, description, query).await?),
            Task::JournalSealed => Found::Check(crate::seal::verify_journal(client).await?),
            Task::AccountsSealed => Found::Check(crate::seal::verify_accounts(client).await?),
        };
        found.push((index, result));
    }
    Ok(found)
}

async fn query_check<C: GenericClient + Sync>(
    client: &C,
    name: &'static str,
    description: &'static str,
    query: &str,
) -> LedgerResult<Check> {
    let row = client
        .query_one(
            &format!(
                "with v(example) as ({query})
                 select count(*) as violations,
                        coalesce((select array_agg(example) from
                          (select example from v limit {MAX_EXAMPLES}) l), '{{}}')
                          as examples
                 from v"
            ),
            &[],
        )
        .await?;
    Ok(Check {
        name,
        description,
        violations: row.get("violations"),
        examples: row
            .get::<_, Vec<Option<String>>>("examples")
            .into_iter()
            .flatten()
            .collect(),
    })
}
