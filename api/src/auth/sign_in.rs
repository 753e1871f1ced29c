//! Staff sign-in: a username and password checked under the throttle and the hashing gate, and
//! the session cookie it sets. Shared by the JSON login (`POST /api/staff/login`) and the staff
//! sign-in page.
use axum::http::HeaderValue;
use uuid::Uuid;

use crate::auth::{self, throttle};
use crate::problem::Problem;
use crate::state::AppState;

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
    let staff_id: Option<Uuid> = account.as_ref().map(|row| row.get("id"));
    let stored: Option<String> = account.as_ref().and_then(|row| row.get("password_hash"));

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
