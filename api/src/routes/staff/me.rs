//! `GET /api/staff/me`: who is signed in, and their grants.
use axum::Json;
use serde_json::{Value, json};

use crate::auth::Staff;

#[utoipa::path(
    get, path = "/api/staff/me", tag = "auth", description = "Any staff.", responses((status = 200, description = "Who is signed in", body = crate::openapi::MeResponse)),
)]
pub async fn me(staff: Staff) -> Json<Value> {
    Json(json!({
        "staff_id": staff.id,
        "username": staff.username,
        "grants": staff.grants,
    }))
}
