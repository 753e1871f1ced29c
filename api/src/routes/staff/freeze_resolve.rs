//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/freeze/resolve`: an officer ends a
//! freeze (`ledger::lifecycle::resolve_freeze`): `restore` (the mode before the freeze),
//! `return_to` a prison (recaptured: inside there, the identity record moving with the card), or
//! `pay_out_and_close` (a death: everything to the payout account on record, accounts closed).
use axum::Json;
use axum::extract::State;
use ledger::controls::{CardMode, Regime};
use ledger::idempotency::Begun;
use ledger::lifecycle::{Resolution, ResolveFreeze};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::PrisonerPath;
use super::close::{ClosedView, close_refused, require_payout_account};
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::identity::access_log::Purpose;
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::services::lifecycle::{self, PlacementView};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionKind {
    /// Back to the mode before the freeze (a leave whose dates have passed means inside).
    Restore,
    /// Recaptured or returned: inside at `to_prison_id` under `regime`.
    ReturnTo,
    /// Everything paid out to the payout account on record (the estate), accounts closed.
    PayOutAndClose,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// 1 to 100 bytes. The same key and body again returns the first answer and changes nothing.
    #[schema(example = "resolve-2026-05-03", min_length = 1, max_length = 100)]
    pub idempotency_key: String,
    pub resolution: ResolutionKind,
    /// `return_to` only (required there): the prison the person is returned to.
    #[serde(default)]
    pub to_prison_id: Option<Uuid>,
    /// `return_to` only: `closed_prison`, `open_prison` or `remand`. Absent: the current one.
    #[serde(default)]
    #[schema(value_type = Option<RegimeDoc>, example = "closed_prison")]
    pub regime: Option<Regime>,
}

/// `ledger::controls::Regime` as the API spells it.
#[derive(utoipa::ToSchema)]
#[schema(as = PrisonRegime)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub enum RegimeDoc {
    ClosedPrison,
    OpenPrison,
    Remand,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FreezeResolved {
    #[schema(example = "restore")]
    pub resolution: ResolutionKind,
    pub placement: PlacementView,
    /// `pay_out_and_close` only: what closing did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<ClosedView>,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/freeze/resolve",
    tag = "lifecycle",
    description = "Role: officer in the path's prison (none needed at a return_to destination). \
        Ends a freeze: restore the mode before it, return_to a prison (the identity record moves \
        too), or pay_out_and_close. Idempotent on the key.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = ResolveRequest,
    responses(
        (status = 200, description = "Resolved", body = FreezeResolved),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "not_frozen, accounts_closed, holds_open, deposits_pending_review, idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "prison_required, prison_unknown, resolution_invalid, payout_account_missing, idempotency_key_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn resolve(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<ResolveRequest>,
) -> Result<Json<FreezeResolved>, Problem> {
    let prison_id = access.prison()?;
    let staff = &access.staff;
    let person_id = path.person_id;
    // Shape first: a malformed request changes nothing, not even the access log.
    let key = lifecycle::command_key(
        "resolve_freeze",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    let return_to = match (request.resolution, request.to_prison_id) {
        (ResolutionKind::ReturnTo, Some(to_prison_id)) => Some(to_prison_id),
        (ResolutionKind::ReturnTo, None) => {
            return Err(Problem::unprocessable(
                "prison_required",
                "return_to names the prison: to_prison_id",
            ));
        }
        (_, None) if request.regime.is_none() => None,
        _ => {
            return Err(Problem::unprocessable(
                "resolution_invalid",
                "to_prison_id and regime belong to return_to only",
            ));
        }
    };
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match lifecycle::begin(&tx, &key, "api.resolve_freeze", &request).await? {
        Begun::Replayed(done) => return Ok(Json(done)),
        Begun::Fresh(claim) => claim,
    };
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or_else(|| Problem::not_found("prison"))?;
    if let Some(to_prison_id) = return_to
        && identity::store::prison(&tx, to_prison_id).await?.is_none()
    {
        return Err(Problem::unprocessable(
            "prison_unknown",
            "no prison has that id",
        ));
    }
    let extra: &[PrisonerField] = match request.resolution {
        ResolutionKind::PayOutAndClose => &[PrisonerField::PayoutIban],
        ResolutionKind::Restore => &[],
        ResolutionKind::ReturnTo => &[PrisonerField::Unit],
    };
    let Some((record, current)) = lifecycle::gate(&tx, staff, prison_id, person_id, extra).await?
    else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    };
    if super::freeze::is_closed(&current) {
        return Err(Problem::conflict(
            "accounts_closed",
            "the prisoner's accounts are closed: there is no freeze to resolve",
        ));
    }
    if current.mode != CardMode::Frozen {
        return Err(Problem::conflict(
            "not_frozen",
            "the prisoner's money is not frozen",
        ));
    }
    let effective_date = crate::services::prison_today(&prison.time_zone);
    let resolution = match (request.resolution, return_to) {
        (ResolutionKind::Restore, _) => Resolution::Restore,
        (ResolutionKind::ReturnTo, Some(to_prison_id)) => Resolution::ReturnTo {
            prison_id: to_prison_id,
            regime: request.regime.unwrap_or(current.regime),
        },
        (ResolutionKind::ReturnTo, None) => return Err(Problem::internal()),
        (ResolutionKind::PayOutAndClose, _) => {
            require_payout_account(&tx, &record, person_id).await?;
            Resolution::PayOutAndClose { effective_date }
        }
    };
    let resolved = ledger::lifecycle::resolve_freeze(
        &tx,
        &ResolveFreeze {
            idempotency_key: key,
            person_id,
            resolution,
            resolved_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(close_refused)?;
    if let Some(to_prison_id) = return_to.filter(|to| *to != prison_id) {
        // The record follows the card, as on a transfer: the unit there is not known yet.
        let who = staff.accessor(Purpose::CaseManagement, None);
        let moved =
            identity::store::transfer_prisoner(&tx, &who, prison_id, person_id, to_prison_id, None)
                .await?;
        if !moved {
            tracing::error!(%person_id, "identity record not moved on return");
            return Err(Problem::internal());
        }
    }
    lifecycle::sync_fence(&tx, person_id).await?;
    let done = FreezeResolved {
        resolution: request.resolution,
        placement: PlacementView::of(&resolved.placement, OffsetDateTime::now_utc()),
        closed: resolved
            .closed
            .as_ref()
            .map(|closed| ClosedView::of(closed, effective_date)),
    };
    ledger::idempotency::finish(&tx, claim, &done)
        .await
        .map_err(lifecycle::refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "freeze resolved");
    Ok(Json(done))
}
