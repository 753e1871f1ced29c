//! `GET /api/staff/entitlements?at=&prison_id=`: the certified entitlement statement (finance
//! and auditors), and `GET /api/staff/prisons/{prison_id}/prisoners/{person_id}/entitlement-proof?at=`:
//! one prisoner's proof, their own release statement. Both are logged in the access log; both
//! answer the signed file itself (docs/switch-over.md).
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::PrisonerPath;
use crate::auth::{BookReaders, CaseReaders, RequireRole};
use crate::http::{ApiPath, ApiQuery, StatedPurpose};
use crate::identity::access_log::{self, Access, Action, Outcome, SubjectKind};
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// The instant, RFC 3339.
    at: String,
    /// Only the people placed in this prison at the instant.
    #[serde(default)]
    prison_id: Option<Uuid>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// The instant, RFC 3339 (the release).
    at: String,
}

fn parse_at(text: &str) -> Result<OffsetDateTime, Problem> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| Problem::bad_request("invalid_query", "at is an RFC 3339 instant"))
}

fn key(state: &AppState) -> Result<&entitlements::ed25519_dalek::SigningKey, Problem> {
    state.statement_key.as_deref().ok_or_else(|| {
        tracing::error!("no statement signing key configured");
        Problem::internal()
    })
}

fn file(text: String, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

#[utoipa::path(
    get, path = "/api/staff/entitlements", tag = "books", description = "Roles: finance, finance_approver, auditor (any prison). Every person's balance per sub-account at the instant, with held amounts, from the postings alone; bound to the journal's checkpoint chain and signed (Ed25519). The consultation is logged.", params(StatementQuery, ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: a code from the closed list (access log)"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference")), responses((status = 200, description = "The signed statement file (docs/switch-over.md)", body = String, content_type = "application/json")),
)]
pub async fn statement(
    State(state): State<AppState>,
    access: RequireRole<BookReaders>,
    stated: StatedPurpose,
    ApiQuery(query): ApiQuery<StatementQuery>,
) -> Result<Response, Problem> {
    let at = parse_at(&query.at)?;
    let key = key(&state)?;
    let statement =
        crate::services::entitlements::statement(&state.pool, key, at, query.prison_id).await?;
    // Logged before it is answered: a statement whose consultation cannot be logged is not given.
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    access_log::record(
        &state.pool.get().await?,
        &who,
        &Access {
            action: Action::Consult,
            subject_kind: SubjectKind::Prisoner,
            subject_person_id: None,
            prison_id: query.prison_id,
            fields: &[PrisonerField::Balances.as_str()],
            outcome: Outcome::Ok,
            recipient: None,
        },
    )
    .await?;
    Ok(file(
        entitlements::to_file_text(&statement),
        "entitlements.json",
    ))
}

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/entitlement-proof", tag = "prisoners", description = "Roles: officer, finance, finance_approver in the path's prison. The prisoner's own release statement: their line of the signed entitlement statement at the instant and its Merkle path, verifiable offline without anyone else's lines.", params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ProofQuery, ("Saldo-Purpose" = String, Header, description = "Why the data is consulted: a code from the closed list (access log)"), ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference")), responses((status = 200, description = "The signed one-person proof (docs/switch-over.md)", body = String, content_type = "application/json")),
)]
pub async fn proof(
    State(state): State<AppState>,
    access: RequireRole<CaseReaders>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
    ApiQuery(query): ApiQuery<ProofQuery>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    let at = parse_at(&query.at)?;
    let key = key(&state)?;
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    {
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
        tx.commit().await?;
        if found.is_none() {
            return Err(crate::services::no_such_prisoner().into());
        }
    }
    let proof =
        crate::services::entitlements::person_proof(&state.pool, key, at, path.person_id).await?;
    Ok(file(
        entitlements::to_file_text(&proof),
        "entitlement-proof.json",
    ))
}
