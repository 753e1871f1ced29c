//! The staff pages and the kiosk in fi, sv, en, nl, fr and de: chosen with `?lang=` and kept,
//! or the language the person's prisons name; nothing left blank or in English (read in
//! headless Chromium, as a person would see it).
use ledger::controls::Lang;
use saldo::auth::Role;
use serde_json::json;

use crate::api_support::*;
use crate::browser::Browser;

/// The lines a person reads on the page, and its `lang` and title.
async fn read(browser: &mut Browser) -> (String, String, Vec<String>) {
    let lang = browser.eval("document.documentElement.lang").await;
    let title = browser.eval("document.title").await;
    let lines = browser
        .text()
        .await
        .lines()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    (
        lang.as_str().unwrap_or_default().to_owned(),
        title.as_str().unwrap_or_default().to_owned(),
        lines,
    )
}

/// Lines the same in every language: the product's name, the languages' own names (the switch
/// buttons, in any case, side by side), and what names a person or a prison.
fn same_everywhere(line: &str) -> bool {
    let autonyms = [
        "suomi",
        "svenska",
        "English",
        "Nederlands",
        "français",
        "Deutsch",
    ];
    // "PIN" is the German word too.
    line == "Saldo"
        || line == "PIN"
        || autonyms
            .iter()
            .fold(line.to_lowercase(), |rest, name| {
                rest.replace(&name.to_lowercase(), "")
            })
            .trim()
            .is_empty()
        || line.contains("lang.approver")
        || line.contains("HEL prison")
        || line.contains("DEP-1")
        || line.chars().all(|c| !c.is_alphabetic())
}

#[tokio::test]
async fn the_staff_sign_in_and_home_pages_read_in_each_of_six_languages_with_nothing_left_in_english()
 {
    let world = World::new().await;
    world
        .staff_with_password("lang.approver", Role::FinanceApprover, world.prison_a)
        .await;
    let mut browser = Browser::launch().await;
    browser.goto(&world.url("/staff/sign-in?lang=en")).await;
    let english_sign_in = read(&mut browser).await;
    browser
        .submit(
            "/staff/sign-in",
            &[("username", "lang.approver"), ("password", PASSWORD)],
        )
        .await;
    browser.wait_for_page("/staff/home").await;
    let english_home = read(&mut browser).await;
    assert_eq!(english_home.0, "en");
    assert!(
        english_home.2.iter().any(|l| l == "Trial balance"),
        "{english_home:?}"
    );

    for lang in Lang::ALL.into_iter().filter(|lang| *lang != Lang::En) {
        let code = lang.as_str();
        // The sign-in page asked for in the language; the home page keeps it (the cookie).
        browser
            .goto(&world.url(&format!("/staff/sign-in?lang={code}")))
            .await;
        let sign_in = read(&mut browser).await;
        browser.goto(&world.url("/staff/home")).await;
        let home = read(&mut browser).await;
        for ((page_lang, title, lines), english) in
            [(sign_in, &english_sign_in), (home, &english_home)]
        {
            assert_eq!(page_lang, code);
            assert_ne!(title, english.1, "{code}: the title is English");
            assert_eq!(lines.len(), english.2.len(), "{code}: {lines:?}");
            let left_in_english: Vec<&String> = lines
                .iter()
                .filter(|line| english.2.contains(line) && !same_everywhere(line))
                .collect();
            assert!(
                left_in_english.is_empty(),
                "{code}: {left_in_english:?} in {lines:?}"
            );
        }
    }
    browser.close().await;
}

/// `page` (lang, title, lines) read in `code` against the same page in English: the language
/// is marked, the title and every line that is words are not English's.
fn assert_translated(
    code: &str,
    url: &str,
    page: &(String, String, Vec<String>),
    english: &(String, String, Vec<String>),
) {
    let (page_lang, title, lines) = page;
    assert_eq!(page_lang, code, "{url}");
    assert_ne!(title, &english.1, "{code} {url}: the title is English");
    assert_eq!(lines.len(), english.2.len(), "{code} {url}: {lines:?}");
    let left_in_english: Vec<&String> = lines
        .iter()
        .filter(|line| english.2.contains(line) && !same_everywhere(line))
        .collect();
    assert!(
        left_in_english.is_empty(),
        "{code} {url}: {left_in_english:?} in {lines:?}"
    );
}

/// The pages of one prison and the service-wide ones, read by a person holding every role there, with what they need:
/// an admitted prisoner with a deposit, a family deposit held for review, an adjustment
/// proposed by someone else.
#[tokio::test]
#[allow(clippy::inconsistent_digit_grouping)]
async fn the_prison_pages_read_in_each_of_six_languages_with_nothing_left_in_english() {
    let world = World::new().await;
    let staff = world
        .staff(
            "lang.everyone",
            &[
                Role::Officer,
                Role::Finance,
                Role::FinanceApprover,
                Role::Auditor,
                Role::Admin,
            ],
            world.prison_a,
        )
        .await;
    let desk = crate::api_deposit_review::Desk::new(&world).await;
    desk.held(&world, 300_00).await;
    let person = desk.person;
    let proposal = world
        .http
        .post(world.prison_url(world.prison_a, &format!("/prisoners/{person}/adjustments")))
        .bearer_auth(&desk.recorder.token)
        .json(
            &json!({"account": "spendable", "institution_account": "suspense",
                      "direction": "credit_prisoner", "amount_minor": 12_50, "currency": "EUR",
                      "reason_code": "correction", "reason": "x"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(proposal.status(), 201);
    world
        .cash_at_intake(&staff, world.prison_a, person, 123_456, "lang-1")
        .await;
    let prison = world.prison_a;
    let pages = [
        format!("/staff/prisons/{prison}/prisoners/{person}?purpose=case_management"),
        format!("/staff/prisons/{prison}/deposits"),
        format!("/staff/prisons/{prison}/adjustments"),
        format!("/staff/prisons/{prison}/payroll"),
        format!("/staff/prisons/{prison}/policies"),
        "/staff/trial-balance".to_owned(),
        "/staff/dead-letters".to_owned(),
        format!("/staff/prisons/{prison}/fees"),
        format!("/staff/prisons/{prison}/pms"),
    ];

    let mut browser = Browser::launch().await;
    browser
        .call(
            "Network.setCookie",
            json!({"name": saldo::auth::STAFF_COOKIE, "value": staff.token, "url": world.base,
                   "httpOnly": true, "sameSite": "Strict"}),
        )
        .await;
    let with_lang = |url: &str, code: &str| {
        let joiner = if url.contains('?') { '&' } else { '?' };
        world.url(&format!("{url}{joiner}lang={code}"))
    };
    let mut english = Vec::new();
    for url in &pages {
        browser.goto(&with_lang(url, "en")).await;
        english.push(read(&mut browser).await);
    }
    // English as it always was: the codes and amounts as the JSON API writes them.
    assert!(
        english[0]
            .2
            .iter()
            .any(|l| l.starts_with("spendable") && l.contains("1234.56 EUR")),
        "{:?}",
        english[0]
    );
    let has = |lines: &[String], wanted: &[&str]| {
        lines.iter().any(|l| wanted.iter().all(|w| l.contains(w)))
    };
    assert!(has(&english[1].2, &["300.00 EUR"]), "{:?}", english[1]);
    assert!(
        has(
            &english[2].2,
            &["suspense → spendable", "correction", "proposed"]
        ),
        "{:?}",
        english[2]
    );
    for lang in Lang::ALL.into_iter().filter(|lang| *lang != Lang::En) {
        let code = lang.as_str();
        for (url, english) in pages.iter().zip(&english) {
            browser.goto(&with_lang(url, code)).await;
            let page = read(&mut browser).await;
            assert_translated(code, url, &page, english);
            if lang == Lang::Nl && url.contains("/prisoners/") {
                assert!(has(&page.2, &["Zakgeld", "€\u{a0}1.234,56"]), "{page:?}");
            }
            if lang == Lang::De && url.ends_with("/deposits") {
                assert!(has(&page.2, &["300,00\u{a0}€", "Annehmen"]), "{page:?}");
            }
            if lang == Lang::Fr && url.ends_with("/adjustments") {
                assert!(
                    has(
                        &page.2,
                        &[
                            "Compte d'attente → Argent disponible",
                            "Rectification",
                            "proposée"
                        ]
                    ),
                    "{page:?}"
                );
            }
        }
    }
    browser.close().await;
}

#[tokio::test]
async fn the_staff_home_starts_in_the_language_the_prisons_name_until_another_is_chosen() {
    let world = World::new().await;
    let officer = world
        .staff("lang.officer", &[Role::Officer], world.prison_b)
        .await;
    let home = |cookie: String, query: &'static str| {
        world
            .http
            .get(world.url(&format!("/staff/home{query}")))
            .header("cookie", cookie)
            .send()
    };
    let session = format!("saldo_staff={}", officer.token);
    let lang_of = |html: &str| {
        html.split("lang=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned()
    };
    let page = home(session.clone(), "")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(lang_of(&page), "en");

    let client = world.db.pool.get().await.unwrap();
    saldo::identity::store::set_prison_default_language(&client, world.prison_b, Some(Lang::Nl))
        .await
        .unwrap();
    let page = home(session.clone(), "")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(lang_of(&page), "nl");
    assert!(page.contains("Gedetineerde zoeken"), "{page}");

    // A choice wins, and is kept.
    let response = home(session.clone(), "?lang=fr").await.unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("saldo_staff_lang=fr;"), "{cookie}");
    assert_eq!(lang_of(&response.text().await.unwrap()), "fr");
    let page = home(format!("{session}; saldo_staff_lang=fr"), "")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(lang_of(&page), "fr");
    assert!(page.contains("Rechercher un détenu"), "{page}");

    // Not a language: not a choice (as on the kiosk); the prison's stays.
    let response = home(session, "?lang=xx").await.unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(lang_of(&response.text().await.unwrap()), "nl");
}

/// A form's answer and a refusal follow the prison's language: the cash receipt at release, a
/// bad leave form, and the prisoner page after them.
#[tokio::test]
async fn the_answers_to_the_prisoner_pages_forms_come_in_the_prisons_language() {
    let world = World::new().await;
    let officer = world
        .staff("lang.gate", &[Role::Officer, Role::Finance], world.prison_a)
        .await;
    let person = world.admit(&officer, world.prison_a, "GATE-DE").await;
    world
        .cash_at_intake(&officer, world.prison_a, person, 4321, "gate-de")
        .await;
    let client = world.db.pool.get().await.unwrap();
    saldo::identity::store::set_prison_default_language(&client, world.prison_a, Some(Lang::De))
        .await
        .unwrap();
    let base = format!("/staff/prisons/{}/prisoners/{person}", world.prison_a);
    let post = |path: String, body: Vec<(&'static str, String)>| {
        world
            .http
            .post(world.url(&path))
            .header("cookie", format!("saldo_staff={}", officer.token))
            .header("sec-fetch-site", "same-origin")
            .form(&body)
            .send()
    };

    let page = world
        .http
        .get(world.url(&format!("{base}?purpose=case_management")))
        .header("cookie", format!("saldo_staff={}", officer.token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<html lang="de">"#), "{page}");
    assert!(
        page.contains("Salden") && page.contains("43,21\u{a0}€"),
        "{page}"
    );

    let bad = post(
        format!("{base}/leave"),
        vec![
            ("idempotency_key", "bad-1".into()),
            ("purpose", "case_management".into()),
            ("from", "tomorrow".into()),
            ("until", "later".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("Nicht ausgeführt") && bad.contains("(leave_invalid)"),
        "{bad}"
    );

    let receipt = post(
        format!("{base}/release"),
        vec![
            ("idempotency_key", "gate-de-1".into()),
            ("purpose", "release_preparation".into()),
            ("savings", "to_spendable".into()),
            ("payout", "cash".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(receipt.status(), 200);
    let receipt = receipt.text().await.unwrap();
    assert!(
        receipt.contains("Quittung über die Barauszahlung")
            && receipt.contains("43,21\u{a0}€")
            && receipt.contains("<dt>Gebühren</dt><dd>keine</dd>"),
        "{receipt}"
    );
    assert!(!receipt.contains("Cash payout receipt"), "{receipt}");
}

/// The kiosk's sign-in and home pages, switched to each language as a prisoner would (the
/// buttons at the top), read line by line against the English ones.
#[tokio::test]
async fn the_kiosk_reads_in_each_of_six_languages_with_nothing_blank_or_left_in_english() {
    let world = World::new().await;
    let staff = world
        .staff(
            "kiosk.lang",
            &[Role::Officer, Role::Finance],
            world.prison_a,
        )
        .await;
    let person = world.admit(&staff, world.prison_a, "KL-1").await;
    world
        .cash_at_intake(&staff, world.prison_a, person, 4250, "kl-1")
        .await;
    let device = world.kiosk_device(world.prison_a).await;
    let mut browser = Browser::launch().await;
    browser.use_kiosk_device(&world.base, &device).await;
    let mut sign_in_pages = Vec::new();
    for lang in Lang::ALL {
        browser
            .goto(&world.url(&format!("/kiosk?lang={}", lang.as_str())))
            .await;
        sign_in_pages.push((lang, read(&mut browser).await));
    }
    browser
        .submit(
            "/kiosk/sign-in",
            &[("prisoner_number", "KL-1"), ("pin", PIN)],
        )
        .await;
    browser.wait_for_page("/kiosk/home").await;
    let mut home_pages = Vec::new();
    for lang in Lang::ALL {
        let code = lang.as_str();
        let pressed = browser
            .eval(&format!(
                "document.querySelector('form[action=\"/kiosk/language\"] input[value=\"{code}\"]')\
                 .form.querySelector('button').click(); true"
            ))
            .await;
        assert_eq!(pressed, json!(true), "no {code} button");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while browser.eval("document.documentElement.lang").await != json!(code)
            || browser.eval("document.readyState").await != json!("complete")
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the kiosk never switched to {code}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        home_pages.push((lang, read(&mut browser).await));
    }
    browser.close().await;

    let english_home = &home_pages[Lang::ALL.iter().position(|l| *l == Lang::En).unwrap()].1;
    assert!(
        english_home.2.iter().any(|line| line.contains("42.50")),
        "{english_home:?}"
    );
    for pages in [&sign_in_pages, &home_pages] {
        let english = &pages.iter().find(|(lang, _)| *lang == Lang::En).unwrap().1;
        for (lang, (page_lang, _, lines)) in pages.iter().filter(|(lang, _)| *lang != Lang::En) {
            assert_eq!(page_lang, lang.as_str());
            assert_eq!(
                lines.len(),
                english.2.len(),
                "{lang:?}: {lines:?} / {:?}",
                english.2
            );
            let left_in_english: Vec<&String> = lines
                .iter()
                .filter(|line| english.2.contains(line) && !same_everywhere(line))
                .collect();
            assert!(
                left_in_english.is_empty(),
                "{lang:?}: {left_in_english:?} in {lines:?}"
            );
        }
    }
}
