//! Helpers for the staff API and kiosk tests: a running server, two prisons, staff with each
//! role, admitted prisoners, kiosk devices.
use saldo::auth::{self, Grant, Role};
use saldo::identity::{self, NewPrison};
use saldo_tests::TestDb;
use serde_json::{Value, json};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";
pub const PIN: &str = "4321";

pub struct World {
    pub db: TestDb,
    /// The running app's state (its password-hashing gate can be read).
    pub app: saldo::state::AppState,
    pub base: String,
    pub http: reqwest::Client,
    pub prison_a: Uuid,
    pub prison_b: Uuid,
}

/// A member of staff with a live session.
pub struct StaffUser {
    pub id: Uuid,
    pub token: String,
}

impl World {
    pub async fn new() -> World {
        World::configured(|state| state).await
    }

    /// A world whose app is configured beyond the defaults (trusted proxies, hashing limits).
    pub async fn configured(
        configure: impl FnOnce(saldo::state::AppState) -> saldo::state::AppState,
    ) -> World {
        let db = TestDb::new().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = configure(
            saldo::state::AppState::new(db.pool.clone()).with_statement_key(
                ::entitlements::ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
            ),
        );
        tokio::spawn(saldo::app::serve(app.clone(), listener));
        let client = db.pool.get().await.unwrap();
        let mut prisons = Vec::new();
        for (code, zone, country) in [
            ("HEL", "Europe/Helsinki", "FI"),
            ("BRU", "Europe/Brussels", "BE"),
        ] {
            prisons.push(
                identity::store::create_prison(
                    &client,
                    &NewPrison {
                        code: code.into(),
                        name: format!("{code} prison"),
                        time_zone: zone.into(),
                        country: country.into(),
                    },
                )
                .await
                .unwrap()
                .id,
            );
        }
        World {
            db,
            app,
            base: format!("http://{address}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            prison_a: prisons[0],
            prison_b: prisons[1],
        }
    }

    /// Cash the prisoner brought at intake, recorded by `staff` over the API (201 asserted).
    pub async fn cash_at_intake(
        &self,
        staff: &StaffUser,
        prison_id: Uuid,
        person: Uuid,
        amount_minor: i64,
        idempotency_key: &str,
    ) {
        let response = self
            .http
            .post(self.prison_url(prison_id, &format!("/prisoners/{person}/deposits")))
            .bearer_auth(&staff.token)
            .json(
                &json!({"idempotency_key": idempotency_key, "source": "cash_at_intake",
                          "amount_minor": amount_minor, "currency": "EUR"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "cash at intake");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn prison_url(&self, prison_id: Uuid, rest: &str) -> String {
        self.url(&format!("/api/staff/prisons/{prison_id}{rest}"))
    }

    /// A staff account with the given roles in one prison and a session made directly (no
    /// argon2 per test: the login route has its own tests).
    pub async fn staff(&self, username: &str, roles: &[Role], prison_id: Uuid) -> StaffUser {
        let client = self.db.pool.get().await.unwrap();
        let grants: Vec<Grant> = roles
            .iter()
            .map(|&role| Grant { prison_id, role })
            .collect();
        let id = auth::create_staff(&client, username, "not-a-password-hash", &grants)
            .await
            .unwrap();
        let session = auth::start_staff_session(&client, id).await.unwrap();
        StaffUser {
            id,
            token: session.token,
        }
    }

    /// A staff account that can sign in with [`PASSWORD`].
    pub async fn staff_with_password(&self, username: &str, role: Role, prison_id: Uuid) -> Uuid {
        let client = self.db.pool.get().await.unwrap();
        let hash = saldo::secret::hash(PASSWORD.to_owned()).await.unwrap();
        auth::create_staff(&client, username, &hash, &[Grant { prison_id, role }])
            .await
            .unwrap()
    }

    /// Admits a prisoner through the API; returns the person id.
    /// Posts an admission request as `officer`, whatever its answer.
    pub async fn post_admission(
        &self,
        officer: &StaffUser,
        prison_id: Uuid,
        request: &Value,
    ) -> reqwest::Response {
        self.http
            .post(self.prison_url(prison_id, "/prisoners"))
            .bearer_auth(&officer.token)
            .json(request)
            .send()
            .await
            .unwrap()
    }

    pub async fn admit(&self, officer: &StaffUser, prison_id: Uuid, number: &str) -> Uuid {
        let response = self
            .post_admission(officer, prison_id, &admission(number))
            .await;
        assert_eq!(response.status(), 201, "admission failed");
        let body: Value = response.json().await.unwrap();
        body["person_id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn kiosk_device(&self, prison_id: Uuid) -> String {
        let client = self.db.pool.get().await.unwrap();
        let admin = auth::create_staff(
            &client,
            &format!("kioskadmin-{}", Uuid::new_v4().simple()),
            "x",
            &[Grant {
                prison_id,
                role: Role::Admin,
            }],
        )
        .await
        .unwrap();
        auth::kiosk::issue_device(&client, prison_id, "test kiosk", admin)
            .await
            .unwrap()
            .1
    }

    /// Rows of the access log, oldest first: (actor_id, action, subject, fields, purpose, outcome).
    pub async fn access_log(&self) -> Vec<LogRow> {
        let client = self.db.raw_client().await;
        client
            .query(
                "select actor_id, action, subject_kind, subject_person_id, fields, purpose, outcome,
                        prison_id
                 from audit.access_log order by id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| LogRow {
                actor_id: row.get(0),
                action: row.get(1),
                subject_kind: row.get(2),
                subject_person_id: row.get(3),
                fields: row.get(4),
                purpose: row.get(5),
                outcome: row.get(6),
                prison_id: row.get(7),
            })
            .collect()
    }

    /// Counts of every identity, auth and ledger table: "nothing changed" is checked against it.
    pub async fn table_counts(&self) -> Vec<i64> {
        let client = self.db.raw_client().await;
        let row = client
            .query_one(
                "select (select count(*) from identity.prisoners), (select count(*) from identity.depositors),
                        (select count(*) from auth.staff), (select count(*) from auth.staff_grants),
                        (select count(*) from auth.kiosk_devices), (select count(*) from auth.kiosk_pins),
                        (select count(*) from ledger_accounts), (select count(*) from journal_entries),
                        (select count(*) from journal_postings)",
                &[],
            )
            .await
            .unwrap();
        (0..9).map(|i| row.get(i)).collect()
    }
}

#[derive(Debug, Clone)]
pub struct LogRow {
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub subject_kind: String,
    pub subject_person_id: Option<Uuid>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub outcome: String,
    pub prison_id: Option<Uuid>,
}

pub fn admission(number: &str) -> Value {
    json!({
        "prisoner_number": number,
        "full_name": "Matti Meikäläinen",
        "national_id": "010190-123A",
        "date_of_birth": "1990-01-01",
        "preferred_language": "fi",
        "unit": "B2",
        "payout_iban": "FI2112345600000785",
        "pin": PIN,
    })
}

pub async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("application/problem+json".to_owned()),
        "status {status} is not problem+json"
    );
    (status, response.json().await.unwrap())
}

/// Gives a prison of the World the closed-prison template (Helsinki time).
pub async fn give_policy(world: &World, prison_id: Uuid) {
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let policy = ledger::policy_store::publish_policy(
        &tx,
        &ledger::controls::Policy::closed_prison(
            &format!("closed-{}", prison_id.simple()),
            1,
            "FI",
            &[crate::controls_support::CANTEEN],
        ),
        Some(prison_id),
        crate::controls_support::POLICIES_FROM,
        "test",
    )
    .await
    .unwrap();
    ledger::policy_store::assign_policy(
        &tx,
        prison_id,
        policy.regime,
        &policy.id,
        "Europe/Helsinki",
        crate::controls_support::POLICIES_FROM,
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// A prisoner admitted through the API, with an active card registered as the processor would
/// have it, and `deposit_minor` on spendable.
pub async fn with_card(
    world: &World,
    person_id: Uuid,
    deposit_minor: i64,
) -> crate::controls_support::Prisoner {
    let mut client = world.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let accounts = ledger::accounts::PersonAccounts::of(&tx, person_id, ledger::Currency::EUR)
        .await
        .unwrap();
    let card_id = format!("card_{}", Uuid::new_v4().simple());
    card_adapter::booking::register_card(
        &tx,
        &card_id,
        "ch_lifecycle",
        person_id,
        accounts.spendable,
        "ACTIVE",
        Some("4821"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ledger = world.db.ledger();
    let bank = crate::fixtures::open_institution(
        &ledger,
        ledger::institution_purpose::BANK_TRUST,
        ledger::AccountType::Asset,
    )
    .await;
    let prisoner = crate::controls_support::Prisoner {
        pool: world.db.pool.clone(),
        ledger,
        person_id,
        accounts,
        card_id,
        bank,
    };
    if deposit_minor > 0 {
        prisoner.credit(deposit_minor).await;
    }
    prisoner
}
