use ledger::*;
use saldo_tests::TestDb;

use crate::fixtures::*;

#[tokio::test]
async fn a_deposit_credits_the_prisoner_and_debits_the_bank() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let entry = books.deposit(2_500).await;
    assert_eq!(entry.postings.len(), 2);
    let balance = books.ledger.balance(books.spendable).await.unwrap();
    assert_eq!(balance.posted, eur(2_500));
    assert_eq!(balance.available, eur(2_500));
    // The bank is a hot asset account: its balance is derived from postings.
    assert_eq!(
        books.ledger.balance(books.bank).await.unwrap().posted,
        eur(2_500)
    );
}

#[tokio::test]
async fn the_same_idempotency_key_with_the_same_content_returns_the_original_and_writes_nothing() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let draft = books.deposit_draft(1_000);
    let first = books.ledger.post_entry(&draft).await.unwrap();
    let before = row_counts(&db).await;
    let second = books.ledger.post_entry(&draft).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(row_counts(&db).await, before);
    assert_eq!(books.available().await, 1_000);
}

#[tokio::test]
async fn the_same_idempotency_key_with_other_content_is_a_conflict() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let draft = books.deposit_draft(1_000);
    books.ledger.post_entry(&draft).await.unwrap();
    let mut other = books.deposit_draft(1_001);
    other.idempotency_key = draft.idempotency_key.clone();
    let before = row_counts(&db).await;
    let error = books.ledger.post_entry(&other).await.unwrap_err();
    assert_eq!(error.code(), "idempotency_conflict");
    assert_eq!(row_counts(&db).await, before);
}

/// Each bad entry gets its own stable error code and leaves every table as it was.
#[tokio::test]
async fn bad_entries_are_refused_with_a_clear_error_and_write_nothing() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(500).await;
    let sek = Currency::from_code("SEK").unwrap();
    let closed = books
        .ledger
        .open_account(
            &key(),
            &NewAccount::person(uuid::Uuid::now_v7(), "spendable", Currency::EUR),
        )
        .await
        .unwrap()
        .id;
    books.ledger.close_account(&key(), closed).await.unwrap();

    let base = books.deposit_draft(100);
    let with = |postings: Vec<PostingDraft>| EntryDraft {
        idempotency_key: key(),
        postings,
        ..base.clone()
    };
    let cases: Vec<(&str, EntryDraft)> = vec![
        (
            "entry_unbalanced",
            with(vec![
                PostingDraft::debit(books.bank, eur(100)),
                PostingDraft::credit(books.spendable, eur(99)).unwrap(),
            ]),
        ),
        (
            "entry_unbalanced",
            with(vec![
                PostingDraft::debit(books.bank, eur(100)),
                PostingDraft::credit(books.spendable, Money::new(100, sek)).unwrap(),
            ]),
        ),
        (
            "too_few_postings",
            with(vec![PostingDraft::debit(books.bank, eur(100))]),
        ),
        (
            "zero_amount",
            with(vec![
                PostingDraft::debit(books.bank, eur(0)),
                PostingDraft::credit(books.spendable, eur(0)).unwrap(),
            ]),
        ),
        (
            // Each line is refused at the currency's bound before any sum could overflow.
            "amount_beyond_bound",
            with(vec![
                PostingDraft::debit(books.bank, eur(i64::MAX)),
                PostingDraft::debit(books.bank, eur(i64::MAX)),
                PostingDraft::credit(books.spendable, eur(1)).unwrap(),
            ]),
        ),
        (
            "unknown_account",
            with(vec![
                PostingDraft::debit(books.bank, eur(100)),
                PostingDraft::credit(uuid::Uuid::now_v7(), eur(100)).unwrap(),
            ]),
        ),
        (
            "account_closed",
            with(vec![
                PostingDraft::debit(books.bank, eur(100)),
                PostingDraft::credit(closed, eur(100)).unwrap(),
            ]),
        ),
        (
            "account_currency_mismatch",
            with(vec![
                PostingDraft::debit(books.bank, Money::new(100, sek)),
                PostingDraft::credit(books.spendable, Money::new(100, sek)).unwrap(),
            ]),
        ),
        (
            // Spending more than the prisoner has: a negative credit on their account.
            "insufficient_funds",
            with(vec![
                PostingDraft::debit(books.spendable, eur(501)),
                PostingDraft::credit(books.settlement, eur(501)).unwrap(),
            ]),
        ),
        (
            "description_invalid",
            EntryDraft {
                idempotency_key: key(),
                description: "  ".into(),
                ..base.clone()
            },
        ),
        (
            "metadata_invalid",
            EntryDraft {
                idempotency_key: key(),
                metadata: serde_json::json!([1, 2]),
                ..base.clone()
            },
        ),
        (
            "idempotency_key_invalid",
            EntryDraft {
                idempotency_key: String::new(),
                ..base.clone()
            },
        ),
    ];
    let before = row_counts(&db).await;
    for (expected, draft) in cases {
        let error = books.ledger.post_entry(&draft).await.unwrap_err();
        assert_eq!(error.code(), expected, "{draft:?}");
        assert!(error.is_client_error());
        assert_eq!(row_counts(&db).await, before, "{expected} wrote something");
    }
}

#[tokio::test]
async fn a_unique_external_reference_can_be_used_only_once() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let reference = ExternalRef {
        kind: "processor_transaction".into(),
        value: "txn_1".into(),
        unique: true,
    };
    let mut first = books.deposit_draft(100);
    first.external_refs = vec![reference.clone()];
    let entry = books.ledger.post_entry(&first).await.unwrap();
    let mut second = books.deposit_draft(100);
    second.external_refs = vec![reference];
    let before = row_counts(&db).await;
    let error = books.ledger.post_entry(&second).await.unwrap_err();
    assert_eq!(error.code(), "duplicate_external_ref");
    assert_eq!(row_counts(&db).await, before);
    let found = store::entry_by_external_ref(
        &db.pool.get().await.unwrap(),
        "processor_transaction",
        "txn_1",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(found.id, entry.id);
}

#[tokio::test]
async fn a_reversal_mirrors_the_entry_and_an_entry_is_reversed_at_most_once() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let deposit = books.deposit(700).await;
    let reversal = books
        .ledger
        .reverse_entry(&ReverseEntry {
            idempotency_key: key(),
            entry_id: deposit.id,
            effective_date: today(),
            description: "deposit entered twice".into(),
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap();
    assert_eq!(reversal.reverses_entry_id, Some(deposit.id));
    assert_eq!(books.available().await, 0);
    let before = row_counts(&db).await;
    let error = books
        .ledger
        .reverse_entry(&ReverseEntry {
            idempotency_key: key(),
            entry_id: deposit.id,
            effective_date: today(),
            description: "again".into(),
            overdraft: Overdraft::Refuse,
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), "already_reversed");
    assert_eq!(row_counts(&db).await, before);
}

#[tokio::test]
async fn postgres_itself_refuses_updates_and_deletes_of_journal_rows() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(100).await;
    let client = db.raw_client().await;
    for statement in [
        "update journal_postings set amount_minor = amount_minor * 2",
        "delete from journal_postings",
        "update journal_entries set description = 'changed'",
        "delete from journal_entries",
        "truncate journal_postings cascade",
        "delete from idempotency_keys",
        "delete from ledger_accounts",
        "update ledger_accounts set currency = 'SEK'",
    ] {
        let error = client.batch_execute(statement).await.unwrap_err();
        let message = error
            .as_db_error()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(
            message.contains("append-only")
                || message.contains("never deleted")
                || message.contains("only closing"),
            "{statement}: {message}"
        );
    }
    assert_eq!(books.available().await, 100);
}

/// Raw SQL as any client could write it: inserts an entry and, in one statement, its postings
/// `(account, amount_minor)`; returns the database's error if the statement is refused.
async fn insert_entry_raw(
    tx: &tokio_postgres::Transaction<'_>,
    postings: &[(uuid::Uuid, i64)],
) -> Result<uuid::Uuid, String> {
    let entry_id = uuid::Uuid::now_v7();
    tx.execute(
        "insert into journal_entries (id, effective_date, description) values ($1, current_date, 'x')",
        &[&entry_id],
    )
    .await
    .unwrap();
    insert_postings_raw(tx, entry_id, postings).await?;
    Ok(entry_id)
}

async fn insert_postings_raw(
    tx: &tokio_postgres::Transaction<'_>,
    entry_id: uuid::Uuid,
    postings: &[(uuid::Uuid, i64)],
) -> Result<(), String> {
    let accounts: Vec<uuid::Uuid> = postings.iter().map(|p| p.0).collect();
    let amounts: Vec<i64> = postings.iter().map(|p| p.1).collect();
    tx.execute(
        "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
         select $1, account_id, 'EUR', amount_minor, now()
         from unnest($2::uuid[], $3::bigint[]) as p(account_id, amount_minor)",
        &[&entry_id, &accounts, &amounts],
    )
    .await
    .map(|_| ())
    .map_err(|error| {
        error
            .as_db_error()
            .map(|db| db.message().to_owned())
            .unwrap_or_else(|| error.to_string())
    })
}

#[tokio::test]
async fn the_database_refuses_an_unbalanced_entry_even_when_the_code_is_bypassed() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let before = row_counts(&db).await;
    let mut client = db.raw_client().await;

    let tx = client.transaction().await.unwrap();
    let error = insert_entry_raw(&tx, &[(books.bank, 100)])
        .await
        .unwrap_err();
    assert!(error.contains("fewer than two postings"), "{error}");
    drop(tx);

    let tx = client.transaction().await.unwrap();
    let error = insert_entry_raw(&tx, &[(books.bank, 100), (books.spendable, -99)])
        .await
        .unwrap_err();
    assert!(error.contains("does not balance in EUR"), "{error}");
    drop(tx);

    assert_eq!(row_counts(&db).await, before);
}

/// What V1's foreign keys refused, V15's statement check refuses: a posting naming no account, an
/// account in another currency, or no entry; and the accounts it names cannot be truncated away.
#[tokio::test]
async fn the_database_refuses_a_posting_that_names_no_account_or_no_entry() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let before = row_counts(&db).await;
    let mut client = db.raw_client().await;
    let unknown = uuid::Uuid::now_v7();
    for (account, currency, entry_exists, message, constraint) in [
        (
            unknown,
            "EUR",
            true,
            format!("account {unknown} in EUR does not exist"),
            "journal_postings_account_id_currency_fkey",
        ),
        (
            books.spendable,
            "SEK",
            true,
            format!("account {} in SEK does not exist", books.spendable),
            "journal_postings_account_id_currency_fkey",
        ),
        (
            books.spendable,
            "EUR",
            false,
            "does not exist".to_owned(),
            "journal_postings_entry_id_fkey",
        ),
    ] {
        let tx = client.transaction().await.unwrap();
        let entry_id = uuid::Uuid::now_v7();
        if entry_exists {
            tx.execute(
                "insert into journal_entries (id, effective_date, description)
                 values ($1, current_date, 'x')",
                &[&entry_id],
            )
            .await
            .unwrap();
        }
        let error = tx
            .execute(
                "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
                 values ($1, $2, $3::text::char(3), -100, now()), ($1, $4, 'EUR', 100, now())",
                &[&entry_id, &account, &currency, &books.bank],
            )
            .await
            .unwrap_err();
        let db_error = error.as_db_error().unwrap();
        assert_eq!(
            db_error.code(),
            &tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION
        );
        assert_eq!(db_error.constraint(), Some(constraint));
        assert!(
            db_error.message().ends_with(&message),
            "{}",
            db_error.message()
        );
        drop(tx);
    }
    let error = client
        .batch_execute("truncate ledger_accounts cascade")
        .await
        .unwrap_err();
    assert!(
        error
            .as_db_error()
            .unwrap()
            .message()
            .contains("append-only"),
        "{error}"
    );
    assert_eq!(row_counts(&db).await, before);
}

/// An entry in two currencies balances in each of them, or it is refused naming the currency
/// that does not balance.
#[tokio::test]
async fn an_entry_in_two_currencies_must_balance_in_each() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let mut client = db.raw_client().await;
    let tx = client.transaction().await.unwrap();
    let sek_accounts: Vec<uuid::Uuid> = (0..2).map(|_| uuid::Uuid::now_v7()).collect();
    tx.execute(
        "insert into ledger_accounts
            (id, code, account_type, currency, owner_kind, purpose, balance_rule, is_hot)
         select id, 'test:sek:' || id, 'asset', 'SEK', 'institution', 'test', 'may_go_negative', true
         from unnest($1::uuid[]) as a(id)",
        &[&sek_accounts],
    )
    .await
    .unwrap();
    let entry_in = |sek_credit: i64| {
        let tx = &tx;
        let sek_accounts = &sek_accounts;
        async move {
            let entry_id = uuid::Uuid::now_v7();
            tx.execute(
                "insert into journal_entries (id, effective_date, description)
                 values ($1, current_date, 'two currencies')",
                &[&entry_id],
            )
            .await
            .unwrap();
            tx.execute(
                "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
                 values ($1, $2, 'EUR', 100, now()), ($1, $3, 'EUR', -100, now()),
                        ($1, $4, 'SEK', 1000, now()), ($1, $5, 'SEK', $6, now())",
                &[
                    &entry_id,
                    &books.bank,
                    &books.spendable,
                    &sek_accounts[0],
                    &sek_accounts[1],
                    &-sek_credit,
                ],
            )
            .await
            .map(|_| entry_id)
            .map_err(|error| error.as_db_error().unwrap().message().to_owned())
        }
    };
    let balanced = entry_in(1000).await;
    assert!(balanced.is_ok(), "{balanced:?}");
    let error = entry_in(999).await.unwrap_err();
    assert!(
        error.ends_with("does not balance in SEK"),
        "the EUR half balances, the SEK half does not: {error}"
    );
}

/// The check runs per statement over every entry the statement touched, with all of each entry's
/// postings: a balanced entry can't be made unbalanced by a later statement, and an entry's
/// postings can't be split over statements to pass a half-written entry.
#[tokio::test]
async fn the_database_checks_every_entry_a_statement_touches_with_all_its_postings() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let mut client = db.raw_client().await;

    let tx = client.transaction().await.unwrap();
    let entry = insert_entry_raw(&tx, &[(books.bank, 100), (books.spendable, -100)])
        .await
        .unwrap();
    let error = insert_postings_raw(&tx, entry, &[(books.bank, 5)])
        .await
        .unwrap_err();
    assert!(error.contains("does not balance in EUR"), "{error}");
    drop(tx);

    // Many entries in one statement, one of them unbalanced: the whole statement is refused.
    let tx = client.transaction().await.unwrap();
    let ids: Vec<uuid::Uuid> = (0..500).map(|_| uuid::Uuid::now_v7()).collect();
    tx.execute(
        "insert into journal_entries (id, effective_date, description)
         select id, current_date, 'x' from unnest($1::uuid[]) as e(id)",
        &[&ids],
    )
    .await
    .unwrap();
    let error = tx
        .execute(
            "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
             select e.id, a.account_id, 'EUR',
                    a.sign * (case when e.n = 317 and a.sign = -1 then 99 else 100 end), now()
             from unnest($1::uuid[]) with ordinality as e(id, n),
                  (values ($2::uuid, 1), ($3::uuid, -1)) as a(account_id, sign)",
            &[&ids, &books.bank, &books.spendable],
        )
        .await
        .unwrap_err();
    let message = error.as_db_error().unwrap().message().to_owned();
    assert!(
        message.contains(&format!("journal entry {} does not balance", ids[316])),
        "{message}"
    );
    drop(tx);

    // The same 500 entries, all balanced, go in.
    let tx = client.transaction().await.unwrap();
    tx.execute(
        "insert into journal_entries (id, effective_date, description)
         select id, current_date, 'x' from unnest($1::uuid[]) as e(id)",
        &[&ids],
    )
    .await
    .unwrap();
    let inserted = tx
        .execute(
            "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
             select e.id, a.account_id, 'EUR', a.sign * 100, now()
             from unnest($1::uuid[]) as e(id),
                  (values ($2::uuid, 1), ($3::uuid, -1)) as a(account_id, sign)",
            &[&ids, &books.bank, &books.spendable],
        )
        .await
        .unwrap();
    assert_eq!(inserted, 1_000);
    tx.commit().await.unwrap();
    let committed: i64 = client
        .query_one(
            "select count(*) from journal_postings where entry_id = any($1)",
            &[&ids],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(committed, 1_000);
}

#[tokio::test]
async fn the_database_refuses_a_posting_to_a_closed_account_even_when_the_code_is_bypassed() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let closed = books
        .ledger
        .open_account(
            &key(),
            &NewAccount::person(uuid::Uuid::now_v7(), "spendable", Currency::EUR),
        )
        .await
        .unwrap()
        .id;
    books.ledger.close_account(&key(), closed).await.unwrap();
    let before = row_counts(&db).await;
    let mut client = db.raw_client().await;
    let tx = client.transaction().await.unwrap();
    let error = insert_entry_raw(&tx, &[(books.bank, 100), (closed, -100)])
        .await
        .unwrap_err();
    assert_eq!(error, format!("account {closed} is closed"));
    drop(tx);
    assert_eq!(row_counts(&db).await, before);
}

#[tokio::test]
async fn balances_as_of_a_past_moment_and_statements_page_in_recording_order() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    let first = books.deposit(100).await;
    for amount in 1..=6 {
        books.deposit(amount).await;
    }
    let as_of_first = books
        .ledger
        .balance_as_of(books.spendable, first.recorded_at)
        .await
        .unwrap();
    assert_eq!(as_of_first, eur(100));
    let before_everything = books
        .ledger
        .balance_as_of(
            books.spendable,
            first.recorded_at - time::Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(before_everything, eur(0));

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = books
            .ledger
            .statement(books.spendable, after, 3)
            .await
            .unwrap();
        assert!(page.lines.len() <= 3);
        seen.extend(page.lines.iter().map(|line| line.amount.amount_minor));
        match page.next_after_posting_id {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec![100, 1, 2, 3, 4, 5, 6]);
    let whole = books
        .ledger
        .statement(books.spendable, None, 10)
        .await
        .unwrap();
    let last_id = whole.lines.last().unwrap().posting_id;
    let after_last = books
        .ledger
        .statement(books.spendable, Some(last_id), 3)
        .await
        .unwrap();
    assert!(after_last.lines.is_empty() && after_last.next_after_posting_id.is_none());
    let bank_posting = books
        .ledger
        .statement(books.bank, None, 1)
        .await
        .unwrap()
        .lines[0]
        .posting_id;
    let error = books
        .ledger
        .statement(books.spendable, Some(bank_posting), 3)
        .await
        .unwrap_err();
    assert_eq!(
        error.code(),
        "after_posting_id_unknown",
        "another account's posting is no cursor for this one"
    );
    let client = db.pool.get().await.unwrap();
    let newest = ledger::store::latest_statement_lines(&client, books.spendable, 3)
        .await
        .unwrap();
    let newest: Vec<i64> = newest.iter().map(|line| line.amount.amount_minor).collect();
    assert_eq!(newest, vec![6, 5, 4], "the newest three, newest first");
    let error = books
        .ledger
        .statement(books.spendable, None, 0)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "page_size_invalid");
}

#[tokio::test]
async fn an_account_with_money_cannot_be_closed_and_a_closed_one_takes_no_postings() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(100).await;
    let error = books
        .ledger
        .close_account(&key(), books.spendable)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "account_not_empty");
    let payout = EntryDraft {
        postings: vec![
            PostingDraft::debit(books.spendable, eur(100)),
            PostingDraft::credit(books.bank, eur(100)).unwrap(),
        ],
        ..books.deposit_draft(0)
    };
    books.ledger.post_entry(&payout).await.unwrap();
    let closed = books
        .ledger
        .close_account(&key(), books.spendable)
        .await
        .unwrap();
    assert!(closed.closed_at.is_some());
    let error = books
        .ledger
        .post_entry(&books.deposit_draft(5))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "account_closed");
}

#[tokio::test]
async fn an_overdraft_allowed_by_the_caller_is_booked_and_flagged() {
    let db = TestDb::new().await;
    let books = Books::open(&db).await;
    books.deposit(100).await;
    let force_post = EntryDraft {
        postings: vec![
            PostingDraft::debit(books.spendable, eur(150)),
            PostingDraft::credit(books.settlement, eur(150)).unwrap(),
        ],
        overdraft: Overdraft::AllowAndFlag,
        ..books.deposit_draft(0)
    };
    let entry = books.ledger.post_entry(&force_post).await.unwrap();
    assert!(entry.overdraft_flagged);
    assert_eq!(books.available().await, -50);
    // A deposit into an overdrawn account is always accepted.
    books.deposit(20).await;
    assert_eq!(books.available().await, -30);
    assert!(books.ledger.verify().await.unwrap().is_ok());
}
