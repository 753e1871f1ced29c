//! `PUT` and `DELETE /api/staff/prisons/{prison_id}/prisoners/{person_id}/restriction`: an
//! officer restricts the processing of a prisoner's record (LED Art. 16(3), GDPR Art. 18) with a
//! reason, or lifts the restriction, through `identity::store::restrict_prisoner`. While
//! restricted, the record's fields are withheld except for the purposes that may still see them
//! (docs/data-protection.md); the ledger keeps working. Both are idempotent: the same reason
//! again keeps the first time, lifting an unrestricted record changes nothing.
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole, Staff};
use crate::http::{ApiJson, ApiPath, StatedPurpose};
use crate::identity::{self, RestrictionReason};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictRequest {
    /// `accuracy_contested`, `evidence`, `unlawful_processing`, `legal_claims` or `objection`.
    #[schema(value_type = RestrictionReasonDoc, example = "accuracy_contested")]
    pub reason: RestrictionReason,
}

/// `identity::RestrictionReason` as the API spells it.
#[derive(utoipa::ToSchema)]
#[schema(as = RestrictionReason)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionReasonDoc {
    AccuracyContested,
    Evidence,
    UnlawfulProcessing,
    LegalClaims,
    Objection,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RestrictionState {
    pub person_id: Uuid,
    pub restricted: bool,
    /// The reason while restricted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "accuracy_contested")]
    pub reason: Option<&'static str>,
}

async fn apply(
    state: &AppState,
    staff: &Staff,
    prison_id: Uuid,
    person_id: Uuid,
    stated: StatedPurpose,
    reason: Option<RestrictionReason>,
) -> Result<Json<RestrictionState>, Problem> {
    let who = staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found =
        identity::store::restrict_prisoner(&tx, &who, Some(prison_id), person_id, reason).await?;
    // Committed either way: a miss stays logged (`not_found`).
    tx.commit().await?;
    if !found {
        return Err(crate::services::no_such_prisoner().into());
    }
    tracing::info!(%person_id, %prison_id, staff.id = %staff.id, restricted = reason.is_some(),
        "prisoner record restriction set");
    Ok(Json(RestrictionState {
        person_id,
        restricted: reason.is_some(),
        reason: reason.map(RestrictionReason::as_str),
    }))
}

#[utoipa::path(
    put,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/restriction",
    tag = "prisoners",
    description = "Role: officer in the path's prison. Restricts processing of the record with a \
        reason: its fields are withheld (access logged denied) except for data_subject_request, \
        complaint and audit; the ledger keeps working; retention does not erase it. Logged as a \
        change of `restriction` with the stated purpose. Idempotent.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path),
        ("Saldo-Purpose" = String, Header, description = "Why: a code from the closed list (access log), e.g. data_subject_request", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"),
        ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference", pattern = r"^[A-Za-z0-9_./-]{1,64}$")),
    request_body = RestrictRequest,
    responses(
        (status = 200, description = "Restricted", body = RestrictionState),
        (status = 400, description = "purpose_required, purpose_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_body (an unknown reason)", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn restrict(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
    ApiJson(request): ApiJson<RestrictRequest>,
) -> Result<Json<RestrictionState>, Problem> {
    let prison_id = access.prison()?;
    apply(
        &state,
        &access.staff,
        prison_id,
        path.person_id,
        stated,
        Some(request.reason),
    )
    .await
}

#[utoipa::path(
    delete,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/restriction",
    tag = "prisoners",
    description = "Role: officer in the path's prison. Lifts a restriction of processing. Logged \
        as a change of `restriction` with the stated purpose. Idempotent.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path),
        ("Saldo-Purpose" = String, Header, description = "Why: a code from the closed list (access log)", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"),
        ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference", pattern = r"^[A-Za-z0-9_./-]{1,64}$")),
    responses(
        (status = 200, description = "Not restricted", body = RestrictionState),
        (status = 400, description = "purpose_required, purpose_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn lift(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
) -> Result<Json<RestrictionState>, Problem> {
    let prison_id = access.prison()?;
    apply(
        &state,
        &access.staff,
        prison_id,
        path.person_id,
        stated,
        None,
    )
    .await
}
