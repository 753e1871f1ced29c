//! The certified entitlement statement (issue 16, docs/switch-over.md): at a past instant it
//! equals the balances recomputed from the postings; any one-byte change fails verification; a
//! one-person proof verifies alone. Through the real service and routes, on real PostgreSQL.
use std::collections::BTreeMap;

use ::entitlements;
use ::entitlements::ed25519_dalek::SigningKey;
use ledger::*;
use saldo::auth::Role;
use saldo::services::ServiceError;
use saldo::services::entitlements::statement;
use saldo_tests::TestDb;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api_support::World;
use crate::controls_support::{Prison, Prisoner, weekly_only};
use crate::fixtures::*;

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn public_key() -> String {
    entitlements::public_key_hex(&signing_key().verifying_key())
}

async fn db_now(db: &TestDb) -> OffsetDateTime {
    db.raw_client()
        .await
        .query_one("select clock_timestamp() as now", &[])
        .await
        .unwrap()
        .get("now")
}

/// (person, purpose) -> (posted, held): as `Ledger::balance` reads the running balance rows.
type Book = BTreeMap<(String, String), (i64, i64)>;

async fn balances_now(prisoners: &[&Prisoner]) -> Book {
    let mut book = Book::new();
    for prisoner in prisoners {
        let accounts = prisoner.accounts;
        for (purpose, account) in [
            ("spendable", accounts.spendable),
            ("release_savings", accounts.release_savings),
            ("held_deposits", accounts.held_deposits),
            ("restitution", accounts.restitution),
        ] {
            let balance = prisoner.ledger.balance(account).await.unwrap();
            book.insert(
                (prisoner.person_id.to_string(), purpose.to_owned()),
                (balance.posted.amount_minor, balance.held.amount_minor),
            );
        }
    }
    book
}

/// The same, recomputed by plain sums over the postings and hold events up to `at`.
async fn recomputed(db: &TestDb, at: OffsetDateTime, persons: &[Uuid]) -> Book {
    let client = db.raw_client().await;
    let rows = client
        .query(
            "select a.person_id::text as person, a.purpose,
                    (-coalesce((select sum(p.amount_minor) from journal_postings p
                                where p.account_id = a.id and p.recorded_at <= $1), 0))::bigint
                      as posted,
                    coalesce((select sum(h.amount_minor
                                 + coalesce((select sum(case when e.kind = 'increase'
                                                  then e.held_delta_minor else -e.held_delta_minor end)
                                             from hold_events e
                                             where e.hold_id = h.id and e.recorded_at <= $1), 0))
                              from holds h where h.account_id = a.id and h.created_at <= $1), 0)::bigint
                      as held
             from ledger_accounts a where a.person_id = any($2) and a.created_at <= $1",
            &[&at, &persons],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                (row.get("person"), row.get("purpose")),
                (row.get("posted"), row.get("held")),
            )
        })
        .collect()
}

fn book_of(statement: &entitlements::Statement) -> Book {
    let mut book = Book::new();
    for text in &statement.lines {
        let line: entitlements::PersonLine = serde_json::from_str(text).unwrap();
        for account in line.accounts {
            assert_eq!(account.currency, "EUR");
            book.insert(
                (line.person_id.clone(), account.purpose),
                (account.posted_minor, account.held_minor),
            );
        }
    }
    book
}

async fn move_to_savings(prisoner: &Prisoner, amount_minor: i64) {
    prisoner
        .ledger
        .post_entry(&EntryDraft {
            idempotency_key: key(),
            effective_date: today(),
            description: "release savings share".into(),
            metadata: serde_json::json!({}),
            external_refs: vec![],
            postings: vec![
                PostingDraft::debit(prisoner.accounts.spendable, eur(amount_minor)),
                PostingDraft::credit(prisoner.accounts.release_savings, eur(amount_minor)).unwrap(),
            ],
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap();
}

async fn hold(prisoner: &Prisoner, amount_minor: i64) -> Hold {
    prisoner
        .ledger
        .place_hold(&PlaceHold {
            idempotency_key: key(),
            account_id: prisoner.accounts.spendable,
            amount: eur(amount_minor),
            expires_at: None,
            description: "card authorization".into(),
            metadata: serde_json::json!({}),
            allow_partial: false,
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_statement_at_a_past_instant_equals_the_balances_recomputed_from_the_postings() {
    let db = TestDb::new().await;
    let prison_a = Prison::with_policy(&db, weekly_only("ent-a", 100_000)).await;
    let prison_b = Prison::with_policy(&db, weekly_only("ent-b", 100_000)).await;
    let anna = Prisoner::admit(&db, &prison_a, 12_345).await;
    let bo = Prisoner::admit(&db, &prison_a, 500).await;
    let cem = Prisoner::admit(&db, &prison_b, 70_000).await;
    move_to_savings(&anna, 2_345).await;
    let held = hold(&bo, 120).await;
    hold(&cem, 9_999).await;

    let before = balances_now(&[&anna, &bo, &cem]).await;
    let at = db_now(&db).await;

    // After the instant: more money, a capture, a new hold, a new prisoner, a transfer.
    anna.credit(1_000).await;
    let settlement = open_institution(
        &anna.ledger,
        institution_purpose::CARD_SETTLEMENT_PAYABLE,
        AccountType::Liability,
    )
    .await;
    bo.ledger
        .capture_hold(&CaptureHold {
            idempotency_key: key(),
            hold_id: held.id,
            amount: eur(120),
            counter_account_id: settlement,
            allow_over_capture: false,
            final_capture: true,
            effective_date: today(),
            description: "card clearing".into(),
            metadata: serde_json::json!({}),
            external_refs: vec![],
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap();
    hold(&anna, 50).await;
    let late = Prisoner::admit(&db, &prison_a, 800).await;
    {
        let mut client = db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        lifecycle::transfer(
            &tx,
            &lifecycle::Transfer {
                idempotency_key: key(),
                person_id: anna.person_id,
                to_prison_id: prison_b.prison_id,
                to_regime: prison_b.regime,
                transferred_by: "staff_a".into(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    assert_ne!(balances_now(&[&anna, &bo, &cem]).await, before);

    let whole = statement(&db.pool, &signing_key(), at, None).await.unwrap();
    let text = entitlements::to_file_text(&whole);
    let verified = entitlements::verify(text.as_bytes(), Some(&public_key())).unwrap();
    assert!(verified.key_pinned);
    assert_eq!(
        whole.header.persons, 3,
        "the prisoner admitted later is not in it"
    );
    assert_eq!(book_of(&whole), before);
    let persons = [anna.person_id, bo.person_id, cem.person_id, late.person_id];
    assert_eq!(book_of(&whole), recomputed(&db, at, &persons).await);
    assert_eq!(
        whole.header.totals,
        vec![entitlements::Total {
            currency: "EUR".into(),
            held_minor: 120 + 9_999,
            posted_minor: 12_345 + 500 + 70_000,
        }]
    );

    // Bound to the checkpoint chain: the named checkpoint is stored with that hash and covers
    // every entry recorded by the instant.
    let journal = whole.header.journal.clone().unwrap();
    let client = db.pool.get().await.unwrap();
    let checkpoints = ledger::seal::journal_checkpoints(&client).await.unwrap();
    let named = checkpoints
        .iter()
        .find(|checkpoint| checkpoint.n == journal.checkpoint_n)
        .unwrap();
    assert_eq!(
        hex::encode(&named.checkpoint_sha256),
        journal.checkpoint_sha256
    );
    assert!(named.first <= journal.through_seq && journal.through_seq <= named.last);
    let last_by_then: i64 = db
        .raw_client()
        .await
        .query_one(
            "select max(seq) as seq from journal_entries where recorded_at <= $1",
            &[&at],
        )
        .await
        .unwrap()
        .get("seq");
    assert_eq!(journal.through_seq, last_by_then);

    // One prison: where people were placed at the instant (Anna was still in A then).
    let in_a = statement(&db.pool, &signing_key(), at, Some(prison_a.prison_id))
        .await
        .unwrap();
    let mut people: Vec<String> = book_of(&in_a).keys().map(|(p, _)| p.clone()).collect();
    people.dedup();
    let mut expected = vec![anna.person_id.to_string(), bo.person_id.to_string()];
    expected.sort();
    assert_eq!(people, expected);
    assert_eq!(in_a.header.prison_id, Some(prison_a.prison_id.to_string()));
    entitlements::verify(
        entitlements::to_file_text(&in_a).as_bytes(),
        Some(&public_key()),
    )
    .unwrap();

    // The same instant asked again gives the same lines and root.
    let again = statement(&db.pool, &signing_key(), at, None).await.unwrap();
    assert_eq!(again.lines, whole.lines);
    assert_eq!(
        again.header.merkle_root_sha256,
        whole.header.merkle_root_sha256
    );

    let future = OffsetDateTime::now_utc() + time::Duration::hours(1);
    match statement(&db.pool, &signing_key(), future, None).await {
        Err(ServiceError::Invalid(code, _)) => assert_eq!(code, "at_in_future"),
        other => panic!("a future instant gave {other:?}"),
    }
}

#[tokio::test]
async fn a_one_byte_change_to_a_statement_fails_verification() {
    let db = TestDb::new().await;
    let prison = Prison::with_policy(&db, weekly_only("ent-bytes", 100_000)).await;
    let anna = Prisoner::admit(&db, &prison, 4_200).await;
    Prisoner::admit(&db, &prison, 17).await;
    hold(&anna, 200).await;
    let at = db_now(&db).await;
    let whole = statement(&db.pool, &signing_key(), at, None).await.unwrap();
    let text = entitlements::to_file_text(&whole).into_bytes();
    entitlements::verify(&text, Some(&public_key())).unwrap();
    for position in 0..text.len() {
        let mut changed = text.clone();
        changed[position] ^= 0x01;
        let result = entitlements::verify(&changed, Some(&public_key()));
        assert!(
            result.is_err(),
            "a change of byte {position} ({:?}) still verifies",
            text[position] as char
        );
    }
    // A statement signed by another key is refused against the trusted one.
    let forged = statement(&db.pool, &SigningKey::from_bytes(&[7; 32]), at, None)
        .await
        .unwrap();
    let error = entitlements::verify(
        entitlements::to_file_text(&forged).as_bytes(),
        Some(&public_key()),
    )
    .unwrap_err();
    assert_eq!(error.code(), "key_mismatch");
}

#[tokio::test]
async fn a_one_person_proof_verifies_alone_and_the_routes_log_their_consultation() {
    let world = World::configured(|state| state.with_statement_key(signing_key())).await;
    let officer = world
        .staff("officer", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance", &[Role::Finance], world.prison_a)
        .await;
    let mut people = Vec::new();
    for (number, amount_minor) in [("A-1", 3_000), ("A-2", 150), ("A-3", 99)] {
        let person_id = world.admit(&officer, world.prison_a, number).await;
        let client = world.db.pool.get().await.unwrap();
        let accounts = accounts::PersonAccounts::of(&client, person_id, Currency::EUR)
            .await
            .unwrap();
        drop(client);
        let ledger = world.db.ledger();
        let bank =
            open_institution(&ledger, institution_purpose::BANK_TRUST, AccountType::Asset).await;
        ledger
            .post_entry(&deposit_draft(bank, accounts.spendable, amount_minor))
            .await
            .unwrap();
        people.push(person_id);
    }
    let at = db_now(&world.db).await;
    let at_text = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();

    // The whole statement, as finance fetches it.
    let response = world
        .http
        .get(world.url("/api/staff/entitlements"))
        .query(&[("at", at_text.as_str())])
        .header("Saldo-Purpose", "audit")
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let whole = response.bytes().await.unwrap();
    let verified = entitlements::verify(&whole, Some(&public_key())).unwrap();
    assert_eq!(verified.header.persons, 3);
    let log = world.access_log().await;
    let row = log.last().unwrap();
    assert_eq!(
        (row.actor_id, row.action.as_str(), row.subject_person_id),
        (Some(finance.id), "consult", None)
    );
    assert_eq!(
        (row.fields.clone(), row.purpose.as_str()),
        (vec!["balances".to_owned()], "audit")
    );

    // An officer may not have it; nor may anyone without a stated purpose.
    let refused = world
        .http
        .get(world.url("/api/staff/entitlements"))
        .query(&[("at", at_text.as_str())])
        .header("Saldo-Purpose", "audit")
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let unstated = world
        .http
        .get(world.url("/api/staff/entitlements"))
        .query(&[("at", at_text.as_str())])
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    let (status, body) = crate::api_support::problem(unstated).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("purpose_required"))
    );
    let bad_at = world
        .http
        .get(world.url("/api/staff/entitlements"))
        .query(&[("at", "yesterday")])
        .header("Saldo-Purpose", "audit")
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap();
    let (status, body) = crate::api_support::problem(bad_at).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );

    // The release statement: one person's proof, through the route at release.
    let person = people[1];
    let response = world
        .http
        .get(world.prison_url(
            world.prison_a,
            &format!("/prisoners/{person}/entitlement-proof"),
        ))
        .query(&[("at", at_text.as_str())])
        .header("Saldo-Purpose", "release_preparation")
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let proof = response.bytes().await.unwrap();
    let checked = entitlements::verify_proof(&proof, Some(&public_key())).unwrap();
    assert_eq!(checked.line.person_id, person.to_string());
    let spendable = checked
        .line
        .accounts
        .iter()
        .find(|account| account.purpose == "spendable")
        .unwrap();
    assert_eq!((spendable.posted_minor, spendable.held_minor), (150, 0));
    assert_eq!(
        checked.header.merkle_root_sha256, verified.header.merkle_root_sha256,
        "the proof is of the same signed whole"
    );
    let proof_text = String::from_utf8(proof.to_vec()).unwrap();
    for other in [people[0], people[2]] {
        assert!(
            !proof_text.contains(&other.to_string()),
            "another person's id is in the proof"
        );
    }
    let changed = proof_text.replace("\\\"posted_minor\\\":150", "\\\"posted_minor\\\":151");
    assert_ne!(changed, proof_text);
    assert_eq!(
        entitlements::verify_proof(changed.as_bytes(), Some(&public_key()))
            .unwrap_err()
            .code(),
        "path_mismatch"
    );
    let log = world.access_log().await;
    let row = log.last().unwrap();
    assert_eq!(
        (
            row.subject_person_id,
            row.purpose.as_str(),
            row.fields.clone()
        ),
        (
            Some(person),
            "release_preparation",
            vec!["balances".to_owned()]
        )
    );

    // Cut from the whole file offline, the proof is the same one.
    let statement: entitlements::Statement = serde_json::from_slice(&whole).unwrap();
    let cut = entitlements::proof(&statement, &person.to_string()).unwrap();
    let cut_checked =
        entitlements::verify_proof(entitlements::to_file_text(&cut).as_bytes(), None).unwrap();
    assert_eq!(cut_checked.line, checked.line);
}
