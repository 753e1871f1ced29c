//! `GET /kiosk/enrol`, `POST /kiosk/enrol`: registers this browser as a kiosk. An admin issues a
//! device token (`POST /api/staff/prisons/{id}/kiosk-devices`); whoever sets up the kiosk pastes
//! it here once, and the browser keeps it in an HttpOnly cookie. A form, not a link with the
//! token in it, so the token never lands in a URL or an access log.
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, html};
use serde::Deserialize;

use crate::auth::kiosk;
use crate::http::HtmlForm;
use crate::problem::Problem;
use crate::secret;
use crate::state::AppState;

/// A kiosk stays enrolled for a year; revoking the device ends it sooner.
const DEVICE_COOKIE_MAX_AGE_SECONDS: i64 = 365 * 24 * 3600;

pub async fn form() -> Response {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Register this kiosk" }
                link rel="stylesheet" href="/kiosk/style.css";
            }
            body { main {
                h1 { "Register this kiosk" }
                form method="post" action="/kiosk/enrol" {
                    label for="token" { "Device token" }
                    input id="token" name="token" type="password" autocomplete="off" required;
                    button type="submit" { "Register" }
                }
            } }
        }
    }
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    token: String,
}

pub async fn enrol(
    State(state): State<AppState>,
    HtmlForm(enrolment): HtmlForm<Enrolment>,
) -> Result<Response, Problem> {
    let unknown = || {
        Problem::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "kiosk_device_unknown",
            Some("that is not a valid device token".to_owned()),
        )
    };
    let token = enrolment.token.trim();
    if !secret::looks_like_token(token) {
        return Err(unknown());
    }
    let client = state.pool.get().await?;
    let known = client
        .query_opt(
            "select 1 from auth.kiosk_devices where token_sha256 = $1 and revoked_at is null",
            &[&secret::token_sha256(token)],
        )
        .await?;
    if known.is_none() {
        return Err(unknown());
    }
    let cookie = crate::http::session_cookie(
        kiosk::DEVICE_COOKIE,
        token,
        "/kiosk",
        DEVICE_COOKIE_MAX_AGE_SECONDS,
        false,
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/kiosk")).into_response())
}
