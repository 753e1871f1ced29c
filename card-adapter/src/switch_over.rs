//! Processor switch-over (docs/switch-over.md): a program's cards moved from one processor to
//! another in waves. A wave picks cards still open at the old processor, records one move per
//! card (`card.switch_over_moves`, append-only) and queues, through the outbox, a cardholder at
//! the new processor under that processor's pseudonym key; the chain that admission uses
//! follows (card, activation), and once the new card is active its old card is closed at the old
//! processor ([`close_replaced_cards`]). A dry run answers the same report and writes nothing.
//!
//! Both cards are on the person's one spendable account, so during the overlap authorizations
//! from either processor are decided against the same balance and the same spending controls,
//! and clearings of the old card still book after it closed. Balances and history are not
//! touched: a move writes card and outbox rows only.
use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Transaction};
use processor_protocol::CardState;
use serde::Serialize;
use uuid::Uuid;

use crate::booking::BookingResult;
use crate::processors::{self, ProcessorStatus};

/// The most blocked cards a report lists one by one (all are counted).
pub const MAX_BLOCKED_LISTED: i64 = 1_000;
/// The reason of the close call of an old card (`card.state_changed` at the old processor).
pub const CLOSE_REASON: &str = "switched_over";

/// What a wave is asked to do.
#[derive(Debug, Clone)]
pub struct WaveRequest {
    pub from_processor: String,
    pub to_processor: String,
    /// Only cards of people placed in this prison now; `None`: every prison.
    pub prison_id: Option<Uuid>,
    /// At most this many cards move in the wave.
    pub wave_size: i32,
    pub dry_run: bool,
    /// Who asked (a staff id, or `cli`), on the wave's row.
    pub requested_by: String,
}

/// Why a card cannot move now. It stays at the old processor, usable, and a later wave takes it
/// once the reason is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// Frozen (`PAUSED`): moving it would issue an active card to someone staff froze.
    CardFrozen,
    /// Never activated (`INACTIVE`): its own issue is not finished.
    CardNotActive,
    /// A call about the card or its person still waits for the old processor (a freeze, a fence).
    CallsPending,
    /// The person's spendable account is closed.
    AccountClosed,
}

impl BlockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::CardFrozen => "card_frozen",
            BlockReason::CardNotActive => "card_not_active",
            BlockReason::CallsPending => "calls_pending",
            BlockReason::AccountClosed => "account_closed",
        }
    }

    fn of(state: &str, calls_pending: bool, account_open: bool) -> Option<BlockReason> {
        if !account_open {
            Some(BlockReason::AccountClosed)
        } else if state == CardState::Paused.as_str() {
            Some(BlockReason::CardFrozen)
        } else if state == CardState::Inactive.as_str() {
            Some(BlockReason::CardNotActive)
        } else if calls_pending {
            Some(BlockReason::CallsPending)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockedCard {
    pub card_id: String,
    pub reason: BlockReason,
}

/// What a wave did, or, in a dry run, would do.
#[derive(Debug, Clone, Serialize)]
pub struct WaveReport {
    /// The wave's id; `None` in a dry run or when nothing moved.
    pub wave_id: Option<Uuid>,
    pub dry_run: bool,
    pub from_processor: String,
    pub to_processor: String,
    pub prison_id: Option<Uuid>,
    /// Cards open at the old processor and not moved yet, before the wave.
    pub open_before: i64,
    /// Cards the wave moves (queued at the new processor).
    pub moving: i64,
    /// Of those, per prison (`none`: no placement).
    pub moving_per_prison: BTreeMap<String, i64>,
    /// Cards that cannot move now, by reason.
    pub blocked_per_reason: BTreeMap<String, i64>,
    /// Up to [`MAX_BLOCKED_LISTED`] of them.
    pub blocked: Vec<BlockedCard>,
    /// Cards open at the old processor and not moved, after the wave.
    pub open_after: i64,
}

/// Why a wave was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum SwitchOverError {
    #[error("processor {0} is not configured")]
    UnknownProcessor(String),
    #[error("processor {0} is closed")]
    ProcessorClosed(String),
    #[error("cards move to an active processor; {0} is not")]
    TargetNotActive(String),
    #[error("a wave moves cards from one processor to another")]
    SameProcessor,
    #[error("a wave moves 1 to 100000 cards")]
    BadWaveSize,
    #[error(transparent)]
    Booking(#[from] crate::booking::BookingError),
}

impl From<tokio_postgres::Error> for SwitchOverError {
    fn from(error: tokio_postgres::Error) -> Self {
        SwitchOverError::Booking(error.into())
    }
}

/// One card open at the old processor and not moved, as a wave sees it.
struct Candidate {
    card_id: String,
    person_id: Uuid,
    prison_id: Option<Uuid>,
    blocked: Option<BlockReason>,
}

/// Cards open at `from` that no wave moved yet, in card order, each with what blocks it. One
/// statement, whatever the program's size.
async fn candidates(
    client: &impl GenericClient,
    from: &str,
    prison_id: Option<Uuid>,
) -> BookingResult<Vec<Candidate>> {
    let rows = client
        .query(
            "select c.card_id, c.person_id, c.state, placed.prison_id,
                    exists (select 1 from card.outbox o
                            where o.state = 'pending' and o.processor_id = c.processor_id
                              and (o.ordering_key = c.card_id or o.person_id = c.person_id))
                        as calls_pending,
                    exists (select 1 from ledger_accounts a
                            where a.id = c.account_id and a.closed_at is null) as account_open
             from card.cards c
             left join lateral (
                 select m.prison_id from controls.card_modes m
                 where m.person_id = c.person_id and m.effective_from <= clock_timestamp()
                 order by m.effective_from desc, m.id desc limit 1) placed on true
             where c.processor_id = $1 and c.state <> 'CLOSED'
               and not exists (select 1 from card.switch_over_moves mv
                               where mv.old_card_id = c.card_id)
               and ($2::uuid is null or placed.prison_id = $2)
             order by c.card_id",
            &[&from, &prison_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Candidate {
            card_id: row.get("card_id"),
            person_id: row.get("person_id"),
            prison_id: row.get("prison_id"),
            blocked: BlockReason::of(
                row.get("state"),
                row.get("calls_pending"),
                row.get("account_open"),
            ),
        })
        .collect())
}

async fn check_processors(
    client: &impl GenericClient,
    request: &WaveRequest,
) -> Result<(), SwitchOverError> {
    if request.from_processor == request.to_processor {
        return Err(SwitchOverError::SameProcessor);
    }
    if !(1..=100_000).contains(&request.wave_size) {
        return Err(SwitchOverError::BadWaveSize);
    }
    match processors::status(client, &request.from_processor).await? {
        None => {
            return Err(SwitchOverError::UnknownProcessor(
                request.from_processor.clone(),
            ));
        }
        Some(ProcessorStatus::Closed) => {
            return Err(SwitchOverError::ProcessorClosed(
                request.from_processor.clone(),
            ));
        }
        Some(_) => {}
    }
    match processors::status(client, &request.to_processor).await? {
        None => Err(SwitchOverError::UnknownProcessor(
            request.to_processor.clone(),
        )),
        Some(ProcessorStatus::Active) => Ok(()),
        Some(_) => Err(SwitchOverError::TargetNotActive(
            request.to_processor.clone(),
        )),
    }
}

/// Plans a wave (`dry_run`) or runs it. A run, in one transaction: the wave's row, one move per
/// card, a cardholder call at the new processor per person (key `ch_<to>_<person>`, so a person
/// is issued one card there however many waves name them), and the old processor marked
/// `draining`. Running the same wave again moves only what is left: a moved card is never
/// picked twice (`old_card_id` is unique).
pub async fn run_wave(
    tx: &Transaction<'_>,
    request: &WaveRequest,
) -> Result<WaveReport, SwitchOverError> {
    check_processors(tx, request).await?;
    // Waves one at a time: two at once would pick the same cards.
    tx.execute(
        "select pg_advisory_xact_lock(hashtextextended('card.switch_over', 0))",
        &[],
    )
    .await?;
    let candidates = candidates(tx, &request.from_processor, request.prison_id).await?;
    let open_before = count(candidates.len());
    let size = usize::try_from(request.wave_size).unwrap_or(0);
    let moving: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.blocked.is_none())
        .take(size)
        .collect();
    let mut report = WaveReport {
        wave_id: None,
        dry_run: request.dry_run,
        from_processor: request.from_processor.clone(),
        to_processor: request.to_processor.clone(),
        prison_id: request.prison_id,
        open_before,
        moving: count(moving.len()),
        moving_per_prison: BTreeMap::new(),
        blocked_per_reason: BTreeMap::new(),
        blocked: Vec::new(),
        open_after: open_before - count(moving.len()),
    };
    for candidate in &moving {
        let prison = candidate
            .prison_id
            .map_or_else(|| "none".to_owned(), |id| id.to_string());
        *report.moving_per_prison.entry(prison).or_default() += 1;
    }
    for candidate in &candidates {
        if let Some(reason) = candidate.blocked {
            *report
                .blocked_per_reason
                .entry(reason.as_str().to_owned())
                .or_default() += 1;
            if count(report.blocked.len()) < MAX_BLOCKED_LISTED {
                report.blocked.push(BlockedCard {
                    card_id: candidate.card_id.clone(),
                    reason,
                });
            }
        }
    }
    if request.dry_run || moving.is_empty() {
        return Ok(report);
    }
    let wave_id = Uuid::now_v7();
    tx.execute(
        "insert into card.switch_over_waves
             (wave_id, from_processor, to_processor, prison_id, wave_size, selected_cards,
              requested_by)
         values ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &wave_id,
            &request.from_processor,
            &request.to_processor,
            &request.prison_id,
            &request.wave_size,
            &i32::try_from(moving.len()).unwrap_or(i32::MAX),
            &request.requested_by,
        ],
    )
    .await?;
    let card_ids: Vec<&str> = moving.iter().map(|c| c.card_id.as_str()).collect();
    let person_ids: Vec<Uuid> = moving.iter().map(|c| c.person_id).collect();
    let prison_ids: Vec<Option<Uuid>> = moving.iter().map(|c| c.prison_id).collect();
    tx.execute(
        "insert into card.switch_over_moves
             (move_id, wave_id, old_card_id, person_id, from_processor, to_processor, prison_id)
         select gen_random_uuid(), $1, m.card_id, m.person_id, $2, $3, m.prison_id
         from unnest($4::text[], $5::uuid[], $6::uuid[]) as m (card_id, person_id, prison_id)",
        &[
            &wave_id,
            &request.from_processor,
            &request.to_processor,
            &card_ids,
            &person_ids,
            &prison_ids,
        ],
    )
    .await?;
    // The same calls `outbox::request_card_at` queues, one statement for the wave.
    tx.execute(
        "insert into card.outbox
             (id, idempotency_key, operation, method, path, body, person_id, next_attempt_at,
              scheduled_at, processor_id)
         select gen_random_uuid(), 'ch_' || $2 || '_' || replace(p.person_id::text, '-', ''),
                'create_cardholder', 'POST', '/v1/cardholders', null, p.person_id, now(), now(),
                $2
         from (select distinct person_id from card.switch_over_moves where wave_id = $1) p
         on conflict (idempotency_key) do nothing",
        &[&wave_id, &request.to_processor],
    )
    .await?;
    processors::set_status(tx, &request.from_processor, ProcessorStatus::Draining).await?;
    report.wave_id = Some(wave_id);
    tracing::info!(
        %wave_id,
        from_processor = %request.from_processor,
        to_processor = %request.to_processor,
        moving = report.moving,
        "switch-over wave queued"
    );
    Ok(report)
}

/// A switch-over's new card is active: closes, through the outbox, the old cards it replaces
/// (one state call per move, key `st_<move id>`, so a repeated activation queues nothing new).
/// Called in the transaction that records the activation.
pub async fn close_replaced_cards(tx: &Transaction<'_>, new_card_id: &str) -> BookingResult<()> {
    let moves = tx
        .query(
            "select m.move_id, m.old_card_id, m.person_id from card.switch_over_moves m
             join card.cards n on n.person_id = m.person_id and n.processor_id = m.to_processor
             where n.card_id = $1",
            &[&new_card_id],
        )
        .await?;
    for row in moves {
        let move_id: Uuid = row.get("move_id");
        let old_card_id: &str = row.get("old_card_id");
        crate::outbox::request_card_state(
            tx,
            old_card_id,
            Some(row.get("person_id")),
            CardState::Closed,
            CLOSE_REASON,
            move_id,
        )
        .await?;
    }
    Ok(())
}

/// A move that did not get through: the call that died and why.
#[derive(Debug, Clone, Serialize)]
pub struct FailedMove {
    pub old_card_id: String,
    pub operation: String,
    pub processor_id: String,
    pub last_error: Option<String>,
    pub last_error_status: Option<i32>,
}

/// Where a switch-over from one processor to another stands.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchOverStatus {
    pub from_processor: String,
    pub to_processor: String,
    pub waves: i64,
    /// Cards moved (one move each).
    pub moved: i64,
    /// Of those, whose person has an active card at the new processor.
    pub new_card_active: i64,
    /// Of those, whose old card is closed at the old processor.
    pub old_card_closed: i64,
    /// Moves with a call that died, and why (staff retry them from the dead letters).
    pub failed: Vec<FailedMove>,
    /// Cards still open at the old processor that no wave moved.
    pub not_moved: i64,
    /// Every card moved, every new card active and every old card closed.
    pub complete: bool,
}

/// Where the switch-over from `from` to `to` stands. Reads only.
pub async fn status(
    client: &impl GenericClient,
    from: &str,
    to: &str,
) -> BookingResult<SwitchOverStatus> {
    let counts = client
        .query_one(
            "select (select count(*) from card.switch_over_waves
                     where from_processor = $1 and to_processor = $2) as waves,
                    count(m.move_id) as moved,
                    count(m.move_id) filter (where exists (
                        select 1 from card.cards n
                        where n.person_id = m.person_id and n.processor_id = m.to_processor
                          and n.state = 'ACTIVE')) as new_card_active,
                    count(m.move_id) filter (where old.state = 'CLOSED') as old_card_closed,
                    (select count(*) from card.cards c
                     where c.processor_id = $1 and c.state <> 'CLOSED'
                       and not exists (select 1 from card.switch_over_moves mv
                                       where mv.old_card_id = c.card_id)) as not_moved
             from card.switch_over_moves m
             join card.cards old on old.card_id = m.old_card_id
             where m.from_processor = $1 and m.to_processor = $2",
            &[&from, &to],
        )
        .await?;
    let failed = client
        .query(
            "select m.old_card_id, o.operation, o.processor_id, o.last_error, o.last_error_status
             from card.switch_over_moves m
             join card.outbox o on o.person_id = m.person_id and o.state = 'dead'
                               and (o.processor_id = m.to_processor
                                    or o.idempotency_key = 'st_' || replace(m.move_id::text, '-', ''))
             where m.from_processor = $1 and m.to_processor = $2
             order by m.old_card_id, o.created_at",
            &[&from, &to],
        )
        .await?
        .iter()
        .map(|row| FailedMove {
            old_card_id: row.get("old_card_id"),
            operation: row.get("operation"),
            processor_id: row.get("processor_id"),
            last_error: row.get("last_error"),
            last_error_status: row.get("last_error_status"),
        })
        .collect();
    let moved: i64 = counts.get("moved");
    let new_card_active: i64 = counts.get("new_card_active");
    let old_card_closed: i64 = counts.get("old_card_closed");
    let not_moved: i64 = counts.get("not_moved");
    let complete =
        moved > 0 && not_moved == 0 && new_card_active == moved && old_card_closed == moved;
    Ok(SwitchOverStatus {
        from_processor: from.to_owned(),
        to_processor: to.to_owned(),
        waves: counts.get("waves"),
        moved,
        new_card_active,
        old_card_closed,
        failed,
        not_moved,
        complete,
    })
}

/// Marks the old processor `closed` once the switch-over is complete (its final settlement is
/// still imported after: docs/switch-over.md). Returns whether it did.
pub async fn close_when_complete(
    client: &impl GenericClient,
    status: &SwitchOverStatus,
) -> BookingResult<bool> {
    if !status.complete {
        return Ok(false);
    }
    processors::set_status(client, &status.from_processor, ProcessorStatus::Closed).await?;
    Ok(true)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
