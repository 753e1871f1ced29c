//! Authorization requests decided together in one transaction (`card_adapter::decisions`): each
//! request sees the holds and the spend of the ones before it, repeated and unusual requests
//! get the answers they get alone, and concurrent batches over the same cards neither deadlock
//! nor overspend.
// Cent amounts are grouped as euros_cents: `20_00` is 20.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use card_adapter::authorization::{AuthorizationInput, AuthorizationOutcome, CardStateOnly};
use card_adapter::controls::SpendingControls;
use card_adapter::decisions::authorize_batch;
use card_adapter::inbox::InboxMessage;
use saldo_tests::TestDb;
use tokio::time::{Duration, Instant};

use crate::card_booking::{CardBooks, assert_card_counters_match};
use crate::card_webhook::inbox_count;
use crate::controls_support::{Prison, Prisoner, declined, weekly_only};

/// One batch of requests, each under its own fresh webhook id, decided with `decide`.
async fn batch(
    pool: &deadpool_postgres::Pool,
    decide: &impl card_adapter::authorization::Decide,
    inputs: &[AuthorizationInput],
) -> Vec<AuthorizationOutcome> {
    let webhook_ids: Vec<String> = inputs
        .iter()
        .map(|_| format!("msg_{}", uuid::Uuid::new_v4().simple()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let requests: Vec<(InboxMessage<'_>, &AuthorizationInput, Instant)> = webhook_ids
        .iter()
        .zip(inputs)
        .map(|(webhook_id, input)| {
            let message = InboxMessage {
                processor_id: card_adapter::processors::DEFAULT_PROCESSOR,
                webhook_id,
                webhook_timestamp: 0,
                event_type: "authorization.request",
                body: b"{}",
            };
            (message, input, deadline)
        })
        .collect();
    authorize_batch(pool, decide, &requests).await
}

fn approved(outcome: &AuthorizationOutcome) -> i64 {
    assert!(outcome.approve, "expected an approval, got {outcome:?}");
    outcome.approved_minor
}

#[tokio::test]
async fn requests_in_one_batch_count_each_others_holds_against_the_balance() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let inputs = [
        card.input("auth_1", 400),
        card.input("auth_2", 400),
        card.input("auth_3", 400),
        card.input("auth_4", 200),
    ];
    let outcomes = batch(&card.pool, &CardStateOnly, &inputs).await;
    assert_eq!(approved(&outcomes[0]), 400);
    assert_eq!(approved(&outcomes[1]), 400);
    assert_eq!(
        outcomes[2].decline_reason.as_deref(),
        Some("INSUFFICIENT_FUNDS")
    );
    assert_eq!(approved(&outcomes[3]), 200);
    assert_eq!(card.state().await, (1_000, 1_000, 0));
    assert_eq!(inbox_count(&db).await, 4);
    assert_card_counters_match(&card.pool).await;

    // Asked again, in another batch, each is answered as before and held once.
    let again = batch(&card.pool, &CardStateOnly, &inputs).await;
    assert_eq!(again, outcomes);
    assert_eq!(card.state().await, (1_000, 1_000, 0));
}

#[tokio::test]
async fn a_weekly_limit_is_shared_by_the_requests_of_one_batch() {
    let db = TestDb::new().await;
    let prison = Prison::with_policy(&db, weekly_only("weekly-50", 50_00)).await;
    let prisoner = Prisoner::admit(&db, &prison, 500_00).await;
    let mut capped = prisoner.input("auth_3", 20_00);
    capped.partial_approval_capable = true;
    let inputs = [
        prisoner.input("auth_1", 20_00),
        prisoner.input("auth_2", 20_00),
        capped,
        prisoner.input("auth_4", 1),
    ];
    let outcomes = batch(&prisoner.pool, &SpendingControls, &inputs).await;
    assert_eq!(approved(&outcomes[0]), 20_00);
    assert_eq!(approved(&outcomes[1]), 20_00);
    assert_eq!(approved(&outcomes[2]), 10_00);
    assert_eq!(declined(&outcomes[3]).0, Some("LIMIT_EXCEEDED"));
    let (policy_version, limited_by, approved_minor) = prisoner.recorded("auth_3").await;
    assert!(policy_version.is_some());
    assert_eq!(limited_by.as_deref(), Some("weekly_limit_exceeded"));
    assert_eq!(approved_minor, 10_00);
    let balance = prisoner.balance(prisoner.accounts.spendable).await;
    assert_eq!(balance.held.amount_minor, 50_00);

    // The next request alone sees the batch's spend.
    assert_eq!(
        declined(&prisoner.authorize(&prisoner.input("auth_5", 1)).await).0,
        Some("LIMIT_EXCEEDED")
    );
}

#[tokio::test]
async fn a_batch_answers_repeats_and_unusual_requests_as_they_are_answered_alone() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let earlier = card.authorize(&card.input("auth_earlier", 300)).await;
    assert_eq!(approved(&earlier), 300);

    let mut unknown_card = card.input("auth_unknown", 10);
    unknown_card.card_id = "card_nobody".into();
    let mut increment = card.input("auth_increment", 100);
    increment.parent_authorization_id = Some("auth_earlier".into());
    let inputs = [
        card.input("auth_earlier", 300),
        card.input("auth_new", 100),
        card.input("auth_new", 100),
        unknown_card,
        increment,
        card.input("auth_last", 200),
    ];
    let outcomes = batch(&card.pool, &CardStateOnly, &inputs).await;
    assert_eq!(outcomes[0], earlier);
    assert_eq!(approved(&outcomes[1]), 100);
    assert_eq!(outcomes[2], outcomes[1]);
    assert_eq!(outcomes[3].decline_reason.as_deref(), Some("UNKNOWN_CARD"));
    assert_eq!(approved(&outcomes[4]), 100);
    assert_eq!(approved(&outcomes[5]), 200);
    // 300 earlier, 100 new, the earlier hold grown by 100, 200 last.
    assert_eq!(card.state().await, (1_000, 700, 0));
    assert_card_counters_match(&card.pool).await;
    // One inbox row per message (each had its own webhook id), plus the earlier request's.
    assert_eq!(inbox_count(&db).await, 7);
}

#[tokio::test]
async fn concurrent_batches_over_the_same_cards_neither_deadlock_nor_overspend() {
    let db = TestDb::new().await;
    let mut cards = Vec::new();
    for _ in 0..4 {
        cards.push(CardBooks::open(&db, 1_000).await);
    }
    // Four batches of eight at once, each over all four cards in its own order: 150 a request,
    // 1,200 asked per card against 1,000 on it.
    let batches: Vec<Vec<AuthorizationInput>> = (0..4)
        .map(|b| {
            (0..8)
                .map(|r| {
                    let card = &cards[(b + r) % 4];
                    card.input(&format!("auth_{b}_{r}"), 150)
                })
                .collect()
        })
        .collect();
    let pool = db.pool.clone();
    let outcomes = futures_util::future::join_all(
        batches
            .iter()
            .map(|inputs| batch(&pool, &CardStateOnly, inputs)),
    )
    .await;
    let outcomes: Vec<&AuthorizationOutcome> = outcomes.iter().flatten().collect();
    let approvals = outcomes.iter().filter(|o| o.approve).count();
    let short = outcomes
        .iter()
        .filter(|o| o.decline_reason.as_deref() == Some("INSUFFICIENT_FUNDS"))
        .count();
    assert_eq!((approvals, short), (24, 8), "{outcomes:?}");
    for card in &cards {
        assert_eq!(card.state().await, (1_000, 900, 0));
    }
    assert_card_counters_match(&db.pool).await;
}

/// Spending controls with a bug: they panic on one amount.
struct PanicsOnAmount(i64);

impl card_adapter::authorization::Decide for PanicsOnAmount {
    type Controls = ();
    type Loaded = ();

    async fn controls(
        &self,
        client: &impl deadpool_postgres::GenericClient,
        requests: &[&AuthorizationInput],
    ) -> card_adapter::booking::BookingResult<Vec<()>> {
        CardStateOnly.controls(client, requests).await
    }

    async fn load(
        &self,
        client: &impl deadpool_postgres::GenericClient,
        requests: &[(&card_adapter::booking::Card, &AuthorizationInput, &())],
    ) -> card_adapter::booking::BookingResult<Vec<()>> {
        CardStateOnly.load(client, requests).await
    }

    fn verdict(
        &self,
        controls: &(),
        loaded: &(),
        card: &card_adapter::booking::Card,
        input: &AuthorizationInput,
        earlier: &[card_adapter::authorization::EarlierApproval],
    ) -> card_adapter::booking::BookingResult<card_adapter::authorization::ControlVerdict> {
        assert_ne!(input.amount.amount_minor, self.0, "a bug in the controls");
        CardStateOnly.verdict(controls, loaded, card, input, earlier)
    }
}

#[tokio::test]
async fn a_batch_that_panics_is_declined_and_its_worker_decides_the_next_one() {
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    let queue = card_adapter::decisions::DecisionQueue::new(db.pool.clone(), PanicsOnAmount(666));
    let decide = |authorization_id: &'static str, amount_minor: i64| {
        let queue = &queue;
        let input = card.input(authorization_id, amount_minor);
        async move {
            let webhook_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
            let message = InboxMessage {
                processor_id: card_adapter::processors::DEFAULT_PROCESSOR,
                webhook_id: &webhook_id,
                webhook_timestamp: 0,
                event_type: "authorization.request",
                body: b"{}",
            };
            match queue
                .decide(&message, axum::body::Bytes::from_static(b"{}"), input)
                .await
            {
                card_adapter::decisions::Answer::Outcome(outcome) => outcome,
                card_adapter::decisions::Answer::Unrecorded => panic!("no decision recorded"),
            }
        }
    };
    let panicked = decide("auth_bug", 666).await;
    assert!(!panicked.approve, "{panicked:?}");
    // The same card goes to the same worker: it is still there.
    for (authorization_id, amount_minor) in [("auth_after_1", 100), ("auth_after_2", 200)] {
        assert_eq!(
            approved(&decide(authorization_id, amount_minor).await),
            amount_minor
        );
    }
    assert_card_counters_match(&db.pool).await;
}
