//! Reconciliation: settlement files and camt.053 statements against the ledger, every break
//! class, corrupted files, re-imports, timing differences, the four-eyes workflow, the report,
//! and a 100,000-row file streamed in bounded memory.
use std::fmt::Write as _;
use std::io::{BufReader, Cursor};

use ledger::*;
use recon::breaks::{AdjustmentDraft, AdjustmentPosting, AdjustmentRef, BreakFilter};
use recon::{self, ImportOptions, ImportOutcome, ImportSummary, ReconError};
use saldo_tests::TestDb;
use time::{Date, Duration, Month};
use uuid::Uuid;

use crate::fixtures::*;

const CARD: &str = "card_recon1";
const TRUST_PRISON: &str = "RCN";
const TRUST_IBAN: &str = "FI2112345600000785";

fn day(n: u8) -> Date {
    Date::from_calendar_date(2026, Month::November, n).unwrap()
}

/// The institution's accounts, one prisoner with a registered card.
struct Program {
    ledger: Ledger,
    spendable: Uuid,
    payable: Uuid,
    funding: Uuid,
    bank: Uuid,
}

impl Program {
    async fn open(db: &TestDb) -> Program {
        let ledger = db.ledger();
        let person_id = Uuid::now_v7();
        let spendable = ledger
            .open_account(
                &key(),
                &NewAccount::person(person_id, person_purpose::SPENDABLE, Currency::EUR),
            )
            .await
            .unwrap()
            .id;
        let payable = open_institution(
            &ledger,
            institution_purpose::CARD_SETTLEMENT_PAYABLE,
            AccountType::Liability,
        )
        .await;
        let funding = open_institution(
            &ledger,
            institution_purpose::PROCESSOR_FUNDING,
            AccountType::Asset,
        )
        .await;
        let bank =
            open_institution(&ledger, institution_purpose::BANK_TRUST, AccountType::Asset).await;
        db.raw_client()
            .await
            .execute(
                "insert into card.cards (card_id, cardholder_id, person_id, account_id, state)
                 values ($1, 'ch_recon1', $2, $3, 'ACTIVE')",
                &[&CARD, &person_id, &spendable],
            )
            .await
            .unwrap();
        // The prison whose trust account the test statements are of (camt053() names it).
        let prison = saldo::identity::store::create_prison(
            &db.pool.get().await.unwrap(),
            &saldo::identity::NewPrison {
                code: TRUST_PRISON.into(),
                name: "Reconciliation prison".into(),
                time_zone: "Europe/Helsinki".into(),
                country: "FI".into(),
            },
        )
        .await
        .unwrap();
        recon::trust_account::configure(
            &db.pool.get().await.unwrap(),
            prison.id,
            TRUST_IBAN,
            "EUR",
            Some(day(1)),
            "test",
        )
        .await
        .unwrap();
        Program {
            ledger,
            spendable,
            payable,
            funding,
            bank,
        }
    }

    /// What the card adapter books for a clearing (positive) or a refund (negative).
    async fn card_entry(&self, transaction_id: &str, amount_minor: i64, date: Date) -> Entry {
        self.ledger
            .post_entry(&EntryDraft {
                idempotency_key: key(),
                effective_date: date,
                description: if amount_minor > 0 {
                    "card purchase"
                } else {
                    "card refund"
                }
                .into(),
                metadata: serde_json::json!({}),
                external_refs: vec![ExternalRef {
                    kind: "processor_transaction".into(),
                    value: transaction_id.into(),
                    unique: true,
                }],
                postings: vec![
                    PostingDraft::debit(self.spendable, eur(amount_minor)),
                    PostingDraft::credit(self.payable, eur(amount_minor)).unwrap(),
                ],
                overdraft: Overdraft::AllowAndFlag,
            })
            .await
            .unwrap()
    }

    /// A bank movement with its end-to-end reference: positive into the trust account.
    async fn bank_entry(&self, e2e: &str, amount_minor: i64, counter: Uuid, date: Date) -> Entry {
        self.ledger
            .post_entry(&EntryDraft {
                idempotency_key: key(),
                effective_date: date,
                description: "bank transfer".into(),
                metadata: serde_json::json!({}),
                external_refs: vec![ExternalRef {
                    kind: "bank_end_to_end".into(),
                    value: e2e.into(),
                    unique: true,
                }],
                postings: vec![
                    PostingDraft::debit(self.bank, eur(amount_minor)),
                    PostingDraft::credit(counter, eur(amount_minor)).unwrap(),
                ],
                overdraft: Overdraft::AllowAndFlag,
            })
            .await
            .unwrap()
    }
}

/// A settlement file (protocol section 4) with a correct trailer.
fn settlement_file(date: Date, rows: &[(&str, &str, &str, i64, &str)]) -> String {
    let (body, count, net) = settlement_body(date, rows);
    format!("{body}TRAILER,{date},,{count},,,{net},EUR,,\n")
}

/// Header and rows (type, transaction id, card id, amount, currency); returns count and net.
fn settlement_body(date: Date, rows: &[(&str, &str, &str, i64, &str)]) -> (String, usize, i64) {
    let mut out = format!("{}\n", processor_protocol::settlement::SETTLEMENT_HEADER);
    let mut net = 0_i64;
    for (index, (kind, transaction_id, card_id, amount_minor, currency)) in rows.iter().enumerate()
    {
        let authorization = if *kind == "CLEARING" { "auth_x" } else { "" };
        let _ = writeln!(
            out,
            "r{index},{date},{kind},{transaction_id},{authorization},{card_id},{amount_minor},{currency},5411,{date}T10:00:00Z"
        );
        net += amount_minor;
    }
    (out, rows.len(), net)
}

async fn import_settlement(db: &TestDb, text: String) -> Result<ImportOutcome, ReconError> {
    recon::import_settlement(
        &db.pool,
        Cursor::new(text.into_bytes()),
        &ImportOptions::new("clerk"),
    )
    .await
}

fn imported(outcome: ImportOutcome) -> ImportSummary {
    match outcome {
        ImportOutcome::Imported(summary) => summary,
        other => panic!("expected an import, got {other:?}"),
    }
}

async fn breaks_by_reference(db: &TestDb) -> Vec<(String, String, String, String)> {
    db.raw_client()
        .await
        .query(
            "select coalesce(reference, ''), class, state, explanation from recon.breaks
             order by reference, class",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
}

async fn class_of(db: &TestDb, reference: &str) -> Vec<String> {
    breaks_by_reference(db)
        .await
        .into_iter()
        .filter(|(r, ..)| r == reference)
        .map(|(_, class, ..)| class)
        .collect()
}

async fn recon_row_counts(db: &TestDb) -> Vec<i64> {
    let row = db
        .raw_client()
        .await
        .query_one(
            "select (select count(*) from recon.imports), (select count(*) from recon.settlement_rows),
                    (select count(*) from recon.bank_lines), (select count(*) from recon.breaks),
                    (select count(*) from recon.break_events)",
            &[],
        )
        .await
        .unwrap();
    (0..5).map(|i| row.get(i)).collect()
}

#[tokio::test]
async fn every_settlement_break_class_is_found_and_explained() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program.card_entry("txn_ok", 1250, day(10)).await;
    program.card_entry("txn_short", 1000, day(10)).await;
    program.card_entry("txn_ccy", 700, day(10)).await;
    program.card_entry("txn_twice", 300, day(10)).await;
    program.card_entry("txn_refund", -500, day(10)).await;
    // Booked on the 8th and still in no file by the 10th: past the two days of grace.
    program.card_entry("txn_lost", 999, day(8)).await;
    let file = settlement_file(
        day(10),
        &[
            ("CLEARING", "txn_ok", CARD, 1250, "EUR"),
            ("CLEARING", "txn_short", CARD, 1100, "EUR"),
            ("CLEARING", "txn_ccy", CARD, 700, "SEK"),
            ("CLEARING", "txn_twice", CARD, 300, "EUR"),
            ("CLEARING", "txn_twice", CARD, 300, "EUR"),
            ("CLEARING", "txn_nowhere", CARD, 4200, "EUR"),
            ("CLEARING", "txn_stranger", "card_unknown", 800, "EUR"),
            ("REFUND", "txn_refund", CARD, -500, "EUR"),
            ("FEE", "", "", 150, "EUR"),
            ("ADJUSTMENT", "chargeback fee", "", 75, "EUR"),
        ],
    );
    let summary = imported(import_settlement(&db, file).await.unwrap());
    assert_eq!(summary.row_count, 10);
    assert_eq!(
        summary.matched_count, 3,
        "txn_ok, the first txn_twice and txn_refund"
    );
    assert_eq!(class_of(&db, "txn_short").await, ["amount_mismatch"]);
    assert_eq!(class_of(&db, "txn_ccy").await, ["currency_mismatch"]);
    assert_eq!(class_of(&db, "txn_twice").await, ["duplicate"]);
    assert_eq!(class_of(&db, "txn_nowhere").await, ["missing_in_ledger"]);
    assert_eq!(class_of(&db, "txn_stranger").await, ["unknown_card"]);
    assert_eq!(class_of(&db, "chargeback fee").await, ["missing_in_ledger"]);
    assert_eq!(class_of(&db, "txn_lost").await, ["missing_at_processor"]);
    assert!(class_of(&db, "txn_ok").await.is_empty());
    let breaks = breaks_by_reference(&db).await;
    assert_eq!(breaks.len(), 7);
    let explanation = |reference: &str| {
        breaks
            .iter()
            .find(|(r, ..)| r == reference)
            .map(|(.., text)| text.clone())
            .unwrap()
    };
    assert!(explanation("txn_short").contains("11.00 EUR"));
    assert!(explanation("txn_short").contains("10.00 EUR"));
    assert!(explanation("txn_short").contains("difference of 1.00 EUR"));
    assert!(explanation("txn_lost").contains("no settlement file"));
    assert!(explanation("txn_stranger").contains("card_unknown"));
    assert!(breaks.iter().all(|(_, _, state, _)| state == "open"));
    // The day's settlement entry: EUR card activity and fees leave the funding account.
    let card_net_minor = 1250 + 1100 + 300 + 300 + 4200 + 800 - 500;
    assert_eq!(summary.breaks.values().sum::<i64>(), 7);
    let funding = program.ledger.balance(program.funding).await.unwrap();
    assert_eq!(funding.posted.amount_minor, -(card_net_minor + 150));
    let entry = program
        .ledger
        .entry(summary.settlement_entry_id.unwrap())
        .await
        .unwrap();
    assert_eq!(entry.external_refs[0].value, "2026-11-10:EUR");
}

#[tokio::test]
async fn a_corrupted_file_is_rejected_whole_and_nothing_is_written() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program.card_entry("txn_a", 1000, day(10)).await;
    let rows = [
        ("CLEARING", "txn_a", CARD, 1000, "EUR"),
        ("CLEARING", "txn_b", CARD, 2000, "EUR"),
    ];
    let (body, count, net) = settlement_body(day(10), &rows);
    let ledger_before = row_counts(&db).await;
    let corrupted = [
        format!("{body}TRAILER,2026-11-10,,{count},,,{},EUR,,\n", net + 1),
        format!("{body}TRAILER,2026-11-10,,{},,,{net},EUR,,\n", count + 1),
        body.clone(),
        format!("{body}TRAILER,2026-11-11,,{count},,,{net},EUR,,\n"),
        body.replace("1000", "10.00") + &format!("TRAILER,2026-11-10,,{count},,,{net},EUR,,\n"),
        format!("{body}TRAILER,2026-11-10,,{count},,,{net},EUR,,\nr9,2026-11-10,FEE,,,,1,EUR,,\n"),
    ];
    for text in corrupted {
        let error = import_settlement(&db, text.clone()).await.unwrap_err();
        assert!(
            matches!(
                error,
                ReconError::TotalsMismatch(_) | ReconError::InvalidFile { .. }
            ),
            "{error:?} for {text}"
        );
    }
    assert_eq!(recon_row_counts(&db).await, [0, 0, 0, 0, 0]);
    assert_eq!(
        row_counts(&db).await,
        ledger_before,
        "no ledger row written"
    );
    // The same rows with a correct trailer are accepted.
    let good = format!("{body}TRAILER,2026-11-10,,{count},,,{net},EUR,,\n");
    assert!(matches!(
        import_settlement(&db, good).await.unwrap(),
        ImportOutcome::Imported(_)
    ));
}

#[tokio::test]
async fn a_day_whose_card_net_is_beyond_one_postings_bound_is_booked_in_several_postings() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    // Two clearings of 600,000.00 EUR: each within the bound (1,000,000.00 EUR), the day's net
    // beyond it.
    program.card_entry("txn_big_a", 60_000_000, day(10)).await;
    program.card_entry("txn_big_b", 60_000_000, day(10)).await;
    let file = settlement_file(
        day(10),
        &[
            ("CLEARING", "txn_big_a", CARD, 60_000_000, "EUR"),
            ("CLEARING", "txn_big_b", CARD, 60_000_000, "EUR"),
        ],
    );
    let summary = imported(import_settlement(&db, file).await.unwrap());
    assert_eq!(summary.matched_count, 2);
    // One settlement entry: the day's 1,200,000.00 EUR out of the settlement payable into the
    // funding account, as two posting pairs within the bound.
    let row = db
        .raw_client()
        .await
        .query_one(
            "select count(*) as postings,
                    coalesce(sum(p.amount_minor) filter (where p.amount_minor > 0), 0)::bigint as debits,
                    max(abs(p.amount_minor)) as largest
             from journal_entry_refs r join journal_postings p using (entry_id)
             where r.ref_kind = 'processor_settlement'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("postings"), 4);
    assert_eq!(row.get::<_, i64>("debits"), 120_000_000);
    assert!(row.get::<_, i64>("largest") <= 100_000_000);
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program.card_entry("txn_a", 1000, day(10)).await;
    let file = settlement_file(
        day(10),
        &[
            ("CLEARING", "txn_a", CARD, 1000, "EUR"),
            ("CLEARING", "txn_b", CARD, 2000, "EUR"),
        ],
    );
    let first = imported(import_settlement(&db, file.clone()).await.unwrap());
    let recon_before = recon_row_counts(&db).await;
    let ledger_before = row_counts(&db).await;
    let again = import_settlement(&db, file).await.unwrap();
    assert!(
        matches!(again, ImportOutcome::AlreadyImported { import_id } if import_id == first.import_id)
    );
    assert_eq!(recon_row_counts(&db).await, recon_before);
    assert_eq!(row_counts(&db).await, ledger_before);
    // Another file for a day already reconciled is refused, not merged.
    let other = settlement_file(day(10), &[("CLEARING", "txn_a", CARD, 1000, "EUR")]);
    assert!(matches!(
        import_settlement(&db, other).await.unwrap_err(),
        ReconError::SettlementDateTaken { .. }
    ));
    assert_eq!(recon_row_counts(&db).await, recon_before);
}

/// The database itself keeps every settlement row tied to its import (V9: one check per
/// statement instead of a deferred foreign-key check per row), and imports are never changed.
#[tokio::test]
async fn settlement_rows_need_an_existing_import_and_imports_are_never_changed() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program.card_entry("txn_a", 1000, day(10)).await;
    let file = settlement_file(day(10), &[("CLEARING", "txn_a", CARD, 1000, "EUR")]);
    let summary = imported(import_settlement(&db, file).await.unwrap());
    let before = recon_row_counts(&db).await;
    let client = db.raw_client().await;
    let orphan = client
        .execute(
            "insert into recon.settlement_rows (import_id, line_no, record_id, settlement_date,
                 row_type, amount_minor, currency, outcome)
             values ($1, 1, 'r1', current_date, 'FEE', 5, 'EUR', 'booked')",
            &[&Uuid::now_v7()],
        )
        .await
        .unwrap_err();
    let message = orphan.as_db_error().unwrap().message().to_owned();
    assert!(message.contains("which does not exist"), "{message}");
    for statement in [
        "update recon.imports set net_minor = net_minor + 1",
        "delete from recon.imports",
        "truncate recon.imports cascade",
    ] {
        let error = client.batch_execute(statement).await.unwrap_err();
        let message = error.as_db_error().unwrap().message().to_owned();
        assert!(message.contains("append-only"), "{statement}: {message}");
    }
    assert_eq!(recon_row_counts(&db).await, before);
    let rows: i64 = client
        .query_one(
            "select count(*) from recon.settlement_rows where import_id = $1",
            &[&summary.import_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_clearing_settled_the_next_day_is_a_timing_difference_not_a_break() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program.card_entry("txn_day10", 500, day(10)).await;
    program.card_entry("txn_late", 600, day(10)).await;
    let file10 = settlement_file(day(10), &[("CLEARING", "txn_day10", CARD, 500, "EUR")]);
    imported(import_settlement(&db, file10).await.unwrap());
    assert!(
        breaks_by_reference(&db).await.is_empty(),
        "txn_late is within its grace"
    );
    // Settled the next day: matched across days.
    let file11 = settlement_file(
        day(11),
        &[
            ("CLEARING", "txn_late", CARD, 600, "EUR"),
            ("CLEARING", "txn_webhook_late", CARD, 700, "EUR"),
        ],
    );
    let summary = imported(import_settlement(&db, file11).await.unwrap());
    assert_eq!(summary.matched_count, 1);
    assert_eq!(
        class_of(&db, "txn_webhook_late").await,
        ["missing_in_ledger"]
    );
    assert!(class_of(&db, "txn_late").await.is_empty());
    // The clearing webhook arrives after the file: the break closes as a timing difference.
    program.card_entry("txn_webhook_late", 700, day(11)).await;
    let file12 = settlement_file(day(12), &[("FEE", "", "", 10, "EUR")]);
    let summary = imported(import_settlement(&db, file12).await.unwrap());
    assert_eq!(summary.matched_later, 1);
    let breaks = breaks_by_reference(&db).await;
    assert_eq!(breaks.len(), 1);
    assert_eq!(breaks[0].2, "resolved");
    let resolution: String = db
        .raw_client()
        .await
        .query_one("select resolution from recon.breaks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(resolution, "matched_later");
}

/// A camt.053.001.08 document with one statement; lines are (end-to-end id, signed amount).
fn camt053(
    statement_id: &str,
    date: Date,
    opening_minor: i64,
    lines: &[(&str, i64)],
    closing_minor: Option<i64>,
) -> String {
    let major = |minor: i64| recon::report::major(minor.abs(), Currency::EUR);
    let indicator = |minor: i64| if minor < 0 { "DBIT" } else { "CRDT" };
    let closing = closing_minor.unwrap_or(opening_minor + lines.iter().map(|l| l.1).sum::<i64>());
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<BkToCstmrStmt>
<GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>{date}T06:00:00Z</CreDtTm></GrpHdr>
<Stmt>
<Id>{statement_id}</Id>
<CreDtTm>{date}T06:00:00Z</CreDtTm>
<Acct><Id><IBAN>FI2112345600000785</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>
<TxsSummry><TtlNtries><NbOfNtries>{}</NbOfNtries></TtlNtries></TxsSummry>
"#,
        major(opening_minor),
        indicator(opening_minor),
        major(closing),
        indicator(closing),
        lines.len()
    );
    for (index, (e2e, amount_minor)) in lines.iter().enumerate() {
        let _ = write!(
            xml,
            r#"<Ntry><NtryRef>{index}</NtryRef><Amt Ccy="EUR">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt><AcctSvcrRef>BANK-{index}</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs><Amt Ccy="EUR">{}</Amt><CdtDbtInd>{}</CdtDbtInd><RmtInf><Ustrd>payment &amp; reference {index}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
"#,
            major(*amount_minor),
            indicator(*amount_minor),
            major(*amount_minor),
            indicator(*amount_minor),
        );
    }
    xml.push_str("</Stmt>\n</BkToCstmrStmt>\n</Document>\n");
    xml
}

/// The prison whose trust account the bank statements are of.
async fn trust_prison_id(db: &TestDb) -> Uuid {
    db.raw_client()
        .await
        .query_one(
            "select id from identity.prisons where code = $1",
            &[&TRUST_PRISON],
        )
        .await
        .unwrap()
        .get(0)
}

async fn import_bank(db: &TestDb, xml: String) -> Result<ImportOutcome, ReconError> {
    let prison_id = trust_prison_id(db).await;
    recon::import_bank_statement(
        &db.pool,
        Cursor::new(xml.into_bytes()),
        prison_id,
        &ImportOptions::new("clerk"),
    )
    .await
}

#[tokio::test]
async fn bank_statement_lines_match_deposits_prefunding_and_payouts_by_end_to_end_reference() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    let sek_bank = program
        .ledger
        .open_account(
            &key(),
            &NewAccount::institution(
                institution_purpose::BANK_TRUST,
                AccountType::Asset,
                Currency::from_code("SEK").unwrap(),
            ),
        )
        .await
        .unwrap()
        .id;
    let sek_suspense = program
        .ledger
        .open_account(
            &key(),
            &NewAccount::institution(
                institution_purpose::SUSPENSE,
                AccountType::Liability,
                Currency::from_code("SEK").unwrap(),
            ),
        )
        .await
        .unwrap()
        .id;
    // A family deposit, prefunding of the processor, a payout at release.
    program
        .bank_entry("E2E-DEPOSIT", 1000, program.spendable, day(10))
        .await;
    program
        .bank_entry("E2E-PREFUND", -50_000, program.funding, day(10))
        .await;
    program
        .bank_entry("E2E-PAYOUT", -2000, program.spendable, day(10))
        .await;
    // Booked in SEK on the SEK trust account; the bank shows EUR.
    program
        .ledger
        .post_entry(&EntryDraft {
            idempotency_key: key(),
            effective_date: day(10),
            description: "deposit in kronor".into(),
            metadata: serde_json::json!({}),
            external_refs: vec![ExternalRef {
                kind: "bank_end_to_end".into(),
                value: "E2E-SEK".into(),
                unique: true,
            }],
            postings: vec![
                PostingDraft::debit(
                    sek_bank,
                    Money::new(300, Currency::from_code("SEK").unwrap()),
                ),
                PostingDraft::credit(
                    sek_suspense,
                    Money::new(300, Currency::from_code("SEK").unwrap()),
                )
                .unwrap(),
            ],
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap();
    // A ledger deposit the bank never showed.
    program
        .bank_entry("E2E-GHOST", 4000, program.spendable, day(8))
        .await;
    let xml = camt053(
        "STMT-2026-11-10",
        day(10),
        100_000,
        &[
            ("E2E-DEPOSIT", 1000),
            ("E2E-PREFUND", -50_000),
            ("E2E-PAYOUT", -2500),
            ("E2E-UNBOOKED", 700),
            ("E2E-DEPOSIT", 1000),
            ("E2E-SEK", 300),
        ],
        None,
    );
    let summary = imported(import_bank(&db, xml.clone()).await.unwrap());
    assert_eq!(summary.row_count, 6);
    assert_eq!(summary.matched_count, 2);
    assert_eq!(class_of(&db, "E2E-PAYOUT").await, ["amount_mismatch"]);
    assert_eq!(class_of(&db, "E2E-UNBOOKED").await, ["missing_in_ledger"]);
    assert_eq!(class_of(&db, "E2E-DEPOSIT").await, ["duplicate"]);
    assert_eq!(class_of(&db, "E2E-SEK").await, ["currency_mismatch"]);
    assert_eq!(class_of(&db, "E2E-GHOST").await, ["missing_at_bank"]);
    assert_eq!(breaks_by_reference(&db).await.len(), 5);
    let remittance: String = db
        .raw_client()
        .await
        .query_one(
            "select remittance from recon.bank_lines where end_to_end_id = 'E2E-UNBOOKED'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(remittance, "payment & reference 3", "entities are decoded");
    // Again: nothing changes.
    let before = recon_row_counts(&db).await;
    assert!(matches!(
        import_bank(&db, xml).await.unwrap(),
        ImportOutcome::AlreadyImported { .. }
    ));
    assert_eq!(recon_row_counts(&db).await, before);
}

#[tokio::test]
async fn a_bank_statement_whose_balances_do_not_add_up_is_rejected_whole() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program
        .bank_entry("E2E-1", 1000, program.spendable, day(10))
        .await;
    let wrong = camt053("STMT-X", day(10), 0, &[("E2E-1", 1000)], Some(999));
    assert!(matches!(
        import_bank(&db, wrong).await.unwrap_err(),
        ReconError::TotalsMismatch(_)
    ));
    let good = camt053("STMT-X", day(10), 0, &[("E2E-1", 1000)], None);
    let truncated = good[..good.len() - 40].to_owned();
    assert!(matches!(
        import_bank(&db, truncated).await.unwrap_err(),
        ReconError::InvalidFile { .. }
    ));
    let miscounted = good.replace("<NbOfNtries>1</NbOfNtries>", "<NbOfNtries>2</NbOfNtries>");
    assert!(import_bank(&db, miscounted).await.is_err());
    assert_eq!(recon_row_counts(&db).await, [0, 0, 0, 0, 0]);
    let summary = imported(import_bank(&db, good).await.unwrap());
    assert_eq!(summary.matched_count, 1);
    assert!(summary.breaks.is_empty());
}

#[tokio::test]
async fn a_break_is_resolved_by_an_adjusting_entry_only_when_a_second_person_approves() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    let suspense = open_institution(
        &program.ledger,
        institution_purpose::SUSPENSE,
        AccountType::Liability,
    )
    .await;
    let xml = camt053(
        "STMT-1",
        day(10),
        0,
        &[("E2E-FAMILY", 2500), ("E2E-ODD", 100)],
        None,
    );
    imported(import_bank(&db, xml).await.unwrap());
    let open = recon::breaks::list_breaks(&db.pool, &BreakFilter::default())
        .await
        .unwrap();
    assert_eq!(open.len(), 2);
    let family = open
        .iter()
        .find(|b| b.reference.as_deref() == Some("E2E-FAMILY"))
        .unwrap();
    let odd = open
        .iter()
        .find(|b| b.reference.as_deref() == Some("E2E-ODD"))
        .unwrap();
    use recon::breaks;
    breaks::assign(&db.pool, family.id, "alice", "lead")
        .await
        .unwrap();
    breaks::comment(&db.pool, family.id, "alice", "the deposit form came late")
        .await
        .unwrap();
    let draft = AdjustmentDraft {
        effective_date: day(10),
        description: "family deposit booked from the bank statement".into(),
        postings: vec![
            AdjustmentPosting {
                account_code: "institution:bank_trust:EUR".into(),
                amount_minor: 2500,
                currency: Currency::EUR,
            },
            AdjustmentPosting {
                account_code: "institution:suspense:EUR".into(),
                amount_minor: -2500,
                currency: Currency::EUR,
            },
        ],
        external_refs: vec![AdjustmentRef {
            kind: "bank_end_to_end".into(),
            value: "E2E-FAMILY".into(),
        }],
    };
    let adjustment = breaks::propose_adjustment(&db.pool, family.id, "alice", &draft)
        .await
        .unwrap();
    assert_eq!(
        program
            .ledger
            .balance(suspense)
            .await
            .unwrap()
            .posted
            .amount_minor,
        0
    );
    assert!(matches!(
        breaks::approve_adjustment(&db.pool, adjustment.id, "alice")
            .await
            .unwrap_err(),
        ReconError::SamePerson
    ));
    assert_eq!(
        program
            .ledger
            .balance(suspense)
            .await
            .unwrap()
            .posted
            .amount_minor,
        0,
        "nothing is posted before a second person approves"
    );
    let resolved = breaks::approve_adjustment(&db.pool, adjustment.id, "bob")
        .await
        .unwrap();
    assert_eq!(resolved.state, "resolved");
    assert_eq!(resolved.resolution.as_deref(), Some("adjusting_entry"));
    assert_eq!(
        program
            .ledger
            .balance(suspense)
            .await
            .unwrap()
            .posted
            .amount_minor,
        2500
    );
    let entry = program
        .ledger
        .entry(resolved.resolution_entry_id.unwrap())
        .await
        .unwrap();
    assert_eq!(entry.metadata["approved_by"], "bob");
    assert_eq!(entry.metadata["proposed_by"], "alice");
    // The database itself refuses an approval by the proposer.
    let raw = db.raw_client().await;
    let second = breaks::propose_adjustment(
        &db.pool,
        odd.id,
        "carol",
        &AdjustmentDraft {
            external_refs: vec![],
            postings: vec![
                AdjustmentPosting {
                    account_code: "institution:bank_trust:EUR".into(),
                    amount_minor: 100,
                    currency: Currency::EUR,
                },
                AdjustmentPosting {
                    account_code: "institution:suspense:EUR".into(),
                    amount_minor: -100,
                    currency: Currency::EUR,
                },
            ],
            ..draft.clone()
        },
    )
    .await
    .unwrap();
    assert!(
        raw.execute(
            "update recon.adjustments set state = 'rejected', decided_by = 'carol' where id = $1",
            &[&second.id]
        )
        .await
        .is_err()
    );
    breaks::reject_adjustment(&db.pool, second.id, "bob", "wrong account")
        .await
        .unwrap();
    // Accepted with a reason instead.
    assert!(
        breaks::accept(&db.pool, odd.id, "carol", " ")
            .await
            .is_err()
    );
    let accepted = breaks::accept(&db.pool, odd.id, "carol", "bank interest, booked monthly")
        .await
        .unwrap();
    assert_eq!(accepted.state, "accepted");
    assert!(matches!(
        breaks::assign(&db.pool, odd.id, "alice", "lead")
            .await
            .unwrap_err(),
        ReconError::Conflict(_)
    ));
    // Comments and events are append-only.
    assert!(
        raw.execute("update recon.break_events set body = 'rewritten'", &[])
            .await
            .is_err()
    );
    assert!(
        raw.execute("delete from recon.break_events", &[])
            .await
            .is_err()
    );
    let detail = breaks::get_break(&db.pool, family.id).await.unwrap();
    let kinds: Vec<&str> = detail.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["assigned", "comment", "proposed", "approved"]);
    // The statement line is accounted for: the entry is not reported missing at the bank later.
    let later = camt053("STMT-2", day(20), 2600, &[], None);
    let summary = imported(import_bank(&db, later).await.unwrap());
    assert!(summary.breaks.is_empty(), "{:?}", summary.breaks);
}

#[tokio::test]
async fn the_report_shows_matched_and_broken_per_day_with_ending_balances() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program
        .bank_entry("E2E-PREFUND", -100_000, program.funding, day(9))
        .await;
    program.card_entry("txn_1", 1000, day(10)).await;
    let file = settlement_file(
        day(10),
        &[
            ("CLEARING", "txn_1", CARD, 1000, "EUR"),
            ("CLEARING", "txn_2", CARD, 500, "EUR"),
        ],
    );
    imported(import_settlement(&db, file).await.unwrap());
    recon::record_funding_balance(&db.pool, day(10), eur(100_000 - 1500))
        .await
        .unwrap();
    let report = recon::report::report(&db.pool, day(9), day(11), Currency::EUR)
        .await
        .unwrap();
    assert_eq!(report.days.len(), 3);
    let day10 = &report.days[1];
    assert_eq!(day10.settlement_matched_count, 1);
    assert_eq!(day10.settlement_matched_minor, 1000);
    assert_eq!(day10.breaks["missing_in_ledger"], 1);
    assert_eq!(day10.breaks_open, 1);
    assert_eq!(day10.funding_ledger_minor, 100_000 - 1500);
    assert_eq!(day10.funding_processor_minor, Some(100_000 - 1500));
    assert_eq!(day10.bank_ledger_minor, -100_000);
    assert_eq!(report.days[0].funding_ledger_minor, 100_000);
    let csv = recon::report::to_csv(&report);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("date,currency,settlement_rows")
    );
    assert!(
        lines
            .nth(1)
            .unwrap()
            .starts_with("2026-11-10,EUR,2,1,1000,")
    );
    let page = recon::report::html_page(&report, &[]);
    assert!(page.contains("<svg"));
    assert!(page.contains("985.00"));
}

#[tokio::test]
async fn saldo_reconcile_imports_a_file_from_the_command_line() {
    use clap::Parser;
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program.card_entry("txn_cli", 1234, day(10)).await;
    let path = std::env::temp_dir().join(format!("settlement-{}.csv", Uuid::new_v4()));
    std::fs::write(
        &path,
        settlement_file(day(10), &[("CLEARING", "txn_cli", CARD, 1234, "EUR")]),
    )
    .unwrap();
    let run = |args: Vec<String>| {
        let cli = saldo::cli::Cli::parse_from(
            ["saldo", "--database-url", &db.url(), "reconcile"]
                .iter()
                .map(|s| s.to_string())
                .chain(args),
        );
        saldo::cli::run(cli)
    };
    let file = path.display().to_string();
    let args = |date: &str| -> Vec<String> {
        vec![
            "settlement".into(),
            file.clone(),
            "--date".into(),
            date.into(),
        ]
    };
    assert_eq!(
        run(args("2026-11-11")).await.unwrap(),
        std::process::ExitCode::from(2)
    );
    assert_eq!(
        run(args("2026-11-10")).await.unwrap(),
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(
        run(args("2026-11-10")).await.unwrap(),
        std::process::ExitCode::SUCCESS
    );
    let report = vec![
        "report".into(),
        "--from".into(),
        "2026-11-10".into(),
        "--to".into(),
        "2026-11-10".into(),
        "--csv".into(),
    ];
    assert_eq!(run(report).await.unwrap(), std::process::ExitCode::SUCCESS);
    let rows: i64 = db
        .raw_client()
        .await
        .query_one(
            "select count(*) from recon.settlement_rows where outcome = 'matched'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
    let _ = std::fs::remove_file(&path);
}

/// `rows` card purchases `txn_1..=txn_rows` booked on `date`, in bulk.
async fn book_card_purchases(db: &TestDb, program: &Program, rows: i64, date: Date) {
    // The ledger side in bulk, as a superuser would: triggers off for the set-up only.
    let mut raw = db.raw_client().await;
    let tx = raw.transaction().await.unwrap();
    tx.batch_execute("set local session_replication_role = replica")
        .await
        .unwrap();
    tx.execute(
        "insert into journal_entries (id, effective_date, description)
         select md5('e' || n)::uuid, $1, 'card purchase' from generate_series(1, $2::bigint) n",
        &[&date, &rows],
    )
    .await
    .unwrap();
    tx.execute(
        "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
         select md5('e' || n)::uuid, a.account_id, 'EUR', a.sign * (100 + n % 900), now()
         from generate_series(1, $1::bigint) n,
              (values ($2::uuid, 1), ($3::uuid, -1)) as a(account_id, sign)",
        &[&rows, &program.spendable, &program.payable],
    )
    .await
    .unwrap();
    tx.execute(
        "insert into journal_entry_refs (entry_id, ref_kind, ref_value, is_unique)
         select md5('e' || n)::uuid, 'processor_transaction', 'txn_' || n, true
         from generate_series(1, $1::bigint) n",
        &[&rows],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    raw.batch_execute(
        "analyze journal_entries; analyze journal_postings; analyze journal_entry_refs",
    )
    .await
    .unwrap();
}

/// A settlement file of the clearings `book_card_purchases` booked.
fn write_settlement_file(rows: i64, date: Date) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("settlement-{}.csv", Uuid::new_v4()));
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(out, "{}", processor_protocol::settlement::SETTLEMENT_HEADER).unwrap();
        let mut net = 0_i64;
        for n in 1..=rows {
            let amount = 100 + n % 900;
            net += amount;
            writeln!(
                out,
                "r{n},{date},CLEARING,txn_{n},auth_{n},{CARD},{amount},EUR,5411,{date}T10:00:00Z"
            )
            .unwrap();
        }
        writeln!(out, "TRAILER,{date},,{rows},,,{net},EUR,,").unwrap();
    }
    path
}

/// Writes a settlement file of `rows` clearings, all booked in the ledger, and reconciles it.
async fn reconcile_many(rows: i64) -> (ImportSummary, std::time::Duration) {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    let date = day(10);
    book_card_purchases(&db, &program, rows, date).await;
    let path = write_settlement_file(rows, date);
    let started = std::time::Instant::now();
    let reader = BufReader::new(std::fs::File::open(&path).unwrap());
    let summary = imported(
        recon::import_settlement(&db.pool, reader, &{
            let mut options = ImportOptions::new("benchmark");
            let started = std::time::Instant::now();
            options.progress = Some(std::sync::Arc::new(move |event| {
                eprintln!("{:>6} ms {event:?}", started.elapsed().as_millis());
            }));
            options
        })
        .await
        .unwrap(),
    );
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&path);
    (summary, elapsed)
}

fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|line| line.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::test]
async fn a_hundred_thousand_row_file_reconciles_in_bounded_memory() {
    let rows = 100_000;
    let (summary, elapsed) = reconcile_many(rows).await;
    assert_eq!(summary.row_count, rows);
    assert_eq!(summary.matched_count, rows);
    assert!(summary.breaks.is_empty(), "{:?}", summary.breaks);
    let rate = u128::try_from(rows).unwrap() * 1000 / elapsed.as_millis().max(1);
    eprintln!(
        "{rows} rows reconciled in {} ms ({rate} rows/s), peak RSS of the test process {:?} KiB",
        elapsed.as_millis(),
        peak_rss_kib()
    );
    assert!(elapsed < std::time::Duration::from_secs(60));
}

/// The benchmark: `cargo test -p saldo-tests --release recon::a_million -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a benchmark: a million rows take a minute or more"]
async fn a_million_row_file_reconciles_in_bounded_memory() {
    let rows = 1_000_000;
    let before = peak_rss_kib();
    let (summary, elapsed) = reconcile_many(rows).await;
    assert_eq!(summary.matched_count, rows);
    let rate = u128::try_from(rows).unwrap() * 1000 / elapsed.as_millis().max(1);
    eprintln!(
        "{rows} rows reconciled in {} ms ({rate} rows/s); peak RSS {:?} KiB (before: {before:?})",
        elapsed.as_millis(),
        peak_rss_kib()
    );
}

#[tokio::test]
async fn missing_at_processor_waits_out_the_grace_period() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    program.card_entry("txn_slow", 100, day(9)).await;
    imported(
        import_settlement(&db, settlement_file(day(10), &[("FEE", "", "", 5, "EUR")]))
            .await
            .unwrap(),
    );
    assert!(
        breaks_by_reference(&db).await.is_empty(),
        "one day old: a timing difference"
    );
    imported(
        import_settlement(&db, settlement_file(day(11), &[("FEE", "", "", 5, "EUR")]))
            .await
            .unwrap(),
    );
    assert_eq!(class_of(&db, "txn_slow").await, ["missing_at_processor"]);
    // Settled at last: the break closes by itself, with an event saying why.
    imported(
        import_settlement(
            &db,
            settlement_file(day(12), &[("CLEARING", "txn_slow", CARD, 100, "EUR")]),
        )
        .await
        .unwrap(),
    );
    let breaks = breaks_by_reference(&db).await;
    assert_eq!(breaks[0].2, "resolved");
    let _ = Duration::days(1);
}

/// Sequential scans of `table` so far, by PostgreSQL's own statistics.
async fn sequential_scans(db: &TestDb, table: &str) -> i64 {
    db.raw_client()
        .await
        .query_one(
            "select seq_scan from pg_stat_user_tables where relid = $1::text::regclass",
            &[&table],
        )
        .await
        .unwrap()
        .get(0)
}

/// The pool's one session sends its statistics when it is next idle; the second statement
/// returns only after that.
async fn send_statistics(pool: &deadpool_postgres::Pool) {
    let session = pool.get().await.unwrap();
    session
        .execute("select pg_stat_force_next_flush()", &[])
        .await
        .unwrap();
    session.execute("select 1", &[]).await.unwrap();
}

/// With statistics that call the settlement table empty (a new database someone vacuumed), the
/// import must not look up each row's earlier imports by scanning the table it is filling: that
/// re-read every row inserted so far once per row (a million rows ran for over ten minutes).
/// Counted by PostgreSQL's statistics: the scans of `recon.settlement_rows` do not grow with
/// the file.
#[tokio::test]
async fn importing_into_a_vacuumed_empty_settlement_table_does_not_scan_it_once_per_row() {
    let db = TestDb::new().await;
    let program = Program::open(&db).await;
    let rows = 300;
    let date = day(10);
    book_card_purchases(&db, &program, rows, date).await;
    db.raw_client()
        .await
        .batch_execute("vacuum analyze recon.settlement_rows")
        .await
        .unwrap();
    let pool = ledger::db::pool(db.config.clone(), 1).unwrap();
    let path = write_settlement_file(rows, date);
    let scans_before = sequential_scans(&db, "recon.settlement_rows").await;

    let reader = BufReader::new(std::fs::File::open(&path).unwrap());
    let summary = imported(
        recon::import_settlement(&pool, reader, &ImportOptions::new("test"))
            .await
            .unwrap(),
    );
    let _ = std::fs::remove_file(&path);
    assert_eq!(summary.matched_count, rows);
    send_statistics(&pool).await;

    let scans = sequential_scans(&db, "recon.settlement_rows").await - scans_before;
    assert!(
        scans < 10,
        "{scans} sequential scans of recon.settlement_rows to import {rows} rows"
    );
}

/// The same for bank statements: the earlier imports' end-to-end references are not looked up
/// by scanning `recon.bank_lines` once per line while the import fills it.
#[tokio::test]
async fn importing_into_a_vacuumed_empty_bank_lines_table_does_not_scan_it_once_per_line() {
    let db = TestDb::new().await;
    let _program = Program::open(&db).await;
    let references: Vec<String> = (0..300).map(|n| format!("E2E-UNKNOWN-{n}")).collect();
    let lines: Vec<(&str, i64)> = references
        .iter()
        .map(|reference| (reference.as_str(), 1_000))
        .collect();
    db.raw_client()
        .await
        .batch_execute("vacuum analyze recon.bank_lines")
        .await
        .unwrap();
    let prison_id = trust_prison_id(&db).await;
    let pool = ledger::db::pool(db.config.clone(), 1).unwrap();
    let scans_before = sequential_scans(&db, "recon.bank_lines").await;

    let summary = imported(
        recon::import_bank_statement(
            &pool,
            Cursor::new(camt053("STMT-MANY", day(10), 0, &lines, None).into_bytes()),
            prison_id,
            &ImportOptions::new("clerk"),
        )
        .await
        .unwrap(),
    );
    assert_eq!(summary.row_count, 300);
    send_statistics(&pool).await;

    let scans = sequential_scans(&db, "recon.bank_lines").await - scans_before;
    assert!(
        scans < 10,
        "{scans} sequential scans of recon.bank_lines to import 300 lines"
    );
}
