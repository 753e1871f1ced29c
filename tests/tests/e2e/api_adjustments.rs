//! Ledger adjustments with four-eyes approval: proposed by finance, approved by another finance
//! approver, posted once; the maker can never approve their own.
use saldo::auth::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_support::*;

struct Desk {
    world: World,
    person: Uuid,
    maker: StaffUser,
    checker: StaffUser,
}

async fn desk() -> Desk {
    let world = World::new().await;
    let officer = world
        .staff("adj.officer", &[Role::Officer], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "ADJ-1").await;
    // The maker holds both finance roles: even an approver cannot approve their own proposal.
    let maker = world
        .staff(
            "adj.maker",
            &[Role::Finance, Role::FinanceApprover],
            world.prison_a,
        )
        .await;
    let checker = world
        .staff("adj.checker", &[Role::FinanceApprover], world.prison_a)
        .await;
    Desk {
        world,
        person,
        maker,
        checker,
    }
}

impl Desk {
    async fn propose(&self, direction: &str, amount_minor: i64) -> Value {
        let response = self
            .world
            .http
            .post(self.world.prison_url(
                self.world.prison_a,
                &format!("/prisoners/{}/adjustments", self.person),
            ))
            .bearer_auth(&self.maker.token)
            .json(&json!({
                "account": "spendable",
                "institution_account": "suspense",
                "direction": direction,
                "amount_minor": amount_minor,
                "currency": "EUR",
                "reason_code": "correction",
                "reason": "card fee charged twice in March",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    async fn decide(&self, who: &StaffUser, id: &str, verb: &str) -> reqwest::Response {
        self.world
            .http
            .post(
                self.world
                    .prison_url(self.world.prison_a, &format!("/adjustments/{id}/{verb}")),
            )
            .bearer_auth(&who.token)
            .send()
            .await
            .unwrap()
    }

    async fn available(&self) -> i64 {
        let body: Value = self
            .world
            .http
            .get(self.world.prison_url(
                self.world.prison_a,
                &format!("/prisoners/{}/balances", self.person),
            ))
            .bearer_auth(&self.checker.token)
            .header("saldo-purpose", "balance_enquiry")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|account| account["purpose"] == "spendable")
            .unwrap()["available"]["amount_minor"]
            .as_i64()
            .unwrap()
    }

    async fn entries(&self) -> i64 {
        self.world.table_counts().await[7]
    }
}

#[tokio::test]
async fn a_proposal_is_posted_only_when_another_approver_approves_it_and_only_once() {
    let desk = desk().await;
    let entries = desk.entries().await;
    let proposal = desk.propose("credit_prisoner", 1250).await;
    assert_eq!(proposal["state"], "proposed");
    assert_eq!(proposal["entry_id"], Value::Null);
    let id = proposal["id"].as_str().unwrap().to_owned();
    assert_eq!(desk.available().await, 0, "nothing posted on proposal");
    assert_eq!(desk.entries().await, entries);

    let approved = desk.decide(&desk.checker, &id, "approve").await;
    assert_eq!(approved.status(), 200);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["state"], "approved");
    assert_eq!(approved["decided_by"], json!(desk.checker.id));
    assert!(approved["entry_id"].is_string());
    assert_eq!(desk.available().await, 1250);
    assert_eq!(desk.entries().await, entries + 1);

    // A second approval, by anyone, changes nothing.
    let (status, problem) = problem(desk.decide(&desk.checker, &id, "approve").await).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("already_decided"))
    );
    assert_eq!(desk.available().await, 1250);
    assert_eq!(desk.entries().await, entries + 1);

    // The entry is balanced against the suspense account.
    let client = desk.world.db.raw_client().await;
    let suspense: i64 = client
        .query_one(
            "select coalesce(sum(p.amount_minor), 0)::bigint from journal_postings p
             join ledger_accounts a on a.id = p.account_id where a.code = 'institution:suspense:EUR'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(suspense, 1250, "suspense debited");
}

#[tokio::test]
async fn the_maker_cannot_approve_their_own_proposal() {
    let desk = desk().await;
    let proposal = desk.propose("credit_prisoner", 500).await;
    let id = proposal["id"].as_str().unwrap();
    let entries = desk.entries().await;
    for verb in ["approve", "reject"] {
        let (status, problem) = problem(desk.decide(&desk.maker, id, verb).await).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("four_eyes")),
            "{verb}"
        );
    }
    assert_eq!(desk.entries().await, entries, "nothing posted");
    assert_eq!(desk.available().await, 0);
    let list: Value = desk
        .world
        .http
        .get(
            desk.world
                .prison_url(desk.world.prison_a, "/adjustments?state=proposed"),
        )
        .bearer_auth(&desk.maker.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["adjustments"][0]["id"], id, "still proposed");

    // The database refuses it too, whatever the code does.
    let client = desk.world.db.raw_client().await;
    let refused = client
        .execute(
            "insert into adjustments.decisions (proposal_id, decision, decided_by)
             values ($1, 'rejected', $2)",
            &[&id.parse::<Uuid>().unwrap(), &desk.maker.id],
        )
        .await;
    assert!(
        refused.is_err(),
        "the four-eyes trigger let the maker decide"
    );
}

#[tokio::test]
async fn a_rejected_proposal_posts_nothing_and_cannot_be_approved_later() {
    let desk = desk().await;
    let entries = desk.entries().await;
    let proposal = desk.propose("credit_prisoner", 700).await;
    let id = proposal["id"].as_str().unwrap();
    let rejected: Value = desk
        .decide(&desk.checker, id, "reject")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rejected["state"], "rejected");
    let (status, _) = problem(desk.decide(&desk.checker, id, "approve").await).await;
    assert_eq!(status, 409);
    assert_eq!(desk.entries().await, entries);
    assert_eq!(desk.available().await, 0);
}

#[tokio::test]
async fn an_approval_that_would_overdraw_the_prisoner_is_refused_and_leaves_the_proposal_open() {
    let desk = desk().await;
    let proposal = desk.propose("debit_prisoner", 900).await;
    let id = proposal["id"].as_str().unwrap();
    let (status, problem) = problem(desk.decide(&desk.checker, id, "approve").await).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("insufficient_funds"))
    );
    let client = desk.world.db.raw_client().await;
    let decisions: i64 = client
        .query_one("select count(*) from adjustments.decisions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(decisions, 0);
}

#[tokio::test]
async fn proposals_and_decisions_are_append_only() {
    let desk = desk().await;
    let proposal = desk.propose("credit_prisoner", 100).await;
    let id: Uuid = proposal["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        desk.decide(&desk.checker, &id.to_string(), "approve")
            .await
            .status(),
        200
    );
    let client = desk.world.db.raw_client().await;
    for statement in [
        "update adjustments.proposals set amount_minor = 1 where id = $1",
        "delete from adjustments.proposals where id = $1",
        "update adjustments.decisions set decision = 'rejected' where proposal_id = $1",
        "delete from adjustments.decisions where proposal_id = $1",
    ] {
        assert!(
            client.execute(statement, &[&id]).await.is_err(),
            "{statement} was allowed"
        );
    }
    for table in ["adjustments.proposals", "adjustments.decisions"] {
        assert!(
            client
                .batch_execute(&format!("truncate {table} cascade"))
                .await
                .is_err(),
            "truncate {table} was allowed"
        );
    }
}

#[tokio::test]
async fn a_proposal_for_a_prisoner_of_another_prison_is_not_found_and_records_nothing() {
    let desk = desk().await;
    let finance_b = desk
        .world
        .staff("adj.b", &[Role::Finance], desk.world.prison_b)
        .await;
    let response = desk
        .world
        .http
        .post(desk.world.prison_url(
            desk.world.prison_b,
            &format!("/prisoners/{}/adjustments", desk.person),
        ))
        .bearer_auth(&finance_b.token)
        .json(
            &json!({"account": "spendable", "institution_account": "suspense",
            "direction": "credit_prisoner", "amount_minor": 100, "currency": "EUR",
            "reason_code": "other", "reason": "x"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response).await.0, 404);
    let client = desk.world.db.raw_client().await;
    let proposals: i64 = client
        .query_one("select count(*) from adjustments.proposals", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(proposals, 0);
}
