//! The daily reconciliation report: matched and broken per day, and the ending balances of the
//! processor funding account and the trust bank account against the ledger. As data (JSON), CSV,
//! and an HTML page with an inline SVG chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use deadpool_postgres::Pool;
use ledger::{Currency, institution_purpose};
use serde::Serialize;
use time::{Date, Duration};

use super::breaks::Break;
use super::{ReconError, ReconResult};

pub const BREAK_CLASSES: [&str; 8] = [
    "missing_in_ledger",
    "missing_at_processor",
    "missing_at_bank",
    "amount_mismatch",
    "duplicate",
    "currency_mismatch",
    "unknown_card",
    "returned_to_sender",
];
/// A report covers at most this many days.
pub const MAX_REPORT_DAYS: i64 = 366;

#[derive(Debug, Clone, Serialize)]
pub struct DayReport {
    #[serde(with = "ledger::date_format")]
    pub date: Date,
    pub settlement_rows: i64,
    pub settlement_matched_count: i64,
    pub settlement_matched_minor: i64,
    pub bank_lines: i64,
    pub bank_matched_count: i64,
    pub bank_matched_minor: i64,
    /// Breaks dated this day, by class (every class present, zero or not).
    pub breaks: BTreeMap<String, i64>,
    pub breaks_total: i64,
    pub breaks_open: i64,
    /// The processor funding account in the ledger at the end of the day (effective date).
    pub funding_ledger_minor: i64,
    /// What the processor reported its funding account held that day, when recorded.
    pub funding_processor_minor: Option<i64>,
    pub bank_ledger_minor: i64,
    /// The closing booked balance (CLBD) of the bank statement for that day, when imported.
    pub bank_statement_minor: Option<i64>,
    /// Card clearings the ledger booked that the processor has not settled yet.
    pub card_settlement_payable_minor: i64,
}

impl DayReport {
    pub fn matched_count(&self) -> i64 {
        self.settlement_matched_count
            .saturating_add(self.bank_matched_count)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub currency: Currency,
    #[serde(with = "ledger::date_format")]
    pub from: Date,
    #[serde(with = "ledger::date_format")]
    pub to: Date,
    pub days: Vec<DayReport>,
}

async fn account_ids(
    client: &deadpool_postgres::Client,
    purpose: &str,
    currency: Currency,
) -> ReconResult<Vec<uuid::Uuid>> {
    Ok(client
        .query(
            "select id from ledger_accounts
             where owner_kind = 'institution' and purpose = $1 and currency = $2",
            &[&purpose, &currency.code()],
        )
        .await?
        .iter()
        .map(|row| row.get("id"))
        .collect())
}

pub async fn report(pool: &Pool, from: Date, to: Date, currency: Currency) -> ReconResult<Report> {
    if to < from || (to - from) > Duration::days(MAX_REPORT_DAYS) {
        return Err(ReconError::Invalid(format!(
            "a report covers 1 to {MAX_REPORT_DAYS} days, from <= to"
        )));
    }
    let client = pool.get().await?;
    let funding = account_ids(&client, institution_purpose::PROCESSOR_FUNDING, currency).await?;
    let bank = account_ids(&client, institution_purpose::BANK_TRUST, currency).await?;
    let payable = account_ids(
        &client,
        institution_purpose::CARD_SETTLEMENT_PAYABLE,
        currency,
    )
    .await?;
    let rows = client
        .query(
            "with days as (
                 select d::date as day from generate_series($1::date, $2::date, interval '1 day') d)
             select day,
                 (select count(*) from recon.settlement_rows where settlement_date = day)
                   as settlement_rows,
                 (select count(*) from recon.settlement_rows
                  where settlement_date = day and outcome = 'matched') as settlement_matched_count,
                 (select coalesce(sum(abs(amount_minor)), 0)::bigint from recon.settlement_rows
                  where settlement_date = day and outcome = 'matched') as settlement_matched_minor,
                 (select count(*) from recon.bank_lines where booking_date = day) as bank_lines,
                 (select count(*) from recon.bank_lines
                  where booking_date = day and outcome = 'matched') as bank_matched_count,
                 (select coalesce(sum(abs(amount_minor)), 0)::bigint from recon.bank_lines
                  where booking_date = day and outcome = 'matched') as bank_matched_minor,
                 (select coalesce(sum(p.amount_minor), 0)::bigint from journal_postings p
                  join journal_entries e on e.id = p.entry_id
                  where p.account_id = any($3) and e.effective_date <= day) as funding_ledger_minor,
                 (select balance_minor from recon.funding_balances
                  where as_of_date = day and currency = $6) as funding_processor_minor,
                 (select coalesce(sum(p.amount_minor), 0)::bigint from journal_postings p
                  join journal_entries e on e.id = p.entry_id
                  where p.account_id = any($4) and e.effective_date <= day) as bank_ledger_minor,
                 (select s.closing_minor from recon.bank_statements s
                  join recon.imports i on i.id = s.import_id
                  where s.closing_date = day and s.currency = $6
                  order by i.imported_at desc limit 1) as bank_statement_minor,
                 (select -coalesce(sum(p.amount_minor), 0)::bigint from journal_postings p
                  join journal_entries e on e.id = p.entry_id
                  where p.account_id = any($5) and e.effective_date <= day)
                   as card_settlement_payable_minor
             from days order by day",
            &[&from, &to, &funding, &bank, &payable, &currency.code()],
        )
        .await?;
    let mut breaks_by_day: BTreeMap<Date, (BTreeMap<String, i64>, i64, i64)> = BTreeMap::new();
    for row in client
        .query(
            "select business_date, class, count(*) as breaks,
                    count(*) filter (where state in ('open', 'assigned')) as open_breaks
             from recon.breaks where business_date between $1 and $2
               and (currency is null or currency = $3)
             group by business_date, class",
            &[&from, &to, &currency.code()],
        )
        .await?
    {
        let (by_class, total, open) = breaks_by_day.entry(row.get("business_date")).or_default();
        let count: i64 = row.get("breaks");
        let open_count: i64 = row.get("open_breaks");
        by_class.insert(row.get("class"), count);
        *total = total.checked_add(count).ok_or(ReconError::Overflow)?;
        *open = open.checked_add(open_count).ok_or(ReconError::Overflow)?;
    }
    let days = rows
        .iter()
        .map(|row| {
            let date: Date = row.get("day");
            let (found, breaks_total, breaks_open) =
                breaks_by_day.remove(&date).unwrap_or_default();
            let mut breaks: BTreeMap<String, i64> = BREAK_CLASSES
                .iter()
                .map(|class| ((*class).to_owned(), 0))
                .collect();
            breaks.extend(found);
            DayReport {
                date,
                settlement_rows: row.get("settlement_rows"),
                settlement_matched_count: row.get("settlement_matched_count"),
                settlement_matched_minor: row.get("settlement_matched_minor"),
                bank_lines: row.get("bank_lines"),
                bank_matched_count: row.get("bank_matched_count"),
                bank_matched_minor: row.get("bank_matched_minor"),
                breaks,
                breaks_total,
                breaks_open,
                funding_ledger_minor: row.get("funding_ledger_minor"),
                funding_processor_minor: row.get("funding_processor_minor"),
                bank_ledger_minor: row.get("bank_ledger_minor"),
                bank_statement_minor: row.get("bank_statement_minor"),
                card_settlement_payable_minor: row.get("card_settlement_payable_minor"),
            }
        })
        .collect();
    Ok(Report {
        currency,
        from,
        to,
        days,
    })
}

/// One line per day; amounts in minor units, as everywhere in Saldo.
pub fn to_csv(report: &Report) -> String {
    let mut out = String::from(
        "date,currency,settlement_rows,settlement_matched_count,settlement_matched_minor,\
         bank_lines,bank_matched_count,bank_matched_minor,breaks_total,breaks_open",
    );
    for class in BREAK_CLASSES {
        out.push(',');
        out.push_str(class);
    }
    out.push_str(
        ",funding_ledger_minor,funding_processor_minor,bank_ledger_minor,bank_statement_minor,\
         card_settlement_payable_minor\n",
    );
    let optional = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    for day in &report.days {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            day.date,
            report.currency,
            day.settlement_rows,
            day.settlement_matched_count,
            day.settlement_matched_minor,
            day.bank_lines,
            day.bank_matched_count,
            day.bank_matched_minor,
            day.breaks_total,
            day.breaks_open
        );
        for class in BREAK_CLASSES {
            let _ = write!(out, ",{}", day.breaks.get(class).copied().unwrap_or(0));
        }
        let _ = writeln!(
            out,
            ",{},{},{},{},{}",
            day.funding_ledger_minor,
            optional(day.funding_processor_minor),
            day.bank_ledger_minor,
            optional(day.bank_statement_minor),
            day.card_settlement_payable_minor
        );
    }
    out
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1250` EUR → `12.50`; integers only.
pub fn major(amount_minor: i64, currency: Currency) -> String {
    let exponent = u32::from(currency.exponent());
    if exponent == 0 {
        return amount_minor.to_string();
    }
    let factor = 10_i64.pow(exponent);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let magnitude = amount_minor.unsigned_abs();
    let factor = factor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        magnitude / factor,
        magnitude % factor,
        width = exponent as usize
    )
}

const CHART_HEIGHT: i64 = 120;
const BAR_WIDTH: i64 = 10;
const DAY_WIDTH: i64 = 28;

/// Matched (green) against broken (red) per day, as bars; no script needed.
pub fn chart_svg(report: &Report) -> String {
    let peak = report
        .days
        .iter()
        .map(|d| d.matched_count().max(d.breaks_total))
        .max()
        .unwrap_or(0)
        .max(1);
    let days = i64::try_from(report.days.len()).unwrap_or(0);
    let width = days.saturating_mul(DAY_WIDTH).saturating_add(20);
    let height = CHART_HEIGHT + 30;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="matched and broken per day">"#
    );
    let bar = |count: i64| -> i64 {
        // Integer scaling; a non-zero count is always at least one pixel high.
        let scaled = count.saturating_mul(CHART_HEIGHT) / peak;
        if count > 0 { scaled.max(1) } else { 0 }
    };
    for (index, day) in report.days.iter().enumerate() {
        let x = i64::try_from(index)
            .unwrap_or(0)
            .saturating_mul(DAY_WIDTH)
            .saturating_add(10);
        let matched = bar(day.matched_count());
        let broken = bar(day.breaks_total);
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{}" width="{BAR_WIDTH}" height="{matched}" fill="#2e7d32"><title>{}: {} matched</title></rect>"##,
            CHART_HEIGHT - matched + 5,
            day.date,
            day.matched_count()
        );
        let _ = write!(
            svg,
            r##"<rect x="{}" y="{}" width="{BAR_WIDTH}" height="{broken}" fill="#c62828"><title>{}: {} breaks</title></rect>"##,
            x + BAR_WIDTH,
            CHART_HEIGHT - broken + 5,
            day.date,
            day.breaks_total
        );
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{}" font-size="9">{:02}</text>"#,
            CHART_HEIGHT + 20,
            day.date.day()
        );
    }
    svg.push_str("</svg>");
    svg
}

fn difference_cell(ledger_minor: i64, other: Option<i64>, currency: Currency) -> String {
    match other {
        None => "<td>—</td><td>not reported</td>".to_owned(),
        Some(other_minor) => {
            let difference = other_minor.saturating_sub(ledger_minor);
            let class = if difference == 0 { "ok" } else { "diff" };
            format!(
                r#"<td>{}</td><td class="{class}">{}</td>"#,
                major(other_minor, currency),
                major(difference, currency)
            )
        }
    }
}

/// The staff page: chart, one row per day, and the open breaks with their explanations.
pub fn html_page(report: &Report, open_breaks: &[Break]) -> String {
    let currency = report.currency;
    let mut page = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reconciliation</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}.ok{color:#2e7d32}.diff{color:#c62828;font-weight:bold}td.text{text-align:left}</style>
</head><body><h1>Reconciliation</h1>"#,
    );
    let _ = write!(
        page,
        "<p>{} to {}, {}. Green: matched; red: breaks. <a href=\"/recon/report.csv?from={}&amp;to={}&amp;currency={}\">CSV</a></p>",
        report.from, report.to, currency, report.from, report.to, currency
    );
    page.push_str(&chart_svg(report));
    page.push_str(
        "<h2>Per day</h2><table><tr><th>date</th><th>matched</th><th>matched amount</th><th>breaks</th><th>open</th>",
    );
    for class in BREAK_CLASSES {
        let _ = write!(page, "<th>{}</th>", class.replace('_', " "));
    }
    page.push_str("<th>funding (ledger)</th><th>funding (processor)</th><th>difference</th><th>bank (ledger)</th><th>bank (statement)</th><th>difference</th></tr>");
    for day in &report.days {
        let matched_minor = day
            .settlement_matched_minor
            .saturating_add(day.bank_matched_minor);
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            day.date,
            day.matched_count(),
            major(matched_minor, currency),
            day.breaks_total,
            day.breaks_open
        );
        for class in BREAK_CLASSES {
            let _ = write!(
                page,
                "<td>{}</td>",
                day.breaks.get(class).copied().unwrap_or(0)
            );
        }
        let _ = write!(
            page,
            "<td>{}</td>{}<td>{}</td>{}</tr>",
            major(day.funding_ledger_minor, currency),
            difference_cell(
                day.funding_ledger_minor,
                day.funding_processor_minor,
                currency
            ),
            major(day.bank_ledger_minor, currency),
            difference_cell(day.bank_ledger_minor, day.bank_statement_minor, currency),
        );
    }
    page.push_str("</table><h2>Open breaks</h2>");
    if open_breaks.is_empty() {
        page.push_str("<p>None.</p>");
    } else {
        page.push_str("<table><tr><th>date</th><th>class</th><th>state</th><th>assignee</th><th>explanation</th><th>id</th></tr>");
        for item in open_breaks {
            let _ = write!(
                page,
                r#"<tr><td>{}</td><td class="text">{}</td><td class="text">{}</td><td class="text">{}</td><td class="text">{}</td><td class="text"><a href="/recon/breaks/{}">{}</a></td></tr>"#,
                item.business_date,
                escape_html(&item.class.replace('_', " ")),
                escape_html(item.state.as_str()),
                escape_html(item.assignee.as_deref().unwrap_or("")),
                escape_html(&item.explanation),
                item.id,
                item.id
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</body></html>");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_units_are_written_without_floats() {
        assert_eq!(major(1250, Currency::EUR), "12.50");
        assert_eq!(major(-5, Currency::EUR), "-0.05");
        assert_eq!(major(0, Currency::EUR), "0.00");
        assert_eq!(major(i64::MIN, Currency::EUR), "-92233720368547758.08");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href='x'>&"),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
    }
}
