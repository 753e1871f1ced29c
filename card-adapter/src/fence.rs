//! The processor's own fence (protocol 2.2 and 3.3): spend controls the processor applies
//! itself, also when it stands in for Saldo because our endpoint could not be reached. Saldo
//! decides every authorization it sees; the fence bounds what a stand-in can approve without us,
//! so it follows the card's mode: the mode's limits and the policy's blocked categories, and
//! nothing at all while the card is frozen, its release period is over, or no policy applies.
//!
//! A sync is queued in the outbox without a body; the body is computed when the call is sent, from
//! the person's controls at that moment, so calls delivered late or out of order still leave the
//! fence matching the mode now. Modes that change by themselves at a known time (a leave's start
//! and end, the end of the release period) get a sync queued for that time.
use deadpool_postgres::{GenericClient, Transaction};
use ledger::controls::{CardMode, EffectiveMode, Limits, Policy};
use reqwest::Method;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::booking::BookingResult;
use crate::protocol::{Mcc, SpendControls};

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

/// Queues fence syncs for every card of the person that is not closed: one now, and one at each
/// future moment the person's mode changes by itself. Call it in the transaction that changes
/// the mode, the policy or the overrides.
pub async fn request_sync(tx: &Transaction<'_>, person_id: Uuid) -> BookingResult<()> {
    let now = OffsetDateTime::now_utc();
    let mut when = vec![now];
    if let Some(placement) = ledger::policy_store::current_placement(tx, person_id).await? {
        when.extend(
            mode_boundaries(&placement.mode)
                .into_iter()
                .filter(|at| *at > now),
        );
    }
    let cards = tx
        .query(
            "select card_id from card.cards where person_id = $1 and state <> 'CLOSED'
             order by card_id",
            &[&person_id],
        )
        .await?;
    for row in cards {
        let card_id: &str = row.get(0);
        for at in &when {
            crate::outbox::enqueue_at(
                tx,
                &format!("sc_{}", Uuid::now_v7().simple()),
                SYNC_OPERATION,
                &Method::PATCH,
                &format!("/v1/cards/{card_id}/spend_controls"),
                None,
                Some(person_id),
                *at,
            )
            .await?;
        }
    }
    Ok(())
}

/// Queues a fence sync, due at `at`, for every card not closed of everyone placed in the prison
/// now: for a policy published or assigned there (effective at `at`). One statement, whatever
/// the prison's size.
pub async fn request_prison_sync(
    tx: &Transaction<'_>,
    prison_id: Uuid,
    at: OffsetDateTime,
) -> BookingResult<u64> {
    let queued = tx
        .execute(
            "insert into card.outbox
                 (id, idempotency_key, operation, method, path, body, person_id, next_attempt_at)
             select gen_random_uuid(), 'sc_' || replace(gen_random_uuid()::text, '-', ''), $3,
                    'PATCH', '/v1/cards/' || c.card_id || '/spend_controls', null, c.person_id, $2
             from card.cards c
             join (select distinct on (person_id) person_id, prison_id from controls.card_modes
                   where effective_from <= clock_timestamp()
                   order by person_id, effective_from desc, id desc) placed
               on placed.person_id = c.person_id
             where placed.prison_id = $1 and c.state <> 'CLOSED'",
            &[&prison_id, &at, &SYNC_OPERATION],
        )
        .await?;
    Ok(queued)
}

/// The moments a mode changes its meaning by itself.
fn mode_boundaries(mode: &CardMode) -> Vec<OffsetDateTime> {
    match mode {
        CardMode::Leave { from, until, .. } => vec![*from, *until],
        CardMode::Released { until } => vec![*until],
        CardMode::Inside | CardMode::Frozen => Vec::new(),
    }
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

    #[test]
    fn only_leaves_and_release_periods_change_by_themselves() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let later = at + time::Duration::days(2);
        assert_eq!(
            mode_boundaries(&CardMode::Leave {
                from: at,
                until: later,
                limits: Limits::NONE
            }),
            vec![at, later]
        );
        assert_eq!(
            mode_boundaries(&CardMode::Released { until: later }),
            vec![later]
        );
        assert!(mode_boundaries(&CardMode::Inside).is_empty());
        assert!(mode_boundaries(&CardMode::Frozen).is_empty());
    }
}
