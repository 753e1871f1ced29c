//! The access log (LED article 25): a row for every consultation, creation and change of personal
//! data, written in the same transaction as the read; append-only; searchable by auditors, and the
//! search is logged too.
use saldo::auth::Role;
use serde_json::{Value, json};

use crate::api_support::*;

#[tokio::test]
async fn every_consultation_and_change_writes_a_row_naming_who_which_record_what_why_and_the_outcome()
 {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "L-1").await;
    let get = |path: String, token: String, purpose: &'static str| {
        world
            .http
            .get(world.prison_url(world.prison_a, &path))
            .bearer_auth(token)
            .header("saldo-purpose", purpose)
            .header("saldo-case-ref", "CASE-2026/17")
            .send()
    };
    let lookup = |number: &'static str| {
        world
            .http
            .post(world.prison_url(world.prison_a, "/prisoners/lookup"))
            .bearer_auth(&officer.token)
            .header("saldo-purpose", "prisoner_request")
            .json(&json!({"prisoner_number": number}))
            .send()
    };
    assert_eq!(lookup("L-1").await.unwrap().status(), 200);
    assert_eq!(lookup("L-404").await.unwrap().status(), 404);
    assert_eq!(
        get(
            format!("/prisoners/{person}"),
            officer.token.clone(),
            "case_management"
        )
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(
        get(
            format!("/prisoners/{person}/balances"),
            finance.token.clone(),
            "balance_enquiry"
        )
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(
        get(
            format!("/prisoners/{person}/statement"),
            finance.token.clone(),
            "balance_enquiry"
        )
        .await
        .unwrap()
        .status(),
        200
    );
    let deposit = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits")))
        .bearer_auth(&finance.token)
        .json(&json!({"idempotency_key": "1", "source": "cash_at_intake", "amount_minor": 100, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(deposit.status(), 201);

    let rows = world.access_log().await;
    let summary: Vec<(String, Option<uuid::Uuid>, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.action.clone(),
                r.actor_id,
                r.purpose.clone(),
                r.outcome.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "create".into(),
                Some(officer.id),
                "admission".into(),
                "ok".into()
            ),
            (
                "consult".into(),
                Some(officer.id),
                "prisoner_request".into(),
                "ok".into()
            ),
            (
                "consult".into(),
                Some(officer.id),
                "prisoner_request".into(),
                "not_found".into()
            ),
            (
                "consult".into(),
                Some(officer.id),
                "case_management".into(),
                "ok".into()
            ),
            (
                "consult".into(),
                Some(finance.id),
                "balance_enquiry".into(),
                "ok".into()
            ),
            (
                "consult".into(),
                Some(finance.id),
                "balance_enquiry".into(),
                "ok".into()
            ),
            (
                "change".into(),
                Some(finance.id),
                "deposit".into(),
                "ok".into()
            ),
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.subject_kind == "prisoner" && r.prison_id == Some(world.prison_a))
    );
    assert_eq!(rows[0].subject_person_id, Some(person));
    assert!(rows[0].fields.contains(&"national_id".to_owned()));
    assert_eq!(rows[1].subject_person_id, Some(person));
    assert!(rows[1].fields.contains(&"full_name".to_owned()));
    assert_eq!(
        rows[2].subject_person_id, None,
        "a failed look-up names nobody"
    );
    assert_eq!(rows[4].fields, ["balances"]);
    assert_eq!(rows[5].fields, ["statement"]);
    assert_eq!(rows[6].fields, ["deposit"]);
    let case_refs: i64 = world
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from audit.access_log where case_ref = 'CASE-2026/17'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(case_refs, 3);

    // The kiosk: the prisoner's own consultations are logged with the prisoner as actor.
    let device = world.kiosk_device(world.prison_a).await;
    let signed_in = world
        .http
        .post(world.url("/kiosk/sign-in"))
        .header("saldo-kiosk-device", &device)
        .form(&[("prisoner_number", "L-1"), ("pin", PIN)])
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    world
        .http
        .get(world.url("/kiosk/home"))
        .header("saldo-kiosk-device", &device)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let rows = world.access_log().await;
    let kiosk_rows: Vec<&LogRow> = rows
        .iter()
        .filter(|r| r.purpose == "self_service")
        .collect();
    assert_eq!(kiosk_rows.len(), 2);
    assert_eq!(
        kiosk_rows[0].actor_id, None,
        "before sign-in the prisoner is not yet known"
    );
    assert_eq!(kiosk_rows[1].actor_id, Some(person));
    assert_eq!(kiosk_rows[1].fields, ["balances", "statement", "card"]);
}

#[tokio::test]
async fn a_read_is_refused_when_its_log_row_cannot_be_written() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "L-2").await;
    world
        .db
        .raw_client()
        .await
        .batch_execute(
            "create function audit.fail_insert() returns trigger language plpgsql as $$
             begin raise exception 'log unavailable'; end; $$;
             create trigger fail_insert before insert on audit.access_log
                 for each row execute function audit.fail_insert();",
        )
        .await
        .unwrap();
    let response = world
        .http
        .get(world.prison_url(world.prison_a, &format!("/prisoners/{person}")))
        .bearer_auth(&officer.token)
        .header("saldo-purpose", "case_management")
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, 500);
    assert!(
        !body.to_string().contains("Matti"),
        "no data without its log row"
    );
    assert!(
        !body.to_string().contains("log unavailable"),
        "no database text either"
    );
}

#[tokio::test]
async fn the_access_log_refuses_update_delete_and_truncate() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    world.admit(&officer, world.prison_a, "L-3").await;
    let client = world.db.raw_client().await;
    for statement in [
        "update audit.access_log set purpose = 'audit'",
        "delete from audit.access_log",
        "truncate audit.access_log",
    ] {
        let error = client.batch_execute(statement).await.unwrap_err();
        assert!(
            error
                .as_db_error()
                .unwrap()
                .message()
                .contains("append-only"),
            "{statement}"
        );
    }
    assert_eq!(world.access_log().await.len(), 1);
}

#[tokio::test]
async fn auditors_search_only_their_prisons_log_and_each_search_is_logged() {
    let world = World::new().await;
    let officer_a = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let officer_b = world
        .staff("officer.b", &[Role::Officer], world.prison_b)
        .await;
    let auditor = world
        .staff("auditor.a", &[Role::Auditor], world.prison_a)
        .await;
    let person_a = world.admit(&officer_a, world.prison_a, "L-A").await;
    let person_b = world.admit(&officer_b, world.prison_b, "L-B").await;
    let search = |query: String| {
        world
            .http
            .get(world.prison_url(world.prison_a, &format!("/access-log{query}")))
            .bearer_auth(&auditor.token)
            .send()
    };
    let found: Value = search(String::new()).await.unwrap().json().await.unwrap();
    let subjects: Vec<&str> = found["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["subject_person_id"].as_str())
        .collect();
    assert!(subjects.contains(&person_a.to_string().as_str()));
    assert!(
        !subjects.contains(&person_b.to_string().as_str()),
        "prison B's rows stay hidden"
    );

    let filtered: Value = search(format!("?person_id={person_a}&actor_id={}", officer_a.id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = filtered["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["action"], "create");
    assert_eq!(rows[0]["actor_kind"], "staff");

    let log = world.access_log().await;
    let searches: Vec<&LogRow> = log
        .iter()
        .filter(|r| r.subject_kind == "access_log")
        .collect();
    assert_eq!(
        searches.len(),
        2,
        "each search is itself a logged consultation"
    );
    assert!(
        searches
            .iter()
            .all(|r| r.actor_id == Some(auditor.id) && r.purpose == "audit")
    );
    assert_eq!(searches[1].subject_person_id, Some(person_a));
}

#[tokio::test]
async fn no_personal_data_reaches_the_ledger_the_access_log_or_error_answers() {
    let world = World::new().await;
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "SECRET-42").await;
    world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits")))
        .bearer_auth(&finance.token)
        .json(&json!({"idempotency_key": "1", "source": "cash_at_intake", "amount_minor": 100, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    // A bad admission quoting personal data gets an answer that does not quote it back.
    let mut bad = admission("SECRET-43");
    bad["date_of_birth"] = json!("Matti-born-yesterday");
    let answer = world
        .http
        .post(world.prison_url(world.prison_a, "/prisoners"))
        .bearer_auth(&officer.token)
        .json(&bad)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut wrong_type = admission("SECRET-44");
    wrong_type["unit"] = json!(["Matti"]);
    let answer_2 = world
        .http
        .post(world.prison_url(world.prison_a, "/prisoners"))
        .bearer_auth(&officer.token)
        .json(&wrong_type)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let client = world.db.raw_client().await;
    let dump: String = client
        .query_one(
            "select concat_ws('|',
                (select string_agg(row_to_json(a)::text, ',') from ledger_accounts a),
                (select string_agg(row_to_json(e)::text, ',') from journal_entries e),
                (select string_agg(row_to_json(k)::text, ',') from idempotency_keys k),
                (select string_agg(row_to_json(l)::text, ',') from audit.access_log l))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for secret in [
        "SECRET-4",
        "Matti",
        "010190",
        "FI2112345600000785",
        "1990-01-01",
    ] {
        assert!(
            !dump.contains(secret),
            "{secret} leaked into the ledger or the log"
        );
        assert!(
            !answer.contains(secret) && !answer_2.contains(secret),
            "{secret} in an error answer"
        );
    }
}
