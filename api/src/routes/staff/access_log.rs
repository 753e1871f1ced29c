//! `GET /api/staff/prisons/{prison_id}/access-log?person_id=&actor_id=&since=&until=&after_id=&limit=`:
//! auditors search the access log of their prison. The search is itself logged.
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::auth::{Auditors, RequireRole};
use crate::http::{ApiQuery, SortedJson};
use crate::identity::access_log::{self, Purpose, SearchFilter};
use crate::problem::Problem;
use crate::schema::AccessLogPage;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    #[serde(default)]
    person_id: Option<Uuid>,
    #[serde(default)]
    actor_id: Option<Uuid>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    after_id: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

fn parse_time(text: Option<&str>) -> Result<Option<OffsetDateTime>, Problem> {
    text.map(|text| {
        OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| Problem::bad_request("invalid_query", "times are RFC 3339"))
    })
    .transpose()
}

#[utoipa::path(
    get, path = "/api/staff/prisons/{prison_id}/access-log", tag = "audit", description = "Role: auditor in the path's prison. The search is itself logged.", params(("prison_id" = uuid::Uuid, Path), SearchQuery), responses((status = 200, description = "Rows, keyset-paginated", body = crate::schema::AccessLogPage)),
)]
pub async fn search(
    State(state): State<AppState>,
    access: RequireRole<Auditors>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<SortedJson<AccessLogPage>, Problem> {
    let prison_id = access.prison()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=access_log::MAX_SEARCH_PAGE).contains(&limit) {
        return Err(Problem::bad_request("invalid_query", "limit is 1 to 500"));
    }
    let filter = SearchFilter {
        prison_id,
        subject_person_id: query.person_id,
        actor_id: query.actor_id,
        since: parse_time(query.since.as_deref())?,
        until: parse_time(query.until.as_deref())?,
        after_id: query.after_id,
        limit,
    };
    let who = access.staff.accessor(Purpose::Audit, None);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let rows = access_log::search(&tx, &who, &filter).await?;
    tx.commit().await?;
    let next_after_id = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|row| row.id))
        .flatten();
    Ok(SortedJson(AccessLogPage {
        rows,
        next_after_id,
    }))
}
