//! Spending controls: the pure decision for one card authorization.
//!
//! No database, no clock, no I/O: the caller loads the card's mode, its effective policy, the
//! spend already counted in the current windows and the available balance, and `evaluate`
//! decides. The same inputs always give the same decision. Evaluation order (first failing
//! check wins), documented in docs/controls.md:
//!
//! 0. request shape and currency
//! 1. mode (frozen, release ended)
//! 2. channel, 3. country, 4. MCC, 5. merchant (inside list, block list)
//! 6. per-authorization maximum, 7. day, week and month windows, 8. available balance

// Cent amounts are grouped as euros_cents: `1_500_00` is 1 500.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]

mod decision;
mod mode;
mod policy;
mod request;
mod windows;

#[cfg(test)]
mod tests;

pub use decision::{Decision, DeclineCode, Lang, ReasonKey, reason_text};
pub use mode::{CardMode, EffectiveMode};
pub use policy::{
    CountryRule, Limits, MaxBalanceCheck, MccRules, ModeRules, OverrideChange, OverrideRef, Policy,
    PolicyOverride, PolicyRef, Regime, SAFE_DEFAULT_BLOCKED_MCCS, Scope, is_safe_default_blocked,
};
pub use request::{AuthorizationRequest, Channel, MerchantKind, is_valid_country, is_valid_mcc};
pub use windows::{Interval, RemainingRoom, SpendWindows, WindowSpend};

use time::OffsetDateTime;

use crate::money::{Currency, Money, MoneyError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlsError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("expected an amount in {expected}, found {found}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("amount must not be negative")]
    NegativeAmount,
    #[error("time is outside the supported range")]
    TimeOutOfRange,
    #[error("override {id:?}: {problem}")]
    InvalidOverride { id: String, problem: &'static str },
}

/// Everything about the card that the decision depends on, loaded by the caller in the same
/// transaction that will place the hold.
#[derive(Debug, Clone, Copy)]
pub struct EvaluationContext<'a> {
    pub mode: &'a CardMode,
    /// The effective policy: template with the person's overrides applied.
    pub policy: &'a Policy,
    /// Spend counted in the windows `SpendWindows::containing(request.at, prison tz)`.
    pub spent: WindowSpend,
    /// The card's spendable balance minus open holds. A negative value (after a stand-in
    /// approval) counts as zero.
    pub available: Money,
}

/// Decides one authorization. Never panics and never errs: inputs that do not add up (mixed
/// currencies, overflow) decline as `OTHER`/`evaluation_error`, because the card path fails
/// closed.
pub fn evaluate(request: &AuthorizationRequest, context: &EvaluationContext<'_>) -> Decision {
    let policy = context.policy;
    let decline = |reason| Decision::decline(reason, policy.reference());

    // 0. The request itself.
    if !request.is_well_formed() {
        return decline(ReasonKey::InvalidRequest);
    }
    if request.amount.currency != policy.currency {
        return decline(ReasonKey::CurrencyNotSupported);
    }
    if !request.amount.is_positive() {
        return decline(ReasonKey::InvalidRequest);
    }

    // 1. Mode.
    let effective = context.mode.effective_at(request.at);
    let Some((rules, limits)) = rules_for(policy, &effective) else {
        return decline(match effective {
            EffectiveMode::ReleaseEnded => ReasonKey::ReleasePeriodEnded,
            _ => ReasonKey::CardFrozen,
        });
    };

    // A prison service is inside the prison and presents no card: channel and country do not
    // apply to it (docs/services.md).
    let prison_service = request.merchant_kind == MerchantKind::PrisonService;

    // 2. Channel.
    if !prison_service && !rules.channels.contains(&request.channel) {
        return decline(match request.channel {
            Channel::Atm => ReasonKey::AtmNotAllowed,
            Channel::Ecommerce => ReasonKey::EcommerceNotAllowed,
            Channel::Pos | Channel::Contactless => ReasonKey::ChannelNotAllowed,
        });
    }

    // 3. Country.
    if !prison_service && !rules.countries.allows(&request.merchant_country) {
        return decline(ReasonKey::CountryNotAllowed);
    }

    // 4. Merchant category. The prison's own merchants skip the allow list, never the blocks.
    let inside_merchant = prison_service || policy.inside_merchants.contains(&request.merchant_id);
    if policy.mcc.is_blocked(&request.mcc) {
        return decline(ReasonKey::MerchantCategoryBlocked);
    }
    if !inside_merchant && !policy.mcc.is_allowed(&request.mcc) {
        return decline(ReasonKey::MerchantCategoryNotAllowed);
    }

    // 5. Merchant.
    if policy.blocked_merchants.contains(&request.merchant_id) {
        return decline(ReasonKey::MerchantBlocked);
    }
    if effective == EffectiveMode::Inside && !inside_merchant {
        return decline(ReasonKey::MerchantNotAllowedInside);
    }

    // 6-8. Amount against the per-authorization maximum, the windows and the balance.
    match approvable(request.amount, &limits, &context.spent, context.available) {
        Err(_) => decline(ReasonKey::EvaluationError),
        Ok((approved, None, _)) => Decision::Approve {
            approved_amount: approved,
            limited_by: None,
            policy: policy.reference(),
        },
        Ok((approved, Some(first), binding)) => {
            if request.partial_approval_capable && approved.is_positive() {
                Decision::Approve {
                    approved_amount: approved,
                    limited_by: Some(binding.unwrap_or(first)),
                    policy: policy.reference(),
                }
            } else {
                // A decline reports the first failing check, as every other step does.
                decline(first)
            }
        }
    }
}

/// The channel/country rules and limits of an active mode; `None` for an inactive card.
fn rules_for<'p>(policy: &'p Policy, effective: &EffectiveMode) -> Option<(&'p ModeRules, Limits)> {
    match effective {
        EffectiveMode::Inside => Some((&policy.inside, policy.limits)),
        EffectiveMode::Leave { limits } => Some((&policy.leave, *limits)),
        EffectiveMode::Released => Some((&policy.released, policy.released_limits)),
        EffectiveMode::Frozen | EffectiveMode::ReleaseEnded => None,
    }
}

/// The most of `amount` every cap allows, the first cap (in evaluation order) below the amount
/// (a decline's reason), and the cap that bound it: the smallest one below the
/// full amount (of equal ones, the first in evaluation order), so a partial approval's
/// `limited_by` names the limit that set the approved amount.
fn approvable(
    amount: Money,
    limits: &Limits,
    spent: &WindowSpend,
    available: Money,
) -> Result<(Money, Option<ReasonKey>, Option<ReasonKey>), ControlsError> {
    let room = RemainingRoom::of(limits, spent)?;
    let available = Money::new(available.amount_minor.max(0), available.currency);
    let caps = [
        (
            room.per_authorization,
            ReasonKey::PerAuthorizationLimitExceeded,
        ),
        (room.day, ReasonKey::DailyLimitExceeded),
        (room.week, ReasonKey::WeeklyLimitExceeded),
        (room.month, ReasonKey::MonthlyLimitExceeded),
        (Some(available), ReasonKey::InsufficientFunds),
    ];
    let mut approved = amount.amount_minor;
    let mut first = None;
    let mut binding: Option<ReasonKey> = None;
    for (cap, reason) in caps {
        let Some(cap) = cap else { continue };
        if cap.currency != amount.currency {
            return Err(ControlsError::CurrencyMismatch {
                expected: amount.currency,
                found: cap.currency,
            });
        }
        if cap.amount_minor < amount.amount_minor && first.is_none() {
            first = Some(reason);
        }
        if cap.amount_minor < approved {
            binding = Some(reason);
            approved = cap.amount_minor;
        }
    }
    Ok((Money::new(approved.max(0), amount.currency), first, binding))
}

/// What is left under each limit at `at`, for the kiosk ("what is left of this week's limit").
/// An inactive card has no room at all; `None` means no limit of that kind.
pub fn remaining_room(
    policy: &Policy,
    mode: &CardMode,
    at: OffsetDateTime,
    spent: &WindowSpend,
) -> Result<RemainingRoom, ControlsError> {
    match rules_for(policy, &mode.effective_at(at)) {
        Some((_, limits)) => RemainingRoom::of(&limits, spent),
        None => {
            let zero = Some(Money::zero(policy.currency));
            Ok(RemainingRoom {
                per_authorization: zero,
                day: zero,
                week: zero,
                month: zero,
            })
        }
    }
}
