//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/leave`: an officer grants a leave.
//! In `[from, until)` the card works outside within the leave's limits; before and after, it
//! behaves as inside by itself.
use axum::Json;
use axum::extract::State;
use ledger::controls::CardMode;
use ledger::idempotency::Begun;
use ledger::lifecycle::GrantLeave;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::PrisonerPath;
use super::lifecycle::{self, LeaveLimits, PlacementView};
use crate::app::AppState;
use crate::auth::{Officers, RequireRole, Staff};
use crate::http::{ApiJson, ApiPath};
use crate::problem::Problem;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveRequest {
    /// 1 to 100 bytes. The same key and body again returns the first answer and changes nothing.
    #[schema(example = "leave-2026-05-01")]
    pub idempotency_key: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-05-01T08:00:00+03:00")]
    pub from: OffsetDateTime,
    /// Exclusive; after `from` and in the future.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-05-03T20:00:00+03:00")]
    pub until: OffsetDateTime,
    /// Absent: the prison policy's default leave limits (`422 no_policy` without a policy).
    #[serde(default)]
    pub limits: Option<LeaveLimits>,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/leave",
    tag = "lifecycle",
    description = "Role: officer in the path's prison. Grants a leave in [from, until). Idempotent \
        on the key (409 idempotency_conflict for another body under it).",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = LeaveRequest,
    responses(
        (status = 200, description = "The card's placement with the leave", body = PlacementView),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "leave_overlaps (a leave is granted that has not ended: end it first), mode_conflict (frozen or released card), idempotency_conflict", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "leave_invalid, limit_invalid, idempotency_key_invalid, no_policy (no limits given and the prison has no policy)", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn grant(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<LeaveRequest>,
) -> Result<Json<PlacementView>, Problem> {
    let prison_id = access.prison()?;
    grant_checked(&state, &access.staff, prison_id, path.person_id, &request)
        .await
        .map(Json)
}

fn leave_invalid(detail: &str) -> Problem {
    Problem::unprocessable("leave_invalid", detail)
}

/// Checks the request, then (logged, in one transaction) that the prisoner's card is placed in
/// the prison, and grants the leave. Shared with the staff pages.
pub async fn grant_checked(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
    request: &LeaveRequest,
) -> Result<PlacementView, Problem> {
    // Shape first: a malformed request changes nothing, not even the access log.
    let key = lifecycle::command_key(
        "leave",
        staff,
        prison_id,
        person_id,
        &request.idempotency_key,
    )?;
    if request.until <= request.from {
        return Err(leave_invalid("a leave ends after it starts"));
    }
    let limits = request.limits.map(LeaveLimits::to_limits).transpose()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let claim = match lifecycle::begin(&tx, &key, "api.grant_leave", request).await? {
        Begun::Replayed(done) => return Ok(done),
        Begun::Fresh(claim) => claim,
    };
    let now = OffsetDateTime::now_utc();
    if request.until <= now {
        return Err(leave_invalid("the leave has already ended"));
    }
    let Some((_, current)) = lifecycle::gate(&tx, staff, prison_id, person_id, &[]).await? else {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner());
    };
    // A second leave would silently replace the first: staff end the first one instead.
    if let CardMode::Leave { until, .. } = current.mode
        && until > now
    {
        return Err(Problem::conflict(
            "leave_overlaps",
            "a leave is granted that has not ended; end it first",
        ));
    }
    let placement = ledger::lifecycle::grant_leave(
        &tx,
        &GrantLeave {
            idempotency_key: key,
            person_id,
            from: request.from,
            until: request.until,
            limits,
            granted_by: staff.id.to_string(),
        },
    )
    .await
    .map_err(lifecycle::refused)?;
    lifecycle::sync_fence(&tx, person_id).await?;
    let view = PlacementView::of(&placement, now);
    ledger::idempotency::finish(&tx, claim, &view)
        .await
        .map_err(lifecycle::refused)?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, "leave granted");
    Ok(view)
}
