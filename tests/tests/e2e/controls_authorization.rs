//! Card authorizations through the real spending controls (`SpendingControls`), against the
//! database: modes, merchants, limits at their boundaries, spend counted across windows with
//! reversals, clearings, refunds and force posts, partial approvals, the policy version recorded.
// Cent amounts are grouped as euros_cents: `100_00` is 100.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use card_adapter::controls::{kiosk_limits, window_spend};
use card_adapter::process::CardEvent;
use ledger::Currency;
use ledger::controls::{OverrideChange, PolicyOverride};
use ledger::lifecycle::{self, Freeze, FreezeCause, GrantLeave};
use ledger::policy_store::{self, GrantOverride};
use saldo_tests::TestDb;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::controls_support::*;
use crate::fixtures::*;

#[tokio::test]
async fn inside_the_card_pays_at_the_canteen_and_nowhere_else() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 100_00).await;

    let canteen = prisoner
        .authorize(&prisoner.input("auth_canteen", 7_00))
        .await;
    assert!(canteen.approve);
    assert_eq!(canteen.approved_minor, 7_00);

    let town = prisoner
        .authorize(&Prisoner::in_town(prisoner.input("auth_town", 7_00)))
        .await;
    assert_eq!(
        declined(&town),
        (
            Some("MERCHANT_BLOCKED"),
            Some("merchant_not_allowed_inside")
        )
    );
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.held,
        eur(7_00)
    );
}

#[tokio::test]
async fn gambling_is_declined_even_at_the_canteen_and_an_approved_override_lifts_it() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 100_00).await;
    let mut lottery = prisoner.input("auth_lottery", 5_00);
    lottery.merchant.mcc = "7995".into();
    assert_eq!(
        declined(&prisoner.authorize(&lottery).await),
        (Some("MERCHANT_BLOCKED"), Some("merchant_category_blocked"))
    );
    assert_eq!(
        prisoner.recorded("auth_lottery").await.0.as_deref(),
        Some("closed-fi@1")
    );

    let grant = GrantOverride {
        person_id: prisoner.person_id,
        item: PolicyOverride {
            id: "ovr-lottery".into(),
            version: 0,
            reason: "long leave; director's decision".into(),
            requested_by: "staff_a".into(),
            approved_by: "director_b".into(),
            change: OverrideChange::AllowMcc { mcc: "7995".into() },
        },
        effective_from: OffsetDateTime::now_utc() - Duration::minutes(1),
        effective_until: None,
    };
    let same_person_approving = GrantOverride {
        item: PolicyOverride {
            approved_by: "staff_a".into(),
            ..grant.item.clone()
        },
        ..grant.clone()
    };
    let refused = prisoner
        .in_tx(async |tx| policy_store::grant_override(tx, &same_person_approving).await)
        .await;
    assert_eq!(refused.unwrap_err().code(), "override_invalid");
    prisoner
        .in_tx(async |tx| policy_store::grant_override(tx, &grant).await)
        .await
        .unwrap();

    let mut again = lottery.clone();
    again.authorization_id = "auth_lottery_2".into();
    assert!(prisoner.authorize(&again).await.approve);
    assert_eq!(
        prisoner.recorded("auth_lottery_2").await.0.as_deref(),
        Some("closed-fi@1+ovr-lottery@1")
    );

    prisoner
        .in_tx(async |tx| {
            policy_store::revoke_override(
                tx,
                prisoner.person_id,
                "ovr-lottery",
                "leave over",
                "staff_c",
            )
            .await
        })
        .await
        .unwrap();
    let mut after = lottery.clone();
    after.authorization_id = "auth_lottery_3".into();
    after.at = OffsetDateTime::now_utc() + Duration::seconds(1);
    assert_eq!(
        declined(&prisoner.authorize(&after).await).1,
        Some("merchant_category_blocked")
    );
}

#[tokio::test]
async fn a_leave_opens_the_town_shops_from_its_start_until_its_end_exactly() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 200_00).await;
    let from = OffsetDateTime::now_utc() - Duration::hours(1);
    let until = OffsetDateTime::now_utc() + Duration::hours(5);
    prisoner
        .in_tx(async |tx| {
            lifecycle::grant_leave(
                tx,
                &GrantLeave {
                    idempotency_key: "leave-1".into(),
                    person_id: prisoner.person_id,
                    from,
                    until,
                    limits: None,
                    granted_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();

    let table = [
        ("before", from - Duration::seconds(1), false),
        ("at_start", from, true),
        ("last_second", until - Duration::seconds(1), true),
        ("at_end", until, false),
    ];
    for (name, at, approve) in table {
        let outcome = prisoner
            .authorize(&Prisoner::in_town(prisoner.input_at(
                &format!("auth_{name}"),
                20_00,
                at,
            )))
            .await;
        assert_eq!(outcome.approve, approve, "{name}: {outcome:?}");
        if !approve {
            assert_eq!(
                outcome.reason_key.as_deref(),
                Some("merchant_not_allowed_inside")
            );
        }
    }
    // The leave's limits are the template's default leave limits: 100.00 at one time.
    let too_big = prisoner
        .authorize(&Prisoner::in_town(
            prisoner.input_at("auth_big", 100_01, from),
        ))
        .await;
    assert_eq!(
        declined(&too_big),
        (
            Some("LIMIT_EXCEEDED"),
            Some("per_authorization_limit_exceeded")
        )
    );
}

#[tokio::test]
async fn a_frozen_card_is_declined_as_inactive_at_once() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 100_00).await;
    assert!(
        prisoner
            .authorize(&prisoner.input("auth_before", 1_00))
            .await
            .approve
    );
    prisoner
        .in_tx(async |tx| {
            lifecycle::freeze(
                tx,
                &Freeze {
                    idempotency_key: "freeze-1".into(),
                    person_id: prisoner.person_id,
                    cause: FreezeCause::Staff,
                    note: Some("card reported lost".into()),
                    frozen_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert_eq!(
        declined(
            &prisoner
                .authorize(&prisoner.input("auth_after", 1_00))
                .await
        ),
        (Some("CARD_INACTIVE"), Some("card_frozen"))
    );
}

#[tokio::test]
async fn the_weekly_limit_allows_exactly_the_limit_and_not_one_cent_more() {
    // Week of Monday 2026-11-16 in Helsinki (UTC+2): 50.00 on Monday, 49.99 on Tuesday.
    let monday = datetime!(2026-11-16 08:00 UTC);
    let tuesday = datetime!(2026-11-17 08:00 UTC);
    let wednesday = datetime!(2026-11-18 08:00 UTC);
    // (attempt, amount, approved, reason) in order, each seeing the ones before.
    let table = [
        ("two_cents_over", 2, false, Some("weekly_limit_exceeded")),
        ("exactly_at_limit", 1, true, None),
        ("one_cent_over", 1, false, Some("weekly_limit_exceeded")),
    ];
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_mon", 50_00, monday))
            .await
            .approve
    );
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_tue", 49_99, tuesday))
            .await
            .approve
    );
    for (name, amount, approve, reason) in table {
        let outcome = prisoner
            .authorize(&prisoner.input_at(&format!("auth_{name}"), amount, wednesday))
            .await;
        assert_eq!(outcome.approve, approve, "{name}: {outcome:?}");
        assert_eq!(outcome.reason_key.as_deref(), reason, "{name}");
        if !approve {
            assert_eq!(outcome.decline_reason.as_deref(), Some("LIMIT_EXCEEDED"));
        }
    }
    // The next Monday 00:00 in Helsinki (Sunday 22:00Z) starts a new week.
    let next_week = prisoner
        .authorize(&prisoner.input_at("auth_next_week", 50_00, datetime!(2026-11-22 22:00 UTC)))
        .await;
    assert!(next_week.approve, "{next_week:?}");
    let last_second = prisoner
        .authorize(&prisoner.input_at("auth_sunday", 1, datetime!(2026-11-22 21:59:59 UTC)))
        .await;
    assert_eq!(declined(&last_second).1, Some("weekly_limit_exceeded"));
}

#[tokio::test]
async fn the_day_rolls_over_at_local_midnight_across_the_spring_daylight_saving_change() {
    // Sunday 2026-03-29 in Helsinki is 23 hours: 2026-03-28T22:00Z to 2026-03-29T21:00Z.
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let table = [
        // (name, at, amount, approved, reason)
        (
            "sunday_early",
            datetime!(2026-03-28 22:00 UTC),
            50_00,
            true,
            None,
        ),
        (
            "sunday_last_second",
            datetime!(2026-03-29 20:59:59 UTC),
            1,
            false,
            Some("daily_limit_exceeded"),
        ),
        (
            "monday_midnight",
            datetime!(2026-03-29 21:00 UTC),
            50_00,
            true,
            None,
        ),
        (
            "monday_later",
            datetime!(2026-03-30 06:00 UTC),
            1,
            false,
            Some("daily_limit_exceeded"),
        ),
    ];
    for (name, at, amount, approve, reason) in table {
        let outcome = prisoner
            .authorize(&prisoner.input_at(&format!("auth_{name}"), amount, at))
            .await;
        assert_eq!(outcome.approve, approve, "{name}: {outcome:?}");
        assert_eq!(outcome.reason_key.as_deref(), reason, "{name}");
    }
}

#[tokio::test]
async fn spend_counts_holds_and_clearings_once_and_reversals_refunds_and_expiries_give_room_back() {
    let db = TestDb::new().await;
    let prison = Prison::with_policy(&db, weekly_only("weekly-100", 100_00)).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let now = OffsetDateTime::now_utc();
    let spent = async || {
        let windows =
            policy_store::spend_windows(OffsetDateTime::now_utc(), "Europe/Helsinki").unwrap();
        window_spend(
            &prisoner.pool.get().await.unwrap(),
            prisoner.person_id,
            prisoner.accounts.spendable,
            Currency::EUR,
            &windows,
        )
        .await
        .unwrap()
        .week
        .amount_minor
    };

    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_a", 40_00, now))
            .await
            .approve
    );
    assert_eq!(spent().await, 40_00, "an approval counts while held");
    prisoner
        .apply(&CardEvent::Reversal {
            authorization_id: "auth_a".into(),
            card_id: prisoner.card_id.clone(),
            amount: eur(15_00),
        })
        .await;
    assert_eq!(spent().await, 25_00, "a reversal gives room back");
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_b", 30_00, now))
            .await
            .approve
    );
    prisoner
        .apply(&prisoner.clearing("txn_b", Some("auth_b"), 30_00))
        .await;
    prisoner
        .apply(&prisoner.clearing("txn_a", Some("auth_a"), 25_00))
        .await;
    assert_eq!(
        spent().await,
        55_00,
        "a clearing replaces its hold, never adds to it"
    );
    prisoner
        .apply(&prisoner.refund("txn_refund_b", "txn_b", 10_00))
        .await;
    assert_eq!(spent().await, 45_00, "a refund gives room back");
    prisoner
        .apply(&prisoner.clearing("txn_force", None, 20_00))
        .await;
    assert_eq!(spent().await, 65_00, "a force post counts");
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_c", 10_00, now))
            .await
            .approve
    );
    prisoner
        .apply(&CardEvent::Expired {
            authorization_id: "auth_c".into(),
            card_id: prisoner.card_id.clone(),
        })
        .await;
    assert_eq!(spent().await, 65_00, "an expired hold gives its room back");

    let over = prisoner
        .authorize(&prisoner.input_at("auth_over", 35_01, now))
        .await;
    assert_eq!(declined(&over).1, Some("weekly_limit_exceeded"));
    let at_limit = prisoner
        .authorize(&prisoner.input_at("auth_at_limit", 35_00, now))
        .await;
    assert!(at_limit.approve, "{at_limit:?}");
    assert_eq!(
        prisoner.recorded("auth_at_limit").await.0.as_deref(),
        Some("weekly-100@1")
    );
}

#[tokio::test]
async fn a_refund_lifts_the_week_of_the_purchase_not_the_week_it_arrives_in() {
    let db = TestDb::new().await;
    let prison = Prison::with_policy(&db, weekly_only("weekly-100", 100_00)).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let last_week = datetime!(2026-11-10 10:00 UTC);
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_old", 60_00, last_week))
            .await
            .approve
    );
    prisoner
        .apply(&prisoner.clearing("txn_old", Some("auth_old"), 60_00))
        .await;
    let week_spend = async |at: OffsetDateTime| {
        window_spend(
            &prisoner.pool.get().await.unwrap(),
            prisoner.person_id,
            prisoner.accounts.spendable,
            Currency::EUR,
            &policy_store::spend_windows(at, "Europe/Helsinki").unwrap(),
        )
        .await
        .unwrap()
        .week
        .amount_minor
    };
    assert_eq!(week_spend(last_week).await, 60_00);
    prisoner
        .apply(&prisoner.refund("txn_old_refund", "txn_old", 60_00))
        .await;
    assert_eq!(week_spend(last_week).await, 0);
    assert_eq!(
        week_spend(OffsetDateTime::now_utc()).await,
        0,
        "this week is not lifted"
    );
}

#[tokio::test]
async fn a_capable_terminal_gets_a_partial_approval_up_to_the_weekly_limit() {
    let db = TestDb::new().await;
    let prison = Prison::with_policy(&db, weekly_only("weekly-100", 100_00)).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let now = OffsetDateTime::now_utc();
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_first", 87_66, now))
            .await
            .approve
    );

    let not_capable = prisoner
        .authorize(&prisoner.input_at("auth_not_capable", 20_00, now))
        .await;
    assert_eq!(
        declined(&not_capable),
        (Some("LIMIT_EXCEEDED"), Some("weekly_limit_exceeded"))
    );

    let mut capable = prisoner.input_at("auth_partial", 20_00, now);
    capable.partial_approval_capable = true;
    let outcome = prisoner.authorize(&capable).await;
    assert!(outcome.approve);
    assert_eq!(outcome.approved_minor, 12_34);
    assert_eq!(
        prisoner.recorded("auth_partial").await,
        (
            Some("weekly-100@1".to_owned()),
            Some("weekly_limit_exceeded".to_owned()),
            12_34
        )
    );
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.held,
        eur(100_00)
    );

    let kiosk = kiosk_limits(&prisoner.pool.get().await.unwrap(), prisoner.person_id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kiosk.room.week, Some(eur(0)));
    assert_eq!(kiosk.spent.week, eur(100_00));
}

#[tokio::test]
async fn the_kiosk_shows_what_is_left_of_this_weeks_limit() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let now = OffsetDateTime::now_utc();
    assert!(
        prisoner
            .authorize(&prisoner.input_at("auth_k", 30_00, now))
            .await
            .approve
    );
    let kiosk = kiosk_limits(&prisoner.pool.get().await.unwrap(), prisoner.person_id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kiosk.room.week, Some(eur(70_00)));
    assert_eq!(kiosk.room.per_authorization, Some(eur(50_00)));
    assert_eq!(kiosk.policy_version, "closed-fi@1");
}

#[tokio::test]
async fn a_card_whose_person_has_no_policy_is_declined_rather_than_let_through() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 100_00).await;
    // Transferred to a prison that has no policy assigned yet.
    prisoner
        .in_tx(async |tx| {
            lifecycle::transfer(
                tx,
                &lifecycle::Transfer {
                    idempotency_key: "transfer-nowhere".into(),
                    person_id: prisoner.person_id,
                    to_prison_id: uuid::Uuid::now_v7(),
                    to_regime: prison.regime,
                    transferred_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert_eq!(
        declined(
            &prisoner
                .authorize(&prisoner.input("auth_no_policy", 1_00))
                .await
        ),
        (Some("OTHER"), Some("evaluation_error"))
    );
}
