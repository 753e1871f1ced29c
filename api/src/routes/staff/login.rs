//! `POST /api/staff/login`: username and password for a session (bearer token and cookie).
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth;
use crate::auth::sign_in::{Outcome, authenticate, session_cookie};
use crate::http::{ApiJson, ClientOrigin, SortedJson};
use crate::problem::Problem;
use crate::schema::LoginResponse;
use crate::secret;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(min_length = 1, max_length = 64)]
    username: String,
    #[schema(min_length = 1, max_length = 256)]
    password: String,
}

fn login_failed() -> Response {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        Some("wrong username or password".to_owned()),
    )
    .into_response()
}

#[utoipa::path(
    post, path = "/api/staff/login", tag = "auth", description = "Username and password for a session: a bearer token, also set as the `saldo_staff` cookie. 401 login_failed; 429 login_locked (too many failures) or login_busy (too many sign-ins at once), both with Retry-After.", request_body = LoginRequest, responses((status = 200, description = "Signed in", body = crate::schema::LoginResponse)),
)]
pub async fn login(
    State(state): State<AppState>,
    origin: ClientOrigin,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, Problem> {
    let (staff_id, session) =
        match authenticate(&state, &origin.ip, &request.username, request.password).await? {
            Outcome::SignedIn(staff_id, session) => (staff_id, session),
            Outcome::Failed => return Ok(login_failed()),
            Outcome::Locked(seconds) => return Ok(locked(seconds)),
            Outcome::Busy => return Ok(busy()),
        };
    let cookie = session_cookie(&session, origin.https);
    let body = LoginResponse {
        token: session.token,
        token_type: "Bearer".to_owned(),
        staff_id,
        expires_at: session
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        idle_timeout_seconds: auth::STAFF_IDLE_SECONDS,
    };
    Ok(([(header::SET_COOKIE, cookie)], SortedJson(body)).into_response())
}

fn locked(seconds: i64) -> Response {
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "login_locked",
        Some("too many failed sign-ins; try again later".to_owned()),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `429 login_busy`: the password-hashing gate is full.
fn busy() -> Response {
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "login_busy",
        Some("too many sign-ins at once; try again in a moment".to_owned()),
    )
    .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(secret::HashingBusy::RETRY_AFTER_SECONDS),
    );
    response
}
