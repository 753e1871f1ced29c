//! `GET` and `PUT /api/staff/prisons/{prison_id}/fee-policies/…`: what each card-level fee
//! costs in a prison and who bears it (docs/fees.md). Without a policy a fee costs nothing and
//! the service bears it; a finance approver of the prison sets one, with a reason. Institutional
//! data, no personal data; every setting stays on record (append-only).
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::trust_account::TrustAccountReaders;
use crate::auth::{Approvers, RequireRole};
use crate::http::{ApiJson, ApiPath};
use crate::problem::Problem;
use crate::services::fees::{FeePolicies, FeePolicyView, SetFeePolicy, policies, set_policy};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct FeeKindPath {
    #[allow(dead_code)]
    prison_id: uuid::Uuid,
    fee_kind: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeePolicyRequest {
    /// ISO 4217 code of a currency the ledger keeps.
    #[schema(
        example = "EUR",
        min_length = 3,
        max_length = 3,
        pattern = "^[A-Z]{3}$"
    )]
    pub currency: String,
    /// What the fee costs, in minor units (0: no fee).
    #[schema(minimum = 0, example = 200)]
    pub amount_minor: i64,
    /// `service` (the default) or `prisoner`.
    #[serde(default)]
    #[schema(example = "service")]
    pub borne_by: Option<String>,
    /// Why (kept with the policy).
    #[schema(min_length = 1, max_length = 500, example = "processor tariff 2027")]
    pub reason: String,
}

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/fee-policies",
    tag = "fees",
    description = "Roles: finance, finance_approver, auditor in the path's prison. The fee \
        policies in force (latest per fee kind and currency) and their history.",
    params(("prison_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The prison's fee policies", body = FeePolicies)),
)]
pub async fn list(
    State(state): State<AppState>,
    access: RequireRole<TrustAccountReaders>,
) -> Result<Json<FeePolicies>, Problem> {
    Ok(Json(policies(&state, access.prison()?).await?))
}

#[utoipa::path(
    put,
    path = "/api/staff/prisons/{prison_id}/fee-policies/{fee_kind}",
    tag = "fees",
    description = "Role: finance_approver in the path's prison. Sets what a card-level fee \
        (`atm_withdrawal`, `card_replacement`) costs in the prison and who bears it (default: \
        the service). Recorded beside the earlier ones, never overwriting them; the same again \
        changes nothing. A prisoner-borne fee never takes a prisoner below zero: the service \
        bears it then. 422 fee_kind_invalid, fee_kind_not_set_per_prison, currency_invalid, \
        fee_amount_negative, amount_beyond_bound, borne_by_invalid, reason_required.",
    params(("prison_id" = uuid::Uuid, Path), ("fee_kind" = String, Path)),
    request_body = FeePolicyRequest,
    responses((status = 200, description = "The policy in force", body = FeePolicyView)),
)]
pub async fn set(
    State(state): State<AppState>,
    access: RequireRole<Approvers>,
    ApiPath(path): ApiPath<FeeKindPath>,
    ApiJson(request): ApiJson<FeePolicyRequest>,
) -> Result<Json<FeePolicyView>, Problem> {
    let prison_id = access.prison()?;
    let policy = set_policy(
        &state,
        SetFeePolicy {
            prison_id,
            fee_kind: &path.fee_kind,
            currency: &request.currency,
            amount_minor: request.amount_minor,
            borne_by: request.borne_by.as_deref(),
            reason: &request.reason,
            set_by: access.staff.id,
        },
    )
    .await?;
    tracing::info!(%prison_id, staff.id = %access.staff.id, fee_kind = %policy.fee_kind, "fee policy set");
    Ok(Json(policy))
}
