//! WCAG 2.2 AA in a real browser (issue 19): axe-core, the accessibility engine, runs in headless
//! Chromium on the kiosk's pages and the main staff pages, and no serious or critical violation
//! may be found. axe-core comes from npm (`tests/a11y`, pinned by its lock file; scripts/test.sh
//! installs it); without it this test fails and says how to install it.
use saldo::auth::Role;
use serde_json::{Value, json};

use crate::api_support::*;
use crate::browser::Browser;

/// The rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe-core's tags).
const WCAG_AA_TAGS: &[&str] = &[
    "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa",
];

fn axe_source() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("a11y/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "axe-core is not installed at {} ({error}); install it with \
             `npm ci --prefix tests/a11y` (scripts/test.sh does this)",
            path.display()
        )
    })
}

impl Browser {
    /// Runs axe-core on the page as it stands; answers the violations of WCAG 2.2 AA.
    async fn axe_violations(&mut self, axe: &str) -> Vec<Value> {
        self.eval(axe).await;
        let run = format!(
            "axe.run(document, {{runOnly: {{type: 'tag', values: {}}}, resultTypes: ['violations']}})
                .then(result => JSON.stringify(result.violations.map(v => ({{
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))
                }}))))",
            json!(WCAG_AA_TAGS)
        );
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": run, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        let text = result["result"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("axe-core did not run: {result}"));
        serde_json::from_str(text).unwrap()
    }
}

/// The serious and critical violations, one line each, for the failure message.
fn serious(page: &str, violations: &[Value]) -> Vec<String> {
    violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            format!(
                "{page}: {} ({}): {} at {}",
                v["id"], v["impact"], v["help"], v["nodes"]
            )
        })
        .collect()
}

#[tokio::test]
async fn the_kiosk_and_the_main_staff_pages_have_no_serious_wcag_violation() {
    let axe = axe_source();
    let world = World::new().await;
    let staff = world
        .staff(
            "a11y.staff",
            &[
                Role::Officer,
                Role::Finance,
                Role::FinanceApprover,
                Role::Auditor,
            ],
            world.prison_a,
        )
        .await;
    let person = world.admit(&staff, world.prison_a, "AX-1").await;
    world
        .cash_at_intake(&staff, world.prison_a, person, 1250, "ax-1")
        .await;
    let device = world.kiosk_device(world.prison_a).await;

    let mut browser = Browser::launch().await;
    let mut found = Vec::new();
    let mut checked = Vec::new();

    // The kiosk, as a prisoner meets it.
    browser.use_kiosk_device(&world.base, &device).await;
    browser.goto(&world.url("/kiosk?lang=en")).await;
    found.extend(serious("/kiosk", &browser.axe_violations(&axe).await));
    checked.push("/kiosk");
    browser
        .submit(
            "/kiosk/sign-in",
            &[("prisoner_number", "AX-1"), ("pin", PIN)],
        )
        .await;
    browser.wait_for_page("/kiosk/home").await;
    found.extend(serious("/kiosk/home", &browser.axe_violations(&axe).await));
    checked.push("/kiosk/home");

    // The staff pages, signed in with every role in the prison.
    browser.goto(&world.url("/staff/sign-in")).await;
    found.extend(serious(
        "/staff/sign-in",
        &browser.axe_violations(&axe).await,
    ));
    checked.push("/staff/sign-in");
    browser
        .call(
            "Network.setCookie",
            json!({"name": saldo::auth::STAFF_COOKIE, "value": staff.token, "url": world.base,
                   "httpOnly": true, "sameSite": "Strict"}),
        )
        .await;
    let prison = world.prison_a;
    let staff_pages = [
        "/staff/home".to_owned(),
        format!("/staff/prisons/{prison}/prisoners/{person}?purpose=case_management"),
        format!("/staff/prisons/{prison}/deposits"),
        format!("/staff/prisons/{prison}/adjustments"),
        format!("/staff/prisons/{prison}/payroll"),
        format!("/staff/prisons/{prison}/policies"),
        "/staff/trial-balance".to_owned(),
        "/staff/recon".to_owned(),
        "/staff/dead-letters".to_owned(),
    ];
    for page in &staff_pages {
        browser.goto(&world.url(page)).await;
        let text = browser.text().await;
        assert!(
            !text.contains("Sign in") || page.ends_with("sign-in"),
            "{page} sent the browser to sign in: {text}"
        );
        found.extend(serious(page, &browser.axe_violations(&axe).await));
    }
    browser.close().await;
    assert!(
        found.is_empty(),
        "serious or critical WCAG 2.2 AA violations on {} pages:\n{}",
        checked.len() + staff_pages.len(),
        found.join("\n")
    );
}

/// WCAG 2.2.1: before an idle kiosk session ends the prisoner is told, with time to answer, and
/// one press keeps them signed in; when it ends, the sign-in page replaces their balance. The
/// page's own timings (90 s, then 30 s) are shortened in the page to keep the test quick: the
/// script is loaded again with an idle time of 4 s and a warning 3 s before its end.
#[tokio::test]
async fn a_kiosk_session_about_to_end_is_announced_and_one_press_keeps_it() {
    let axe = axe_source();
    let world = World::new().await;
    let officer = world
        .staff("a11y.officer", &[Role::Officer], world.prison_a)
        .await;
    world.admit(&officer, world.prison_a, "AX-2").await;
    let device = world.kiosk_device(world.prison_a).await;
    let mut browser = Browser::launch().await;
    browser.use_kiosk_device(&world.base, &device).await;
    browser.goto(&world.url("/kiosk?lang=en")).await;
    browser
        .submit(
            "/kiosk/sign-in",
            &[("prisoner_number", "AX-2"), ("pin", PIN)],
        )
        .await;
    browser.wait_for_page("/kiosk/home").await;
    let page_timings = browser
        .eval("[document.body.dataset.idleSeconds, document.body.dataset.warningSeconds]")
        .await;
    assert_eq!(
        page_timings,
        json!(["120", "30"]),
        "the server's idle limit and warning"
    );
    assert_eq!(
        browser
            .eval("document.getElementById('session-warning').hidden")
            .await,
        json!(true),
        "no warning while the session is young"
    );
    browser
        .eval(
            "document.body.dataset.idleSeconds = '4'; document.body.dataset.warningSeconds = '3';
             const again = document.createElement('script');
             again.src = '/kiosk/session.js'; document.body.appendChild(again); true",
        )
        .await;
    let shown = "!document.getElementById('session-warning').hidden";
    wait_until(&mut browser, shown).await;
    let warning = browser
        .eval("[document.getElementById('session-warning').innerText, document.activeElement.id]")
        .await;
    assert!(
        warning[0].as_str().unwrap().contains("30"),
        "the warning says how long is left: {warning}"
    );
    assert_eq!(warning[1], "session-stay", "the stay button has the focus");
    let violations = serious(
        "/kiosk/home with the warning",
        &browser.axe_violations(&axe).await,
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));

    browser
        .eval("document.getElementById('session-stay').click(); true")
        .await;
    wait_until(
        &mut browser,
        "document.getElementById('session-warning').hidden",
    )
    .await;
    assert_eq!(
        browser.eval("location.pathname").await,
        json!("/kiosk/home"),
        "staying kept the session"
    );
    // Nobody answers this time: the session's end shows the sign-in page.
    browser.wait_for_page("/kiosk").await;
    let sign_in_form = browser
        .eval("document.querySelector('form[action=\"/kiosk/sign-in\"]') !== null")
        .await;
    browser.close().await;
    assert_eq!(sign_in_form, json!(true), "the sign-in page is shown");
}

async fn wait_until(browser: &mut Browser, condition: &str) {
    let deadline = tokio::time::Instant::now() + crate::browser::WAIT;
    while browser.eval(condition).await != json!(true) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never became true: {condition}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
