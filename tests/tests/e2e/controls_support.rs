//! Builders for the spending-control, lifecycle, payroll and deposit tests: a prison with a
//! policy, an admitted prisoner with a card, and authorizations through the real controls.
// Cent amounts are grouped as euros_cents: `100_00` is 100.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use card_adapter::authorization::{AuthorizationInput, AuthorizationOutcome, MerchantFacts};
use card_adapter::booking;
use card_adapter::controls::SpendingControls;
use card_adapter::inbox::{Applied, InboxMessage};
use card_adapter::process::{self, CardEvent};
use deadpool_postgres::Pool;
use ledger::accounts::PersonAccounts;
use ledger::controls::{Limits, Policy};
use ledger::lifecycle::{self, Admission};
use ledger::*;
use saldo_tests::TestDb;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::fixtures::*;

pub const CANTEEN: &str = "m_canteen";

/// Long before any test instant, so every published policy is in effect.
pub const POLICIES_FROM: OffsetDateTime = datetime!(2020-01-01 00:00 UTC);

/// A prison with one regime's policy assigned, in Helsinki time.
#[derive(Clone)]
pub struct Prison {
    pub prison_id: Uuid,
    pub regime: controls::Regime,
}

impl Prison {
    /// The closed-prison template: canteen only inside; 50 / 50 / 100 / 250 EUR limits.
    pub async fn closed(db: &TestDb) -> Prison {
        Prison::with_policy(db, Policy::closed_prison("closed-fi", 1, "FI", &[CANTEEN])).await
    }

    pub async fn with_policy(db: &TestDb, policy: Policy) -> Prison {
        let prison_id = Uuid::now_v7();
        let mut client = db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let stored = ledger::policy_store::publish_policy(
            &tx,
            &policy,
            Some(prison_id),
            POLICIES_FROM,
            "staff_a",
        )
        .await
        .unwrap();
        ledger::policy_store::assign_policy(
            &tx,
            prison_id,
            stored.regime,
            &stored.id,
            "Europe/Helsinki",
            POLICIES_FROM,
            "staff_a",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        Prison {
            prison_id,
            regime: stored.regime,
        }
    }
}

/// The closed template with only a weekly limit: tests about counting are then independent of
/// the day.
pub fn weekly_only(id: &str, weekly_minor: i64) -> Policy {
    let mut policy = Policy::closed_prison(id, 1, "FI", &[CANTEEN]);
    policy.limits = Limits {
        per_authorization: None,
        daily: None,
        weekly: Some(eur(weekly_minor)),
        monthly: None,
    };
    policy
}

/// An admitted prisoner with an active card on their spendable account.
pub struct Prisoner {
    pub pool: Pool,
    pub ledger: Ledger,
    pub person_id: Uuid,
    pub accounts: PersonAccounts,
    pub card_id: String,
    pub bank: Uuid,
}

impl Prisoner {
    pub async fn admit(db: &TestDb, prison: &Prison, deposit_minor: i64) -> Prisoner {
        let person_id = Uuid::now_v7();
        let mut client = db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let admitted = lifecycle::admit(
            &tx,
            &Admission {
                idempotency_key: format!("admit-{person_id}"),
                person_id,
                prison_id: prison.prison_id,
                regime: prison.regime,
                currency: Currency::EUR,
                admitted_by: "staff_a".into(),
            },
        )
        .await
        .unwrap();
        let card_id = format!("card_{}", Uuid::new_v4().simple());
        booking::register_card(
            &tx,
            &card_id,
            "ch_test",
            person_id,
            admitted.accounts.spendable,
            "ACTIVE",
            Some("4821"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let ledger = db.ledger();
        let bank =
            open_institution(&ledger, institution_purpose::BANK_TRUST, AccountType::Asset).await;
        let prisoner = Prisoner {
            pool: db.pool.clone(),
            ledger,
            person_id,
            accounts: admitted.accounts,
            card_id,
            bank,
        };
        if deposit_minor > 0 {
            prisoner.credit(deposit_minor).await;
        }
        prisoner
    }

    /// Money straight to spendable (as cash at intake would).
    pub async fn credit(&self, amount_minor: i64) {
        self.ledger
            .post_entry(&deposit_draft(
                self.bank,
                self.accounts.spendable,
                amount_minor,
            ))
            .await
            .unwrap();
    }

    /// A canteen purchase at `at`.
    pub fn input_at(
        &self,
        authorization_id: &str,
        amount_minor: i64,
        at: OffsetDateTime,
    ) -> AuthorizationInput {
        AuthorizationInput {
            authorization_id: authorization_id.to_owned(),
            card_id: self.card_id.clone(),
            amount: eur(amount_minor),
            merchant: MerchantFacts {
                id: CANTEEN.into(),
                name: "CANTEEN".into(),
                mcc: "5411".into(),
                city: "HAMEENLINNA".into(),
                country: "FI".into(),
            },
            channel: "POS".into(),
            partial_approval_capable: false,
            parent_authorization_id: None,
            at,
            requested_at: at,
        }
    }

    pub fn input(&self, authorization_id: &str, amount_minor: i64) -> AuthorizationInput {
        self.input_at(authorization_id, amount_minor, OffsetDateTime::now_utc())
    }

    /// The same purchase at a shop in town.
    pub fn in_town(mut input: AuthorizationInput) -> AuthorizationInput {
        input.merchant.id = "m_kiosk_town".into();
        input.merchant.name = "R-KIOSKI".into();
        input
    }

    pub async fn authorize(&self, input: &AuthorizationInput) -> AuthorizationOutcome {
        let webhook_id = format!("msg_{}", Uuid::new_v4().simple());
        let message = InboxMessage {
            processor_id: card_adapter::processors::DEFAULT_PROCESSOR,
            webhook_id: &webhook_id,
            webhook_timestamp: 0,
            event_type: "authorization.request",
            body: b"{}",
        };
        process::authorize(&self.pool, &SpendingControls, &message, input).await
    }

    pub async fn apply(&self, event: &CardEvent) -> Applied {
        let webhook_id = format!("msg_{}", Uuid::new_v4().simple());
        let message = InboxMessage {
            processor_id: card_adapter::processors::DEFAULT_PROCESSOR,
            webhook_id: &webhook_id,
            webhook_timestamp: 0,
            event_type: "test",
            body: b"{}",
        };
        process::apply(&self.pool, &message, event).await.unwrap()
    }

    pub fn clearing(
        &self,
        transaction_id: &str,
        authorization_id: Option<&str>,
        amount_minor: i64,
    ) -> CardEvent {
        CardEvent::Clearing {
            transaction_id: transaction_id.into(),
            authorization_id: authorization_id.map(str::to_owned),
            card_id: self.card_id.clone(),
            amount: eur(amount_minor),
            merchant: serde_json::json!({"mcc": "5411"}),
            cleared_at: OffsetDateTime::now_utc(),
            final_clearing: true,
        }
    }

    pub fn refund(&self, transaction_id: &str, original: &str, amount_minor: i64) -> CardEvent {
        CardEvent::Refund {
            transaction_id: transaction_id.into(),
            original_transaction_id: Some(original.into()),
            card_id: self.card_id.clone(),
            amount: eur(amount_minor),
            merchant: serde_json::json!({}),
            cleared_at: OffsetDateTime::now_utc(),
        }
    }

    pub async fn balance(&self, account: Uuid) -> Balance {
        self.ledger.balance(account).await.unwrap()
    }

    /// (policy_version, limited_by, approved_minor) as recorded on the authorization row.
    pub async fn recorded(&self, authorization_id: &str) -> (Option<String>, Option<String>, i64) {
        let client = self.pool.get().await.unwrap();
        let row = client
            .query_one(
                "select policy_version, limited_by, approved_minor from card.authorizations
                 where authorization_id = $1",
                &[&authorization_id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    }

    /// Runs `f` in a transaction and commits it only if it succeeded.
    pub async fn in_tx<T, F>(&self, f: F) -> LedgerResult<T>
    where
        F: for<'a> AsyncFnOnce(&'a deadpool_postgres::Transaction<'a>) -> LedgerResult<T>,
    {
        in_tx(&self.pool, f).await
    }
}

/// Runs `f` in a transaction and commits it only if it succeeded.
pub async fn in_tx<T, F>(pool: &Pool, f: F) -> LedgerResult<T>
where
    F: for<'a> AsyncFnOnce(&'a deadpool_postgres::Transaction<'a>) -> LedgerResult<T>,
{
    let mut client = pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let result = f(&tx).await;
    if result.is_ok() {
        tx.commit().await.unwrap();
    }
    result
}

/// The decline code and reason key of an outcome, for compact assertions.
pub fn declined(outcome: &AuthorizationOutcome) -> (Option<&str>, Option<&str>) {
    assert!(!outcome.approve, "expected a decline, got {outcome:?}");
    (
        outcome.decline_reason.as_deref(),
        outcome.reason_key.as_deref(),
    )
}
