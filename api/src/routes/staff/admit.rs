//! `POST /api/staff/prisons/{prison_id}/prisoners`: admission. Creates the identity record, opens
//! the prisoner's ledger sub-accounts and sets the kiosk PIN, in one transaction.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ledger::controls::Regime;
use serde::Deserialize;

use crate::auth::{Officers, RequireRole, kiosk};
use crate::http::{ApiJson, SortedJson};
use crate::identity::access_log::Purpose;
use crate::identity::{self, NewPrisoner};
use crate::problem::Problem;
use crate::schema::Admitted;
use crate::state::AppState;
use ledger::controls::Lang;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    /// Unique in the service (`409 prisoner_number_taken`).
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9-]{1,32}$")]
    prisoner_number: String,
    /// 1 to 200 characters, not only spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    full_name: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9+/-]{1,32}$")]
    national_id: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    #[schema(format = Date)]
    date_of_birth: Option<String>,
    preferred_language: Lang,
    /// 1 to 64 characters, no control characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"
    )]
    unit: Option<String>,
    /// An IBAN, upper case without spaces; its mod-97 check must hold (`422 iban_invalid`).
    #[serde(default)]
    #[schema(
        min_length = 15,
        max_length = 34,
        pattern = "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"
    )]
    payout_iban: Option<String>,
    /// 4 to 8 digits.
    #[schema(min_length = 4, max_length = 8, pattern = "^[0-9]{4,8}$")]
    pin: String,
    /// Which of the prison's policies the card follows: `closed_prison` (the default),
    /// `open_prison` or `remand`.
    #[serde(default)]
    #[schema(value_type = Option<super::freeze_resolve::RegimeDoc>)]
    prison_regime: Option<String>,
}

pub fn parse_date(text: &str) -> Result<time::Date, Problem> {
    ledger::model::date_format::parse(text)
        .ok_or_else(|| Problem::unprocessable("date_invalid", "a date is YYYY-MM-DD"))
}

#[utoipa::path(
    post, path = "/api/staff/prisons/{prison_id}/prisoners", tag = "prisoners", description = "Role: officer in the path's prison. 409 prisoner_number_taken; 429 hashing_busy with Retry-After when too many passwords and PINs are being hashed at once.", params(("prison_id" = uuid::Uuid, Path)), request_body = Admission, responses((status = 201, description = "Admitted", body = crate::schema::Admitted)),
)]
pub async fn admit(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiJson(request): ApiJson<Admission>,
) -> Result<Response, Problem> {
    let prison_id = access.prison()?;
    identity::validate::pin(&request.pin)?;
    let prison_regime = request
        .prison_regime
        .as_deref()
        .map(ledger::policy_store::parse_regime)
        .transpose()?
        .unwrap_or(Regime::ClosedPrison);
    let date_of_birth = request
        .date_of_birth
        .as_deref()
        .map(parse_date)
        .transpose()?;
    let prisoner = NewPrisoner {
        prisoner_number: request.prisoner_number,
        full_name: request.full_name,
        national_id: request.national_id,
        date_of_birth,
        preferred_language: request.preferred_language,
        unit: request.unit,
        payout_iban: request.payout_iban,
    };
    // Hashed before the transaction opens: no row lock waits on argon2.
    let pin_hash = match state.password_hashing.hash_for_request(request.pin).await {
        Ok(hash) => hash,
        Err(answer) => return Ok(answer),
    };
    let who = access.staff.accessor(Purpose::Admission, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let (person_id, accounts) = crate::services::admission::admit_in(
        &tx,
        &who,
        prison_id,
        &prisoner,
        prison_regime,
        &access.staff.id.to_string(),
    )
    .await?;
    kiosk::set_pin(&tx, person_id, &pin_hash).await?;
    tx.commit().await?;
    tracing::info!(%person_id, %prison_id, staff.id = %access.staff.id, "prisoner admitted");
    Ok((
        StatusCode::CREATED,
        SortedJson(Admitted {
            person_id,
            prison_id,
            regime: identity::Regime::Led,
            prison_regime: ledger::policy_store::regime_str(prison_regime).to_owned(),
            accounts,
        }),
    )
        .into_response())
}
