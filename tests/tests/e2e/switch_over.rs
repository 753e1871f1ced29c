//! Processor switch-over end to end (issue 16, item 2; docs/switch-over.md): 1,000 cards at
//! processor `p1` moved in waves to `p2`, each processor a simulator of its own with its own
//! webhook secret and route, authorizations flowing through both while the waves run. Nothing
//! is lost: every card moved once, every balance is what its deposits and clearings say, every
//! clearing is an entry, the ledger verifies, and the old processor's final settlement file
//! reconciles beside the new one's file of the same day.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use card_adapter::outbox::OutboxWorker;
use card_adapter::processors::{DEFAULT_PROCESSOR, ProcessorStatus};
use card_adapter::pseudonym::PseudonymKeys;
use card_adapter::switch_over::{self, WaveReport, WaveRequest};
use card_adapter::webhook::ProcessorSecrets;
use ledger::controls::{CardMode, Lang, Policy};
use processor_protocol::signature::WebhookSecret;
use processor_protocol::{CardState, Decision};
use processor_sim::{AuthorizeInput, SimConfig, Simulator, merchant_canteen};
use saldo::identity::access_log::{Accessor, ActorKind, Purpose};
use saldo::identity::{self, NewPrison, NewPrisoner};
use saldo::processor::ProcessorConfig;
use saldo_tests::TestDb;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::fixtures::*;

const CARDS: usize = 1_000;
const NEW_PROCESSOR: &str = "p2";
const DEPOSIT_MINOR: i64 = 10_000;
/// People of the first wave the background load leaves alone, for the overlap's exact amounts.
const RESERVED: usize = 5;
const OVERLAP_SPEND_MINOR: i64 = 6_000;
const BACKGROUND_SPEND_MINOR: i64 = 100;

struct Person {
    person_id: Uuid,
    spendable: Uuid,
}

struct TwoProcessors {
    db: TestDb,
    old_sim: Simulator,
    new_sim: Simulator,
    old_worker: OutboxWorker,
    new_worker: OutboxWorker,
    people: Vec<Person>,
    prisons: Vec<Uuid>,
}

fn keys(current: u32) -> PseudonymKeys {
    let other = 3 - current;
    PseudonymKeys::new(current, vec![u8::try_from(current).unwrap(); 32])
        .unwrap()
        .with_key(other, vec![u8::try_from(other).unwrap(); 32])
        .unwrap()
}

fn config(processor_id: &str, sim: &Simulator, api_key: &str, version: u32) -> ProcessorConfig {
    ProcessorConfig {
        processor_id: processor_id.into(),
        base_url: sim.base_url(),
        api_key: api_key.into(),
        program: "prison-fi".into(),
        program_card_name: "PRISON SERVICE CARD".into(),
        pseudonyms: keys(version),
    }
}

impl TwoProcessors {
    async fn start() -> TwoProcessors {
        let db = TestDb::with_pool_size(24).await;
        card_adapter::processors::register(&db.pool.get().await.unwrap(), NEW_PROCESSOR)
            .await
            .unwrap();
        let (old_secret, new_secret) = (WebhookSecret::generate(), WebhookSecret::generate());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = saldo::state::AppState::new(db.pool.clone())
            .with_webhook_secrets(vec![old_secret.clone()])
            .with_processor_webhook_secrets(vec![ProcessorSecrets {
                processor_id: NEW_PROCESSOR.into(),
                secrets: vec![new_secret.clone()],
            }]);
        tokio::spawn(saldo::app::serve(state, listener));

        let mut old_config = SimConfig::for_tests("sk_old", old_secret);
        old_config.webhook_url = Some(format!("http://{address}/webhooks/processor"));
        let old_sim = Simulator::start(old_config).await.unwrap();
        let mut new_config = SimConfig::for_tests("sk_new", new_secret);
        new_config.webhook_url = Some(format!("http://{address}/webhooks/processor/p2"));
        let new_sim = Simulator::start(new_config).await.unwrap();

        let old_worker = saldo::processor::outbox_worker(
            db.pool.clone(),
            &config(DEFAULT_PROCESSOR, &old_sim, "sk_old", 1),
        )
        .unwrap();
        let new_worker = saldo::processor::outbox_worker(
            db.pool.clone(),
            &config(NEW_PROCESSOR, &new_sim, "sk_new", 2),
        )
        .unwrap();
        let mut harness = TwoProcessors {
            db,
            old_sim,
            new_sim,
            old_worker,
            new_worker,
            people: Vec::new(),
            prisons: Vec::new(),
        };
        harness.admit_everyone().await;
        harness
    }

    /// Two prisons, 1,000 identifiable people admitted and funded, each with a card requested
    /// at the old processor: in batches of 100 per transaction.
    async fn admit_everyone(&mut self) {
        let mut client = self.db.pool.get().await.unwrap();
        for (code, name) in [("SWA", "Switch Prison A"), ("SWB", "Switch Prison B")] {
            let prison = identity::store::create_prison(
                &client,
                &NewPrison {
                    code: code.into(),
                    name: name.into(),
                    time_zone: "Europe/Helsinki".into(),
                    country: "FI".into(),
                },
            )
            .await
            .unwrap();
            let tx = client.transaction().await.unwrap();
            let since = OffsetDateTime::now_utc() - time::Duration::days(1);
            let policy = ledger::policy_store::publish_policy(
                &tx,
                &Policy::closed_prison(&format!("switch-{code}"), 1, "FI", &["m_canteen"]),
                Some(prison.id),
                since,
                "test",
            )
            .await
            .unwrap();
            ledger::policy_store::assign_policy(
                &tx,
                prison.id,
                policy.regime,
                &policy.id,
                "Europe/Helsinki",
                since,
                "test",
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            self.prisons.push(prison.id);
        }
        let bank = open_institution(
            &self.db.ledger(),
            ledger::institution_purpose::BANK_TRUST,
            ledger::AccountType::Asset,
        )
        .await;
        let who = Accessor {
            actor_kind: ActorKind::System,
            actor_id: None,
            purpose: Purpose::Admission,
            case_ref: None,
            request_id: None,
        };
        for batch in 0..CARDS / 100 {
            let tx = client.transaction().await.unwrap();
            let mut postings = Vec::new();
            for n in batch * 100..(batch + 1) * 100 {
                let prison_id = self.prisons[n % 2];
                let person_id = identity::store::admit_prisoner(
                    &tx,
                    &who,
                    prison_id,
                    &NewPrisoner {
                        prisoner_number: format!("SWX-2026-{n:04}"),
                        full_name: format!("Henrikki Vaihtaja-{n:04}"),
                        national_id: None,
                        date_of_birth: None,
                        preferred_language: Lang::Fi,
                        unit: Some("Osasto V".into()),
                        payout_iban: None,
                    },
                )
                .await
                .unwrap();
                let admitted = ledger::lifecycle::admit(
                    &tx,
                    &ledger::lifecycle::Admission {
                        idempotency_key: format!("admit-{person_id}"),
                        person_id,
                        prison_id,
                        regime: ledger::controls::Regime::ClosedPrison,
                        currency: ledger::Currency::EUR,
                        admitted_by: "test".into(),
                    },
                )
                .await
                .unwrap();
                ledger::policy_store::set_card_mode(
                    &tx,
                    person_id,
                    &CardMode::Released {
                        until: OffsetDateTime::now_utc() + time::Duration::days(3650),
                    },
                    None,
                    "test",
                )
                .await
                .unwrap();
                let spendable = admitted.accounts.spendable;
                postings.push(ledger::PostingDraft::credit(spendable, eur(DEPOSIT_MINOR)).unwrap());
                self.people.push(Person {
                    person_id,
                    spendable,
                });
            }
            // An entry has at most 64 postings: the batch's deposits in entries of 50.
            for (part, credits) in postings.chunks(50).enumerate() {
                let mut entry_postings = credits.to_vec();
                let total = DEPOSIT_MINOR * i64::try_from(credits.len()).unwrap();
                entry_postings.push(ledger::PostingDraft::debit(bank, eur(total)));
                ledger::store::post_entry(
                    &tx,
                    &ledger::EntryDraft {
                        idempotency_key: format!("switch-deposits-{batch}-{part}"),
                        effective_date: today(),
                        description: "family deposits".into(),
                        metadata: serde_json::json!({}),
                        external_refs: vec![],
                        postings: entry_postings,
                        overdraft: ledger::Overdraft::Refuse,
                    },
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        }
    }

    /// The program as it runs at the old processor before the switch-over: everyone's
    /// cardholder, card and activation, sent by Saldo's client of the old processor (egress
    /// guard and register as always) 16 people at a time, each card registered before its
    /// activation (whose `card.state_changed` webhook Saldo mirrors). The outbox path of a new
    /// card is what the waves exercise.
    async fn issue_cards_at_old_processor(&self) {
        use processor_protocol::{CardForm, CreateCardRequest, CreateCardholderRequest};
        let client = self.old_worker.client.clone();
        let pseudonyms = keys(1);
        let mut issuing = tokio::task::JoinSet::new();
        for person in &self.people {
            if issuing.len() == 16 {
                issuing.join_next().await.unwrap().unwrap();
            }
            let (client, pool) = (client.clone(), self.db.pool.clone());
            let (person_id, spendable) = (person.person_id, person.spendable);
            let external_ref = pseudonyms.pseudonym_for(person_id);
            issuing.spawn(async move {
                let key = |prefix: &str| format!("{prefix}_{}", person_id.simple());
                let cardholder = client
                    .create_cardholder(
                        &key("ch"),
                        &CreateCardholderRequest::pseudonymous(external_ref, "prison-fi"),
                        &[],
                    )
                    .await
                    .unwrap();
                let fence = card_adapter::fence_controls::current_spend_controls(
                    &pool.get().await.unwrap(),
                    person_id,
                )
                .await
                .unwrap();
                let card = client
                    .create_card(
                        &key("cd"),
                        &CreateCardRequest {
                            cardholder_id: cardholder.id.clone(),
                            form: CardForm::Physical,
                            embossed_name: Some("PRISON SERVICE CARD".into()),
                            spend_controls: Some(fence),
                            memo: None,
                        },
                        &[],
                    )
                    .await
                    .unwrap();
                let mut db = pool.get().await.unwrap();
                let tx = db.transaction().await.unwrap();
                card_adapter::booking::register_card(
                    &tx,
                    &card.id,
                    &cardholder.id,
                    person_id,
                    spendable,
                    card.state.as_str(),
                    Some(&card.last4),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                client
                    .set_card_state(
                        &key("st"),
                        &card.id,
                        &processor_protocol::SetCardStateRequest {
                            state: CardState::Active,
                            reason: Some("issued".into()),
                        },
                    )
                    .await
                    .unwrap();
            });
        }
        while let Some(done) = issuing.join_next().await {
            done.unwrap();
        }
        assert!(self.old_sim.wait_for_deliveries(60_000).await);
    }

    /// Delivers `worker`'s processor's calls until none is pending (each answer may queue the
    /// next call of its chain): four deliveries at once, as four workers would (each claims
    /// with SKIP LOCKED under a lease, so none sends another's call).
    async fn deliver_all(&self, worker: &OutboxWorker) {
        let started = Instant::now();
        let pending =
            "select count(*) from card.outbox where processor_id = $1 and state = 'pending'";
        loop {
            let mut rounds = tokio::task::JoinSet::new();
            for _ in 0..4 {
                let worker = worker.clone();
                rounds.spawn(async move { worker.deliver_due(64).await.unwrap() });
            }
            let mut claimed = 0;
            while let Some(report) = rounds.join_next().await {
                let report = report.unwrap();
                claimed += report.delivered + report.retried + report.dead;
            }
            if claimed > 0 {
                continue;
            }
            let left: i64 = self
                .db
                .raw_client()
                .await
                .query_one(pending, &[&worker.processor_id])
                .await
                .unwrap()
                .get(0);
            if left == 0 {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{left} calls to {} still pending",
                worker.processor_id
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wave(&self, wave_size: i32, dry_run: bool) -> WaveReport {
        let mut client = self.db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let report = switch_over::run_wave(
            &tx,
            &WaveRequest {
                from_processor: DEFAULT_PROCESSOR.into(),
                to_processor: NEW_PROCESSOR.into(),
                prison_id: None,
                wave_size,
                dry_run,
                requested_by: "test".into(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        report
    }

    /// The person's cards: (card id, processor, state), oldest first.
    async fn cards_of(&self, person_id: Uuid) -> Vec<(String, String, String)> {
        self.db
            .raw_client()
            .await
            .query(
                "select card_id, processor_id, state from card.cards where person_id = $1
                 order by created_at, card_id",
                &[&person_id],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect()
    }

    async fn card_at(&self, person_id: Uuid, processor_id: &str) -> String {
        self.cards_of(person_id)
            .await
            .into_iter()
            .find(|(_, processor, _)| processor == processor_id)
            .map(|(card, _, _)| card)
            .unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        self.db
            .raw_client()
            .await
            .query_one(sql, &[])
            .await
            .unwrap()
            .get(0)
    }
}

/// One authorization the load sent, and what came of it.
#[derive(Debug, Clone)]
struct Sent {
    person: usize,
    at_new_processor: bool,
    authorization_id: String,
    approved_minor: i64,
}

/// Authorizations through both simulators until told to stop: each person in turn (by index),
/// on the card Saldo has active for them (the new one once it is active, else the old one).
async fn background_load(
    db_pool: deadpool_postgres::Pool,
    old_sim: Simulator,
    new_sim: Simulator,
    people: Vec<(usize, Uuid)>,
    stop: Arc<AtomicBool>,
) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut turn = 0;
    while !stop.load(Ordering::Relaxed) {
        let (person, person_id) = people[turn];
        let client = db_pool.get().await.unwrap();
        let row = client
            .query_one(
                "select card_id, processor_id from card.cards
                 where person_id = $1 and state = 'ACTIVE'
                 order by processor_id desc limit 1",
                &[&person_id],
            )
            .await;
        drop(client);
        if let Ok(row) = row {
            let card_id: String = row.get(0);
            let processor: String = row.get(1);
            let at_new_processor = processor == NEW_PROCESSOR;
            let sim = if at_new_processor { &new_sim } else { &old_sim };
            let outcome = sim
                .authorize(AuthorizeInput::new(
                    card_id,
                    BACKGROUND_SPEND_MINOR,
                    merchant_canteen(),
                ))
                .await
                .unwrap();
            sent.push(Sent {
                person,
                at_new_processor,
                authorization_id: outcome.authorization_id,
                approved_minor: if outcome.decision == Decision::Approve {
                    outcome.approved_amount_minor
                } else {
                    0
                },
            });
        }
        turn = (turn + 1) % people.len();
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_cards_switch_processors_in_waves_and_no_money_or_entry_is_lost() {
    let started = Instant::now();
    let h = TwoProcessors::start().await;
    let admitted_in = started.elapsed();
    h.issue_cards_at_old_processor().await;
    assert_eq!(
        h.count("select count(*) from card.cards where processor_id = 'p1' and state = 'ACTIVE'")
            .await,
        i64::try_from(CARDS).unwrap()
    );
    let issued_in = started.elapsed();

    // One card frozen at the old processor: the plan shows it as blocked.
    let frozen_person = h.people[CARDS - 1].person_id;
    let frozen_card = h.card_at(frozen_person, DEFAULT_PROCESSOR).await;
    h.old_sim
        .processor_set_card_state(&frozen_card, CardState::Paused, "suspected_fraud")
        .unwrap();
    assert!(h.old_sim.wait_for_deliveries(10_000).await);
    assert_eq!(h.cards_of(frozen_person).await[0].2, "PAUSED");

    // The dry run: the report, and nothing written.
    let outbox_before = h.count("select count(*) from card.outbox").await;
    let plan = h.wave(400, true).await;
    assert!(plan.dry_run && plan.wave_id.is_none());
    assert_eq!(plan.open_before, 1_000);
    assert_eq!(plan.moving, 400);
    assert_eq!(plan.moving_per_prison.len(), 2, "{plan:?}");
    assert_eq!(plan.moving_per_prison.values().sum::<i64>(), 400);
    assert_eq!(
        plan.blocked_per_reason,
        BTreeMap::from([("card_frozen".to_owned(), 1)])
    );
    assert_eq!(plan.blocked[0].card_id, frozen_card);
    assert_eq!(
        h.count("select count(*) from card.outbox").await,
        outbox_before
    );
    assert_eq!(
        h.count("select count(*) from card.switch_over_moves").await,
        0
    );
    let balances_before = balances(&h).await;
    let planned_in = started.elapsed();

    // Wave 1, with the overlap held open: new cards active, old ones not closed yet.
    let first = h.wave(400, false).await;
    assert_eq!(first.moving, 400);
    let overlap_ids: Vec<Uuid> =
        h.db.raw_client()
            .await
            .query(
                "select person_id from card.switch_over_moves where wave_id = $1
             order by old_card_id limit $2",
                &[&first.wave_id.unwrap(), &i64::try_from(RESERVED).unwrap()],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
    let overlap: Vec<usize> = overlap_ids
        .iter()
        .map(|id| h.people.iter().position(|p| p.person_id == *id).unwrap())
        .collect();

    // Authorizations through both processors for as long as the waves run.
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(background_load(
        h.db.pool.clone(),
        h.old_sim.clone(),
        h.new_sim.clone(),
        h.people
            .iter()
            .enumerate()
            .filter(|(n, _)| !overlap.contains(n))
            .map(|(n, p)| (n, p.person_id))
            .collect(),
        stop.clone(),
    ));
    h.deliver_all(&h.new_worker).await;
    let overlap: Vec<&Person> = overlap.iter().map(|n| &h.people[*n]).collect();
    let mut overlap_auths = Vec::new();
    for person in &overlap {
        let cards = h.cards_of(person.person_id).await;
        assert_eq!(cards.len(), 2, "{cards:?}");
        assert!(
            cards.iter().all(|(_, _, state)| state == "ACTIVE"),
            "{cards:?}"
        );
        let old_card = h.card_at(person.person_id, DEFAULT_PROCESSOR).await;
        let new_card = h.card_at(person.person_id, NEW_PROCESSOR).await;
        let at_old = h
            .old_sim
            .authorize(AuthorizeInput::new(
                &old_card,
                OVERLAP_SPEND_MINOR,
                merchant_canteen(),
            ))
            .await
            .unwrap();
        assert_eq!(at_old.decision, Decision::Approve, "{at_old:?}");
        // The same balance: what the old card holds is not there for the new one.
        let at_new = h
            .new_sim
            .authorize(AuthorizeInput::new(
                &new_card,
                OVERLAP_SPEND_MINOR,
                merchant_canteen(),
            ))
            .await
            .unwrap();
        assert_eq!(at_new.decision, Decision::Decline, "{at_new:?}");
        let within = h
            .new_sim
            .authorize(AuthorizeInput::new(&new_card, 1_000, merchant_canteen()))
            .await
            .unwrap();
        assert_eq!(within.decision, Decision::Approve, "{within:?}");
        overlap_auths.push((at_old.authorization_id, within.authorization_id));
    }
    // A processor speaks for its own cards only: the new one asking about an old card is
    // declined and holds nothing.
    let crossed = h
        .new_sim
        .authorize(AuthorizeInput::new(
            h.card_at(overlap[0].person_id, DEFAULT_PROCESSOR).await,
            100,
            merchant_canteen(),
        ))
        .await;
    assert!(
        crossed.is_err() || crossed.unwrap().decision == Decision::Decline,
        "an old card's authorization through the new processor must not be approved"
    );
    h.deliver_all(&h.old_worker).await;
    for person in &overlap {
        let cards = h.cards_of(person.person_id).await;
        assert_eq!(
            cards
                .iter()
                .map(|(_, p, s)| (p.as_str(), s.as_str()))
                .collect::<Vec<_>>(),
            [("p1", "CLOSED"), ("p2", "ACTIVE")]
        );
    }
    // Clearings of the old card after it closed still book; the new card's too.
    for (old_auth, new_auth) in &overlap_auths {
        h.old_sim
            .clear(old_auth, OVERLAP_SPEND_MINOR, true)
            .unwrap();
        h.new_sim.clear(new_auth, 1_000, true).unwrap();
    }

    // The other waves, the frozen card waiting until it is unfrozen.
    loop {
        let wave = h.wave(400, false).await;
        if wave.moving == 0 {
            assert_eq!(wave.open_after, 1, "only the frozen card is left: {wave:?}");
            break;
        }
        h.deliver_all(&h.new_worker).await;
        h.deliver_all(&h.old_worker).await;
    }
    h.old_sim
        .processor_set_card_state(&frozen_card, CardState::Active, "cleared")
        .unwrap();
    assert!(h.old_sim.wait_for_deliveries(10_000).await);
    let last = h.wave(400, false).await;
    assert_eq!(last.moving, 1);
    h.deliver_all(&h.new_worker).await;
    h.deliver_all(&h.old_worker).await;
    // Running a wave again moves nothing twice.
    let again = h.wave(400, false).await;
    assert_eq!(
        (again.moving, again.open_before, again.wave_id),
        (0, 0, None)
    );
    let waves_in = started.elapsed();

    stop.store(true, Ordering::Relaxed);
    let sent = load.await.unwrap();
    let old_approved = sent
        .iter()
        .filter(|s| !s.at_new_processor && s.approved_minor > 0)
        .count();
    let new_approved = sent
        .iter()
        .filter(|s| s.at_new_processor && s.approved_minor > 0)
        .count();
    assert!(
        old_approved > 0 && new_approved > 0,
        "authorizations flowed through both processors: {old_approved} old, {new_approved} new"
    );
    // Every approval clears (a final clearing) at the processor that approved it, the old
    // card's after it closed.
    let mut cleared_minor: HashMap<usize, i64> = HashMap::new();
    for s in sent.iter().filter(|s| s.approved_minor > 0) {
        let sim = if s.at_new_processor {
            &h.new_sim
        } else {
            &h.old_sim
        };
        sim.clear(&s.authorization_id, s.approved_minor, true)
            .unwrap();
        *cleared_minor.entry(s.person).or_default() += s.approved_minor;
    }
    for person in &overlap {
        let n = h
            .people
            .iter()
            .position(|p| p.person_id == person.person_id)
            .unwrap();
        *cleared_minor.entry(n).or_default() += OVERLAP_SPEND_MINOR + 1_000;
    }
    h.old_sim.flush_webhooks();
    h.new_sim.flush_webhooks();
    assert!(h.old_sim.wait_for_deliveries(30_000).await);
    assert!(h.new_sim.wait_for_deliveries(30_000).await);

    // Every card moved once; every new card active at the new processor, every old one closed.
    let client = h.db.pool.get().await.unwrap();
    let status = switch_over::status(&client, DEFAULT_PROCESSOR, NEW_PROCESSOR)
        .await
        .unwrap();
    assert_eq!(
        (
            status.moved,
            status.new_card_active,
            status.old_card_closed,
            status.not_moved
        ),
        (1_000, 1_000, 1_000, 0),
        "{status:?}"
    );
    assert!(status.failed.is_empty() && status.complete, "{status:?}");
    assert!(
        switch_over::close_when_complete(&client, &status)
            .await
            .unwrap()
    );
    assert_eq!(
        card_adapter::processors::status(&client, DEFAULT_PROCESSOR)
            .await
            .unwrap(),
        Some(ProcessorStatus::Closed)
    );
    assert_eq!(
        h.count("select count(distinct old_card_id) from card.switch_over_moves")
            .await,
        1_000
    );
    assert_eq!(
        h.count(
            "select count(*) from (select person_id from card.cards where processor_id = 'p2'
             group by person_id having count(*) = 1) one_each"
        )
        .await,
        1_000
    );
    assert_eq!(h.new_sim.cards().len(), CARDS);
    assert!(
        h.new_sim
            .cards()
            .iter()
            .all(|card| card.state == CardState::Active)
    );
    assert!(
        h.old_sim
            .cards()
            .iter()
            .all(|card| card.state == CardState::Closed)
    );

    // Nothing links a person across the processors: each knows them by a pseudonym of its
    // own key version, and no request carried personal data.
    let old_refs: HashSet<String> = h
        .old_sim
        .cardholders()
        .into_iter()
        .map(|c| c.external_ref)
        .collect();
    let new_refs: HashSet<String> = h
        .new_sim
        .cardholders()
        .into_iter()
        .map(|c| c.external_ref)
        .collect();
    assert_eq!((old_refs.len(), new_refs.len()), (CARDS, CARDS));
    assert!(old_refs.iter().all(|r| r.starts_with("p1_")));
    assert!(new_refs.iter().all(|r| r.starts_with("p2_")));
    assert!(old_refs.is_disjoint(&new_refs));
    for sim in [&h.old_sim, &h.new_sim] {
        for request in sim.requests() {
            for word in [
                "SWX-2026",
                "Vaihtaja",
                "Henrikki",
                "Osasto V",
                "Switch Prison",
            ] {
                assert!(!request.body.contains(word), "{word} in {}", request.path);
            }
        }
    }
    // The egress register has every request each processor received, under its id.
    for (processor, sim) in [(DEFAULT_PROCESSOR, &h.old_sim), (NEW_PROCESSOR, &h.new_sim)] {
        let registered: i64 = client
            .query_one(
                "select count(*) from card.egress_register where processor_id = $1",
                &[&processor],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            registered,
            i64::try_from(sim.requests().len()).unwrap(),
            "{processor}"
        );
    }

    // No money lost: each balance is its deposit less what cleared, nothing is left held,
    // and the total moved only by the clearings.
    let after = balances(&h).await;
    for (n, person) in h.people.iter().enumerate() {
        let expected = DEPOSIT_MINOR - cleared_minor.get(&n).copied().unwrap_or(0);
        assert_eq!(after[&person.spendable], (expected, 0), "person {n}");
    }
    let total_before: i64 = balances_before.values().map(|(posted, _)| posted).sum();
    let total_after: i64 = after.values().map(|(posted, _)| posted).sum();
    assert_eq!(
        total_before - total_after,
        cleared_minor.values().sum::<i64>()
    );

    // No entry lost: every clearing either processor sent is one ledger entry.
    let mut clearings = Vec::new();
    for sim in [&h.old_sim, &h.new_sim] {
        for message in sim.emitted() {
            if message.event_type == "transaction.clearing" {
                let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
                clearings.push(body["data"]["transaction_id"].as_str().unwrap().to_owned());
            }
        }
    }
    let booked: i64 = client
        .query_one(
            "select count(*) from journal_entry_refs
             where ref_kind = 'processor_transaction' and ref_value = any($1)",
            &[&clearings],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(booked, i64::try_from(clearings.len()).unwrap());
    let report = h.db.ledger().verify().await.unwrap();
    assert!(report.is_ok(), "{report}");

    // The old processor's final settlement reconciles, beside the new one's file of the day.
    let day = OffsetDateTime::now_utc().date();
    h.old_sim.close_settlement_day(day).unwrap();
    h.new_sim.close_settlement_day(day).unwrap();
    use recon::scheduled::{Fetched, fetch_settlement_for};
    for (processor, worker) in [
        (DEFAULT_PROCESSOR, &h.old_worker),
        (NEW_PROCESSOR, &h.new_worker),
    ] {
        assert_eq!(
            fetch_settlement_for(&h.db.pool, &worker.client, processor, day)
                .await
                .unwrap(),
            Fetched::Imported,
            "{processor}"
        );
    }
    assert_eq!(
        h.count("select count(*) from recon.imports where kind = 'settlement'")
            .await,
        2
    );
    assert_eq!(h.count("select count(*) from recon.breaks").await, 0);
    assert_eq!(
        h.count(
            "select count(*) from recon.settlement_rows
             where row_type in ('CLEARING', 'REFUND') and outcome <> 'matched'"
        )
        .await,
        0
    );
    let report = h.db.ledger().verify().await.unwrap();
    assert!(report.is_ok(), "{report}");
    eprintln!(
        "switch-over of {CARDS} cards: admitted in {admitted_in:?}, issued at the old processor in {issued_in:?}, planned by \
         {planned_in:?}, waves done by {waves_in:?}, all in {:?}; \
         {} authorizations during the waves ({old_approved} approved at the old processor, \
         {new_approved} at the new)",
        started.elapsed(),
        sent.len()
    );
}

/// Every spendable account's (posted, held), by account.
async fn balances(h: &TwoProcessors) -> HashMap<Uuid, (i64, i64)> {
    let ledger = h.db.ledger();
    let mut balances = HashMap::new();
    for person in &h.people {
        let balance = ledger.balance(person.spendable).await.unwrap();
        balances.insert(
            person.spendable,
            (balance.posted.amount_minor, balance.held.amount_minor),
        );
    }
    balances
}

/// Signs `body` with `secret` and posts it to `path`.
async fn post_signed(
    base: &str,
    path: &str,
    secret: &WebhookSecret,
    webhook_id: &str,
    body: &str,
) -> reqwest::Response {
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let signature =
        processor_protocol::signature::sign(secret, webhook_id, timestamp, body.as_bytes());
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_processor_is_verified_with_its_own_secret_and_speaks_only_for_its_own_cards() {
    use crate::card_booking::CardBooks;
    use crate::card_webhook::{authorization_request, inbox_count};
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    {
        let mut client = db.pool.get().await.unwrap();
        card_adapter::processors::register(&client, NEW_PROCESSOR)
            .await
            .unwrap();
        let tx = client.transaction().await.unwrap();
        card_adapter::booking::register_card_at(
            &tx,
            NEW_PROCESSOR,
            "card_at_the_new_processor",
            "ch_new",
            card.books.person_id,
            card.books.spendable,
            "ACTIVE",
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let (old_secret, new_secret) = (WebhookSecret::generate(), WebhookSecret::generate());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = saldo::state::AppState::new(db.pool.clone())
        .with_webhook_secrets(vec![old_secret.clone()])
        .with_processor_webhook_secrets(vec![ProcessorSecrets {
            processor_id: NEW_PROCESSOR.into(),
            secrets: vec![new_secret.clone()],
        }]);
    tokio::spawn(saldo::app::serve(state, listener));
    let old_card_request = authorization_request(&card.card_id, "auth_x1", 100);

    // Each route takes its own processor's signature only; an unconfigured id is unknown.
    for (path, secret) in [
        ("/webhooks/processor", &new_secret),
        ("/webhooks/processor/p2", &old_secret),
        ("/webhooks/processor/p9", &old_secret),
        ("/webhooks/processor/p1", &old_secret),
    ] {
        let response = post_signed(&base, path, secret, "msg_x0", &old_card_request).await;
        assert_eq!(response.status(), 401, "{path}");
    }
    assert_eq!(inbox_count(&db).await, 0);

    // The new processor asking about the old processor's card: declined, nothing held or kept.
    let crossed = post_signed(
        &base,
        "/webhooks/processor/p2",
        &new_secret,
        "msg_x1",
        &old_card_request,
    )
    .await;
    assert_eq!(crossed.status(), 200);
    let answer: serde_json::Value = crossed.json().await.unwrap();
    assert_eq!(answer["decision"], "DECLINE", "{answer}");
    assert_eq!(answer["decline_reason"], "UNKNOWN_CARD", "{answer}");
    let clearing = serde_json::json!({
        "type": "transaction.clearing", "timestamp": "2026-11-26T10:15:02Z",
        "data": {"transaction_id": "txn_x1", "authorization_id": null, "card_id": card.card_id,
                 "amount": 350, "currency": "EUR",
                 "merchant": {"id": "m_canteen", "name": "CANTEEN", "mcc": "5411", "city": "HAMEENLINNA", "country": "FI"},
                 "cleared_at": "2026-11-26T12:00:00Z", "final": true}
    })
    .to_string();
    let refused = post_signed(
        &base,
        "/webhooks/processor/p2",
        &new_secret,
        "msg_x2",
        &clearing,
    )
    .await;
    assert_eq!(refused.status(), 422);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "card_of_another_processor");
    assert_eq!(inbox_count(&db).await, 0);
    assert_eq!(card.state().await, (1_000, 0, 0));

    // Webhook ids are per processor: the same id from each is two messages, each booked once.
    let new_card_request = authorization_request("card_at_the_new_processor", "auth_x3", 200);
    for _ in 0..2 {
        let old = post_signed(
            &base,
            "/webhooks/processor",
            &old_secret,
            "msg_same",
            &old_card_request,
        )
        .await;
        let new = post_signed(
            &base,
            "/webhooks/processor/p2",
            &new_secret,
            "msg_same",
            &new_card_request,
        )
        .await;
        assert_eq!((old.status().as_u16(), new.status().as_u16()), (200, 200));
    }
    let kept: Vec<String> = db
        .raw_client()
        .await
        .query(
            "select processor_id from card.inbox where webhook_id = 'msg_same' order by processor_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(kept, ["p1", "p2"]);
    // One balance behind both cards: both holds on it.
    assert_eq!(card.state().await, (1_000, 300, 0));

    // An authorization id the old processor used is not the new one's to answer for.
    let reused = authorization_request("card_at_the_new_processor", "auth_x1", 50);
    let answer: serde_json::Value = post_signed(
        &base,
        "/webhooks/processor/p2",
        &new_secret,
        "msg_reused",
        &reused,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(answer["decline_reason"], "UNKNOWN_CARD", "{answer}");
    assert_eq!(card.state().await, (1_000, 300, 0));
}

#[tokio::test]
async fn the_switch_over_command_plans_without_writing_and_runs_a_wave_once() {
    use crate::card_booking::CardBooks;
    let db = TestDb::new().await;
    let card = CardBooks::open(&db, 1_000).await;
    card_adapter::processors::register(&db.pool.get().await.unwrap(), NEW_PROCESSOR)
        .await
        .unwrap();
    let saldo = |args: &[&str]| {
        let mut argv = vec![
            "saldo".to_owned(),
            "--database-url".to_owned(),
            db.url(),
            "switch-over".to_owned(),
        ];
        argv.extend(args.iter().map(|arg| (*arg).to_owned()));
        let cli = <saldo::cli::Cli as clap::Parser>::parse_from(argv);
        async move { format!("{:?}", saldo::cli::run(cli).await.unwrap()) }
    };
    let success = format!("{:?}", std::process::ExitCode::SUCCESS);
    let refused = format!("{:?}", std::process::ExitCode::from(2));
    let counts = || async {
        let client = db.raw_client().await;
        let row = client
            .query_one(
                "select (select count(*) from card.switch_over_moves),
                        (select count(*) from card.outbox where processor_id = 'p2'),
                        (select status from card.processors where processor_id = 'p1')",
                &[],
            )
            .await
            .unwrap();
        (
            row.get::<_, i64>(0),
            row.get::<_, i64>(1),
            row.get::<_, String>(2),
        )
    };

    assert_eq!(saldo(&["plan", "--to", "p2"]).await, success);
    assert_eq!(counts().await, (0, 0, "active".to_owned()));
    assert_eq!(saldo(&["run", "--to", "p2", "--dry-run"]).await, success);
    assert_eq!(saldo(&["run", "--to", "p9"]).await, refused);
    assert_eq!(saldo(&["run", "--from", "p2", "--to", "p2"]).await, refused);
    assert_eq!(counts().await, (0, 0, "active".to_owned()));

    assert_eq!(
        saldo(&["run", "--to", "p2", "--wave-size", "10"]).await,
        success
    );
    assert_eq!(counts().await, (1, 1, "draining".to_owned()));
    let key: String = db
        .raw_client()
        .await
        .query_one(
            "select idempotency_key from card.outbox where processor_id = 'p2'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(key, format!("ch_p2_{}", card.books.person_id.simple()));
    // Again: the card was moved, nothing more is queued.
    assert_eq!(saldo(&["run", "--to", "p2"]).await, success);
    assert_eq!(saldo(&["status", "--to", "p2"]).await, success);
    assert_eq!(counts().await, (1, 1, "draining".to_owned()));

    // Once the program is moving away, a new admission's card is issued at the new processor.
    let newcomer = Uuid::now_v7();
    let mut client = db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    card_adapter::outbox::request_card(&tx, newcomer)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let processor: String = client
        .query_one(
            "select processor_id from card.outbox where person_id = $1",
            &[&newcomer],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(processor, NEW_PROCESSOR);
}
