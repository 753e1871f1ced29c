//! Small builders shared by the tests.
use ledger::*;
use saldo_tests::TestDb;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

pub fn eur(amount_minor: i64) -> Money {
    Money::new(amount_minor, Currency::EUR)
}

pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

pub fn key() -> String {
    Uuid::new_v4().to_string()
}

/// A prisoner's spendable account plus the institution's bank and card settlement accounts.
pub struct Books {
    pub ledger: Ledger,
    pub person_id: Uuid,

    pub spendable: Uuid,
    pub bank: Uuid,
    pub settlement: Uuid,
}

impl Books {
    pub async fn open(db: &TestDb) -> Books {
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
        let bank =
            open_institution(&ledger, institution_purpose::BANK_TRUST, AccountType::Asset).await;
        let settlement = open_institution(
            &ledger,
            institution_purpose::CARD_SETTLEMENT_PAYABLE,
            AccountType::Liability,
        )
        .await;
        Books {
            ledger,
            person_id,

            spendable,
            bank,
            settlement,
        }
    }

    /// Money arrives in the trust bank account for the prisoner.
    pub async fn deposit(&self, amount_minor: i64) -> Entry {
        self.ledger
            .post_entry(&self.deposit_draft(amount_minor))
            .await
            .unwrap()
    }

    pub fn deposit_draft(&self, amount_minor: i64) -> EntryDraft {
        deposit_draft(self.bank, self.spendable, amount_minor)
    }

    pub async fn available(&self) -> i64 {
        self.ledger
            .balance(self.spendable)
            .await
            .unwrap()
            .available
            .amount_minor
    }

    pub fn hold_command(&self, amount_minor: i64) -> PlaceHold {
        PlaceHold {
            idempotency_key: key(),
            account_id: self.spendable,
            amount: eur(amount_minor),
            expires_at: None,
            description: "card authorization".into(),
            metadata: serde_json::json!({}),
            allow_partial: false,
            overdraft: Overdraft::Refuse,
        }
    }

    pub fn capture_command(
        &self,
        hold_id: Uuid,
        amount_minor: i64,
        final_capture: bool,
    ) -> CaptureHold {
        CaptureHold {
            idempotency_key: key(),
            hold_id,
            amount: eur(amount_minor),
            counter_account_id: self.settlement,
            allow_over_capture: false,
            final_capture,
            effective_date: today(),
            description: "card clearing".into(),
            metadata: serde_json::json!({}),
            external_refs: vec![],
            overdraft: Overdraft::Refuse,
        }
    }
}

/// Opens (or finds, when the test opened it before) an institutional account.
pub async fn open_institution(ledger: &Ledger, purpose: &str, account_type: AccountType) -> Uuid {
    let account = NewAccount::institution(purpose, account_type, Currency::EUR);
    let key = format!("open:{}", account.code);
    ledger.open_account(&key, &account).await.unwrap().id
}

pub fn deposit_draft(bank: Uuid, spendable: Uuid, amount_minor: i64) -> EntryDraft {
    EntryDraft {
        idempotency_key: key(),
        effective_date: today(),
        description: "family deposit".into(),
        metadata: serde_json::json!({}),
        external_refs: vec![],
        postings: vec![
            PostingDraft::debit(bank, eur(amount_minor)),
            PostingDraft::credit(spendable, eur(amount_minor)).unwrap(),
        ],
        overdraft: Overdraft::Refuse,
    }
}

/// Counts the rows of every ledger table: "no row is written" is checked against this.
pub async fn row_counts(db: &TestDb) -> Vec<i64> {
    let client = db.raw_client().await;
    let row = client
        .query_one(
            "select (select count(*) from journal_entries), (select count(*) from journal_postings),
                    (select count(*) from journal_entry_refs), (select count(*) from holds),
                    (select count(*) from hold_events), (select count(*) from idempotency_keys),
                    (select count(*) from ledger_accounts),
                    (select coalesce(sum(posted_minor), 0)::bigint from account_balances),
                    (select coalesce(sum(held_minor), 0)::bigint from account_balances)",
            &[],
        )
        .await
        .unwrap();
    (0..9).map(|i| row.get(i)).collect()
}

/// Gives a person a placement at a prison of their own under the closed-prison template, with
/// the card in `released` mode (a normal card within its balance): for tests about the processor
/// boundary rather than the spending controls, which have their own tests.
pub async fn place_released(tx: &deadpool_postgres::Transaction<'_>, person_id: Uuid) {
    use ledger::controls::{CardMode, Policy};
    let prison_id = Uuid::now_v7();
    let since = OffsetDateTime::now_utc() - time::Duration::days(1);
    let policy = ledger::policy_store::publish_policy(
        tx,
        &Policy::closed_prison(
            &format!("test-{}", prison_id.simple()),
            1,
            "FI",
            &["m_canteen"],
        ),
        Some(prison_id),
        since,
        "test",
    )
    .await
    .unwrap();
    ledger::policy_store::assign_policy(
        tx,
        prison_id,
        policy.regime,
        &policy.id,
        "Europe/Helsinki",
        since,
        "test",
    )
    .await
    .unwrap();
    ledger::lifecycle::admit(
        tx,
        &ledger::lifecycle::Admission {
            idempotency_key: format!("admit-{person_id}"),
            person_id,
            prison_id,
            regime: policy.regime,
            currency: Currency::EUR,
            admitted_by: "test".into(),
        },
    )
    .await
    .unwrap();
    ledger::policy_store::set_card_mode(
        tx,
        person_id,
        &CardMode::Released {
            until: OffsetDateTime::now_utc() + time::Duration::days(3650),
        },
        None,
        "test",
    )
    .await
    .unwrap();
}
