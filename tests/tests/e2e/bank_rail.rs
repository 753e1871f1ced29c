//! The bank rail over HTTP (docs/payouts.md): families pay by SEPA transfer quoting the
//! prisoner's structured reference and the camt.053 import takes it through the deposit rules;
//! what cannot be taken is a break and goes back by pain.001; a release pays out by SEPA (file,
//! debit, return) or in cash at the gate, free of charge.
// Cent amounts are grouped as euros_cents: `20_00` is 20.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use saldo::auth::Role;
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::api_deposit_review::approve_sender;
use crate::api_support::*;

const TRUST_IBAN: &str = "FI2112345600000785";
/// An approved family member's account.
const FAMILY_IBAN: &str = "DE89370400440532013000";
/// Someone nobody approved.
const STRANGER_IBAN: &str = "BE68539007547034";
/// The released person's own account.
const PAYEE_IBAN: &str = "NL91ABNA0417164300";

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// One booked camt.053 line: (signed amount in minor units, end-to-end id, creditor reference,
/// debtor name and IBAN, return reason).
struct Line<'a> {
    amount_minor: i64,
    end_to_end: &'a str,
    reference: Option<&'a str>,
    debtor: Option<(&'a str, &'a str)>,
    return_reason: Option<&'a str>,
}

fn decimal(minor: i64) -> String {
    format!("{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

fn statement(id: &str, opening_minor: i64, lines: &[Line<'_>]) -> String {
    let date = today();
    let closing_minor = opening_minor + lines.iter().map(|l| l.amount_minor).sum::<i64>();
    let mut entries = String::new();
    for line in lines {
        let indicator = if line.amount_minor < 0 {
            "DBIT"
        } else {
            "CRDT"
        };
        let parties = line
            .debtor
            .map(|(name, iban)| {
                format!(
                    "<RltdPties><Dbtr><Nm>{name}</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>"
                )
            })
            .unwrap_or_default();
        let remittance = line
            .reference
            .map(|r| {
                format!("<RmtInf><Strd><CdtrRefInf><Ref>{r}</Ref></CdtrRefInf></Strd></RmtInf>")
            })
            .unwrap_or_default();
        let returned = line
            .return_reason
            .map(|code| format!("<RtrInf><Rsn><Cd>{code}</Cd></Rsn></RtrInf>"))
            .unwrap_or_default();
        entries.push_str(&format!(
            "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>\
             <BookgDt><Dt>{date}</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>\
             {parties}{remittance}{returned}</TxDtls></NtryDtls></Ntry>\n",
            amount = decimal(line.amount_minor),
            e2e = line.end_to_end,
        ));
    }
    let balance = |code: &str, minor: i64| {
        format!(
            "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>",
            decimal(minor),
            if minor < 0 { "DBIT" } else { "CRDT" }
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt><GrpHdr><MsgId>MSG-{id}</MsgId><CreDtTm>{date}T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>{id}</Id><Acct><Id><IBAN>{TRUST_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
{opening}{closing}
{entries}</Stmt></BkToCstmrStmt></Document>
"#,
        opening = balance("OPBD", opening_minor),
        closing = balance("CLBD", closing_minor),
    )
}

/// A prison A with its trust account, an officer and two finance clerks.
struct Rail {
    world: World,
    officer: StaffUser,
    clerk: StaffUser,
}

impl Rail {
    async fn new() -> Rail {
        let world = World::new().await;
        let officer = world
            .staff("rail.officer", &[Role::Officer], world.prison_a)
            .await;
        let clerk = world
            .staff("rail.clerk", &[Role::FinanceApprover], world.prison_a)
            .await;
        let response = world
            .http
            .put(world.prison_url(world.prison_a, "/trust-account"))
            .bearer_auth(&clerk.token)
            .json(&json!({"iban": TRUST_IBAN, "currency": "EUR"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        Rail {
            world,
            officer,
            clerk,
        }
    }

    fn prison_url(&self, rest: &str) -> String {
        self.world.prison_url(self.world.prison_a, rest)
    }

    async fn import(&self, xml: &str) -> Value {
        let response = self
            .world
            .http
            .post(self.world.url(&format!(
                "/api/staff/recon/bank-statements?prison_id={}",
                self.world.prison_a
            )))
            .bearer_auth(&self.clerk.token)
            .header("content-type", "application/xml")
            .body(xml.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn get(&self, url: String) -> Value {
        let response = self
            .world
            .http
            .get(url)
            .bearer_auth(&self.clerk.token)
            .header("Saldo-Purpose", "deposit")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn reference(&self, person: Uuid) -> String {
        let body = self
            .get(self.prison_url(&format!("/prisoners/{person}/bank-reference")))
            .await;
        body["reference"].as_str().unwrap().to_owned()
    }

    /// The person's money over all their sub-accounts, in minor units.
    async fn total_minor(&self, person: Uuid) -> i64 {
        let body = self
            .get(self.prison_url(&format!("/prisoners/{person}/balances")))
            .await;
        body["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|account| account["posted"]["amount_minor"].as_i64().unwrap())
            .sum()
    }

    async fn payouts(&self, pending: bool) -> Vec<Value> {
        self.get(self.prison_url(&format!("/payouts?pending={pending}")))
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    async fn payout_file(&self) -> reqwest::Response {
        self.world
            .http
            .post(self.prison_url("/payouts/pain001"))
            .bearer_auth(&self.clerk.token)
            .send()
            .await
            .unwrap()
    }

    async fn breaks(&self, class: &str) -> Vec<Value> {
        self.get(
            self.world
                .url(&format!("/api/staff/recon/breaks?class={class}")),
        )
        .await
        .as_array()
        .unwrap()
        .clone()
    }

    async fn cash_in(&self, person: Uuid, amount_minor: i64) {
        let response = self
            .world
            .http
            .post(self.prison_url(&format!("/prisoners/{person}/deposits")))
            .bearer_auth(&self.clerk.token)
            .json(&json!({"idempotency_key": Uuid::new_v4().to_string(),
                          "source": "cash_at_intake", "amount_minor": amount_minor,
                          "currency": "EUR"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }

    async fn release(&self, person: Uuid, payout: Value) -> reqwest::Response {
        self.world
            .http
            .post(self.prison_url(&format!("/prisoners/{person}/release")))
            .bearer_auth(&self.officer.token)
            .json(
                &json!({"idempotency_key": "release-1", "savings": "to_spendable",
                          "payout": payout}),
            )
            .send()
            .await
            .unwrap()
    }

    async fn rail_counts(&self) -> Vec<i64> {
        let row = self
            .world
            .db
            .raw_client()
            .await
            .query_one(
                "select (select count(*) from journal_entries), (select count(*) from recon.breaks),
                        (select count(*) from controls.bank_payouts),
                        (select count(*) from controls.deposits),
                        (select count(*) from identity.depositors)",
                &[],
            )
            .await
            .unwrap();
        (0..5).map(|i| row.get(i)).collect()
    }
}

async fn registered_depositor(rail: &Rail, iban: &str) -> Uuid {
    let body: Value = rail
        .world
        .http
        .post(rail.prison_url("/depositors"))
        .bearer_auth(&rail.clerk.token)
        .json(&json!({"full_name": "Maija Meikäläinen", "bank_account": iban}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["person_id"].as_str().unwrap().parse().unwrap()
}

/// The family's depositor record (paying from `FAMILY_IBAN`), approved to send to `person`.
async fn approved_family(rail: &Rail, person: Uuid) -> Uuid {
    let family = registered_depositor(rail, FAMILY_IBAN).await;
    let approved = approve_sender(
        &rail.world,
        &rail.clerk.token,
        rail.world.prison_a,
        family,
        person,
        true,
    )
    .await;
    assert_eq!(approved.status(), 200);
    family
}

#[tokio::test]
async fn a_structured_reference_deposit_is_matched_through_the_deposit_rules_and_unmatched_money_is_returned()
 {
    let rail = Rail::new().await;
    let person = rail
        .world
        .admit(&rail.officer, rail.world.prison_a, "BANK-1")
        .await;
    let reference = rail.reference(person).await;
    // ISO 11649, random: it says nothing about the person, and it stays the same.
    assert!(ledger::rf_reference::is_valid(&reference), "{reference}");
    assert!(!reference.contains("BANK"));
    assert_eq!(rail.reference(person).await, reference);
    let family = approved_family(&rail, person).await;

    let unknown = ledger::rf_reference::make("NOBODY42").unwrap();
    let grouped = ledger::rf_reference::grouped(&reference).to_lowercase();
    let xml = statement(
        "RAIL-1",
        1000_00,
        &[
            Line {
                amount_minor: 20_00,
                end_to_end: "E2E-FAMILY",
                reference: Some(&grouped),
                debtor: Some(("Maija Meikäläinen", FAMILY_IBAN)),
                return_reason: None,
            },
            Line {
                amount_minor: 15_00,
                end_to_end: "E2E-NOBODY",
                reference: Some(&unknown),
                debtor: Some(("Erkki Esimerkki", STRANGER_IBAN)),
                return_reason: None,
            },
            // Above the prison's review threshold (250.00): held for a second member of staff.
            Line {
                amount_minor: 300_00,
                end_to_end: "E2E-LARGE",
                reference: Some(&reference),
                debtor: Some(("Maija Meikäläinen", FAMILY_IBAN)),
                return_reason: None,
            },
            Line {
                amount_minor: 30_00,
                end_to_end: "E2E-UNAPPROVED",
                reference: Some(&reference),
                debtor: Some(("Erkki Esimerkki", STRANGER_IBAN)),
                return_reason: None,
            },
        ],
    );
    let imported = rail.import(&xml).await;
    assert_eq!(imported["status"], "imported", "{imported}");
    // Every line reconciles: the deposits and the two returns are on the books with its reference.
    assert_eq!(imported["matched_count"], 4, "{imported}");
    assert_eq!(rail.total_minor(person).await, 320_00);
    let held = rail.get(rail.prison_url("/deposits/pending")).await;
    let held = held["deposits"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["amount_minor"], 300_00);
    assert_eq!(held[0]["person_id"], person.to_string());
    assert_eq!(held[0]["sender_id"], family.to_string());
    assert_eq!(held[0]["received_by"], rail.clerk.id.to_string());

    let returned = rail.breaks("returned_to_sender").await;
    assert_eq!(returned.len(), 2, "{returned:?}");
    let explanations: Vec<&str> = returned
        .iter()
        .map(|b| b["explanation"].as_str().unwrap())
        .collect();
    assert!(
        explanations.iter().any(|e| e.contains("E2E-NOBODY")
            && e.contains("belongs to no prisoner")
            && e.contains("RUTA")),
        "{explanations:?}"
    );
    assert!(
        explanations.iter().any(|e| e.contains("E2E-UNAPPROVED")
            && e.contains("sender_not_approved")
            && e.contains("RR04")),
        "{explanations:?}"
    );
    assert!(explanations.iter().all(|e| !e.contains("Erkki")));
    let pending = rail.payouts(true).await;
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(pending.iter().all(|p| p["kind"] == "deposit_return"));

    // The same statement again changes nothing.
    let before = rail.rail_counts().await;
    let again = rail.import(&xml).await;
    assert_eq!(again["status"], "already_imported", "{again}");
    assert_eq!(rail.rail_counts().await, before);

    // The returns go out in one pain.001 file, to the senders' accounts, with their reasons.
    let response = rail.payout_file().await;
    assert_eq!(response.status(), 200);
    let file = response.bytes().await.unwrap();
    let read = recon::pain001::read_back(&file).unwrap();
    assert_eq!(read.header_count, "2");
    assert_eq!(read.header_control_sum, "45.00");
    let mut transfers = read.transfers.clone();
    transfers.sort();
    let mut expected: Vec<(String, String, String)> = pending
        .iter()
        .map(|p| {
            (
                p["end_to_end_id"].as_str().unwrap().to_owned(),
                decimal(p["amount"]["amount_minor"].as_i64().unwrap()),
                STRANGER_IBAN.to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(transfers, expected);
    let text = String::from_utf8(file.to_vec()).unwrap();
    assert!(text.contains("<Nm>Erkki Esimerkki</Nm>"));
    assert!(!text.contains("BANK-1"));
    assert!(!text.contains(&reference));
    assert!(rail.payouts(true).await.is_empty());
    let (status, body) = problem(rail.payout_file().await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("no_pending_payouts"))
    );
    let disclosed = rail
        .world
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from audit.access_log
             where action = 'disclose' and recipient like 'trust bank (pain.001 %'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(disclosed, 2);

    // The bank debits both returns: they reconcile and settle.
    let debits: Vec<Line> = pending
        .iter()
        .map(|p| Line {
            amount_minor: -p["amount"]["amount_minor"].as_i64().unwrap(),
            end_to_end: p["end_to_end_id"].as_str().unwrap(),
            reference: None,
            debtor: None,
            return_reason: None,
        })
        .collect();
    let settled = rail.import(&statement("RAIL-2", 1365_00, &debits)).await;
    assert_eq!(settled["matched_count"], 2, "{settled}");
    assert!(
        rail.payouts(false)
            .await
            .iter()
            .all(|p| p["state"] == "settled")
    );
    // Given back and shown on the statement: the two breaks close by themselves.
    assert_eq!(settled["matched_later"], 2, "{settled}");
    let returned = rail.breaks("returned_to_sender").await;
    assert_eq!(returned.len(), 2, "{returned:?}");
    assert!(
        returned
            .iter()
            .all(|b| b["state"] == "resolved" && b["resolution"] == "matched_later"),
        "{returned:?}"
    );
}

#[tokio::test]
async fn a_held_bank_transfer_rejected_after_review_goes_back_to_its_sender_in_the_next_file() {
    let rail = Rail::new().await;
    let person = rail
        .world
        .admit(&rail.officer, rail.world.prison_a, "BANK-2")
        .await;
    let reference = rail.reference(person).await;
    approved_family(&rail, person).await;
    // Above the review threshold (250.00): held, and nothing to return yet.
    let imported = rail
        .import(&statement(
            "HELD-1",
            1000_00,
            &[Line {
                amount_minor: 400_00,
                end_to_end: "E2E-HELD",
                reference: Some(&reference),
                debtor: Some(("Maija Meikäläinen", FAMILY_IBAN)),
                return_reason: None,
            }],
        ))
        .await;
    assert_eq!(imported["matched_count"], 1, "{imported}");
    assert!(rail.payouts(true).await.is_empty());
    let held = rail.get(rail.prison_url("/deposits/pending")).await;
    let deposit_id = held["deposits"][0]["deposit_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A second approver (not the clerk who imported the statement) rejects it.
    let reviewer = rail
        .world
        .staff(
            "rail.reviewer",
            &[Role::FinanceApprover],
            rail.world.prison_a,
        )
        .await;
    let response = rail
        .world
        .http
        .post(rail.prison_url(&format!("/deposits/{deposit_id}/reject")))
        .bearer_auth(&reviewer.token)
        .json(&json!({"reason": "the family asked for it back"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rejected: Value = response.json().await.unwrap();
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(rail.total_minor(person).await, 0);

    // The return is waiting for the next file, to the sender's account, with its reason.
    let pending = rail.payouts(true).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["kind"], "deposit_return");
    assert_eq!(pending[0]["reason_code"], "MS02");
    assert_eq!(pending[0]["amount"]["amount_minor"], 400_00);
    let response = rail.payout_file().await;
    assert_eq!(response.status(), 200);
    let read = recon::pain001::read_back(&response.bytes().await.unwrap()).unwrap();
    let end_to_end = pending[0]["end_to_end_id"].as_str().unwrap();
    assert_eq!(
        read.transfers,
        vec![(
            end_to_end.to_owned(),
            "400.00".to_owned(),
            FAMILY_IBAN.to_owned()
        )]
    );

    // The bank's debit of the return reconciles: the trust account agrees with the bank.
    let settled = rail
        .import(&statement(
            "HELD-2",
            1400_00,
            &[Line {
                amount_minor: -400_00,
                end_to_end,
                reference: None,
                debtor: None,
                return_reason: None,
            }],
        ))
        .await;
    assert_eq!(settled["matched_count"], 1, "{settled}");
    assert_eq!(rail.payouts(false).await[0]["state"], "settled");
    let row = rail
        .world
        .db
        .raw_client()
        .await
        .query_one(
            "select coalesce(sum(p.amount_minor) filter (where a.purpose = 'bank_trust'), 0)::bigint,
                    coalesce(sum(p.amount_minor) filter (where a.purpose = 'deposit_returns'), 0)::bigint,
                    count(*) filter (where a.purpose = 'deposit_returns')
             from journal_postings p
             join ledger_accounts a on a.id = p.account_id and a.currency = p.currency",
            &[],
        )
        .await
        .unwrap();
    let (trust_minor, returns_minor, returns_postings): (i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2));
    // In and out of the trust account again, through deposit_returns: nothing held, nothing owed.
    assert_eq!((trust_minor, returns_minor, returns_postings), (0, 0, 2));
}

#[tokio::test]
async fn a_release_paid_by_sepa_goes_out_in_a_pain001_file_reconciles_from_camt053_and_a_return_puts_it_back()
 {
    let rail = Rail::new().await;
    let person = rail
        .world
        .admit(&rail.officer, rail.world.prison_a, "SEPA-1")
        .await;
    rail.cash_in(person, 50_00).await;

    // Bad input changes nothing: an IBAN that fails its check.
    let (status, body) = problem(
        rail.release(
            person,
            json!({"kind": "sepa", "iban": "NL91ABNA0417164301", "holder_name": "Ville Vapautettu"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("iban_invalid")));
    assert_eq!(rail.total_minor(person).await, 50_00);

    let response = rail
        .release(
            person,
            json!({"kind": "sepa", "iban": "nl91 abna 0417 1643 00", "holder_name": "Ville Vapautettu"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let released: Value = response.json().await.unwrap();
    assert_eq!(released["placement"]["mode"], "released");
    assert_eq!(released["payout"]["kind"], "sepa");
    assert_eq!(released["payout"]["amount"]["amount_minor"], 50_00);
    let end_to_end = released["payout"]["end_to_end_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rail.total_minor(person).await, 0);
    // Free: no fee, the whole balance is on its way.
    let fee_postings = rail
        .world
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from journal_postings p join ledger_accounts a on a.id = p.account_id
             where a.purpose = 'fees_income'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(fee_postings, 0);

    let file = rail.payout_file().await.bytes().await.unwrap();
    let read = recon::pain001::read_back(&file).unwrap();
    assert_eq!(
        read.transfers,
        vec![(
            end_to_end.clone(),
            "50.00".to_owned(),
            PAYEE_IBAN.to_owned()
        )]
    );
    let text = String::from_utf8(file.to_vec()).unwrap();
    assert!(text.contains("<Nm>Ville Vapautettu</Nm>"));
    assert!(text.contains(&format!("<IBAN>{TRUST_IBAN}</IBAN>")));
    assert!(!text.contains("SEPA-1"));
    // The name and the account are in the identity store only: not in the ledger's tables.
    let leaked = rail
        .world
        .db
        .raw_client()
        .await
        .query_one(
            "select count(*) from journal_entries
             where metadata::text like '%Vapautettu%' or metadata::text like '%NL91%'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(leaked, 0);

    let debit = Line {
        amount_minor: -50_00,
        end_to_end: &end_to_end,
        reference: None,
        debtor: None,
        return_reason: None,
    };
    let settled = rail.import(&statement("SEPA-OUT", 500_00, &[debit])).await;
    assert_eq!(settled["matched_count"], 1, "{settled}");
    assert_eq!(rail.payouts(false).await[0]["state"], "settled");

    // The payee's bank sends it back (account closed): the money is the person's again.
    let returned = Line {
        amount_minor: 50_00,
        end_to_end: &end_to_end,
        reference: None,
        debtor: None,
        return_reason: Some("AC04"),
    };
    let back = rail
        .import(&statement("SEPA-BACK", 450_00, &[returned]))
        .await;
    assert_eq!(back["matched_count"], 1, "{back}");
    assert_eq!(rail.payouts(false).await[0]["state"], "returned");
    assert_eq!(rail.total_minor(person).await, 50_00);
    assert!(rail.breaks("returned_to_sender").await.is_empty());
}

#[tokio::test]
async fn a_cash_payout_at_release_pays_everything_free_against_a_receipt_and_card_grace_is_unchanged()
 {
    let rail = Rail::new().await;
    let cash_person = rail
        .world
        .admit(&rail.officer, rail.world.prison_a, "CASH-1")
        .await;
    let card_person = rail
        .world
        .admit(&rail.officer, rail.world.prison_a, "CARD-1")
        .await;
    rail.cash_in(cash_person, 42_50).await;
    rail.cash_in(card_person, 10_00).await;

    let response = rail.release(cash_person, json!({"kind": "cash"})).await;
    assert_eq!(response.status(), 200);
    let released: Value = response.json().await.unwrap();
    assert_eq!(released["payout"]["kind"], "cash");
    assert_eq!(released["payout"]["amount"]["amount_minor"], 42_50);
    let receipt = released["payout"]["receipt_no"].as_str().unwrap();
    assert!(receipt.starts_with("C-"), "{receipt}");
    assert_eq!(rail.total_minor(cash_person).await, 0);
    let cash_booked = rail
        .world
        .db
        .raw_client()
        .await
        .query_one(
            "select coalesce(sum(p.amount_minor), 0)::bigint from journal_postings p
             join ledger_accounts a on a.id = p.account_id
             join journal_entry_refs r on r.entry_id = p.entry_id
             where a.purpose = 'cash_on_hand' and r.ref_kind = 'cash_receipt' and r.ref_value = $1",
            &[&receipt],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(cash_booked, -42_50);

    // The same release again answers the same and pays nothing more.
    let again: Value = rail
        .release(cash_person, json!({"kind": "cash"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["payout"]["receipt_no"], receipt);

    let card: Value = rail
        .release(card_person, json!({"kind": "card_grace"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["placement"]["mode"], "released");
    assert!(card.get("payout").is_none(), "{card}");
    assert_eq!(rail.total_minor(card_person).await, 10_00);
    assert!(rail.payouts(false).await.is_empty());
}

#[tokio::test]
async fn the_release_form_with_cash_answers_with_a_printable_receipt_and_a_bad_iban_changes_nothing()
 {
    let rail = Rail::new().await;
    let person = rail
        .world
        .admit(&rail.officer, rail.world.prison_a, "GATE-1")
        .await;
    rail.cash_in(person, 12_34).await;
    let form = |payout: &'static str, iban: &'static str| {
        rail.world
            .http
            .post(rail.world.url(&format!(
                "/staff/prisons/{}/prisoners/{person}/release",
                rail.world.prison_a
            )))
            .header("cookie", format!("saldo_staff={}", rail.officer.token))
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("idempotency_key", Uuid::new_v4().to_string().as_str()),
                ("purpose", "release_preparation"),
                ("savings", "to_spendable"),
                ("payout", payout),
                ("payout_iban", iban),
                ("payout_holder", "Ville Vapautettu"),
            ])
    };

    let refused = form("sepa", "NL91ABNA0417164301").send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("(iban_invalid)"), "{html}");
    assert_eq!(rail.total_minor(person).await, 12_34);

    let response = form("cash", "").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Cash payout receipt"), "{html}");
    assert!(html.contains("12,34") || html.contains("12.34"), "{html}");
    assert!(html.contains("Signature of the person released"));
    assert!(
        html.contains("<dt>Charges</dt><dd>none</dd>"),
        "no charges: {html}"
    );
    assert!(!html.contains("GATE-1"));
    assert_eq!(rail.total_minor(person).await, 0);
}
