//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/transfer`: an officer of the
//! origin prison moves a prisoner to another prison. In one transaction the card is placed at the
//! destination under its policy (balances untouched, a running leave or freeze stays) and the
//! identity record moves too: from then on the destination's staff see the prisoner and the
//! origin's no longer do.
use axum::Json;
use axum::extract::State;
use ledger::controls::Regime;
use ledger::idempotency::Begun;
use ledger::lifecycle::Transfer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::PrisonerPath;
use super::lifecycle::{self, PlacementView};
use crate::app::AppState;
use crate::auth::{Officers, RequireRole, Staff};
use crate::http::{ApiJson, ApiPath};
use crate::identity::access_log::Purpose;
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// 1 to 100 bytes. The same key and body again returns the first answer and changes nothing.
    #[schema(example = "transfer-2026-05-01")]
    pub idempotency_key: String,
    pub to_prison_id: Uuid,
    /// The regime at the destination: `closed_prison`, `open_prison` or `remand`. Absent: the
    /// current one.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "open_prison")]
    pub regime: Option<Regime>,
    /// The prisoner's unit at the destination, 1 to 64 characters. Absent: none (the origin's
    /// unit means nothing there).
    #[serde(default)]
    #[schema(example = "C1")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transferred {
    pub from_prison_id: Uuid,
    pub placement: PlacementView,
    /// False when the destination has no spending-controls policy for the regime: every card
    /// payment is then declined until it gets one.
    pub destination_has_policy: bool,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/transfer",
    tag = "lifecycle",
    description = "Role: officer in the path's (origin) prison; none is needed at the destination. \
        Moves the card's placement and the identity record to the destination prison. Idempotent \
        on the key: a repeat returns the first answer although the prisoner has left the path's \
        prison.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "Transferred", body = Transferred),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "person_released (admit them again instead), idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "prison_unknown, transfer_same_prison, unit_invalid, idempotency_key_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn transfer(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<TransferRequest>,
) -> Result<Json<Transferred>, Problem> {
    let prison_id = access.prison()?;
    transfer_checked(&state, &access.staff, prison_id, path.person_id, &request)
        .await
        .map(Json)
}

/// Checks the request, then (logged, in one transaction) moves the prisoner's placement and
/// identity record from `prison_id` to the destination. Shared with the staff pages.
pub async fn transfer_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
    request: &TransferRequest,
) -> Result<Transferred, Problem> {
    // Shape first: a malformed request changes nothing, not even the access log.
    let key = lifecycle::command_key(
        "transfer",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    if request.to_prison_id == prison_id {
        return Err(Problem::unprocessable(
            "transfer_same_prison",
            "the destination is the prison the prisoner is in",
        ));
    }
    if let Some(unit) = &request.unit {
        identity::validate::short_text(unit, "unit_invalid", "a unit is 1 to 64 characters", 64)?;
    }
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match lifecycle::begin(&tx, &key, "api.transfer", request).await? {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    if identity::store::prison(&tx, request.to_prison_id)
        .await?
        .is_none()
    {
        return Err(Problem::unprocessable(
            "prison_unknown",
            "no prison has that id",
        ));
    }
    let Some((_, current)) =
        lifecycle::gate(&tx, staff, prison_id, person_id, &[PrisonerField::Unit]).await?
    else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    };
    let placement = ledger::lifecycle::transfer(
        &tx,
        &Transfer {
            idempotency_key: key,
            person_id,
            to_prison_id: request.to_prison_id,
            to_regime: request.regime.unwrap_or(current.regime),
            transferred_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(lifecycle::refused)?;
    let who = staff.accessor(Purpose::CaseManagement, None);
    let moved = identity::store::transfer_prisoner(
        &tx,
        &who,
        prison_id,
        person_id,
        request.to_prison_id,
        request.unit.clone(),
    )
    .await?;
    if !moved {
        // The gate found the record in this prison inside this transaction.
        tracing::error!(%person_id, "identity record not moved on transfer");
        return Err(Problem::internal());
    }
    // The destination's policy sets the fence from now on (shut if it has none).
    lifecycle::sync_fence(&tx, person_id).await?;
    let now = OffsetDateTime::now_utc();
    let destination_has_policy = ledger::policy_store::effective_controls(&tx, person_id, now)
        .await
        .map_err(lifecycle::refused)?
        .is_some();
    let done = Transferred {
        from_prison_id: prison_id,
        placement: PlacementView::of(&placement, now),
        destination_has_policy,
    };
    ledger::idempotency::finish(&tx, claim, &done)
        .await
        .map_err(lifecycle::refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, from.prison_id = %prison_id, to.prison_id = %request.to_prison_id,
        staff.id = %staff.id, "prisoner transferred");
    Ok(done)
}
