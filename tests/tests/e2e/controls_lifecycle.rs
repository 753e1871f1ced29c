//! Lifecycle scenarios end to end: admission, transfer, release with its grace period and final
//! payout, death and escape freezes, and family deposits with review and monitoring.
// Cent amounts are grouped as euros_cents: `100_00` is 100.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use ledger::allocation::{AllocationKind, AllocationRule, Purpose};
use ledger::controls::{CardMode, Policy};
use ledger::deposits::{self, DepositRules, DepositState, ReceiveDeposit, ReviewDeposit};
use ledger::income::{self, IncomeKind};
use ledger::lifecycle::{
    self, Closure, Freeze, FreezeCause, Release, Resolution, ResolveFreeze, SavingsOnRelease,
    Transfer,
};
use ledger::policy_store;
use ledger::*;
use saldo_tests::TestDb;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::controls_support::*;
use crate::fixtures::*;

async fn move_to_savings(prisoner: &Prisoner, amount_minor: i64) {
    prisoner
        .ledger
        .post_entry(&EntryDraft {
            idempotency_key: key(),
            effective_date: today(),
            description: "to release savings".into(),
            metadata: serde_json::json!({}),
            external_refs: vec![],
            postings: vec![
                PostingDraft::debit(prisoner.accounts.spendable, eur(amount_minor)),
                PostingDraft::credit(prisoner.accounts.release_savings, eur(amount_minor)).unwrap(),
            ],
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn admission_opens_four_sub_accounts_and_puts_the_card_inside_once_however_often_it_is_asked()
{
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 0).await;
    let accounts =
        ledger::store::accounts_of_person(&db.pool.get().await.unwrap(), prisoner.person_id)
            .await
            .unwrap();
    let mut purposes: Vec<&str> = accounts.iter().map(|a| a.purpose.as_str()).collect();
    purposes.sort();
    assert_eq!(
        purposes,
        [
            "held_deposits",
            "release_savings",
            "restitution",
            "spendable"
        ]
    );
    let again = prisoner
        .in_tx(async |tx| {
            lifecycle::admit(
                tx,
                &lifecycle::Admission {
                    idempotency_key: format!("admit-{}", prisoner.person_id),
                    person_id: prisoner.person_id,
                    prison_id: prison.prison_id,
                    regime: prison.regime,
                    currency: Currency::EUR,
                    admitted_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert_eq!(again.accounts, prisoner.accounts);
    let history = policy_store::mode_history(&db.pool.get().await.unwrap(), prisoner.person_id, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "a replayed admission writes nothing");
    assert_eq!(history[0].mode, CardMode::Inside);
}

#[tokio::test]
async fn a_transfer_moves_the_card_under_the_new_prisons_policy_and_leaves_balances_untouched() {
    let db = TestDb::new().await;
    let closed = Prison::closed(&db).await;
    let open = Prison::with_policy(&db, Policy::open_prison("open-fi", 1, "FI", &[CANTEEN])).await;
    let prisoner = Prisoner::admit(&db, &closed, 300_00).await;
    move_to_savings(&prisoner, 100_00).await;
    let mut online = prisoner.input("auth_online_closed", 10_00);
    online.channel = "ECOMMERCE".into();
    assert_eq!(
        declined(&prisoner.authorize(&online).await),
        (Some("CHANNEL_BLOCKED"), Some("ecommerce_not_allowed"))
    );
    let before: Vec<Balance> = futures_balances(&prisoner).await;

    let placement = prisoner
        .in_tx(async |tx| {
            lifecycle::transfer(
                tx,
                &Transfer {
                    idempotency_key: "transfer-1".into(),
                    person_id: prisoner.person_id,
                    to_prison_id: open.prison_id,
                    to_regime: open.regime,
                    transferred_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert_eq!(placement.prison_id, open.prison_id);
    assert_eq!(futures_balances(&prisoner).await, before);

    online.authorization_id = "auth_online_open".into();
    assert!(prisoner.authorize(&online).await.approve);
    assert_eq!(
        prisoner.recorded("auth_online_open").await.0.as_deref(),
        Some("open-fi@1")
    );
}

async fn futures_balances(prisoner: &Prisoner) -> Vec<Balance> {
    let mut balances = Vec::new();
    for account in prisoner.accounts.all() {
        balances.push(prisoner.balance(account).await);
    }
    balances
}

#[tokio::test]
async fn release_moves_savings_to_spendable_and_the_card_works_outside_until_the_grace_period_ends()
{
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 300_00).await;
    move_to_savings(&prisoner, 120_00).await;
    let grace_until = OffsetDateTime::now_utc() + Duration::days(30);
    let released = prisoner
        .in_tx(async |tx| {
            lifecycle::release(
                tx,
                &Release {
                    idempotency_key: "release-1".into(),
                    person_id: prisoner.person_id,
                    savings: SavingsOnRelease::ToSpendable,
                    grace_until,
                    effective_date: today(),
                    released_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert_eq!(released.savings, eur(120_00));
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.posted,
        eur(300_00)
    );
    assert_eq!(
        prisoner
            .balance(prisoner.accounts.release_savings)
            .await
            .posted,
        eur(0)
    );

    // Released: a shop abroad by ATM, beyond the inside limits.
    let mut abroad = Prisoner::in_town(prisoner.input("auth_tallinn", 80_00));
    abroad.merchant.country = "EE".into();
    abroad.channel = "ATM".into();
    assert!(prisoner.authorize(&abroad).await.approve);
    let mut too_late = Prisoner::in_town(prisoner.input_at("auth_too_late", 1_00, grace_until));
    too_late.merchant.country = "EE".into();
    assert_eq!(
        declined(&prisoner.authorize(&too_late).await),
        (Some("CARD_INACTIVE"), Some("release_period_ended"))
    );

    let early = prisoner
        .in_tx(async |tx| {
            lifecycle::close_after_release(
                tx,
                &Closure {
                    idempotency_key: "close-early".into(),
                    person_id: prisoner.person_id,
                    effective_date: today(),
                    closed_by: "staff_a".into(),
                },
            )
            .await
        })
        .await;
    assert_eq!(early.unwrap_err().code(), "grace_period_running");
}

#[tokio::test]
async fn after_the_grace_period_the_rest_is_paid_out_and_the_accounts_are_closed() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 300_00).await;
    move_to_savings(&prisoner, 100_00).await;
    let release = |grace_until| Release {
        idempotency_key: "release-paid".into(),
        person_id: prisoner.person_id,
        savings: SavingsOnRelease::PayOut,
        grace_until,
        effective_date: today(),
        released_by: "staff_a".into(),
    };
    let grace_ended = OffsetDateTime::now_utc() - Duration::seconds(1);
    let released = prisoner
        .in_tx(async |tx| lifecycle::release(tx, &release(grace_ended)).await)
        .await
        .unwrap();
    let savings_entry = prisoner
        .ledger
        .entry(released.savings_entry_id.unwrap())
        .await
        .unwrap();
    assert_eq!(savings_entry.external_refs[0].kind, "payout");
    assert_eq!(prisoner.balance(prisoner.bank).await.posted, eur(200_00));

    let close = Closure {
        idempotency_key: "close-1".into(),
        person_id: prisoner.person_id,
        effective_date: today(),
        closed_by: "staff_a".into(),
    };
    let closed = prisoner
        .in_tx(async |tx| lifecycle::close_after_release(tx, &close).await)
        .await
        .unwrap();
    assert_eq!(closed.paid_out, eur(200_00));
    assert_eq!(closed.closed_accounts.len(), 4);
    assert!(closed.left_open.is_empty());
    let payout = prisoner
        .ledger
        .entry(closed.payout_entry_id.unwrap())
        .await
        .unwrap();
    assert_eq!(payout.external_refs[0].kind, "payout");
    assert_eq!(prisoner.balance(prisoner.bank).await.posted, eur(0));
    assert_eq!(closed.placement.mode, CardMode::Frozen);
    let replay = prisoner
        .in_tx(async |tx| lifecycle::close_after_release(tx, &close).await)
        .await
        .unwrap();
    assert_eq!(replay, closed, "a replay returns the first result");
    assert!(prisoner.ledger.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn closing_waits_for_card_payments_still_held() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 100_00).await;
    prisoner
        .in_tx(async |tx| {
            lifecycle::release(
                tx,
                &Release {
                    idempotency_key: "release-held".into(),
                    person_id: prisoner.person_id,
                    savings: SavingsOnRelease::ToSpendable,
                    grace_until: OffsetDateTime::now_utc() + Duration::milliseconds(300),
                    effective_date: today(),
                    released_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert!(
        prisoner
            .authorize(&prisoner.input("auth_last", 10_00))
            .await
            .approve
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let refused = prisoner
        .in_tx(async |tx| {
            lifecycle::close_after_release(
                tx,
                &Closure {
                    idempotency_key: "close-held".into(),
                    person_id: prisoner.person_id,
                    effective_date: today(),
                    closed_by: "staff_a".into(),
                },
            )
            .await
        })
        .await;
    assert_eq!(refused.unwrap_err().code(), "holds_open");
}

#[tokio::test]
async fn a_death_freezes_the_card_and_staff_resolve_it_by_paying_out_to_the_estate() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 80_00).await;
    prisoner
        .in_tx(async |tx| {
            lifecycle::freeze(
                tx,
                &Freeze {
                    idempotency_key: "death".into(),
                    person_id: prisoner.person_id,
                    cause: FreezeCause::Death,
                    note: None,
                    frozen_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert_eq!(
        declined(&prisoner.authorize(&prisoner.input("auth_dead", 1_00)).await).1,
        Some("card_frozen")
    );
    let resolved = prisoner
        .in_tx(async |tx| {
            lifecycle::resolve_freeze(
                tx,
                &ResolveFreeze {
                    idempotency_key: "estate".into(),
                    person_id: prisoner.person_id,
                    resolution: Resolution::PayOutAndClose {
                        effective_date: today(),
                    },
                    resolved_by: "finance_b".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    let closed = resolved.closed.unwrap();
    assert_eq!(closed.paid_out, eur(80_00));
    assert_eq!(closed.closed_accounts.len(), 4);
}

#[tokio::test]
async fn an_escape_freezes_the_card_and_a_return_to_another_prison_puts_it_inside_there() {
    let db = TestDb::new().await;
    let first = Prison::closed(&db).await;
    let second = Prison::with_policy(
        &db,
        Policy::closed_prison("closed-2", 1, "FI", &["m_other"]),
    )
    .await;
    let prisoner = Prisoner::admit(&db, &first, 50_00).await;
    let freeze = |key: &str| Freeze {
        idempotency_key: key.into(),
        person_id: prisoner.person_id,
        cause: FreezeCause::Escape,
        note: None,
        frozen_by: "staff_a".into(),
    };
    prisoner
        .in_tx(async |tx| lifecycle::freeze(tx, &freeze("escape")).await)
        .await
        .unwrap();
    let returned = prisoner
        .in_tx(async |tx| {
            lifecycle::resolve_freeze(
                tx,
                &ResolveFreeze {
                    idempotency_key: "recaptured".into(),
                    person_id: prisoner.person_id,
                    resolution: Resolution::ReturnTo {
                        prison_id: second.prison_id,
                        regime: second.regime,
                    },
                    resolved_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert_eq!(returned.placement.prison_id, second.prison_id);
    assert_eq!(returned.placement.mode, CardMode::Inside);
    // The first prison's canteen is not the second's.
    assert_eq!(
        declined(
            &prisoner
                .authorize(&prisoner.input("auth_old_canteen", 1_00))
                .await
        )
        .1,
        Some("merchant_not_allowed_inside")
    );
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.posted,
        eur(50_00)
    );
}

#[tokio::test]
async fn a_mistaken_freeze_is_restored_to_the_leave_that_was_running() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 50_00).await;
    let from = OffsetDateTime::now_utc() - Duration::hours(1);
    let until = OffsetDateTime::now_utc() + Duration::hours(8);
    prisoner
        .in_tx(async |tx| {
            lifecycle::grant_leave(
                tx,
                &lifecycle::GrantLeave {
                    idempotency_key: "leave".into(),
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
    prisoner
        .in_tx(async |tx| {
            lifecycle::freeze(
                tx,
                &Freeze {
                    idempotency_key: "oops".into(),
                    person_id: prisoner.person_id,
                    cause: FreezeCause::Staff,
                    note: None,
                    frozen_by: "staff_a".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    let restored = prisoner
        .in_tx(async |tx| {
            lifecycle::resolve_freeze(
                tx,
                &ResolveFreeze {
                    idempotency_key: "restore".into(),
                    person_id: prisoner.person_id,
                    resolution: Resolution::Restore,
                    resolved_by: "staff_b".into(),
                },
            )
            .await
        })
        .await
        .unwrap();
    assert!(matches!(restored.placement.mode, CardMode::Leave { .. }));
    assert!(
        prisoner
            .authorize(&Prisoner::in_town(prisoner.input("auth_town", 10_00)))
            .await
            .approve
    );
}

#[test]
fn the_grace_period_ends_at_the_end_of_the_month_after_release_in_local_time() {
    let until =
        lifecycle::release_grace_until(datetime!(2026-04-10 12:00 UTC), "Europe/Helsinki").unwrap();
    assert_eq!(until, datetime!(2026-05-31 21:00 UTC));
}

// ---------------------------------------------------------------------------------------------
// Deposits

async fn approve(prisoner: &Prisoner, sender: Uuid) {
    prisoner
        .in_tx(async |tx| {
            deposits::set_sender_approval(tx, prisoner.person_id, sender, true, "staff_a").await
        })
        .await
        .unwrap();
}

fn deposit_command(prisoner: &Prisoner, sender: Uuid, amount_minor: i64) -> ReceiveDeposit {
    ReceiveDeposit {
        idempotency_key: key(),
        person_id: prisoner.person_id,
        sender_id: sender,
        amount: eur(amount_minor),
        effective_date: today(),
        received_by: "finance_a".into(),
        bank_end_to_end: None,
    }
}

#[tokio::test]
async fn a_deposit_from_a_sender_not_approved_is_refused_and_nothing_is_booked() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 0).await;
    let before = row_counts(&db).await;
    let refused = prisoner
        .in_tx(async |tx| {
            deposits::receive_deposit(tx, &deposit_command(&prisoner, Uuid::now_v7(), 20_00)).await
        })
        .await;
    assert_eq!(refused.unwrap_err().code(), "sender_not_approved");
    assert_eq!(row_counts(&db).await, before);
}

#[tokio::test]
async fn a_small_deposit_is_allocated_at_once_by_the_prisons_deposit_rules() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 0).await;
    let rules = [AllocationRule {
        id: "savings-10pc".into(),
        purpose: Purpose::ReleaseSavings,
        kind: AllocationKind::Percentage {
            basis_points: 1_000,
        },
        cap: None,
        threshold: None,
        effective_from: date!(2020 - 01 - 01),
        effective_until: None,
    }];
    in_tx(&db.pool, async |tx| {
        income::publish_rule_set(
            tx,
            prison.prison_id,
            IncomeKind::Deposit,
            &rules,
            eur(0),
            "finance_a",
        )
        .await
    })
    .await
    .unwrap();
    let sender = Uuid::now_v7();
    approve(&prisoner, sender).await;
    let received = prisoner
        .in_tx(async |tx| {
            deposits::receive_deposit(tx, &deposit_command(&prisoner, sender, 45_55)).await
        })
        .await
        .unwrap();
    assert_eq!(received.deposit.state, DepositState::Accepted);
    assert_eq!(
        prisoner
            .balance(prisoner.accounts.release_savings)
            .await
            .posted,
        eur(4_55)
    );
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.posted,
        eur(41_00)
    );
    let entry = prisoner
        .ledger
        .entry(received.deposit.received_entry_id)
        .await
        .unwrap();
    assert_eq!(
        entry.postings.len(),
        3,
        "one entry: bank, savings, spendable"
    );
}

#[tokio::test]
async fn a_large_deposit_waits_in_held_deposits_until_accepted_or_rejected_and_refunded() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 0).await;
    in_tx(&db.pool, async |tx| {
        deposits::publish_deposit_rules(
            tx,
            &DepositRules {
                review_threshold: eur(100_00),
                ..DepositRules::defaults(prison.prison_id, Currency::EUR)
            },
            "finance_a",
        )
        .await
    })
    .await
    .unwrap();
    let sender = Uuid::now_v7();
    approve(&prisoner, sender).await;

    let at_threshold = prisoner
        .in_tx(async |tx| {
            deposits::receive_deposit(tx, &deposit_command(&prisoner, sender, 100_00)).await
        })
        .await
        .unwrap();
    assert_eq!(at_threshold.deposit.state, DepositState::Accepted);

    let mut received = Vec::new();
    for _ in 0..2 {
        let one = prisoner
            .in_tx(async |tx| {
                deposits::receive_deposit(tx, &deposit_command(&prisoner, sender, 100_01)).await
            })
            .await
            .unwrap();
        assert_eq!(one.deposit.state, DepositState::PendingReview);
        assert_eq!(one.held_because.as_deref(), Some("above_review_threshold"));
        received.push(one.deposit);
    }
    assert_eq!(
        prisoner
            .balance(prisoner.accounts.held_deposits)
            .await
            .posted,
        eur(200_02)
    );
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.posted,
        eur(100_00)
    );

    let review = |deposit_id, accept| ReviewDeposit {
        deposit_id,
        accept,
        reason: (!accept).then(|| "sender could not be verified".to_owned()),
        effective_date: today(),
        decided_by: "finance_b".into(),
    };
    let accepted = prisoner
        .in_tx(async |tx| deposits::review_deposit(tx, &review(received[0].deposit_id, true)).await)
        .await
        .unwrap();
    assert_eq!(accepted.state, DepositState::Accepted);
    let rejected = prisoner
        .in_tx(async |tx| {
            deposits::review_deposit(tx, &review(received[1].deposit_id, false)).await
        })
        .await
        .unwrap();
    assert_eq!(rejected.state, DepositState::Rejected);
    let refund = prisoner
        .ledger
        .entry(rejected.decision_entry_id.unwrap())
        .await
        .unwrap();
    assert_eq!(refund.external_refs[0].kind, "refund");
    assert_eq!(
        prisoner
            .balance(prisoner.accounts.held_deposits)
            .await
            .posted,
        eur(0)
    );
    assert_eq!(
        prisoner.balance(prisoner.accounts.spendable).await.posted,
        eur(200_01)
    );
    assert_eq!(prisoner.balance(prisoner.bank).await.posted, eur(200_01));

    let twice = prisoner
        .in_tx(async |tx| deposits::review_deposit(tx, &review(received[1].deposit_id, true)).await)
        .await;
    assert_eq!(twice.unwrap_err().code(), "deposit_already_decided");
    assert!(prisoner.ledger.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn monitoring_flags_many_senders_one_sender_to_many_prisoners_and_high_amounts() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let target = Prisoner::admit(&db, &prison, 0).await;
    // Five senders to one prisoner: the fifth is one more than the four allowed.
    for n in 0..5 {
        let sender = Uuid::now_v7();
        approve(&target, sender).await;
        let received = target
            .in_tx(async |tx| {
                deposits::receive_deposit(tx, &deposit_command(&target, sender, 10_00)).await
            })
            .await
            .unwrap();
        assert_eq!(
            received
                .flags
                .contains(&"many_senders_to_prisoner".to_owned()),
            n == 4,
            "deposit {n}: {:?}",
            received.flags
        );
    }
    // One sender to five prisoners.
    let busy_sender = Uuid::now_v7();
    let mut last_flags = Vec::new();
    for _ in 0..5 {
        let prisoner = Prisoner::admit(&db, &prison, 0).await;
        approve(&prisoner, busy_sender).await;
        last_flags = prisoner
            .in_tx(async |tx| {
                deposits::receive_deposit(tx, &deposit_command(&prisoner, busy_sender, 150_00))
                    .await
            })
            .await
            .unwrap()
            .flags;
    }
    assert_eq!(last_flags, ["sender_to_many_prisoners", "high_amount"]);
    let open = deposits::open_flags(&db.pool.get().await.unwrap(), prison.prison_id, 100)
        .await
        .unwrap();
    let count = |rule: &str| open.iter().filter(|f| f.rule == rule).count();
    assert_eq!(count("many_senders_to_prisoner"), 1);
    assert_eq!(count("sender_to_many_prisoners"), 1);
    assert_eq!(count("high_amount"), 5);
    in_tx(&db.pool, async |tx| {
        deposits::review_flag(tx, open[0].id, "no_concern", None, "staff_b").await
    })
    .await
    .unwrap();
    let still_open = deposits::open_flags(&db.pool.get().await.unwrap(), prison.prison_id, 100)
        .await
        .unwrap();
    assert_eq!(still_open.len(), open.len() - 1);
}
