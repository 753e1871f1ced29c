//! The OpenAPI document: a committed snapshot (rewrite with `UPDATE_SNAPSHOTS=1`), served at
//! `/openapi.json`, and in step with the router both ways.
use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::Value;
use tower::ServiceExt;

use crate::api_support::World;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/openapi.json");

fn generated() -> String {
    let mut text = saldo::openapi::document().to_pretty_json().unwrap();
    text.push('\n');
    text
}

#[test]
fn the_openapi_document_matches_the_committed_snapshot() {
    let current = generated();
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|value| value == "1") {
        std::fs::write(SNAPSHOT, &current).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT)
        .expect("tests/snapshots/openapi.json is missing: run with UPDATE_SNAPSHOTS=1");
    assert!(
        committed == current,
        "the OpenAPI document changed; review it and run `UPDATE_SNAPSHOTS=1 cargo test -p saldo-tests openapi`"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_the_problem_schema_on_every_operation() {
    let document: Value = serde_json::from_str(&generated()).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        document["components"]["schemas"]["Problem"]["required"],
        serde_json::json!(["type", "title", "status", "code"])
    );
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let default = &operation["responses"]["default"];
            assert!(
                default["content"]["application/problem+json"].is_object(),
                "{method} {path} has no problem+json default response"
            );
        }
    }
    assert!(operations > 40, "only {operations} operations");
    // The webhook and the new routes are described with their schemas.
    let webhook = &document["paths"]["/webhooks/processor"]["post"];
    assert!(webhook["requestBody"]["content"]["application/json"].is_object());
    let propose = &document["paths"]["/api/staff/prisons/{prison_id}/prisoners/{person_id}/adjustments"]
        ["post"];
    assert_eq!(
        propose["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ProposalRequest"
    );
}

/// The route templates axum knows, read from the router's `Debug` output (axum has no public
/// route listing). An empty result fails the test rather than passing it.
fn router_paths(router: &axum::Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let start = debug
        .find("paths: {")
        .expect("router Debug shows its paths");
    let mut paths = BTreeSet::new();
    // `{RouteId(0): "/health", RouteId(1): "/ready", …}`; templates hold `{x}`, so read quoted
    // strings instead of splitting on braces.
    let mut rest = &debug[start..];
    while let Some(open) = rest.find(": \"") {
        let after = &rest[open + 3..];
        let Some(close) = after.find('"') else { break };
        let path = &after[..close];
        if !path.starts_with('/') {
            break;
        }
        paths.insert(path.to_owned());
        rest = &after[close + 1..];
        if !rest.starts_with(", RouteId(") {
            break;
        }
    }
    paths
}

#[tokio::test]
async fn every_route_the_application_answers_is_in_the_document_and_every_documented_route_is_answered()
 {
    let world = World::new().await;
    let router = saldo::app::router(saldo::state::AppState::new(world.db.pool.clone()));
    let paths = router_paths(&router);
    assert!(paths.contains("/health"), "paths read: {paths:?}");
    assert!(
        paths.contains("/webhooks/processor"),
        "paths read: {paths:?}"
    );
    assert!(paths.len() > 30, "paths read: {paths:?}");

    let documented: BTreeSet<(String, String)> =
        saldo::openapi::operations(&saldo::openapi::document())
            .into_iter()
            .collect();
    let mut routed = BTreeSet::new();
    for path in &paths {
        let concrete = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "00000000-0000-0000-0000-000000000000"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            // No credentials and no body: every handler refuses before doing anything, and a
            // method the path does not take is a 405.
            let response = router
                .clone()
                .oneshot(
                    Request::builder()
                        .method(method.clone())
                        .uri(&concrete)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_ne!(response.status(), 404, "{method} {path} fell through");
            if response.status() != 405 {
                routed.insert((method.to_string(), path.clone()));
            }
        }
    }
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document (add them through an OpenApiRouter with #[utoipa::path], \
         or describe them in api/src/openapi.rs): {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
}

#[tokio::test]
async fn the_document_is_served_at_openapi_json() {
    let world = World::new().await;
    let response = world
        .http
        .get(world.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.unwrap();
    let generated: Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(served, generated);
}
