//! `POST /webhooks/pms/population`: the PMS's daily population of one prison, signed like the
//! events. Stored (person references as HMACs only) and answered with its differences from
//! Saldo's placements.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::problem::Problem;
use crate::services::pms_feed::{self, PopulationDifferences, PopulationSnapshot};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/webhooks/pms/population",
    tag = "pms feed",
    description = "The prison-management system's population of a prison on a date, signed \
        like the events. The same prison and date again: the same list is a no-op, another is \
        409 population_conflict. 422 date_invalid, person_ref_invalid, prison_unknown.",
    params(("webhook-id" = String, Header), ("webhook-timestamp" = String, Header),
           ("webhook-signature" = String, Header)),
    request_body = PopulationSnapshot,
    responses(
        (status = 200, description = "Stored; its differences from Saldo's placements", body = PopulationDifferences),
        (status = 401, description = "Not signed by the feed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "population_conflict", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PopulationDifferences>, Problem> {
    super::verify(&state.pms_feed, &headers, &body)?;
    let snapshot: PopulationSnapshot = super::read_json(&body)?;
    Ok(Json(
        pms_feed::receive_population(&state, &state.pms_feed, &snapshot).await?,
    ))
}
