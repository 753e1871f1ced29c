//! `GET /kiosk/pin` and `POST /kiosk/pin`: the prisoner changes their PIN (current PIN needed;
//! wrong current PINs count towards the lockout like at sign-in).
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::i18n::{Texts, texts};
use super::layout::page as shell;
use crate::auth::kiosk::{self, KioskSession};
use crate::http::HtmlForm;
use crate::identity::access_log::Action;
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::secret;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinForm {
    current_pin: String,
    new_pin: String,
    new_pin_again: String,
}

fn render(texts: &Texts, message: Option<(&str, bool)>) -> Markup {
    shell(
        texts,
        true,
        html! {
            h1 { (texts.change_pin) }
            @if let Some((message, ok)) = message {
                p.message.ok[ok] role="alert" { (message) }
            }
            p { (texts.pin_rules) }
            form method="post" action="/kiosk/pin" autocomplete="off" {
                label for="current_pin" { (texts.current_pin) }
                input id="current_pin" name="current_pin" type="password" inputmode="numeric" required maxlength="8";
                label for="new_pin" { (texts.new_pin) }
                input id="new_pin" name="new_pin" type="password" inputmode="numeric" required maxlength="8" pattern="[0-9]{4,8}";
                label for="new_pin_again" { (texts.new_pin_again) }
                input id="new_pin_again" name="new_pin_again" type="password" inputmode="numeric" required maxlength="8" pattern="[0-9]{4,8}";
                div {
                    button type="submit" { (texts.save) }
                    a.button.secondary href="/kiosk/home" { (texts.back) }
                }
            }
        },
    )
}

pub async fn form(session: KioskSession) -> Markup {
    render(texts(session.language), None)
}

pub async fn change(
    State(state): State<AppState>,
    session: KioskSession,
    HtmlForm(request): HtmlForm<PinForm>,
) -> Result<Response, Problem> {
    let texts = texts(session.language);
    let say = |status: StatusCode, message: &str, ok: bool| {
        (status, render(texts, Some((message, ok)))).into_response()
    };
    if identity::validate::pin(&request.new_pin).is_err() {
        return Ok(say(
            StatusCode::UNPROCESSABLE_ENTITY,
            texts.pin_rules,
            false,
        ));
    }
    if request.new_pin != request.new_pin_again {
        return Ok(say(
            StatusCode::UNPROCESSABLE_ENTITY,
            texts.pin_mismatch,
            false,
        ));
    }
    let client = state.pool.get().await?;
    let Some(pin) = kiosk::pin_state(&client, session.person_id).await? else {
        return Ok(say(
            StatusCode::UNPROCESSABLE_ENTITY,
            texts.pin_wrong,
            false,
        ));
    };
    if pin.locked_until.is_some() {
        return Ok(say(StatusCode::TOO_MANY_REQUESTS, texts.pin_locked, false));
    }
    // No database connection is held while waiting for a turn to hash, or while hashing.
    drop(client);
    let busy = || {
        let mut response = say(StatusCode::TOO_MANY_REQUESTS, texts.sign_in_busy, false);
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(secret::HashingBusy::RETRY_AFTER_SECONDS),
        );
        response
    };
    let Ok(current_matches) = state
        .password_hashing
        .verify(
            &format!("kiosk:{}", session.device.id),
            request.current_pin,
            Some(pin.pin_hash),
        )
        .await
    else {
        return Ok(busy());
    };
    let client = state.pool.get().await?;
    if !current_matches {
        if kiosk::record_pin_failure(&client, session.person_id).await? {
            // Locked: the session ends too, as at sign-in.
            kiosk::end_kiosk_session(&client, &session.session_sha256).await?;
            return Ok(Redirect::to("/kiosk").into_response());
        }
        return Ok(say(
            StatusCode::UNPROCESSABLE_ENTITY,
            texts.pin_wrong,
            false,
        ));
    }
    drop(client);
    let new_hash = match state.password_hashing.hash(request.new_pin).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(_)) => return Err(Problem::internal()),
        Err(_) => return Ok(busy()),
    };
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::access_prisoner(
        &tx,
        &session.accessor(),
        Some(session.device.prison_id),
        session.person_id,
        Action::Change,
        &[PrisonerField::Pin],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Ok(Redirect::to("/kiosk").into_response());
    }
    kiosk::set_pin(&tx, session.person_id, &new_hash).await?;
    tx.commit().await?;
    Ok(say(StatusCode::OK, texts.pin_changed, true))
}
