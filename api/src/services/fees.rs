//! Fees (docs/fees.md): the public fee report per prison and month, and the prisons' fee
//! policies (who bears each card-level fee). Shared by the JSON routes, the CSV and the page.
//! Institutional figures only: no person, card or transaction appears in either.
use ledger::Currency;
use ledger::fees::{self, Bearer, FeeKind, FeePolicy, NewFeePolicy};
use serde::Serialize;
use time::{Date, Month};
use uuid::Uuid;

use crate::services::ServiceError;
use crate::state::AppState;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportMonth {
    pub first_day: Date,
    /// The first day of the next month (the report covers `[first_day, next_first_day)`).
    pub next_first_day: Date,
}

impl ReportMonth {
    pub fn parse(text: &str) -> Result<ReportMonth, ServiceError> {
        let invalid = || ServiceError::invalid("month_invalid", "month is YYYY-MM");
        let (year, month) = text.split_once('-').ok_or_else(invalid)?;
        let digits = |part: &str, len: usize| {
            part.len() == len && part.bytes().all(|byte| byte.is_ascii_digit())
        };
        if !digits(year, 4) || !digits(month, 2) {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let month: u8 = month.parse().map_err(|_| invalid())?;
        let month = Month::try_from(month).map_err(|_| invalid())?;
        let first_day = Date::from_calendar_date(year, month, 1).map_err(|_| invalid())?;
        let (next_year, next_month) = match month {
            Month::December => (year.checked_add(1).ok_or_else(invalid)?, Month::January),
            other => (year, other.next()),
        };
        let next_first_day =
            Date::from_calendar_date(next_year, next_month, 1).map_err(|_| invalid())?;
        Ok(ReportMonth {
            first_day,
            next_first_day,
        })
    }

    pub fn label(&self) -> String {
        format!(
            "{:04}-{:02}",
            self.first_day.year(),
            u8::from(self.first_day.month())
        )
    }
}

/// One line of the report: a fee kind, who bore it, in one currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeeReportLine {
    /// `processor_program`, `atm_withdrawal` or `card_replacement`.
    #[schema(example = "atm_withdrawal")]
    pub fee_kind: String,
    /// True for the processor's program fees: the whole card program's, shown on every prison's
    /// report as they are, not apportioned (docs/fees.md).
    pub program_wide: bool,
    /// `service` or `prisoner`.
    #[schema(example = "service")]
    pub borne_by: String,
    #[schema(example = "EUR")]
    pub currency: String,
    /// How many fees.
    pub count: i64,
    /// Their sum, from the fee entries' postings.
    pub total_minor: i64,
}

/// Per currency: what the prison's fees came to, and how much of it prisoners bore.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeeReportTotal {
    #[schema(example = "EUR")]
    pub currency: String,
    /// The prison's card-level fees (program-wide fees not included).
    pub prison_total_minor: i64,
    pub borne_by_service_minor: i64,
    pub borne_by_prisoners_minor: i64,
    /// The whole program's processor fees in the month.
    pub program_wide_minor: i64,
}

/// The public fee report of a prison for a month: aggregates only, no person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeeReport {
    pub prison_id: Uuid,
    #[schema(example = "HEL")]
    pub prison_code: String,
    /// `YYYY-MM`.
    #[schema(example = "2026-11")]
    pub month: String,
    pub lines: Vec<FeeReportLine>,
    pub totals: Vec<FeeReportTotal>,
}

fn overflow() -> ServiceError {
    ServiceError::invalid("amount_overflow", "a total does not fit in 64 bits")
}

fn add(total: &mut i64, amount: i64) -> Result<(), ServiceError> {
    *total = total.checked_add(amount).ok_or_else(overflow)?;
    Ok(())
}

/// The fee report of `prison_id` for `month`. 404 `prison` for an unknown prison.
pub async fn report(
    state: &AppState,
    prison_id: Uuid,
    month: ReportMonth,
) -> Result<FeeReport, ServiceError> {
    let client = state.pool.get().await?;
    let prison = crate::identity::store::prison(&client, prison_id)
        .await?
        .ok_or(ServiceError::NotFound("prison"))?;
    let lines =
        fees::report_lines(&client, prison_id, month.first_day, month.next_first_day).await?;
    let mut totals: std::collections::BTreeMap<String, FeeReportTotal> = Default::default();
    for line in &lines {
        let currency = line.currency.code().to_owned();
        let total = totals
            .entry(currency.clone())
            .or_insert_with(|| FeeReportTotal {
                currency,
                prison_total_minor: 0,
                borne_by_service_minor: 0,
                borne_by_prisoners_minor: 0,
                program_wide_minor: 0,
            });
        if line.program_wide {
            add(&mut total.program_wide_minor, line.total_minor)?;
            continue;
        }
        add(&mut total.prison_total_minor, line.total_minor)?;
        match line.borne_by {
            Bearer::Service => add(&mut total.borne_by_service_minor, line.total_minor)?,
            Bearer::Prisoner => add(&mut total.borne_by_prisoners_minor, line.total_minor)?,
        }
    }
    Ok(FeeReport {
        prison_id,
        prison_code: prison.code,
        month: month.label(),
        lines: lines
            .into_iter()
            .map(|line| FeeReportLine {
                fee_kind: line.fee_kind.as_str().to_owned(),
                program_wide: line.program_wide,
                borne_by: line.borne_by.as_str().to_owned(),
                currency: line.currency.code().to_owned(),
                count: line.count,
                total_minor: line.total_minor,
            })
            .collect(),
        totals: totals.into_values().collect(),
    })
}

/// A fee policy as recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeePolicyView {
    pub id: i64,
    /// `atm_withdrawal` or `card_replacement`.
    #[schema(example = "atm_withdrawal")]
    pub fee_kind: String,
    #[schema(example = "EUR")]
    pub currency: String,
    pub amount_minor: i64,
    /// `service` or `prisoner`.
    #[schema(example = "service")]
    pub borne_by: String,
    pub reason: String,
    /// The member of staff (id) who set it.
    pub set_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub set_at: time::OffsetDateTime,
}

impl From<FeePolicy> for FeePolicyView {
    fn from(policy: FeePolicy) -> FeePolicyView {
        FeePolicyView {
            id: policy.id,
            fee_kind: policy.fee_kind.as_str().to_owned(),
            currency: policy.amount.currency.code().to_owned(),
            amount_minor: policy.amount.amount_minor,
            borne_by: policy.borne_by.as_str().to_owned(),
            reason: policy.reason,
            set_by: policy.set_by,
            set_at: policy.set_at,
        }
    }
}

/// A prison's fee policies: those in force (the latest per kind and currency) and every one
/// ever set, newest first. A kind with no policy costs nothing: the service bears it at zero.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeePolicies {
    pub in_force: Vec<FeePolicyView>,
    pub history: Vec<FeePolicyView>,
}

pub async fn policies(state: &AppState, prison_id: Uuid) -> Result<FeePolicies, ServiceError> {
    let client = state.pool.get().await?;
    let history = fees::policy_history(&client, prison_id).await?;
    let mut seen = std::collections::HashSet::new();
    let in_force = history
        .iter()
        .filter(|policy| seen.insert((policy.fee_kind, policy.amount.currency)))
        .cloned()
        .map(FeePolicyView::from)
        .collect();
    Ok(FeePolicies {
        in_force,
        history: history.into_iter().map(FeePolicyView::from).collect(),
    })
}

/// What a finance approver asks to set.
pub struct SetFeePolicy<'a> {
    pub prison_id: Uuid,
    pub fee_kind: &'a str,
    pub currency: &'a str,
    pub amount_minor: i64,
    pub borne_by: Option<&'a str>,
    pub reason: &'a str,
    pub set_by: Uuid,
}

/// Records a fee policy (append-only; the same again changes nothing). The bearer defaults to
/// the service.
pub async fn set_policy(
    state: &AppState,
    request: SetFeePolicy<'_>,
) -> Result<FeePolicyView, ServiceError> {
    let fee_kind = FeeKind::parse(request.fee_kind)?;
    let currency = Currency::from_code(request.currency).map_err(|_| {
        ServiceError::invalid(
            "currency_invalid",
            "currency is an ISO 4217 code Saldo keeps",
        )
    })?;
    let borne_by = request
        .borne_by
        .map(Bearer::parse)
        .transpose()?
        .unwrap_or_default();
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let policy = fees::set_policy(
        &tx,
        &NewFeePolicy {
            prison_id: request.prison_id,
            fee_kind,
            amount: ledger::Money::new(request.amount_minor, currency),
            borne_by,
            reason: request.reason.to_owned(),
            set_by: request.set_by.to_string(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(policy.into())
}

#[cfg(test)]
mod tests {
    use super::ReportMonth;
    use time::macros::date;

    #[test]
    fn a_month_covers_its_first_day_up_to_the_next_months_first_day() {
        let november = ReportMonth::parse("2026-11").unwrap();
        assert_eq!(november.first_day, date!(2026 - 11 - 01));
        assert_eq!(november.next_first_day, date!(2026 - 12 - 01));
        assert_eq!(november.label(), "2026-11");
        let december = ReportMonth::parse("2026-12").unwrap();
        assert_eq!(december.next_first_day, date!(2027 - 01 - 01));
    }

    #[test]
    fn anything_but_yyyy_mm_is_refused_as_month_invalid() {
        for text in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            "",
            "2026-11-01",
            "+026-11",
        ] {
            let error = ReportMonth::parse(text).unwrap_err();
            assert_eq!(error.to_string(), "month is YYYY-MM", "{text}");
        }
    }
}
