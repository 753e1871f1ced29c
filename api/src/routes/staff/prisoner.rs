//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}`: a prisoner's record (logged).
use axum::Json;
use axum::extract::State;

use super::PrisonerPath;
use crate::app::AppState;
use crate::auth::{CaseReaders, RequireRole};
use crate::http::{ApiPath, StatedPurpose};
use crate::identity::{self, PrisonerField, PrisonerView};
use crate::problem::Problem;

pub async fn show(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
) -> Result<Json<PrisonerView>, Problem> {
    let prison_id = access.prison()?;
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::consult_prisoner(
        &tx,
        &who,
        Some(prison_id),
        path.person_id,
        &PrisonerField::RECORD,
    )
    .await?;
    tx.commit().await?;
    found.map(Json).ok_or_else(super::no_such_prisoner)
}
