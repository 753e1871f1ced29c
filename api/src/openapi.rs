//! The OpenAPI 3.1 document, served at `GET /openapi.json`. The response bodies it describes are
//! the structs the handlers send (`crate::schema`).
//!
//! The staff API, the staff pages, reconciliation and the privacy routes are built with
//! `utoipa-axum`'s `OpenApiRouter`: each route is added through its handler's `#[utoipa::path]`,
//! so router and document come from the same place. Routes built elsewhere (health and
//! readiness, metrics, the kiosk, the processor webhook) are described here by hand;
//! `tests/tests/e2e/api_openapi.rs` checks that every route the application answers is in the
//! document and every documented route is answered, so neither side can drift.
use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

/// A processor webhook (protocol v1, Standard Webhooks): signed with the headers `webhook-id`,
/// `webhook-timestamp` and `webhook-signature`.
#[derive(Serialize, ToSchema)]
pub struct ProcessorWebhook {
    /// `authorization.request`, `authorization.advice`, `authorization.reversal`,
    /// `authorization.expired`, `transaction.clearing`, `transaction.refund`,
    /// `card.state_changed`…
    #[serde(rename = "type")]
    #[schema(example = "authorization.request")]
    pub event_type: String,
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The event's fields (protocol §3): pseudonymous ids and amounts only.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The answer to `authorization.request` (protocol §3.3).
#[derive(Serialize, ToSchema)]
pub struct AuthorizationAnswer {
    /// `APPROVE` or `DECLINE`.
    #[schema(example = "APPROVE")]
    pub decision: String,
    /// Below the requested amount only for a partial approval.
    pub approved_amount: Option<i64>,
    /// `INSUFFICIENT_FUNDS`, `CARD_INACTIVE`, `LIMIT_EXCEEDED`, `UNKNOWN_CARD`…
    pub decline_reason: Option<String>,
}

/// Routes whose handlers live elsewhere, described by hand (the coverage test keeps them true).
#[allow(dead_code)]
mod elsewhere {
    use super::{AuthorizationAnswer, ProcessorWebhook};
    use crate::schema::Status;

    #[utoipa::path(get, path = "/health", tag = "service",
        responses((status = 200, description = "The process is alive", body = Status)))]
    fn health() {}

    #[utoipa::path(get, path = "/ready", tag = "service",
        responses((status = 200, description = "The database answers and its schema is current", body = Status),
                  (status = 503, description = "migrations_pending, database_read_only or database_unavailable", body = crate::problem::Problem, content_type = "application/problem+json")))]
    fn ready() {}

    #[utoipa::path(get, path = "/metrics", tag = "service",
        responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
    fn metrics() {}

    #[utoipa::path(get, path = "/openapi.json", tag = "service",
        responses((status = 200, description = "This document", body = Object)))]
    fn openapi() {}

    #[utoipa::path(post, path = "/webhooks/processor", tag = "processor",
        description = "The processor's signed webhooks (protocol v1). Verified (Standard Webhooks, \
            5-minute tolerance), recorded in the inbox and booked in one transaction before the \
            2xx. `authorization.request` is answered with a decision within 1200 ms (a recorded \
            DECLINE / OTHER when none was made in time); other events with \
            `{\"status\": \"recorded\"}`.",
        params(("webhook-id" = String, Header), ("webhook-timestamp" = String, Header),
               ("webhook-signature" = String, Header)),
        request_body = ProcessorWebhook,
        responses((status = 200, description = "A decision (authorization.request) or {\"status\": \"recorded\"}", body = AuthorizationAnswer),
                  (status = 401, description = "Bad or stale signature", body = crate::problem::Problem, content_type = "application/problem+json"),
                  (status = 503, description = "Not recorded: the processor retries an event; for authorization.request (`decision_not_recorded`: not even a decline could be recorded in time) the processor declines and sends its TIMEOUT advice", body = crate::problem::Problem, content_type = "application/problem+json")))]
    fn webhook() {}

    #[utoipa::path(post, path = "/webhooks/processor/{processor_id}", tag = "processor",
        description = "The same webhooks from a processor beside the default one (`SALDO_PROCESSORS`, \
            during a switch-over: docs/switch-over.md), verified with that processor's own secrets; \
            an unconfigured id is refused like a bad signature. A message about a card of another \
            processor is refused (`422 card_of_another_processor`; an `authorization.request` is \
            answered DECLINE / UNKNOWN_CARD) and nothing is recorded or held.",
        params(("processor_id" = String, Path), ("webhook-id" = String, Header),
               ("webhook-timestamp" = String, Header), ("webhook-signature" = String, Header)),
        request_body = ProcessorWebhook,
        responses((status = 200, description = "A decision (authorization.request) or {\"status\": \"recorded\"}", body = AuthorizationAnswer),
                  (status = 401, description = "Bad or stale signature, or a processor that is not configured", body = crate::problem::Problem, content_type = "application/problem+json"),
                  (status = 422, description = "card_of_another_processor", body = crate::problem::Problem, content_type = "application/problem+json"),
                  (status = 503, description = "Not recorded: the processor retries", body = crate::problem::Problem, content_type = "application/problem+json")))]
    fn processor_webhook() {}

    // The kiosk: server-rendered pages for prisoners (a registered kiosk device is required).
    #[utoipa::path(get, path = "/kiosk", tag = "kiosk",
        params(("lang" = Option<String>, Query)),
        responses((status = 200, description = "The sign-in page", content_type = "text/html", body = String)))]
    fn kiosk_page() {}
    #[utoipa::path(post, path = "/kiosk/sign-in", tag = "kiosk",
        request_body(content_type = "application/x-www-form-urlencoded", content = Object, description = "prisoner_number, pin, lang"),
        responses((status = 303, description = "Signed in: to /kiosk/home"),
                  (status = 401, description = "The sign-in page with a message", content_type = "text/html", body = String)))]
    fn kiosk_sign_in() {}
    #[utoipa::path(get, path = "/kiosk/home", tag = "kiosk",
        responses((status = 200, description = "Balances and recent transactions", content_type = "text/html", body = String),
                  (status = 303, description = "No kiosk session: to /kiosk")))]
    fn kiosk_home() {}
    #[utoipa::path(get, path = "/kiosk/pin", tag = "kiosk",
        responses((status = 200, description = "The PIN change form", content_type = "text/html", body = String)))]
    fn kiosk_pin_form() {}
    #[utoipa::path(post, path = "/kiosk/pin", tag = "kiosk",
        request_body(content_type = "application/x-www-form-urlencoded", content = Object, description = "current_pin, new_pin, new_pin_again"),
        responses((status = 200, description = "The result", content_type = "text/html", body = String)))]
    fn kiosk_pin_change() {}
    #[utoipa::path(post, path = "/kiosk/language", tag = "kiosk",
        request_body(content_type = "application/x-www-form-urlencoded", content = Object, description = "lang"),
        responses((status = 303, description = "Back to the page")))]
    fn kiosk_language() {}
    #[utoipa::path(post, path = "/kiosk/sign-out", tag = "kiosk",
        responses((status = 303, description = "To /kiosk")))]
    fn kiosk_sign_out() {}
    #[utoipa::path(get, path = "/kiosk/enrol", tag = "kiosk",
        responses((status = 200, description = "The form to register this browser as a kiosk", content_type = "text/html")))]
    fn kiosk_enrol_form() {}
    #[utoipa::path(post, path = "/kiosk/enrol", tag = "kiosk",
        description = "Form field `token`: a device token an admin issued. Sets the device cookie.",
        responses((status = 303, description = "Registered: to /kiosk"),
                  (status = 401, description = "Not a valid device token", body = crate::problem::Problem, content_type = "application/problem+json")))]
    fn kiosk_enrol() {}
    #[utoipa::path(get, path = "/kiosk/style.css", tag = "kiosk",
        responses((status = 200, description = "The stylesheet", content_type = "text/css", body = String)))]
    fn kiosk_style() {}
    #[utoipa::path(get, path = "/kiosk/session.js", tag = "kiosk",
        description = "The kiosk's one script: warns before an idle session ends and keeps it \
            with one press (WCAG 2.2.1). Every page works without it.",
        responses((status = 200, description = "The script", content_type = "text/javascript", body = String)))]
    fn kiosk_session_script() {}
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Saldo",
        description = "The system of record for prisoners' money: the staff API, the staff pages, \
            the kiosk, reconciliation and the processor webhook. Errors are RFC 9457 \
            `application/problem+json` (schema `Problem`) with a stable `code`. Amounts are \
            integer minor units. See docs/api.md.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
        version = "1"
    ),
    paths(
        elsewhere::health,
        elsewhere::ready,
        elsewhere::metrics,
        elsewhere::openapi,
        elsewhere::webhook,
        elsewhere::processor_webhook,
        elsewhere::kiosk_page,
        elsewhere::kiosk_sign_in,
        elsewhere::kiosk_home,
        elsewhere::kiosk_pin_form,
        elsewhere::kiosk_pin_change,
        elsewhere::kiosk_language,
        elsewhere::kiosk_sign_out,
        elsewhere::kiosk_enrol_form,
        elsewhere::kiosk_enrol,
        elsewhere::kiosk_style,
        elsewhere::kiosk_session_script,
    ),
    components(schemas(crate::problem::Problem, crate::schema::MoneyDoc))
)]
struct ApiDoc;

/// The complete document: the hand-described routes, then reconciliation, the staff API, the staff
/// pages and the privacy routes as their routers built them, then the shared parts (errors, security) added to every operation.
pub fn document() -> Document {
    let mut document = ApiDoc::openapi();
    document.merge(crate::routes::recon::api().into_openapi());
    document.merge(crate::routes::staff::api().into_openapi());
    document.merge(crate::routes::pages::api().into_openapi());
    document.merge(crate::routes::privacy::api().into_openapi());
    document.merge(crate::routes::pms::api().into_openapi());
    document.merge(crate::routes::services::api().into_openapi());
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The token from POST /api/staff/login"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "staff_cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::STAFF_COOKIE))),
    );
    let problem_content = ContentBuilder::new()
        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            "Problem",
        ))))
        .build();
    let problem = ResponseBuilder::new()
        .description("An error as RFC 9457 problem+json")
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .build();
    // A page answers a person at a browser: its refusals (a role that may not, a form it cannot
    // take) are HTML pages; problem+json stays for what fails before the page is reached.
    let page_problem = ResponseBuilder::new()
        .description("An error: an HTML page, or RFC 9457 problem+json")
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .content(
            "text/html",
            ContentBuilder::new()
                .schema(Some(RefOr::T(utoipa::openapi::schema::Schema::Object(
                    utoipa::openapi::schema::Object::with_type(
                        utoipa::openapi::schema::Type::String,
                    ),
                ))))
                .build(),
        )
        .build();
    let staff_security = vec![
        utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
        utoipa::openapi::security::SecurityRequirement::new("staff_cookie", Vec::<String>::new()),
    ];
    for (path, item) in document.paths.paths.iter_mut() {
        let page = path == "/staff" || path.starts_with("/staff/") || path.starts_with("/kiosk");
        let signed_in = (path.starts_with("/api/staff/") || path.starts_with("/staff/"))
            && path != "/api/staff/login"
            && path != "/staff/sign-in";
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            operation
                .responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| {
                    RefOr::T(if page {
                        page_problem.clone()
                    } else {
                        problem.clone()
                    })
                });
            if signed_in {
                operation.security = Some(staff_security.clone());
            }
            if page {
                // A page's refusal with a status of its own (401, 404, 422) is HTML when the
                // page was reached, problem+json when the request failed before it.
                for (status, response) in operation.responses.responses.iter_mut() {
                    if let (true, RefOr::T(response)) = (status.starts_with('4'), response) {
                        response
                            .content
                            .entry("application/problem+json".to_owned())
                            .or_insert_with(|| problem_content.clone());
                    }
                }
            }
        }
    }
    document
}

static DOCUMENT_JSON: LazyLock<String> =
    LazyLock::new(|| document().to_pretty_json().unwrap_or_default());

/// `GET /openapi.json`.
pub async fn serve() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT_JSON.as_str(),
    )
        .into_response()
}

/// Every (method, path template) the document describes, for the coverage test.
pub fn operations(document: &Document) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in &document.paths.paths {
        for (method, present) in [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ] {
            if present {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    out
}
