//! Registering a browser as a kiosk with a device token pasted into a form.
use crate::api_support::World;

#[tokio::test]
async fn a_pasted_device_token_registers_the_browser_as_a_kiosk() {
    let world = World::new().await;
    let token = world.kiosk_device(world.prison_a).await;
    let form = world
        .http
        .get(world.url("/kiosk/enrol"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("name=\"token\""));

    let response = world
        .http
        .post(world.url("/kiosk/enrol"))
        .header("origin", &world.base)
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with(&format!("saldo_kiosk_device={token};")),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly"));
    // With the cookie, the kiosk's sign-in page opens.
    let page = world
        .http
        .get(world.url("/kiosk"))
        .header("cookie", format!("saldo_kiosk_device={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn an_unknown_device_token_is_refused_and_sets_nothing() {
    let world = World::new().await;
    let response = world
        .http
        .post(world.url("/kiosk/enrol"))
        .header("origin", &world.base)
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}
