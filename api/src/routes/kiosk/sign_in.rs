//! `GET /kiosk` (the sign-in page) and `POST /kiosk/sign-in` (prisoner number and PIN).
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::i18n::{Texts, texts};
use super::layout::page as shell;
use crate::auth::kiosk::{self, KioskDevice};
use crate::auth::throttle;
use crate::http::{ApiQuery, ClientOrigin, HtmlForm};
use crate::identity::access_log::{Accessor, ActorKind, Purpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::secret;
use crate::state::AppState;
use ledger::controls::Lang;

/// One kiosk may see this many failed sign-ins in 15 minutes before it pauses for 5 (guessing
/// numbers and PINs across prisoners).
const DEVICE_RULE: throttle::Rule = throttle::Rule {
    max_failures: 30,
    window_seconds: 15 * 60,
    lockout_seconds: 5 * 60,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInForm {
    prisoner_number: String,
    pin: String,
    #[serde(default)]
    lang: Option<String>,
}

/// The device's prison's default language (`saldo prison set-language`) decides the sign-in
/// page's language until a prisoner signs in; without one, its country's. Countries with more
/// than one language of prisons (Belgium) start in English unless the prison names its own; the
/// switch on the page and, once signed in, the prisoner's own language take over.
async fn default_language(state: &AppState, device: &KioskDevice) -> Result<Lang, Problem> {
    let client = state.pool.get().await?;
    let prison = identity::store::prison(&client, device.prison_id).await?;
    if let Some(language) = prison.as_ref().and_then(|p| p.default_language) {
        return Ok(language);
    }
    Ok(match prison.as_ref().map(|p| p.country.as_str()) {
        Some("FI") => Lang::Fi,
        Some("SE") => Lang::Sv,
        Some("NL") => Lang::Nl,
        Some("FR") => Lang::Fr,
        Some("DE" | "AT") => Lang::De,
        _ => Lang::En,
    })
}

fn form(texts: &Texts, message: Option<&str>) -> Markup {
    shell(
        texts,
        false,
        html! {
            h1 { (texts.title) }
            @if let Some(message) = message {
                p.message role="alert" { (message) }
            }
            form method="post" action="/kiosk/sign-in" autocomplete="off" {
                input type="hidden" name="lang" value=(texts.lang);
                label for="prisoner_number" { (texts.prisoner_number) }
                input id="prisoner_number" name="prisoner_number" required maxlength="32"
                    autocapitalize="characters";
                label for="pin" { (texts.pin) }
                input id="pin" name="pin" type="password" inputmode="numeric" required
                    maxlength="8" pattern="[0-9]{4,8}";
                div { button type="submit" { (texts.sign_in) } }
            }
        },
    )
}

pub async fn page(
    State(state): State<AppState>,
    device: KioskDevice,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Markup, Problem> {
    let language = match query.lang.as_deref().and_then(Lang::parse) {
        Some(language) => language,
        None => default_language(&state, &device).await?,
    };
    Ok(form(texts(language), None))
}

fn refused(status: StatusCode, texts: &Texts, message: &str) -> Response {
    (status, form(texts, Some(message))).into_response()
}

pub async fn sign_in(
    State(state): State<AppState>,
    device: KioskDevice,
    origin: ClientOrigin,
    HtmlForm(request): HtmlForm<SignInForm>,
) -> Result<Response, Problem> {
    let page_language = match request.lang.as_deref().and_then(Lang::parse) {
        Some(language) => language,
        None => default_language(&state, &device).await?,
    };
    let page_texts = texts(page_language);
    let device_key = format!("kiosk:{}", device.id);
    let client = state.pool.get().await?;
    if throttle::locked_until(&client, std::slice::from_ref(&device_key))
        .await?
        .is_some()
    {
        return Ok(refused(
            StatusCode::TOO_MANY_REQUESTS,
            page_texts,
            page_texts.kiosk_busy,
        ));
    }
    drop(client);
    let well_formed = identity::validate::prisoner_number(&request.prisoner_number).is_ok()
        && identity::validate::pin(&request.pin).is_ok();
    // The prisoner is not yet known: the look-up is logged as an unidentified prisoner's.
    let who = Accessor {
        actor_kind: ActorKind::Prisoner,
        actor_id: None,
        purpose: Purpose::SelfService,
        case_ref: None,
        request_id: device.request_id.clone(),
    };
    let mut client = state.pool.get().await?;
    let found = if well_formed {
        let tx = client.transaction().await?;
        let found = identity::store::find_by_prisoner_number(
            &tx,
            &who,
            device.prison_id,
            &request.prisoner_number,
            &[PrisonerField::PreferredLanguage],
        )
        .await?;
        tx.commit().await?;
        found
    } else {
        None
    };
    let pin_state = match &found {
        Some(prisoner) => kiosk::pin_state(&client, prisoner.person_id).await?,
        None => None,
    };
    if pin_state
        .as_ref()
        .is_some_and(|pin| pin.locked_until.is_some())
    {
        return Ok(refused(
            StatusCode::TOO_MANY_REQUESTS,
            page_texts,
            page_texts.pin_locked,
        ));
    }
    let stored = pin_state.map(|pin| pin.pin_hash);
    let has_pin = stored.is_some();
    // No database connection is held while waiting for a turn to hash, or while hashing.
    drop(client);
    // Verified even for an unknown number, so the answer takes as long either way.
    let Ok(verified) = state
        .password_hashing
        .verify(&device_key, request.pin, stored)
        .await
    else {
        tracing::warn!(device.id = %device.id, "kiosk sign-in refused: PIN hashing busy");
        let mut response = refused(
            StatusCode::TOO_MANY_REQUESTS,
            page_texts,
            page_texts.sign_in_busy,
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from(secret::HashingBusy::RETRY_AFTER_SECONDS),
        );
        return Ok(response);
    };
    let matches = verified && has_pin;
    let client = state.pool.get().await?;
    let prisoner = match found {
        Some(prisoner) if matches => prisoner,
        found => {
            throttle::record_failure(&client, &device_key, &DEVICE_RULE).await?;
            if let Some(prisoner) = found
                && kiosk::record_pin_failure(&client, prisoner.person_id).await?
            {
                return Ok(refused(
                    StatusCode::TOO_MANY_REQUESTS,
                    page_texts,
                    page_texts.pin_locked,
                ));
            }
            return Ok(refused(
                StatusCode::UNAUTHORIZED,
                page_texts,
                page_texts.sign_in_failed,
            ));
        }
    };
    kiosk::clear_pin_failures(&client, prisoner.person_id).await?;
    let language = prisoner.preferred_language.unwrap_or(page_language);
    let token =
        kiosk::start_kiosk_session(&client, prisoner.person_id, device.id, language).await?;
    tracing::info!(device.id = %device.id, "kiosk sign-in");
    let cookie = crate::http::session_cookie(
        kiosk::SESSION_COOKIE,
        &token,
        "/kiosk",
        i64::from(kiosk::KIOSK_ABSOLUTE_SECONDS),
        origin.https,
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/kiosk/home")).into_response())
}
