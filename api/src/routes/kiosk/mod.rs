//! The prisoners' kiosk: server-rendered pages that need no JavaScript, for a locked-down kiosk
//! browser on a device registered to a prison (one small script only warns before an idle
//! session ends: `session_js`). Every route needs the device token; all but the
//! sign-in page need a prisoner's kiosk session. Staff credentials mean nothing here.
mod card_status;
mod enrol;
mod home;
pub(crate) mod i18n;
mod language;
mod layout;
mod pin;
mod session_js;
mod sign_in;
mod sign_out;
mod style;

pub use card_status::{CardPayment, CardStatus, card_status, recent_card_payments};

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/kiosk", get(sign_in::page))
        .route("/kiosk/enrol", get(enrol::form).post(enrol::enrol))
        .route("/kiosk/sign-in", post(sign_in::sign_in))
        .route("/kiosk/home", get(home::page))
        .route("/kiosk/pin", get(pin::form).post(pin::change))
        .route("/kiosk/language", post(language::switch))
        .route("/kiosk/sign-out", post(sign_out::sign_out))
        .route("/kiosk/style.css", get(style::css))
        .route("/kiosk/session.js", get(session_js::script))
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(axum::middleware::from_fn(crate::http::same_origin_only))
        .layer(axum::middleware::from_fn(crate::http::security_headers))
}
