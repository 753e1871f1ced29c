//! `POST /api/staff/prisons/{prison_id}/staff`: an admin creates a staff account with roles in
//! this prison.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{self, Admins, Grant, RequireRole, Role};
use crate::http::{ApiJson, SortedJson};
use crate::problem::Problem;
use crate::schema::StaffCreated;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// 3 to 64 of a-z 0-9 . _ -, starting with a letter or digit.
    #[schema(
        min_length = 3,
        max_length = 64,
        pattern = "^[a-z0-9][a-z0-9._-]{2,63}$"
    )]
    username: String,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    password: String,
    /// One to five roles.
    #[schema(min_items = 1, max_items = 5)]
    roles: Vec<Role>,
}

#[utoipa::path(
    post, path = "/api/staff/prisons/{prison_id}/staff", tag = "administration", description = "Role: admin in the path's prison. 429 hashing_busy with Retry-After when too many passwords and PINs are being hashed at once.", params(("prison_id" = uuid::Uuid, Path)), request_body = NewStaff, responses((status = 201, description = "Created", body = crate::schema::StaffCreated)),
)]
pub async fn create(
    State(state): State<AppState>,
    access: RequireRole<Admins>,
    ApiJson(request): ApiJson<NewStaff>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    auth::validate_username(&request.username)?;
    auth::validate_password(&request.password)?;
    if request.roles.is_empty() || request.roles.len() > Role::ALL.len() {
        return Err(Problem::unprocessable(
            "roles_invalid",
            "give one to five roles",
        ));
    }
    let hash = match state
        .password_hashing
        .hash_for_request(request.password)
        .await
    {
        Ok(hash) => hash,
        Err(answer) => return Ok(answer),
    };
    let grants: Vec<Grant> = request
        .roles
        .iter()
        .map(|&role| Grant { prison_id, role })
        .collect();
    let client = state.pool.get().await?;
    let staff_id = auth::create_staff(&client, &request.username, &hash, &grants).await?;
    tracing::info!(staff.id = %staff_id, created_by = %access.staff.id, "staff account created");
    Ok((
        StatusCode::CREATED,
        SortedJson(StaffCreated { staff_id, grants }),
    )
        .into_response())
}
