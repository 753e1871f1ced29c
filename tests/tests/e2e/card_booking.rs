//! Processor events applied to the ledger (domain level; the HTTP path has its own tests).
use card_adapter::authorization::{AuthorizationInput, CardStateOnly, MerchantFacts};
use card_adapter::booking;
use card_adapter::inbox::{Applied, InboxMessage};
use card_adapter::process::{self, AdviceReason, CardEvent};
use saldo_tests::TestDb;

use crate::fixtures::*;

pub struct CardBooks {
    pub books: Books,
    pub card_id: String,
    pub pool: deadpool_postgres::Pool,
}

impl CardBooks {
    pub async fn open(db: &TestDb, deposit_minor: i64) -> CardBooks {
        let books = Books::open(db).await;
        if deposit_minor > 0 {
            books.deposit(deposit_minor).await;
        }
        let card_id = format!("card_{}", uuid::Uuid::new_v4().simple());
        let mut client = db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        booking::register_card(
            &tx,
            &card_id,
            "ch_test",
            books.person_id,
            books.spendable,
            "ACTIVE",
            Some("4821"),
        )
        .await
        .unwrap();
        place_released(&tx, books.person_id).await;
        tx.commit().await.unwrap();
        CardBooks {
            books,
            card_id,
            pool: db.pool.clone(),
        }
    }

    pub fn input(&self, authorization_id: &str, amount_minor: i64) -> AuthorizationInput {
        AuthorizationInput {
            authorization_id: authorization_id.to_owned(),
            card_id: self.card_id.clone(),
            amount: eur(amount_minor),
            merchant: MerchantFacts {
                id: "m_canteen".into(),
                name: "CANTEEN".into(),
                mcc: "5411".into(),
                city: "HAMEENLINNA".into(),
                country: "FI".into(),
            },
            channel: "POS".into(),
            partial_approval_capable: false,
            parent_authorization_id: None,
            at: time::OffsetDateTime::now_utc(),
            requested_at: time::OffsetDateTime::now_utc(),
        }
    }

    pub async fn authorize(
        &self,
        input: &AuthorizationInput,
    ) -> card_adapter::authorization::AuthorizationOutcome {
        let webhook_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        self.authorize_as(&webhook_id, input).await
    }

    pub async fn authorize_as(
        &self,
        webhook_id: &str,
        input: &AuthorizationInput,
    ) -> card_adapter::authorization::AuthorizationOutcome {
        let message = InboxMessage {
            processor_id: card_adapter::processors::DEFAULT_PROCESSOR,
            webhook_id,
            webhook_timestamp: 0,
            event_type: "authorization.request",
            body: b"{}",
        };
        process::authorize(&self.pool, &CardStateOnly, &message, input).await
    }

    pub async fn apply_as(&self, webhook_id: &str, event: &CardEvent) -> Applied {
        let message = InboxMessage {
            processor_id: card_adapter::processors::DEFAULT_PROCESSOR,
            webhook_id,
            webhook_timestamp: 0,
            event_type: "test",
            body: b"{}",
        };
        process::apply(&self.pool, &message, event).await.unwrap()
    }

    pub async fn apply(&self, event: &CardEvent) -> Applied {
        self.apply_as(&format!("msg_{}", uuid::Uuid::new_v4().simple()), event)
            .await
    }

    pub fn clearing(
        &self,
        transaction_id: &str,
        authorization_id: Option<&str>,
        amount_minor: i64,
        final_clearing: bool,
    ) -> CardEvent {
        CardEvent::Clearing {
            transaction_id: transaction_id.into(),
            authorization_id: authorization_id.map(str::to_owned),
            card_id: self.card_id.clone(),
            amount: eur(amount_minor),
            merchant: serde_json::json!({"mcc": "5411"}),
            cleared_at: time::OffsetDateTime::now_utc(),
            final_clearing,
        }
    }

    pub fn advice(
        &self,
        authorization_id: &str,
        amount_minor: i64,
        approved: bool,
        reason: AdviceReason,
    ) -> CardEvent {
        CardEvent::Advice {
            input: self.input(authorization_id, amount_minor),
            approved,
            approved_minor: if approved { amount_minor } else { 0 },
            reason,
        }
    }

    pub fn reversal(&self, authorization_id: &str, amount_minor: i64) -> CardEvent {
        CardEvent::Reversal {
            authorization_id: authorization_id.into(),
            card_id: self.card_id.clone(),
            amount: eur(amount_minor),
        }
    }

    pub fn expired(&self, authorization_id: &str) -> CardEvent {
        CardEvent::Expired {
            authorization_id: authorization_id.into(),
            card_id: self.card_id.clone(),
        }
    }

    /// (posted, held) of the prisoner's account, and the settlement payable's posted balance.
    pub async fn state(&self) -> (i64, i64, i64) {
        let balance = self
            .books
            .ledger
            .balance(self.books.spendable)
            .await
            .unwrap();
        let settlement = self
            .books
            .ledger
            .balance(settlement_id(&self.pool).await)
            .await
            .map(|b| b.posted.amount_minor)
            .unwrap_or(0);
        (
            balance.posted.amount_minor,
            balance.held.amount_minor,
            settlement,
        )
    }
}

async fn settlement_id(pool: &deadpool_postgres::Pool) -> uuid::Uuid {
    ledger::store::account_by_code(
        &pool.get().await.unwrap(),
        "institution:card_settlement_payable:EUR",
    )
    .await
    .unwrap()
    .map(|a| a.id)
    .unwrap_or_default()
}

/// The card tables' two kept counters agree with what they count: each authorization's
/// `held_minor` with its hold (V11, V12) and each card's spend per minute with its
/// authorizations (V13).
pub async fn assert_card_counters_match(pool: &deadpool_postgres::Pool) {
    assert_eq!(held_minor_mismatches(pool).await, vec![]);
    assert_eq!(spend_minute_mismatches(pool).await, vec![]);
}

/// Each (card, currency, minute) whose spend counter (V13, V16) differs from the sum over the
/// card's authorizations worked out here: (card, minute, counted, worked out).
async fn spend_minute_mismatches(
    pool: &deadpool_postgres::Pool,
) -> Vec<(String, String, i64, i64)> {
    pool.get()
        .await
        .unwrap()
        .query(
            // Each increment (V16) at its own time, as much of it as the total beyond the
            // original approval and the earlier increments covers; the rest at the
            // authorization's time.
            "with increments as (
                 select a.authorization_id, a.card_id, a.currency, a.increment_at[k] as at,
                        least(a.increment_minor[k], greatest(0,
                              a.held_minor + a.cleared_minor - a.approved_minor
                              - coalesce((select sum(a.increment_minor[j])
                                          from generate_series(1, k - 1) j), 0)))::bigint
                            as part_minor
                 from card.authorizations a, generate_subscripts(a.increment_minor, 1) k),
             parts as (
                 select a.card_id, a.currency, coalesce(a.authorized_at, a.created_at) as at,
                        a.held_minor + a.cleared_minor
                        - coalesce((select sum(i.part_minor) from increments i
                                    where i.authorization_id = a.authorization_id), 0)
                            as part_minor
                 from card.authorizations a
                 union all
                 select card_id, currency, at, part_minor from increments),
             worked_out as (
                 select card_id, currency,
                        date_bin('1 minute', at, timestamptz '1970-01-01 00:00:00+00') as minute,
                        sum(part_minor)::bigint as spent_minor
                 from parts group by 1, 2, 3)
             select coalesce(m.card_id, w.card_id), coalesce(m.minute, w.minute)::text,
                    coalesce(m.spent_minor, 0), coalesce(w.spent_minor, 0)
             from card.authorization_spend_minutes m
             full join worked_out w using (card_id, currency, minute)
             where coalesce(m.spent_minor, 0) <> coalesce(w.spent_minor, 0)",
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
}

/// Each authorization's `held_minor` (kept by V11's triggers, checked by V12's) against its hold's remaining
/// amount worked out here from `holds` and `hold_events`: (authorization, kept, worked out).
async fn held_minor_mismatches(pool: &deadpool_postgres::Pool) -> Vec<(String, i64, i64)> {
    pool.get()
        .await
        .unwrap()
        .query(
            "select a.authorization_id, a.held_minor,
                    coalesce(h.amount_minor + coalesce((
                        select sum(case when e.kind = 'increase' then e.held_delta_minor
                                        else -e.held_delta_minor end)
                        from hold_events e where e.hold_id = h.id), 0), 0)::bigint
             from card.authorizations a left join holds h on h.id = a.hold_id",
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .filter(|(_, kept, worked_out): &(String, i64, i64)| kept != worked_out)
        .collect()
}

#[tokio::test]
async fn an_authorization_within_the_balance_is_approved_and_held_once_however_often_it_is_asked() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let input = card.input("auth_1", 400);
    let first = card.authorize(&input).await;
    assert!(first.approve);
    assert_eq!(first.approved_minor, 400);
    let again = card.authorize(&input).await;
    let same_webhook = card.authorize_as("msg_same", &input).await;
    let same_webhook_again = card.authorize_as("msg_same", &input).await;
    assert_eq!(again, first);
    assert_eq!(same_webhook, first);
    assert_eq!(same_webhook_again, first);
    assert_eq!(card.state().await, (1_000, 400, 0));
}

#[tokio::test]
async fn authorizations_beyond_the_balance_or_on_a_bad_card_are_declined_with_the_protocols_code() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 300).await;
    let declined = card.authorize(&card.input("auth_big", 301)).await;
    assert!(!declined.approve);
    assert_eq!(
        declined.decline_reason.as_deref(),
        Some("INSUFFICIENT_FUNDS")
    );

    let mut unknown = card.input("auth_unknown", 10);
    unknown.card_id = "card_nobody".into();
    assert_eq!(
        card.authorize(&unknown).await.decline_reason.as_deref(),
        Some("UNKNOWN_CARD")
    );

    card.apply(&CardEvent::CardStateChanged {
        card_id: card.card_id.clone(),
        state: "PAUSED".into(),
        previous_state: Some("ACTIVE".into()),
        reason: Some("fraud review".into()),
        changed_by: "PROCESSOR".into(),
    })
    .await;
    let paused = card.authorize(&card.input("auth_paused", 10)).await;
    assert_eq!(paused.decline_reason.as_deref(), Some("CARD_INACTIVE"));
    assert_eq!(card.state().await, (300, 0, 0));
}

#[tokio::test]
async fn a_partial_approval_holds_what_is_available_when_the_terminal_allows_it() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 250).await;
    let mut input = card.input("auth_partial", 400);
    input.partial_approval_capable = true;
    let outcome = card.authorize(&input).await;
    assert!(outcome.approve);
    assert_eq!(outcome.approved_minor, 250);
    assert_eq!(card.state().await, (250, 250, 0));
}

#[tokio::test]
async fn an_incremental_authorization_grows_the_parents_hold() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    assert!(
        card.authorize(&card.input("auth_parent", 300))
            .await
            .approve
    );
    let mut increment = card.input("auth_child", 200);
    increment.parent_authorization_id = Some("auth_parent".into());
    let outcome = card.authorize(&increment).await;
    assert!(outcome.approve);
    assert_eq!(card.state().await, (1_000, 500, 0));
    assert_card_counters_match(&card.pool).await;
    card.apply(&card.clearing("txn_inc", Some("auth_parent"), 500, true))
        .await;
    assert_eq!(card.state().await, (500, 0, 500));
    assert_card_counters_match(&card.pool).await;
}

#[tokio::test]
async fn what_an_authorization_still_holds_follows_its_hold_even_when_the_ledger_expires_it() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    assert!(card.authorize(&card.input("auth_kept", 300)).await.approve);
    card.apply(&card.reversal("auth_kept", 100)).await;
    let held: i64 = card
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "select held_minor from card.authorizations where authorization_id = 'auth_kept'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 200);
    // No expiry event from the processor: the ledger's own expiry frees the hold a day later.
    let later = time::OffsetDateTime::now_utc()
        + time::Duration::days(card_adapter::booking::HOLD_LIFETIME_DAYS + 1);
    assert_eq!(
        card.books.ledger.expire_due_holds(later, 10).await.unwrap(),
        1
    );
    assert_eq!(card.state().await, (1_000, 0, 0));
    assert_card_counters_match(&card.pool).await;
}

#[tokio::test]
async fn a_new_authorization_row_is_refused_unless_it_holds_what_its_hold_holds() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    assert!(card.authorize(&card.input("auth_held", 300)).await.approve);
    let mut client = card.pool.get().await.unwrap();
    let hold_id: uuid::Uuid = client
        .query_one(
            "select hold_id from card.authorizations where authorization_id = 'auth_held'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // V12 checks each INSERT statement's rows: the hold's 300, or 0 without a hold.
    let insert = |id: &'static str, hold: Option<uuid::Uuid>, held_minor: i64| {
        format!(
            "insert into card.authorizations
                 (authorization_id, card_id, currency, source, hold_id, held_minor)
             values ('{id}', '{}', 'EUR', 'request', {}, {held_minor})",
            card.card_id,
            hold.map_or("null".to_owned(), |hold| format!("'{hold}'"))
        )
    };
    for (id, hold, held_minor) in [
        ("auth_too_little", Some(hold_id), 299),
        ("auth_too_much", Some(hold_id), 301),
        ("auth_no_hold", None, 5),
    ] {
        let tx = client.transaction().await.unwrap();
        let error = tx
            .batch_execute(&insert(id, hold, held_minor))
            .await
            .expect_err(id);
        let error = error.as_db_error().expect("a database error");
        assert_eq!(
            (error.code(), error.constraint()),
            (
                &tokio_postgres::error::SqlState::CHECK_VIOLATION,
                Some("authorizations_held_minor_is_the_hold")
            ),
            "{id}"
        );
    }
    for (id, hold, held_minor) in [("auth_right", Some(hold_id), 300), ("auth_none", None, 0)] {
        let tx = client.transaction().await.unwrap();
        tx.batch_execute(&insert(id, hold, held_minor))
            .await
            .expect(id);
        // Rolled back: the hold is the first authorization's.
    }
    assert_card_counters_match(&card.pool).await;
}

#[tokio::test]
async fn clearings_capture_in_parts_and_the_final_one_releases_the_rest() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    card.authorize(&card.input("auth_c", 600)).await;
    assert_eq!(
        card.apply(&card.clearing("txn_a", Some("auth_c"), 200, false))
            .await,
        Applied::Applied
    );
    assert_eq!(card.state().await, (800, 400, 200));
    card.apply(&card.clearing("txn_b", Some("auth_c"), 300, true))
        .await;
    assert_eq!(card.state().await, (500, 0, 500));
    // The same transaction again, under a new webhook id, changes nothing.
    assert_eq!(
        card.apply(&card.clearing("txn_b", Some("auth_c"), 300, true))
            .await,
        Applied::Duplicate
    );
    assert_eq!(card.state().await, (500, 0, 500));
}

#[tokio::test]
async fn a_clearing_above_the_authorization_is_booked_in_full() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    card.authorize(&card.input("auth_tip", 400)).await;
    card.apply(&card.clearing("txn_tip", Some("auth_tip"), 460, true))
        .await;
    assert_eq!(card.state().await, (540, 0, 460));
}

#[tokio::test]
async fn a_force_post_is_booked_even_beyond_the_balance_and_flagged() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 100).await;
    card.apply(&card.clearing("txn_force", None, 180, true))
        .await;
    assert_eq!(card.state().await, (-80, 0, 180));
    let report = card.books.ledger.verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn reversals_release_part_of_the_hold_capped_at_what_remains() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    card.authorize(&card.input("auth_r", 500)).await;
    card.apply(&card.reversal("auth_r", 200)).await;
    assert_eq!(card.state().await, (1_000, 300, 0));
    card.apply(&card.reversal("auth_r", 900)).await;
    assert_eq!(card.state().await, (1_000, 0, 0));
}

#[tokio::test]
async fn an_expired_authorization_frees_the_money_and_a_late_clearing_is_still_booked() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    card.authorize(&card.input("auth_e", 300)).await;
    card.apply(&card.expired("auth_e")).await;
    assert_eq!(card.state().await, (1_000, 0, 0));
    card.apply(&card.clearing("txn_late", Some("auth_e"), 300, true))
        .await;
    assert_eq!(card.state().await, (700, 0, 300));
}

#[tokio::test]
async fn a_refund_gives_the_money_back_to_the_card() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    card.apply(&card.clearing("txn_buy", None, 400, true)).await;
    card.apply(&CardEvent::Refund {
        transaction_id: "txn_refund".into(),
        original_transaction_id: Some("txn_buy".into()),
        card_id: card.card_id.clone(),
        amount: eur(150),
        merchant: serde_json::json!({}),
        cleared_at: time::OffsetDateTime::now_utc(),
    })
    .await;
    assert_eq!(card.state().await, (750, 0, 250));
}

#[tokio::test]
async fn a_stand_in_approval_is_booked_even_if_it_overdraws_and_a_timeout_releases_our_hold() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 100).await;
    card.apply(&card.advice("auth_si", 250, true, AdviceReason::StandIn))
        .await;
    assert_eq!(card.state().await, (100, 250, 0));
    assert!(card.books.ledger.verify().await.unwrap().is_ok());

    let card2 = CardBooks::open(&db, 1_000).await;
    card2.authorize(&card2.input("auth_late", 300)).await;
    assert_eq!(card2.state().await.1, 300);
    card2
        .apply(&card2.advice("auth_late", 300, false, AdviceReason::Timeout))
        .await;
    assert_eq!(card2.state().await.1, 0);
}

#[tokio::test]
async fn events_for_an_unknown_card_are_kept_in_the_inbox_and_book_nothing() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 100).await;
    let mut clearing = card.clearing("txn_x", None, 50, true);
    if let CardEvent::Clearing { card_id, .. } = &mut clearing {
        *card_id = "card_nobody".into();
    }
    assert_eq!(
        card.apply_as("msg_unknown", &clearing).await,
        Applied::Rejected
    );
    let outcome: String = db
        .raw_client()
        .await
        .query_one(
            "select outcome from card.inbox where webhook_id = 'msg_unknown'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(outcome, "rejected");
    assert_eq!(card.state().await, (100, 0, 0));
}

/// Every ordering of a scenario's asynchronous events, each delivered twice, ends in the same
/// balances as the events delivered once in order.
#[tokio::test]
async fn scenarios_delivered_shuffled_and_twice_end_in_the_same_ledger_as_in_order() {
    type Scenario = fn(&CardBooks) -> Vec<CardEvent>;
    let scenarios: Vec<(&str, i64, Scenario)> = vec![
        ("stand-in, partial clearings, reversal", 1_000, |c| {
            vec![
                c.advice("auth_s", 600, true, AdviceReason::StandIn),
                c.clearing("txn_1", Some("auth_s"), 200, false),
                c.reversal("auth_s", 100),
                c.clearing("txn_2", Some("auth_s"), 150, true),
            ]
        }),
        ("stand-in, expiry, late clearing", 500, |c| {
            vec![
                c.advice("auth_x", 300, true, AdviceReason::StandIn),
                c.expired("auth_x"),
                c.clearing("txn_3", Some("auth_x"), 300, true),
            ]
        }),
        ("over-clearing and a refund", 800, |c| {
            vec![
                c.advice("auth_o", 400, true, AdviceReason::StandIn),
                c.clearing("txn_4", Some("auth_o"), 450, true),
                CardEvent::Refund {
                    transaction_id: "txn_5".into(),
                    original_transaction_id: Some("txn_4".into()),
                    card_id: c.card_id.clone(),
                    amount: eur(50),
                    merchant: serde_json::json!({}),
                    cleared_at: time::OffsetDateTime::now_utc(),
                },
            ]
        }),
    ];
    for (name, deposit, scenario) in scenarios {
        let db = TestDb::new().await;
        let in_order = CardBooks::open(&db, deposit).await;
        for (i, event) in scenario(&in_order).iter().enumerate() {
            in_order.apply_as(&format!("msg_{i}"), event).await;
        }
        let expected = in_order.state().await;

        let events_len = scenario(&in_order).len();
        for permutation in permutations(events_len) {
            let db = TestDb::new().await;
            let shuffled = CardBooks::open(&db, deposit).await;
            let events = scenario(&shuffled);
            for round in 0..2 {
                for &i in &permutation {
                    let applied = shuffled.apply_as(&format!("msg_{i}"), &events[i]).await;
                    if round == 1 {
                        assert_eq!(applied, Applied::Duplicate);
                    }
                }
            }
            assert_eq!(
                shuffled.state().await,
                expected,
                "{name}: order {permutation:?}"
            );
            let report = shuffled.books.ledger.verify().await.unwrap();
            assert!(report.is_ok(), "{name}: {report}");
            assert_eq!(
                held_minor_mismatches(&shuffled.pool).await,
                vec![],
                "{name}: order {permutation:?}"
            );
            assert_eq!(
                spend_minute_mismatches(&shuffled.pool).await,
                vec![],
                "{name}: order {permutation:?}"
            );
        }
    }
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut all = Vec::new();
    for rest in permutations(n - 1) {
        for position in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(position, n - 1);
            all.push(p);
        }
    }
    all
}
