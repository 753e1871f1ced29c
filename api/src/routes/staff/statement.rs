//! `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/statement?account=spendable&after_posting_id=&limit=`:
//! one sub-account's postings, oldest first, keyset-paginated.
use axum::extract::State;
use serde::Deserialize;

use super::PrisonerPath;
use crate::auth::{CaseReaders, RequireRole};
use crate::http::{ApiPath, ApiQuery, SortedJson, StatedPurpose};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::schema::StatementResponse;
use crate::state::AppState;

pub const DEFAULT_PAGE: i64 = 50;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    after_posting_id: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/statement", tag = "prisoners", description = "Roles: officer, finance, finance_approver in the path's prison. Keyset-paginated, oldest first.", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: a code from the closed list (access log)", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference", pattern = r"^[A-Za-z0-9_./-]{1,64}$"), StatementQuery), responses((status = 200, description = "A page of postings", body = crate::schema::StatementResponse)),
)]
pub async fn show(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
    ApiQuery(query): ApiQuery<StatementQuery>,
) -> Result<SortedJson<StatementResponse>, Problem> {
    let prison_id = access.prison()?;
    let purpose = query
        .account
        .unwrap_or_else(|| ledger::person_purpose::SPENDABLE.to_owned());
    if !crate::services::SUB_ACCOUNTS.contains(&purpose.as_str()) {
        return Err(Problem::bad_request(
            "invalid_query",
            "account is spendable, release_savings or held_deposits",
        ));
    }
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::consult_prisoner(
        &tx,
        &who,
        Some(prison_id),
        path.person_id,
        &[PrisonerField::Statement],
    )
    .await?;
    if found.is_none() {
        tx.commit().await?;
        return Err(crate::services::no_such_prisoner().into());
    }
    let code = format!("person:{}:{purpose}:EUR", path.person_id);
    let account = ledger::store::account_by_code(&tx, &code)
        .await?
        .ok_or_else(|| Problem::not_found("account"))?;
    let page = ledger::store::statement(&tx, account.id, query.after_posting_id, limit).await?;
    tx.commit().await?;
    Ok(SortedJson(StatementResponse {
        person_id: path.person_id,
        account_id: account.id,
        account: purpose,
        lines: page.lines,
        next_after_posting_id: page.next_after_posting_id,
    }))
}
