//! Income allocation: how one income (wage, allowance, deposit) is split over a prisoner's
//! sub-accounts. Pure: the caller loads the rules and balances and posts the parts.
//!
//! Guarantees, whatever the rules: the parts sum exactly to the income, none is negative, and
//! the spendable part is at least `min(minimum_spendable, income)` (European Prison Rules 26:
//! a prisoner may always spend part of what they earn). Each part is rounded down to the minor
//! unit; every cent left over goes to spendable.

// Cent amounts are grouped as euros_cents: `1_500_00` is 1 500.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::model::person_purpose;
use crate::money::{Currency, Money, MoneyError};

/// The sub-account a part goes to (the `purpose` of a prisoner's ledger account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Spendable,
    ReleaseSavings,
    Restitution,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Spendable => person_purpose::SPENDABLE,
            Purpose::ReleaseSavings => person_purpose::RELEASE_SAVINGS,
            Purpose::Restitution => person_purpose::RESTITUTION,
        }
    }
}

/// 10 000 basis points = 100 %.
pub const BASIS_POINTS_PER_WHOLE: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AllocationKind {
    /// A share of the income (of the part above the threshold, if the rule has one), rounded
    /// down to the minor unit.
    Percentage { basis_points: u32 },
    /// A fixed amount per income.
    Fixed { amount: Money },
    /// Whatever brings the target sub-account up to `target`, given its current balance and
    /// what earlier rules already gave it from this income.
    FillToTarget { target: Money },
}

/// One rule. Rules apply in the order given; each takes from what earlier rules left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationRule {
    pub id: String,
    pub purpose: Purpose,
    pub kind: AllocationKind,
    /// The most this rule takes from one income.
    pub cap: Option<Money>,
    /// The rule applies only to an income above this; a percentage is then of the part above
    /// (as the UK levy: 40 % of weekly earnings above £20).
    pub threshold: Option<Money>,
    /// First day the rule applies.
    pub effective_from: Date,
    /// First day it no longer applies; `None` while it is current.
    pub effective_until: Option<Date>,
}

impl AllocationRule {
    pub fn is_effective_on(&self, on: Date) -> bool {
        self.effective_from <= on && self.effective_until.is_none_or(|until| on < until)
    }

    fn validate(&self, currency: Currency) -> Result<(), AllocationError> {
        let invalid = |problem: &'static str| AllocationError::InvalidRule {
            id: self.id.clone(),
            problem,
        };
        let amounts = [
            match self.kind {
                AllocationKind::Percentage { basis_points } => {
                    if basis_points > BASIS_POINTS_PER_WHOLE {
                        return Err(invalid("percentage above 100 %"));
                    }
                    None
                }
                AllocationKind::Fixed { amount } => Some(amount),
                AllocationKind::FillToTarget { target } => Some(target),
            },
            self.cap,
            self.threshold,
        ];
        for amount in amounts.into_iter().flatten() {
            if amount.currency != currency {
                return Err(invalid("amount in another currency than the income"));
            }
            if amount.amount_minor < 0 {
                return Err(invalid("negative amount"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("income must not be negative")]
    NegativeIncome,
    #[error("{what} is in {found}; the income is in {expected}")]
    CurrencyMismatch {
        what: &'static str,
        expected: Currency,
        found: Currency,
    },
    #[error("minimum spendable must not be negative")]
    NegativeMinimum,
    #[error("allocation rule {id:?}: {problem}")]
    InvalidRule { id: String, problem: &'static str },
}

/// The rules in effect on a date, in their order.
pub fn rules_effective_on(
    rules: &[AllocationRule],
    on: Date,
) -> impl Iterator<Item = &AllocationRule> {
    rules.iter().filter(move |rule| rule.is_effective_on(on))
}

/// `allocate` with only the rules in effect on `on`.
pub fn allocate_on(
    on: Date,
    income: Money,
    rules: &[AllocationRule],
    current_balances: &BTreeMap<Purpose, Money>,
    minimum_spendable: Money,
) -> Result<Vec<(Purpose, Money)>, AllocationError> {
    allocate(
        income,
        rules_effective_on(rules, on),
        current_balances,
        minimum_spendable,
    )
}

/// Splits `income` over sub-accounts. Returns one part per purpose, in the order the purposes
/// first appear in the rules (spendable last unless a rule named it), zero parts left out.
///
/// Every rule is validated first, so an invalid rule is an error whatever the income.
/// `current_balances` feeds fill-to-target rules; a missing purpose counts as zero.
pub fn allocate<'a>(
    income: Money,
    rules: impl IntoIterator<Item = &'a AllocationRule>,
    current_balances: &BTreeMap<Purpose, Money>,
    minimum_spendable: Money,
) -> Result<Vec<(Purpose, Money)>, AllocationError> {
    let currency = income.currency;
    if income.amount_minor < 0 {
        return Err(AllocationError::NegativeIncome);
    }
    same_currency("minimum spendable", currency, minimum_spendable)?;
    if minimum_spendable.amount_minor < 0 {
        return Err(AllocationError::NegativeMinimum);
    }
    for balance in current_balances.values() {
        same_currency("a current balance", currency, *balance)?;
    }
    let rules: Vec<&AllocationRule> = rules.into_iter().collect();
    for rule in &rules {
        rule.validate(currency)?;
    }

    // Amounts in minor units from here on: all the same currency, all checked.
    let total = income.amount_minor;
    let mut left = total;
    let mut parts: Vec<(Purpose, i64)> = Vec::with_capacity(rules.len());
    for rule in rules {
        let threshold = rule.threshold.map_or(0, |t| t.amount_minor);
        if rule.threshold.is_some() && total <= threshold {
            continue;
        }
        let base = total.checked_sub(threshold).ok_or(MoneyError::Overflow)?;
        let wanted = match rule.kind {
            AllocationKind::Percentage { basis_points } => share(base, basis_points)?,
            AllocationKind::Fixed { amount } => amount.amount_minor,
            AllocationKind::FillToTarget { target } => {
                let balance = current_balances
                    .get(&rule.purpose)
                    .map_or(0, |b| b.amount_minor);
                let given = given_so_far(&parts, rule.purpose)?;
                match balance.checked_add(given) {
                    // Overflow only when `have` is hugely negative: then it wants everything.
                    Some(have) => target
                        .amount_minor
                        .checked_sub(have)
                        .unwrap_or(i64::MAX)
                        .max(0),
                    // `given` is never negative: an overflow is past any target, nothing more.
                    None => 0,
                }
            }
        };
        let capped = rule.cap.map_or(wanted, |cap| wanted.min(cap.amount_minor));
        let take = capped.min(left).max(0);
        if take > 0 {
            parts.push((rule.purpose, take));
            left = left.checked_sub(take).ok_or(MoneyError::Overflow)?;
        }
    }

    // The unallocated rest is spendable; if that is below the floor, take back from the latest
    // non-spendable parts first, so the earliest (highest-priority) rules keep theirs.
    let floor = minimum_spendable.amount_minor.min(total);
    let mut spendable = left
        .checked_add(given_so_far(&parts, Purpose::Spendable)?)
        .ok_or(MoneyError::Overflow)?;
    let mut extra_spendable = left;
    for (purpose, amount) in parts.iter_mut().rev() {
        if spendable >= floor {
            break;
        }
        if *purpose == Purpose::Spendable {
            continue;
        }
        let need = floor.checked_sub(spendable).ok_or(MoneyError::Overflow)?;
        let back = need.min(*amount);
        *amount = amount.checked_sub(back).ok_or(MoneyError::Overflow)?;
        spendable = spendable.checked_add(back).ok_or(MoneyError::Overflow)?;
        extra_spendable = extra_spendable
            .checked_add(back)
            .ok_or(MoneyError::Overflow)?;
    }
    parts.push((Purpose::Spendable, extra_spendable));

    // One part per purpose, in first-appearance order.
    let mut merged: Vec<(Purpose, i64)> = Vec::new();
    for (purpose, amount) in parts {
        match merged.iter_mut().find(|(p, _)| *p == purpose) {
            Some((_, sum)) => *sum = sum.checked_add(amount).ok_or(MoneyError::Overflow)?,
            None => merged.push((purpose, amount)),
        }
    }
    Ok(merged
        .into_iter()
        .filter(|(_, amount)| *amount > 0)
        .map(|(purpose, amount)| (purpose, Money::new(amount, currency)))
        .collect())
}

fn same_currency(
    what: &'static str,
    expected: Currency,
    money: Money,
) -> Result<(), AllocationError> {
    if money.currency == expected {
        Ok(())
    } else {
        Err(AllocationError::CurrencyMismatch {
            what,
            expected,
            found: money.currency,
        })
    }
}

/// `base × basis_points / 10 000`, rounded down (base is never negative here).
fn share(base: i64, basis_points: u32) -> Result<i64, AllocationError> {
    let product = i128::from(base)
        .checked_mul(i128::from(basis_points))
        .ok_or(MoneyError::Overflow)?;
    let quotient = product
        .checked_div(i128::from(BASIS_POINTS_PER_WHOLE))
        .ok_or(MoneyError::Overflow)?;
    Ok(i64::try_from(quotient).map_err(|_| MoneyError::Overflow)?)
}

fn given_so_far(parts: &[(Purpose, i64)], purpose: Purpose) -> Result<i64, AllocationError> {
    parts
        .iter()
        .filter(|(p, _)| *p == purpose)
        .try_fold(0_i64, |sum, (_, amount)| sum.checked_add(*amount))
        .ok_or(AllocationError::Money(MoneyError::Overflow))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    fn eur(cents: i64) -> Money {
        Money::new(cents, Currency::EUR)
    }

    fn rule(id: &str, purpose: Purpose, kind: AllocationKind) -> AllocationRule {
        AllocationRule {
            id: id.to_owned(),
            purpose,
            kind,
            cap: None,
            threshold: None,
            effective_from: date!(2026 - 01 - 01),
            effective_until: None,
        }
    }

    fn percent(id: &str, purpose: Purpose, basis_points: u32) -> AllocationRule {
        rule(id, purpose, AllocationKind::Percentage { basis_points })
    }

    fn no_balances() -> BTreeMap<Purpose, Money> {
        BTreeMap::new()
    }

    fn split(
        income: i64,
        rules: &[AllocationRule],
        balances: &BTreeMap<Purpose, Money>,
        minimum: i64,
    ) -> Vec<(Purpose, i64)> {
        allocate(eur(income), rules, balances, eur(minimum))
            .unwrap()
            .into_iter()
            .map(|(purpose, money)| (purpose, money.amount_minor))
            .collect()
    }

    #[test]
    fn the_german_split_sends_four_sevenths_to_release_savings_and_rounds_down() {
        // 4/7 = 5714.28… basis points; 5714 bp of 100.00 is 57.14, the rest is spendable.
        let rules = [percent(
            "ueberbrueckungsgeld",
            Purpose::ReleaseSavings,
            5714,
        )];
        assert_eq!(
            split(100_00, &rules, &no_balances(), 0),
            vec![
                (Purpose::ReleaseSavings, 57_14),
                (Purpose::Spendable, 42_86)
            ]
        );
        // 0.33 × 57.14 % = 0.188… rounds down to 0.18; the odd cent goes to spendable.
        assert_eq!(
            split(33, &rules, &no_balances(), 0),
            vec![(Purpose::ReleaseSavings, 18), (Purpose::Spendable, 15)]
        );
    }

    #[test]
    fn a_percentage_with_a_threshold_applies_only_to_the_income_above_it() {
        // The UK levy: 40 % of weekly earnings above 20.00.
        let levy = AllocationRule {
            threshold: Some(eur(20_00)),
            ..percent("levy", Purpose::Restitution, 4_000)
        };
        let cases = [
            (
                50_00,
                vec![(Purpose::Restitution, 12_00), (Purpose::Spendable, 38_00)],
            ),
            // Exactly at the threshold: not above it, so nothing.
            (20_00, vec![(Purpose::Spendable, 20_00)]),
            (20_01, vec![(Purpose::Spendable, 20_01)]), // 40 % of 0.01 rounds down to 0
            (
                20_03,
                vec![(Purpose::Restitution, 1), (Purpose::Spendable, 20_02)],
            ),
        ];
        for (income, expected) in cases {
            assert_eq!(
                split(income, std::slice::from_ref(&levy), &no_balances(), 0),
                expected,
                "income {income}"
            );
        }
    }

    #[test]
    fn a_fixed_rule_with_a_threshold_applies_only_to_an_income_above_it() {
        let rules = [AllocationRule {
            threshold: Some(eur(10_00)),
            ..rule(
                "fine",
                Purpose::Restitution,
                AllocationKind::Fixed { amount: eur(3_00) },
            )
        }];
        assert_eq!(
            split(10_00, &rules, &no_balances(), 0),
            vec![(Purpose::Spendable, 10_00)]
        );
        assert_eq!(
            split(10_01, &rules, &no_balances(), 0),
            vec![(Purpose::Restitution, 3_00), (Purpose::Spendable, 7_01)]
        );
    }

    #[test]
    fn fill_to_target_stops_at_the_target_balance() {
        let rules = [rule(
            "release-fund",
            Purpose::ReleaseSavings,
            AllocationKind::FillToTarget {
                target: eur(500_00),
            },
        )];
        // (balance now, income, expected release part)
        let cases = [
            (480_00, 50_00, 20_00),
            (500_00, 50_00, 0),
            (600_00, 50_00, 0),
            (0, 50_00, 50_00),
        ];
        for (balance, income, expected) in cases {
            let balances = BTreeMap::from([(Purpose::ReleaseSavings, eur(balance))]);
            let parts = split(income, &rules, &balances, 0);
            let release = parts
                .iter()
                .find(|(p, _)| *p == Purpose::ReleaseSavings)
                .map_or(0, |(_, a)| *a);
            assert_eq!(release, expected, "balance {balance}");
            assert_eq!(parts.iter().map(|(_, a)| a).sum::<i64>(), income);
        }
    }

    #[test]
    fn fill_to_target_counts_what_earlier_rules_gave_from_the_same_income() {
        let rules = [
            percent("savings-10", Purpose::ReleaseSavings, 1_000),
            rule(
                "release-fund",
                Purpose::ReleaseSavings,
                AllocationKind::FillToTarget {
                    target: eur(100_00),
                },
            ),
        ];
        let balances = BTreeMap::from([(Purpose::ReleaseSavings, eur(90_00))]);
        // 10 % gives 5.00 (balance 95.00), the fill adds 5.00 more to reach 100.00.
        assert_eq!(
            split(50_00, &rules, &balances, 0),
            vec![
                (Purpose::ReleaseSavings, 10_00),
                (Purpose::Spendable, 40_00)
            ]
        );
    }

    #[test]
    fn a_cap_limits_what_one_rule_takes_from_one_income() {
        let rules = [AllocationRule {
            cap: Some(eur(15_00)),
            ..percent("victims", Purpose::Restitution, 5_000)
        }];
        assert_eq!(
            split(100_00, &rules, &no_balances(), 0),
            vec![(Purpose::Restitution, 15_00), (Purpose::Spendable, 85_00)]
        );
    }

    #[test]
    fn rules_apply_in_order_and_later_rules_get_only_what_is_left() {
        let rules = [
            rule(
                "restitution",
                Purpose::Restitution,
                AllocationKind::Fixed { amount: eur(30_00) },
            ),
            rule(
                "release",
                Purpose::ReleaseSavings,
                AllocationKind::Fixed { amount: eur(30_00) },
            ),
        ];
        assert_eq!(
            split(40_00, &rules, &no_balances(), 0),
            vec![
                (Purpose::Restitution, 30_00),
                (Purpose::ReleaseSavings, 10_00)
            ]
        );
    }

    #[test]
    fn the_minimum_spendable_is_taken_back_from_the_latest_rules_first() {
        let rules = [
            rule(
                "restitution",
                Purpose::Restitution,
                AllocationKind::Fixed { amount: eur(30_00) },
            ),
            rule(
                "release",
                Purpose::ReleaseSavings,
                AllocationKind::Fixed { amount: eur(30_00) },
            ),
        ];
        // (income, minimum, expected)
        let cases = [
            (
                60_00,
                5_00,
                vec![
                    (Purpose::Restitution, 30_00),
                    (Purpose::ReleaseSavings, 25_00),
                    (Purpose::Spendable, 5_00),
                ],
            ),
            (
                60_00,
                40_00,
                vec![(Purpose::Restitution, 20_00), (Purpose::Spendable, 40_00)],
            ),
            // The minimum is more than the income: everything is spendable.
            (3_00, 5_00, vec![(Purpose::Spendable, 3_00)]),
        ];
        for (income, minimum, expected) in cases {
            assert_eq!(
                split(income, &rules, &no_balances(), minimum),
                expected,
                "income {income}, minimum {minimum}"
            );
        }
    }

    #[test]
    fn a_rule_that_targets_spendable_counts_towards_the_minimum() {
        let rules = [
            rule(
                "hausgeld",
                Purpose::Spendable,
                AllocationKind::Fixed { amount: eur(10_00) },
            ),
            percent("rest-to-release", Purpose::ReleaseSavings, 10_000),
        ];
        assert_eq!(
            split(30_00, &rules, &no_balances(), 10_00),
            vec![
                (Purpose::Spendable, 10_00),
                (Purpose::ReleaseSavings, 20_00)
            ]
        );
    }

    #[test]
    fn rules_outside_their_dates_are_not_applied() {
        let old = AllocationRule {
            effective_from: date!(2025 - 01 - 01),
            effective_until: Some(date!(2026 - 01 - 01)),
            ..percent("old", Purpose::Restitution, 5_000)
        };
        let new = percent("new", Purpose::ReleaseSavings, 1_000);
        let rules = [old, new];
        let parts = |on| {
            allocate_on(on, eur(100_00), &rules, &no_balances(), eur(0))
                .unwrap()
                .into_iter()
                .map(|(p, m)| (p, m.amount_minor))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            parts(date!(2025 - 12 - 31)),
            vec![(Purpose::Restitution, 50_00), (Purpose::Spendable, 50_00)]
        );
        assert_eq!(
            parts(date!(2026 - 01 - 01)),
            vec![
                (Purpose::ReleaseSavings, 10_00),
                (Purpose::Spendable, 90_00)
            ]
        );
    }

    #[test]
    fn a_zero_income_allocates_nothing() {
        let rules = [percent("p", Purpose::ReleaseSavings, 5_000)];
        assert!(split(0, &rules, &no_balances(), 5_00).is_empty());
    }

    #[test]
    fn invalid_inputs_are_refused_whatever_the_income() {
        let sek = Currency::from_code("SEK").unwrap();
        let bad_rules = [
            percent("too-much", Purpose::ReleaseSavings, 10_001),
            rule(
                "negative",
                Purpose::Restitution,
                AllocationKind::Fixed { amount: eur(-1) },
            ),
            rule(
                "swedish",
                Purpose::Restitution,
                AllocationKind::Fixed {
                    amount: Money::new(1, sek),
                },
            ),
            AllocationRule {
                cap: Some(eur(-5)),
                ..percent("neg-cap", Purpose::Restitution, 10)
            },
        ];
        for bad in bad_rules {
            let result = allocate(eur(0), std::slice::from_ref(&bad), &no_balances(), eur(0));
            assert!(
                matches!(result, Err(AllocationError::InvalidRule { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(
            allocate(eur(-1), &[], &no_balances(), eur(0)),
            Err(AllocationError::NegativeIncome)
        );
        assert_eq!(
            allocate(eur(1), &[], &no_balances(), eur(-1)),
            Err(AllocationError::NegativeMinimum)
        );
        assert!(allocate(eur(1), &[], &no_balances(), Money::new(0, sek)).is_err());
        let swedish_balance = BTreeMap::from([(Purpose::ReleaseSavings, Money::new(0, sek))]);
        assert!(allocate(eur(1), &[], &swedish_balance, eur(0)).is_err());
    }

    #[test]
    fn purposes_name_the_ledgers_sub_accounts() {
        assert_eq!(Purpose::Spendable.as_str(), "spendable");
        assert_eq!(Purpose::ReleaseSavings.as_str(), "release_savings");
        assert_eq!(Purpose::Restitution.as_str(), "restitution");
    }

    fn purposes() -> impl Strategy<Value = Purpose> {
        prop_oneof![
            Just(Purpose::Spendable),
            Just(Purpose::ReleaseSavings),
            Just(Purpose::Restitution),
        ]
    }

    fn rules() -> impl Strategy<Value = AllocationRule> {
        let kind = prop_oneof![
            (0_u32..=10_000).prop_map(|basis_points| AllocationKind::Percentage { basis_points }),
            (0_i64..1_000_000_00).prop_map(|c| AllocationKind::Fixed { amount: eur(c) }),
            (0_i64..1_000_000_00).prop_map(|c| AllocationKind::FillToTarget { target: eur(c) }),
        ];
        (
            purposes(),
            kind,
            proptest::option::of(0_i64..1_000_000_00),
            proptest::option::of(0_i64..1_000_000_00),
        )
            .prop_map(|(purpose, kind, cap, threshold)| AllocationRule {
                cap: cap.map(eur),
                threshold: threshold.map(eur),
                ..rule("r", purpose, kind)
            })
    }

    proptest! {
        #[test]
        fn parts_always_sum_to_the_income_are_never_negative_and_leave_the_minimum_spendable(
            income in prop_oneof![0_i64..10_000, 0_i64..i64::MAX / 2, Just(i64::MAX)],
            rules in proptest::collection::vec(rules(), 0..8),
            release_balance in -1_000_00_i64..1_000_000_00,
            restitution_balance in 0_i64..1_000_000_00,
            minimum in prop_oneof![0_i64..100_00, 0_i64..i64::MAX],
        ) {
            let balances = BTreeMap::from([
                (Purpose::ReleaseSavings, eur(release_balance)),
                (Purpose::Restitution, eur(restitution_balance)),
            ]);
            let parts = allocate(eur(income), &rules, &balances, eur(minimum)).unwrap();
            let sum = parts
                .iter()
                .try_fold(0_i64, |sum, (_, m)| sum.checked_add(m.amount_minor))
                .unwrap();
            prop_assert_eq!(sum, income);
            prop_assert!(parts.iter().all(|(_, m)| m.amount_minor > 0 && m.currency == Currency::EUR));
            let spendable = parts
                .iter()
                .find(|(p, _)| *p == Purpose::Spendable)
                .map_or(0, |(_, m)| m.amount_minor);
            prop_assert!(spendable >= minimum.min(income));
            let mut seen: Vec<Purpose> = parts.iter().map(|(p, _)| *p).collect();
            seen.sort();
            seen.dedup();
            prop_assert_eq!(seen.len(), parts.len(), "one part per purpose");
        }
    }
}
