//! `GET /api/staff/me`: who is signed in, and their grants.
use crate::auth::Staff;
use crate::http::SortedJson;
use crate::schema::MeResponse;

#[utoipa::path(
    get, path = "/api/staff/me", tag = "auth", description = "Any staff.", responses((status = 200, description = "Who is signed in", body = crate::schema::MeResponse)),
)]
pub async fn me(staff: Staff) -> SortedJson<MeResponse> {
    SortedJson(MeResponse {
        staff_id: staff.id,
        username: staff.username,
        grants: staff.grants,
    })
}
