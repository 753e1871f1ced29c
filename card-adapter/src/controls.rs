//! The spending controls in the authorization path: [`SpendingControls`] implements
//! [`Decide`] with `ledger::controls::evaluate`, loading in the authorization's own transaction
//! the person's mode, their prison's policy with their overrides, the prison's time zone, the
//! spend already counted in the day, week and month, and the available balance. Two indexed
//! statements for a whole batch of requests, prepared once per connection: the controls, found
//! through the cards, in the batch's first round trip, and the spend and balance under the
//! balance rows' locks. Each request is then decided in memory, counting the batch's earlier
//! approvals; what they decide is written with the decision.
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

use crate::authorization::{
    AuthorizationInput, AuthorizationOutcome, ControlVerdict, Decide, EarlierApproval,
};
use crate::booking::{BookingResult, Card};

/// The real controls. Stateless: everything is read in the authorization's transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpendingControls;

/// What the controls read for one request under its balance row's lock.
#[derive(Debug, Clone)]
pub enum LoadedControls {
    /// No placement or no policy in effect: the request is declined (fail closed).
    Missing,
    Loaded {
        windows: SpendWindows,
        /// Committed spend in the windows, before this transaction's own approvals.
        spent: WindowSpend,
        /// Available balance, before this transaction's own approvals.
        available: Money,
    },
}

/// The effective controls of the person of each card `$1` at `$2`
/// (`policy_store::effective_controls_sql`); no row for an unknown card.
static CONTROLS_BY_CARD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    policy_store::effective_controls_sql(
        "(select c.person_id, u.at, u.n
          from unnest($1::text[], $2::timestamptz[]) with ordinality as u(card_id, at, n)
          join card.cards c on c.card_id = u.card_id) as r",
    )
});

impl Decide for SpendingControls {
    /// `None`: no placement or no policy in effect.
    type Controls = Option<EffectiveControls>;
    type Loaded = LoadedControls;

    async fn controls(
        &self,
        client: &impl GenericClient,
        requests: &[&AuthorizationInput],
    ) -> BookingResult<Vec<Option<EffectiveControls>>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let statement = client.prepare_cached(&CONTROLS_BY_CARD).await?;
        let card_ids: Vec<&str> = requests
            .iter()
            .map(|input| input.card_id.as_str())
            .collect();
        let moments: Vec<OffsetDateTime> = requests.iter().map(|input| input.at).collect();
        let rows = client.query(&statement, &[&card_ids, &moments]).await?;
        Ok(policy_store::controls_in_order(&rows, requests.len())?)
    }

    async fn load(
        &self,
        client: &impl GenericClient,
        requests: &[(&Card, &AuthorizationInput, &Option<EffectiveControls>)],
    ) -> BookingResult<Vec<LoadedControls>> {
        // One spend row per distinct query: a busy card's requests in one batch share theirs
        // (each sums the card's month of authorizations).
        let mut queries: Vec<SpendQuery> = Vec::with_capacity(requests.len());
        let mut with_controls = Vec::with_capacity(requests.len());
        for (card, input, controls) in requests {
            let Some(controls) = controls else {
                with_controls.push(None);
                continue;
            };
            debug_assert_eq!(
                controls.placement.person_id, card.person_id,
                "the controls read by card are its person's"
            );
            let windows = controls.windows(input.at)?;
            let query = SpendQuery {
                person_id: card.person_id,
                account_id: card.account_id,
                currency: controls.policy.currency,
                windows,
            };
            let query_index = match queries.iter().position(|known| *known == query) {
                Some(known) => known,
                None => {
                    queries.push(query);
                    queries.len() - 1
                }
            };
            with_controls.push(Some((windows, query_index)));
        }
        let spends = spend_and_available_many(client, &queries).await?;
        let mut loaded = Vec::with_capacity(requests.len());
        for entry in with_controls {
            loaded.push(match entry {
                None => LoadedControls::Missing,
                Some((windows, query_index)) => {
                    let (spent, available) = *spends.get(query_index).ok_or_else(|| {
                        ledger::LedgerError::invalid("spend_missing", "a spend row is missing")
                    })?;
                    LoadedControls::Loaded {
                        windows,
                        spent,
                        available,
                    }
                }
            });
        }
        Ok(loaded)
    }

    fn verdict(
        &self,
        controls: &Option<EffectiveControls>,
        loaded: &LoadedControls,
        card: &Card,
        input: &AuthorizationInput,
        earlier: &[EarlierApproval],
    ) -> BookingResult<ControlVerdict> {
        let (
            Some(controls),
            LoadedControls::Loaded {
                windows,
                spent,
                available,
            },
        ) = (controls, loaded)
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
            merchant_kind: ledger::controls::MerchantKind::Card,
        };
        let (spent, available) = with_earlier(card, windows, *spent, *available, earlier)?;
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
                decline: Some(AuthorizationOutcome::decline(code, reason.as_str())),
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

/// Decides a purchase at one of the prison's own services (docs/services.md) with the card
/// path's controls: the person's mode and effective policy, the same spend windows (card and
/// service spend counted together) and the spendable account's available balance, read in the
/// caller's transaction, which should hold the account's balance row locked
/// (`ledger::store::lock_accounts_for_holds`) so that the hold it places next is the one decided.
/// `None`: no placement or no policy (the caller declines: fail closed).
pub async fn decide_service_purchase(
    tx: &Transaction<'_>,
    person_id: Uuid,
    account_id: Uuid,
    request: &AuthorizationRequest,
) -> BookingResult<Option<(Decision, String)>> {
    let Some(controls) = policy_store::effective_controls(tx, person_id, request.at).await? else {
        return Ok(None);
    };
    let windows = controls.windows(request.at)?;
    let query = SpendQuery {
        person_id,
        account_id,
        currency: controls.policy.currency,
        windows,
    };
    let mut spends = spend_and_available_many(tx, std::slice::from_ref(&query)).await?;
    let (spent, available) = spends
        .pop()
        .ok_or_else(|| ledger::LedgerError::invalid("spend_missing", "no spend row"))?;
    let decision = evaluate(
        request,
        &EvaluationContext {
            mode: &controls.placement.mode,
            policy: &controls.policy,
            spent,
            available,
        },
    );
    Ok(Some((
        decision,
        policy_version_text(&controls.policy.reference()),
    )))
}

/// Counts this transaction's earlier approvals as committed ones would be counted: in the
/// person's windows that contain them, and off the account's available balance.
fn with_earlier(
    card: &Card,
    windows: &SpendWindows,
    mut spent: WindowSpend,
    mut available: Money,
    earlier: &[EarlierApproval],
) -> BookingResult<(WindowSpend, Money)> {
    for approval in earlier {
        if approval.amount.currency != spent.day.currency {
            continue;
        }
        if approval.person_id == card.person_id {
            for (window, total) in [
                (&windows.day, &mut spent.day),
                (&windows.week, &mut spent.week),
                (&windows.month, &mut spent.month),
            ] {
                if window.contains(approval.at) {
                    *total = total.checked_add(approval.amount)?;
                }
            }
        }
        if approval.account_id == card.account_id {
            available = available.checked_sub(approval.amount)?;
        }
    }
    Ok((spent, available))
}

fn decline(reason: ReasonKey, policy_version: Option<String>) -> ControlVerdict {
    ControlVerdict {
        decline: Some(AuthorizationOutcome::decline(
            reason.code(),
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
    let query = SpendQuery {
        person_id,
        account_id,
        currency,
        windows: *windows,
    };
    let mut spends = spend_and_available_many(client, std::slice::from_ref(&query)).await?;
    let (spent, _) = spends
        .pop()
        .ok_or_else(|| ledger::LedgerError::invalid("spend_missing", "no spend row"))?;
    Ok(spent)
}

/// One person's windows to sum, and the spendable account whose balance to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SpendQuery {
    person_id: Uuid,
    account_id: Uuid,
    currency: Currency,
    windows: SpendWindows,
}

/// Per query, in order (`r.n`): the spend in its day, week and month windows and the account's
/// available balance. One statement for a batch, an index look-up per array element.
const SPEND_AND_AVAILABLE: &str = "select r.n, w.day, w.week, w.month,
            coalesce((select b.posted_minor - b.held_minor from account_balances b
                      where b.account_id = r.account_id), 0)::bigint as available
     from unnest($1::uuid[], $2::uuid[], $3::char(3)[], $4::timestamptz[],
                 $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
                 $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
                 $11::timestamptz[])
          with ordinality as r(person_id, account_id, currency, from_at, until_at,
                               day_start, day_end, week_start, week_end, month_start,
                               month_end, n)
     cross join lateral (
         select coalesce(sum(s.minor) filter (where s.at >= r.day_start
                                                and s.at < r.day_end), 0)::bigint as day,
                coalesce(sum(s.minor) filter (where s.at >= r.week_start
                                                and s.at < r.week_end), 0)::bigint as week,
                coalesce(sum(s.minor) filter (where s.at >= r.month_start
                                                and s.at < r.month_end), 0)::bigint as month
         from (
             -- Authorizations: what each still holds plus what was cleared against
             -- it, per minute of their time (V13's counters; the windows start and end
             -- on whole minutes, so the minutes inside a window are exactly its own).
             select m.minute as at, m.spent_minor as minor
             from card.authorization_spend_minutes m
             where m.card_id in (select c.card_id from card.cards c
                                 where c.person_id = r.person_id)
               and m.currency = r.currency
               and m.minute >= r.from_at
               and m.minute < r.until_at
           union all
             -- Clearings without an authorization (force posts), when booked; and
             -- refunds (credits), in the window of the purchase they refund when it is
             -- known.
             select case when e.metadata ? 'original_transaction_id'
                         then coalesce(oa.authorized_at, oa.created_at, p.recorded_at)
                         else p.recorded_at end,
                    p.amount_minor
             from journal_postings p
             join journal_entries e on e.id = p.entry_id
             left join journal_entry_refs jr
                    on e.metadata ? 'original_transaction_id'
                   and jr.ref_kind = 'processor_transaction' and jr.is_unique
                   and jr.ref_value = e.metadata->>'original_transaction_id'
             left join journal_entries oe on oe.id = jr.entry_id
             left join card.authorizations oa
                    on oa.authorization_id = oe.metadata->>'authorization_id'
             where p.account_id = r.account_id and p.recorded_at >= r.from_at
               and e.reverses_entry_id is null
               and ((e.metadata ? 'authorization_id'
                     and jsonb_typeof(e.metadata->'authorization_id') = 'null'
                     and e.metadata ? 'card_id' and p.amount_minor > 0)
                    or (e.metadata ? 'original_transaction_id' and p.amount_minor < 0))
           union all
             -- The prison's own services (docs/services.md): what each approval still holds
             -- or captured, less what was refunded, at the time it was authorized. Card and
             -- service spend share the windows. Calls draw on call credit, counted when topped up.
             select sp.authorized_at,
                    sp.approved_minor - sp.released_minor - sp.refunded_minor
             from services.purchases sp
             where sp.person_id = r.person_id
               and sp.currency = r.currency
               and sp.approved
               and sp.purpose <> 'call'
               and sp.authorized_at >= r.from_at
               and sp.authorized_at < r.until_at
         ) s
     ) w
     order by r.n";

/// [`window_spend`] for each query, in order, with the spendable account's available balance
/// (posted minus open holds): one statement for all of them.
async fn spend_and_available_many(
    client: &impl GenericClient,
    queries: &[SpendQuery],
) -> BookingResult<Vec<(WindowSpend, Money)>> {
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let statement = client.prepare_cached(SPEND_AND_AVAILABLE).await?;
    let column = |pick: fn(&SpendQuery) -> OffsetDateTime| -> Vec<OffsetDateTime> {
        queries.iter().map(pick).collect()
    };
    if let Some(unaligned) = queries.iter().find(|q| !q.windows.on_whole_minutes()) {
        // Not in any current time zone; summing minutes would then be inexact.
        return Err(ledger::LedgerError::invalid(
            "spend_window_unaligned",
            format!(
                "a spend window of {:?} is not on whole minutes",
                unaligned.windows
            ),
        )
        .into());
    }
    let person_ids: Vec<Uuid> = queries.iter().map(|q| q.person_id).collect();
    let account_ids: Vec<Uuid> = queries.iter().map(|q| q.account_id).collect();
    let currencies: Vec<&str> = queries.iter().map(|q| q.currency.code()).collect();
    let from = column(|q| q.windows.covering().start);
    let until = column(|q| q.windows.covering().end);
    let rows = client
        .query(
            &statement,
            &[
                &person_ids,
                &account_ids,
                &currencies,
                &from,
                &until,
                &column(|q| q.windows.day.start),
                &column(|q| q.windows.day.end),
                &column(|q| q.windows.week.start),
                &column(|q| q.windows.week.end),
                &column(|q| q.windows.month.start),
                &column(|q| q.windows.month.end),
            ],
        )
        .await?;
    if rows.len() != queries.len() {
        return Err(ledger::LedgerError::invalid("spend_missing", "a spend row is missing").into());
    }
    Ok(rows
        .iter()
        .zip(queries)
        .map(|(row, query)| {
            let currency = query.currency;
            (
                WindowSpend {
                    day: Money::new(row.get("day"), currency),
                    week: Money::new(row.get("week"), currency),
                    month: Money::new(row.get("month"), currency),
                },
                Money::new(row.get("available"), currency),
            )
        })
        .collect())
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
