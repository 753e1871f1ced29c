//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/card/freeze`, `…/card/unfreeze` and
//! `…/card/reissue`: officers ask the processor to pause, reactivate or replace a prisoner's
//! card. The call is queued in the outbox in the same transaction as the staff action's record;
//! the card's state in Saldo changes only when the processor confirms.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use deadpool_postgres::Transaction;
use processor_protocol::{CardState, ReissueReason};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::state::AppState;

/// What was queued.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CardActionAccepted {
    pub action_id: Uuid,
    #[schema(example = "card_8f2k1")]
    pub card_id: String,
    /// `card_freeze`, `card_unfreeze` or `card_reissue`.
    pub action: String,
    /// The card's state in Saldo now; it changes when the processor confirms.
    #[schema(example = "ACTIVE")]
    pub card_state: String,
    /// A reissue's replacement fee, when the prison's fee policy sets one (docs/fees.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<FeeCharged>,
}

/// A fee booked with the action.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeeCharged {
    /// `card_replacement`.
    pub fee_kind: String,
    pub amount_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    /// `service` or `prisoner`.
    pub borne_by: String,
    /// The fee's ledger entry.
    pub entry_id: Uuid,
}

impl From<ledger::fees::FeeCharge> for FeeCharged {
    fn from(charge: ledger::fees::FeeCharge) -> FeeCharged {
        FeeCharged {
            fee_kind: charge.fee_kind.as_str().to_owned(),
            amount_minor: charge.amount.amount_minor,
            currency: charge.amount.currency.code().to_owned(),
            borne_by: charge.borne_by.as_str().to_owned(),
            entry_id: charge.entry_id,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueRequest {
    /// `LOST`, `STOLEN`, `DAMAGED` or `EXPIRED` (the processor's list).
    #[schema(value_type = String, example = "DAMAGED")]
    reason: ReissueReason,
}

#[derive(Clone, Copy)]
enum Kind {
    Freeze,
    Unfreeze,
    Reissue(ReissueReason),
}

impl Kind {
    fn action(self) -> &'static str {
        match self {
            Kind::Freeze => "card_freeze",
            Kind::Unfreeze => "card_unfreeze",
            Kind::Reissue(_) => "card_reissue",
        }
    }
}

fn card_action_error(error: card_adapter::booking::BookingError) -> Problem {
    tracing::error!(error.code = error.code(), "card action could not be queued");
    Problem::internal()
}

/// The prisoner's current card (the newest one not closed), locked for this transaction.
async fn current_card(
    tx: &Transaction<'_>,
    person_id: Uuid,
) -> Result<Option<(String, String)>, Problem> {
    let row = tx
        .query_opt(
            "select card_id, state from card.cards where person_id = $1 and state <> 'CLOSED'
             order by created_at desc, card_id desc limit 1 for update",
            &[&person_id],
        )
        .await?;
    Ok(row.map(|row| (row.get("card_id"), row.get("state"))))
}

async fn act(
    state: &AppState,
    access: &RequireRole<Officers>,
    person_id: Uuid,
    kind: Kind,
) -> Result<(StatusCode, Json<CardActionAccepted>), Problem> {
    let prison_id = access.prison()?;
    let who = access.staff.accessor(Purpose::CaseManagement, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::access_prisoner(
        &tx,
        &who,
        Some(prison_id),
        person_id,
        Action::Change,
        &[PrisonerField::Card],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    let Some((card_id, card_state)) = current_card(&tx, person_id).await? else {
        return Err(Problem::not_found("card"));
    };
    let allowed = match kind {
        Kind::Freeze => card_state == "ACTIVE",
        Kind::Unfreeze => card_state == "PAUSED",
        Kind::Reissue(_) => true,
    };
    if !allowed {
        return Err(Problem::conflict(
            "card_state_conflict",
            "the card is not in a state this action applies to",
        ));
    }
    let action_id = Uuid::now_v7();
    let mut fee = None;
    match kind {
        Kind::Freeze | Kind::Unfreeze => {
            let (target, reason) = match kind {
                Kind::Freeze => (CardState::Paused, "staff_freeze"),
                _ => (CardState::Active, "staff_unfreeze"),
            };
            card_adapter::outbox::request_card_state(
                &tx,
                &card_id,
                Some(person_id),
                target,
                reason,
                action_id,
            )
            .await
            .map_err(card_action_error)?;
        }
        Kind::Reissue(reason) => {
            card_adapter::reissue::request_reissue(
                &tx,
                &card_id,
                Some(person_id),
                reason,
                action_id,
            )
            .await
            .map_err(card_action_error)?;
            fee = card_adapter::fees::charge_replacement_fee(&tx, &card_id, prison_id, action_id)
                .await
                .map_err(card_action_error)?
                .map(FeeCharged::from);
        }
    }
    tx.execute(
        "insert into audit.staff_actions (id, staff_id, prison_id, action, person_id, card_id)
         values ($1, $2, $3, $4, $5, $6)",
        &[
            &action_id,
            &access.staff.id,
            &prison_id,
            &kind.action(),
            &person_id,
            &card_id,
        ],
    )
    .await?;
    tx.commit().await?;
    state.outbox_wake.wake();
    tracing::info!(action.id = %action_id, staff.id = %access.staff.id, action = kind.action(), "card action queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(CardActionAccepted {
            action_id,
            card_id,
            action: kind.action().to_owned(),
            card_state,
            fee,
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/card/freeze",
    tag = "cards",
    description = "Role: officer in the path's prison. Queues ACTIVE → PAUSED at the processor; 409 \
        card_state_conflict unless the card is ACTIVE; 404 without a card.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    responses((status = 202, description = "Queued", body = CardActionAccepted)),
)]
pub async fn freeze(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
) -> Result<(StatusCode, Json<CardActionAccepted>), Problem> {
    act(&state, &access, path.person_id, Kind::Freeze).await
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/card/unfreeze",
    tag = "cards",
    description = "Role: officer in the path's prison. Queues PAUSED → ACTIVE; 409 unless the card is PAUSED.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    responses((status = 202, description = "Queued", body = CardActionAccepted)),
)]
pub async fn unfreeze(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
) -> Result<(StatusCode, Json<CardActionAccepted>), Problem> {
    act(&state, &access, path.person_id, Kind::Unfreeze).await
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/card/reissue",
    tag = "cards",
    description = "Role: officer in the path's prison. Queues a replacement card, and books \
        the replacement fee the prison's fee policy sets (borne by the service unless the policy \
        says the prisoner; docs/fees.md).",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = ReissueRequest,
    responses((status = 202, description = "Queued", body = CardActionAccepted)),
)]
pub async fn reissue(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<ReissueRequest>,
) -> Result<(StatusCode, Json<CardActionAccepted>), Problem> {
    act(
        &state,
        &access,
        path.person_id,
        Kind::Reissue(request.reason),
    )
    .await
}
