//! Staff pages: server-rendered HTML (maud), no JavaScript.
use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
}
