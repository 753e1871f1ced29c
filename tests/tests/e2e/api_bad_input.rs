//! Bad input on every route is a 4xx problem+json with a stable code, and changes nothing.
use reqwest::Method;
use saldo::auth::Role;
use serde_json::{Value, json};

use crate::api_support::*;

/// Every JSON route with a valid body, to be spoiled in each way.
fn json_routes(world: &World, person: uuid::Uuid) -> Vec<(Method, String, Value)> {
    let prison = |rest: &str| world.prison_url(world.prison_a, rest);
    vec![
        (
            Method::POST,
            world.url("/api/staff/login"),
            json!({"username": "admin.a", "password": PASSWORD}),
        ),
        (
            Method::POST,
            prison("/staff"),
            json!({"username": "someone", "password": PASSWORD, "roles": ["officer"]}),
        ),
        (
            Method::POST,
            prison("/kiosk-devices"),
            json!({"label": "k"}),
        ),
        (Method::POST, prison("/prisoners"), admission("BAD-1")),
        (
            Method::POST,
            prison("/prisoners/lookup"),
            json!({"prisoner_number": "BAD-0"}),
        ),
        (
            Method::PUT,
            prison(&format!("/prisoners/{person}/pin")),
            json!({"pin": "1234"}),
        ),
        (
            Method::POST,
            prison(&format!("/prisoners/{person}/deposits")),
            json!({"idempotency_key": "b", "source": "cash_at_intake", "amount_minor": 100, "currency": "EUR"}),
        ),
        (
            Method::POST,
            prison("/depositors"),
            json!({"full_name": "Someone"}),
        ),
        (
            Method::POST,
            prison(&format!("/prisoners/{person}/leave")),
            json!({"idempotency_key": "l", "from": "2030-01-01T08:00:00Z",
                "until": "2030-01-02T08:00:00Z", "limits": {"daily_minor": 100}}),
        ),
        (
            Method::POST,
            prison(&format!("/prisoners/{person}/transfer")),
            json!({"idempotency_key": "t", "to_prison_id": world.prison_b}),
        ),
        (
            Method::POST,
            prison(&format!("/prisoners/{person}/release")),
            json!({"idempotency_key": "r", "savings": "to_spendable"}),
        ),
        (
            Method::POST,
            prison(&format!("/deposits/{}/reject", uuid::Uuid::now_v7())),
            json!({"reason": "bad input"}),
        ),
        (
            Method::POST,
            prison(&format!("/depositors/{}/approval", uuid::Uuid::now_v7())),
            json!({"person_id": person, "approved": true}),
        ),
        (
            Method::POST,
            prison("/policies"),
            json!({"policy": ledger::controls::Policy::closed_prison("bad-input", 1, "FI", &[])}),
        ),
        (
            Method::POST,
            prison(&format!("/prisoners/{person}/overrides")),
            json!({"override_id": "o-1", "change": {"change": "allow_mcc", "mcc": "5942"},
                   "reason": "r", "requested_by": person}),
        ),
        (
            Method::POST,
            prison(&format!("/prisoners/{person}/overrides/o-1/revoke")),
            json!({"reason": "r"}),
        ),
    ]
}

/// Replaces the first field's value with one of the wrong type.
fn wrong_type(body: &Value) -> Value {
    let mut body = body.clone();
    let object = body.as_object_mut().unwrap();
    let first = object.keys().next().unwrap().clone();
    object.insert(first, json!({"nested": [1, 2.5]}));
    body
}

#[tokio::test]
async fn malformed_wrongly_typed_unknown_oversized_and_mistyped_bodies_are_refused_on_every_json_route()
 {
    let world = World::new().await;
    let everyone = world.staff("all.roles", &Role::ALL, world.prison_a).await;
    let person = world.admit(&everyone, world.prison_a, "BAD-0").await;
    let before = (world.table_counts().await, world.access_log().await.len());
    for (method, url, body) in json_routes(&world, person) {
        let send = |content_type: &'static str, raw: String| {
            world
                .http
                .request(method.clone(), &url)
                .bearer_auth(&everyone.token)
                .header("saldo-purpose", "case_management")
                .header("content-type", content_type)
                .body(raw)
                .send()
        };
        let mut unknown = body.clone();
        unknown["is_admin"] = json!(true);
        let cases: Vec<(&str, &'static str, String, u16, &str)> = vec![
            (
                "malformed",
                "application/json",
                "{\"".to_owned(),
                400,
                "malformed_json",
            ),
            (
                "not json at all",
                "application/json",
                "hello".to_owned(),
                400,
                "malformed_json",
            ),
            (
                "wrong type",
                "application/json",
                wrong_type(&body).to_string(),
                422,
                "invalid_body",
            ),
            (
                "unknown field",
                "application/json",
                unknown.to_string(),
                422,
                "invalid_body",
            ),
            (
                "array",
                "application/json",
                "[]".to_owned(),
                422,
                "invalid_body",
            ),
            (
                "empty",
                "application/json",
                String::new(),
                400,
                "malformed_json",
            ),
            (
                "form",
                "application/x-www-form-urlencoded",
                "a=b".to_owned(),
                415,
                "unsupported_media_type",
            ),
            (
                "oversized",
                "application/json",
                format!("{{\"pad\": \"{}\"}}", "x".repeat(64 * 1024)),
                413,
                "body_too_large",
            ),
        ];
        for (what, content_type, raw, status, code) in cases {
            let (got, problem) = problem(send(content_type, raw).await.unwrap()).await;
            assert_eq!(
                (got, problem["code"].as_str()),
                (status, Some(code)),
                "{what}: {method} {url}"
            );
            assert_eq!(problem["status"], status);
            assert!(problem["type"].as_str().unwrap().ends_with(code));
        }
    }
    assert_eq!(
        (world.table_counts().await, world.access_log().await.len()),
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn amounts_with_fractions_unknown_currencies_and_out_of_range_values_are_refused() {
    let world = World::new().await;
    let staff = world.staff("all.roles", &Role::ALL, world.prison_a).await;
    let person = world.admit(&staff, world.prison_a, "BAD-2").await;
    let before = world.table_counts().await;
    let url = world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits"));
    for (body, code) in [
        (
            json!({"idempotency_key": "a", "source": "cash_at_intake", "amount_minor": 12.5, "currency": "EUR"}),
            "invalid_body",
        ),
        (
            json!({"idempotency_key": "a", "source": "cash_at_intake", "amount_minor": "100", "currency": "EUR"}),
            "invalid_body",
        ),
        (
            json!({"idempotency_key": "a", "source": "cash_at_intake", "amount_minor": 100, "currency": "XXX"}),
            "invalid_body",
        ),
        (
            json!({"idempotency_key": "a", "source": "lottery", "amount_minor": 100, "currency": "EUR"}),
            "invalid_body",
        ),
        (
            json!({"idempotency_key": "a", "source": "cash_at_intake", "amount_minor": 0, "currency": "EUR"}),
            "amount_not_positive",
        ),
        (
            json!({"idempotency_key": "a", "source": "cash_at_intake", "amount_minor": -5, "currency": "EUR"}),
            "amount_not_positive",
        ),
        (
            json!({"idempotency_key": "a", "source": "cash_at_intake", "amount_minor": 100, "currency": "SEK"}),
            "currency_not_supported",
        ),
        (
            json!({"idempotency_key": "", "source": "cash_at_intake", "amount_minor": 100, "currency": "EUR"}),
            "idempotency_key_invalid",
        ),
        (
            json!({"idempotency_key": "a", "source": "cash_at_intake", "amount_minor": 100, "currency": "EUR", "depositor_person_id": "nope"}),
            "invalid_body",
        ),
    ] {
        let response = world
            .http
            .post(&url)
            .bearer_auth(&staff.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert!((400..500).contains(&status));
        assert_eq!(problem["code"], code, "{body}");
    }
    let admit = world.prison_url(world.prison_a, "/prisoners");
    for (field, value, code) in [
        (
            "prisoner_number",
            json!("has space"),
            "prisoner_number_invalid",
        ),
        (
            "prisoner_number",
            json!("x".repeat(33)),
            "prisoner_number_invalid",
        ),
        ("full_name", json!(""), "name_invalid"),
        ("full_name", json!("tab\there"), "name_invalid"),
        ("payout_iban", json!("FI2112345600000786"), "iban_invalid"),
        ("date_of_birth", json!("1990-02-30"), "date_invalid"),
        ("preferred_language", json!("klingon"), "invalid_body"),
        ("pin", json!("12"), "pin_invalid"),
        ("pin", json!("abcd"), "pin_invalid"),
        ("national_id", json!("with space"), "national_id_invalid"),
    ] {
        let mut body = admission("BAD-3");
        body[field] = value;
        let response = world
            .http
            .post(&admit)
            .bearer_auth(&staff.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some(code)),
            "{field}"
        );
    }
    assert_eq!(world.table_counts().await, before, "nothing changed");
}

#[tokio::test]
async fn malformed_paths_and_query_strings_are_refused_as_problems() {
    let world = World::new().await;
    let staff = world.staff("all.roles", &Role::ALL, world.prison_a).await;
    let person = world.admit(&staff, world.prison_a, "BAD-4").await;
    let get = |url: String| {
        world
            .http
            .get(url)
            .bearer_auth(&staff.token)
            .header("saldo-purpose", "case_management")
            .send()
    };
    let cases = [
        (
            world.url(&format!("/api/staff/prisons/not-a-uuid/prisoners/{person}")),
            400,
            "invalid_path",
        ),
        (
            world.prison_url(world.prison_a, "/prisoners/not-a-uuid"),
            400,
            "invalid_path",
        ),
        (
            world.prison_url(world.prison_a, "/prisoners/not-a-uuid/balances"),
            400,
            "invalid_path",
        ),
        (
            world.prison_url(
                world.prison_a,
                &format!("/prisoners/{person}/statement?limit=abc"),
            ),
            400,
            "invalid_query",
        ),
        (
            world.prison_url(
                world.prison_a,
                &format!("/prisoners/{person}/statement?sort=desc"),
            ),
            400,
            "invalid_query",
        ),
        (
            world.prison_url(
                world.prison_a,
                &format!("/prisoners/{person}/statement?limit=0"),
            ),
            422,
            "page_size_invalid",
        ),
        (
            world.prison_url(
                world.prison_a,
                &format!("/prisoners/{person}/statement?account=restitution"),
            ),
            400,
            "invalid_query",
        ),
        (
            world.prison_url(world.prison_a, "/access-log?since=yesterday"),
            400,
            "invalid_query",
        ),
        (
            world.prison_url(world.prison_a, "/access-log?limit=100000"),
            400,
            "invalid_query",
        ),
        (
            world.prison_url(world.prison_a, "/access-log?person_id=7"),
            400,
            "invalid_query",
        ),
        (
            world.prison_url(uuid::Uuid::new_v4(), &format!("/prisoners/{person}")),
            403,
            "forbidden",
        ),
        (
            world.prison_url(
                world.prison_a,
                &format!("/prisoners/{}", uuid::Uuid::new_v4()),
            ),
            404,
            "not_found",
        ),
    ];
    for (url, status, code) in cases {
        let (got, problem) = problem(get(url.clone()).await.unwrap()).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(code)),
            "{url}"
        );
    }
    let wrong_method = world
        .http
        .delete(world.prison_url(world.prison_a, "/prisoners/lookup"))
        .bearer_auth(&staff.token)
        .send()
        .await
        .unwrap();
    let (status, body) = problem(wrong_method).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let bad_case_ref = world
        .http
        .get(world.prison_url(world.prison_a, &format!("/prisoners/{person}")))
        .bearer_auth(&staff.token)
        .header("saldo-purpose", "case_management")
        .header("saldo-case-ref", "has spaces and Matti")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(bad_case_ref).await.1["code"], "case_ref_invalid");
    for header in [
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "Bearer ../../etc",
        "Bearer \u{7f}",
    ] {
        let response = world
            .http
            .get(world.url("/api/staff/me"))
            .header("authorization", header)
            .send()
            .await;
        if let Ok(response) = response {
            assert_eq!(problem(response).await.0, 401, "{header}");
        }
    }
}

#[tokio::test]
async fn kiosk_forms_refuse_unknown_fields_wrong_content_types_and_oversized_bodies() {
    let world = World::new().await;
    let staff = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    world.admit(&staff, world.prison_a, "BAD-5").await;
    let device = world.kiosk_device(world.prison_a).await;
    let before = world.table_counts().await;
    let post = |content_type: &'static str, body: String| {
        world
            .http
            .post(world.url("/kiosk/sign-in"))
            .header("saldo-kiosk-device", &device)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (content_type, body, status, code) in [
        (
            "application/x-www-form-urlencoded",
            "prisoner_number=BAD-5&pin=4321&admin=1".to_owned(),
            422,
            "invalid_form",
        ),
        (
            "application/x-www-form-urlencoded",
            "prisoner_number=BAD-5".to_owned(),
            422,
            "invalid_form",
        ),
        (
            "application/json",
            "{\"prisoner_number\":\"BAD-5\",\"pin\":\"4321\"}".to_owned(),
            415,
            "unsupported_media_type",
        ),
        (
            "application/x-www-form-urlencoded",
            format!("prisoner_number={}&pin=1", "x".repeat(64 * 1024)),
            413,
            "body_too_large",
        ),
    ] {
        let (got, problem) = problem(post(content_type, body).await.unwrap()).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)));
    }
    let cross_site = world
        .http
        .post(world.url("/kiosk/sign-in"))
        .header("saldo-kiosk-device", &device)
        .header("origin", "http://evil.example")
        .form(&[("prisoner_number", "BAD-5"), ("pin", PIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(problem(cross_site).await.1["code"], "cross_site_request");
    let (status, _) = problem(
        world
            .http
            .get(world.url("/kiosk?lang=en&debug=1"))
            .header("saldo-kiosk-device", &device)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(world.table_counts().await, before, "nothing changed");
}

#[tokio::test]
async fn a_body_over_the_servers_own_limit_is_refused_as_a_problem_on_any_route() {
    let world = World::new().await;
    let before = world.table_counts().await;
    let huge = "x".repeat(saldo::http::MAX_BODY_BYTES + 1);
    for path in ["/api/staff/login", "/webhooks/processor", "/kiosk/sign-in"] {
        let response = world
            .http
            .post(world.url(path))
            .header("content-type", "application/json")
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (413, Some("body_too_large")),
            "{path}"
        );
    }
    assert_eq!(world.table_counts().await, before, "nothing changed");
}

/// Found by schemathesis (scripts/reliability/schemathesis.sh): a deposit's idempotency key
/// holding a NUL reached PostgreSQL, which refuses NUL in text, and the answer was a 500. Every
/// string field of every JSON route, given a NUL, is answered without a server error, and a
/// refusal is a problem with a code.
#[tokio::test]
async fn a_nul_in_any_string_field_is_never_a_server_error() {
    let world = World::new().await;
    let everyone = world.staff("all.roles", &Role::ALL, world.prison_a).await;
    let person = world.admit(&everyone, world.prison_a, "NUL-0").await;
    let mut tried = 0;
    for (method, url, body) in json_routes(&world, person) {
        let fields: Vec<String> = body
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, value)| value.is_string())
            .map(|(name, _)| name.clone())
            .collect();
        for field in fields {
            let mut spoiled = body.clone();
            spoiled[&field] = json!("a\u{0}b");
            let response = world
                .http
                .request(method.clone(), &url)
                .bearer_auth(&everyone.token)
                .header("saldo-purpose", "case_management")
                .json(&spoiled)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(
                status < 500,
                "{field} with a NUL: {method} {url} answered {status}"
            );
            if status >= 400 {
                let (_, problem) = problem(response).await;
                assert!(problem["code"].is_string(), "{field}: {method} {url}");
            }
            tried += 1;
        }
    }
    assert!(tried > 15, "only {tried} fields tried");
}

#[tokio::test]
async fn a_deposit_whose_idempotency_key_holds_a_control_character_is_refused() {
    let world = World::new().await;
    let everyone = world.staff("all.roles", &Role::ALL, world.prison_a).await;
    let person = world.admit(&everyone, world.prison_a, "NUL-1").await;
    let url = world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits"));
    let before = world.table_counts().await;
    for key in ["line\nbreak", "tab\there", "\u{9b}"] {
        let response = world
            .http
            .post(&url)
            .bearer_auth(&everyone.token)
            .json(&json!({"idempotency_key": key, "source": "cash_at_intake",
                          "amount_minor": 100, "currency": "EUR"}))
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some("idempotency_key_invalid")),
            "{key:?}"
        );
    }
    assert_eq!(world.table_counts().await, before, "nothing booked");
}

/// Found by schemathesis: reconciliation's routes refused a malformed path, query or body with
/// axum's plain-text rejections; like every route, they answer problem+json with a stable code.
#[tokio::test]
async fn reconciliation_routes_refuse_bad_input_as_problems() {
    let world = World::new().await;
    let everyone = world.staff("all.roles", &Role::ALL, world.prison_a).await;
    let id = uuid::Uuid::now_v7();
    // (method, path, content type, body, status, code)
    type Case<'a> = (Method, String, Option<&'a str>, &'a str, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            Method::GET,
            "/api/staff/recon/breaks/not-a-uuid".into(),
            None,
            "",
            400,
            "invalid_path",
        ),
        (
            Method::GET,
            "/api/staff/recon/breaks?limit=many".into(),
            None,
            "",
            400,
            "invalid_query",
        ),
        (
            Method::POST,
            format!("/api/staff/recon/breaks/{id}/assign"),
            None,
            "",
            415,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            format!("/api/staff/recon/breaks/{id}/comments"),
            Some("application/json"),
            "{\"",
            400,
            "malformed_json",
        ),
        (
            Method::POST,
            format!("/api/staff/recon/breaks/{id}/accept"),
            Some("application/json"),
            "{\"other\": 1}",
            422,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("/api/staff/recon/adjustments/{id}/reject"),
            None,
            "",
            415,
            "unsupported_media_type",
        ),
    ];
    for (method, path, content_type, body, status, code) in cases {
        let mut request = world
            .http
            .request(method.clone(), world.url(&path))
            .bearer_auth(&everyone.token)
            .body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (got, problem) = problem(request.send().await.unwrap()).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(code)),
            "{method} {path}"
        );
    }
}

/// The same NUL in a query string or a form is refused before it reaches the database.
#[tokio::test]
async fn a_nul_in_a_query_string_or_a_form_is_refused() {
    let world = World::new().await;
    let everyone = world.staff("all.roles", &Role::ALL, world.prison_a).await;
    let response = world
        .http
        .get(world.url("/api/staff/recon/breaks?state=a%00b"))
        .bearer_auth(&everyone.token)
        .send()
        .await
        .unwrap();
    let (status, refused) = problem(response).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("invalid_query"))
    );
    let response = world
        .http
        .post(world.url("/staff/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=a%00b&password=c")
        .send()
        .await
        .unwrap();
    let (status, refused) = problem(response).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("invalid_form"))
    );
}
