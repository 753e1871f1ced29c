//! `GET /kiosk/session.js`: the one script of the kiosk. Every page works without it; it only
//! warns `SESSION_WARNING_SECONDS` before an idle session ends and lets the prisoner stay signed
//! in with one press (WCAG 2.2.1, timing adjustable), then shows the sign-in page when the
//! session has ended, so the next person in the queue never finds the previous one's balance.
use axum::http::header;
use axum::response::IntoResponse;

const SCRIPT: &str = r#""use strict";
(function () {
  var body = document.body;
  var idleMs = Number(body.dataset.idleSeconds) * 1000;
  var warningMs = Number(body.dataset.warningSeconds) * 1000;
  var warning = document.getElementById("session-warning");
  var stay = document.getElementById("session-stay");
  if (!idleMs || !warningMs || !warning || !stay) return;
  var warnTimer = 0;
  var endTimer = 0;
  function start() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warning.hidden = true;
    warnTimer = setTimeout(function () {
      warning.hidden = false;
      stay.focus();
    }, idleMs - warningMs);
    endTimer = setTimeout(function () { location.assign("/kiosk"); }, idleMs);
  }
  // Any signed-in page touches the session; a redirect means it had already ended.
  stay.addEventListener("click", function () {
    fetch("/kiosk/home", { credentials: "same-origin", redirect: "manual" })
      .then(function (answer) {
        if (answer.status === 200) { start(); } else { location.assign("/kiosk"); }
      })
      .catch(function () { location.assign("/kiosk"); });
  });
  start();
})();
"#;

pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}
