//! `saldo demo`: a Finnish and a Belgian prison side by side, seeded through the real paths
//! (HTTP admission and deposits, cards through the outbox and the processor simulator, service
//! purchases over the signed service API).
use saldo_tests::TestDb;

/// Signs in at the prison's kiosk and returns the home page.
async fn kiosk_home(
    http: &reqwest::Client,
    base: &str,
    device: &str,
    number: &str,
    pin: &str,
) -> String {
    let response = http
        .post(format!("{base}/kiosk/sign-in"))
        .header("saldo-kiosk-device", device)
        .form(&[("prisoner_number", number), ("pin", pin)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{number} signs in");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    http.get(format!("{base}/kiosk/home"))
        .header("saldo-kiosk-device", device)
        .header("cookie", session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn lang_of(html: &str) -> &str {
    html.split("lang=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_demo_shows_a_belgian_prison_in_dutch_and_french_beside_the_finnish_one() {
    let db = TestDb::new().await;
    let config: tokio_postgres::Config = db.url().parse().unwrap();
    let name = format!("saldo_demo_test_{}", uuid::Uuid::new_v4().simple());
    let demo = saldo::demo::start(config.clone(), "127.0.0.1:0", false, &name)
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let codes: Vec<&str> = demo.seeded.prisons.iter().map(|p| p.prison.code).collect();
    assert_eq!(codes, ["HML", "HAR"]);
    let mut seen = Vec::new();
    for seeded in &demo.seeded.prisons {
        let sign_in_page = http
            .get(format!("{}/kiosk", demo.base))
            .header("saldo-kiosk-device", &seeded.kiosk_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let expected = seeded.prison.default_language.unwrap().as_str();
        assert_eq!(lang_of(&sign_in_page), expected, "{}", seeded.prison.code);
        for prisoner in seeded.prison.prisoners {
            let home = kiosk_home(
                &http,
                &demo.base,
                &seeded.kiosk_token,
                prisoner.number,
                prisoner.pin,
            )
            .await;
            assert_eq!(lang_of(&home), prisoner.language, "{}", prisoner.number);
            seen.push((prisoner.language, home));
        }
    }
    let home_in = |language: &str| &seen.iter().find(|(l, _)| *l == language).unwrap().1;
    // The cash deposit at intake, in each reader's language.
    assert!(
        home_in("nl").contains("Contant geld bij opname"),
        "{}",
        home_in("nl")
    );
    assert!(
        home_in("fr").contains("Espèces à l'écrou"),
        "{}",
        home_in("fr")
    );
    assert!(
        home_in("fi").contains("Käteinen vastaanotossa"),
        "{}",
        home_in("fi")
    );
    // Each prison's first prisoner bought at its canteen and topped up call credit, over the
    // signed service API.
    for (language, bought, topped_up) in [
        (
            "nl",
            "Aankoop bij een dienst van de gevangenis",
            "Opwaardering belkrediet",
        ),
        ("fi", "Vankilan palvelun osto", "Puhelinsaldon lataus"),
    ] {
        let home = home_in(language);
        assert!(home.contains(bought) && home.contains(topped_up), "{home}");
    }

    // Every demo card carries its activity: five cards, all active, purchases booked.
    let demo_db = {
        let mut demo_config = config.clone();
        demo_config.dbname(&name);
        let (client, connection) = demo_config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    };
    let active_cards: i64 = demo_db
        .query_one(
            "select count(*) from card.cards where state = 'ACTIVE'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(active_cards, 5);
    // The canteen purchases on the cards of both prisons are booked.
    let buyers: Vec<uuid::Uuid> = demo_db
        .query(
            "select distinct c.person_id from card.cards c
             join journal_postings p on p.account_id = c.account_id
             join journal_entries e on e.id = p.entry_id
             where e.description = 'card purchase'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let person_of = |number: &str| {
        let index = saldo::demo::DEMO_PRISONS
            .iter()
            .flat_map(|prison| prison.prisoners)
            .position(|prisoner| prisoner.number == number)
            .unwrap();
        demo.seeded.people[index].person_id
    };
    for number in ["HML-0001", "HML-0002", "HAR-0001", "HAR-0002"] {
        assert!(buyers.contains(&person_of(number)), "{number}: {buyers:?}");
    }
    drop(demo_db);

    demo.server.abort();
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("drop database if exists {name} with (force)"))
        .await
        .unwrap();
}
