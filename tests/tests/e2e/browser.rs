//! A real browser: Debian's chromium, headless, driven over the Chrome DevTools protocol (a
//! small client over one WebSocket, no framework). It signs in at the kiosk and reads a balance
//! from the rendered page, and signs in as finance staff and reads the trial balance. Nothing is
//! skipped: without chromium these tests fail and say how to install it.
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use saldo::auth::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use crate::api_support::*;

pub(crate) const WAIT: Duration = Duration::from_secs(30);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) struct Browser {
    child: tokio::process::Child,
    socket: Socket,
    session: String,
    next_id: u64,
    profile: std::path::PathBuf,
}

fn chromium_path() -> String {
    for candidate in ["chromium", "chromium-browser"] {
        if let Ok(output) = std::process::Command::new("which").arg(candidate).output()
            && output.status.success()
        {
            return String::from_utf8_lossy(&output.stdout).trim().to_owned();
        }
    }
    panic!(
        "chromium is not installed; these browser tests need it. Install it with \
         `apt-get update && apt-get install -y chromium` (.ci/run does this)"
    );
}

impl Browser {
    pub(crate) async fn launch() -> Browser {
        let profile =
            std::env::temp_dir().join(format!("saldo-chromium-{}", uuid::Uuid::new_v4().simple()));
        let mut child = tokio::process::Command::new(chromium_path())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium did not start");
        // Chromium prints its DevTools WebSocket address on stderr once it listens.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(address) = line.strip_prefix("DevTools listening on ") {
                    return address.trim().to_owned();
                }
            }
            panic!("chromium exited without a DevTools address");
        })
        .await
        .expect("chromium did not open DevTools in time");
        // Keep draining stderr so chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (socket, _) = tokio_tungstenite::connect_async(address.as_str())
            .await
            .expect("DevTools connection");
        let mut browser = Browser {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            profile,
        };
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser
    }

    /// Sends one command (to the page once attached) and waits for its answer.
    pub(crate) async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        tokio::time::timeout(WAIT, async {
            loop {
                let Some(Ok(frame)) = self.socket.next().await else {
                    panic!("DevTools connection closed during {method}");
                };
                let Ok(text) = frame.to_text() else { continue };
                let Ok(reply) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                if reply["id"] == json!(id) {
                    assert!(reply["error"].is_null(), "{method} failed: {reply}");
                    return reply["result"].clone();
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{method} got no answer"))
    }

    pub(crate) async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    pub(crate) async fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        let path = url::path_of(url);
        self.wait_for_page(&path).await;
    }

    /// Waits until the page at `path` has loaded.
    pub(crate) async fn wait_for_page(&mut self, path: &str) {
        let check = format!(
            "location.pathname === {} && document.readyState === 'complete'",
            json!(path)
        );
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.eval(&check).await != json!(true) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the browser never reached {path}; it is at {} showing: {}",
                self.eval("location.href").await,
                self.eval("document.body ? document.body.innerText : ''")
                    .await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types into the form's fields and presses its submit button, as a person would.
    pub(crate) async fn submit(&mut self, form_action: &str, fields: &[(&str, &str)]) {
        let mut script = String::new();
        for (id, value) in fields {
            script.push_str(&format!(
                "document.getElementById({}).value = {};",
                json!(id),
                json!(value)
            ));
        }
        script.push_str(&format!(
            "document.querySelector('form[action=' + {} + '] button[type=submit]').click(); true",
            json!(json!(form_action).to_string())
        ));
        assert_eq!(self.eval(&script).await, json!(true), "could not submit");
    }

    pub(crate) async fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Makes this browser a registered kiosk: its device token as the cookie an admin's
    /// enrolment sets (`/kiosk/enrol`).
    pub(crate) async fn use_kiosk_device(&mut self, base: &str, device: &str) {
        self.call(
            "Network.setCookie",
            json!({"name": "saldo_kiosk_device", "value": device, "url": base,
                   "httpOnly": true, "sameSite": "Strict"}),
        )
        .await;
    }

    pub(crate) async fn close(mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

mod url {
    /// The path of an absolute `http://host/path?query` URL.
    pub fn path_of(url: &str) -> String {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path = rest.find('/').map_or("/", |slash| &rest[slash..]);
        path.split('?').next().unwrap_or("/").to_owned()
    }
}

#[tokio::test]
async fn a_prisoner_signs_in_at_the_kiosk_in_a_real_browser_and_sees_their_balance() {
    let world = World::new().await;
    let staff = world
        .staff(
            "browser.staff",
            &[Role::Officer, Role::Finance],
            world.prison_a,
        )
        .await;
    let person = world.admit(&staff, world.prison_a, "BR-1").await;
    world
        .cash_at_intake(&staff, world.prison_a, person, 1250, "br-1")
        .await;
    let device = world.kiosk_device(world.prison_a).await;

    let mut browser = Browser::launch().await;
    // The kiosk browser carries its device token as a cookie, set up once by an admin.
    browser.use_kiosk_device(&world.base, &device).await;
    browser.goto(&world.url("/kiosk?lang=en")).await;
    browser
        .submit(
            "/kiosk/sign-in",
            &[("prisoner_number", "BR-1"), ("pin", PIN)],
        )
        .await;
    browser.wait_for_page("/kiosk/home").await;
    let text = browser.text().await;
    browser.close().await;
    // The prisoner's language is Finnish: 12,50 € available on the spendable account.
    assert!(
        text.contains("12,50"),
        "the kiosk home page does not show the balance: {text}"
    );
    assert!(!text.contains("Matti"), "the kiosk shows no name");
}

#[tokio::test]
async fn finance_staff_sign_in_in_a_real_browser_and_see_the_trial_balance() {
    let world = World::new().await;
    let officer = world
        .staff(
            "browser.officer",
            &[Role::Officer, Role::Finance],
            world.prison_a,
        )
        .await;
    let person = world.admit(&officer, world.prison_a, "BR-2").await;
    world
        .cash_at_intake(&officer, world.prison_a, person, 4321, "br-2")
        .await;
    world
        .staff_with_password("browser.finance", Role::Finance, world.prison_a)
        .await;

    let mut browser = Browser::launch().await;
    browser.goto(&world.url("/staff/sign-in")).await;
    browser
        .submit(
            "/staff/sign-in",
            &[("username", "browser.finance"), ("password", PASSWORD)],
        )
        .await;
    browser.wait_for_page("/staff/home").await;
    let home = browser.text().await;
    browser.goto(&world.url("/staff/trial-balance")).await;
    let rows = browser
        .eval(
            "Array.from(document.querySelectorAll('tbody tr'))
                .map(row => Array.from(row.cells).map(cell => cell.innerText))",
        )
        .await;
    let totals = browser
        .eval("Array.from(document.querySelectorAll('tfoot th')).map(cell => cell.innerText)")
        .await;
    browser.close().await;
    assert!(home.contains("Trial balance"), "home page: {home}");
    let spendable = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row[0] == "prisoners:spendable:EUR")
        .unwrap_or_else(|| panic!("no spendable line in {rows}"));
    assert_eq!(
        spendable[4], "43.21 EUR",
        "credit of the prisoners' accounts"
    );
    let cash = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row[0] == "institution:cash_on_hand:EUR")
        .unwrap_or_else(|| panic!("no cash line in {rows}"));
    assert_eq!(cash[3], "43.21 EUR", "debit of cash on hand");
    assert_eq!(totals[1], "balanced", "totals: {totals}");
}
