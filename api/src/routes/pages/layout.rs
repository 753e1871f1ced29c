//! The staff pages' shell, stylesheet, money formatting and refusals.
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};

use super::i18n::{StaffTexts, autonym, texts};
use crate::problem::Problem;
use ledger::controls::Lang;

const CSS: &str = "
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;font-size:16px;margin:0;color:#111;background:#fff}
header{background:#0b3d91;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header a{color:#fff}
header form{margin-left:auto}
header nav a{display:inline-block;min-height:24px;padding:2px 4px;margin-right:4px}
main{padding:20px;max-width:1100px}
h1{font-size:26px;margin:0 0 14px}
h2{font-size:20px;margin:24px 0 10px}
label{display:block;margin:10px 0 4px;font-weight:600}
input,select{font-size:16px;padding:8px;border:1px solid #555;border-radius:4px;max-width:420px;width:100%}
button{font-size:16px;padding:8px 16px;margin:8px 8px 0 0;border:1px solid #0b3d91;border-radius:4px;background:#0b3d91;color:#fff;cursor:pointer}
.secondary{background:#fff;color:#0b3d91}
table{border-collapse:collapse;width:100%;margin:8px 0}
td,th{padding:6px 8px;border-bottom:1px solid #ccc;text-align:left}
main li{margin:6px 0}
main a{display:inline-block;min-height:24px;padding:2px 0}
.amount{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.message{padding:10px;border:1px solid #b00020;background:#fdecea;border-radius:4px}
.inline{display:inline}
";

/// `GET /staff/style.css`.
#[utoipa::path(get, path = "/staff/style.css", tag = "staff pages",
    responses((status = 200, description = "The staff pages' stylesheet", content_type = "text/css", body = String)))]
pub async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

/// A whole page in `texts`' language; `signed_in` adds the navigation and the sign-out button.
/// Every page offers the six languages (each named in itself).
pub fn page_in(texts: &StaffTexts, title: &str, signed_in: bool, body: Markup) -> Markup {
    let switch_to = if signed_in {
        "/staff/home"
    } else {
        "/staff/sign-in"
    };
    html! {
        (DOCTYPE)
        html lang=(texts.lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Saldo" }
                link rel="stylesheet" href="/staff/style.css";
            }
            body {
                header {
                    strong { "Saldo" }
                    @if signed_in {
                        a href="/staff/home" { (texts.home) }
                    }
                    nav aria-label=(texts.language) {
                        @for lang in Lang::ALL {
                            a href={ (switch_to) "?lang=" (lang.as_str()) } lang=(lang.as_str())
                                hreflang=(lang.as_str())
                                aria-current=[(lang == texts.lang).then_some("true")] {
                                (autonym(lang))
                            }
                            " "
                        }
                    }
                    @if signed_in {
                        form method="post" action="/staff/sign-out" {
                            button.secondary type="submit" { (texts.sign_out) }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// Minor units as text, e.g. `-12.50 EUR`, with integer arithmetic only.
pub fn money(amount_minor: i64, currency: &str) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let magnitude = amount_minor.unsigned_abs();
    if currency == "ISK" {
        return format!("{sign}{magnitude} {currency}");
    }
    format!(
        "{sign}{}.{:02} {currency}",
        magnitude / 100,
        magnitude % 100
    )
}

/// A refused page: no session goes to the sign-in page; anything else is shown as a page with
/// the problem's status and stable code.
pub fn refused(problem: Problem) -> Response {
    refused_in(texts(Lang::En), problem)
}

/// [`refused`] in `texts`' language (the problem's detail stays as the API words it).
pub fn refused_in(texts: &StaffTexts, problem: Problem) -> Response {
    if problem.status == StatusCode::UNAUTHORIZED.as_u16() {
        return Redirect::to("/staff/sign-in").into_response();
    }
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        page_in(
            texts,
            texts.not_done,
            true,
            html! {
                p.message role="alert" {
                    (problem.detail.clone().unwrap_or_else(|| problem.title.clone()))
                    " (" (problem.code) ")"
                }
                p { a href="/staff/home" { (texts.back_home) } }
            },
        ),
    )
        .into_response()
}
