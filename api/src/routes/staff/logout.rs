//! `POST /api/staff/logout`: ends the session it is called with.
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::{self, Staff};
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(
    post, path = "/api/staff/logout", tag = "auth", description = "Any staff. Ends this session.", responses((status = 204, description = "Signed out")),
)]
pub async fn logout(State(state): State<AppState>, staff: Staff) -> Result<Response, Problem> {
    let client = state.pool.get().await?;
    auth::end_staff_session(&client, &staff.session_sha256).await?;
    let expired = crate::http::session_cookie(auth::STAFF_COOKIE, "", "/", 0, false);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}
