//! The authorization matrix: every staff route, every role, in its own prison and in another;
//! and kiosk routes, which accept only kiosk sessions.
use reqwest::Method;
use saldo::auth::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_support::*;

const O: Role = Role::Officer;
const F: Role = Role::Finance;
const FA: Role = Role::FinanceApprover;
const AU: Role = Role::Auditor;
const AD: Role = Role::Admin;

struct Route {
    method: Method,
    /// `{A}` is the prison's id, `{P}` a prisoner of that prison.
    path: &'static str,
    allowed: &'static [Role],
    /// Figures without person-level data: staff of any prison may read them.
    any_prison: bool,
}

fn routes() -> Vec<Route> {
    let route = |method: Method, path, allowed, any_prison| Route {
        method,
        path,
        allowed,
        any_prison,
    };
    vec![
        route(Method::GET, "/api/staff/me", &[O, F, FA, AU, AD], true),
        route(Method::POST, "/api/staff/logout", &[O, F, FA, AU, AD], true),
        route(Method::GET, "/api/staff/trial-balance", &[F, FA, AU], true),
        route(
            Method::GET,
            "/api/staff/trial-balance.csv",
            &[F, FA, AU],
            true,
        ),
        route(
            Method::GET,
            "/api/staff/entitlements?at={NOW}",
            &[F, FA, AU],
            true,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/prisoners/{P}/entitlement-proof?at={NOW}",
            &[O, F, FA],
            false,
        ),
        route(Method::POST, "/api/staff/prisons/{A}/staff", &[AD], false),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/kiosk-devices",
            &[AD],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/lookup",
            &[O, F, FA],
            false,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/prisoners/{P}",
            &[O, F, FA],
            false,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/prisoners/{P}/balances",
            &[O, F, FA],
            false,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/prisoners/{P}/statement",
            &[O, F, FA],
            false,
        ),
        route(
            Method::PUT,
            "/api/staff/prisons/{A}/prisoners/{P}/pin",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{P}/deposits",
            &[F, FA],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/depositors",
            &[F, FA],
            false,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/access-log",
            &[AU],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{P}/adjustments",
            &[F, FA],
            false,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/adjustments",
            &[F, FA],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/adjustments/{ADJ}/approve",
            &[FA],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/adjustments/{ADJ}/reject",
            &[FA],
            false,
        ),
        route(Method::GET, "/api/staff/dead-letters", &[AD, F, FA], true),
        route(
            Method::GET,
            "/api/staff/dead-letters/{DL}",
            &[AD, F, FA],
            true,
        ),
        route(
            Method::POST,
            "/api/staff/dead-letters/{DL}/retry",
            &[AD, F, FA],
            true,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{P}/card/freeze",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{Q}/card/unfreeze",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{P}/card/reissue",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{L}/leave",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{L}/leave/end",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{T}/transfer",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{R}/release",
            &[O],
            false,
        ),
        // The leave's prisoner is back inside: frozen, then the freeze resolved.
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{L}/freeze",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{L}/freeze/resolve",
            &[O],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{P}/rectification",
            &[O],
            false,
        ),
        route(
            Method::PUT,
            "/api/staff/prisons/{A}/prisoners/{R}/restriction",
            &[O],
            false,
        ),
        route(
            Method::DELETE,
            "/api/staff/prisons/{A}/prisoners/{R}/restriction",
            &[O],
            false,
        ),
        // Set first, so the reading route finds it.
        route(
            Method::PUT,
            "/api/staff/prisons/{A}/trust-account",
            &[FA],
            false,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/trust-account",
            &[F, FA, AU],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/payroll?effective_date=2026-11-27",
            &[F, FA],
            false,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/deposits/pending",
            &[F, FA],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/deposits/{DEP}/approve",
            &[FA],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/deposits/{DEP}/reject",
            &[FA],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/depositors/{D}/approval",
            &[F, FA],
            false,
        ),
        route(
            Method::GET,
            "/api/staff/prisons/{A}/policies",
            &[F, FA, AD],
            false,
        ),
        // Publishes prison A's policy: the override routes below need one in effect.
        route(
            Method::POST,
            "/api/staff/prisons/{A}/policies",
            &[FA, AD],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{P}/overrides",
            &[FA],
            false,
        ),
        route(
            Method::POST,
            "/api/staff/prisons/{A}/prisoners/{P}/overrides/matrix-ovr/revoke",
            &[FA],
            false,
        ),
    ]
}

/// A valid body for each route (unique where uniqueness matters).
fn body_for(path: &str, n: usize) -> Option<Value> {
    let unique = format!("{n}-{}", Uuid::new_v4().simple());
    if path.ends_with("/staff") {
        Some(
            json!({"username": format!("u{}", &unique[..20]), "password": PASSWORD, "roles": ["officer"]}),
        )
    } else if path.ends_with("/kiosk-devices") {
        Some(json!({"label": "kiosk"}))
    } else if path.ends_with("/prisoners") {
        Some(admission(&format!("M{}", &unique[..20])))
    } else if path.ends_with("/lookup") {
        Some(json!({"prisoner_number": "MATRIX-1"}))
    } else if path.ends_with("/pin") {
        Some(json!({"pin": "2468"}))
    } else if path.ends_with("/deposits") {
        Some(
            json!({"idempotency_key": unique, "source": "cash_at_intake", "amount_minor": 100, "currency": "EUR"}),
        )
    } else if path.ends_with("/depositors") {
        Some(json!({"full_name": "A Depositor"}))
    } else if path.ends_with("/prisoners/{P}/adjustments") {
        Some(
            json!({"account": "spendable", "institution_account": "suspense",
            "direction": "credit_prisoner", "amount_minor": 100, "currency": "EUR",
            "reason_code": "correction", "reason": "matrix"}),
        )
    } else if path.ends_with("/card/reissue") {
        Some(json!({"reason": "DAMAGED"}))
    } else if path.ends_with("/leave") {
        // Limits of its own: prison A has no spending-controls policy.
        let now = time::OffsetDateTime::now_utc();
        let at = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        Some(
            json!({"idempotency_key": unique, "from": at(now), "until": at(now + time::Duration::days(1)),
            "limits": {"daily_minor": 1000}}),
        )
    } else if path.ends_with("/transfer") {
        // `{B}`: prison B's id, filled in by `call`.
        Some(json!({"idempotency_key": unique, "to_prison_id": "{B}"}))
    } else if path.contains("/deposits/") && path.ends_with("/reject") {
        Some(json!({"reason": "matrix"}))
    } else if path.ends_with("/approval") {
        // `{P}`: the matrix's prisoner, filled in by `call`.
        Some(json!({"person_id": "{P}", "approved": true}))
    } else if path.ends_with("/policies") {
        Some(
            json!({"policy": ledger::controls::Policy::closed_prison("matrix-closed", 1, "FI", &["m_canteen"])}),
        )
    } else if path.ends_with("/overrides") {
        // `{MAKER}`: another member of staff of prison A, filled in by `call`.
        Some(
            json!({"override_id": "matrix-ovr", "change": {"change": "allow_mcc", "mcc": "5942"},
            "reason": "matrix", "requested_by": "{MAKER}"}),
        )
    } else if path.ends_with("/revoke") {
        Some(json!({"reason": "matrix"}))
    } else if path.ends_with("/release") {
        Some(json!({"idempotency_key": unique, "savings": "to_spendable"}))
    } else if path.ends_with("/freeze") {
        Some(json!({"idempotency_key": unique, "cause": "escape"}))
    } else if path.ends_with("/freeze/resolve") {
        Some(json!({"idempotency_key": unique, "resolution": "restore"}))
    } else if path.ends_with("/rectification") {
        Some(json!({"unit": "C3"}))
    } else if path.ends_with("/restriction") {
        // Read by the PUT; the DELETE takes no body.
        Some(json!({"reason": "objection"}))
    } else if path.ends_with("/trust-account") {
        Some(json!({"iban": "FI2112345600000785", "currency": "EUR"}))
    } else {
        None
    }
}

/// The matrix's prisoners and the maker of its adjustment proposals.
struct Seeds {
    /// Has an active card.
    person: Uuid,
    /// Has a paused card.
    paused: Uuid,
    /// Granted a leave, then back (`{L}`); transferred to prison B (`{T}`); released (`{R}`):
    /// one each, so every state-changing route finds its prisoner in the state it needs.
    on_leave: Uuid,
    moving: Uuid,
    releasing: Uuid,
    maker: StaffUser,
    /// A depositor of prison A approved as a sender to `person` (`{D}`; `{DEP}` is a fresh
    /// deposit of theirs held for review, recorded by `maker`).
    depositor: Uuid,
}

/// A card for the matrix's prisoners, registered as the processor would have it.
async fn give_card(world: &World, person: Uuid, card_id: &str, state: &str) {
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let account = ledger::store::account_by_code(&tx, &format!("person:{person}:spendable:EUR"))
        .await
        .unwrap()
        .unwrap();
    card_adapter::booking::register_card(
        &tx,
        card_id,
        "ch_matrix",
        person,
        account.id,
        state,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// A depositor of prison A, approved as a sender to `person`.
async fn seed_depositor(world: &World, maker: &StaffUser, person: Uuid) -> Uuid {
    let registered: Value = world
        .http
        .post(world.prison_url(world.prison_a, "/depositors"))
        .bearer_auth(&maker.token)
        .json(&json!({"full_name": "Matrix Depositor"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let depositor = registered["person_id"].as_str().unwrap();
    let approval = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/depositors/{depositor}/approval")))
        .bearer_auth(&maker.token)
        .json(&json!({"person_id": person, "approved": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(approval.status(), 200);
    depositor.parse().unwrap()
}

/// The route's path with its placeholders filled; `{ADJ}` and `{DL}` get a fresh proposal and
/// a fresh dead call each time, so every allowed call has something to act on.
async fn concrete_path(world: &World, seeds: &Seeds, path: &str) -> String {
    let mut path = path
        .replace("{A}", &world.prison_a.to_string())
        .replace("{P}", &seeds.person.to_string())
        .replace("{Q}", &seeds.paused.to_string())
        .replace("{L}", &seeds.on_leave.to_string())
        .replace("{T}", &seeds.moving.to_string())
        .replace("{R}", &seeds.releasing.to_string())
        .replace("{D}", &seeds.depositor.to_string());
    if path.contains("{DEP}") {
        let held: Value = world
            .http
            .post(world.prison_url(
                world.prison_a,
                &format!("/prisoners/{}/deposits", seeds.person),
            ))
            .bearer_auth(&seeds.maker.token)
            .json(
                &json!({"idempotency_key": Uuid::new_v4().to_string(), "source": "family_deposit",
                "amount_minor": 30000, "currency": "EUR", "depositor_person_id": seeds.depositor}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(held["state"], "pending_review");
        path = path.replace("{DEP}", held["deposit_id"].as_str().unwrap());
    }
    if path.contains("{ADJ}") {
        let proposal: Value = world
            .http
            .post(world.prison_url(
                world.prison_a,
                &format!("/prisoners/{}/adjustments", seeds.person),
            ))
            .bearer_auth(&seeds.maker.token)
            .json(&body_for("/prisoners/{P}/adjustments", 0).unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        path = path.replace("{ADJ}", proposal["id"].as_str().unwrap());
    }
    if path.contains("{NOW}") {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        path = path.replace("{NOW}", &now);
    }
    if path.contains("{DL}") {
        let id = Uuid::now_v7();
        world
            .db
            .raw_client()
            .await
            .execute(
                "insert into card.outbox (id, idempotency_key, operation, method, path, state)
                 values ($1, $2, 'set_card_state', 'POST', '/v1/cards/card_x/state', 'dead')",
                &[&id, &format!("st_{}", id.simple())],
            )
            .await
            .unwrap();
        path = path.replace("{DL}", &id.to_string());
    }
    path
}

async fn call(world: &World, route: &Route, token: &str, seeds: &Seeds, n: usize) -> u16 {
    let path = concrete_path(world, seeds, route.path).await;
    let mut request = world
        .http
        .request(route.method.clone(), world.url(&path))
        .bearer_auth(token)
        .header("saldo-purpose", "case_management");
    if let Some(mut body) = body_for(route.path, n) {
        if body.get("to_prison_id").is_some() {
            body["to_prison_id"] = json!(world.prison_b);
        }
        if body.get("person_id") == Some(&json!("{P}")) {
            body["person_id"] = json!(seeds.person);
        }
        if body.get("requested_by").is_some() {
            body["requested_by"] = json!(seeds.maker.id);
        }
        request = request.json(&body);
    }
    if route.path.contains("/payroll") {
        request = request
            .header("idempotency-key", format!("matrix-{n}"))
            .header("content-type", "text/csv")
            .body(format!(
                "person_id,amount,currency\n{},1.00,EUR\n",
                seeds.person
            ));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status >= 400 {
        let (_, problem) = problem(response).await;
        assert!(problem["code"].is_string());
    }
    status
}

#[tokio::test]
async fn every_role_reaches_exactly_its_routes_and_no_other_prisons_data() {
    let world = World::new().await;
    let officer = world.staff("seed.officer", &[O], world.prison_a).await;
    let person = world.admit(&officer, world.prison_a, "MATRIX-1").await;
    let paused = world.admit(&officer, world.prison_a, "MATRIX-2").await;
    give_card(&world, person, "card_matrix1", "ACTIVE").await;
    give_card(&world, paused, "card_matrix2", "PAUSED").await;
    let maker = world.staff("seed.maker", &[F], world.prison_a).await;
    let depositor = seed_depositor(&world, &maker, person).await;
    let seeds = Seeds {
        person,
        paused,
        on_leave: world.admit(&officer, world.prison_a, "MATRIX-3").await,
        moving: world.admit(&officer, world.prison_a, "MATRIX-4").await,
        releasing: world.admit(&officer, world.prison_a, "MATRIX-5").await,
        maker,
        depositor,
    };
    let mut n = 0;
    let mut checked = 0;
    for route in routes() {
        for role in Role::ALL {
            n += 1;
            // A fresh session per call, so logout does not spoil the next one.
            let user = world
                .staff(
                    &format!("{}.{n}", role.as_str().replace('_', "")),
                    &[role],
                    world.prison_a,
                )
                .await;
            let status = call(&world, &route, &user.token, &seeds, n).await;
            let allowed = route.allowed.contains(&role);
            if allowed {
                assert!(
                    (200..300).contains(&status),
                    "{} {} as {}: expected success, got {status}",
                    route.method,
                    route.path,
                    role.as_str()
                );
            } else {
                assert_eq!(
                    status,
                    403,
                    "{} {} as {}: expected 403",
                    route.method,
                    route.path,
                    role.as_str()
                );
            }
            checked += 1;

            // The same role held in prison B only.
            n += 1;
            let outsider = world
                .staff(
                    &format!("b{}.{n}", role.as_str().replace('_', "")),
                    &[role],
                    world.prison_b,
                )
                .await;
            let status = call(&world, &route, &outsider.token, &seeds, n).await;
            if route.any_prison && allowed {
                assert!(
                    (200..300).contains(&status),
                    "{} as B {}: {status}",
                    route.path,
                    role.as_str()
                );
            } else {
                assert_eq!(
                    status,
                    403,
                    "{} {} as prison B {}",
                    route.method,
                    route.path,
                    role.as_str()
                );
            }
            checked += 1;
        }
        // No credentials at all, and a forged token.
        let anonymous = world
            .http
            .request(
                route.method.clone(),
                world.url(&concrete_path(&world, &seeds, route.path).await),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem(anonymous).await.0,
            401,
            "{} without credentials",
            route.path
        );
        let forged = call(
            &world,
            &route,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &seeds,
            0,
        )
        .await;
        assert_eq!(forged, 401, "{} with a forged token", route.path);
    }
    assert_eq!(checked, routes().len() * Role::ALL.len() * 2);
}

#[tokio::test]
async fn staff_of_prison_b_cannot_see_a_prisoner_of_prison_a_even_through_their_own_prison_path() {
    let world = World::new().await;
    let officer_a = world.staff("officer.a", &[O], world.prison_a).await;
    let officer_b = world.staff("officer.b", &[O, F], world.prison_b).await;
    let person = world.admit(&officer_a, world.prison_a, "A-500").await;
    let before = world.table_counts().await;
    for rest in ["", "/balances", "/statement"] {
        let response = world
            .http
            .get(world.prison_url(world.prison_b, &format!("/prisoners/{person}{rest}")))
            .bearer_auth(&officer_b.token)
            .header("saldo-purpose", "case_management")
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{rest}"
        );
    }
    let lookup = world
        .http
        .post(world.prison_url(world.prison_b, "/prisoners/lookup"))
        .bearer_auth(&officer_b.token)
        .header("saldo-purpose", "case_management")
        .json(&json!({"prisoner_number": "A-500"}))
        .send()
        .await
        .unwrap();
    assert_eq!(lookup.status(), 404);
    let deposit = world
        .http
        .post(world.prison_url(world.prison_b, &format!("/prisoners/{person}/deposits")))
        .bearer_auth(&officer_b.token)
        .json(&json!({"idempotency_key": "x", "source": "cash_at_intake", "amount_minor": 100, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(deposit.status(), 404);
    let pin = world
        .http
        .put(world.prison_url(world.prison_b, &format!("/prisoners/{person}/pin")))
        .bearer_auth(&officer_b.token)
        .json(&json!({"pin": "1111"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pin.status(), 404);
    assert_eq!(world.table_counts().await, before, "nothing changed");
}

#[tokio::test]
async fn kiosk_routes_accept_only_kiosk_sessions() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[O, F, FA, AU, AD], world.prison_a)
        .await;
    let device = world.kiosk_device(world.prison_a).await;
    for (method, path) in [
        (Method::GET, "/kiosk"),
        (Method::POST, "/kiosk/sign-in"),
        (Method::GET, "/kiosk/home"),
        (Method::GET, "/kiosk/pin"),
        (Method::POST, "/kiosk/pin"),
        (Method::POST, "/kiosk/language"),
        (Method::POST, "/kiosk/sign-out"),
    ] {
        // Staff credentials, no device: refused as problem+json.
        let response = world
            .http
            .request(method.clone(), world.url(path))
            .bearer_auth(&officer.token)
            .header("cookie", format!("saldo_staff={}", officer.token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("lang=en")
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("kiosk_device_required")),
            "{path}"
        );
        // A staff token where the device token goes: refused too.
        let response = world
            .http
            .request(method.clone(), world.url(path))
            .header("saldo-kiosk-device", &officer.token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            401,
            "{path} with a staff token as device"
        );
        if path == "/kiosk" || path == "/kiosk/sign-in" {
            continue;
        }
        // A real device but a staff cookie instead of a kiosk session: back to sign-in.
        let response = world
            .http
            .request(method.clone(), world.url(path))
            .header("saldo-kiosk-device", &device)
            .header("cookie", format!("saldo_kiosk={}", officer.token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("lang=en")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/kiosk");
    }
}
