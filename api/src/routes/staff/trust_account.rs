//! `GET` and `PUT /api/staff/prisons/{prison_id}/trust-account`: the prison's trust bank account
//! (IBAN, currency, start of the reconciliation period). Bank statements are imported for a
//! prison only when they are of this account (`recon::trust_account`). Institutional data, no
//! personal data: not access-logged, but every setting stays on record (append-only).
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::auth::{Policy, RequireRole, Role, Scope};
use crate::http::ApiJson;
use crate::problem::Problem;
use crate::state::AppState;
use recon::trust_account;

/// A prison's trust account as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TrustAccount {
    pub prison_id: uuid::Uuid,
    /// Upper case, no spaces.
    #[schema(example = "FI2112345600000785")]
    pub iban: String,
    #[schema(value_type = String, example = "EUR")]
    pub currency: ledger::Currency,
    /// The first day reconciled: a statement closing before it is refused.
    #[serde(with = "ledger::date_format")]
    #[schema(value_type = String, format = Date, example = "2026-11-01")]
    pub reconcile_from: Date,
    /// The member of staff (id) or `cli:<name>` who set it.
    pub configured_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub configured_at: time::OffsetDateTime,
}

impl From<trust_account::TrustAccount> for TrustAccount {
    fn from(account: trust_account::TrustAccount) -> TrustAccount {
        TrustAccount {
            prison_id: account.prison_id,
            iban: account.iban,
            currency: account.currency,
            reconcile_from: account.reconcile_from,
            configured_by: account.configured_by,
            configured_at: account.configured_at,
        }
    }
}

/// Who may see a prison's trust account: finance staff and auditors of that prison.
pub struct TrustAccountReaders;
impl Policy for TrustAccountReaders {
    const ROLES: &'static [Role] = &[Role::Finance, Role::FinanceApprover, Role::Auditor];
    const SCOPE: Scope = Scope::PathPrison;
}

/// Who may set it: a finance approver of that prison (the account statements are trusted from).
pub struct TrustAccountSetters;
impl Policy for TrustAccountSetters {
    const ROLES: &'static [Role] = &[Role::FinanceApprover];
    const SCOPE: Scope = Scope::PathPrison;
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustAccountRequest {
    /// The account's IBAN; spaces and lower case are accepted, the ISO 13616 mod-97 check must
    /// hold (`422 iban_invalid`).
    #[schema(
        example = "FI21 1234 5600 0007 85",
        min_length = 15,
        max_length = 42,
        pattern = "^[A-Za-z]{2}[0-9]{2}[A-Za-z0-9 ]{11,38}$"
    )]
    pub iban: String,
    /// ISO 4217 code of a currency the ledger keeps (`422 currency_invalid`,
    /// `currency_unsupported`).
    #[schema(
        example = "EUR",
        min_length = 3,
        max_length = 3,
        pattern = "^[A-Z]{3}$"
    )]
    pub currency: String,
    /// The first day reconciled (YYYY-MM-DD, not after tomorrow): statements closing before it
    /// are refused. Default: 35 days before today.
    #[serde(default)]
    #[schema(format = Date, example = "2026-11-01")]
    pub reconcile_from: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/staff/prisons/{prison_id}/trust-account",
    tag = "reconciliation",
    description = "Roles: finance, finance_approver, auditor in the path's prison. The trust bank \
        account this prison's bank statements must be of.",
    params(("prison_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The account in force", body = TrustAccount),
        (status = 404, description = "trust_account_not_configured", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    access: RequireRole<TrustAccountReaders>,
) -> Result<Json<TrustAccount>, Problem> {
    let prison_id = access.prison()?;
    let client = state.pool.get().await?;
    trust_account::current(&client, prison_id)
        .await?
        .map(|account| Json(account.into()))
        .ok_or_else(|| {
            Problem::new(
                axum::http::StatusCode::NOT_FOUND,
                "trust_account_not_configured",
                Some("this prison has no trust account configured".into()),
            )
        })
}

#[utoipa::path(
    put,
    path = "/api/staff/prisons/{prison_id}/trust-account",
    tag = "reconciliation",
    description = "Role: finance_approver in the path's prison. Sets the prison's trust bank \
        account: from then on a bank statement of another IBAN or currency, or closing outside \
        the reconciliation period, is refused whole. The same setting again changes nothing; a \
        new one is recorded beside the old (append-only).",
    params(("prison_id" = uuid::Uuid, Path)),
    request_body = TrustAccountRequest,
    responses(
        (status = 200, description = "The account in force", body = TrustAccount),
        (status = 422, description = "iban_invalid, currency_invalid, currency_unsupported, reconcile_from_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn set(
    State(state): State<AppState>,
    access: RequireRole<TrustAccountSetters>,
    ApiJson(request): ApiJson<TrustAccountRequest>,
) -> Result<Json<TrustAccount>, Problem> {
    let prison_id = access.prison()?;
    let reconcile_from = request
        .reconcile_from
        .as_deref()
        .map(|text| {
            Date::parse(text, &time::format_description::well_known::Iso8601::DATE).map_err(|_| {
                Problem::unprocessable("reconcile_from_invalid", "reconcile_from is YYYY-MM-DD")
            })
        })
        .transpose()?;
    let client = state.pool.get().await?;
    let account = trust_account::configure(
        &client,
        prison_id,
        &request.iban,
        &request.currency,
        reconcile_from,
        &access.staff.id.to_string(),
    )
    .await?;
    tracing::info!(%prison_id, staff.id = %access.staff.id, "trust account set");
    Ok(Json(account.into()))
}
