//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/balances`: posted, held and
//! available per sub-account. Consulting a prisoner's money is logged like their record.
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use super::PrisonerPath;
use crate::app::AppState;
use crate::auth::{CaseReaders, RequireRole};
use crate::http::{ApiPath, StatedPurpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::routes::ledger_views::{SubAccountBalance, balances_of};

#[derive(Serialize)]
pub struct Balances {
    pub person_id: Uuid,
    pub accounts: Vec<SubAccountBalance>,
}

pub async fn show(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
) -> Result<Json<Balances>, Problem> {
    let prison_id = access.prison()?;
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::consult_prisoner(
        &tx,
        &who,
        Some(prison_id),
        path.person_id,
        &[PrisonerField::Balances],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(super::no_such_prisoner());
    }
    let accounts = balances_of(&tx, path.person_id).await?;
    tx.commit().await?;
    Ok(Json(Balances {
        person_id: path.person_id,
        accounts,
    }))
}
