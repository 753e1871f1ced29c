//! The prisoners' kiosk: device credential, sign-in with prisoner number and PIN, lockout,
//! balances and transactions, PIN change, language, idle expiry.
use clap::Parser;
use saldo::auth::Role;
use serde_json::json;
use uuid::Uuid;

use crate::api_support::*;

struct Kiosk<'a> {
    world: &'a World,
    device: String,
}

impl Kiosk<'_> {
    async fn get(&self, path: &str, session: Option<&str>) -> reqwest::Response {
        let mut request = self
            .world
            .http
            .get(self.world.url(path))
            .header("saldo-kiosk-device", &self.device);
        if let Some(session) = session {
            request = request.header("cookie", format!("saldo_kiosk={session}"));
        }
        request.send().await.unwrap()
    }

    async fn post(
        &self,
        path: &str,
        session: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .world
            .http
            .post(self.world.url(path))
            .header("saldo-kiosk-device", &self.device)
            .form(form);
        if let Some(session) = session {
            request = request.header("cookie", format!("saldo_kiosk={session}"));
        }
        request.send().await.unwrap()
    }

    async fn sign_in(&self, number: &str, pin: &str) -> reqwest::Response {
        self.post(
            "/kiosk/sign-in",
            None,
            &[("prisoner_number", number), ("pin", pin)],
        )
        .await
    }

    /// Signs in and returns the session token from the cookie.
    async fn session(&self, number: &str, pin: &str) -> String {
        let response = self.sign_in(number, pin).await;
        assert_eq!(response.status(), 303, "sign-in succeeds");
        assert_eq!(response.headers()["location"], "/kiosk/home");
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("saldo_kiosk=")
            .to_owned()
    }
}

async fn setup(world: &World) -> (Kiosk<'_>, Uuid) {
    let officer = world
        .staff("officer.a", &[Role::Officer], world.prison_a)
        .await;
    let finance = world
        .staff("finance.a", &[Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "K-1").await;
    let response = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/deposits")))
        .bearer_auth(&finance.token)
        .json(&json!({"idempotency_key": "k", "source": "cash_at_intake", "amount_minor": 4250, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let device = world.kiosk_device(world.prison_a).await;
    (Kiosk { world, device }, person)
}

#[tokio::test]
async fn a_prisoner_signs_in_and_sees_balances_and_transactions_in_their_own_language() {
    let world = World::new().await;
    let (kiosk, _) = setup(&world).await;
    let page = kiosk.get("/kiosk", None).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("lang=\"fi\""),
        "a Finnish prison's kiosk starts in Finnish"
    );
    assert!(!html.contains("<script"), "no JavaScript before signing in");

    let session = kiosk.session("K-1", PIN).await;
    let home = kiosk.get("/kiosk/home", Some(&session)).await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("Käyttövarat"), "the prisoner's language (fi)");
    assert!(
        html.contains("42,50\u{a0}€"),
        "the deposit shows as available: {html}"
    );
    assert!(
        html.contains("Käteinen vastaanotossa") && !html.contains("Cash at intake"),
        "the entry's description in the reader's language, not as stored: {html}"
    );
    assert!(
        html.contains("Ei vielä saatavilla"),
        "card status placeholder"
    );
    assert!(!html.contains("Matti"), "the kiosk shows no name");

    let switched = kiosk
        .post("/kiosk/language", Some(&session), &[("lang", "sv")])
        .await;
    assert_eq!(switched.status(), 303);
    let html = kiosk
        .get("/kiosk/home", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Disponibla medel") && html.contains("lang=\"sv\""));
    assert!(html.contains("Kontanter vid intagning"));
    kiosk
        .post("/kiosk/language", Some(&session), &[("lang", "en")])
        .await;
    let html = kiosk
        .get("/kiosk/home", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Spending money") && html.contains("€42.50"));

    let out = kiosk.post("/kiosk/sign-out", Some(&session), &[]).await;
    assert_eq!(out.status(), 303);
    let after = kiosk.get("/kiosk/home", Some(&session)).await;
    assert_eq!(
        (
            after.status().as_u16(),
            after.headers()["location"].to_str().unwrap()
        ),
        (303, "/kiosk")
    );
}

#[tokio::test]
async fn five_wrong_pins_lock_the_pin_until_the_lock_runs_out_or_an_officer_resets_it() {
    let world = World::new().await;
    let (kiosk, person) = setup(&world).await;
    for attempt in 1..=5 {
        let response = kiosk.sign_in("K-1", "0000").await;
        let expected = if attempt < 5 { 401 } else { 429 };
        assert_eq!(response.status(), expected, "attempt {attempt}");
    }
    let locked = kiosk.sign_in("K-1", PIN).await;
    assert_eq!(
        locked.status(),
        429,
        "the right PIN is refused while locked"
    );
    assert!(locked.text().await.unwrap().contains("Liian monta"));

    world
        .db
        .raw_client()
        .await
        .execute(
            "update auth.kiosk_pins set locked_until = now() - interval '1 second' where person_id = $1",
            &[&person],
        )
        .await
        .unwrap();
    kiosk.session("K-1", PIN).await;

    for _ in 0..5 {
        kiosk.sign_in("K-1", "0000").await;
    }
    assert_eq!(kiosk.sign_in("K-1", PIN).await.status(), 429);
    let officer = world
        .staff("officer.reset", &[Role::Officer], world.prison_a)
        .await;
    let reset = world
        .http
        .put(world.prison_url(world.prison_a, &format!("/prisoners/{person}/pin")))
        .bearer_auth(&officer.token)
        .json(&json!({"pin": "97531"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    kiosk.session("K-1", "97531").await;
}

#[tokio::test]
async fn an_unknown_number_and_a_wrong_pin_look_the_same() {
    let world = World::new().await;
    let (kiosk, _) = setup(&world).await;
    let unknown = kiosk.sign_in("NOBODY-9", PIN).await;
    let wrong = kiosk.sign_in("K-1", "1111").await;
    assert_eq!(
        (unknown.status().as_u16(), wrong.status().as_u16()),
        (401, 401)
    );
    let (unknown, wrong) = (unknown.text().await.unwrap(), wrong.text().await.unwrap());
    assert_eq!(unknown, wrong);
}

#[tokio::test]
async fn a_prisoner_of_another_prison_cannot_sign_in_at_this_kiosk() {
    let world = World::new().await;
    let (_, _) = setup(&world).await;
    let other_device = world.kiosk_device(world.prison_b).await;
    let kiosk_b = Kiosk {
        world: &world,
        device: other_device,
    };
    assert_eq!(kiosk_b.sign_in("K-1", PIN).await.status(), 401);
}

#[tokio::test]
async fn a_prisoner_changes_their_pin_with_the_current_one() {
    let world = World::new().await;
    let (kiosk, _) = setup(&world).await;
    let session = kiosk.session("K-1", PIN).await;
    assert_eq!(kiosk.get("/kiosk/pin", Some(&session)).await.status(), 200);
    let mismatch = kiosk
        .post(
            "/kiosk/pin",
            Some(&session),
            &[
                ("current_pin", PIN),
                ("new_pin", "1357"),
                ("new_pin_again", "1358"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    let wrong = kiosk
        .post(
            "/kiosk/pin",
            Some(&session),
            &[
                ("current_pin", "0000"),
                ("new_pin", "1357"),
                ("new_pin_again", "1357"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let changed = kiosk
        .post(
            "/kiosk/pin",
            Some(&session),
            &[
                ("current_pin", PIN),
                ("new_pin", "1357"),
                ("new_pin_again", "1357"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        kiosk.sign_in("K-1", PIN).await.status(),
        401,
        "the old PIN no longer works"
    );
    kiosk.session("K-1", "1357").await;
}

#[tokio::test]
async fn a_kiosk_session_ends_after_two_idle_minutes_and_on_another_device() {
    let world = World::new().await;
    let (kiosk, person) = setup(&world).await;
    let session = kiosk.session("K-1", PIN).await;
    let other = Kiosk {
        world: &world,
        device: world.kiosk_device(world.prison_a).await,
    };
    assert_eq!(
        other.get("/kiosk/home", Some(&session)).await.status(),
        303,
        "bound to its device"
    );
    assert_eq!(kiosk.get("/kiosk/home", Some(&session)).await.status(), 200);
    world
        .db
        .raw_client()
        .await
        .execute(
            "update auth.kiosk_sessions set last_seen_at = now() - interval '121 seconds' where person_id = $1",
            &[&person],
        )
        .await
        .unwrap();
    assert_eq!(kiosk.get("/kiosk/home", Some(&session)).await.status(), 303);
}

#[tokio::test]
async fn a_revoked_or_unknown_device_gets_no_kiosk() {
    let world = World::new().await;
    let (kiosk, _) = setup(&world).await;
    world
        .db
        .raw_client()
        .await
        .execute("update auth.kiosk_devices set revoked_at = now()", &[])
        .await
        .unwrap();
    let (status, body) = problem(kiosk.get("/kiosk", None).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("kiosk_device_required"))
    );
    let unknown = Kiosk {
        world: &world,
        device: "x".repeat(43),
    };
    assert_eq!(unknown.get("/kiosk", None).await.status(), 401);
}

#[tokio::test]
async fn the_kiosk_shows_card_payments_and_why_one_was_declined_in_the_prisoners_language() {
    use ledger::controls::{Lang, ReasonKey, reason_text};
    let world = World::new().await;
    let (kiosk, person) = setup(&world).await;
    give_policy(&world, world.prison_a).await;
    let prisoner = with_card(&world, person, 0).await;
    let canteen = prisoner
        .authorize(&prisoner.input("auth_kiosk_1", 1250))
        .await;
    assert!(canteen.approve, "{canteen:?}");
    let town = crate::controls_support::Prisoner::in_town(prisoner.input("auth_kiosk_2", 800));
    let outcome = prisoner.authorize(&town).await;
    assert_eq!(
        crate::controls_support::declined(&outcome),
        (
            Some("MERCHANT_BLOCKED"),
            Some("merchant_not_allowed_inside")
        )
    );

    let session = kiosk.session("K-1", PIN).await;
    let page = |lang: &'static str| {
        let kiosk = &kiosk;
        let session = session.clone();
        async move {
            let switched = kiosk
                .post("/kiosk/language", Some(&session), &[("lang", lang)])
                .await;
            assert_eq!(switched.status(), 303);
            let home = kiosk.get("/kiosk/home", Some(&session)).await;
            assert_eq!(home.status(), 200);
            home.text().await.unwrap()
        }
    };
    let inside = ReasonKey::MerchantNotAllowedInside;
    let html = page("fi").await;
    assert!(html.contains("Korttimaksut") && html.contains("Laitoksessa"));
    assert!(html.contains("CANTEEN") && html.contains("R-KIOSKI"));
    assert!(html.contains("12,50\u{a0}€") && html.contains("8,00\u{a0}€"));
    assert!(html.contains("Hyväksytty") && html.contains("Hylätty"));
    assert!(html.contains(reason_text(inside, Lang::Fi)), "{html}");
    assert!(
        !html.contains("merchant_not_allowed_inside") && !html.contains("MERCHANT_BLOCKED"),
        "no raw codes on the kiosk"
    );
    assert!(
        html.contains("30,00\u{a0}€"),
        "42.50 deposited less the 12.50 hold: {html}"
    );

    for (lang, words, language) in [
        (
            "de",
            ["Kartenzahlungen", "Abgelehnt", "In der Anstalt"],
            Lang::De,
        ),
        (
            "fr",
            ["Paiements par carte", "Refusé", "En détention"],
            Lang::Fr,
        ),
        ("nl", ["Kaartbetalingen", "Geweigerd", "Binnen"], Lang::Nl),
        (
            "sv",
            ["Kortbetalningar", "Avvisad", "I anstalten"],
            Lang::Sv,
        ),
        ("en", ["Card payments", "Declined", "Inside"], Lang::En),
    ] {
        let html = page(lang).await;
        assert!(html.contains(&format!("lang=\"{lang}\"")));
        for word in words {
            assert!(html.contains(word), "{lang}: {word}");
        }
        assert!(
            html.contains(reason_text(inside, language)),
            "{lang}: the reason in the page's language"
        );
    }
}

/// The kiosk's PIN sign-in goes through the same hashing gate as the staff sign-in: a burst runs
/// at most the bound of hashes at once, the excess gets the sign-in page again with 429 and
/// `Retry-After` (nothing counted against anyone), and unknown numbers cost a hash like known ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_kiosk_sign_ins_hashes_at_most_the_bound_at_once() {
    let world = World::configured(|state| {
        state.with_password_hashing(saldo::secret::HashingLimits {
            max_running: 2,
            max_waiting: 2,
            max_wait_ms: 1_000,
            max_per_client: 2,
        })
    })
    .await;
    let (kiosk, _) = setup(&world).await;
    let hashing = world.app.password_hashing.clone();
    let hashes_before = hashing.hashes_done();
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..40 {
        let request = world
            .http
            .post(world.url("/kiosk/sign-in"))
            .header("saldo-kiosk-device", &kiosk.device)
            .form(&[
                ("prisoner_number", format!("K-9{n:02}")),
                ("pin", "9999".into()),
            ]);
        burst.spawn(async move { request.send().await.unwrap() });
    }
    let (mut failed, mut busy, mut device_locked) = (0u64, 0u64, 0u64);
    while let Some(response) = burst.join_next().await {
        let response = response.unwrap();
        match (
            response.status().as_u16(),
            response.headers().contains_key("retry-after"),
        ) {
            (401, _) => failed += 1,
            (429, true) => busy += 1,
            (429, false) => device_locked += 1,
            (status, _) => panic!("unexpected status {status}"),
        }
    }
    assert!(
        busy > 0,
        "none refused: {failed} failed, {device_locked} locked"
    );
    assert!(
        (1..=2).contains(&hashing.peak_running()),
        "{} hashes ran at once",
        hashing.peak_running()
    );
    assert_eq!(
        hashing.hashes_done() - hashes_before,
        failed,
        "every failed sign-in (unknown numbers all) cost one hash, the refused none"
    );
}

#[tokio::test]
async fn a_belgian_prisons_kiosk_starts_in_the_language_the_prison_names() {
    let world = World::new().await;
    let kiosk = Kiosk {
        world: &world,
        device: world.kiosk_device(world.prison_b).await,
    };
    let lang_of = |html: &str| {
        html.split("lang=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned()
    };
    let page = kiosk.get("/kiosk", None).await.text().await.unwrap();
    assert_eq!(lang_of(&page), "en", "Belgium has several languages");

    let set_language = |language: &'static str| {
        saldo::cli::Cli::parse_from([
            "saldo",
            "--database-url",
            &world.db.url(),
            "prison",
            "set-language",
            "--code",
            "BRU",
            "--language",
            language,
        ])
    };
    saldo::cli::run(set_language("nl")).await.unwrap();
    let page = kiosk.get("/kiosk", None).await.text().await.unwrap();
    assert_eq!(lang_of(&page), "nl");
    assert!(page.contains("Aanmelden"), "{page}");
    // The prison's language does not override the page's own switch.
    let page = kiosk
        .get("/kiosk?lang=fr", None)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(lang_of(&page), "fr");

    assert!(saldo::cli::run(set_language("xx")).await.is_err());
    saldo::cli::run(set_language("country")).await.unwrap();
    let page = kiosk.get("/kiosk", None).await.text().await.unwrap();
    assert_eq!(lang_of(&page), "en");
}

#[tokio::test]
async fn the_kiosk_shows_the_trust_account_and_the_prisoners_own_reference_for_family_transfers() {
    let world = World::new().await;
    let (kiosk, person) = setup(&world).await;
    let session = kiosk.session("K-1", PIN).await;
    // No trust account configured: nothing to show.
    let html = kiosk
        .get("/kiosk/home", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("bank-transfer"));

    let approver = world
        .staff("approver.a", &[Role::FinanceApprover], world.prison_a)
        .await;
    let response = world
        .http
        .put(world.prison_url(world.prison_a, "/trust-account"))
        .bearer_auth(&approver.token)
        .json(&json!({"iban": "FI2112345600000785", "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = kiosk
        .get("/kiosk/home", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("FI21 1234 5600 0007 85"), "{html}");
    let staff_view: serde_json::Value = world
        .http
        .get(world.prison_url(
            world.prison_a,
            &format!("/prisoners/{person}/bank-reference"),
        ))
        .bearer_auth(&approver.token)
        .header("Saldo-Purpose", "deposit")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grouped = staff_view["reference_grouped"].as_str().unwrap();
    assert!(grouped.starts_with("RF"));
    assert!(html.contains(grouped), "the same reference: {html}");
}
