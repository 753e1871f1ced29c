//! Income allocation posted end to end, and payroll batches: 10 000 wage lines in one atomic,
//! idempotent batch.
// Cent amounts are grouped as euros_cents: `100_00` is 100.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use std::time::Instant;

use ledger::allocation::{AllocationKind, AllocationRule, Purpose};
use ledger::income::{self, Income, IncomeKind, IncomeSource};
use ledger::payroll::{self, PayrollBatch, PayrollLine};
use saldo_tests::TestDb;
use time::macros::date;
use uuid::Uuid;

use crate::controls_support::*;
use crate::fixtures::*;

fn rule(id: &str, purpose: Purpose, kind: AllocationKind) -> AllocationRule {
    AllocationRule {
        id: id.into(),
        purpose,
        kind,
        cap: None,
        threshold: None,
        effective_from: date!(2020 - 01 - 01),
        effective_until: None,
    }
}

async fn publish(
    db: &TestDb,
    prison: &Prison,
    kind: IncomeKind,
    rules: &[AllocationRule],
    minimum_minor: i64,
) {
    in_tx(&db.pool, async |tx| {
        income::publish_rule_set(
            tx,
            prison.prison_id,
            kind,
            rules,
            eur(minimum_minor),
            "finance_a",
        )
        .await
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_wage_is_split_into_one_entry_whose_parts_sum_exactly_and_rounding_cents_go_to_spendable()
{
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let prisoner = Prisoner::admit(&db, &prison, 0).await;
    let thirds = [
        rule(
            "savings",
            Purpose::ReleaseSavings,
            AllocationKind::Percentage {
                basis_points: 3_333,
            },
        ),
        rule(
            "victims",
            Purpose::Restitution,
            AllocationKind::Percentage {
                basis_points: 3_333,
            },
        ),
    ];
    // (income, minimum spendable, savings, restitution, spendable)
    let table = [
        (1_00, 0, 33, 33, 34),
        (10, 0, 3, 3, 4),
        (1, 0, 0, 0, 1),
        // The minimum is taken back from the latest rule first.
        (1_00, 50, 33, 17, 50),
    ];
    let mut expected = [0i64; 3];
    for (n, (income_minor, minimum, savings, restitution, spendable)) in
        table.into_iter().enumerate()
    {
        publish(&db, &prison, IncomeKind::Wages, &thirds, minimum).await;
        let entry = prisoner
            .in_tx(async |tx| {
                income::post_income(
                    tx,
                    &Income {
                        idempotency_key: format!("wage-{n}"),
                        person_id: prisoner.person_id,
                        kind: IncomeKind::Wages,
                        source: IncomeSource::WagesExpense,
                        amount: eur(income_minor),
                        effective_date: today(),
                        description: "weekly wage".into(),
                        metadata: serde_json::json!({}),
                        external_refs: vec![],
                    },
                )
                .await
            })
            .await
            .unwrap();
        let debit: i64 = entry
            .postings
            .iter()
            .filter(|p| p.amount.amount_minor > 0)
            .map(|p| p.amount.amount_minor)
            .sum();
        let credits: i64 = entry
            .postings
            .iter()
            .filter(|p| p.amount.amount_minor < 0)
            .map(|p| -p.amount.amount_minor)
            .sum();
        assert_eq!((debit, credits), (income_minor, income_minor), "case {n}");
        expected[0] += savings;
        expected[1] += restitution;
        expected[2] += spendable;
        assert_eq!(
            [
                prisoner
                    .balance(prisoner.accounts.release_savings)
                    .await
                    .posted
                    .amount_minor,
                prisoner
                    .balance(prisoner.accounts.restitution)
                    .await
                    .posted
                    .amount_minor,
                prisoner
                    .balance(prisoner.accounts.spendable)
                    .await
                    .posted
                    .amount_minor,
            ],
            expected,
            "case {n}"
        );
    }
}

/// `count` admitted prisoners in one prison, set up in bulk (what admission does, in three
/// statements instead of thousands).
async fn admit_many(db: &TestDb, prison: &Prison, count: usize) -> Vec<Uuid> {
    let persons: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
    let client = db.raw_client().await;
    client
        .execute(
            "insert into ledger_accounts
                (id, code, account_type, currency, owner_kind, person_id, purpose, balance_rule, is_hot)
             select gen_random_uuid(), 'person:' || p || ':' || purpose || ':EUR', 'liability', 'EUR',
                    'person', p, purpose, 'non_negative', false
             from unnest($1::uuid[]) as p
             cross join unnest(array['spendable', 'release_savings', 'held_deposits', 'restitution'])
                  as purpose",
            &[&persons],
        )
        .await
        .unwrap();
    client
        .execute(
            "insert into account_balances (account_id)
             select id from ledger_accounts where person_id = any($1)",
            &[&persons],
        )
        .await
        .unwrap();
    client
        .execute(
            "insert into controls.card_modes (person_id, prison_id, regime, mode, reason, changed_by)
             select p, $2, 'closed_prison', '{\"mode\": \"inside\"}', 'admission', 'test'
             from unnest($1::uuid[]) as p",
            &[&persons, &prison.prison_id],
        )
        .await
        .unwrap();
    persons
}

fn batch(key: &str, prison: &Prison, persons: &[Uuid]) -> PayrollBatch {
    PayrollBatch {
        batch_key: key.into(),
        prison_id: prison.prison_id,
        kind: IncomeKind::Wages,
        effective_date: today(),
        description: "wages, week 48".into(),
        lines: persons
            .iter()
            .enumerate()
            .map(|(n, person_id)| PayrollLine {
                person_id: *person_id,
                // 12.34 to 22.33: varied amounts, so rounding happens on most lines.
                amount: eur(12_34 + i64::try_from(n % 1_000).unwrap()),
            })
            .collect(),
        posted_by: "finance_a".into(),
    }
}

#[tokio::test]
async fn a_payroll_of_ten_thousand_lines_posts_atomically_and_a_replay_changes_nothing() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    publish(
        &db,
        &prison,
        IncomeKind::Wages,
        &[
            rule(
                "savings",
                Purpose::ReleaseSavings,
                AllocationKind::Percentage {
                    basis_points: 1_500,
                },
            ),
            rule(
                "victims",
                Purpose::Restitution,
                AllocationKind::Fixed { amount: eur(50) },
            ),
        ],
        0,
    )
    .await;
    let persons = admit_many(&db, &prison, 10_000).await;
    let payroll = batch("HML-2026-W48", &prison, &persons);
    let total: i64 = payroll.lines.iter().map(|l| l.amount.amount_minor).sum();

    let started = Instant::now();
    let posted = in_tx(&db.pool, async |tx| {
        payroll::post_payroll(tx, &payroll).await
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    // Printed, not asserted: speed is measured by saldo-bench (docs/performance.md).
    println!("payroll of 10 000 lines posted and committed in {elapsed:?}");
    assert_eq!(posted.line_count, 10_000);
    assert_eq!(posted.total, eur(total));

    let client = db.raw_client().await;
    let sums = client
        .query_one(
            "select count(distinct p.entry_id),
                    coalesce(sum(-p.amount_minor) filter (where a.purpose = 'spendable'), 0)::bigint,
                    coalesce(sum(-p.amount_minor) filter (where a.purpose = 'release_savings'), 0)::bigint,
                    coalesce(sum(-p.amount_minor) filter (where a.purpose = 'restitution'), 0)::bigint,
                    coalesce(sum(p.amount_minor) filter (where a.purpose = 'wages_expense'), 0)::bigint
             from journal_postings p join ledger_accounts a on a.id = p.account_id",
            &[],
        )
        .await
        .unwrap();
    let entries: i64 = sums.get(0);
    assert_eq!(entries, 10_000);
    let parts: [i64; 4] = [1, 2, 3, 4].map(|i| sums.get::<_, i64>(i));
    assert_eq!(
        parts[0] + parts[1] + parts[2],
        total,
        "the parts sum to the wages"
    );
    assert_eq!(parts[3], total);
    assert_eq!(parts[2], 50 * 10_000, "0.50 to restitution on every line");

    let replayed = in_tx(&db.pool, async |tx| {
        payroll::post_payroll(tx, &payroll).await
    })
    .await
    .unwrap();
    assert_eq!(replayed, posted);
    let count: i64 = client
        .query_one("select count(*) from journal_entries", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 10_000, "a replay posts nothing");

    let mut changed = payroll.clone();
    changed.lines[0].amount = eur(1);
    let conflict = in_tx(&db.pool, async |tx| {
        payroll::post_payroll(tx, &changed).await
    })
    .await;
    assert_eq!(conflict.unwrap_err().code(), "idempotency_conflict");
    assert!(db.ledger().verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn one_bad_line_fails_the_whole_payroll_and_posts_nothing() {
    let db = TestDb::new().await;
    let prison = Prison::closed(&db).await;
    let other = Prison::closed(&db).await;
    let persons = admit_many(&db, &prison, 500).await;
    let elsewhere = admit_many(&db, &other, 1).await;
    let before = row_counts(&db).await;

    // (case, the batch)
    let mut not_admitted = batch("bad-unknown", &prison, &persons);
    not_admitted.lines[250].person_id = Uuid::now_v7();
    let mut in_another_prison = batch("bad-elsewhere", &prison, &persons);
    in_another_prison.lines[499].person_id = elsewhere[0];
    let mut negative = batch("bad-amount", &prison, &persons);
    negative.lines[10].amount = eur(-1);
    let table = [
        ("person not admitted", not_admitted, "person_not_in_prison"),
        (
            "person in another prison",
            in_another_prison,
            "person_not_in_prison",
        ),
        ("negative amount", negative, "amount_not_positive"),
    ];
    for (case, bad, code) in table {
        let failed = in_tx(&db.pool, async |tx| payroll::post_payroll(tx, &bad).await).await;
        assert_eq!(failed.unwrap_err().code(), code, "{case}");
        assert_eq!(row_counts(&db).await, before, "{case}: nothing was written");
    }
}
