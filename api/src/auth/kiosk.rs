//! The kiosk: devices registered to a prison (a device token issued by an admin), prisoner PINs
//! with lockout, and short prisoner sessions bound to the device they started on.
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::identity::access_log::{Accessor, ActorKind, Purpose};
use crate::problem::Problem;
use crate::secret;
use crate::state::AppState;
use ledger::controls::Lang;

pub const DEVICE_HEADER: &str = "saldo-kiosk-device";
pub const DEVICE_COOKIE: &str = "saldo_kiosk_device";
pub const SESSION_COOKIE: &str = "saldo_kiosk";
/// A kiosk session ends after two minutes without a request (the next prisoner in the queue
/// must not find the previous one signed in)…
pub const KIOSK_IDLE_SECONDS: i32 = 120;
/// …and after fifteen minutes in any case.
pub const KIOSK_ABSOLUTE_SECONDS: i32 = 15 * 60;
/// Five wrong PINs lock the PIN for fifteen minutes.
pub const PIN_MAX_FAILURES: i32 = 5;
pub const PIN_LOCKOUT_SECONDS: i32 = 15 * 60;

/// A registered, unrevoked kiosk device.
#[derive(Debug, Clone)]
pub struct KioskDevice {
    pub id: Uuid,
    pub prison_id: Uuid,
    pub request_id: Option<String>,
}

fn device_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(DEVICE_HEADER)
        .and_then(|value| value.to_str().ok())
        .or_else(|| crate::http::cookie(&parts.headers, DEVICE_COOKIE))
}

fn device_required() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "kiosk_device_required",
        Some("this page works only on a registered kiosk".to_owned()),
    )
}

impl FromRequestParts<AppState> for KioskDevice {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = device_token(parts).ok_or_else(device_required)?;
        if !secret::looks_like_token(token) {
            return Err(device_required());
        }
        let client = state.pool.get().await?;
        let statement = client
            .prepare_cached(
                "select id, prison_id from auth.kiosk_devices
                 where token_sha256 = $1 and revoked_at is null",
            )
            .await?;
        let row = client
            .query_opt(&statement, &[&secret::token_sha256(token)])
            .await?
            .ok_or_else(device_required)?;
        Ok(KioskDevice {
            id: row.get("id"),
            prison_id: row.get("prison_id"),
            request_id: crate::http::request_id(parts),
        })
    }
}

/// A prisoner signed in at this kiosk.
#[derive(Debug, Clone)]
pub struct KioskSession {
    pub person_id: Uuid,
    pub device: KioskDevice,
    pub language: Lang,
    pub session_sha256: Vec<u8>,
}

impl KioskSession {
    pub fn accessor(&self) -> Accessor {
        Accessor {
            actor_kind: ActorKind::Prisoner,
            actor_id: Some(self.person_id),
            purpose: Purpose::SelfService,
            case_ref: None,
            request_id: self.device.request_id.clone(),
        }
    }
}

/// No device: problem+json. No (or an expired) session: back to the sign-in page.
pub enum KioskRejection {
    Device(Problem),
    SignIn,
}

impl IntoResponse for KioskRejection {
    fn into_response(self) -> Response {
        match self {
            KioskRejection::Device(problem) => problem.into_response(),
            KioskRejection::SignIn => {
                let mut response = Redirect::to("/kiosk").into_response();
                // Forget a dead session cookie.
                response.headers_mut().insert(
                    header::SET_COOKIE,
                    crate::http::session_cookie(SESSION_COOKIE, "", "/kiosk", 0, false),
                );
                response
            }
        }
    }
}

impl FromRequestParts<AppState> for KioskSession {
    type Rejection = KioskRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let device = KioskDevice::from_request_parts(parts, state)
            .await
            .map_err(KioskRejection::Device)?;
        let token = crate::http::cookie(&parts.headers, SESSION_COOKIE)
            .filter(|token| secret::looks_like_token(token))
            .ok_or(KioskRejection::SignIn)?;
        let digest = secret::token_sha256(token);
        let client = state
            .pool
            .get()
            .await
            .map_err(|error| KioskRejection::Device(error.into()))?;
        let touched = async {
            let statement = client
                .prepare_cached(
                    "update auth.kiosk_sessions set last_seen_at = now()
                     where token_sha256 = $1 and device_id = $2 and ended_at is null
                       and expires_at > now()
                       and last_seen_at > now() - $3::int * interval '1 second'
                     returning person_id, language",
                )
                .await?;
            client
                .query_opt(&statement, &[&digest, &device.id, &KIOSK_IDLE_SECONDS])
                .await
        }
        .await
        .map_err(|error| KioskRejection::Device(error.into()))?;
        let row = touched.ok_or(KioskRejection::SignIn)?;
        Ok(KioskSession {
            person_id: row.get("person_id"),
            language: Lang::parse(row.get("language")).unwrap_or_default(),
            device,
            session_sha256: digest,
        })
    }
}

/// Registers a kiosk device; returns its id and the token (shown once, stored only hashed).
pub async fn issue_device(
    client: &impl GenericClient,
    prison_id: Uuid,
    label: &str,
    issued_by: Uuid,
) -> Result<(Uuid, String), tokio_postgres::Error> {
    let (token, digest) = secret::new_token();
    let id = Uuid::now_v7();
    let statement = client
        .prepare_cached(
            "insert into auth.kiosk_devices (id, prison_id, label, token_sha256, issued_by)
             values ($1, $2, $3, $4, $5)",
        )
        .await?;
    client
        .execute(&statement, &[&id, &prison_id, &label, &digest, &issued_by])
        .await?;
    Ok((id, token))
}

/// Sets (or resets) a prisoner's PIN hash and clears any lockout.
pub async fn set_pin(
    client: &impl GenericClient,
    person_id: Uuid,
    pin_hash: &str,
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "insert into auth.kiosk_pins (person_id, pin_hash) values ($1, $2)
             on conflict (person_id) do update
                set pin_hash = excluded.pin_hash, failures = 0, locked_until = null, updated_at = now()",
        )
        .await?;
    client.execute(&statement, &[&person_id, &pin_hash]).await?;
    Ok(())
}

pub struct PinState {
    pub pin_hash: String,
    pub locked_until: Option<OffsetDateTime>,
}

pub async fn pin_state(
    client: &impl GenericClient,
    person_id: Uuid,
) -> Result<Option<PinState>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "select pin_hash, case when locked_until > now() then locked_until end as locked_until
             from auth.kiosk_pins where person_id = $1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&person_id])
        .await?
        .map(|row| PinState {
            pin_hash: row.get("pin_hash"),
            locked_until: row.get("locked_until"),
        }))
}

/// Counts a wrong PIN; the fifth in a row locks the PIN. Returns whether it is now locked.
pub async fn record_pin_failure(
    client: &impl GenericClient,
    person_id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "update auth.kiosk_pins set
                failures = case when locked_until <= now() then 1 else failures + 1 end,
                locked_until = case
                    when (case when locked_until <= now() then 1 else failures + 1 end) >= $2
                        then now() + $3::int * interval '1 second'
                    when locked_until <= now() then null
                    else locked_until end,
                updated_at = now()
             where person_id = $1
             returning locked_until > now() as locked",
        )
        .await?;
    Ok(client
        .query_opt(
            &statement,
            &[&person_id, &PIN_MAX_FAILURES, &PIN_LOCKOUT_SECONDS],
        )
        .await?
        .and_then(|row| row.get::<_, Option<bool>>("locked"))
        .unwrap_or(false))
}

pub async fn clear_pin_failures(
    client: &impl GenericClient,
    person_id: Uuid,
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "update auth.kiosk_pins set failures = 0, locked_until = null where person_id = $1",
        )
        .await?;
    client.execute(&statement, &[&person_id]).await?;
    Ok(())
}

pub async fn start_kiosk_session(
    client: &impl GenericClient,
    person_id: Uuid,
    device_id: Uuid,
    language: Lang,
) -> Result<String, tokio_postgres::Error> {
    let (token, digest) = secret::new_token();
    let statement = client
        .prepare_cached(
            "insert into auth.kiosk_sessions (token_sha256, person_id, device_id, language, expires_at)
             values ($1, $2, $3, $4, now() + $5::int * interval '1 second')",
        )
        .await?;
    client
        .execute(
            &statement,
            &[
                &digest,
                &person_id,
                &device_id,
                &language.as_str(),
                &KIOSK_ABSOLUTE_SECONDS,
            ],
        )
        .await?;
    Ok(token)
}

pub async fn set_session_language(
    client: &impl GenericClient,
    session_sha256: &[u8],
    language: Lang,
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached("update auth.kiosk_sessions set language = $2 where token_sha256 = $1")
        .await?;
    client
        .execute(&statement, &[&session_sha256, &language.as_str()])
        .await?;
    Ok(())
}

pub async fn end_kiosk_session(
    client: &impl GenericClient,
    session_sha256: &[u8],
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "update auth.kiosk_sessions set ended_at = now() where token_sha256 = $1 and ended_at is null",
        )
        .await?;
    client.execute(&statement, &[&session_sha256]).await?;
    Ok(())
}
