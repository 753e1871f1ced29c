//! The processor's fence for a person as their mode is now (protocol 2.2): what a fence sync
//! carries. Below `outbox`, which computes a sync's body when it sends it, and `fence`, which
//! queues the syncs through the outbox, so the outbox does not import the module that feeds it.
use deadpool_postgres::GenericClient;
use ledger::controls::{EffectiveMode, Limits, Policy};
use processor_protocol::{Mcc, SpendControls};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::booking::BookingResult;

/// The outbox operation of a fence sync.
pub const SYNC_OPERATION: &str = "sync_spend_controls";

/// A PATCH cannot clear a limit (an absent field leaves the old value), so a limit the policy
/// does not set is sent as the most a prisoner may hold, which no single stand-in approval needs
/// to exceed; or as this when the policy has no maximum either.
pub const NO_LIMIT_MINOR: i64 = i64::MAX;

/// The fence for a person under `policy` in `mode`. `None` (no placement, no policy) closes it.
pub fn spend_controls_for(controls: Option<(&Policy, EffectiveMode)>) -> SpendControls {
    let Some((policy, mode)) = controls else {
        return closed(default_blocked_mcc());
    };
    let limits = match mode {
        EffectiveMode::Inside => policy.limits,
        EffectiveMode::Leave { limits } => limits,
        EffectiveMode::Released => policy.released_limits,
        EffectiveMode::Frozen | EffectiveMode::ReleaseEnded => {
            return closed(blocked_mcc(policy));
        }
    };
    let no_limit_minor = policy
        .max_balance
        .map_or(NO_LIMIT_MINOR, |max| max.amount_minor);
    SpendControls {
        per_authorization_max: Some(
            limits
                .per_authorization
                .map_or(no_limit_minor, |limit| limit.amount_minor),
        ),
        daily_max: Some(tightest_window_minor(&limits).unwrap_or(no_limit_minor)),
        blocked_mcc: Some(blocked_mcc(policy)),
    }
}

/// A stand-in day must stay within the week and the month too, and the processor only counts
/// days: the daily fence is the tightest of the three windows.
fn tightest_window_minor(limits: &Limits) -> Option<i64> {
    [limits.daily, limits.weekly, limits.monthly]
        .into_iter()
        .flatten()
        .map(|limit| limit.amount_minor)
        .min()
}

fn closed(blocked_mcc: Vec<Mcc>) -> SpendControls {
    SpendControls {
        per_authorization_max: Some(0),
        daily_max: Some(0),
        blocked_mcc: Some(blocked_mcc),
    }
}

/// The safe-default categories the policy has not lifted, and its own blocks, sorted.
fn blocked_mcc(policy: &Policy) -> Vec<Mcc> {
    let mut codes: Vec<&str> = ledger::controls::SAFE_DEFAULT_BLOCKED_MCCS
        .iter()
        .map(|(code, _)| *code)
        .filter(|code| policy.mcc.is_blocked(code))
        .chain(policy.mcc.block.iter().map(String::as_str))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
        .into_iter()
        .filter_map(|code| Mcc::new(code).ok())
        .collect()
}

/// Every safe-default category: the fence of a card no policy applies to.
fn default_blocked_mcc() -> Vec<Mcc> {
    ledger::controls::SAFE_DEFAULT_BLOCKED_MCCS
        .iter()
        .filter_map(|(code, _)| Mcc::new(code).ok())
        .collect()
}

/// The fence for the person now, as the outbox sends it.
pub async fn current_spend_controls(
    client: &impl GenericClient,
    person_id: Uuid,
) -> BookingResult<SpendControls> {
    let now = OffsetDateTime::now_utc();
    let controls = ledger::policy_store::effective_controls(client, person_id, now).await?;
    Ok(spend_controls_for(controls.as_ref().map(|controls| {
        (&controls.policy, controls.effective_mode(now))
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::controls::Policy;
    use ledger::{Currency, Money};

    fn eur(amount_minor: i64) -> Option<Money> {
        Some(Money::new(amount_minor, Currency::EUR))
    }

    fn policy() -> Policy {
        let mut policy = Policy::closed_prison("closed-fi", 1, "FI", &["m_canteen"]);
        policy.limits = Limits {
            per_authorization: eur(5_000),
            daily: eur(5_000),
            weekly: eur(4_000),
            monthly: eur(25_000),
        };
        policy.released_limits = Limits::NONE;
        policy.mcc.block.insert("5993".into());
        policy.mcc.unblocked_defaults.insert("4829".into());
        policy
    }

    fn codes(controls: &SpendControls) -> Vec<&str> {
        controls
            .blocked_mcc
            .as_ref()
            .unwrap()
            .iter()
            .map(Mcc::as_str)
            .collect()
    }

    #[test]
    fn inside_the_fence_takes_the_inside_limits_and_the_tightest_window_as_its_day() {
        let policy = policy();
        let fence = spend_controls_for(Some((&policy, EffectiveMode::Inside)));
        assert_eq!(fence.per_authorization_max, Some(5_000));
        assert_eq!(
            fence.daily_max,
            Some(4_000),
            "the week is tighter than the day"
        );
        let blocked = codes(&fence);
        assert!(blocked.contains(&"7995") && blocked.contains(&"5993"));
        assert!(!blocked.contains(&"4829"), "a lifted default is not fenced");
        assert!(blocked.windows(2).all(|pair| pair[0] < pair[1]), "sorted");
    }

    #[test]
    fn a_leave_fences_with_its_own_limits_and_release_without_limits_with_the_maximum_balance() {
        let policy = policy();
        let leave = Limits {
            per_authorization: eur(2_000),
            daily: eur(3_000),
            weekly: None,
            monthly: None,
        };
        let fence = spend_controls_for(Some((&policy, EffectiveMode::Leave { limits: leave })));
        assert_eq!(
            (fence.per_authorization_max, fence.daily_max),
            (Some(2_000), Some(3_000))
        );
        let released = spend_controls_for(Some((&policy, EffectiveMode::Released)));
        assert_eq!(
            (released.per_authorization_max, released.daily_max),
            (Some(150_000), Some(150_000)),
            "no limits: the most a prisoner may hold"
        );
        let mut unbounded = policy.clone();
        unbounded.max_balance = None;
        let released = spend_controls_for(Some((&unbounded, EffectiveMode::Released)));
        assert_eq!(released.per_authorization_max, Some(NO_LIMIT_MINOR));
    }

    #[test]
    fn a_frozen_or_ended_card_and_a_person_without_policy_are_fenced_shut() {
        let policy = policy();
        for fence in [
            spend_controls_for(Some((&policy, EffectiveMode::Frozen))),
            spend_controls_for(Some((&policy, EffectiveMode::ReleaseEnded))),
            spend_controls_for(None),
        ] {
            assert_eq!(
                (fence.per_authorization_max, fence.daily_max),
                (Some(0), Some(0))
            );
        }
        assert_eq!(
            codes(&spend_controls_for(None)).len(),
            ledger::controls::SAFE_DEFAULT_BLOCKED_MCCS.len()
        );
    }
}
