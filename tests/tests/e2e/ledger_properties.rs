//! Random sequences of ledger commands keep every invariant that `saldo verify` checks, never
//! overdraw a prisoner, and a failed command writes nothing.
use ledger::*;
use proptest::prelude::*;
use saldo_tests::TestDb;

use crate::fixtures::*;

#[derive(Debug, Clone)]
enum Command {
    Deposit {
        person: usize,
        amount_minor: i64,
    },
    Spend {
        person: usize,
        amount_minor: i64,
    },
    Hold {
        person: usize,
        amount_minor: i64,
        allow_partial: bool,
    },
    Capture {
        hold: usize,
        amount_minor: i64,
        final_capture: bool,
        allow_over_capture: bool,
    },
    Release {
        hold: usize,
        amount_minor: Option<i64>,
    },
    Expire {
        hold: usize,
    },
    Reverse {
        entry: usize,
    },
    ReplayLast,
}

fn command() -> impl Strategy<Value = Command> {
    let person = 0..3usize;
    let amount = 1..2_000i64;
    prop_oneof![
        (person.clone(), amount.clone()).prop_map(|(person, amount_minor)| Command::Deposit {
            person,
            amount_minor
        }),
        (person.clone(), amount.clone()).prop_map(|(person, amount_minor)| Command::Spend {
            person,
            amount_minor
        }),
        (person, amount.clone(), any::<bool>()).prop_map(
            |(person, amount_minor, allow_partial)| Command::Hold {
                person,
                amount_minor,
                allow_partial
            }
        ),
        (0..8usize, amount.clone(), any::<bool>(), any::<bool>()).prop_map(
            |(hold, amount_minor, final_capture, allow_over_capture)| Command::Capture {
                hold,
                amount_minor,
                final_capture,
                allow_over_capture
            }
        ),
        (0..8usize, proptest::option::of(amount))
            .prop_map(|(hold, amount_minor)| Command::Release { hold, amount_minor }),
        (0..8usize).prop_map(|hold| Command::Expire { hold }),
        (0..8usize).prop_map(|entry| Command::Reverse { entry }),
        Just(Command::ReplayLast),
    ]
}

enum Sent {
    Entry(EntryDraft),
    Hold(PlaceHold),
    Capture(CaptureHold),
}

async fn run(commands: Vec<Command>) {
    let db = TestDb::with_pool_size(4).await;
    let books = Books::open(&db).await;
    let ledger = &books.ledger;
    let mut spendables = vec![books.spendable];
    for _ in 0..2 {
        let account = ledger
            .open_account(
                &key(),
                &NewAccount::person(uuid::Uuid::now_v7(), "spendable", Currency::EUR),
            )
            .await
            .unwrap();
        spendables.push(account.id);
    }
    let mut holds: Vec<uuid::Uuid> = Vec::new();
    let mut entries: Vec<uuid::Uuid> = Vec::new();
    let mut last: Option<Sent> = None;
    for command in commands {
        let before = row_counts(&db).await;
        let result: Result<(), LedgerError> = match command {
            Command::Deposit {
                person,
                amount_minor,
            } => {
                let draft = deposit_draft(books.bank, spendables[person], amount_minor);
                let result = ledger.post_entry(&draft).await.map(|e| entries.push(e.id));
                if result.is_ok() {
                    last = Some(Sent::Entry(draft));
                }
                result
            }
            Command::Spend {
                person,
                amount_minor,
            } => {
                let draft = EntryDraft {
                    postings: vec![
                        PostingDraft::debit(spendables[person], eur(amount_minor)),
                        PostingDraft::credit(books.settlement, eur(amount_minor)).unwrap(),
                    ],
                    ..deposit_draft(books.bank, spendables[person], 1)
                };
                let result = ledger.post_entry(&draft).await.map(|e| entries.push(e.id));
                if result.is_ok() {
                    last = Some(Sent::Entry(draft));
                }
                result
            }
            Command::Hold {
                person,
                amount_minor,
                allow_partial,
            } => {
                let mut hold = books.hold_command(amount_minor);
                hold.account_id = spendables[person];
                hold.allow_partial = allow_partial;
                let result = ledger.place_hold(&hold).await.map(|h| holds.push(h.id));
                if result.is_ok() {
                    last = Some(Sent::Hold(hold));
                }
                result
            }
            Command::Capture {
                hold,
                amount_minor,
                final_capture,
                allow_over_capture,
            } => match holds.get(hold) {
                None => Ok(()),
                Some(&hold_id) => {
                    let mut capture = books.capture_command(hold_id, amount_minor, final_capture);
                    capture.allow_over_capture = allow_over_capture;
                    let result = ledger
                        .capture_hold(&capture)
                        .await
                        .map(|c| entries.push(c.entry.id));
                    if result.is_ok() {
                        last = Some(Sent::Capture(capture));
                    }
                    result
                }
            },
            Command::Release { hold, amount_minor } => match holds.get(hold) {
                None => Ok(()),
                Some(&hold_id) => ledger
                    .release_hold(&ReleaseHold {
                        idempotency_key: key(),
                        hold_id,
                        amount: amount_minor.map(eur),
                    })
                    .await
                    .map(drop),
            },
            Command::Expire { hold } => match holds.get(hold) {
                None => Ok(()),
                Some(&hold_id) => ledger.expire_hold(&key(), hold_id).await.map(drop),
            },
            Command::Reverse { entry } => match entries.get(entry) {
                None => Ok(()),
                Some(&entry_id) => ledger
                    .reverse_entry(&ReverseEntry {
                        idempotency_key: key(),
                        entry_id,
                        effective_date: today(),
                        description: "correction".into(),
                        overdraft: Overdraft::Refuse,
                    })
                    .await
                    .map(drop),
            },
            Command::ReplayLast => {
                // A replay of a command that succeeded returns the original result and writes
                // nothing. (A failed command stores nothing under its key, so sending it again
                // is a new attempt, which may succeed once a hold is released.)
                match &last {
                    Some(Sent::Entry(draft)) => ledger.post_entry(draft).await.map(drop),
                    Some(Sent::Hold(hold)) => ledger.place_hold(hold).await.map(drop),
                    Some(Sent::Capture(capture)) => ledger.capture_hold(capture).await.map(drop),
                    None => Ok(()),
                }
                .ok();
                let after = row_counts(&db).await;
                assert_eq!(after, before, "a replay wrote something");
                Ok(())
            }
        };
        if let Err(error) = result {
            assert!(error.is_client_error(), "server error: {error:?}");
            assert_eq!(
                row_counts(&db).await,
                before,
                "failed command {} wrote something",
                error.code()
            );
        }
        for &account in &spendables {
            let balance = ledger.balance(account).await.unwrap();
            assert!(
                balance.available.amount_minor >= 0,
                "overdrawn: {balance:?}"
            );
        }
    }
    let report = ledger.verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_every_invariant(commands in proptest::collection::vec(command(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(commands));
    }
}
