//! Privacy routes for auditors (the data protection officer's role): subject-access exports.
//! One handler per file; documented through their `#[utoipa::path]`.
mod subject_access;
mod subject_access_document;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(subject_access::subject_access_export))
        .routes(routes!(subject_access_document::subject_access_document))
}

pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(axum::middleware::from_fn(crate::http::same_origin_only))
        .layer(axum::middleware::from_fn(crate::http::security_headers))
}

#[derive(serde::Deserialize)]
struct PersonPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    person_id: Uuid,
}

/// Why an auditor may export everything held about a person: the person's own request, an audit,
/// or a complaint. Other purposes of the closed list are no reason to read it all.
const EXPORT_PURPOSES: [crate::identity::access_log::Purpose; 3] = [
    crate::identity::access_log::Purpose::DataSubjectRequest,
    crate::identity::access_log::Purpose::Audit,
    crate::identity::access_log::Purpose::Complaint,
];

/// Builds the export for an auditor of the path's prison, logged under the stated purpose and
/// case reference (`Saldo-Purpose`, `Saldo-Case-Ref`).
async fn build(
    state: &AppState,
    access: &crate::auth::RequireRole<crate::auth::Auditors>,
    stated: crate::http::StatedPurpose,
    person_id: Uuid,
) -> Result<crate::identity::subject_access::SubjectAccessExport, crate::problem::Problem> {
    let prison_id = access.prison()?;
    if !EXPORT_PURPOSES.contains(&stated.purpose) {
        return Err(crate::problem::Problem::bad_request(
            "purpose_invalid",
            "a subject-access export is for data_subject_request, audit or complaint",
        ));
    }
    let who = access.staff.accessor(stated.purpose, stated.case_ref);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let export = crate::identity::subject_access::export(&tx, &who, Some(prison_id), person_id)
        .await
        .map_err(|_| {
            tracing::error!("subject access export failed");
            crate::problem::Problem::internal()
        })?;
    tx.commit().await?;
    export.ok_or_else(|| crate::problem::Problem::not_found("prisoner"))
}
