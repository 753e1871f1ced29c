//! Fees as postings (docs/fees.md), over the real routes: a settlement file's FEE rows imported
//! through the upload route, ATM withdrawals through signed webhooks, a card replacement
//! through the staff route, the policies through their routes, and the public fee report
//! checked against the fee postings themselves.
use processor_protocol::CurrencyCode;
use processor_protocol::settlement::{SettlementRow, SettlementType, SettlementWriter};
use processor_protocol::signature::{self, WebhookSecret};
use saldo::auth::Role;
use serde_json::{Value, json};
use time::macros::date;

use crate::api_support::{StaffUser, World, give_policy, problem, with_card};
use crate::controls_support::Prisoner;

/// A world whose webhook route takes this secret's signatures, with one prisoner admitted in
/// prison A through the API, holding a card and 100.00, and the staff the tests need.
struct FeeWorld {
    world: World,
    secret: WebhookSecret,
    prisoner: Prisoner,
    officer: StaffUser,
    finance: StaffUser,
    approver: StaffUser,
}

impl FeeWorld {
    async fn start() -> FeeWorld {
        let secret = WebhookSecret::generate();
        let webhook_secret = secret.clone();
        let world =
            World::configured(move |state| state.with_webhook_secrets(vec![webhook_secret])).await;
        give_policy(&world, world.prison_a).await;
        let officer = world
            .staff("officer.fees", &[Role::Officer], world.prison_a)
            .await;
        let finance = world
            .staff("finance.fees", &[Role::Finance], world.prison_a)
            .await;
        let approver = world
            .staff("approver.fees", &[Role::FinanceApprover], world.prison_a)
            .await;
        let person_id = world.admit(&officer, world.prison_a, "FEE-1").await;
        let prisoner = with_card(&world, person_id, 10_000).await;
        FeeWorld {
            world,
            secret,
            prisoner,
            officer,
            finance,
            approver,
        }
    }

    async fn set_policy(&self, fee_kind: &str, body: Value) -> reqwest::Response {
        self.world
            .http
            .put(
                self.world
                    .prison_url(self.world.prison_a, &format!("/fee-policies/{fee_kind}")),
            )
            .bearer_auth(&self.approver.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn send_webhook(&self, webhook_id: &str, body: &Value) -> u16 {
        let body = body.to_string();
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = signature::sign(&self.secret, webhook_id, timestamp, body.as_bytes());
        self.world
            .http
            .post(self.world.url("/webhooks/processor"))
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// A cash withdrawal of `amount_minor` at an ATM while Saldo was unreachable (a stand-in
    /// approval on channel ATM), then its clearing. Returns the clearing's webhook body.
    async fn atm_withdrawal(&self, n: u32, amount_minor: i64) -> Value {
        self.cash_withdrawal(n, amount_minor, "6011").await
    }

    /// The same with another merchant category: only the authorization's channel says ATM.
    async fn cash_withdrawal(&self, n: u32, amount_minor: i64, mcc: &str) -> Value {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let merchant = json!({"id": "atm_hki_01", "name": "OTTO HELSINKI", "mcc": mcc,
                              "city": "HELSINKI", "country": "FI"});
        let advice = json!({"type": "authorization.advice", "timestamp": now, "data": {
            "authorization_id": format!("auth_atm{n}"), "card_id": self.prisoner.card_id,
            "cardholder_id": "ch_fees", "amount": amount_minor, "currency": "EUR",
            "merchant_amount": amount_minor, "merchant_currency": "EUR", "merchant": merchant,
            "channel": "ATM", "partial_approval_capable": false, "parent_authorization_id": null,
            "decision": "APPROVE", "approved_amount": amount_minor, "reason": "STAND_IN"}});
        assert_eq!(
            self.send_webhook(&format!("msg_advice{n}"), &advice).await,
            200
        );
        let clearing = json!({"type": "transaction.clearing", "timestamp": now, "data": {
            "transaction_id": format!("txn_atm{n}"), "authorization_id": format!("auth_atm{n}"),
            "card_id": self.prisoner.card_id, "amount": amount_minor, "currency": "EUR",
            "merchant": merchant, "cleared_at": now, "final": true}});
        assert_eq!(
            self.send_webhook(&format!("msg_clear{n}"), &clearing).await,
            200
        );
        clearing
    }

    async fn spendable_minor(&self) -> i64 {
        self.prisoner
            .balance(self.prisoner.accounts.spendable)
            .await
            .posted
            .amount_minor
    }

    /// Every fee entry's postings: (fee kind, borne by, account code, amount), in entry order.
    async fn fee_postings(&self) -> Vec<(String, String, String, i64)> {
        self.world
            .db
            .raw_client()
            .await
            .query(
                "select c.fee_kind, c.borne_by, a.code, p.amount_minor
                 from fees.charges c
                 join journal_postings p on p.entry_id = c.entry_id
                 join ledger_accounts a on a.id = p.account_id
                 order by c.id, p.amount_minor desc",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect()
    }

    async fn report(&self, month: &str) -> Value {
        let response = self
            .world
            .http
            .get(self.world.url(&format!(
                "/api/fees/report?prison_id={}&month={month}",
                self.world.prison_a
            )))
            .bearer_auth(&self.officer.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

fn this_month() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}", today.year(), u8::from(today.month()))
}

fn person_code(prisoner: &Prisoner) -> String {
    format!("person:{}:spendable:EUR", prisoner.person_id)
}

/// A settlement file for 2026-11-10 with these program fees and nothing else.
fn fee_only_settlement_file(fees_minor: &[i64]) -> Vec<u8> {
    let day = date!(2026 - 11 - 10);
    let mut writer = SettlementWriter::new(Vec::new(), day).unwrap();
    for (i, amount_minor) in fees_minor.iter().enumerate() {
        writer
            .write_row(&SettlementRow {
                record_id: format!("rec_fee{i}"),
                settlement_date: day,
                kind: SettlementType::Fee,
                transaction_id: None,
                authorization_id: None,
                card_id: None,
                amount_minor: *amount_minor,
                currency: CurrencyCode::new("EUR").unwrap(),
                mcc: None,
                cleared_at: None,
            })
            .unwrap();
    }
    writer.finish().unwrap().0
}

#[tokio::test]
async fn each_fee_row_of_an_uploaded_settlement_file_is_its_own_posting_on_the_processor_fee_account()
 {
    let fees = FeeWorld::start().await;
    let upload = || async {
        fees.world
            .http
            .post(
                fees.world
                    .url("/api/staff/recon/settlements?date=2026-11-10"),
            )
            .bearer_auth(&fees.finance.token)
            .header("content-type", "text/csv")
            .body(fee_only_settlement_file(&[150, 75]))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(upload().await.status(), 200);
    assert_eq!(
        fees.fee_postings().await,
        [
            (
                "processor_program",
                "service",
                "institution:processor_fees:EUR",
                150
            ),
            (
                "processor_program",
                "service",
                "institution:processor_funding:EUR",
                -150
            ),
            (
                "processor_program",
                "service",
                "institution:processor_fees:EUR",
                75
            ),
            (
                "processor_program",
                "service",
                "institution:processor_funding:EUR",
                -75
            ),
        ]
        .map(|(kind, bearer, code, amount)| (
            kind.into(),
            bearer.into(),
            code.into(),
            amount
        ))
    );
    let client = fees.world.db.raw_client().await;
    let row = client
        .query_one(
            "select count(*) filter (where prison_id is null) as program_wide,
                    array_agg(source_ref order by id) as sources,
                    (select count(*) from recon.imports where settlement_entry_id is not null)
                      as day_entries
             from fees.charges",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("program_wide"), 2);
    assert_eq!(
        row.get::<_, Vec<String>>("sources"),
        ["2026-11-10:rec_fee0", "2026-11-10:rec_fee1"]
    );
    assert_eq!(
        row.get::<_, i64>("day_entries"),
        0,
        "no card activity: no netted day entry"
    );
    // The same file again changes nothing.
    assert_eq!(upload().await.status(), 200);
    assert_eq!(fees.fee_postings().await.len(), 4);
    let report = fees.report("2026-11").await;
    assert_eq!(
        report["lines"],
        json!([{"fee_kind": "processor_program", "program_wide": true, "borne_by": "service",
                "currency": "EUR", "count": 2, "total_minor": 225}])
    );
    assert_eq!(report["totals"][0]["program_wide_minor"], 225);
    assert_eq!(report["totals"][0]["prison_total_minor"], 0);
}

#[tokio::test]
async fn without_a_policy_an_atm_withdrawal_costs_the_prisoner_nothing_and_books_no_fee() {
    let fees = FeeWorld::start().await;
    fees.atm_withdrawal(1, 2_000).await;
    assert_eq!(fees.spendable_minor().await, 10_000 - 2_000);
    assert!(fees.fee_postings().await.is_empty());
}

#[tokio::test]
async fn an_atm_fee_the_service_bears_is_an_expense_posting_and_leaves_the_prisoner_alone() {
    let fees = FeeWorld::start().await;
    let response = fees
        .set_policy(
            "atm_withdrawal",
            json!({"currency": "EUR", "amount_minor": 200, "reason": "processor tariff"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let policy: Value = response.json().await.unwrap();
    assert_eq!(
        policy["borne_by"], "service",
        "the service bears by default"
    );
    fees.atm_withdrawal(1, 2_000).await;
    assert_eq!(fees.spendable_minor().await, 10_000 - 2_000);
    assert_eq!(
        fees.fee_postings().await,
        [
            (
                "atm_withdrawal",
                "service",
                "institution:fee_atm_withdrawal:EUR",
                200
            ),
            (
                "atm_withdrawal",
                "service",
                "institution:fees_income:EUR",
                -200
            ),
        ]
        .map(|(kind, bearer, code, amount)| (
            kind.into(),
            bearer.into(),
            code.into(),
            amount
        ))
    );
}

#[tokio::test]
async fn an_atm_fee_the_prisoner_bears_is_taken_from_their_card_once_however_often_the_clearing_arrives()
 {
    let fees = FeeWorld::start().await;
    let response = fees
        .set_policy(
            "atm_withdrawal",
            json!({"currency": "EUR", "amount_minor": 200, "borne_by": "prisoner",
                   "reason": "released cards pay the ATM tariff"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let clearing = fees.atm_withdrawal(1, 2_000).await;
    assert_eq!(fees.spendable_minor().await, 10_000 - 2_000 - 200);
    // The same message again, and the same clearing under another webhook id.
    assert_eq!(fees.send_webhook("msg_clear1", &clearing).await, 200);
    assert_eq!(fees.send_webhook("msg_clear1_again", &clearing).await, 200);
    assert_eq!(fees.spendable_minor().await, 10_000 - 2_000 - 200);
    assert_eq!(
        fees.fee_postings().await,
        [
            (
                "atm_withdrawal",
                "prisoner",
                person_code(&fees.prisoner),
                200
            ),
            (
                "atm_withdrawal",
                "prisoner",
                "institution:fees_income:EUR".into(),
                -200
            ),
        ]
        .map(|(kind, bearer, code, amount)| (kind.into(), bearer.into(), code, amount))
    );
}

#[tokio::test]
async fn a_prisoner_borne_fee_never_takes_the_card_below_zero_the_service_bears_it_then() {
    let fees = FeeWorld::start().await;
    fees.set_policy(
        "atm_withdrawal",
        json!({"currency": "EUR", "amount_minor": 200, "borne_by": "prisoner", "reason": "tariff"}),
    )
    .await;
    fees.atm_withdrawal(1, 9_900).await;
    assert_eq!(
        fees.spendable_minor().await,
        100,
        "the fee of 2.00 exceeds 1.00"
    );
    let postings = fees.fee_postings().await;
    assert_eq!(postings[0].1, "service");
    assert_eq!(postings[0].2, "institution:fee_atm_withdrawal:EUR");
}

#[tokio::test]
async fn a_card_replacement_books_the_replacement_fee_the_policy_sets() {
    let fees = FeeWorld::start().await;
    fees.set_policy(
        "card_replacement",
        json!({"currency": "EUR", "amount_minor": 500, "borne_by": "prisoner",
               "reason": "lost cards are replaced at cost"}),
    )
    .await;
    let response = fees
        .world
        .http
        .post(fees.world.prison_url(
            fees.world.prison_a,
            &format!("/prisoners/{}/card/reissue", fees.prisoner.person_id),
        ))
        .bearer_auth(&fees.officer.token)
        .json(&json!({"reason": "LOST"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["fee"]["fee_kind"], "card_replacement");
    assert_eq!(accepted["fee"]["amount_minor"], 500);
    assert_eq!(accepted["fee"]["borne_by"], "prisoner");
    assert_eq!(fees.spendable_minor().await, 10_000 - 500);
    assert_eq!(
        fees.fee_postings().await,
        [
            (
                "card_replacement",
                "prisoner",
                person_code(&fees.prisoner),
                500
            ),
            (
                "card_replacement",
                "prisoner",
                "institution:fees_income:EUR".into(),
                -500
            ),
        ]
        .map(|(kind, bearer, code, amount)| (kind.into(), bearer.into(), code, amount))
    );
}

#[tokio::test]
async fn the_fee_report_equals_the_fee_postings_and_names_no_person_or_card() {
    let fees = FeeWorld::start().await;
    fees.set_policy(
        "atm_withdrawal",
        json!({"currency": "EUR", "amount_minor": 150, "reason": "tariff"}),
    )
    .await;
    fees.atm_withdrawal(1, 1_000).await;
    fees.atm_withdrawal(2, 1_000).await;
    fees.set_policy(
        "atm_withdrawal",
        json!({"currency": "EUR", "amount_minor": 150, "borne_by": "prisoner", "reason": "tariff 2"}),
    )
    .await;
    // Known as an ATM withdrawal by its authorization's channel alone.
    fees.cash_withdrawal(3, 1_000, "6010").await;
    let month = this_month();
    let report = fees.report(&month).await;
    assert_eq!(
        report["lines"],
        json!([
            {"fee_kind": "atm_withdrawal", "program_wide": false, "borne_by": "prisoner",
             "currency": "EUR", "count": 1, "total_minor": 150},
            {"fee_kind": "atm_withdrawal", "program_wide": false, "borne_by": "service",
             "currency": "EUR", "count": 2, "total_minor": 300},
        ])
    );
    // The figures are the postings': the debits of the fee entries.
    let debits: i64 = fees
        .fee_postings()
        .await
        .iter()
        .filter(|posting| posting.3 > 0)
        .map(|posting| posting.3)
        .sum();
    let totals = &report["totals"][0];
    assert_eq!(totals["prison_total_minor"], debits);
    assert_eq!(totals["borne_by_service_minor"], 300);
    assert_eq!(totals["borne_by_prisoners_minor"], 150);
    // The other prison's report has none of it.
    let other = fees
        .world
        .http
        .get(fees.world.url(&format!(
            "/api/fees/report?prison_id={}&month={month}",
            fees.world.prison_b
        )))
        .bearer_auth(&fees.officer.token)
        .send()
        .await
        .unwrap();
    let other: Value = other.json().await.unwrap();
    assert_eq!(other["lines"], json!([]));
    // The CSV to publish: the same figures, nobody's ids.
    let csv = fees
        .world
        .http
        .get(fees.world.url(&format!(
            "/api/fees/report.csv?prison_id={}&month={month}",
            fees.world.prison_a
        )))
        .bearer_auth(&fees.finance.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains(&format!(
        "HEL,{month},atm_withdrawal,prison,service,EUR,2,300\r\n"
    )));
    let person = fees.prisoner.person_id.to_string();
    for secret in [
        person.as_str(),
        fees.prisoner.card_id.as_str(),
        "txn_atm1",
        "FEE-1",
    ] {
        assert!(!csv.contains(secret), "{secret} in {csv}");
        assert!(!report.to_string().contains(secret), "{secret} in {report}");
    }
    // And the page shows them.
    let page = fees
        .world
        .http
        .get(fees.world.url(&format!(
            "/staff/prisons/{}/fees?month={month}",
            fees.world.prison_a
        )))
        .bearer_auth(&fees.officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("ATM withdrawals"), "{page}");
    assert!(page.contains("3.00 EUR"), "{page}");
}

#[tokio::test]
async fn fee_policies_are_set_by_finance_approvers_only_and_every_setting_stays_on_record() {
    let fees = FeeWorld::start().await;
    let by_finance = fees
        .world
        .http
        .put(
            fees.world
                .prison_url(fees.world.prison_a, "/fee-policies/atm_withdrawal"),
        )
        .bearer_auth(&fees.finance.token)
        .json(&json!({"currency": "EUR", "amount_minor": 1, "reason": "try"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_finance.status(), 403);
    for (kind, body, code) in [
        (
            "processor_program",
            json!({"currency": "EUR", "amount_minor": 1, "reason": "r"}),
            "fee_kind_not_set_per_prison",
        ),
        (
            "atm",
            json!({"currency": "EUR", "amount_minor": 1, "reason": "r"}),
            "fee_kind_invalid",
        ),
        (
            "atm_withdrawal",
            json!({"currency": "EUR", "amount_minor": -1, "reason": "r"}),
            "fee_amount_negative",
        ),
        (
            "atm_withdrawal",
            json!({"currency": "EUR", "amount_minor": 1, "borne_by": "family",
                                  "reason": "r"}),
            "borne_by_invalid",
        ),
        (
            "atm_withdrawal",
            json!({"currency": "EUR", "amount_minor": 1, "reason": " "}),
            "reason_required",
        ),
        (
            "atm_withdrawal",
            json!({"currency": "XXX", "amount_minor": 1, "reason": "r"}),
            "currency_invalid",
        ),
    ] {
        let (status, body) = problem(fees.set_policy(kind, body).await).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (422, code),
            "{kind}"
        );
    }
    let first = json!({"currency": "EUR", "amount_minor": 100, "reason": "tariff"});
    assert_eq!(
        fees.set_policy("atm_withdrawal", first.clone())
            .await
            .status(),
        200
    );
    assert_eq!(fees.set_policy("atm_withdrawal", first).await.status(), 200);
    assert_eq!(
        fees.set_policy(
            "atm_withdrawal",
            json!({"currency": "EUR", "amount_minor": 0, "reason": "waived"}),
        )
        .await
        .status(),
        200
    );
    let listed: Value = fees
        .world
        .http
        .get(fees.world.prison_url(fees.world.prison_a, "/fee-policies"))
        .bearer_auth(&fees.finance.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["in_force"].as_array().unwrap().len(), 1);
    assert_eq!(listed["in_force"][0]["amount_minor"], 0);
    assert_eq!(
        listed["history"].as_array().unwrap().len(),
        2,
        "the same setting twice is one row"
    );
    let change = fees
        .world
        .db
        .raw_client()
        .await
        .batch_execute("update fees.policies set amount_minor = 5")
        .await
        .unwrap_err();
    assert!(
        change
            .as_db_error()
            .unwrap()
            .message()
            .contains("append-only")
    );
    let (status, body) = problem(
        fees.world
            .http
            .get(fees.world.url(&format!(
                "/api/fees/report?prison_id={}&month=2026-13",
                fees.world.prison_a
            )))
            .bearer_auth(&fees.officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "month_invalid")
    );
    let unknown = fees
        .world
        .http
        .get(fees.world.url(&format!(
            "/api/fees/report?prison_id={}&month=2026-11",
            uuid::Uuid::now_v7()
        )))
        .bearer_auth(&fees.officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let anonymous = fees
        .world
        .http
        .get(fees.world.url(&format!(
            "/api/fees/report?prison_id={}&month=2026-11",
            fees.world.prison_a
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "staff only, though published");
}

#[tokio::test]
async fn a_finance_approver_sets_a_fee_policy_on_the_fees_page_and_an_officer_sees_no_form() {
    let fees = FeeWorld::start().await;
    let page_as = |user: &StaffUser, method: reqwest::Method, path: String| {
        fees.world
            .http
            .request(method, fees.world.url(&path))
            .header("cookie", format!("saldo_staff={}", user.token))
            .header("sec-fetch-site", "same-origin")
    };
    let fees_page = format!("/staff/prisons/{}/fees", fees.world.prison_a);
    let officer_page = page_as(&fees.officer, reqwest::Method::GET, fees_page.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        officer_page.contains("Fee policies in force"),
        "{officer_page}"
    );
    assert!(!officer_page.contains("Set a fee policy"));
    let form = [
        ("fee_kind", "card_replacement"),
        ("currency", "EUR"),
        ("amount", "4.50"),
        ("borne_by", "service"),
        ("reason", "replacement at cost, borne by the service"),
    ];
    let by_officer = page_as(
        &fees.officer,
        reqwest::Method::POST,
        format!("{fees_page}/policies"),
    )
    .form(&form)
    .send()
    .await
    .unwrap();
    assert_eq!(by_officer.status(), 403);
    let by_approver = page_as(
        &fees.approver,
        reqwest::Method::POST,
        format!("{fees_page}/policies"),
    )
    .form(&form)
    .send()
    .await
    .unwrap();
    assert_eq!(by_approver.status(), 303);
    assert_eq!(by_approver.headers()["location"], fees_page.as_str());
    let approver_page = page_as(&fees.approver, reqwest::Method::GET, fees_page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(approver_page.contains("Set a fee policy"));
    assert!(approver_page.contains("4.50 EUR"), "{approver_page}");
    let amount_minor: i64 = fees
        .world
        .db
        .raw_client()
        .await
        .query_one("select amount_minor from fees.policies", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(amount_minor, 450);
}

#[tokio::test]
async fn saldo_verify_finds_a_fee_row_whose_entry_books_no_fee() {
    let fees = FeeWorld::start().await;
    fees.set_policy(
        "atm_withdrawal",
        json!({"currency": "EUR", "amount_minor": 200, "borne_by": "prisoner", "reason": "tariff"}),
    )
    .await;
    fees.atm_withdrawal(1, 1_000).await;
    let fees_posted = |report: &ledger::verify::VerifyReport| {
        report
            .check("fees_posted")
            .map(|check| check.violations)
            .unwrap()
    };
    let report = fees.world.db.ledger().verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
    // A fee row naming the withdrawal's clearing entry, which debits the prisoner 10.00 to the
    // settlement payable, not a fee.
    fees.world
        .db
        .raw_client()
        .await
        .batch_execute(
            "insert into fees.charges (fee_kind, prison_id, source_ref, entry_id, borne_by,
                 effective_date)
             select 'card_replacement', c.prison_id, 'forged', r.entry_id, 'service', current_date
             from journal_entry_refs r, fees.charges c
             where r.ref_kind = 'processor_transaction' and r.ref_value = 'txn_atm1'",
        )
        .await
        .unwrap();
    let report = fees.world.db.ledger().verify().await.unwrap();
    assert_eq!(fees_posted(&report), 1, "{report}");
}
