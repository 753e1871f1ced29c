//! `POST /kiosk/language`: the signed-in prisoner switches the kiosk's language.
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::kiosk::{self, KioskSession};
use crate::http::HtmlForm;
use crate::problem::Problem;
use crate::state::AppState;
use ledger::controls::Lang;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageForm {
    lang: String,
}

pub async fn switch(
    State(state): State<AppState>,
    session: KioskSession,
    HtmlForm(request): HtmlForm<LanguageForm>,
) -> Result<Response, Problem> {
    let language = Lang::parse(&request.lang)
        .ok_or_else(|| Problem::unprocessable("language_invalid", "not a supported language"))?;
    let client = state.pool.get().await?;
    kiosk::set_session_language(&client, &session.session_sha256, language).await?;
    Ok(Redirect::to("/kiosk/home").into_response())
}
