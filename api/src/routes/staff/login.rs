//! `POST /api/staff/login`: username and password for a session (bearer token and cookie).
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{self, secret, throttle};
use crate::http::{ApiJson, ClientOrigin, SortedJson};
use crate::openapi::LoginResponse;
use crate::problem::Problem;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
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
    post, path = "/api/staff/login", tag = "auth", description = "Username and password for a session: a bearer token, also set as the `saldo_staff` cookie. 401 login_failed; 429 login_locked (too many failures) or login_busy (too many sign-ins at once), both with Retry-After.", request_body = LoginRequest, responses((status = 200, description = "Signed in", body = crate::openapi::LoginResponse)),
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

/// What a sign-in attempt came to (shared by the JSON login and the staff sign-in page).
pub enum Outcome {
    SignedIn(Uuid, auth::NewSession),
    /// Wrong password or unknown user: the same answer.
    Failed,
    /// Throttled: try again after this many seconds.
    Locked(i64),
    /// Too many sign-ins being checked at once: try again in a moment (nothing was counted).
    Busy,
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

/// The `saldo_staff` cookie for a new session (`Secure` when the request came over https).
pub fn session_cookie(session: &auth::NewSession, https: bool) -> HeaderValue {
    crate::http::session_cookie(
        auth::STAFF_COOKIE,
        &session.token,
        "/",
        i64::from(auth::STAFF_ABSOLUTE_SECONDS),
        https,
    )
}

/// Checks a username and password under the throttle and starts a session when they match.
pub async fn authenticate(
    state: &AppState,
    ip: &str,
    username: &str,
    password: String,
) -> Result<Outcome, Problem> {
    // Over-long input is refused before argon2 ever sees it.
    if username.len() > 64 || password.len() > 1024 {
        return Ok(Outcome::Failed);
    }
    let client = state.pool.get().await?;
    let find = client
        .prepare_cached(
            "select id, password_hash from auth.staff where username = $1 and disabled_at is null",
        )
        .await?;
    let account = client.query_opt(&find, &[&username]).await?;
    let staff_id: Option<Uuid> = account.as_ref().map(|row| row.get(0));
    let stored: Option<String> = account.as_ref().and_then(|row| row.get(1));

    let address_key = throttle::address_key(ip);
    let mut keys = vec![address_key.clone()];
    if let Some(id) = staff_id {
        keys.push(throttle::account_key(id));
    }
    if let Some(until) = throttle::locked_until(&client, &keys).await? {
        let seconds = (until - time::OffsetDateTime::now_utc())
            .whole_seconds()
            .max(1);
        return Ok(Outcome::Locked(seconds));
    }
    // No database connection is held while waiting for a turn to hash, or while hashing.
    drop(client);

    // An unknown user is hashed too, with the same parameters: the same time and the same work.
    let Ok(matches) = state
        .password_hashing
        .verify(&address_key, password, stored)
        .await
    else {
        tracing::warn!("staff sign-in refused: password hashing busy");
        return Ok(Outcome::Busy);
    };
    let client = state.pool.get().await?;
    if !matches {
        throttle::record_failure(&client, &address_key, &throttle::ADDRESS).await?;
        if let Some(id) = staff_id {
            throttle::record_failure(&client, &throttle::account_key(id), &throttle::ACCOUNT)
                .await?;
        }
        tracing::info!(staff.id = ?staff_id, "staff sign-in failed");
        return Ok(Outcome::Failed);
    }
    let Some(staff_id) = staff_id else {
        return Ok(Outcome::Failed);
    };
    throttle::clear(&client, &throttle::account_key(staff_id)).await?;
    let session = auth::start_staff_session(&client, staff_id).await?;
    tracing::info!(staff.id = %staff_id, "staff signed in");
    Ok(Outcome::SignedIn(staff_id, session))
}
