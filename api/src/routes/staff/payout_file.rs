//! `POST /api/staff/prisons/{prison_id}/payouts/pain001`: the pain.001.001.09 file of every
//! pending payout of the prison, for the trust bank (docs/payouts.md). The payees' names and
//! IBANs are read from the identity store as the file is written, each read logged as a
//! disclosure to the trust bank; the payouts leave the pending list.
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::{FinanceStaff, RequireRole};
use crate::problem::Problem;
use crate::services::bank_rail::write_payout_file;
use crate::state::AppState;

#[utoipa::path(
    post, path = "/api/staff/prisons/{prison_id}/payouts/pain001", tag = "payouts",
    description = "Roles: finance, finance_approver in the path's prison. Writes the payment \
        file (ISO 20022 pain.001.001.09) of the prison's pending payouts, debtor the prison's \
        trust account. Header Saldo-Payout-File names the file's id.",
    params(("prison_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The pain.001 file", body = String, content_type = "application/xml"),
        (status = 409, description = "no_pending_payouts, trust_account_not_configured", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn write(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    let file = write_payout_file(&state.pool, &access.staff, prison_id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"pain001-{}.xml\"", file.message_id),
            ),
            (
                header::HeaderName::from_static("saldo-payout-file"),
                file.file_id.to_string(),
            ),
        ],
        file.bytes,
    )
        .into_response())
}
