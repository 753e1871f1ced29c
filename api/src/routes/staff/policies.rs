//! A prison's spending-control policies (`ledger::policy_store`): `GET
//! /api/staff/prisons/{prison_id}/policies` shows the policy in effect for each regime; `POST`
//! publishes a new version of a template for this prison and assigns it to its regime from a
//! given time. Prison-level rules, no person-level data; per-person exceptions are overrides
//! (`policy_overrides.rs`).
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ledger::controls::Policy;
use ledger::policy_store::{self};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{PolicyMakers, PolicyReaders, RequireRole, Staff};
use crate::http::ApiJson;
use crate::identity;
use crate::problem::Problem;
use crate::services::policies::{PrisonPolicies, current};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/policies",
    tag = "controls",
    description = "Roles: finance, finance_approver, admin in the path's prison. The policy in \
        effect now for each regime, with the template (ledger::controls::Policy as JSON).",
    params(("prison_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "One entry per regime", body = PrisonPolicies)),
)]
pub async fn list(
    State(state): State<AppState>,
    access: RequireRole<PolicyReaders>,
) -> Result<Json<PrisonPolicies>, Problem> {
    Ok(Json(current(&state, access.prison()?).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// A whole template (`ledger::controls::Policy`, as the GET shows it). Its `regime` is the
    /// regime it is assigned to; `version` is ignored (the next one is assigned); `overrides`
    /// and `mcc.unblocked_defaults` must be empty (only a per-person override lifts a safe
    /// default).
    #[schema(value_type = Object)]
    policy: Policy,
    /// RFC 3339; now when absent. A later time schedules the change.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    effective_from: Option<OffsetDateTime>,
    /// IANA zone the spend windows roll over in; the prison's own zone when absent.
    #[serde(default)]
    #[schema(example = "Europe/Helsinki")]
    time_zone: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Published {
    /// The template as stored, with its new version.
    #[schema(value_type = Object)]
    pub policy: Policy,
    #[schema(example = "closed_prison")]
    pub regime: String,
    pub time_zone: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub effective_from: OffsetDateTime,
}

/// Publishes the template for this prison and assigns it, in one transaction.
pub async fn publish(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    policy: &Policy,
    effective_from: Option<OffsetDateTime>,
    time_zone: Option<String>,
) -> Result<Published, Problem> {
    if policy.currency != ledger::Currency::EUR {
        return Err(Problem::unprocessable(
            "currency_not_supported",
            "prisoners' accounts are in EUR",
        ));
    }
    // The ledger validates overrides' amounts, not a template's: checked here.
    let amounts = [
        &policy.limits,
        &policy.default_leave_limits,
        &policy.released_limits,
    ]
    .into_iter()
    .flat_map(|limits| {
        [
            limits.per_authorization,
            limits.daily,
            limits.weekly,
            limits.monthly,
        ]
    })
    .chain([policy.max_balance])
    .flatten();
    for amount in amounts {
        if amount.currency != policy.currency || amount.amount_minor < 0 {
            return Err(Problem::unprocessable(
                "policy_invalid",
                "limits and the maximum balance are amounts of zero or more in the policy's currency",
            ));
        }
    }
    if !policy.mcc.unblocked_defaults.is_empty() {
        return Err(Problem::unprocessable(
            "policy_invalid",
            "a template lifts no safe-default category; a per-person override does",
        ));
    }
    let effective_from = effective_from.unwrap_or_else(OffsetDateTime::now_utc);
    let actor = staff.id.to_string();
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let prison = identity::store::prison(&tx, prison_id)
        .await?
        .ok_or_else(|| Problem::not_found("prison"))?;
    let time_zone = time_zone.unwrap_or(prison.time_zone);
    // Policy ids are service-wide: a prison never publishes over another prison's template or
    // a national one (that would change their rules).
    if let Some(owner) = policy_store::policy_owner(&tx, &policy.id).await?
        && owner != Some(prison_id)
    {
        return Err(Problem::conflict(
            "policy_id_taken",
            "that policy id belongs to another prison or is a national template",
        ));
    }
    let stored =
        policy_store::publish_policy(&tx, policy, Some(prison_id), effective_from, &actor).await?;
    policy_store::assign_policy(
        &tx,
        prison_id,
        stored.regime,
        &stored.id,
        &time_zone,
        effective_from,
        &actor,
    )
    .await?;
    // The processor's own fence follows the policy from the moment it takes effect.
    card_adapter::fence::request_prison_sync(&tx, prison_id, effective_from)
        .await
        .map_err(|error| {
            tracing::error!(error.code = error.code(), "fence sync could not be queued");
            Problem::internal()
        })?;
    tx.commit().await?;
    tracing::info!(%prison_id, staff.id = %staff.id, policy.version = stored.version, "policy published and assigned");
    Ok(Published {
        regime: policy_store::regime_str(stored.regime).to_owned(),
        policy: stored,
        time_zone,
        effective_from,
    })
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/policies",
    tag = "controls",
    description = "Roles: finance_approver, admin in the path's prison. Publishes the next version \
        of a template for this prison and assigns it to its regime from effective_from (now by \
        default). 409 policy_id_taken for another prison's or a national template's id; 422 \
        policy_invalid, controls_invalid, time_zone_invalid.",
    params(("prison_id" = uuid::Uuid, Path)),
    request_body = PublishRequest,
    responses((status = 201, description = "Published and assigned", body = Published)),
)]
pub async fn post(
    State(state): State<AppState>,
    access: RequireRole<PolicyMakers>,
    ApiJson(request): ApiJson<PublishRequest>,
) -> Result<Response, Problem> {
    let published = publish(
        &state,
        &access.staff,
        access.prison()?,
        &request.policy,
        request.effective_from,
        request.time_zone,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(published)).into_response())
}
