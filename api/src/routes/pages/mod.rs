//! Staff pages: server-rendered HTML (maud), no JavaScript. They sit on the same sessions, roles,
//! access log and shared functions as the staff JSON API; forms are protected against cross-site
//! posts by the same-origin check and `SameSite=Strict` cookies. Without a session a page
//! redirects to the sign-in page.
mod adjustments;
mod books;
mod dead_letters;
mod deposits;
mod fees;
mod home;
pub(crate) mod i18n;
mod layout;
mod lifecycle;
mod payroll;
mod pms_feed;
mod policies;
mod prisoner;
mod sign_in;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The pages and their OpenAPI description, built together like the staff API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in::root))
        .routes(routes!(sign_in::show, sign_in::submit))
        .routes(routes!(sign_in::sign_out))
        .routes(routes!(layout::css))
        .routes(routes!(home::show))
        .routes(routes!(books::show))
        .routes(routes!(dead_letters::show))
        .routes(routes!(dead_letters::retry))
        .routes(routes!(prisoner::lookup))
        .routes(routes!(prisoner::show))
        .routes(routes!(lifecycle::grant_leave))
        .routes(routes!(lifecycle::end_leave))
        .routes(routes!(lifecycle::transfer))
        .routes(routes!(lifecycle::release))
        .routes(routes!(adjustments::show))
        .routes(routes!(pms_feed::show))
        .routes(routes!(pms_feed::replay))
        .routes(routes!(pms_feed::dismiss))
        .routes(routes!(adjustments::propose))
        .routes(routes!(adjustments::approve))
        .routes(routes!(adjustments::reject))
        .routes(routes!(payroll::show, payroll::post))
        .routes(routes!(deposits::show))
        .routes(routes!(deposits::approve))
        .routes(routes!(deposits::reject))
        .routes(routes!(policies::show))
        .routes(routes!(fees::show))
        .routes(routes!(fees::set))
}

pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(axum::middleware::from_fn(crate::http::same_origin_only))
        .layer(axum::middleware::from_fn(crate::http::security_headers))
}
