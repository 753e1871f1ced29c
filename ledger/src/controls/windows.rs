//! Spend windows: the calendar day, ISO week and month in the prison's time zone, as UTC
//! intervals the caller sums its spending over.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ControlsError;
use super::policy::Limits;
use crate::money::{Currency, Money};

/// `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl Interval {
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }

    /// Starts and ends on a whole minute (of Unix time): spend counted per minute (V13) sums
    /// exactly to this interval's.
    pub fn on_whole_minutes(&self) -> bool {
        let whole = |at: OffsetDateTime| at.unix_timestamp_nanos() % 60_000_000_000 == 0;
        whole(self.start) && whole(self.end)
    }
}

/// The local calendar periods containing one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendWindows {
    pub day: Interval,
    /// Monday 00:00 to the next Monday 00:00 (ISO 8601 weeks).
    pub week: Interval,
    pub month: Interval,
}

impl SpendWindows {
    /// All three on whole minutes: true in every current time zone (their offsets are whole
    /// minutes); not in local mean time before time zones existed.
    pub fn on_whole_minutes(&self) -> bool {
        self.day.on_whole_minutes() && self.week.on_whole_minutes() && self.month.on_whole_minutes()
    }

    /// From the earliest start to the latest end of the three: everything any of them counts.
    pub fn covering(&self) -> Interval {
        Interval {
            start: self.day.start.min(self.week.start).min(self.month.start),
            end: self.day.end.max(self.week.end).max(self.month.end),
        }
    }

    /// The day, week and month containing `at` in `tz`. Local midnights are found in the time
    /// zone database, so a day is 23 or 25 hours long across a daylight-saving change; where a
    /// zone skips midnight itself, the day starts at the first instant that exists.
    pub fn containing(at: OffsetDateTime, tz: &TimeZone) -> Result<SpendWindows, ControlsError> {
        let local = to_jiff(at)?.to_zoned(tz.clone());
        let today = local.date();
        let monday = today
            .checked_sub(Span::new().days(i64::from(today.weekday().to_monday_zero_offset())))
            .map_err(time_error)?;
        let first_of_month = today.first_of_month();
        let next = |date: Date, span: Span| date.checked_add(span).map_err(time_error);
        Ok(SpendWindows {
            day: interval(tz, today, next(today, Span::new().days(1))?)?,
            week: interval(tz, monday, next(monday, Span::new().weeks(1))?)?,
            month: interval(
                tz,
                first_of_month,
                next(first_of_month, Span::new().months(1))?,
            )?,
        })
    }
}

fn interval(tz: &TimeZone, start: Date, end: Date) -> Result<Interval, ControlsError> {
    Ok(Interval {
        start: start_of(tz, start)?,
        end: start_of(tz, end)?,
    })
}

/// The first instant of a local date. `to_zoned` resolves midnight "compatibly": in a gap it
/// moves forward to the first time that exists, in a fold it takes the earlier instant; both
/// are the start of that day.
fn start_of(tz: &TimeZone, date: Date) -> Result<OffsetDateTime, ControlsError> {
    let zoned = date.to_zoned(tz.clone()).map_err(time_error)?;
    from_jiff(zoned.timestamp())
}

fn time_error(_: jiff::Error) -> ControlsError {
    ControlsError::TimeOutOfRange
}

pub(crate) fn to_jiff(at: OffsetDateTime) -> Result<Timestamp, ControlsError> {
    Timestamp::from_nanosecond(at.unix_timestamp_nanos()).map_err(time_error)
}

pub(crate) fn from_jiff(at: Timestamp) -> Result<OffsetDateTime, ControlsError> {
    OffsetDateTime::from_unix_timestamp_nanos(at.as_nanosecond())
        .map_err(|_| ControlsError::TimeOutOfRange)
}

/// What the card has already spent in each window: approvals still held plus clearings, minus
/// reversals and refunds (the caller's sums; see docs/controls.md). May exceed a limit, e.g.
/// after a stand-in approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpend {
    pub day: Money,
    pub week: Money,
    pub month: Money,
}

impl WindowSpend {
    pub fn zero(currency: Currency) -> WindowSpend {
        WindowSpend {
            day: Money::zero(currency),
            week: Money::zero(currency),
            month: Money::zero(currency),
        }
    }
}

/// How much more may be spent under each limit; `None` where there is no limit. Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemainingRoom {
    pub per_authorization: Option<Money>,
    pub day: Option<Money>,
    pub week: Option<Money>,
    pub month: Option<Money>,
}

impl RemainingRoom {
    pub fn of(limits: &Limits, spent: &WindowSpend) -> Result<RemainingRoom, ControlsError> {
        Ok(RemainingRoom {
            per_authorization: limits.per_authorization,
            day: room(limits.daily, spent.day)?,
            week: room(limits.weekly, spent.week)?,
            month: room(limits.monthly, spent.month)?,
        })
    }
}

fn room(limit: Option<Money>, spent: Money) -> Result<Option<Money>, ControlsError> {
    let Some(limit) = limit else {
        return Ok(None);
    };
    // A refund larger than the period's spending must not lift the limit itself.
    let spent = Money::new(spent.amount_minor.max(0), spent.currency);
    let left = limit.checked_sub(spent)?;
    Ok(Some(Money::new(left.amount_minor.max(0), limit.currency)))
}
