//! The prison's own services as merchants inside Saldo (docs/services.md), end to end:
//! `services-sim` signs and sends each service's requests over HTTP to a running Saldo on a
//! fresh database; the money is read back from the ledger.
// Cent amounts are grouped as euros_cents: `200_00` is 200.00 EUR.
#![allow(clippy::inconsistent_digit_grouping)]
use processor_protocol::signature::WebhookSecret;
use saldo::auth::Role;
use saldo::services::prison_services;
use serde_json::{Value, json};
use services_sim::{OfflineTill, Service, TillAnswer};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::api_support::{PIN, StaffUser, World, give_policy, problem, with_card};

struct Setup {
    world: World,
    approver: StaffUser,
    person_id: Uuid,
    spendable: Uuid,
}

/// A prison with the closed-prison policy (per purchase 50.00, a day 50.00, a week 100.00) and
/// a prisoner with 200.00 on spendable.
async fn setup() -> Setup {
    let world = World::new().await;
    give_policy(&world, world.prison_a).await;
    let officer = world
        .staff("officer", &[Role::Officer], world.prison_a)
        .await;
    let approver = world
        .staff("approver", &[Role::FinanceApprover], world.prison_a)
        .await;
    let person_id = world.admit(&officer, world.prison_a, "A100").await;
    let prisoner = with_card(&world, person_id, 200_00).await;
    Setup {
        spendable: prisoner.accounts.spendable,
        world,
        approver,
        person_id,
    }
}

/// A service configured through the staff API, with a key issued for it.
async fn service(setup: &Setup, code: &str, kind: &str, mcc: &str) -> Service {
    let world = &setup.world;
    let created = world
        .http
        .post(world.prison_url(world.prison_a, "/services"))
        .bearer_auth(&setup.approver.token)
        .json(&json!({"code": code, "kind": kind, "mcc": mcc, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let service_id: Uuid = created["service_id"].as_str().unwrap().parse().unwrap();
    let key = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/services/{service_id}/keys")))
        .bearer_auth(&setup.approver.token)
        .send()
        .await
        .unwrap();
    assert_eq!(key.status(), 201);
    let key: Value = key.json().await.unwrap();
    let secret = WebhookSecret::parse(key["secret"].as_str().unwrap()).unwrap();
    Service::new(&world.base, service_id, vec![secret])
}

/// The prisoner's kiosk home page (signed in as A100, in Finnish, their language).
async fn kiosk_home(world: &World) -> String {
    let device = world.kiosk_device(world.prison_a).await;
    let signed_in = world
        .http
        .post(world.url("/kiosk/sign-in"))
        .header("saldo-kiosk-device", &device)
        .form(&[("prisoner_number", "A100"), ("pin", PIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    let home = world
        .http
        .get(world.url("/kiosk/home"))
        .header("saldo-kiosk-device", &device)
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    home.text().await.unwrap()
}

/// (posted, held) on an account, in minor units.
async fn money(world: &World, account_id: Uuid) -> (i64, i64) {
    let client = world.db.pool.get().await.unwrap();
    let balance = ledger::store::balance(&client, account_id).await.unwrap();
    (balance.posted.amount_minor, balance.held.amount_minor)
}

#[tokio::test]
async fn a_canteen_order_is_held_captured_refunded_and_shares_the_card_limits() {
    let setup = setup().await;
    let world = &setup.world;
    let canteen = service(&setup, "canteen", "canteen", "5411").await;

    let held = canteen
        .authorize("order-1", setup.person_id, 30_00, "purchase")
        .await
        .unwrap();
    assert!(held.approved(), "{:?}", held.body);
    assert_eq!(held.body["held_minor"], 30_00);
    assert_eq!(money(world, setup.spendable).await, (200_00, 30_00));

    // Handed over for 25.00: captured, the rest released.
    let captured = canteen
        .step("order-1", "capture", "order-1-capture", Some(25_00))
        .await
        .unwrap();
    assert_eq!(captured.status, 200, "{:?}", captured.body);
    assert_eq!(captured.body["captured_minor"], 25_00);
    assert_eq!(captured.body["released_minor"], 5_00);
    assert_eq!(money(world, setup.spendable).await, (175_00, 0));

    // A retry changes nothing; the same ids with another body are refused.
    let again = canteen
        .step("order-1", "capture", "order-1-capture", Some(25_00))
        .await
        .unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.body["captured_minor"], 25_00);
    let reauthorized = canteen
        .authorize("order-1", setup.person_id, 30_00, "purchase")
        .await
        .unwrap();
    assert_eq!(reauthorized.body["purchase_id"], held.body["purchase_id"]);
    let other = canteen
        .authorize("order-1", setup.person_id, 31_00, "purchase")
        .await
        .unwrap();
    assert_eq!(other.status, 409);
    assert_eq!(other.body["code"], "request_id_conflict");
    assert_eq!(money(world, setup.spendable).await, (175_00, 0));

    // The card's windows count the service's spend: 25.00 of today's 50.00 is gone.
    let client = world.db.pool.get().await.unwrap();
    let limits =
        card_adapter::controls::kiosk_limits(&client, setup.person_id, OffsetDateTime::now_utc())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(limits.spent.day.amount_minor, 25_00);
    // So a second order over the day's room is declined with the kiosk's reason.
    let declined = canteen
        .authorize("order-2", setup.person_id, 30_00, "purchase")
        .await
        .unwrap();
    assert_eq!(declined.status, 200);
    assert_eq!(declined.body["approved"], false);
    assert_eq!(declined.body["decline_reason"], "daily_limit_exceeded");
    assert_eq!(money(world, setup.spendable).await, (175_00, 0));

    // A refund of 10.00 comes back to spendable, and gives the window its room back.
    let refunded = canteen
        .step("order-1", "refund", "order-1-refund", Some(10_00))
        .await
        .unwrap();
    assert_eq!(refunded.status, 200, "{:?}", refunded.body);
    assert_eq!(refunded.body["refunded_minor"], 10_00);
    assert_eq!(money(world, setup.spendable).await, (185_00, 0));
    let beyond = canteen
        .step("order-1", "refund", "order-1-refund-2", Some(20_00))
        .await
        .unwrap();
    assert_eq!(beyond.status, 409);
    assert_eq!(beyond.body["code"], "beyond_captured");

    // A message signed with another key changes nothing.
    let forged = Service::new(
        &world.base,
        canteen.service_id,
        vec![WebhookSecret::generate()],
    );
    let refused = forged
        .authorize("order-3", setup.person_id, 1_00, "purchase")
        .await
        .unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["code"], "signature_mismatch");
    assert_eq!(money(world, setup.spendable).await, (185_00, 0));
    // A service is inside the prison but not above the controls: a category the policy blocks
    // (here a safe default, money orders) is declined for it as for a card.
    let money_orders = service(&setup, "money_orders", "other", "4829").await;
    let blocked = money_orders
        .authorize("mo-1", setup.person_id, 1_00, "purchase")
        .await
        .unwrap();
    assert_eq!(blocked.body["decline_reason"], "merchant_category_blocked");
    assert_eq!(money(world, setup.spendable).await, (185_00, 0));
    let unknown = canteen
        .authorize("order-4", Uuid::new_v4(), 1_00, "purchase")
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);

    // The staff's day of the service, and the service's daily report against it.
    let today: String = world
        .db
        .raw_client()
        .await
        .query_one(
            "select ((now() at time zone 'Europe/Helsinki')::date)::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let finance = world
        .staff("finance", &[Role::Finance], world.prison_a)
        .await;
    let day_url = world.prison_url(
        world.prison_a,
        &format!("/services/{}/daily/{today}", canteen.service_id),
    );
    let totals: Value = world
        .http
        .get(&day_url)
        .bearer_auth(&finance.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &totals["authorized_count"],
            &totals["declined_count"],
            &totals["captured_minor"],
            &totals["refunded_minor"],
            &totals["net_minor"]
        ),
        (
            &json!(1),
            &json!(1),
            &json!(25_00),
            &json!(10_00),
            &json!(15_00)
        ),
        "{totals}"
    );
    let reconcile = |csv: &'static str| {
        world
            .http
            .post(format!("{day_url}/reconcile"))
            .bearer_auth(&finance.token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
    };
    let agreed: Value = reconcile(
        "event_id,kind,amount_minor\norder-1-capture,capture,2500\norder-1-refund,refund,1000\n",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        (&agreed["balanced"], &agreed["matched"]),
        (&json!(true), &json!(2)),
        "{agreed}"
    );
    let disagreed: Value =
        reconcile("event_id,kind,amount_minor\norder-1-capture,capture,2600\nghost,capture,100\n")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(disagreed["balanced"], false);
    let issues: Vec<(&str, &str)> = disagreed["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["event_id"].as_str().unwrap(),
                d["issue"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        issues,
        [
            ("order-1-capture", "amount_differs"),
            ("ghost", "missing_in_saldo"),
            ("order-1-refund", "missing_in_report")
        ]
    );
    let (status, bad) = problem(reconcile("id;amount\n1;2\n").await.unwrap()).await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (422, Some("report_invalid"))
    );

    // The ledger still verifies.
    let report = world.db.ledger().verify().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test]
async fn a_tv_rental_is_charged_weekly_and_stops_at_release() {
    let setup = setup().await;
    let world = &setup.world;
    let tv = service(&setup, "tv", "tv_rental", "7841").await;
    let subscribed = tv
        .subscribe("tv-1", setup.person_id, 5_00, 7)
        .await
        .unwrap();
    assert_eq!(subscribed.status, 200, "{:?}", subscribed.body);
    let again = tv
        .subscribe("tv-1", setup.person_id, 5_00, 7)
        .await
        .unwrap();
    assert_eq!(
        again.body["subscription_id"],
        subscribed.body["subscription_id"]
    );

    let other = tv
        .subscribe("tv-1", setup.person_id, 6_00, 7)
        .await
        .unwrap();
    assert_eq!(
        (other.status, other.body["code"].as_str()),
        (409, Some("request_id_conflict"))
    );

    let now = OffsetDateTime::now_utc() + Duration::seconds(1);
    let pool = &world.db.pool;
    let first = prison_services::charge_due(pool, now).await.unwrap();
    assert_eq!(first.charged, 1);
    // Run again at the same moment: nothing more is due.
    let repeat = prison_services::charge_due(pool, now).await.unwrap();
    assert_eq!(repeat.charged, 0);
    assert_eq!(money(world, setup.spendable).await, (195_00, 0));

    let next_week = now + Duration::days(7);
    assert_eq!(
        prison_services::charge_due(pool, next_week)
            .await
            .unwrap()
            .charged,
        1
    );
    assert_eq!(money(world, setup.spendable).await, (190_00, 0));

    let officer = world
        .staff("officer2", &[Role::Officer], world.prison_a)
        .await;
    let released = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!("/prisoners/{}/release", setup.person_id),
        ))
        .bearer_auth(&officer.token)
        .json(&json!({"idempotency_key": "release-1", "savings": "to_spendable"}))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200, "{:?}", released.text().await);

    let week_after = now + Duration::days(14);
    let run = prison_services::charge_due(pool, week_after).await.unwrap();
    assert_eq!((run.charged, run.stopped), (0, 1));
    assert_eq!(
        prison_services::charge_due(pool, week_after + Duration::days(7))
            .await
            .unwrap(),
        prison_services::ChargeRun::default()
    );
    let client = world.db.raw_client().await;
    let row = client
        .query_one(
            "select stop_reason, periods_done from services.subscriptions",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("released"));
    assert_eq!(row.get::<_, i32>(1), 2);
    let charges: i64 = client
        .query_one(
            "select count(*) from journal_entries where description = $1",
            &[&ledger::entry_text::EntryText::ServiceSubscriptionCharge.english()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(charges, 2);
}

#[tokio::test]
async fn call_credit_is_topped_up_into_its_own_sub_account_and_spent_by_calls() {
    let setup = setup().await;
    let world = &setup.world;
    let phone = service(&setup, "phone", "telephony", "4814").await;
    let canteen = service(&setup, "canteen", "canteen", "5411").await;

    let top_up = phone
        .authorize("top-1", setup.person_id, 20_00, "call_credit")
        .await
        .unwrap();
    assert!(top_up.approved(), "{:?}", top_up.body);
    let captured = phone
        .step("top-1", "capture", "top-1-capture", Some(20_00))
        .await
        .unwrap();
    assert_eq!(captured.status, 200, "{:?}", captured.body);
    assert_eq!(money(world, setup.spendable).await, (180_00, 0));
    let client = world.db.pool.get().await.unwrap();
    let code = ledger::NewAccount::person(
        setup.person_id,
        prison_services::CALL_CREDIT,
        ledger::Currency::EUR,
    )
    .code;
    let call_credit = ledger::store::account_by_code(&client, &code)
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(money(world, call_credit).await, (20_00, 0));

    // A call holds 3.00 of the credit and costs 2.50 when it ends.
    let call = phone
        .authorize("call-1", setup.person_id, 3_00, "call")
        .await
        .unwrap();
    assert!(call.approved(), "{:?}", call.body);
    assert_eq!(money(world, call_credit).await, (20_00, 3_00));
    let ended = phone
        .step("call-1", "capture", "call-1-end", Some(2_50))
        .await
        .unwrap();
    assert_eq!(ended.status, 200);
    assert_eq!(money(world, call_credit).await, (17_50, 0));
    // Spendable is untouched by calls.
    assert_eq!(money(world, setup.spendable).await, (180_00, 0));

    let long_call = phone
        .authorize("call-2", setup.person_id, 30_00, "call")
        .await
        .unwrap();
    assert_eq!(long_call.body["approved"], false);
    assert_eq!(long_call.body["decline_reason"], "insufficient_call_credit");
    assert_eq!(money(world, call_credit).await, (17_50, 0));

    // The kiosk shows the call credit as a balance, and the calls and top-up as purchases.
    let home = kiosk_home(world).await;
    assert!(home.contains("Puhelinsaldo"), "{home}");
    assert!(home.contains("Vankilan palvelut"), "{home}");
    assert!(home.contains("Maksettu 2,50"), "{home}");
    assert!(home.contains("Hylätty"), "{home}");

    // At release the unspent credit goes back to spendable (and so is paid out with it).
    let officer = world
        .staff("officer2", &[Role::Officer], world.prison_a)
        .await;
    let released = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!("/prisoners/{}/release", setup.person_id),
        ))
        .bearer_auth(&officer.token)
        .json(&json!({"idempotency_key": "release-1", "savings": "to_spendable"}))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200);
    assert_eq!(money(world, call_credit).await, (0, 0));
    assert_eq!(money(world, setup.spendable).await, (197_50, 0));
    let report = world.db.ledger().verify().await.unwrap();
    assert!(report.is_ok(), "{report:?}");

    // Call credit is the telephony service's alone.
    let wrong = canteen
        .authorize("top-2", setup.person_id, 5_00, "call_credit")
        .await
        .unwrap();
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.body["code"], "purpose_not_for_service");
}

#[tokio::test]
async fn an_offline_stand_in_books_within_the_reservation_and_never_beyond() {
    let setup = setup().await;
    let world = &setup.world;
    let canteen = service(&setup, "canteen", "canteen", "5411").await;

    let (mut till, answer) = OfflineTill::reserve(&canteen, "reserve-1", setup.person_id, 20_00)
        .await
        .unwrap();
    assert!(answer.approved(), "{:?}", answer.body);
    assert_eq!(money(world, setup.spendable).await, (200_00, 20_00));

    // Saldo unreachable: the till approves within what is reserved, and no further.
    assert_eq!(till.sell_offline("sale-1", 8_00), TillAnswer::Approved);
    assert_eq!(till.sell_offline("sale-2", 10_00), TillAnswer::Approved);
    assert_eq!(
        till.sell_offline("sale-3", 5_00),
        TillAnswer::BeyondReservation
    );
    assert_eq!(money(world, setup.spendable).await, (200_00, 20_00));

    // Back online: the advices are booked against the reservation.
    let answers = till.send_advices(&canteen).await.unwrap();
    assert_eq!(answers.len(), 2);
    assert!(
        answers.iter().all(|answer| answer.status == 200),
        "{answers:?}"
    );
    assert!(till.pending.is_empty());
    assert_eq!(money(world, setup.spendable).await, (182_00, 2_00));

    // An advice beyond what remains reserved is refused and books nothing.
    let beyond = canteen
        .step("reserve-1", "advice", "sale-3", Some(5_00))
        .await
        .unwrap();
    assert_eq!(beyond.status, 409);
    assert_eq!(beyond.body["code"], "beyond_reservation");
    // A repeated advice changes nothing.
    let repeated = canteen
        .step("reserve-1", "advice", "sale-1", Some(8_00))
        .await
        .unwrap();
    assert_eq!(repeated.status, 200);
    assert_eq!(repeated.body["captured_minor"], 18_00);
    assert_eq!(money(world, setup.spendable).await, (182_00, 2_00));
    // The kiosk shows the open hold of the reservation and what was paid from it.
    let home = kiosk_home(world).await;
    assert!(home.contains("Varattu 2,00"), "{home}");
    assert!(home.contains("Maksettu 18,00"), "{home}");

    // What is left of the reservation is released; a reservation is not captured directly.
    let direct = canteen
        .step("reserve-1", "capture", "reserve-1-capture", Some(1_00))
        .await
        .unwrap();
    assert_eq!(direct.status, 409);
    let released = canteen
        .step("reserve-1", "release", "reserve-1-release", None)
        .await
        .unwrap();
    assert_eq!(released.status, 200);
    assert_eq!(money(world, setup.spendable).await, (182_00, 0));
    let report = world.db.ledger().verify().await.unwrap();
    assert!(report.is_ok(), "{report:?}");

    // A revoked key speaks for the service no more.
    let key_id: i64 = world
        .db
        .raw_client()
        .await
        .query_one(
            "select id from services.keys where service_id = $1",
            &[&canteen.service_id],
        )
        .await
        .unwrap()
        .get(0);
    let revoked = world
        .http
        .delete(world.prison_url(
            world.prison_a,
            &format!("/services/{}/keys/{key_id}", canteen.service_id),
        ))
        .bearer_auth(&setup.approver.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let refused = canteen
        .authorize("after-revoke", setup.person_id, 1_00, "purchase")
        .await
        .unwrap();
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (401, Some("no_secrets"))
    );
}

#[tokio::test]
async fn bad_service_configuration_is_refused_with_a_stable_code() {
    let setup = setup().await;
    let world = &setup.world;
    for (body, code) in [
        (
            json!({"code": "Canteen", "kind": "canteen", "mcc": "5411", "currency": "EUR"}),
            "service_code_invalid",
        ),
        (
            json!({"code": "c", "kind": "casino", "mcc": "5411", "currency": "EUR"}),
            "service_kind_invalid",
        ),
        (
            json!({"code": "c", "kind": "canteen", "mcc": "54", "currency": "EUR"}),
            "mcc_invalid",
        ),
    ] {
        let response = world
            .http
            .post(world.prison_url(world.prison_a, "/services"))
            .bearer_auth(&setup.approver.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some(code)));
    }
    let client = world.db.raw_client().await;
    let count: i64 = client
        .query_one("select count(*) from services.catalogue", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_subscription_stops_when_the_person_moves_to_another_prison() {
    let setup = setup().await;
    let world = &setup.world;
    give_policy(world, world.prison_b).await;
    let tv = service(&setup, "tv", "tv_rental", "7841").await;
    let subscribed = tv
        .subscribe("tv-2", setup.person_id, 5_00, 7)
        .await
        .unwrap();
    assert_eq!(subscribed.status, 200, "{:?}", subscribed.body);
    let now = OffsetDateTime::now_utc() + Duration::seconds(1);
    let pool = &world.db.pool;
    assert_eq!(
        prison_services::charge_due(pool, now)
            .await
            .unwrap()
            .charged,
        1
    );

    let officer = world
        .staff("officer2", &[Role::Officer], world.prison_a)
        .await;
    let moved = world
        .http
        .post(world.prison_url(
            world.prison_a,
            &format!("/prisoners/{}/transfer", setup.person_id),
        ))
        .bearer_auth(&officer.token)
        .json(&json!({"idempotency_key": "move-1", "to_prison_id": world.prison_b}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200, "{:?}", moved.text().await);

    let run = prison_services::charge_due(pool, now + Duration::days(7))
        .await
        .unwrap();
    assert_eq!((run.charged, run.stopped), (0, 1));
    assert_eq!(money(world, setup.spendable).await, (195_00, 0));
    // Nor can the old prison's service sell to them any more.
    let refused = tv
        .authorize("after-move", setup.person_id, 1_00, "purchase")
        .await
        .unwrap();
    assert_eq!(refused.status, 404);
    let reason: Option<String> = world
        .db
        .raw_client()
        .await
        .query_one("select stop_reason from services.subscriptions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason.as_deref(), Some("transferred"));
}

#[tokio::test]
async fn a_malformed_service_id_in_the_path_is_a_problem_not_plain_text() {
    let world = World::new().await;
    for path in [
        "/service-api/not-a-uuid/authorizations",
        "/service-api/not-a-uuid/subscriptions",
        "/service-api/not-a-uuid/authorizations/r-1/capture",
    ] {
        let response = world
            .http
            .post(world.url(path))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_path")),
            "{path}"
        );
    }
}
