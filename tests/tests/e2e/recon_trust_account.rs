//! Whose statement it is: a camt.053 statement is imported for a prison only when it is of that
//! prison's configured trust account (IBAN and currency) and closes inside the reconciliation
//! period. Anything else is refused whole, over HTTP and on the command line, naming both
//! accounts; a prison with no trust account configured imports nothing.
use std::process::ExitCode;

use saldo::auth::Role;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::api_support::*;

const TRUST_IBAN: &str = "FI2112345600000785";
const TRUST_IBAN_PRINTED: &str = "FI21 1234 5600 0007 85";
/// The IBAN of the examples in ISO 13616 and many camt parsers' test files.
const OTHER_IBAN: &str = "DE89370400440532013000";

/// A small camt.053.001.02 statement of `iban` in `currency`, closing on `date`, with one booked
/// credit of 12.50 (end-to-end reference E2E-TRUST-1). `iban` `None`: the account is named by
/// another identifier only (`Othr/Id`), as some banks' samples do.
fn statement(id: &str, iban: Option<&str>, currency: &str, date: Date) -> String {
    let account_id = match iban {
        Some(iban) => format!("<IBAN>{iban}</IBAN>"),
        None => "<Othr><Id>0123456789</Id></Othr>".to_owned(),
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt>
<GrpHdr><MsgId>MSG-{id}</MsgId><CreDtTm>{date}T06:00:00</CreDtTm></GrpHdr>
<Stmt>
<Id>{id}</Id>
<CreDtTm>{date}T06:00:00</CreDtTm>
<Acct><Id>{account_id}</Id><Ccy>{currency}</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">112.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>
<TxsSummry><TtlNtries><NbOfNtries>1</NbOfNtries></TtlNtries></TxsSummry>
<Ntry><Amt Ccy="{currency}">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt><AcctSvcrRef>REF-{id}</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><EndToEndId>E2E-{id}</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>
</Stmt>
</BkToCstmrStmt>
</Document>
"#
    )
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

async fn upload(world: &World, clerk: &StaffUser, prison_id: Uuid, xml: &str) -> reqwest::Response {
    world
        .http
        .post(world.url(&format!(
            "/api/staff/recon/bank-statements?prison_id={prison_id}"
        )))
        .bearer_auth(&clerk.token)
        .header("content-type", "application/xml")
        .body(xml.to_owned())
        .send()
        .await
        .unwrap()
}

async fn set_account(
    world: &World,
    who: &StaffUser,
    prison_id: Uuid,
    body: Value,
) -> reqwest::Response {
    world
        .http
        .put(world.prison_url(prison_id, "/trust-account"))
        .bearer_auth(&who.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Imports, their lines and the breaks: what a refused file must leave untouched.
async fn recon_counts(world: &World) -> (i64, i64, i64) {
    let row = world
        .db
        .raw_client()
        .await
        .query_one(
            "select (select count(*) from recon.imports), (select count(*) from recon.bank_lines),
                    (select count(*) from recon.breaks)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn a_statement_of_another_account_currency_or_period_is_refused_whole_over_http() {
    let world = World::new().await;
    let approver = world
        .staff("ta.approver", &[Role::FinanceApprover], world.prison_a)
        .await;
    let clerk = world
        .staff("ta.clerk", &[Role::Finance], world.prison_a)
        .await;
    let good = statement("STMT-GOOD", Some(TRUST_IBAN), "EUR", today());

    // No trust account yet: nothing is imported, with a code saying what to do.
    let (status, body) = problem(upload(&world, &clerk, world.prison_a, &good).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("trust_account_not_configured")),
        "{body}"
    );
    assert_eq!(recon_counts(&world).await, (0, 0, 0));

    // Setting it: validated (mod-97, ISO 4217, a currency the ledger keeps), finance_approver only.
    for (request, code) in [
        (
            json!({"iban": "FI2112345600000786", "currency": "EUR"}),
            "iban_invalid",
        ),
        (
            json!({"iban": TRUST_IBAN, "currency": "EURO"}),
            "currency_invalid",
        ),
        (
            json!({"iban": TRUST_IBAN, "currency": "USD"}),
            "currency_unsupported",
        ),
        (
            json!({"iban": TRUST_IBAN, "currency": "EUR", "reconcile_from": "2099-01-01"}),
            "reconcile_from_invalid",
        ),
    ] {
        let (status, body) =
            problem(set_account(&world, &approver, world.prison_a, request).await).await;
        assert_eq!((status, body["code"].as_str()), (422, Some(code)), "{body}");
    }
    let (status, _) = problem(
        set_account(
            &world,
            &clerk,
            world.prison_a,
            json!({"iban": TRUST_IBAN, "currency": "EUR"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
    let from = (today() - Duration::days(10)).to_string();
    let set = set_account(
        &world,
        &approver,
        world.prison_a,
        json!({"iban": TRUST_IBAN_PRINTED.to_lowercase(), "currency": "EUR", "reconcile_from": from}),
    )
    .await;
    assert_eq!(set.status(), 200);
    let account: Value = set.json().await.unwrap();
    assert_eq!(account["iban"], TRUST_IBAN);
    assert_eq!(account["currency"], "EUR");
    assert_eq!(account["reconcile_from"], from.as_str());
    let shown: Value = world
        .http
        .get(world.prison_url(world.prison_a, "/trust-account"))
        .bearer_auth(&clerk.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown, account);

    // Another bank's sample: another IBAN, another currency, years ago. Refused, naming both.
    let foreign = statement(
        "SAMPLE-2014",
        Some(OTHER_IBAN),
        "USD",
        Date::from_calendar_date(2014, time::Month::March, 31).unwrap(),
    );
    let (status, body) = problem(upload(&world, &clerk, world.prison_a, &foreign).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("wrong_account")),
        "{body}"
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("DE89 **** 3000"), "{detail}");
    assert!(detail.contains(TRUST_IBAN_PRINTED), "{detail}");
    assert!(
        !detail.contains(OTHER_IBAN),
        "another account is named masked: {detail}"
    );
    // An account named without an IBAN cannot be shown to be the trust account.
    let (status, body) = problem(
        upload(
            &world,
            &clerk,
            world.prison_a,
            &statement("NO-IBAN", None, "EUR", today()),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("wrong_account")),
        "{body}"
    );

    // The trust account's IBAN in a real currency that is not the account's: said so, not
    // "unknown".
    let (status, body) = problem(
        upload(
            &world,
            &clerk,
            world.prison_a,
            &statement("USD-1", Some(TRUST_IBAN), "USD", today()),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("wrong_currency")),
        "{body}"
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("not this account's currency"), "{detail}");
    assert!(!detail.contains("unknown"), "{detail}");
    // A code that is no currency at all is a malformed file.
    let (status, body) = problem(
        upload(
            &world,
            &clerk,
            world.prison_a,
            &statement("XQZ-1", Some(TRUST_IBAN), "XQZ", today()),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_file")),
        "{body}"
    );

    // The right account, far outside the period (and in the future).
    for date in [
        Date::from_calendar_date(2016, time::Month::June, 30).unwrap(),
        today() - Duration::days(11),
        today() + Duration::days(3),
    ] {
        let old = statement(&format!("OLD-{date}"), Some(TRUST_IBAN), "EUR", date);
        let (status, body) = problem(upload(&world, &clerk, world.prison_a, &old).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("statement_out_of_period")),
            "{body}"
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&date.to_string()) && detail.contains(TRUST_IBAN_PRINTED),
            "{detail}"
        );
    }
    // Prison B has no trust account: the same good file is refused for it.
    let clerk_b = world
        .staff("ta.clerk.b", &[Role::Finance], world.prison_b)
        .await;
    let (status, body) = problem(upload(&world, &clerk_b, world.prison_b, &good).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("trust_account_not_configured")),
        "{body}"
    );
    // A clerk of prison A cannot import for prison B.
    let (status, _) = problem(upload(&world, &clerk, world.prison_b, &good).await).await;
    assert_eq!(status, 403);
    assert_eq!(
        recon_counts(&world).await,
        (0, 0, 0),
        "a refused file writes nothing"
    );

    // The trust account's own statement is imported, for its prison.
    let imported = upload(&world, &clerk, world.prison_a, &good).await;
    assert_eq!(imported.status(), 200);
    let outcome: Value = imported.json().await.unwrap();
    assert_eq!(outcome["status"], "imported", "{outcome}");
    let prison: Option<Uuid> = world
        .db
        .raw_client()
        .await
        .query_one("select prison_id from recon.imports", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(prison, Some(world.prison_a));
}

#[tokio::test]
async fn saldo_reconcile_sets_the_trust_account_and_refuses_other_accounts_statements() {
    use clap::Parser;
    let world = World::new().await;
    let directory = std::env::temp_dir().join(format!("saldo-trust-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&directory).unwrap();
    let write = |name: &str, xml: String| {
        let path = directory.join(name);
        std::fs::write(&path, xml).unwrap();
        path.display().to_string()
    };
    let foreign = write(
        "foreign.xml",
        statement(
            "SAMPLE-2013",
            Some(OTHER_IBAN),
            "CHF",
            Date::from_calendar_date(2013, time::Month::December, 31).unwrap(),
        ),
    );
    let old = write(
        "old.xml",
        statement(
            "OLD-2015",
            Some(TRUST_IBAN),
            "EUR",
            Date::from_calendar_date(2015, time::Month::January, 31).unwrap(),
        ),
    );
    let good = write(
        "good.xml",
        statement("CLI-GOOD", Some(TRUST_IBAN), "EUR", today()),
    );
    let url = world.db.url();
    let run = |args: &[&str]| {
        let cli = saldo::cli::Cli::try_parse_from(
            ["saldo", "--database-url", url.as_str(), "reconcile"]
                .into_iter()
                .chain(args.iter().copied()),
        )
        .expect("the command line parses");
        saldo::cli::run(cli)
    };
    // Nothing configured: refused (exit 2).
    assert_eq!(
        run(&["bank", &good, "--prison", "HEL"]).await.unwrap(),
        ExitCode::from(2)
    );
    // A bad IBAN is refused; a good one is set.
    assert_eq!(
        run(&[
            "trust-account",
            "--prison",
            "HEL",
            "--iban",
            "FI2112345600000786",
            "--currency",
            "EUR"
        ])
        .await
        .unwrap(),
        ExitCode::from(2)
    );
    assert_eq!(
        run(&[
            "trust-account",
            "--prison",
            "HEL",
            "--iban",
            TRUST_IBAN_PRINTED,
            "--currency",
            "EUR"
        ])
        .await
        .unwrap(),
        ExitCode::SUCCESS
    );
    for file in [&foreign, &old] {
        assert_eq!(
            run(&["bank", file, "--prison", "HEL"]).await.unwrap(),
            ExitCode::from(2),
            "{file} is refused"
        );
    }
    // Prison BRU has none: the good file is refused there.
    assert_eq!(
        run(&["bank", &good, "--prison", "BRU"]).await.unwrap(),
        ExitCode::from(2)
    );
    assert_eq!(recon_counts(&world).await, (0, 0, 0));
    assert_eq!(
        run(&["bank", &good, "--prison", "HEL"]).await.unwrap(),
        ExitCode::SUCCESS
    );
    assert_eq!(recon_counts(&world).await.0, 1);
    let configured_by: String = world
        .db
        .raw_client()
        .await
        .query_one("select configured_by from recon.trust_accounts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(configured_by, "cli:cli");
    let _ = std::fs::remove_dir_all(&directory);
}
