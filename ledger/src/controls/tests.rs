//! Table-driven tests of the spending controls, at the boundaries.

use std::collections::BTreeSet;

use jiff::tz::TimeZone;
use proptest::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::money::{Currency, Money};

const CANTEEN: &str = "canteen-helsinki";
const PHONE: &str = "phone-telio";
const SHOP: &str = "shop-outside";

fn eur(cents: i64) -> Money {
    Money::new(cents, Currency::EUR)
}

fn helsinki() -> TimeZone {
    TimeZone::get("Europe/Helsinki").unwrap()
}

fn closed() -> Policy {
    Policy::closed_prison("fi-closed", 3, "FI", &[CANTEEN, PHONE])
}

/// A canteen purchase, well formed, at noon UTC on an ordinary Tuesday.
fn request(cents: i64) -> AuthorizationRequest {
    AuthorizationRequest {
        amount: eur(cents),
        merchant_id: CANTEEN.to_owned(),
        merchant_name: "Vankilan kanttiini".to_owned(),
        mcc: "5411".to_owned(),
        merchant_country: "FI".to_owned(),
        channel: Channel::Pos,
        at: datetime!(2026-03-10 12:00 UTC),
        partial_approval_capable: false,
        merchant_kind: MerchantKind::Card,
    }
}

fn outside(cents: i64) -> AuthorizationRequest {
    AuthorizationRequest {
        merchant_id: SHOP.to_owned(),
        merchant_name: "Kauppa".to_owned(),
        ..request(cents)
    }
}

fn nothing_spent() -> WindowSpend {
    WindowSpend::zero(Currency::EUR)
}

fn plenty() -> Money {
    eur(1_000_000_00)
}

fn decide(request: &AuthorizationRequest, mode: &CardMode, policy: &Policy) -> Decision {
    decide_with(request, mode, policy, nothing_spent(), plenty())
}

fn decide_with(
    request: &AuthorizationRequest,
    mode: &CardMode,
    policy: &Policy,
    spent: WindowSpend,
    available: Money,
) -> Decision {
    evaluate(
        request,
        &EvaluationContext {
            mode,
            policy,
            spent,
            available,
        },
    )
}

/// The reason key of a decline, or "approve".
fn outcome(decision: &Decision) -> &'static str {
    match decision {
        Decision::Approve { .. } => "approve",
        Decision::Decline { reason, .. } => reason.as_str(),
    }
}

fn leave_in_march() -> CardMode {
    CardMode::Leave {
        from: datetime!(2026-03-10 06:00 UTC),
        until: datetime!(2026-03-12 18:00 UTC),
        limits: closed().default_leave_limits,
    }
}

fn released_until_april() -> CardMode {
    CardMode::Released {
        until: datetime!(2026-04-30 21:00 UTC),
    }
}

fn approver_override(id: &str, change: OverrideChange) -> PolicyOverride {
    PolicyOverride {
        id: id.to_owned(),
        version: 1,
        reason: "approved by the director for resettlement".to_owned(),
        requested_by: "staff-17".to_owned(),
        approved_by: "staff-42".to_owned(),
        change,
    }
}

// ---------------------------------------------------------------------------------------------
// Spend windows

#[test]
fn the_day_window_runs_from_local_midnight_to_local_midnight_in_helsinki() {
    let windows = SpendWindows::containing(datetime!(2026-01-15 12:00 UTC), &helsinki()).unwrap();
    // Winter: Helsinki is UTC+2.
    assert_eq!(windows.day.start, datetime!(2026-01-14 22:00 UTC));
    assert_eq!(windows.day.end, datetime!(2026-01-15 22:00 UTC));
}

#[test]
fn windows_are_correct_across_daylight_saving_changes_and_period_ends() {
    // (instant, day start, day end, week start, week end, month start, month end), all UTC.
    let cases: &[(OffsetDateTime, [OffsetDateTime; 6])] = &[
        // Sunday 29 March 2026, the spring change (03:00 -> 04:00): a 23-hour day, and the
        // week ending that night is 167 hours.
        (
            datetime!(2026-03-29 10:00 UTC),
            [
                datetime!(2026-03-28 22:00 UTC),
                datetime!(2026-03-29 21:00 UTC),
                datetime!(2026-03-22 22:00 UTC),
                datetime!(2026-03-29 21:00 UTC),
                datetime!(2026-02-28 22:00 UTC),
                datetime!(2026-03-31 21:00 UTC),
            ],
        ),
        // Sunday 25 October 2026, the autumn change (04:00 -> 03:00): a 25-hour day.
        (
            datetime!(2026-10-25 10:00 UTC),
            [
                datetime!(2026-10-24 21:00 UTC),
                datetime!(2026-10-25 22:00 UTC),
                datetime!(2026-10-18 21:00 UTC),
                datetime!(2026-10-25 22:00 UTC),
                datetime!(2026-09-30 21:00 UTC),
                datetime!(2026-10-31 22:00 UTC),
            ],
        ),
        // Saturday 28 February 2026, 23:59:59 local: still February, still that week.
        (
            datetime!(2026-02-28 21:59:59 UTC),
            [
                datetime!(2026-02-27 22:00 UTC),
                datetime!(2026-02-28 22:00 UTC),
                datetime!(2026-02-22 22:00 UTC),
                datetime!(2026-03-01 22:00 UTC),
                datetime!(2026-01-31 22:00 UTC),
                datetime!(2026-02-28 22:00 UTC),
            ],
        ),
        // One second later it is 1 March locally: a new day and month, the same week.
        (
            datetime!(2026-02-28 22:00 UTC),
            [
                datetime!(2026-02-28 22:00 UTC),
                datetime!(2026-03-01 22:00 UTC),
                datetime!(2026-02-22 22:00 UTC),
                datetime!(2026-03-01 22:00 UTC),
                datetime!(2026-02-28 22:00 UTC),
                datetime!(2026-03-31 21:00 UTC),
            ],
        ),
        // 29 February in a leap year; the week crosses into March.
        (
            datetime!(2028-02-29 12:00 UTC),
            [
                datetime!(2028-02-28 22:00 UTC),
                datetime!(2028-02-29 22:00 UTC),
                datetime!(2028-02-27 22:00 UTC),
                datetime!(2028-03-05 22:00 UTC),
                datetime!(2028-01-31 22:00 UTC),
                datetime!(2028-02-29 22:00 UTC),
            ],
        ),
        // Thursday 31 December 2026: the ISO week runs Monday 28 Dec to Monday 4 Jan.
        (
            datetime!(2026-12-31 12:00 UTC),
            [
                datetime!(2026-12-30 22:00 UTC),
                datetime!(2026-12-31 22:00 UTC),
                datetime!(2026-12-27 22:00 UTC),
                datetime!(2027-01-03 22:00 UTC),
                datetime!(2026-11-30 22:00 UTC),
                datetime!(2026-12-31 22:00 UTC),
            ],
        ),
    ];
    for (
        at,
        [
            day_start,
            day_end,
            week_start,
            week_end,
            month_start,
            month_end,
        ],
    ) in cases
    {
        let w = SpendWindows::containing(*at, &helsinki()).unwrap();
        assert_eq!(
            (w.day.start, w.day.end),
            (*day_start, *day_end),
            "day of {at}"
        );
        assert_eq!(
            (w.week.start, w.week.end),
            (*week_start, *week_end),
            "week of {at}"
        );
        assert_eq!(
            (w.month.start, w.month.end),
            (*month_start, *month_end),
            "month of {at}"
        );
        assert!(w.day.contains(*at) && w.week.contains(*at) && w.month.contains(*at));
        assert!(w.on_whole_minutes(), "windows of {at}");
    }
}

#[test]
fn windows_are_on_whole_minutes_in_current_zones_but_not_in_local_mean_time() {
    for zone in [
        "Europe/Helsinki",
        "Europe/Brussels",
        "Asia/Kathmandu",
        "Pacific/Chatham",
    ] {
        let tz = TimeZone::get(zone).unwrap();
        let w = SpendWindows::containing(datetime!(2026-12-05 10:00:30.5 UTC), &tz).unwrap();
        assert!(w.on_whole_minutes(), "{zone}");
    }
    // Helsinki kept local mean time (+01:39:49) until 1921.
    let w = SpendWindows::containing(datetime!(1900-06-15 12:00 UTC), &helsinki()).unwrap();
    assert!(!w.on_whole_minutes());
}

#[test]
fn a_week_starts_on_monday_at_local_midnight() {
    let sunday_late = datetime!(2026-03-15 21:59:59 UTC); // Sunday 23:59:59 in Helsinki
    let monday_midnight = datetime!(2026-03-15 22:00 UTC); // Monday 00:00 in Helsinki
    let before = SpendWindows::containing(sunday_late, &helsinki()).unwrap();
    let after = SpendWindows::containing(monday_midnight, &helsinki()).unwrap();
    assert_eq!(before.week.end, monday_midnight);
    assert_eq!(after.week.start, monday_midnight);
    assert!(!before.week.contains(monday_midnight));
}

#[test]
fn a_day_starts_at_the_first_instant_that_exists_where_a_zone_skips_midnight() {
    // São Paulo started summer time at 00:00 on 4 November 2018: the day began at 01:00 (-02).
    let tz = TimeZone::get("America/Sao_Paulo").unwrap();
    let w = SpendWindows::containing(datetime!(2018-11-04 15:00 UTC), &tz).unwrap();
    assert_eq!(w.day.start, datetime!(2018-11-04 03:00 UTC));
    let previous = SpendWindows::containing(datetime!(2018-11-04 02:59:59 UTC), &tz).unwrap();
    assert_eq!(previous.day.end, w.day.start);
}

/// Sums a card's earlier spending inside an interval, as the caller's query would.
fn spent_in(history: &[(OffsetDateTime, i64)], interval: &Interval) -> Money {
    eur(history
        .iter()
        .filter(|(at, _)| interval.contains(*at))
        .map(|(_, cents)| cents)
        .sum())
}

fn spend_for(history: &[(OffsetDateTime, i64)], at: OffsetDateTime) -> WindowSpend {
    let windows = SpendWindows::containing(at, &helsinki()).unwrap();
    WindowSpend {
        day: spent_in(history, &windows.day),
        week: spent_in(history, &windows.week),
        month: spent_in(history, &windows.month),
    }
}

#[test]
fn the_daily_limit_rolls_over_at_local_midnight_including_daylight_saving_days() {
    // The whole daily limit (50.00) spent early in the local day; then 1.00 at the given instant.
    // (spend instant, try instant, expected)
    let cases = [
        // Winter: midnight in Helsinki is 22:00 UTC.
        (
            datetime!(2026-01-20 08:00 UTC),
            datetime!(2026-01-20 21:59:59 UTC),
            "daily_limit_exceeded",
        ),
        (
            datetime!(2026-01-20 08:00 UTC),
            datetime!(2026-01-20 22:00 UTC),
            "approve",
        ),
        // Spring change day (23 hours): the next local midnight is at 21:00 UTC.
        (
            datetime!(2026-03-29 08:00 UTC),
            datetime!(2026-03-29 20:59:59 UTC),
            "daily_limit_exceeded",
        ),
        (
            datetime!(2026-03-29 08:00 UTC),
            datetime!(2026-03-29 21:00 UTC),
            "approve",
        ),
        // Autumn change day (25 hours): 21:30 UTC is still 23:30 on the 25th.
        (
            datetime!(2026-10-25 08:00 UTC),
            datetime!(2026-10-25 21:30 UTC),
            "daily_limit_exceeded",
        ),
        (
            datetime!(2026-10-25 08:00 UTC),
            datetime!(2026-10-25 22:00 UTC),
            "approve",
        ),
    ];
    for (spent_at, try_at, expected) in cases {
        let history = [(spent_at, 50_00)];
        let request = AuthorizationRequest {
            at: try_at,
            ..request(1_00)
        };
        let decision = decide_with(
            &request,
            &CardMode::Inside,
            &closed(),
            spend_for(&history, try_at),
            plenty(),
        );
        assert_eq!(
            outcome(&decision),
            expected,
            "spent {spent_at}, try {try_at}"
        );
    }
}

#[test]
fn the_monthly_limit_rolls_over_at_local_month_end() {
    let history = [(datetime!(2026-01-10 10:00 UTC), 250_00)];
    let last_second_of_january = datetime!(2026-01-31 21:59:59 UTC);
    let first_second_of_february = datetime!(2026-01-31 22:00 UTC);
    let policy = Policy::with_overrides(
        &closed(),
        &[approver_override(
            "o-nolimits",
            OverrideChange::SetLimits {
                scope: Scope::Inside,
                limits: Limits {
                    monthly: Some(eur(250_00)),
                    ..Limits::NONE
                },
            },
        )],
    )
    .unwrap();
    let try_at = |at| {
        let request = AuthorizationRequest { at, ..request(1) };
        outcome(&decide_with(
            &request,
            &CardMode::Inside,
            &policy,
            spend_for(&history, at),
            plenty(),
        ))
    };
    assert_eq!(try_at(last_second_of_january), "monthly_limit_exceeded");
    assert_eq!(try_at(first_second_of_february), "approve");
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn each_limit_approves_exactly_at_the_limit_and_declines_one_cent_over() {
    // Closed template: per authorization 50.00, day 50.00, week 100.00, month 250.00.
    // (spent day, week, month; amount; expected)
    let cases = [
        ((0, 0, 0), 50_00, "approve"),
        ((0, 0, 0), 50_01, "per_authorization_limit_exceeded"),
        ((30_00, 30_00, 30_00), 20_00, "approve"),
        ((30_00, 30_00, 30_00), 20_01, "daily_limit_exceeded"),
        ((0, 80_00, 80_00), 20_00, "approve"),
        ((0, 80_00, 80_00), 20_01, "weekly_limit_exceeded"),
        ((0, 0, 230_00), 20_00, "approve"),
        ((0, 0, 230_00), 20_01, "monthly_limit_exceeded"),
        // Spent already over the limit (a stand-in approval): no room at all.
        ((0, 120_00, 120_00), 1, "weekly_limit_exceeded"),
        // Refunds beyond the period's spending do not lift the limit itself.
        (
            (-40_00, -40_00, -40_00),
            50_01,
            "per_authorization_limit_exceeded",
        ),
        ((-40_00, -40_00, -40_00), 50_00, "approve"),
    ];
    for ((day, week, month), amount, expected) in cases {
        let spent = WindowSpend {
            day: eur(day),
            week: eur(week),
            month: eur(month),
        };
        let decision = decide_with(
            &request(amount),
            &CardMode::Inside,
            &closed(),
            spent,
            plenty(),
        );
        assert_eq!(
            outcome(&decision),
            expected,
            "spent {spent:?}, amount {amount}"
        );
        if expected != "approve" {
            assert_eq!(decision.decline_code(), Some(DeclineCode::LimitExceeded));
        } else {
            assert_eq!(decision.approved_amount(), Some(eur(amount)));
        }
    }
}

#[test]
fn when_several_windows_are_exceeded_the_first_in_order_is_the_reason_given() {
    let spent = WindowSpend {
        day: eur(45_00),
        week: eur(95_00),
        month: eur(245_00),
    };
    let decision = decide_with(
        &request(10_00),
        &CardMode::Inside,
        &closed(),
        spent,
        plenty(),
    );
    assert_eq!(outcome(&decision), "daily_limit_exceeded");
}

#[test]
fn a_payment_beyond_the_available_balance_is_declined_as_insufficient_funds() {
    let cases = [
        (10_00, 10_00, "approve"),
        (10_00, 10_01, "insufficient_funds"),
        (0, 1, "insufficient_funds"),
        // Overdrawn by a stand-in approval: nothing is available.
        (-5_00, 1, "insufficient_funds"),
    ];
    for (available, amount, expected) in cases {
        let decision = decide_with(
            &request(amount),
            &CardMode::Inside,
            &closed(),
            nothing_spent(),
            eur(available),
        );
        assert_eq!(
            outcome(&decision),
            expected,
            "available {available}, amount {amount}"
        );
    }
    let declined = decide_with(
        &request(1),
        &CardMode::Inside,
        &closed(),
        nothing_spent(),
        eur(0),
    );
    assert_eq!(
        declined.decline_code(),
        Some(DeclineCode::InsufficientFunds)
    );
}

#[test]
fn a_partial_approval_gives_what_the_tightest_cap_leaves_when_the_terminal_accepts_it() {
    // (partial capable, spent week, available, amount, expected approved or reason)
    // Ok((approved, limited by)) or Err(decline reason)
    type Expected = Result<(i64, ReasonKey), ReasonKey>;
    let cases: [(bool, i64, i64, i64, Expected); 6] = [
        (
            true,
            87_66,
            100_00,
            20_00,
            Ok((12_34, ReasonKey::WeeklyLimitExceeded)),
        ),
        (
            true,
            0,
            7_50,
            20_00,
            Ok((7_50, ReasonKey::InsufficientFunds)),
        ),
        // The per-authorization maximum caps too.
        (
            true,
            0,
            100_00,
            60_00,
            Ok((50_00, ReasonKey::PerAuthorizationLimitExceeded)),
        ),
        // Nothing left: a partial approval of zero is a decline.
        (
            true,
            100_00,
            100_00,
            20_00,
            Err(ReasonKey::WeeklyLimitExceeded),
        ),
        (true, 0, 0, 20_00, Err(ReasonKey::InsufficientFunds)),
        // Not capable: declined although part would fit.
        (
            false,
            87_66,
            100_00,
            20_00,
            Err(ReasonKey::WeeklyLimitExceeded),
        ),
    ];
    for (capable, week, available, amount, expected) in cases {
        let request = AuthorizationRequest {
            partial_approval_capable: capable,
            ..request(amount)
        };
        let spent = WindowSpend {
            day: eur(0),
            week: eur(week),
            month: eur(week),
        };
        let decision = decide_with(
            &request,
            &CardMode::Inside,
            &closed(),
            spent,
            eur(available),
        );
        match expected {
            Ok((approved, limited_by)) => {
                assert_eq!(
                    decision.approved_amount(),
                    Some(eur(approved)),
                    "{request:?}"
                );
                assert_eq!(decision.reason(), Some(limited_by));
            }
            Err(reason) => {
                assert!(!decision.is_approved(), "{request:?}");
                assert_eq!(decision.reason(), Some(reason));
            }
        }
    }
}

#[test]
fn a_full_approval_names_no_limiting_control() {
    let request = AuthorizationRequest {
        partial_approval_capable: true,
        ..request(10_00)
    };
    let decision = decide(&request, &CardMode::Inside, &closed());
    assert_eq!(decision.approved_amount(), Some(eur(10_00)));
    assert_eq!(decision.reason(), None);
}

// ---------------------------------------------------------------------------------------------
// Modes

#[test]
fn a_frozen_card_declines_everything_as_inactive() {
    for request in [request(1), outside(1)] {
        let decision = decide(&request, &CardMode::Frozen, &closed());
        assert_eq!(outcome(&decision), "card_frozen");
        assert_eq!(decision.decline_code(), Some(DeclineCode::CardInactive));
    }
}

#[test]
fn inside_only_the_prisons_own_merchants_are_approved() {
    let phone = AuthorizationRequest {
        merchant_id: PHONE.to_owned(),
        mcc: "4814".to_owned(),
        ..request(5_00)
    };
    assert_eq!(
        outcome(&decide(&request(5_00), &CardMode::Inside, &closed())),
        "approve"
    );
    assert_eq!(
        outcome(&decide(&phone, &CardMode::Inside, &closed())),
        "approve"
    );
    let decision = decide(&outside(5_00), &CardMode::Inside, &closed());
    assert_eq!(outcome(&decision), "merchant_not_allowed_inside");
    assert_eq!(decision.decline_code(), Some(DeclineCode::MerchantBlocked));
}

#[test]
fn a_leave_allows_outside_purchases_only_between_its_dates() {
    // [from, until) = [2026-03-10 06:00, 2026-03-12 18:00)
    let cases = [
        (
            datetime!(2026-03-10 05:59:59 UTC),
            "merchant_not_allowed_inside",
        ),
        (datetime!(2026-03-10 06:00 UTC), "approve"),
        (datetime!(2026-03-12 17:59:59 UTC), "approve"),
        (
            datetime!(2026-03-12 18:00 UTC),
            "merchant_not_allowed_inside",
        ),
    ];
    for (at, expected) in cases {
        let request = AuthorizationRequest {
            at,
            ..outside(20_00)
        };
        assert_eq!(
            outcome(&decide(&request, &leave_in_march(), &closed())),
            expected,
            "at {at}"
        );
    }
}

#[test]
fn a_leave_uses_its_own_limits_and_the_inside_limits_come_back_after_it() {
    // Inside per-authorization maximum is 50.00; this leave allows 100.00.
    let during = AuthorizationRequest {
        at: datetime!(2026-03-11 12:00 UTC),
        ..request(80_00)
    };
    let after = AuthorizationRequest {
        at: datetime!(2026-03-13 12:00 UTC),
        ..request(80_00)
    };
    assert_eq!(
        outcome(&decide(&during, &leave_in_march(), &closed())),
        "approve"
    );
    assert_eq!(
        outcome(&decide(&after, &leave_in_march(), &closed())),
        "per_authorization_limit_exceeded"
    );
}

#[test]
fn a_released_card_works_as_a_normal_card_until_its_end_date_then_is_inactive() {
    let abroad = AuthorizationRequest {
        merchant_country: "EE".to_owned(),
        channel: Channel::Atm,
        mcc: "6011".to_owned(),
        at: datetime!(2026-04-30 20:59:59 UTC),
        ..outside(400_00)
    };
    assert_eq!(
        outcome(&decide(&abroad, &released_until_april(), &closed())),
        "approve"
    );
    let too_late = AuthorizationRequest {
        at: datetime!(2026-04-30 21:00 UTC),
        ..abroad.clone()
    };
    let decision = decide(&too_late, &released_until_april(), &closed());
    assert_eq!(outcome(&decision), "release_period_ended");
    assert_eq!(decision.decline_code(), Some(DeclineCode::CardInactive));
    // Within its balance only.
    let decision = decide_with(
        &abroad,
        &released_until_april(),
        &closed(),
        nothing_spent(),
        eur(399_99),
    );
    assert_eq!(outcome(&decision), "insufficient_funds");
}

#[test]
fn effective_mode_is_computed_from_the_instant_alone() {
    let at = datetime!(2026-03-11 00:00 UTC);
    assert_eq!(CardMode::Inside.effective_at(at), EffectiveMode::Inside);
    assert!(matches!(
        leave_in_march().effective_at(at),
        EffectiveMode::Leave { .. }
    ));
    assert_eq!(
        leave_in_march().effective_at(datetime!(2027-01-01 00:00 UTC)),
        EffectiveMode::Inside
    );
    assert_eq!(
        released_until_april().effective_at(at),
        EffectiveMode::Released
    );
    assert!(!CardMode::Frozen.effective_at(at).is_active());
    assert!(
        !released_until_april()
            .effective_at(datetime!(2026-05-01 00:00 UTC))
            .is_active()
    );
}

// ---------------------------------------------------------------------------------------------
// Channels, countries, merchant categories, merchants

#[test]
fn channels_are_allowed_per_mode() {
    let at_leave = datetime!(2026-03-11 12:00 UTC);
    // (mode, channel, expected) with the closed-prison template
    let cases = [
        (CardMode::Inside, Channel::Pos, "approve"),
        (CardMode::Inside, Channel::Contactless, "approve"),
        (
            CardMode::Inside,
            Channel::Ecommerce,
            "ecommerce_not_allowed",
        ),
        (CardMode::Inside, Channel::Atm, "atm_not_allowed"),
        (leave_in_march(), Channel::Ecommerce, "approve"),
        (leave_in_march(), Channel::Atm, "atm_not_allowed"),
        (released_until_april(), Channel::Atm, "approve"),
    ];
    for (mode, channel, expected) in cases {
        let request = AuthorizationRequest {
            channel,
            at: at_leave,
            ..request(5_00)
        };
        let decision = decide(&request, &mode, &closed());
        assert_eq!(outcome(&decision), expected, "{mode:?} {channel:?}");
        if expected != "approve" {
            assert_eq!(decision.decline_code(), Some(DeclineCode::ChannelBlocked));
        }
    }
    let no_contactless = Policy::with_overrides(
        &closed(),
        &[approver_override(
            "o-pos-only",
            OverrideChange::SetChannels {
                scope: Scope::Inside,
                channels: BTreeSet::from([Channel::Pos]),
            },
        )],
    )
    .unwrap();
    let tap = AuthorizationRequest {
        channel: Channel::Contactless,
        ..request(5_00)
    };
    assert_eq!(
        outcome(&decide(&tap, &CardMode::Inside, &no_contactless)),
        "channel_not_allowed"
    );
}

#[test]
fn merchant_countries_outside_the_allowed_list_are_blocked() {
    let at = datetime!(2026-03-11 12:00 UTC);
    let cases = [
        (leave_in_march(), "FI", "approve"),
        (leave_in_march(), "SE", "country_not_allowed"),
        (released_until_april(), "SE", "approve"),
    ];
    for (mode, country, expected) in cases {
        let request = AuthorizationRequest {
            merchant_country: country.to_owned(),
            at,
            ..outside(5_00)
        };
        let decision = decide(&request, &mode, &closed());
        assert_eq!(outcome(&decision), expected, "{mode:?} {country}");
        if expected != "approve" {
            assert_eq!(decision.decline_code(), Some(DeclineCode::CountryBlocked));
        }
    }
}

#[test]
fn every_safe_default_category_is_blocked_even_for_a_released_card() {
    assert!(SAFE_DEFAULT_BLOCKED_MCCS.len() >= 10);
    for (mcc, _) in SAFE_DEFAULT_BLOCKED_MCCS {
        let request = AuthorizationRequest {
            mcc: (*mcc).to_owned(),
            ..outside(5_00)
        };
        let decision = decide(&request, &released_until_april(), &closed());
        assert_eq!(outcome(&decision), "merchant_category_blocked", "MCC {mcc}");
        assert_eq!(decision.decline_code(), Some(DeclineCode::MerchantBlocked));
    }
    for mcc in [
        "7995", "7800", "7801", "7802", "6051", "4829", "6540", "6211",
    ] {
        assert!(is_safe_default_blocked(mcc), "{mcc} must be a safe default");
    }
}

#[test]
fn the_prisons_own_merchant_is_still_subject_to_category_blocks() {
    let lottery_at_canteen = AuthorizationRequest {
        mcc: "7995".to_owned(),
        ..request(2_00)
    };
    assert_eq!(
        outcome(&decide(&lottery_at_canteen, &CardMode::Inside, &closed())),
        "merchant_category_blocked"
    );
}

#[test]
fn an_approved_override_lifts_one_safe_default_and_nothing_else() {
    let policy = Policy::with_overrides(
        &closed(),
        &[approver_override(
            "o-lottery",
            OverrideChange::AllowMcc {
                mcc: "9406".to_owned(),
            },
        )],
    )
    .unwrap();
    let lottery = |mcc: &str| AuthorizationRequest {
        mcc: mcc.to_owned(),
        ..outside(2_00)
    };
    let mode = released_until_april();
    assert_eq!(
        outcome(&decide(&lottery("9406"), &mode, &policy)),
        "approve"
    );
    assert_eq!(
        outcome(&decide(&lottery("7995"), &mode, &policy)),
        "merchant_category_blocked"
    );
    // Blocking it again wins.
    let again = policy
        .with_overrides(&[approver_override(
            "o-lottery-off",
            OverrideChange::BlockMcc {
                mcc: "9406".to_owned(),
            },
        )])
        .unwrap();
    assert_eq!(
        outcome(&decide(&lottery("9406"), &mode, &again)),
        "merchant_category_blocked"
    );
}

#[test]
fn an_mcc_allow_list_admits_only_its_categories_except_at_the_prisons_own_merchants() {
    let mut policy = closed();
    policy.mcc.allow = Some(BTreeSet::from(["5411".to_owned(), "4111".to_owned()]));
    let mode = released_until_april();
    let cases = [
        (SHOP, "5411", "approve"),
        (SHOP, "4111", "approve"),
        (SHOP, "5812", "merchant_category_not_allowed"),
        (CANTEEN, "5812", "approve"),
    ];
    for (merchant, mcc, expected) in cases {
        let request = AuthorizationRequest {
            merchant_id: merchant.to_owned(),
            mcc: mcc.to_owned(),
            ..request(5_00)
        };
        assert_eq!(
            outcome(&decide(&request, &mode, &policy)),
            expected,
            "{merchant} {mcc}"
        );
    }
}

#[test]
fn an_mcc_block_list_blocks_categories_beyond_the_safe_defaults() {
    let mut policy = closed();
    policy.mcc.block.insert("5921".to_owned()); // package stores: beer, wine, liquor
    let liquor = AuthorizationRequest {
        mcc: "5921".to_owned(),
        ..outside(5_00)
    };
    assert_eq!(
        outcome(&decide(&liquor, &released_until_april(), &policy)),
        "merchant_category_blocked"
    );
}

#[test]
fn merchant_allow_and_block_overrides_change_where_the_card_works() {
    let policy = Policy::with_overrides(
        &closed(),
        &[
            approver_override(
                "o-allow-shop",
                OverrideChange::AllowMerchant {
                    merchant_id: SHOP.to_owned(),
                },
            ),
            approver_override(
                "o-block-phone",
                OverrideChange::BlockMerchant {
                    merchant_id: PHONE.to_owned(),
                },
            ),
        ],
    )
    .unwrap();
    let phone = AuthorizationRequest {
        merchant_id: PHONE.to_owned(),
        ..request(5_00)
    };
    assert_eq!(
        outcome(&decide(&outside(5_00), &CardMode::Inside, &policy)),
        "approve"
    );
    assert_eq!(
        outcome(&decide(&phone, &CardMode::Inside, &policy)),
        "merchant_blocked"
    );
    // A blocked merchant stays blocked outside too.
    assert_eq!(
        outcome(&decide(&phone, &released_until_april(), &policy)),
        "merchant_blocked"
    );
}

#[test]
fn checks_run_in_the_documented_order_and_the_first_failure_is_reported() {
    let everything_wrong = AuthorizationRequest {
        channel: Channel::Atm,
        merchant_country: "SE".to_owned(),
        mcc: "7995".to_owned(),
        ..outside(999_00)
    };
    let mut policy = closed();
    policy.blocked_merchants.insert(SHOP.to_owned());
    // Peel one fault off at a time; the reported reason moves down the order.
    let steps: [(AuthorizationRequest, CardMode, &str); 7] = [
        (everything_wrong.clone(), CardMode::Frozen, "card_frozen"),
        (
            everything_wrong.clone(),
            CardMode::Inside,
            "atm_not_allowed",
        ),
        (
            AuthorizationRequest {
                channel: Channel::Pos,
                ..everything_wrong.clone()
            },
            CardMode::Inside,
            "country_not_allowed",
        ),
        (
            AuthorizationRequest {
                channel: Channel::Pos,
                merchant_country: "FI".to_owned(),
                ..everything_wrong.clone()
            },
            CardMode::Inside,
            "merchant_category_blocked",
        ),
        (
            AuthorizationRequest {
                channel: Channel::Pos,
                merchant_country: "FI".to_owned(),
                mcc: "5411".to_owned(),
                ..everything_wrong.clone()
            },
            CardMode::Inside,
            "merchant_blocked",
        ),
        (
            AuthorizationRequest {
                channel: Channel::Pos,
                merchant_country: "FI".to_owned(),
                mcc: "5411".to_owned(),
                merchant_id: "another-shop".to_owned(),
                ..everything_wrong.clone()
            },
            CardMode::Inside,
            "merchant_not_allowed_inside",
        ),
        (
            AuthorizationRequest {
                channel: Channel::Pos,
                merchant_country: "FI".to_owned(),
                mcc: "5411".to_owned(),
                merchant_id: CANTEEN.to_owned(),
                ..everything_wrong.clone()
            },
            CardMode::Inside,
            "per_authorization_limit_exceeded",
        ),
    ];
    for (request, mode, expected) in steps {
        let first = decide_with(&request, &mode, &policy, nothing_spent(), eur(0));
        let second = decide_with(&request, &mode, &policy, nothing_spent(), eur(0));
        assert_eq!(outcome(&first), expected, "{request:?}");
        assert_eq!(first, second, "the same inputs must give the same decision");
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed input fails closed

#[test]
fn malformed_or_foreign_currency_requests_are_declined_as_other() {
    let sek = Currency::from_code("SEK").unwrap();
    let cases = [
        (
            AuthorizationRequest {
                amount: Money::new(5_00, sek),
                ..request(0)
            },
            "currency_not_supported",
        ),
        (request(0), "invalid_request"),
        (request(-5_00), "invalid_request"),
        (
            AuthorizationRequest {
                mcc: "54a1".to_owned(),
                ..request(5_00)
            },
            "invalid_request",
        ),
        (
            AuthorizationRequest {
                merchant_country: "fin".to_owned(),
                ..request(5_00)
            },
            "invalid_request",
        ),
        (
            AuthorizationRequest {
                merchant_id: String::new(),
                ..request(5_00)
            },
            "invalid_request",
        ),
    ];
    for (request, expected) in cases {
        let decision = decide(&request, &CardMode::Inside, &closed());
        assert_eq!(outcome(&decision), expected, "{request:?}");
        assert_eq!(decision.decline_code(), Some(DeclineCode::Other));
    }
}

#[test]
fn inconsistent_inputs_decline_as_an_evaluation_error_rather_than_approve() {
    let sek = Currency::from_code("SEK").unwrap();
    let spent = WindowSpend {
        day: Money::new(0, sek),
        ..nothing_spent()
    };
    let decision = decide_with(
        &request(1_00),
        &CardMode::Inside,
        &closed(),
        spent,
        plenty(),
    );
    assert_eq!(outcome(&decision), "evaluation_error");
    let decision = decide_with(
        &request(1_00),
        &CardMode::Inside,
        &closed(),
        nothing_spent(),
        Money::new(100_00, sek),
    );
    assert_eq!(outcome(&decision), "evaluation_error");
}

// ---------------------------------------------------------------------------------------------
// Policies and overrides

#[test]
fn every_decision_records_the_policy_version_and_the_overrides_that_made_it() {
    let policy = closed()
        .with_overrides(&[approver_override(
            "o-7",
            OverrideChange::SetMaxBalance {
                max_balance: Some(eur(2_000_00)),
            },
        )])
        .unwrap();
    let expected = PolicyRef {
        id: "fi-closed".to_owned(),
        version: 3,
        overrides: vec![OverrideRef {
            id: "o-7".to_owned(),
            version: 1,
        }],
    };
    let approved = decide(&request(1_00), &CardMode::Inside, &policy);
    let declined = decide(&request(1_00), &CardMode::Frozen, &policy);
    assert_eq!(approved.policy(), &expected);
    assert_eq!(declined.policy(), &expected);
}

#[test]
fn an_override_without_reason_or_second_approver_or_with_bad_values_is_refused() {
    let sek = Currency::from_code("SEK").unwrap();
    let good = approver_override(
        "o-1",
        OverrideChange::AllowMcc {
            mcc: "7995".to_owned(),
        },
    );
    let cases = [
        PolicyOverride {
            reason: "  ".to_owned(),
            ..good.clone()
        },
        PolicyOverride {
            approved_by: String::new(),
            ..good.clone()
        },
        PolicyOverride {
            approved_by: good.requested_by.clone(),
            ..good.clone()
        },
        PolicyOverride {
            id: String::new(),
            ..good.clone()
        },
        PolicyOverride {
            change: OverrideChange::AllowMcc {
                mcc: "799".to_owned(),
            },
            ..good.clone()
        },
        PolicyOverride {
            change: OverrideChange::SetLimits {
                scope: Scope::Inside,
                limits: Limits {
                    daily: Some(Money::new(10_00, sek)),
                    ..Limits::NONE
                },
            },
            ..good.clone()
        },
        PolicyOverride {
            change: OverrideChange::SetLimits {
                scope: Scope::Inside,
                limits: Limits {
                    daily: Some(eur(-1)),
                    ..Limits::NONE
                },
            },
            ..good.clone()
        },
        PolicyOverride {
            change: OverrideChange::SetCountries {
                scope: Scope::Leave,
                countries: CountryRule::only(&["Finland"]),
            },
            ..good.clone()
        },
    ];
    for bad in cases {
        assert!(
            closed()
                .with_overrides(&[good.clone(), bad.clone()])
                .is_err(),
            "{bad:?}"
        );
    }
    assert!(closed().with_overrides(&[good]).is_ok());
}

#[test]
fn the_templates_differ_as_their_regimes_require() {
    let closed = Policy::closed_prison("c", 1, "FI", &[CANTEEN]);
    let open = Policy::open_prison("o", 1, "FI", &[CANTEEN]);
    let remand = Policy::remand("r", 1, "FI", &[CANTEEN]);
    assert_eq!(closed.regime, Regime::ClosedPrison);
    assert_eq!(open.regime, Regime::OpenPrison);
    assert_eq!(remand.regime, Regime::Remand);
    // No cash in a closed prison or on remand, even on leave; open-prison leave may use ATMs.
    assert!(!closed.leave.channels.contains(&Channel::Atm));
    assert!(!remand.leave.channels.contains(&Channel::Atm));
    assert!(open.leave.channels.contains(&Channel::Atm));
    assert!(!remand.leave.channels.contains(&Channel::Ecommerce));
    let weekly = |p: &Policy| p.limits.weekly.unwrap().amount_minor;
    assert!(weekly(&open) > weekly(&closed));
    for policy in [&closed, &open, &remand] {
        assert!(policy.mcc.unblocked_defaults.is_empty());
        assert_eq!(policy.released_limits, Limits::NONE);
        assert!(policy.inside_merchants.contains(CANTEEN));
    }
}

#[test]
fn a_credit_that_would_pass_the_maximum_balance_is_reported_with_the_room_left() {
    let policy = closed(); // maximum 1 500.00
    let cases = [
        (1_400_00, 100_00, MaxBalanceCheck::Fits),
        (
            1_400_00,
            100_01,
            MaxBalanceCheck::Exceeds { room: eur(100_00) },
        ),
        (1_600_00, 1, MaxBalanceCheck::Exceeds { room: eur(0) }),
    ];
    for (balance, credit, expected) in cases {
        assert_eq!(
            policy.check_max_balance(eur(balance), eur(credit)).unwrap(),
            expected,
            "balance {balance}, credit {credit}"
        );
    }
    let mut uncapped = closed();
    uncapped.max_balance = None;
    assert_eq!(
        uncapped
            .check_max_balance(eur(i64::MAX - 1), eur(1))
            .unwrap(),
        MaxBalanceCheck::Fits
    );
    assert!(policy.check_max_balance(eur(0), eur(-1)).is_err());
}

// ---------------------------------------------------------------------------------------------
// Kiosk room

#[test]
fn the_kiosk_shows_what_is_left_of_each_limit_in_the_current_mode() {
    let spent = WindowSpend {
        day: eur(10_00),
        week: eur(80_00),
        month: eur(260_00),
    };
    let at = datetime!(2026-03-11 12:00 UTC);
    let inside = remaining_room(&closed(), &CardMode::Inside, at, &spent).unwrap();
    assert_eq!(inside.day, Some(eur(40_00)));
    assert_eq!(inside.week, Some(eur(20_00)));
    assert_eq!(inside.month, Some(eur(0)));
    assert_eq!(inside.per_authorization, Some(eur(50_00)));

    let leave = remaining_room(&closed(), &leave_in_march(), at, &spent).unwrap();
    assert_eq!(leave.week, Some(eur(220_00)));

    let released = remaining_room(&closed(), &released_until_april(), at, &spent).unwrap();
    assert_eq!(released.week, None);

    let frozen = remaining_room(&closed(), &CardMode::Frozen, at, &spent).unwrap();
    assert_eq!(frozen.week, Some(eur(0)));
}

// ---------------------------------------------------------------------------------------------
// Reasons and codes

#[test]
fn every_reason_has_its_own_text_in_every_kiosk_language() {
    let langs = [Lang::En, Lang::Fi, Lang::Sv, Lang::Nl, Lang::Fr, Lang::De];
    for key in ReasonKey::ALL {
        let texts: BTreeSet<_> = langs.iter().map(|lang| reason_text(key, *lang)).collect();
        assert!(texts.iter().all(|t| t.len() > 10), "{key:?}");
        assert_eq!(
            texts.len(),
            langs.len(),
            "{key:?}: two languages share a text"
        );
        assert_eq!(ReasonKey::parse(key.as_str()), Some(key));
    }
    let english: BTreeSet<_> = ReasonKey::ALL
        .iter()
        .map(|k| reason_text(*k, Lang::En))
        .collect();
    assert_eq!(
        english.len(),
        ReasonKey::ALL.len(),
        "two reasons share a text"
    );
    assert_eq!(Lang::from_tag("fi-FI"), Lang::Fi);
    assert_eq!(Lang::from_tag("sv_FI"), Lang::Sv);
    assert_eq!(Lang::from_tag("nl-BE"), Lang::Nl);
    assert_eq!(Lang::from_tag("fr-BE"), Lang::Fr);
    assert_eq!(Lang::from_tag("de"), Lang::De);
    assert_eq!(Lang::from_tag("it"), Lang::En);
}

#[test]
fn decline_codes_serialise_exactly_as_the_protocol_spells_them() {
    let protocol = [
        "INSUFFICIENT_FUNDS",
        "CARD_INACTIVE",
        "LIMIT_EXCEEDED",
        "MERCHANT_BLOCKED",
        "COUNTRY_BLOCKED",
        "CHANNEL_BLOCKED",
        "UNKNOWN_CARD",
        "SUSPECTED_FRAUD",
        "OTHER",
    ];
    let produced: BTreeSet<&str> = ReasonKey::ALL.iter().map(|k| k.code().as_str()).collect();
    assert_eq!(produced, protocol.into_iter().collect::<BTreeSet<_>>());
    for key in ReasonKey::ALL {
        let json = serde_json::to_string(&key.code()).unwrap();
        assert_eq!(json, format!("\"{}\"", key.code().as_str()));
    }
    let decision = Decision::decline(ReasonKey::WeeklyLimitExceeded, closed().reference());
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(json["decision"], "DECLINE");
    assert_eq!(json["code"], "LIMIT_EXCEEDED");
    assert_eq!(json["reason"], "weekly_limit_exceeded");
    assert_eq!(
        decision.reason_text(Lang::Fi),
        Some("Maksu ylittäisi tämän viikon rajasi.")
    );
}

#[test]
fn a_policy_and_a_card_mode_survive_a_json_round_trip() {
    let policy = closed()
        .with_overrides(&[approver_override(
            "o-1",
            OverrideChange::SetCountries {
                scope: Scope::Leave,
                countries: CountryRule::only(&["FI", "SE"]),
            },
        )])
        .unwrap();
    let back: Policy = serde_json::from_str(&serde_json::to_string(&policy).unwrap()).unwrap();
    assert_eq!(back, policy);
    let mode = leave_in_march();
    let back: CardMode = serde_json::from_str(&serde_json::to_string(&mode).unwrap()).unwrap();
    assert_eq!(back, mode);
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #[test]
    fn an_approval_never_exceeds_the_request_the_balance_or_any_room(
        amount in 1_i64..200_00,
        day in -50_00_i64..80_00,
        week in -50_00_i64..150_00,
        month in -50_00_i64..300_00,
        available in -10_00_i64..200_00,
        partial in any::<bool>(),
    ) {
        let request = AuthorizationRequest { partial_approval_capable: partial, ..request(amount) };
        let spent = WindowSpend { day: eur(day), week: eur(week), month: eur(month) };
        let policy = closed();
        let decision = decide_with(&request, &CardMode::Inside, &policy, spent, eur(available));
        let room = RemainingRoom::of(&policy.limits, &spent).unwrap();
        if let Some(approved) = decision.approved_amount() {
            prop_assert!(approved.amount_minor > 0);
            prop_assert!(approved.amount_minor <= amount);
            prop_assert!(approved.amount_minor <= available);
            for cap in [room.per_authorization, room.day, room.week, room.month].into_iter().flatten() {
                prop_assert!(approved.amount_minor <= cap.amount_minor);
            }
            prop_assert!(partial || approved.amount_minor == amount);
        } else {
            prop_assert_eq!(decision.decline_code(), decision.reason().map(|r| r.code()));
        }
    }
}

#[test]
fn a_partial_approval_names_the_smallest_cap_not_the_first_below_the_amount() {
    // Closed template: day 50.00, week 100.00. Spent 20.00 today, 80.00 this week: day room
    // 30.00, week room 20.00; 40.00 asked (under the per-authorization 50.00).
    let request = AuthorizationRequest {
        partial_approval_capable: true,
        ..request(40_00)
    };
    let spent = WindowSpend {
        day: eur(20_00),
        week: eur(80_00),
        month: eur(80_00),
    };
    let decision = decide_with(&request, &CardMode::Inside, &closed(), spent, eur(500_00));
    assert_eq!(decision.approved_amount(), Some(eur(20_00)));
    assert_eq!(decision.reason(), Some(ReasonKey::WeeklyLimitExceeded));
    // Equal caps: the first in evaluation order.
    let spent = WindowSpend {
        day: eur(30_00),
        week: eur(80_00),
        month: eur(80_00),
    };
    let decision = decide_with(&request, &CardMode::Inside, &closed(), spent, eur(500_00));
    assert_eq!(decision.approved_amount(), Some(eur(20_00)));
    assert_eq!(decision.reason(), Some(ReasonKey::DailyLimitExceeded));
}

/// A prison service (docs/services.md) is an inside merchant without being on the policy's list,
/// presents no card (channel and country rules do not apply), and still meets blocked
/// categories, the limits and the balance.
#[test]
fn a_prison_service_is_inside_but_within_blocks_limits_and_balance() {
    let policy = closed();
    let service = AuthorizationRequest {
        merchant_id: "service:tv".to_owned(),
        merchant_country: "BE".to_owned(),
        channel: Channel::Ecommerce,
        merchant_kind: MerchantKind::PrisonService,
        ..request(20_00)
    };
    assert!(decide(&service, &CardMode::Inside, &policy).is_approved());
    // The same merchant as a card acceptor is outside and declined inside.
    let as_card = AuthorizationRequest {
        merchant_kind: MerchantKind::Card,
        channel: Channel::Pos,
        merchant_country: "FI".to_owned(),
        ..service.clone()
    };
    assert_eq!(
        decide(&as_card, &CardMode::Inside, &policy).reason(),
        Some(ReasonKey::MerchantNotAllowedInside)
    );
    let over_limit = AuthorizationRequest {
        amount: eur(60_00),
        ..service.clone()
    };
    assert_eq!(
        decide(&over_limit, &CardMode::Inside, &policy).reason(),
        Some(ReasonKey::PerAuthorizationLimitExceeded)
    );
    assert_eq!(
        decide(&service, &CardMode::Frozen, &policy).reason(),
        Some(ReasonKey::CardFrozen)
    );
    let mut blocking = closed();
    blocking.blocked_merchants.insert("service:tv".to_owned());
    assert_eq!(
        decide(&service, &CardMode::Inside, &blocking).reason(),
        Some(ReasonKey::MerchantBlocked)
    );
}
