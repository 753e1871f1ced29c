//! Family deposits under the prison's deposit rules over the staff API: approved senders only,
//! large deposits held until a second member of staff (a finance approver) accepts or rejects
//! them.
// Cent amounts are grouped as euros_cents: `300_00` is 300.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use saldo::auth::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_payroll::{counts, posted};
use crate::api_support::*;

/// A prisoner of prison A, a depositor approved for them, and the staff of the desk.
pub struct Desk {
    pub person: Uuid,
    pub depositor: Uuid,
    pub recorder: StaffUser,
    pub approver: StaffUser,
}

pub async fn register_depositor(world: &World, token: &str, prison_id: Uuid) -> Uuid {
    let body: Value = world
        .http
        .post(world.prison_url(prison_id, "/depositors"))
        .bearer_auth(token)
        .json(&json!({"full_name": "Maija Meikäläinen"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["person_id"].as_str().unwrap().parse().unwrap()
}

pub async fn approve_sender(
    world: &World,
    token: &str,
    prison_id: Uuid,
    depositor: Uuid,
    person: Uuid,
    approved: bool,
) -> reqwest::Response {
    world
        .http
        .post(world.prison_url(prison_id, &format!("/depositors/{depositor}/approval")))
        .bearer_auth(token)
        .json(&json!({"person_id": person, "approved": approved}))
        .send()
        .await
        .unwrap()
}

pub async fn family_deposit(
    world: &World,
    token: &str,
    person: Uuid,
    depositor: Uuid,
    amount_minor: i64,
) -> reqwest::Response {
    world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits")))
        .bearer_auth(token)
        .json(&json!({"idempotency_key": Uuid::new_v4().to_string(), "source": "family_deposit",
                      "amount_minor": amount_minor, "currency": "EUR", "depositor_person_id": depositor}))
        .send()
        .await
        .unwrap()
}

impl Desk {
    pub async fn new(world: &World) -> Desk {
        let officer = world
            .staff("desk.officer", &[Role::Officer], world.prison_a)
            .await;
        let recorder = world
            .staff("desk.recorder", &[Role::FinanceApprover], world.prison_a)
            .await;
        let approver = world
            .staff("desk.approver", &[Role::FinanceApprover], world.prison_a)
            .await;
        let person = world.admit(&officer, world.prison_a, "DEP-1").await;
        let depositor = register_depositor(world, &recorder.token, world.prison_a).await;
        let response = approve_sender(
            world,
            &recorder.token,
            world.prison_a,
            depositor,
            person,
            true,
        )
        .await;
        assert_eq!(response.status(), 200);
        Desk {
            person,
            depositor,
            recorder,
            approver,
        }
    }

    /// A deposit above the default review threshold (250.00 EUR): held.
    pub async fn held(&self, world: &World, amount_minor: i64) -> Value {
        let response = family_deposit(
            world,
            &self.recorder.token,
            self.person,
            self.depositor,
            amount_minor,
        )
        .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["state"], "pending_review");
        body
    }

    pub async fn decide(
        &self,
        world: &World,
        token: &str,
        deposit: &Value,
        verb: &str,
    ) -> reqwest::Response {
        let mut request = world
            .http
            .post(world.prison_url(
                world.prison_a,
                &format!(
                    "/deposits/{}/{verb}",
                    deposit["deposit_id"].as_str().unwrap()
                ),
            ))
            .bearer_auth(token);
        if verb == "reject" {
            request = request.json(&json!({"reason": "sender could not be verified"}));
        }
        request.send().await.unwrap()
    }
}

async fn pending(world: &World, token: &str) -> Vec<Value> {
    let body: Value = world
        .http
        .get(world.prison_url(world.prison_a, "/deposits/pending"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["deposits"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_deposit_above_the_threshold_is_held_and_not_spendable_until_a_second_approver_accepts_it()
 {
    let world = World::new().await;
    let desk = Desk::new(&world).await;
    let small = family_deposit(
        &world,
        &desk.recorder.token,
        desk.person,
        desk.depositor,
        20_00,
    )
    .await;
    let small: Value = small.json().await.unwrap();
    assert_eq!(
        small["state"], "accepted",
        "at or under the threshold: at once"
    );
    assert_eq!(small["spendable"]["available"]["amount_minor"], 20_00);

    let held = desk.held(&world, 300_00).await;
    assert_eq!(held["held_because"], "above_review_threshold");
    assert_eq!(held["flags"], json!(["high_amount"]));
    assert_eq!(held["spendable"]["available"]["amount_minor"], 20_00);
    assert_eq!(posted(&world, desk.person, "spendable").await, 20_00);
    assert_eq!(posted(&world, desk.person, "held_deposits").await, 300_00);

    let listed = pending(&world, &desk.approver.token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["deposit_id"], held["deposit_id"]);
    assert_eq!(listed[0]["amount_minor"], 300_00);
    assert_eq!(
        listed[0]["received_by"],
        json!(desk.recorder.id.to_string())
    );
    assert_eq!(listed[0]["sender_id"], json!(desk.depositor));

    let response = desk
        .decide(&world, &desk.approver.token, &held, "approve")
        .await;
    assert_eq!(response.status(), 200);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["state"], "accepted");
    assert!(accepted["decision_entry_id"].is_string());
    assert_eq!(posted(&world, desk.person, "spendable").await, 320_00);
    assert_eq!(posted(&world, desk.person, "held_deposits").await, 0);
    assert!(pending(&world, &desk.approver.token).await.is_empty());

    let before = counts(&world).await;
    let (status, body) = problem(
        desk.decide(&world, &desk.approver.token, &held, "approve")
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("deposit_already_decided"))
    );
    let (status, _) = problem(
        desk.decide(&world, &desk.approver.token, &held, "reject")
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        counts(&world).await,
        before,
        "a second decision changes nothing"
    );

    let logged = world
        .access_log()
        .await
        .into_iter()
        .filter(|row| {
            row.actor_id == Some(desk.approver.id)
                && row.subject_person_id == Some(desk.person)
                && row.action == "change"
        })
        .count();
    assert_eq!(logged, 1, "the approval is logged against the prisoner");
}

#[tokio::test]
async fn whoever_recorded_a_deposit_cannot_approve_or_reject_it() {
    let world = World::new().await;
    let desk = Desk::new(&world).await;
    let held = desk.held(&world, 400_00).await;
    let before = counts(&world).await;
    let log_before = world.access_log().await.len();
    for verb in ["approve", "reject"] {
        let (status, body) =
            problem(desk.decide(&world, &desk.recorder.token, &held, verb).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("four_eyes")),
            "{verb}"
        );
    }
    assert_eq!(counts(&world).await, before, "nothing changed");
    assert_eq!(world.access_log().await.len(), log_before);
    assert_eq!(posted(&world, desk.person, "spendable").await, 0);
    assert_eq!(pending(&world, &desk.recorder.token).await.len(), 1);
}

#[tokio::test]
async fn a_rejected_deposit_is_refunded_and_never_reaches_the_prisoners_money() {
    let world = World::new().await;
    let desk = Desk::new(&world).await;
    let held = desk.held(&world, 260_00).await;
    let url = world.prison_url(
        world.prison_a,
        &format!("/deposits/{}/reject", held["deposit_id"].as_str().unwrap()),
    );
    let before = counts(&world).await;
    for body in [
        json!({}),
        json!({"reason": "  "}),
        json!({"reason": "x".repeat(501)}),
    ] {
        let response = world
            .http
            .post(&url)
            .bearer_auth(&desk.approver.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, _) = problem(response).await;
        assert_eq!(status, 422, "{body}");
    }
    assert_eq!(
        counts(&world).await,
        before,
        "refused rejections change nothing"
    );
    let response = desk
        .decide(&world, &desk.approver.token, &held, "reject")
        .await;
    assert_eq!(response.status(), 200);
    let rejected: Value = response.json().await.unwrap();
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(posted(&world, desk.person, "held_deposits").await, 0);
    assert_eq!(posted(&world, desk.person, "spendable").await, 0);
    assert_eq!(posted(&world, desk.person, "release_savings").await, 0);
}

#[tokio::test]
async fn a_deposit_from_a_sender_not_approved_for_the_prisoner_is_refused_and_nothing_is_booked() {
    let world = World::new().await;
    let desk = Desk::new(&world).await;
    let stranger = register_depositor(&world, &desk.recorder.token, world.prison_a).await;
    let before = counts(&world).await;
    let (status, body) =
        problem(family_deposit(&world, &desk.recorder.token, desk.person, stranger, 10_00).await)
            .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("sender_not_approved"))
    );
    assert_eq!(counts(&world).await, before);

    // Withdrawn: refused from then on.
    let response = approve_sender(
        &world,
        &desk.recorder.token,
        world.prison_a,
        desk.depositor,
        desk.person,
        false,
    )
    .await;
    assert_eq!(response.status(), 200);
    let before = counts(&world).await;
    let (status, body) = problem(
        family_deposit(
            &world,
            &desk.recorder.token,
            desk.person,
            desk.depositor,
            10_00,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("sender_not_approved"))
    );
    assert_eq!(counts(&world).await, before);
}

#[tokio::test]
async fn deposits_and_senders_of_another_prison_are_not_found_and_plain_finance_cannot_decide() {
    let world = World::new().await;
    let desk = Desk::new(&world).await;
    let held = desk.held(&world, 300_00).await;
    // Approver in both prisons, asking through prison B: prison A's deposit is not found there.
    let both = world
        .staff("both.approver", &[Role::FinanceApprover], world.prison_b)
        .await;
    let client = world.db.pool.get().await.unwrap();
    client
        .execute(
            "insert into auth.staff_grants (staff_id, prison_id, role) values ($1, $2, 'finance_approver')",
            &[&both.id, &world.prison_a],
        )
        .await
        .unwrap();
    let officer_b = world
        .staff("officer.b", &[Role::Officer], world.prison_b)
        .await;
    let person_b = world.admit(&officer_b, world.prison_b, "DEP-B").await;
    let finance = world
        .staff("plain.finance", &[Role::Finance], world.prison_a)
        .await;
    let before = counts(&world).await;
    let response = world
        .http
        .post(world.prison_url(
            world.prison_b,
            &format!("/deposits/{}/approve", held["deposit_id"].as_str().unwrap()),
        ))
        .bearer_auth(&both.token)
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    // A depositor of prison A cannot be approved for a prisoner of prison B, nor the reverse.
    let (status, _) = problem(
        approve_sender(
            &world,
            &both.token,
            world.prison_b,
            desk.depositor,
            person_b,
            true,
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = problem(
        approve_sender(
            &world,
            &both.token,
            world.prison_a,
            desk.depositor,
            person_b,
            true,
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    // Plain finance staff record deposits but do not decide them.
    let (status, _) = problem(desk.decide(&world, &finance.token, &held, "approve").await).await;
    assert_eq!(status, 403);
    assert_eq!(counts(&world).await, before, "nothing changed");
    assert_eq!(posted(&world, desk.person, "spendable").await, 0);
}

fn page(
    world: &World,
    user: &StaffUser,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    world
        .http
        .request(method, world.url(path))
        .header("cookie", format!("saldo_staff={}", user.token))
        .header("sec-fetch-site", "same-origin")
}

#[tokio::test]
async fn the_deposits_page_offers_the_decision_to_approvers_other_than_the_recorder_and_accepts_by_form()
 {
    let world = World::new().await;
    let desk = Desk::new(&world).await;
    let held = desk.held(&world, 300_00).await;
    let deposit_id = held["deposit_id"].as_str().unwrap();
    let path = format!("/staff/prisons/{}/deposits", world.prison_a);
    let approve = format!("{path}/{deposit_id}/approve");
    let as_recorder = page(&world, &desk.recorder, reqwest::Method::GET, &path)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(as_recorder.contains(deposit_id));
    assert!(
        !as_recorder.contains(&approve),
        "no button for the recorder"
    );
    let as_approver = page(&world, &desk.approver, reqwest::Method::GET, &path)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(as_approver.contains(&approve));
    assert!(as_approver.contains("300.00 EUR"));

    // The recorder posting the form anyway is refused, as by the JSON route.
    let refused = page(&world, &desk.recorder, reqwest::Method::POST, &approve)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let response = page(&world, &desk.approver, reqwest::Method::POST, &approve)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(posted(&world, desk.person, "spendable").await, 300_00);
    let home = page(&world, &desk.approver, reqwest::Method::GET, "/staff/home")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for link in ["/deposits", "/payroll", "/policies"] {
        assert!(
            home.contains(&format!("/staff/prisons/{}{link}", world.prison_a)),
            "{link}"
        );
    }
}

async fn cash_at_intake(
    world: &World,
    token: &str,
    person: Uuid,
    key: &str,
    amount_minor: i64,
) -> reqwest::Response {
    world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits")))
        .bearer_auth(token)
        .json(&json!({"idempotency_key": key, "source": "cash_at_intake",
                      "amount_minor": amount_minor, "currency": "EUR"}))
        .send()
        .await
        .unwrap()
}

/// Cash at intake follows the policy's maximum balance like a family deposit: cash that would
/// take the prisoner over it is refused with the room left, and nothing is booked; cash that fits
/// (to the cent) is booked; a replay of an intake booked earlier answers as before.
#[tokio::test]
async fn cash_at_intake_beyond_the_maximum_balance_is_refused_with_the_room_left() {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("desk.officer", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("desk.finance", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "CASH-1").await;
    // The closed-prison template caps the balance at 1,500.00.
    let first = cash_at_intake(&world, &finance.token, person, "cash-1", 1_400_00).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    let before = counts(&world).await;
    let response = cash_at_intake(&world, &finance.token, person, "cash-2", 200_00).await;
    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("over_max_balance")),
        "{body}"
    );
    assert_eq!(body["room_minor"], 100_00, "{body}");
    assert_eq!(body["max_balance_minor"], 1_500_00, "{body}");
    assert_eq!(counts(&world).await, before, "nothing was booked");
    assert_eq!(posted(&world, person, "spendable").await, 1_400_00);

    let fits = cash_at_intake(&world, &finance.token, person, "cash-3", 100_00).await;
    assert_eq!(
        fits.status(),
        201,
        "the cash that fits to the cent is booked"
    );
    assert_eq!(posted(&world, person, "spendable").await, 1_500_00);

    let replay = cash_at_intake(&world, &finance.token, person, "cash-1", 1_400_00).await;
    assert_eq!(replay.status(), 201, "a replay is not a new credit");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["entry_id"], first["entry_id"]);
    assert_eq!(posted(&world, person, "spendable").await, 1_500_00);
}
