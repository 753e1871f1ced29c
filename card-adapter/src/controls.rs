//! The spending controls in the authorization path: [`SpendingControls`] implements
//! [`Decide`] with `ledger::controls::evaluate`, loading in the authorization's own transaction
//! the person's mode, their prison's policy with their overrides, the prison's time zone, the
//! spend already counted in the day, week and month, and the available balance. Two indexed
//! statements, prepared once per connection; what they decide is written with the decision.
//!
//! Spend per window (docs/controls.md): for every authorization of the person's cards requested
//! in the window, what it still holds plus what was cleared against it; plus clearings with no
//! authorization (force posts), at the time they were booked; minus refunds, in the window of the
//! purchase they refund (else when booked). A reversal or expiry shrinks the hold, so it gives
//! room back in the window of the original authorization.

use deadpool_postgres::{GenericClient, Transaction};
use ledger::controls::{
    AuthorizationRequest, Channel, Decision, EvaluationContext, ReasonKey, RemainingRoom,
    SpendWindows, WindowSpend, evaluate, remaining_room,
};
use ledger::policy_store::{self, EffectiveControls, policy_version_text};
use ledger::{Currency, Money, MoneyError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::booking::{BookingResult, Card};
use crate::process::{AuthorizationInput, AuthorizationOutcome, ControlVerdict, Decide};

/// The real controls. Stateless: everything is read in the authorization's transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpendingControls;

impl Decide for SpendingControls {
    async fn decide(
        &self,
        tx: &Transaction<'_>,
        card: &Card,
        input: &AuthorizationInput,
    ) -> BookingResult<ControlVerdict> {
        let Some(controls) = policy_store::effective_controls(tx, card.person_id, input.at).await?
        else {
            // No placement or no policy in effect: fail closed, and say so in the logs.
            tracing::warn!(
                card_id = card.card_id,
                "no card mode or policy for the card's person: declining"
            );
            return Ok(decline(ReasonKey::EvaluationError, None));
        };
        let version = policy_version_text(&controls.policy.reference());
        let Some(channel) = Channel::parse(&input.channel) else {
            return Ok(decline(ReasonKey::InvalidRequest, Some(version)));
        };
        let request = AuthorizationRequest {
            amount: input.amount,
            merchant_id: input.merchant.id.clone(),
            merchant_name: input.merchant.name.clone(),
            mcc: input.merchant.mcc.clone(),
            merchant_country: input.merchant.country.clone(),
            channel,
            at: input.at,
            partial_approval_capable: input.partial_approval_capable,
        };
        let currency = controls.policy.currency;
        let windows = controls.windows(input.at)?;
        let (spent, available) =
            spend_and_available(tx, card.person_id, card.account_id, currency, &windows).await?;
        let decision = evaluate(
            &request,
            &EvaluationContext {
                mode: &controls.placement.mode,
                policy: &controls.policy,
                spent,
                available,
            },
        );
        Ok(match decision {
            Decision::Decline { code, reason, .. } => ControlVerdict {
                decline: Some(AuthorizationOutcome::decline(
                    code.as_str(),
                    reason.as_str(),
                )),
                max_approve_minor: None,
                policy_version: Some(version),
                limited_by: None,
            },
            Decision::Approve {
                approved_amount,
                limited_by,
                ..
            } => ControlVerdict {
                decline: None,
                max_approve_minor: (approved_amount.amount_minor < input.amount.amount_minor)
                    .then_some(approved_amount.amount_minor),
                policy_version: Some(version),
                limited_by: limited_by.map(|reason| reason.as_str().to_owned()),
            },
        })
    }
}

fn decline(reason: ReasonKey, policy_version: Option<String>) -> ControlVerdict {
    ControlVerdict {
        decline: Some(AuthorizationOutcome::decline(
            reason.code().as_str(),
            reason.as_str(),
        )),
        max_approve_minor: None,
        policy_version,
        limited_by: None,
    }
}

/// The person's card spend counted in each window (see the module documentation).
pub async fn window_spend(
    client: &impl GenericClient,
    person_id: Uuid,
    account_id: Uuid,
    currency: Currency,
    windows: &SpendWindows,
) -> BookingResult<WindowSpend> {
    Ok(
        spend_and_available(client, person_id, account_id, currency, windows)
            .await?
            .0,
    )
}

/// [`window_spend`], and the spendable account's available balance (posted minus open holds,
/// read without a lock: the hold that follows locks the row and checks again), in one statement.
async fn spend_and_available(
    client: &impl GenericClient,
    person_id: Uuid,
    account_id: Uuid,
    currency: Currency,
    windows: &SpendWindows,
) -> BookingResult<(WindowSpend, Money)> {
    let from = windows
        .day
        .start
        .min(windows.week.start)
        .min(windows.month.start);
    let until = windows.day.end.max(windows.week.end).max(windows.month.end);
    let statement = client
        .prepare_cached(
            "with spend(at, minor) as (
                 -- Authorizations: what each still holds (`held_minor`, kept by V11's
                 -- triggers from the hold and its events) plus what was cleared against it.
                 select coalesce(a.authorized_at, a.created_at), a.cleared_minor + a.held_minor
                 from card.authorizations a
                 where a.card_id in (select card_id from card.cards where person_id = $1)
                   and a.currency = $3
                   and coalesce(a.authorized_at, a.created_at) >= $4
                   and coalesce(a.authorized_at, a.created_at) < $5
               union all
                 -- Clearings without an authorization (force posts), when booked; and refunds
                 -- (credits), in the window of the purchase they refund when it is known.
                 select case when e.metadata ? 'original_transaction_id'
                             then coalesce(oa.authorized_at, oa.created_at, p.recorded_at)
                             else p.recorded_at end,
                        p.amount_minor
                 from journal_postings p
                 join journal_entries e on e.id = p.entry_id
                 left join journal_entry_refs r
                        on e.metadata ? 'original_transaction_id'
                       and r.ref_kind = 'processor_transaction' and r.is_unique
                       and r.ref_value = e.metadata->>'original_transaction_id'
                 left join journal_entries oe on oe.id = r.entry_id
                 left join card.authorizations oa
                        on oa.authorization_id = oe.metadata->>'authorization_id'
                 where p.account_id = $2 and p.recorded_at >= $4
                   and e.reverses_entry_id is null
                   and ((e.metadata ? 'authorization_id'
                         and jsonb_typeof(e.metadata->'authorization_id') = 'null'
                         and e.metadata ? 'card_id' and p.amount_minor > 0)
                        or (e.metadata ? 'original_transaction_id' and p.amount_minor < 0))
             )
             select coalesce(sum(minor) filter (where at >= $6 and at < $7), 0)::bigint,
                    coalesce(sum(minor) filter (where at >= $8 and at < $9), 0)::bigint,
                    coalesce(sum(minor) filter (where at >= $10 and at < $11), 0)::bigint,
                    coalesce((select b.posted_minor - b.held_minor from account_balances b
                              where b.account_id = $2), 0)::bigint
             from spend",
        )
        .await?;
    let row = client
        .query_one(
            &statement,
            &[
                &person_id,
                &account_id,
                &currency.code(),
                &from,
                &until,
                &windows.day.start,
                &windows.day.end,
                &windows.week.start,
                &windows.week.end,
                &windows.month.start,
                &windows.month.end,
            ],
        )
        .await?;
    Ok((
        WindowSpend {
            day: Money::new(row.get(0), currency),
            week: Money::new(row.get(1), currency),
            month: Money::new(row.get(2), currency),
        },
        Money::new(row.get(3), currency),
    ))
}

/// What the kiosk shows: the room left under each limit now, with the mode and policy behind it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KioskLimits {
    pub room: RemainingRoom,
    pub spent: WindowSpend,
    pub policy_version: String,
    pub mode: ledger::controls::EffectiveMode,
}

/// "What is left of this week's limit" for a person at `at`; `None` when the person has no
/// placement, policy or spendable account.
pub async fn kiosk_limits(
    client: &impl GenericClient,
    person_id: Uuid,
    at: OffsetDateTime,
) -> BookingResult<Option<KioskLimits>> {
    let Some(controls) = policy_store::effective_controls(client, person_id, at).await? else {
        return Ok(None);
    };
    let currency = controls.policy.currency;
    let code =
        ledger::NewAccount::person(person_id, ledger::person_purpose::SPENDABLE, currency).code;
    let Some(account) = ledger::store::account_by_code(client, &code).await? else {
        return Ok(None);
    };
    let spent = window_spend(
        client,
        person_id,
        account.id,
        currency,
        &controls.windows(at)?,
    )
    .await?;
    kiosk_view(&controls, at, spent).map(Some)
}

fn kiosk_view(
    controls: &EffectiveControls,
    at: OffsetDateTime,
    spent: WindowSpend,
) -> BookingResult<KioskLimits> {
    let room = remaining_room(&controls.policy, &controls.placement.mode, at, &spent)
        .map_err(|_| MoneyError::Overflow)?;
    Ok(KioskLimits {
        room,
        spent,
        policy_version: policy_version_text(&controls.policy.reference()),
        mode: controls.effective_mode(at),
    })
}
