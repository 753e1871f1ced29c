//! `POST /api/staff/prisons/{prison_id}/prisoners/lookup`: find a prisoner of this prison by
//! prisoner number. A POST so the number travels in the body, never in a logged URL.
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::auth::{CaseReaders, RequireRole};
use crate::http::{ApiJson, StatedPurpose};
use crate::identity::{self, PrisonerField, PrisonerView};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// 1 to 32 of A-Z a-z 0-9 -.
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9-]{1,32}$")]
    prisoner_number: String,
}

#[utoipa::path(
    post, path = "/api/staff/prisons/{prison_id}/prisoners/lookup", tag = "prisoners", description = "Roles: officer, finance, finance_approver in the path's prison.", params(("prison_id" = uuid::Uuid, Path), ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: a code from the closed list (access log)", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference", pattern = r"^[A-Za-z0-9_./-]{1,64}$")), request_body = Lookup, responses((status = 200, description = "The record", body = crate::identity::PrisonerView)),
)]
pub async fn lookup(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
    stated: StatedPurpose,
    ApiJson(request): ApiJson<Lookup>,
) -> Result<Json<PrisonerView>, Problem> {
    let prison_id = access.prison()?;
    identity::validate::prisoner_number(&request.prisoner_number)?;
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::find_by_prisoner_number(
        &tx,
        &who,
        prison_id,
        &request.prisoner_number,
        &PrisonerField::RECORD,
    )
    .await?;
    // Committed either way: the log row of an unsuccessful look-up is kept too.
    tx.commit().await?;
    found
        .map(Json)
        .ok_or_else(|| crate::services::no_such_prisoner().into())
}
