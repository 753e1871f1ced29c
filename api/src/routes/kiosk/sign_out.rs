//! `POST /kiosk/sign-out`: ends the kiosk session.
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::kiosk::{self, KioskSession};
use crate::problem::Problem;
use crate::state::AppState;

pub async fn sign_out(
    State(state): State<AppState>,
    session: KioskSession,
) -> Result<Response, Problem> {
    let client = state.pool.get().await?;
    kiosk::end_kiosk_session(&client, &session.session_sha256).await?;
    let expired = crate::http::session_cookie(kiosk::SESSION_COOKIE, "", "/kiosk", 0, false);
    Ok(([(header::SET_COOKIE, expired)], Redirect::to("/kiosk")).into_response())
}
