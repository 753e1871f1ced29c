//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/freeze`: an officer freezes the
//! prisoner's money at once (`ledger::lifecycle::freeze`): on a death, an escape, or a staff
//! decision. Every card payment is then declined by the spending controls and the money stays
//! where it is until the freeze is resolved (`freeze_resolve.rs`). Not the processor-side card
//! pause (`…/card/freeze`): this one is Saldo's own decision and holds whatever the card's state.
use axum::Json;
use axum::extract::State;
use ledger::controls::CardMode;
use ledger::idempotency::Begun;
use ledger::lifecycle::{Freeze, FreezeCause};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::problem::Problem;
use crate::services::lifecycle::{self, PlacementView};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeRequest {
    /// 1 to 100 bytes. The same key and body again returns the first answer and changes nothing.
    #[schema(example = "freeze-2026-05-01", min_length = 1, max_length = 100)]
    pub idempotency_key: String,
    /// Why: `death`, `escape` or `staff` (an investigation, a staff decision). A fixed code,
    /// never free text.
    #[schema(value_type = FreezeCauseDoc, example = "death")]
    pub cause: FreezeCause,
}

/// `ledger::lifecycle::FreezeCause` as the API spells it.
#[derive(utoipa::ToSchema)]
#[schema(as = FreezeCause)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub enum FreezeCauseDoc {
    Death,
    Escape,
    Staff,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Frozen {
    /// The card's placement: mode `frozen`, reason `freeze_death`, `freeze_escape` or `freeze`.
    pub placement: PlacementView,
}

/// Whether a placement is the end state of a closure (accounts closed): nothing to freeze or
/// resolve any more.
pub(super) fn is_closed(placement: &ledger::policy_store::Placement) -> bool {
    placement.mode == CardMode::Frozen && placement.reason == "closed"
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/freeze",
    tag = "lifecycle",
    description = "Role: officer in the path's prison. Freezes the prisoner's money (death, \
        escape, staff decision): every card payment is declined card_frozen and nothing moves \
        until the freeze is resolved. Idempotent on the key.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = FreezeRequest,
    responses(
        (status = 200, description = "Frozen", body = Frozen),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "already_frozen, accounts_closed, idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "idempotency_key_invalid, invalid_body (an unknown cause)", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn freeze(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<FreezeRequest>,
) -> Result<Json<Frozen>, Problem> {
    let prison_id = access.prison()?;
    let staff = &access.staff;
    let person_id = path.person_id;
    let key = lifecycle::command_key(
        "freeze",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match lifecycle::begin(&tx, &key, "api.freeze", &request).await? {
        Begun::Replayed(done) => return Ok(Json(done)),
        Begun::Fresh(claim) => claim,
    };
    let Some((_, current)) = lifecycle::gate(&tx, staff, prison_id, person_id, &[]).await? else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    };
    if is_closed(&current) {
        return Err(Problem::conflict(
            "accounts_closed",
            "the prisoner's accounts are closed: there is nothing to freeze",
        ));
    }
    if current.mode == CardMode::Frozen {
        return Err(Problem::conflict(
            "already_frozen",
            "the prisoner's money is already frozen: resolve that freeze first",
        ));
    }
    let placement = ledger::lifecycle::freeze(
        &tx,
        &Freeze {
            idempotency_key: key,
            person_id,
            cause: request.cause,
            note: None,
            frozen_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(lifecycle::refused)?;
    lifecycle::sync_fence(&tx, person_id).await?;
    let done = Frozen {
        placement: PlacementView::of(&placement, OffsetDateTime::now_utc()),
    };
    ledger::idempotency::finish(&tx, claim, &done)
        .await
        .map_err(lifecycle::refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, reason = %placement.reason,
        "prisoner's money frozen");
    Ok(Json(done))
}
