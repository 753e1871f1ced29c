//! `POST /api/staff/prisons/{prison_id}/kiosk-devices`: an admin registers a kiosk and receives
//! its device token, once (only its hash is kept).
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{Admins, RequireRole, kiosk};
use crate::http::{ApiJson, SortedJson};
use crate::problem::Problem;
use crate::schema::{DeviceIssued, SendAs};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// 1 to 100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"
    )]
    label: String,
}

#[utoipa::path(
    post, path = "/api/staff/prisons/{prison_id}/kiosk-devices", tag = "administration", description = "Role: admin in the path's prison. The device token is shown once.", params(("prison_id" = uuid::Uuid, Path)), request_body = NewDevice, responses((status = 201, description = "Registered", body = crate::schema::DeviceIssued)),
)]
pub async fn issue(
    State(state): State<AppState>,
    access: RequireRole<Admins>,
    ApiJson(request): ApiJson<NewDevice>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    let count = request.label.chars().count();
    if !(1..=100).contains(&count) || request.label.chars().any(char::is_control) {
        return Err(Problem::unprocessable(
            "label_invalid",
            "a label is 1 to 100 characters",
        ));
    }
    let client = state.pool.get().await?;
    let (device_id, token) =
        kiosk::issue_device(&client, prison_id, &request.label, access.staff.id).await?;
    tracing::info!(%device_id, %prison_id, issued_by = %access.staff.id, "kiosk device registered");
    Ok((
        StatusCode::CREATED,
        SortedJson(DeviceIssued {
            device_id,
            prison_id,
            device_token: token,
            send_as: SendAs {
                header: kiosk::DEVICE_HEADER.to_owned(),
                or_cookie: kiosk::DEVICE_COOKIE.to_owned(),
            },
        }),
    )
        .into_response())
}
