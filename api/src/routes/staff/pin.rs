//! `PUT /api/staff/prisons/{prison_id}/prisoners/{person_id}/pin`: an officer sets a new kiosk
//! PIN (the prisoner forgot it, or it is locked); this also lifts a lockout.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::PrisonerPath;
use crate::auth::{Officers, RequireRole, kiosk};
use crate::http::{ApiJson, ApiPath};
use crate::identity::access_log::{Action, Purpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPin {
    /// 4 to 8 digits.
    #[schema(min_length = 4, max_length = 8, pattern = "^[0-9]{4,8}$")]
    pin: String,
}

#[utoipa::path(
    put, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/pin", tag = "prisoners", description = "Role: officer in the path's prison. Also lifts a PIN lockout. 429 hashing_busy with Retry-After when too many passwords and PINs are being hashed at once.", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)), request_body = NewPin, responses((status = 204, description = "PIN set")),
)]
pub async fn reset(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    ApiJson(request): ApiJson<NewPin>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    identity::validate::pin(&request.pin)?;
    let pin_hash = match state.password_hashing.hash_for_request(request.pin).await {
        Ok(hash) => hash,
        Err(answer) => return Ok(answer),
    };
    let who = access.staff.accessor(Purpose::PinManagement, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::access_prisoner(
        &tx,
        &who,
        Some(prison_id),
        path.person_id,
        Action::Change,
        &[PrisonerField::Pin],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    kiosk::set_pin(&tx, path.person_id, &pin_hash).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
