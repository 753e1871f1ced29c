//! The staff JSON API. Every handler names its [`crate::auth::Policy`] through
//! [`crate::auth::RequireRole`]; routes under `/api/staff/prisons/{prison_id}/` are scoped to that
//! prison. See docs/api.md for the table of routes and roles.
mod access_log;
mod admit;
mod balances;
mod deposit;
mod depositors;
mod kiosk_devices;
mod login;
mod logout;
mod lookup;
mod me;
mod pin;
mod prisoner;
mod staff_accounts;
mod statement;
mod trial_balance;

use axum::Router;
use axum::routing::{get, post, put};
use uuid::Uuid;

use crate::app::AppState;
use crate::problem::Problem;

pub fn router() -> Router<AppState> {
    const PRISON: &str = "/api/staff/prisons/{prison_id}";
    Router::new()
        .route("/api/staff/login", post(login::login))
        .route("/api/staff/logout", post(logout::logout))
        .route("/api/staff/me", get(me::me))
        .route("/api/staff/trial-balance", get(trial_balance::json))
        .route("/api/staff/trial-balance.csv", get(trial_balance::csv))
        .route(&format!("{PRISON}/staff"), post(staff_accounts::create))
        .route(
            &format!("{PRISON}/kiosk-devices"),
            post(kiosk_devices::issue),
        )
        .route(&format!("{PRISON}/prisoners"), post(admit::admit))
        .route(&format!("{PRISON}/prisoners/lookup"), post(lookup::lookup))
        .route(
            &format!("{PRISON}/prisoners/{{person_id}}"),
            get(prisoner::show),
        )
        .route(
            &format!("{PRISON}/prisoners/{{person_id}}/balances"),
            get(balances::show),
        )
        .route(
            &format!("{PRISON}/prisoners/{{person_id}}/statement"),
            get(statement::show),
        )
        .route(
            &format!("{PRISON}/prisoners/{{person_id}}/pin"),
            put(pin::reset),
        )
        .route(
            &format!("{PRISON}/prisoners/{{person_id}}/deposits"),
            post(deposit::record),
        )
        .route(&format!("{PRISON}/depositors"), post(depositors::create))
        .route(&format!("{PRISON}/access-log"), get(access_log::search))
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(axum::middleware::from_fn(crate::http::same_origin_only))
        .layer(axum::middleware::from_fn(crate::http::security_headers))
}

/// The `{prison_id}/…/{person_id}` pair of a prisoner route.
#[derive(serde::Deserialize)]
struct PrisonerPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    person_id: Uuid,
}

/// A prisoner in another prison, or none at all: the same 404, so scope leaks nothing.
fn no_such_prisoner() -> Problem {
    Problem::not_found("prisoner")
}
