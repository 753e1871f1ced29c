//! `GET /api/staff/prisons/{prison_id}/pms/events`: the prison's feed events in review (with
//! their reason codes) or still waiting for an earlier event of their person. No personal data:
//! types, codes, times and pseudonymous person ids.
use axum::Json;
use axum::extract::State;

use crate::auth::{CaseReaders, RequireRole};
use crate::problem::Problem;
use crate::services::pms_feed::{self, FeedEventView};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/pms/events",
    tag = "pms feed",
    description = "Roles: officer, finance, finance_approver in the path's prison. The feed's \
        events of the prison in review or pending, oldest first (at most 500).",
    params(("prison_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Events in review or waiting", body = Vec<FeedEventView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
) -> Result<Json<Vec<FeedEventView>>, Problem> {
    let prison_id = access.prison()?;
    Ok(Json(pms_feed::unsettled(&state, prison_id).await?))
}
