//! Per-person exceptions to a prison's spending-control policy (`ledger::policy_store`):
//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/overrides` grants one (or a new
//! version of one), `POST …/overrides/{override_id}/revoke` ends it from now on.
//!
//! Each change queues the processor fence's sync for the person's cards (now; an override that
//! starts or ends later is picked up by the next sync).
//!
//! Four eyes: the caller (a finance approver) approves an override another member of staff of
//! this prison asked for (`requested_by`); the database refuses requester = approver as well.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deadpool_postgres::Transaction;
use ledger::controls::{OverrideChange, PolicyOverride};
use ledger::policy_store::{self, GrantOverride};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{Approvers, RequireRole, Staff};
use crate::http::{ApiJson, ApiPath};
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct OverridesPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    person_id: Uuid,
}

#[derive(Deserialize)]
pub struct OverridePath {
    #[allow(dead_code)]
    prison_id: Uuid,
    person_id: Uuid,
    override_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// Names the override across versions: 1 to 100 of `A-Z a-z 0-9 _ . : -`. Granting an id
    /// again stores its next version; the same content again changes nothing.
    #[schema(
        example = "ovr-2026-0142",
        min_length = 1,
        max_length = 100,
        pattern = "^[A-Za-z0-9_.:-]{1,100}$"
    )]
    override_id: String,
    /// `ledger::controls::OverrideChange`, e.g. `{"change": "set_limits", "scope": "inside",
    /// "limits": {...}}` or `{"change": "allow_mcc", "mcc": "5942"}`.
    #[schema(value_type = Object)]
    change: OverrideChange,
    /// 1 to 500 characters: why (kept with the override; never logged).
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
    /// The staff id of the member of staff of this prison who asked for it (not the caller).
    requested_by: Uuid,
    /// RFC 3339; now when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    effective_from: Option<OffsetDateTime>,
    /// RFC 3339, exclusive; open-ended when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    effective_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverrideGranted {
    pub person_id: Uuid,
    /// The override as stored (`id`, `version`, `reason`, `requested_by`, `approved_by`,
    /// `change`).
    #[serde(rename = "override")]
    #[schema(value_type = Object)]
    pub item: PolicyOverride,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub effective_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub effective_until: Option<OffsetDateTime>,
}

/// Ledger refusals of overrides with the statuses they deserve.
fn override_problem(error: ledger::LedgerError) -> Problem {
    match error.code() {
        "unknown_override" => Problem::not_found("override"),
        "override_revoked" => Problem::conflict(
            "override_revoked",
            "a revoked override cannot get new versions; grant a new one",
        ),
        "no_policy" => Problem::conflict(
            "no_policy",
            "the prisoner's prison has no policy in effect for their regime",
        ),
        _ => Problem::from(error),
    }
}

/// The prisoner, logged as a change to their spending controls; `None`: not in this prison.
async fn gate(
    tx: &Transaction<'_>,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
) -> Result<bool, Problem> {
    let who = staff.accessor(Purpose::CaseManagement, None);
    Ok(identity::store::access_prisoner(
        tx,
        &who,
        Some(prison_id),
        person_id,
        Action::Change,
        &[PrisonerField::SpendingControls],
    )
    .await?
    .is_some())
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/overrides",
    tag = "controls",
    description = "Role: finance_approver in the path's prison, approving for requested_by (another \
        member of staff of this prison; 403 four_eyes for oneself, 422 requester_invalid). 201 \
        with the stored version; the same content again is 200 and changes nothing. 409 \
        no_policy, override_revoked; 422 override_invalid.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body = GrantRequest,
    responses((status = 201, description = "Granted", body = OverrideGranted),
              (status = 200, description = "Already granted with this content", body = OverrideGranted)),
)]
pub async fn grant(
    State(state): State<AppState>,
    access: RequireRole<Approvers>,
    ApiPath(path): ApiPath<OverridesPath>,
    ApiJson(request): ApiJson<GrantRequest>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    let staff = &access.staff;
    if request.requested_by == staff.id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "four_eyes",
            Some("an override is approved by someone other than who asked for it".to_owned()),
        ));
    }
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Problem::unprocessable(
            "reason_invalid",
            "a reason is 1 to 500 characters",
        ));
    }
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let requester_here = crate::auth::grants_of(&tx, request.requested_by)
        .await?
        .iter()
        .any(|grant| grant.prison_id == prison_id);
    if !requester_here {
        return Err(Problem::unprocessable(
            "requester_invalid",
            "requested_by is not a member of staff of this prison",
        ));
    }
    if !gate(&tx, staff, prison_id, path.person_id).await? {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    let item = PolicyOverride {
        id: request.override_id.clone(),
        version: 0,
        reason: reason.to_owned(),
        requested_by: request.requested_by.to_string(),
        approved_by: staff.id.to_string(),
        change: request.change,
    };
    // A retry of the same grant returns what is stored instead of a new version.
    if let Some(stored) = policy_store::latest_override(&tx, &request.override_id).await?
        && stored.person_id == path.person_id
        && !stored.revoked
        && stored.item.change == item.change
        && stored.item.reason == item.reason
        && stored.item.requested_by == item.requested_by
        && stored.item.approved_by == item.approved_by
        && stored.effective_until == request.effective_until
        && request
            .effective_from
            .is_none_or(|from| from == stored.effective_from)
    {
        tx.commit().await?;
        return Ok((
            StatusCode::OK,
            Json(OverrideGranted {
                person_id: path.person_id,
                item: stored.item,
                effective_from: stored.effective_from,
                effective_until: stored.effective_until,
            }),
        )
            .into_response());
    }
    let command = GrantOverride {
        person_id: path.person_id,
        item,
        effective_from: request
            .effective_from
            .unwrap_or_else(OffsetDateTime::now_utc),
        effective_until: request.effective_until,
    };
    let granted = policy_store::grant_override(&tx, &command)
        .await
        .map_err(override_problem)?;
    crate::services::lifecycle::sync_fence(&tx, path.person_id).await?;
    tx.commit().await?;
    tracing::info!(staff.id = %staff.id, override.version = granted.version, "override granted");
    Ok((
        StatusCode::CREATED,
        Json(OverrideGranted {
            person_id: path.person_id,
            item: granted,
            effective_from: command.effective_from,
            effective_until: command.effective_until,
        }),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverrideRevoked {
    pub person_id: Uuid,
    pub override_id: String,
    pub revoked: bool,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/overrides/{override_id}/revoke",
    tag = "controls",
    description = "Role: finance_approver in the path's prison. Ends the override from now on \
        (decisions already made keep their record of it); revoking again changes nothing. 404 \
        for an override of another person.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("override_id" = String, Path)),
    request_body = RevokeRequest,
    responses((status = 200, description = "Revoked", body = OverrideRevoked)),
)]
pub async fn revoke(
    State(state): State<AppState>,
    access: RequireRole<Approvers>,
    ApiPath(path): ApiPath<OverridePath>,
    ApiJson(request): ApiJson<RevokeRequest>,
) -> Result<Json<OverrideRevoked>, Problem> {
    let prison_id = access.prison()?;
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Problem::unprocessable(
            "reason_invalid",
            "a reason is 1 to 500 characters",
        ));
    }
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    if !gate(&tx, &access.staff, prison_id, path.person_id).await? {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    policy_store::revoke_override(
        &tx,
        path.person_id,
        &path.override_id,
        reason,
        &access.staff.id.to_string(),
    )
    .await
    .map_err(override_problem)?;
    crate::services::lifecycle::sync_fence(&tx, path.person_id).await?;
    tx.commit().await?;
    tracing::info!(staff.id = %access.staff.id, "override revoked");
    Ok(Json(OverrideRevoked {
        person_id: path.person_id,
        override_id: path.override_id,
        revoked: true,
    }))
}
