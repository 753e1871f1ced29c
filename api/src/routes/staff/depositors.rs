//! `POST /api/staff/prisons/{prison_id}/depositors`: registers a family member or other outside
//! person who sends money (a GDPR record).
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{FinanceStaff, RequireRole};
use crate::http::{ApiJson, SortedJson};
use crate::identity::access_log::Purpose;
use crate::identity::{self, NewDepositor};
use crate::problem::Problem;
use crate::schema::DepositorCreated;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositorRequest {
    /// 1 to 200 characters, not only spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    full_name: String,
    /// 1 to 200 characters, no control characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"
    )]
    contact: Option<String>,
    /// An IBAN, upper case without spaces; its mod-97 check must hold (`422 iban_invalid`).
    #[serde(default)]
    #[schema(
        min_length = 15,
        max_length = 34,
        pattern = "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"
    )]
    bank_account: Option<String>,
}

#[utoipa::path(
    post, path = "/api/staff/prisons/{prison_id}/depositors", tag = "money", description = "Roles: finance, finance_approver in the path's prison.", params(("prison_id" = uuid::Uuid, Path)), request_body = DepositorRequest, responses((status = 201, description = "Registered", body = crate::schema::DepositorCreated)),
)]
pub async fn create(
    State(state): State<AppState>,
    access: RequireRole<FinanceStaff>,
    ApiJson(request): ApiJson<DepositorRequest>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    let who = access.staff.accessor(Purpose::Deposit, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let person_id = identity::store::create_depositor(
        &tx,
        &who,
        prison_id,
        &NewDepositor {
            full_name: request.full_name,
            contact: request.contact,
            bank_account: request.bank_account,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        SortedJson(DepositorCreated {
            person_id,
            regime: identity::Regime::Gdpr,
        }),
    )
        .into_response())
}
