//! Privacy end to end: the identity store sealed at rest, key rotation, rectification and
//! restriction, retention by crypto-shredding, subject access, and the tamper-evident journal
//! and access log.
use std::time::Duration;

use processor_sim::Scenario;
use saldo::auth::Role;
use saldo::identity::access_log::{Accessor, ActorKind, Purpose};
use saldo::identity::retention::{self, RetentionPolicy};
use saldo::identity::{self, PrisonerField, Rectification, RestrictionReason, crypto};
use saldo_tests::TestDb;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api_support::{World, problem};
use crate::card_e2e::{Harness, PEOPLE, TestPerson};

fn staff(purpose: Purpose) -> Accessor {
    Accessor {
        actor_kind: ActorKind::Staff,
        actor_id: Some(Uuid::new_v4()),
        purpose,
        case_ref: Some("CASE-1".into()),
        request_id: None,
    }
}

/// Every value of a test person that must not be readable once erased.
fn values(person: &TestPerson, n: usize) -> Vec<String> {
    let mut values = vec![
        format!("{}-{n}", person.prisoner_number),
        person.full_name.to_owned(),
        person.national_id.to_owned(),
        person.iban.to_owned(),
        person.unit.to_owned(),
        person.date_of_birth.to_owned(),
    ];
    values.extend(person.full_name.split_whitespace().map(str::to_owned));
    values
}

/// Every row of every table in the identity schema, as text (bytea as hex).
async fn dump_identity_schema(db: &TestDb) -> String {
    let client = db.raw_client().await;
    let tables: Vec<String> = client
        .query(
            "select table_name::text from information_schema.tables
             where table_schema = 'identity' order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(tables.contains(&"prisoners".to_owned()) && tables.contains(&"data_keys".to_owned()));
    let mut dump = String::new();
    for table in tables {
        for row in client
            .query(
                &format!("select row_to_json(t)::text from identity.{table} t"),
                &[],
            )
            .await
            .unwrap()
        {
            dump.push_str(row.get::<_, &str>(0));
            dump.push('\n');
        }
    }
    dump
}

async fn access_log_ids_about(db: &TestDb, person_id: Uuid) -> Vec<i64> {
    db.raw_client()
        .await
        .query(
            "select id from audit.access_log where subject_person_id = $1 order by id",
            &[&person_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn verify_everything(db: &TestDb) -> (ledger::verify::VerifyReport, ledger::check::Check) {
    let report = db.ledger().verify().await.unwrap();
    let client = db.pool.get().await.unwrap();
    let log = saldo::identity::log_seal::verify_with(
        &client,
        &saldo::identity::retention::RetentionPolicy::default(),
    )
    .await
    .unwrap();
    (report, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_prisoner_is_erased_by_key_destruction_and_the_books_still_verify() {
    let harness = Harness::start().await;
    let person = &PEOPLE[0];
    let admitted = harness.admit(person, 0, 10_000).await;
    harness
        .run(Scenario::CanteenPurchase, &admitted.card_id)
        .await;
    let other = harness.admit(&PEOPLE[1], 0, 5_000).await;
    let db = &harness.db;

    // Staff consult the record for a case, and look the person up by number.
    let mut client = db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let officer = staff(Purpose::CaseManagement);
    let view = identity::store::consult_prisoner(
        &tx,
        &officer,
        None,
        admitted.person_id,
        &PrisonerField::RECORD,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(view.full_name.as_deref(), Some(person.full_name));
    let prison_id = view.prison_id;
    let found = identity::store::find_by_prisoner_number(
        &tx,
        &officer,
        prison_id,
        &format!("{}-0", person.prisoner_number),
        &[PrisonerField::FullName],
    )
    .await
    .unwrap();
    assert_eq!(found.map(|v| v.person_id), Some(admitted.person_id));
    tx.commit().await.unwrap();

    // Before erasure: the subject-access export lists every consultation of their data.
    let tx = client.transaction().await.unwrap();
    let export = saldo::identity::subject_access::export(
        &tx,
        &staff(Purpose::DataSubjectRequest),
        None,
        admitted.person_id,
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    let logged = access_log_ids_about(db, admitted.person_id).await;
    let exported: Vec<i64> = export.consultations.iter().map(|row| row.id).collect();
    assert_eq!(
        exported, logged,
        "the export lists every access-log row about the person"
    );
    assert!(
        export
            .consultations
            .iter()
            .any(|row| row.purpose == "egress_check")
            && export
                .consultations
                .iter()
                .any(|row| row.purpose == "case_management")
            && export
                .consultations
                .iter()
                .any(|row| row.purpose == "data_subject_request"),
        "consultations by the egress guard, staff and the export itself"
    );
    assert_eq!(
        export.prisoner.as_ref().unwrap().full_name.as_deref(),
        Some(person.full_name)
    );
    assert!(
        !export.authorizations.is_empty(),
        "card decisions are listed"
    );
    assert!(
        !export.processor_disclosures.is_empty(),
        "what the processor got is listed"
    );
    assert!(
        export.transactions.len() >= 2,
        "the deposit and the purchase"
    );
    let text = saldo::identity::subject_access::render_text(&export);
    assert!(text.contains(person.full_name) && text.contains("case_management"));

    // Released six years ago; the policy keeps identities five years after release.
    let tx = client.transaction().await.unwrap();
    let released = OffsetDateTime::now_utc() - time::Duration::days(6 * 366);
    assert!(
        identity::store::record_release(&tx, &officer, admitted.person_id, released)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let sealed_before: (Vec<u8>, Vec<u8>) = {
        let row = db
            .raw_client()
            .await
            .query_one(
                "select sealed, nonce from identity.prisoners where person_id = $1",
                &[&admitted.person_id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    saldo::privacy::seal_once(&db.pool, Duration::from_secs(10))
        .await
        .unwrap();
    let report = retention::run(
        &db.pool,
        &RetentionPolicy::default(),
        OffsetDateTime::now_utc(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        report
            .prisoners
            .iter()
            .map(|p| p.person_id)
            .collect::<Vec<_>>(),
        vec![admitted.person_id],
        "only the released prisoner is due"
    );

    // Nothing of theirs is readable in the identity schema any more.
    let dump = dump_identity_schema(db).await;
    for value in values(person, 0) {
        assert!(
            !dump.contains(&value),
            "{value:?} is still in the identity schema"
        );
    }
    assert!(
        !dump.contains(&hex::encode(&sealed_before.0)),
        "the ciphertext is gone too"
    );
    let raw = db.raw_client().await;
    let keys_left: i64 = raw
        .query_one(
            "select count(*) from identity.data_keys where person_id = $1",
            &[&admitted.person_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys_left, 0, "the data key is destroyed");
    // A copy of the old ciphertext (a backup) opens under none of the keys left.
    let current = crypto::current();
    for row in raw
        .query(
            "select person_id, master_key_version, wrapped_key from identity.data_keys",
            &[],
        )
        .await
        .unwrap()
    {
        let key = current
            .unwrap(
                row.get(0),
                &crypto::WrappedKey {
                    version: row.get(1),
                    bytes: row.get(2),
                },
            )
            .unwrap();
        let mut aad = b"saldo/prisoner/v1/".to_vec();
        aad.extend_from_slice(admitted.person_id.as_bytes());
        assert!(key.open(&aad, &sealed_before.1, &sealed_before.0).is_err());
    }
    // The store answers with the pseudonymous id and no personal field.
    let tx = client.transaction().await.unwrap();
    let after = identity::store::consult_prisoner(
        &tx,
        &officer,
        None,
        admitted.person_id,
        &PrisonerField::RECORD,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(after.person_id, admitted.person_id);
    assert!(after.full_name.is_none() && after.prisoner_number.is_none());
    let number_lookup = identity::store::find_by_prisoner_number(
        &tx,
        &officer,
        prison_id,
        &format!("{}-0", person.prisoner_number),
        &[PrisonerField::FullName],
    )
    .await
    .unwrap();
    assert!(number_lookup.is_none(), "the number no longer finds anyone");
    tx.commit().await.unwrap();

    // The other prisoner is untouched; the statement still reads, pseudonymously.
    let tx = client.transaction().await.unwrap();
    let kept = identity::store::consult_prisoner(
        &tx,
        &officer,
        None,
        other.person_id,
        &[PrisonerField::FullName],
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(kept.full_name.as_deref(), Some(PEOPLE[1].full_name));
    let statement = db
        .ledger()
        .statement(admitted.spendable, None, 100)
        .await
        .unwrap();
    assert!(
        !statement.lines.is_empty(),
        "the erased prisoner's statement is still there"
    );
    assert_eq!(
        harness.balance(admitted.spendable).await,
        (10_000 - 1_250, 0)
    );

    // The erasure is on record, and the books and the log still verify.
    let recorded: i64 = raw
        .query_one(
            "select count(*) from audit.retention_log
             where subject_person_id = $1 and category = 'prisoner_identity' and outcome = 'erased'",
            &[&admitted.person_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 1);
    saldo::privacy::seal_once(&db.pool, Duration::from_secs(10))
        .await
        .unwrap();
    let (report, log) = verify_everything(db).await;
    assert!(report.is_ok(), "{report}");
    assert_eq!(log.violations, 0, "{:?}", log.examples);
    let erase_rows: i64 = raw
        .query_one(
            "select count(*) from audit.access_log where subject_person_id = $1 and action = 'erase'",
            &[&admitted.person_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(erase_rows, 1, "the erasure is in the access log");
}

#[tokio::test]
async fn a_dry_run_lists_what_is_due_and_erases_nothing() {
    let world = World::new().await;
    let officer = world
        .staff("officer1", &[Role::Officer], world.prison_a)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "DRY-1").await;
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    identity::store::record_release(
        &tx,
        &staff(Purpose::ReleasePreparation),
        person_id,
        OffsetDateTime::now_utc() - time::Duration::days(400),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let two_years = RetentionPolicy::parse("prisoner_identity=2y").unwrap();
    let one_year = RetentionPolicy::parse("prisoner_identity=1y").unwrap();
    let now = OffsetDateTime::now_utc();
    let not_yet = retention::run(&world.db.pool, &two_years, now, true)
        .await
        .unwrap();
    assert!(
        not_yet.prisoners.is_empty(),
        "released 400 days ago is within two years"
    );
    let due = retention::run(&world.db.pool, &one_year, now, true)
        .await
        .unwrap();
    assert_eq!(due.prisoners.len(), 1);
    let tx = client.transaction().await.unwrap();
    let still = identity::store::consult_prisoner(
        &tx,
        &staff(Purpose::CaseManagement),
        None,
        person_id,
        &[PrisonerField::FullName],
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(still.full_name.as_deref(), Some("Matti Meikäläinen"));
    let recorded: i64 = world
        .db
        .raw_client()
        .await
        .query_one("select count(*) from audit.retention_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 0, "a dry run records nothing");
}

#[tokio::test]
async fn personal_fields_are_stored_only_as_ciphertext_and_found_through_a_keyed_hash() {
    let world = World::new().await;
    let officer = world
        .staff("officer1", &[Role::Officer], world.prison_a)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "ENC-1").await;
    let dump = dump_identity_schema(&world.db).await;
    for value in [
        "ENC-1",
        "Matti",
        "Meikäläinen",
        "010190-123A",
        "FI2112345600000785",
        "1990-01-01",
    ] {
        assert!(!dump.contains(value), "{value} is stored in plaintext");
    }
    // The number's look-up hash is keyed: not the plain SHA-256 of the number.
    let raw = world.db.raw_client().await;
    let hmac: Vec<u8> = raw
        .query_one(
            "select prisoner_number_hmac from identity.prisoners where person_id = $1",
            &[&person_id],
        )
        .await
        .unwrap()
        .get(0);
    use sha2::Digest;
    assert_ne!(hmac, sha2::Sha256::digest(b"ENC-1").to_vec());
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let by_national_id = identity::store::find_by_national_id(
        &tx,
        &staff(Purpose::CaseManagement),
        world.prison_a,
        "010190-123A",
        &[PrisonerField::PrisonerNumber],
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(by_national_id.person_id, person_id);
    assert_eq!(by_national_id.prisoner_number.as_deref(), Some("ENC-1"));
    let elsewhere = identity::store::find_by_national_id(
        &tx,
        &staff(Purpose::CaseManagement),
        world.prison_b,
        "010190-123A",
        &[],
    )
    .await
    .unwrap();
    assert!(elsewhere.is_none(), "only within one prison");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_rotated_master_key_rewraps_every_data_key_while_the_old_one_still_opens_them() {
    let world = World::new().await;
    let officer = world
        .staff("officer1", &[Role::Officer], world.prison_a)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "ROT-1").await;
    let old = crypto::current();
    let old_version = old.current_version();
    // The new configuration: both keys, the new one current (every other test keeps working).
    let rotated = old.with_new_master_key();
    let new_version = rotated.current_version();
    crypto::install(rotated.clone());
    let admitted_after = world.admit(&officer, world.prison_a, "ROT-2").await;
    let mut client = world.db.pool.get().await.unwrap();
    let retired = rotated.without_version(old_version).unwrap();
    assert!(
        identity::store::rewrap_data_keys(&mut client, &retired, 100)
            .await
            .is_err(),
        "without the old key, keys wrapped under it cannot be re-wrapped"
    );
    let mut total = 0;
    loop {
        let done = identity::store::rewrap_data_keys(&mut client, &rotated, 1)
            .await
            .unwrap();
        total += done;
        if done == 0 {
            break;
        }
    }
    assert!(
        total >= 1,
        "the first prisoner's key was under the old version"
    );
    let versions = identity::store::data_keys_by_version(&client)
        .await
        .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.0).collect::<Vec<_>>(),
        vec![new_version]
    );
    assert_eq!(
        identity::store::rewrap_data_keys(&mut client, &retired, 100)
            .await
            .unwrap(),
        0,
        "nothing needs the old key any more"
    );
    identity::store::register_keys(&client, &retired)
        .await
        .unwrap();
    assert!(
        identity::store::register_keys(&client, &crypto::Keyring::generate())
            .await
            .is_err(),
        "other keys under the same versions are refused"
    );
    let tx = client.transaction().await.unwrap();
    for (id, name) in [
        (person_id, "Matti Meikäläinen"),
        (admitted_after, "Matti Meikäläinen"),
    ] {
        let view = identity::store::consult_prisoner(
            &tx,
            &staff(Purpose::CaseManagement),
            None,
            id,
            &[PrisonerField::FullName],
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(view.full_name.as_deref(), Some(name));
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn rectification_and_restriction_are_applied_and_logged_with_field_names_only() {
    let world = World::new().await;
    let officer = world
        .staff("officer1", &[Role::Officer], world.prison_a)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "REC-1").await;
    let mut client = world.db.pool.get().await.unwrap();
    let who = staff(Purpose::DataSubjectRequest);
    let tx = client.transaction().await.unwrap();
    assert!(
        identity::store::rectify_prisoner(
            &tx,
            &who,
            Some(world.prison_a),
            person_id,
            &Rectification {
                full_name: Some("Matti Korjattu".into()),
                unit: Some(None),
                ..Rectification::default()
            },
        )
        .await
        .unwrap()
    );
    assert!(
        identity::store::restrict_prisoner(
            &tx,
            &who,
            Some(world.prison_a),
            person_id,
            Some(RestrictionReason::AccuracyContested),
        )
        .await
        .unwrap()
    );
    let for_case = identity::store::consult_prisoner(
        &tx,
        &staff(Purpose::CaseManagement),
        None,
        person_id,
        &[PrisonerField::FullName],
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        for_case.full_name.is_none(),
        "restricted: not for case management"
    );
    let for_request =
        identity::store::consult_prisoner(&tx, &who, None, person_id, &PrisonerField::RECORD)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(for_request.full_name.as_deref(), Some("Matti Korjattu"));
    assert_eq!(for_request.unit, None);
    assert_eq!(for_request.prisoner_number.as_deref(), Some("REC-1"));
    tx.commit().await.unwrap();
    let log = world.access_log().await;
    let about: Vec<_> = log
        .iter()
        .filter(|row| row.subject_person_id == Some(person_id))
        .collect();
    assert!(about.iter().any(|row| row.action == "change"
        && row.fields == vec!["full_name".to_owned(), "unit".to_owned()]));
    assert!(
        about
            .iter()
            .any(|row| row.action == "change" && row.fields == vec!["restriction".to_owned()])
    );
    assert!(
        about
            .iter()
            .any(|row| row.purpose == "case_management" && row.outcome == "denied")
    );
    let raw = world.db.raw_client().await;
    let dump: String = raw
        .query_one(
            "select string_agg(row_to_json(l)::text, '') from audit.access_log l",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        !dump.contains("Korjattu"),
        "the log names fields, never values"
    );
}

#[tokio::test]
async fn an_auditor_exports_a_prisoners_data_as_json_and_as_a_document_and_an_officer_cannot() {
    let world = World::new().await;
    let officer = world
        .staff("officer1", &[Role::Officer], world.prison_a)
        .await;
    let auditor = world
        .staff("auditor1", &[Role::Auditor], world.prison_a)
        .await;
    let auditor_b = world
        .staff("auditor2", &[Role::Auditor], world.prison_b)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "SAR-1").await;
    let url = world.prison_url(
        world.prison_a,
        &format!("/prisoners/{person_id}/subject-access"),
    );
    let response = world
        .http
        .get(&url)
        .bearer_auth(&auditor.token)
        .header("saldo-purpose", "data_subject_request")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["prisoner"]["full_name"], "Matti Meikäläinen");
    let purposes: Vec<&str> = body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|account| account["purpose"].as_str())
        .collect();
    for purpose in ["spendable", "release_savings", "held_deposits"] {
        assert!(purposes.contains(&purpose), "{purpose} in {body}");
    }
    let consultations = body["consultations"].as_array().unwrap();
    assert!(consultations.iter().any(|row| row["action"] == "create"));
    assert!(
        consultations
            .iter()
            .any(|row| row["purpose"] == "data_subject_request")
    );
    let document = world
        .http
        .get(format!("{url}.txt"))
        .bearer_auth(&auditor.token)
        .header("saldo-purpose", "data_subject_request")
        .send()
        .await
        .unwrap();
    assert_eq!(document.status(), 200);
    assert!(document.text().await.unwrap().contains("Matti Meikäläinen"));
    let forbidden = world
        .http
        .get(&url)
        .bearer_auth(&officer.token)
        .header("saldo-purpose", "data_subject_request")
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let other_prison = world
        .http
        .get(world.prison_url(
            world.prison_b,
            &format!("/prisoners/{person_id}/subject-access"),
        ))
        .bearer_auth(&auditor_b.token)
        .header("saldo-purpose", "data_subject_request")
        .send()
        .await
        .unwrap();
    assert_eq!(
        other_prison.status(),
        404,
        "another prison's prisoner is not found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealing_while_writers_run_never_flags_a_committed_row_but_later_changes_are_found() {
    let world = World::new().await;
    let officer = world
        .staff("officer1", &[Role::Officer], world.prison_a)
        .await;
    let db = &world.db;
    let books = crate::fixtures::Books::open(db).await;
    // Writers and sealers at once: every sealed range must still verify afterwards.
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let ledger = db.ledger();
            let draft = books.deposit_draft(100);
            tokio::spawn(async move {
                for _ in 0..15 {
                    let mut draft = draft.clone();
                    draft.idempotency_key = crate::fixtures::key();
                    ledger.post_entry(&draft).await.unwrap();
                }
            })
        })
        .collect();
    for i in 0..4 {
        world
            .admit(&officer, world.prison_a, &format!("SEAL-{i}"))
            .await;
        saldo::privacy::seal_once(&db.pool, Duration::from_secs(10))
            .await
            .unwrap();
    }
    for writer in writers {
        writer.await.unwrap();
    }
    saldo::privacy::seal_once(&db.pool, Duration::from_secs(10))
        .await
        .unwrap();
    let (report, log) = verify_everything(db).await;
    assert!(report.is_ok(), "{report}");
    assert_eq!(log.violations, 0, "{:?}", log.examples);
    let client = db.pool.get().await.unwrap();
    let journal = ledger::seal::journal_checkpoints(&client).await.unwrap();
    let sealed_entries: i64 = journal.iter().map(|c| c.counts[0]).sum();
    let entries: i64 = client
        .query_one("select count(*) from journal_entries", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sealed_entries, entries, "every committed entry is sealed");

    // After the fact, as a superuser bypassing the append-only triggers.
    let raw = db.raw_client().await;
    raw.batch_execute(
        "alter table journal_postings disable trigger user;
         update journal_postings set amount_minor = amount_minor * 2
          where id = (select min(id) from journal_postings) or id = (select max(id) from journal_postings);
         alter table journal_postings enable trigger user;
         alter table audit.access_log disable trigger user;
         delete from audit.access_log where id = (select min(id) from audit.access_log);
         alter table audit.access_log enable trigger user;",
    )
    .await
    .unwrap();
    let (report, log) = verify_everything(db).await;
    let journal_check = report.check("journal_sealed").unwrap();
    assert!(journal_check.violations > 0, "a changed posting is found");
    assert!(log.violations > 0, "a deleted log row is found");
    assert!(
        log.examples[0].contains("checkpoint 1"),
        "{:?}",
        log.examples
    );
}

#[tokio::test]
async fn an_entry_inserted_into_a_sealed_range_is_found_and_an_export_notices_a_rewritten_chain() {
    let db = TestDb::new().await;
    let books = crate::fixtures::Books::open(&db).await;
    for _ in 0..3 {
        books.deposit(500).await;
    }
    saldo::privacy::seal_once(&db.pool, Duration::from_secs(10))
        .await
        .unwrap();
    let client = db.pool.get().await.unwrap();
    let exported = ledger::seal::journal_checkpoints(&client).await.unwrap();
    assert_eq!(exported.len(), 1);
    let pairs: Vec<(i64, String)> = exported
        .iter()
        .map(|c| (c.n, hex::encode(&c.checkpoint_sha256)))
        .collect();
    assert!(ledger::seal::compare_with_export(&exported, &pairs).is_empty());
    // A forged entry slipped in under an old number (seq 0 is below every range; 2 is inside).
    let raw = db.raw_client().await;
    raw.batch_execute(
        "alter table journal_entries disable trigger user;
         update journal_entries set description = 'rewritten' where seq = (select max(seq) from journal_entries);
         alter table journal_entries enable trigger user;",
    )
    .await
    .unwrap();
    let report = db.ledger().verify().await.unwrap();
    assert!(!report.is_ok(), "{report}");
    // Rewriting the whole chain (delete and re-seal) is visible against the exported copy.
    raw.batch_execute(
        "alter table ledger_checkpoints disable trigger user;
         delete from ledger_checkpoints;
         alter table ledger_checkpoints enable trigger user;",
    )
    .await
    .unwrap();
    saldo::privacy::seal_once(&db.pool, Duration::from_secs(10))
        .await
        .unwrap();
    let resealed = ledger::seal::journal_checkpoints(&client).await.unwrap();
    assert!(
        db.ledger().verify().await.unwrap().is_ok(),
        "the forger's new chain is consistent"
    );
    assert_eq!(
        ledger::seal::compare_with_export(&resealed, &pairs),
        vec!["checkpoint 1 differs from the exported copy".to_owned()]
    );
}

/// An auditor who runs `saldo checkpoints check-export` alone must not be told OK over rows
/// rewritten behind the ledger's back: the export vouches for the checkpoints, the rows are
/// recomputed.
#[tokio::test]
async fn check_export_fails_when_a_sealed_row_was_rewritten_though_the_checkpoints_match() {
    use clap::Parser;
    let db = TestDb::new().await;
    let books = crate::fixtures::Books::open(&db).await;
    books.deposit(500).await;
    books.deposit(700).await;
    let export = std::env::temp_dir().join(format!("checkpoints-{}.json", uuid::Uuid::new_v4()));
    let run = |args: &[&str]| {
        let cli = saldo::cli::Cli::parse_from(
            ["saldo", "--database-url", &db.url(), "checkpoints"]
                .iter()
                .chain(args)
                .map(|s| s.to_string()),
        );
        saldo::cli::run(cli)
    };
    let file = export.display().to_string();
    assert_eq!(
        run(&["seal"]).await.unwrap(),
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(
        run(&["export", "--out", &file]).await.unwrap(),
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(
        run(&["check-export", &file]).await.unwrap(),
        std::process::ExitCode::SUCCESS,
        "nothing changed yet"
    );
    db.raw_client()
        .await
        .batch_execute(
            "set session_replication_role = replica;
             update journal_postings set amount_minor = amount_minor * 2
             where id = (select min(id) from journal_postings);",
        )
        .await
        .unwrap();
    assert_eq!(
        run(&["check-export", &file]).await.unwrap(),
        std::process::ExitCode::from(2),
        "the checkpoints still match the export, but a sealed posting changed"
    );
    let _ = std::fs::remove_file(&export);
}

/// The subject-access route takes the stated purpose and case reference like every other
/// personal-data route, and the access log keeps both; without a purpose it reads nothing.
#[tokio::test]
async fn the_subject_access_route_records_the_stated_purpose_and_case_reference() {
    let world = World::new().await;
    let officer = world
        .staff("officer1", &[Role::Officer], world.prison_a)
        .await;
    let auditor = world
        .staff("auditor1", &[Role::Auditor], world.prison_a)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "SAR-2").await;
    let url = world.prison_url(
        world.prison_a,
        &format!("/prisoners/{person_id}/subject-access"),
    );
    let before = world.access_log().await.len();
    let (status, body) = problem(
        world
            .http
            .get(&url)
            .bearer_auth(&auditor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("purpose_required"))
    );
    assert_eq!(world.access_log().await.len(), before, "nothing was read");

    for suffix in ["", ".txt"] {
        let response = world
            .http
            .get(format!("{url}{suffix}"))
            .bearer_auth(&auditor.token)
            .header("saldo-purpose", "complaint")
            .header("saldo-case-ref", "DPO/2026-17")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{suffix}");
    }
    let raw = world.db.raw_client().await;
    let rows = raw
        .query(
            "select purpose, case_ref from audit.access_log
             where actor_id = $1 and subject_person_id = $2 order by id",
            &[&auditor.id, &person_id],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let (purpose, case_ref): (String, Option<String>) = (row.get(0), row.get(1));
        assert_eq!(purpose, "complaint");
        assert_eq!(case_ref.as_deref(), Some("DPO/2026-17"));
    }
    // A purpose that is no reason to export everything is refused.
    let (status, body) = problem(
        world
            .http
            .get(&url)
            .bearer_auth(&auditor.token)
            .header("saldo-purpose", "deposit")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("purpose_invalid"))
    );
}
