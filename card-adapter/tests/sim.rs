//! The processor simulator over real HTTP: our ProcessorClient against its REST API, and a stub
//! Saldo webhook receiver (a small axum app on port 0) that verifies every signature with our
//! own `verify()`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use card_adapter::client::{ClientConfig, ClientError, ProcessorClient};
use card_adapter::egress::NoEgressRegister;
use card_adapter::pseudonym::PseudonymKeys;
use ledger::controls::DeclineCode;
use processor_protocol::settlement::{SettlementReader, SettlementType};
use processor_protocol::signature::{self, WebhookHeaders, WebhookSecret};
use processor_protocol::{
    AdviceReason, AuthorizationResponse, Card, CardForm, CardState, CreateCardRequest,
    CreateCardholderRequest, Decision, Mcc, ReissueReason, ReissueRequest, SetCardStateRequest,
    SpendControls, WebhookEnvelope, WebhookEvent,
};
use processor_sim::{
    AttemptKind, AuthorizeInput, DecidedBy, Fault, Scenario, SimConfig, Simulator, WebhookSettings,
    merchant_canteen, merchant_online_casino,
};
use serde_json::{Value, json};
use time::macros::date;
use uuid::Uuid;

const API_KEY: &str = "sk_test_saldo";
const CARD_NAME: &str = "PRISON SERVICE CARD";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Received {
    msg_id: String,
    event: WebhookEnvelope,
}

#[derive(Default)]
struct StubBehaviour {
    /// Asynchronous deliveries answered 500 before the stub starts accepting.
    fail_async: usize,
    /// Delay before answering an authorization request.
    auth_delay_ms: u64,
    /// Raw answer to authorization requests instead of the normal decision.
    auth_raw: Option<(u16, String)>,
}

struct Stub {
    secrets: Vec<WebhookSecret>,
    received: Mutex<Vec<Received>>,
    rejected: Mutex<Vec<&'static str>>,
    behaviour: Mutex<StubBehaviour>,
}

impl Stub {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
    fn of_type(&self, event_type: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.event.event.event_type() == event_type)
            .collect()
    }
}

async fn receive(State(stub): State<Arc<Stub>>, headers: HeaderMap, body: Bytes) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let received_headers = WebhookHeaders {
        id: text(signature::HEADER_ID),
        timestamp: text(signature::HEADER_TIMESTAMP),
        signature: text(signature::HEADER_SIGNATURE),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Err(e) = signature::verify(&stub.secrets, received_headers, &body, now) {
        stub.rejected.lock().unwrap().push(e.code());
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let envelope = WebhookEnvelope::from_slice(&body).expect("simulator sends valid envelopes");
    let msg_id = received_headers.id.unwrap().to_owned();
    if let WebhookEvent::AuthorizationRequest(request) = &envelope.event {
        stub.received.lock().unwrap().push(Received {
            msg_id,
            event: envelope.clone(),
        });
        let (delay_ms, raw) = {
            let b = stub.behaviour.lock().unwrap();
            (b.auth_delay_ms, b.auth_raw.clone())
        };
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if let Some((status, body)) = raw {
            return (StatusCode::from_u16(status).unwrap(), body).into_response();
        }
        let answer = if request.merchant.mcc.as_str() == "7995" {
            AuthorizationResponse::decline(DeclineCode::MerchantBlocked)
        } else {
            AuthorizationResponse::approve(request.amount)
        };
        return axum::Json(answer).into_response();
    }
    {
        let mut b = stub.behaviour.lock().unwrap();
        if b.fail_async > 0 {
            b.fail_async -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    stub.received.lock().unwrap().push(Received {
        msg_id,
        event: envelope,
    });
    StatusCode::NO_CONTENT.into_response()
}

async fn start_stub(secrets: Vec<WebhookSecret>) -> (Arc<Stub>, String) {
    let stub = Arc::new(Stub {
        secrets,
        received: Mutex::new(Vec::new()),
        rejected: Mutex::new(Vec::new()),
        behaviour: Mutex::new(StubBehaviour::default()),
    });
    let app = Router::new()
        .route("/webhooks/processor", post(receive))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/processor",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (stub, url)
}

struct World {
    sim: Simulator,
    client: ProcessorClient,
    stub: Arc<Stub>,
    keys: PseudonymKeys,
}

async fn world_with(adjust: impl FnOnce(&mut SimConfig)) -> World {
    let secret = WebhookSecret::generate();
    let (stub, url) = start_stub(vec![secret.clone()]).await;
    let mut config = SimConfig::for_tests(API_KEY, secret);
    config.webhook_url = Some(url);
    adjust(&mut config);
    let sim = Simulator::start(config).await.unwrap();
    let client = ProcessorClient::new(
        ClientConfig::new(sim.base_url(), API_KEY, CARD_NAME),
        Arc::new(NoEgressRegister),
    )
    .unwrap();
    World {
        sim,
        client,
        stub,
        keys: PseudonymKeys::new(1, vec![42; 32]).unwrap(),
    }
}

async fn world() -> World {
    world_with(|_| {}).await
}

impl World {
    async fn cardholder(&self, key: &str) -> String {
        let request = CreateCardholderRequest::pseudonymous(
            self.keys.pseudonym_for(Uuid::new_v4()),
            "prison-fi",
        );
        self.client
            .create_cardholder(key, &request, &[])
            .await
            .unwrap()
            .id
    }

    async fn card(&self, controls: Option<SpendControls>) -> Card {
        let holder = self
            .cardholder(&format!("ch-{}", Uuid::new_v4().simple()))
            .await;
        let request = CreateCardRequest {
            cardholder_id: holder,
            form: CardForm::Physical,
            embossed_name: Some(CARD_NAME.to_owned()),
            spend_controls: controls,
            memo: None,
        };
        self.client
            .create_card(&format!("card-{}", Uuid::new_v4().simple()), &request, &[])
            .await
            .unwrap()
    }

    async fn active_card(&self, controls: Option<SpendControls>) -> Card {
        let card = self.card(controls).await;
        self.set_state(&card.id, CardState::Active).await.unwrap()
    }

    async fn set_state(&self, card_id: &str, state: CardState) -> Result<Card, ClientError> {
        let request = SetCardStateRequest {
            state,
            reason: Some("test".to_owned()),
        };
        self.client
            .set_card_state(
                &format!("st-{}", Uuid::new_v4().simple()),
                card_id,
                &request,
            )
            .await
    }

    async fn settle(&self) {
        assert!(
            self.sim.wait_for_deliveries(5_000).await,
            "deliveries did not finish"
        );
    }
}

fn permanent_code(error: &ClientError) -> (u16, &str) {
    match error {
        ClientError::Permanent { status, code, .. } => (*status, code),
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// REST API
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cardholders_idempotency_and_conflicts() {
    let w = world().await;
    let external_ref = w.keys.pseudonym_for(Uuid::new_v4());
    let request = CreateCardholderRequest::pseudonymous(external_ref.clone(), "prison-fi");
    let first = w
        .client
        .create_cardholder("key-1", &request, &[])
        .await
        .unwrap();
    assert!(first.id.starts_with("ch_"));
    assert_eq!(first.external_ref, external_ref);

    // Same key, same body: the original answer.
    let again = w
        .client
        .create_cardholder("key-1", &request, &[])
        .await
        .unwrap();
    assert_eq!(again, first);

    // Same key, another body: idempotency_conflict.
    let other =
        CreateCardholderRequest::pseudonymous(w.keys.pseudonym_for(Uuid::new_v4()), "prison-fi");
    let err = w
        .client
        .create_cardholder("key-1", &other, &[])
        .await
        .unwrap_err();
    assert_eq!(permanent_code(&err), (409, "idempotency_conflict"));

    // Another key, same external_ref: cardholder_exists with the existing id.
    let err = w
        .client
        .create_cardholder("key-2", &request, &[])
        .await
        .unwrap_err();
    match err {
        ClientError::Permanent {
            status: 409,
            code,
            existing_id,
            ..
        } => {
            assert_eq!(code, "cardholder_exists");
            assert_eq!(existing_id.as_deref(), Some(first.id.as_str()));
        }
        other => panic!("{other:?}"),
    }

    // What crossed the boundary: keys on every POST, the API key never recorded, only the
    // pseudonym and the program in the bodies.
    let requests = w.sim.requests();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert!(r.header("idempotency-key").is_some());
        assert!(r.header("authorization").is_none());
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["external_ref", "program"]);
    }
    assert!(w.sim.privacy_flags().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_and_idempotency_key_are_enforced() {
    let w = world().await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/funding", w.sim.base_url());
    let unauthorized = http.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
    let none = http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let no_key = http
        .post(format!("{}/v1/cardholders", w.sim.base_url()))
        .bearer_auth(API_KEY)
        .json(&json!({"external_ref": "p1_x", "program": "p"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 400);
    let body: Value = no_key.json().await.unwrap();
    assert_eq!(body["error"]["code"], "idempotency_key_required");
    // A cardholder with personal fields is accepted by the processor but flagged.
    let named = http
        .post(format!("{}/v1/cardholders", w.sim.base_url()))
        .bearer_auth(API_KEY)
        .header("Idempotency-Key", "named-1")
        .json(&json!({"external_ref": "x1", "program": "p", "last_name": "Virtanen"}))
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 201);
    assert_eq!(
        w.sim.privacy_flags(),
        ["POST /v1/cardholders carried last_name"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_state_machine() {
    let w = world().await;
    let card = w.card(None).await;
    assert_eq!(card.state, CardState::Inactive);
    assert!(card.id.starts_with("card_"));
    assert_eq!(card.last4.len(), 4);

    let err = w.set_state(&card.id, CardState::Paused).await.unwrap_err();
    assert_eq!(permanent_code(&err), (409, "invalid_state_transition"));
    assert_eq!(
        w.set_state(&card.id, CardState::Active)
            .await
            .unwrap()
            .state,
        CardState::Active
    );
    // The same state again is a no-op 200.
    assert_eq!(
        w.set_state(&card.id, CardState::Active)
            .await
            .unwrap()
            .state,
        CardState::Active
    );
    assert_eq!(
        w.set_state(&card.id, CardState::Paused)
            .await
            .unwrap()
            .state,
        CardState::Paused
    );
    assert_eq!(
        w.set_state(&card.id, CardState::Active)
            .await
            .unwrap()
            .state,
        CardState::Active
    );
    assert_eq!(
        w.set_state(&card.id, CardState::Closed)
            .await
            .unwrap()
            .state,
        CardState::Closed
    );
    let err = w.set_state(&card.id, CardState::Active).await.unwrap_err();
    assert_eq!(permanent_code(&err), (409, "invalid_state_transition"));
    assert_eq!(
        w.client.get_card(&card.id).await.unwrap().state,
        CardState::Closed
    );
    let err = w.client.get_card("card_nope").await.unwrap_err();
    assert_eq!(permanent_code(&err), (404, "not_found"));

    // Each real change was announced (the no-op was not).
    w.settle().await;
    let changes: Vec<(CardState, CardState)> = w
        .stub
        .of_type("card.state_changed")
        .into_iter()
        .map(|r| match r.event.event {
            WebhookEvent::CardStateChanged(c) => (c.previous_state, c.state),
            _ => unreachable!(),
        })
        .collect();
    use CardState::*;
    assert_eq!(
        changes,
        [
            (Inactive, Active),
            (Active, Paused),
            (Paused, Active),
            (Active, Closed)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reissue_semantics() {
    let w = world().await;
    let lost = w.active_card(None).await;
    let replacement = w
        .client
        .reissue_card(
            "re-1",
            &lost.id,
            &ReissueRequest {
                reason: ReissueReason::Lost,
            },
        )
        .await
        .unwrap();
    assert_eq!(replacement.state, CardState::Inactive);
    assert_eq!(replacement.cardholder_id, lost.cardholder_id);
    assert_ne!(replacement.id, lost.id);
    assert_eq!(
        w.client.get_card(&lost.id).await.unwrap().state,
        CardState::Closed
    );

    let damaged = w.active_card(None).await;
    let new = w
        .client
        .reissue_card(
            "re-2",
            &damaged.id,
            &ReissueRequest {
                reason: ReissueReason::Damaged,
            },
        )
        .await
        .unwrap();
    // Still usable until the new card is activated.
    assert_eq!(
        w.client.get_card(&damaged.id).await.unwrap().state,
        CardState::Active
    );
    w.set_state(&new.id, CardState::Active).await.unwrap();
    assert_eq!(
        w.client.get_card(&damaged.id).await.unwrap().state,
        CardState::Closed
    );

    let err = w
        .client
        .reissue_card(
            "re-3",
            &lost.id,
            &ReissueRequest {
                reason: ReissueReason::Expired,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(permanent_code(&err), (409, "invalid_state_transition"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_controls_funding_and_settlement() {
    let w = world().await;
    let card = w
        .active_card(Some(SpendControls {
            per_authorization_max: Some(20_000),
            daily_max: Some(50_000),
            blocked_mcc: Some(vec![Mcc::new("7995").unwrap()]),
        }))
        .await;
    let patched = w
        .client
        .update_spend_controls(
            "sc-1",
            &card.id,
            &SpendControls {
                daily_max: Some(30_000),
                ..SpendControls::default()
            },
        )
        .await
        .unwrap();
    let controls = patched.spend_controls.unwrap();
    assert_eq!(controls.daily_max, Some(30_000));
    // Fields left out of the PATCH keep their values.
    assert_eq!(controls.per_authorization_max, Some(20_000));
    assert_eq!(controls.blocked_mcc.unwrap().len(), 1);
    let patch_request = w.sim.requests().into_iter().last().unwrap();
    assert_eq!(patch_request.method, "PATCH");
    assert_eq!(patch_request.header("idempotency-key"), Some("sc-1"));

    let funding_before = w.client.get_funding().await.unwrap();
    assert_eq!(funding_before.currency.as_str(), "EUR");
    let day = date!(2026 - 11 - 26);
    assert_eq!(
        w.client.download_settlement(day).await.unwrap_err(),
        ClientError::NotReady
    );

    for scenario in [
        Scenario::CanteenPurchase,
        Scenario::Refund,
        Scenario::ForcePost,
    ] {
        assert!(
            w.sim
                .run_scenario(scenario, &card.id)
                .await
                .unwrap()
                .completed
        );
    }
    let trailer = w.sim.close_settlement_day(day).unwrap();
    // 12.50 + 15.00 - 5.00 + 7.00 cleared/refunded, plus the 2.50 fee.
    assert_eq!(trailer.net_minor, 1250 + 1500 - 500 + 700 + 250);
    assert_eq!(trailer.record_count, 5);

    let file = w.client.download_settlement(day).await.unwrap();
    let mut reader = SettlementReader::new(file.as_slice()).unwrap();
    let rows: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(reader.trailer().unwrap(), trailer);
    let kinds: Vec<SettlementType> = rows.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            SettlementType::Clearing,
            SettlementType::Clearing,
            SettlementType::Refund,
            SettlementType::Clearing,
            SettlementType::Fee
        ]
    );
    assert!(
        rows[3].authorization_id.is_none(),
        "force post has no authorization"
    );
    let funding_after = w.client.get_funding().await.unwrap();
    assert_eq!(
        funding_before.balance - funding_after.balance,
        trailer.net_minor
    );
    // A day already closed cannot be closed again; the next day starts empty (fee only).
    assert!(w.sim.close_settlement_day(day).is_err());
    let next = w.sim.close_settlement_day(date!(2026 - 11 - 27)).unwrap();
    assert_eq!((next.record_count, next.net_minor), (1, 250));
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_classified() {
    let w = world().await;
    w.sim.push_fault(Fault::RateLimit {
        count: 1,
        retry_after_s: 3,
    });
    match w.client.get_funding().await.unwrap_err() {
        ClientError::Transient {
            retry_after_ms,
            status,
            ..
        } => {
            assert_eq!(retry_after_ms, Some(3_000));
            assert_eq!(status, Some(429));
        }
        other => panic!("{other:?}"),
    }
    // The fault was used up: the next request goes through.
    assert!(w.client.get_funding().await.is_ok());

    w.sim.push_fault(Fault::ServerError {
        count: 2,
        status: 502,
        after_processing: false,
    });
    for _ in 0..2 {
        let err = w.client.get_funding().await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert_eq!(err.retry_after_ms(), None);
    }
    assert!(w.client.get_funding().await.is_ok());

    // Processed but the answer lost: the retry with the same key gets the original card, and
    // only one card exists.
    let holder = w.cardholder("h-1").await;
    let request = CreateCardRequest {
        cardholder_id: holder,
        form: CardForm::Virtual,
        embossed_name: None,
        spend_controls: None,
        memo: None,
    };
    w.sim.push_fault(Fault::ServerError {
        count: 1,
        status: 500,
        after_processing: true,
    });
    assert!(
        w.client
            .create_card("c-1", &request, &[])
            .await
            .unwrap_err()
            .is_transient()
    );
    let card = w.client.create_card("c-1", &request, &[]).await.unwrap();
    assert_eq!(w.client.get_card(&card.id).await.unwrap().id, card.id);
    let card_posts = w
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/cards")
        .count();
    assert_eq!(card_posts, 2);

    // A slow answer beyond the client's total timeout is a transient timeout.
    let mut config = ClientConfig::new(w.sim.base_url(), API_KEY, CARD_NAME);
    config.total_timeout_ms = 100;
    let impatient = ProcessorClient::new(config, Arc::new(NoEgressRegister)).unwrap();
    w.sim.push_fault(Fault::Slow {
        count: 1,
        delay_ms: 400,
    });
    match impatient.get_funding().await.unwrap_err() {
        ClientError::Transient { reason, status, .. } => {
            assert_eq!(reason, "timeout");
            assert_eq!(status, None);
        }
        other => panic!("{other:?}"),
    }
}

/// A fault for one path leaves the others alone; a refusal is kept under its key like any 4xx
/// (protocol 2), so only a new key gets the request carried out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_for_one_path_and_a_refusal_kept_under_its_key() {
    let w = world().await;
    let card = w.active_card(None).await;
    let http = reqwest::Client::new();
    let rule = http
        .post(format!("{}/_sim/faults", w.sim.base_url()))
        .json(&json!({"kind": "refuse", "count": 1, "status": 409,
                      "code": "invalid_state_transition",
                      "path_contains": format!("/v1/cards/{}/state", card.id)}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), 204);
    let not_4xx = http
        .post(format!("{}/_sim/faults", w.sim.base_url()))
        .json(&json!({"kind": "refuse", "count": 1, "status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(not_4xx.status(), 400);
    // Another path first: untouched by the rule.
    assert!(w.client.get_funding().await.is_ok());
    let pause = SetCardStateRequest {
        state: CardState::Paused,
        reason: Some("test".to_owned()),
    };
    let refused = w
        .client
        .set_card_state("st-refused", &card.id, &pause)
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        ClientError::Permanent {
            status: 409,
            code: "invalid_state_transition".into(),
            message: "simulated refusal".into(),
            existing_id: None
        }
    );
    // The same key and body: the stored refusal again, although the fault is used up.
    assert_eq!(
        w.client
            .set_card_state("st-refused", &card.id, &pause)
            .await
            .unwrap_err()
            .code(),
        "invalid_state_transition"
    );
    assert_eq!(w.sim.card(&card.id).unwrap().state, CardState::Active);
    let paused = w
        .client
        .set_card_state("st-refused_r1", &card.id, &pause)
        .await
        .unwrap();
    assert_eq!(paused.state, CardState::Paused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_never_leave() {
    let w = world().await;
    let mut request =
        CreateCardholderRequest::pseudonymous(w.keys.pseudonym_for(Uuid::new_v4()), "prison-fi");
    request.email = Some(json!("matti@example.org"));
    let err = w
        .client
        .create_cardholder("k", &request, &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "egress_personal_field");
    let plain = CreateCardholderRequest::pseudonymous("FI-123456", "prison-fi");
    let err = w
        .client
        .create_cardholder("k", &plain, &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "egress_malformed_pseudonym");
    assert!(
        w.sim.requests().is_empty(),
        "nothing may reach the processor"
    );
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canteen_purchase_reaches_saldo_signed() {
    let w = world().await;
    let card = w.active_card(None).await;
    let report = w
        .sim
        .run_scenario(Scenario::CanteenPurchase, &card.id)
        .await
        .unwrap();
    assert!(report.completed);
    let outcome = &report.authorizations[0];
    assert_eq!(outcome.decided_by, DecidedBy::Saldo);
    assert_eq!(outcome.decision, Decision::Approve);
    assert_eq!(outcome.approved_amount_minor, 1250);
    assert!(outcome.authorization_id.starts_with("auth_"));
    assert_eq!(report.events, ["transaction.clearing"]);
    w.settle().await;

    let requests = w.stub.of_type("authorization.request");
    assert_eq!(requests.len(), 1);
    let WebhookEvent::AuthorizationRequest(request) = &requests[0].event.event else {
        unreachable!()
    };
    assert_eq!(request.amount, 1250);
    assert_eq!(request.card_id, card.id);
    assert_eq!(request.cardholder_id, card.cardholder_id);
    let clearings = w.stub.of_type("transaction.clearing");
    assert_eq!(clearings.len(), 1);
    let WebhookEvent::TransactionClearing(clearing) = &clearings[0].event.event else {
        unreachable!()
    };
    assert_eq!(
        clearing.authorization_id.as_deref(),
        Some(outcome.authorization_id.as_str())
    );
    assert!(clearing.is_final);
    assert!(clearings[0].msg_id.starts_with("msg_"));
    assert!(
        w.stub.rejected.lock().unwrap().is_empty(),
        "every signature verified"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_messages_are_retried_under_the_same_webhook_id() {
    let w = world().await;
    let card = w.active_card(None).await;
    w.settle().await;
    w.stub.behaviour.lock().unwrap().fail_async = 2;
    w.sim.force_post(&card.id, 700, merchant_canteen()).unwrap();
    w.settle().await;
    let attempts: Vec<_> = w
        .sim
        .deliveries()
        .into_iter()
        .filter(|d| d.event_type == "transaction.clearing")
        .collect();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(attempts.iter().all(|a| a.msg_id == attempts[0].msg_id));
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a.kind, a.attempt, a.status))
            .collect::<Vec<_>>(),
        [
            (AttemptKind::First, 1, Some(500)),
            (AttemptKind::Retry, 2, Some(500)),
            (AttemptKind::Retry, 3, Some(204))
        ]
    );
    let received = w.stub.of_type("transaction.clearing");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].msg_id, attempts[0].msg_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_gives_up_after_the_configured_attempts() {
    let w = world().await;
    let card = w.active_card(None).await;
    w.settle().await;
    w.stub.behaviour.lock().unwrap().fail_async = 100;
    w.sim.force_post(&card.id, 700, merchant_canteen()).unwrap();
    w.settle().await;
    let attempts = w
        .sim
        .deliveries()
        .into_iter()
        .filter(|d| d.event_type == "transaction.clearing")
        .count();
    assert_eq!(attempts, 4, "SimConfig::for_tests allows 4 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_or_bad_answers_decline_and_advise_timeout() {
    let w = world_with(|c| c.auth_deadline_ms = 200).await;
    let card = w.active_card(None).await;

    w.stub.behaviour.lock().unwrap().auth_delay_ms = 500;
    let late = w
        .sim
        .authorize(AuthorizeInput::new(&card.id, 900, merchant_canteen()))
        .await
        .unwrap();
    assert_eq!(late.decision, Decision::Decline);
    assert_eq!(late.decided_by, DecidedBy::Timeout);

    w.stub.behaviour.lock().unwrap().auth_delay_ms = 0;
    for raw in [
        (200, "{\"decision\":\"PERHAPS\"}".to_owned()),
        (500, "{}".to_owned()),
        // A partial approval to a request that is not partial-capable is malformed.
        (
            200,
            "{\"decision\":\"APPROVE\",\"approved_amount\":100}".to_owned(),
        ),
    ] {
        w.stub.behaviour.lock().unwrap().auth_raw = Some(raw.clone());
        let outcome = w
            .sim
            .authorize(AuthorizeInput::new(&card.id, 900, merchant_canteen()))
            .await
            .unwrap();
        assert_eq!(outcome.decided_by, DecidedBy::Timeout, "{raw:?}");
        assert_eq!(outcome.approved_amount_minor, 0);
    }
    w.settle().await;
    let advice: Vec<_> = w
        .stub
        .of_type("authorization.advice")
        .into_iter()
        .map(|r| match r.event.event {
            WebhookEvent::AuthorizationAdvice(a) => {
                (a.reason, a.decision, a.approved_amount_minor())
            }
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(advice.len(), 4);
    assert!(
        advice
            .iter()
            .all(|a| *a == (AdviceReason::Timeout, Decision::Decline, 0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_approval_when_capable() {
    let w = world().await;
    let card = w.active_card(None).await;
    w.stub.behaviour.lock().unwrap().auth_raw = Some((
        200,
        "{\"decision\":\"APPROVE\",\"approved_amount\":600}".to_owned(),
    ));
    let mut input = AuthorizeInput::new(&card.id, 900, merchant_canteen());
    input.partial_approval_capable = true;
    let outcome = w.sim.authorize(input).await.unwrap();
    assert_eq!(outcome.decided_by, DecidedBy::Saldo);
    assert_eq!(outcome.approved_amount_minor, 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_while_saldo_is_down() {
    let w = world().await;
    let card = w
        .active_card(Some(SpendControls {
            per_authorization_max: Some(5_000),
            ..SpendControls::default()
        }))
        .await;
    let report = w
        .sim
        .run_scenario(Scenario::StandInWhileDown, &card.id)
        .await
        .unwrap();
    assert!(report.completed);
    assert_eq!(report.authorizations[0].decided_by, DecidedBy::StandIn);
    assert_eq!(report.authorizations[0].decision, Decision::Approve);
    assert_eq!(
        report.events,
        ["authorization.advice", "transaction.clearing"]
    );
    assert!(
        !w.sim.webhook_settings().down,
        "Saldo is back after the story"
    );
    w.settle().await;
    // Saldo never saw the request, but gets the advice (after retries) and the clearing.
    assert!(w.stub.of_type("authorization.request").is_empty());
    let advice = w.stub.of_type("authorization.advice");
    assert_eq!(advice.len(), 1);
    let WebhookEvent::AuthorizationAdvice(a) = &advice[0].event.event else {
        unreachable!()
    };
    assert_eq!(
        (a.reason, a.decision, a.approved_amount_minor()),
        (AdviceReason::StandIn, Decision::Approve, 1000)
    );
    assert_eq!(w.stub.of_type("transaction.clearing").len(), 1);

    // Beyond the spend controls, stand-in or not, the processor declines by its own rule.
    w.sim.set_webhook_down(true);
    let over = w
        .sim
        .authorize(AuthorizeInput::new(&card.id, 6_000, merchant_canteen()))
        .await
        .unwrap();
    assert_eq!(over.decided_by, DecidedBy::ProcessorRule);
    assert_eq!(over.decline_reason, Some(DeclineCode::LimitExceeded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_mcc_is_declined_by_controls_or_by_saldo() {
    let w = world().await;
    let fenced = w
        .active_card(Some(SpendControls {
            blocked_mcc: Some(vec![Mcc::new("7995").unwrap()]),
            ..SpendControls::default()
        }))
        .await;
    let report = w
        .sim
        .run_scenario(Scenario::BlockedMccOnline, &fenced.id)
        .await
        .unwrap();
    assert_eq!(
        report.authorizations[0].decided_by,
        DecidedBy::ProcessorRule
    );
    assert_eq!(
        report.authorizations[0].decline_reason,
        Some(DeclineCode::MerchantBlocked)
    );
    assert_eq!(report.events, ["authorization.advice"]);

    let open = w.active_card(None).await;
    let report = w
        .sim
        .run_scenario(Scenario::BlockedMccOnline, &open.id)
        .await
        .unwrap();
    assert_eq!(report.authorizations[0].decided_by, DecidedBy::Saldo);
    assert_eq!(
        report.authorizations[0].decline_reason,
        Some(DeclineCode::MerchantBlocked)
    );
    assert!(report.events.is_empty());
    w.settle().await;
    let asked = w.stub.of_type("authorization.request");
    assert_eq!(
        asked.len(),
        1,
        "only the card without the processor fence reaches Saldo"
    );

    // An inactive card never reaches Saldo either.
    let inactive = w.card(None).await;
    let outcome = w
        .sim
        .authorize(AuthorizeInput::new(
            &inactive.id,
            100,
            merchant_online_casino(),
        ))
        .await
        .unwrap();
    assert_eq!(outcome.decline_reason, Some(DeclineCode::CardInactive));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_keep_their_ids() {
    let w = world().await;
    let card = w.active_card(None).await;
    w.settle().await;
    w.sim.set_webhook_settings(WebhookSettings {
        duplicate: true,
        ..w.sim.webhook_settings()
    });
    let report = w
        .sim
        .run_scenario(Scenario::Reversal, &card.id)
        .await
        .unwrap();
    assert!(report.completed);
    assert_eq!(
        report.authorizations[0].duplicate_answer_matched,
        Some(true)
    );
    w.settle().await;

    // The authorization request came twice with the same authorization_id, as two messages.
    let requests = w.stub.of_type("authorization.request");
    assert_eq!(requests.len(), 2);
    assert_ne!(requests[0].msg_id, requests[1].msg_id);
    let auth_ids: Vec<_> = requests
        .iter()
        .map(|r| r.event.event.authorization_id().unwrap().to_owned())
        .collect();
    assert_eq!(auth_ids[0], auth_ids[1]);
    // Every asynchronous message came twice under one webhook-id.
    for event_type in ["authorization.reversal", "transaction.clearing"] {
        let got = w.stub.of_type(event_type);
        assert_eq!(got.len(), 2, "{event_type}");
        assert_eq!(got[0].msg_id, got[1].msg_id);
        assert_eq!(got[0].event, got[1].event);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_delivery_is_out_of_order_and_complete() {
    let w = world().await;
    let card = w.active_card(None).await;
    w.settle().await;
    let before = w.stub.received().len();
    w.sim.set_webhook_settings(WebhookSettings {
        shuffle: true,
        ..w.sim.webhook_settings()
    });
    w.sim
        .run_scenario(Scenario::PartialClearing, &card.id)
        .await
        .unwrap();
    w.sim
        .run_scenario(Scenario::ExpiryThenLateClearing, &card.id)
        .await
        .unwrap();
    let emitted: Vec<String> = w.sim.emitted().into_iter().map(|m| m.msg_id).collect();
    let emitted = emitted[emitted.len() - 4..].to_vec();
    // Held until flushed.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let async_received = |w: &World| {
        w.stub.received()[before..]
            .iter()
            .filter(|r| r.event.event.event_type() != "authorization.request")
            .map(|r| r.msg_id.clone())
            .collect::<Vec<_>>()
    };
    assert!(async_received(&w).is_empty());

    let order = w.sim.flush_webhooks();
    w.settle().await;
    assert_eq!(async_received(&w), order, "delivered in the flushed order");
    assert_ne!(order, emitted, "and that order is not the emission order");
    let mut sorted_order = order.clone();
    sorted_order.sort();
    let mut sorted_emitted = emitted.clone();
    sorted_emitted.sort();
    assert_eq!(sorted_order, sorted_emitted, "nothing lost, nothing added");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_signs_with_both_secrets() {
    let old = WebhookSecret::generate();
    let new = WebhookSecret::generate();
    // The receiver already knows only the new secret.
    let (stub, url) = start_stub(vec![new.clone()]).await;
    let mut config = SimConfig::for_tests(API_KEY, old);
    config.webhook_secrets.push(new);
    config.webhook_url = Some(url);
    let sim = Simulator::start(config).await.unwrap();
    let client = ProcessorClient::new(
        ClientConfig::new(sim.base_url(), API_KEY, CARD_NAME),
        Arc::new(NoEgressRegister),
    )
    .unwrap();
    let keys = PseudonymKeys::new(1, vec![1; 32]).unwrap();
    let holder = client
        .create_cardholder(
            "h",
            &CreateCardholderRequest::pseudonymous(keys.pseudonym_for(Uuid::new_v4()), "p"),
            &[],
        )
        .await
        .unwrap();
    let card = client
        .create_card(
            "c",
            &CreateCardRequest {
                cardholder_id: holder.id,
                form: CardForm::Virtual,
                embossed_name: None,
                spend_controls: None,
                memo: None,
            },
            &[],
        )
        .await
        .unwrap();
    sim.force_post(&card.id, 100, merchant_canteen()).unwrap();
    assert!(sim.wait_for_deliveries(5_000).await);
    assert_eq!(stub.of_type("transaction.clearing").len(), 1);
    assert!(stub.rejected.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_endpoints_over_http() {
    let w = world().await;
    let card = w.active_card(None).await;
    let http = reqwest::Client::new();
    let base = w.sim.base_url();
    for scenario in Scenario::ALL {
        let name = serde_json::to_value(scenario).unwrap();
        let response = http
            .post(format!("{base}/_sim/scenarios/{}", name.as_str().unwrap()))
            .json(&json!({"card_id": card.id}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["scenario"], name);
        assert_eq!(report["completed"], true, "{name}");
    }
    let unknown = http
        .post(format!("{base}/_sim/scenarios/nope"))
        .json(&json!({"card_id": card.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let fault = http
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"kind": "rate_limit", "count": 1, "retry_after_s": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 204);
    assert_eq!(
        w.client.get_funding().await.unwrap_err().retry_after_ms(),
        Some(2_000)
    );

    let authorized: Value = http
        .post(format!("{base}/_sim/authorize"))
        .json(&json!({"card_id": card.id, "amount_minor": 300}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(authorized["decision"], "APPROVE");
    let cleared = http
        .post(format!("{base}/_sim/clear"))
        .json(&json!({"authorization_id": authorized["authorization_id"], "amount_minor": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    let closed = http
        .post(format!("{base}/_sim/settlements/2026-11-26/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);

    let recorded: Vec<Value> = http
        .get(format!("{base}/_sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(recorded.iter().any(|r| r["path"] == "/v1/funding"));
    assert!(
        recorded
            .iter()
            .all(|r| r["path"].as_str().unwrap().starts_with("/v1/"))
    );
    let waited: Value = http
        .post(format!("{base}/_sim/webhooks/wait?timeout_ms=5000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(waited["idle"], true);
    assert!(w.stub.rejected.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_authorization_and_processor_state_change() {
    let w = world().await;
    let card = w.active_card(None).await;
    let parent = w
        .sim
        .authorize(AuthorizeInput::new(&card.id, 1000, merchant_canteen()))
        .await
        .unwrap();
    let mut increment = AuthorizeInput::new(&card.id, 400, merchant_canteen());
    increment.parent_authorization_id = Some(parent.authorization_id.clone());
    let grown = w.sim.authorize(increment).await.unwrap();
    assert_eq!(grown.decision, Decision::Approve);
    assert_ne!(grown.authorization_id, parent.authorization_id);
    w.sim.clear(&parent.authorization_id, 1400, true).unwrap();
    let mut unknown_parent = AuthorizeInput::new(&card.id, 400, merchant_canteen());
    unknown_parent.parent_authorization_id = Some("auth_nope".to_owned());
    assert!(w.sim.authorize(unknown_parent).await.is_err());

    // The processor's fraud team pauses the card: announced as changed_by PROCESSOR, and the
    // card no longer reaches Saldo.
    let paused = w
        .sim
        .processor_set_card_state(&card.id, CardState::Paused, "FRAUD_REVIEW")
        .unwrap();
    assert_eq!(paused.state, CardState::Paused);
    assert_eq!(
        w.client.get_card(&card.id).await.unwrap().state,
        CardState::Paused
    );
    w.settle().await;

    let requests = w.stub.of_type("authorization.request");
    assert_eq!(requests.len(), 2);
    let WebhookEvent::AuthorizationRequest(second) = &requests[1].event.event else {
        unreachable!()
    };
    assert_eq!(
        second.parent_authorization_id.as_deref(),
        Some(parent.authorization_id.as_str())
    );
    assert_eq!(second.amount, 400, "an increment carries the increase only");
    let changes = w.stub.of_type("card.state_changed");
    let WebhookEvent::CardStateChanged(last) = &changes.last().unwrap().event.event else {
        unreachable!()
    };
    assert_eq!(last.changed_by, processor_protocol::ChangedBy::Processor);
    assert_eq!(last.reason.as_deref(), Some("FRAUD_REVIEW"));
}
