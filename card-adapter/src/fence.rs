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
//!
//! What the fence is ([`crate::fence_controls`]) sits below the outbox; this module, which
//! queues syncs through the outbox, sits above it.
use deadpool_postgres::{GenericClient, Transaction};
use ledger::controls::CardMode;
use reqwest::Method;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::booking::BookingResult;
use crate::fence_controls::SYNC_OPERATION;

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
        let card_id: &str = row.get("card_id");
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
                 (id, idempotency_key, operation, method, path, body, person_id, next_attempt_at,
                  processor_id)
             select gen_random_uuid(), 'sc_' || replace(gen_random_uuid()::text, '-', ''), $3,
                    'PATCH', '/v1/cards/' || c.card_id || '/spend_controls', null, c.person_id, $2,
                    c.processor_id
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
    use ledger::controls::Limits;

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
