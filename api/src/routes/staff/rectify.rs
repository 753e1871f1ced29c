//! `POST /api/staff/prisons/{prison_id}/prisoners/{person_id}/rectification`: an officer
//! rectifies a prisoner's record (LED Art. 16(1), GDPR Art. 16) through
//! `identity::store::rectify_prisoner`: the fields given replace the record's, the record is
//! sealed again, the change logged with the stated purpose and the field names (never values).
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::PrisonerPath;
use super::admit::parse_date;
use crate::auth::{Officers, RequireRole};
use crate::http::{ApiJson, ApiPath, StatedPurpose};
use crate::identity::{self, Rectification};
use crate::problem::Problem;
use crate::state::AppState;
use ledger::controls::Lang;

/// A present field, `null` included (`Some(None)`: clear it), apart from an absent one (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The fields to replace; absent fields stay as they are, `null` clears an optional one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RectifyRequest {
    /// Unique in the service (`409 prisoner_number_taken`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9-]{1,32}$")]
    pub prisoner_number: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: Option<String>,
    /// 1 to 32 of A-Z 0-9 - + /; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 32, pattern = "^[A-Za-z0-9+/-]{1,32}$")]
    pub national_id: Option<Option<String>>,
    /// `YYYY-MM-DD`; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date, nullable)]
    pub date_of_birth: Option<Option<String>>,
    #[serde(default)]
    pub preferred_language: Option<Lang>,
    /// 1 to 64 characters; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, min_length = 1, max_length = 64)]
    pub unit: Option<Option<String>>,
    /// An IBAN (upper case, no spaces, mod-97 checked); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, pattern = "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")]
    pub payout_iban: Option<Option<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rectified {
    pub person_id: Uuid,
    /// The names of the fields replaced (never their values).
    #[schema(example = json!(["full_name", "payout_iban"]))]
    pub fields: Vec<&'static str>,
}

#[utoipa::path(
    post,
    path = "/api/staff/prisons/{prison_id}/prisoners/{person_id}/rectification",
    tag = "prisoners",
    description = "Role: officer in the path's prison. Rectifies the record: the fields given \
        replace the old ones (null clears an optional one). Logged as a change with the stated \
        purpose and the field names. Repeating it changes nothing more.",
    params(("prison_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path),
        ("Saldo-Purpose" = String, Header, description = "Why: a code from the closed list (access log), e.g. data_subject_request", pattern = r"^(admission|case_management|balance_enquiry|deposit|prisoner_request|release_preparation|complaint|data_subject_request|audit|pin_management)$"),
        ("Saldo-Case-Ref" = Option<String>, Header, description = "Optional case reference", pattern = r"^[A-Za-z0-9_./-]{1,64}$")),
    request_body = RectifyRequest,
    responses(
        (status = 200, description = "Rectified", body = Rectified),
        (status = 400, description = "purpose_required, purpose_invalid", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found: no such prisoner in this prison", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "prisoner_number_taken", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "nothing_to_rectify, date_invalid, iban_invalid, name_invalid, unit_invalid, …", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn rectify(
    State(state): State<AppState>,
    access: RequireRole<Officers>,
    ApiPath(path): ApiPath<PrisonerPath>,
    stated: StatedPurpose,
    ApiJson(request): ApiJson<RectifyRequest>,
) -> Result<Json<Rectified>, Problem> {
    let prison_id = access.prison()?;
    let date_of_birth = match request.date_of_birth {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => Some(Some(parse_date(&text)?)),
    };
    let change = Rectification {
        prisoner_number: request.prisoner_number,
        full_name: request.full_name,
        national_id: request.national_id,
        date_of_birth,
        preferred_language: request.preferred_language,
        unit: request.unit,
        payout_iban: request.payout_iban,
    };
    let fields: Vec<&'static str> = [
        ("prisoner_number", change.prisoner_number.is_some()),
        ("full_name", change.full_name.is_some()),
        ("national_id", change.national_id.is_some()),
        ("date_of_birth", change.date_of_birth.is_some()),
        ("preferred_language", change.preferred_language.is_some()),
        ("unit", change.unit.is_some()),
        ("payout_iban", change.payout_iban.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    if fields.is_empty() {
        return Err(Problem::unprocessable(
            "nothing_to_rectify",
            "name at least one field to replace",
        ));
    }
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found =
        identity::store::rectify_prisoner(&tx, &who, Some(prison_id), path.person_id, &change)
            .await?;
    // Committed either way: a miss stays logged (`not_found`).
    tx.commit().await?;
    if !found {
        return Err(crate::services::no_such_prisoner().into());
    }
    tracing::info!(person_id = %path.person_id, %prison_id, staff.id = %access.staff.id,
        "prisoner record rectified");
    Ok(Json(Rectified {
        person_id: path.person_id,
        fields,
    }))
}
