//! `GET /staff/sign-in`, `POST /staff/sign-in` and `POST /staff/sign-out`.
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::i18n::{LangQuery, StaffTexts, choose, texts};
use super::layout::{page_in, refused};
use crate::auth::sign_in::{Outcome, authenticate, session_cookie};
use crate::auth::{self, Staff};
use crate::http::{ApiQuery, ClientOrigin, HtmlForm};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInForm {
    username: String,
    password: String,
}

fn form(t: &StaffTexts, message: Option<&str>) -> Markup {
    page_in(
        t,
        t.sign_in,
        false,
        html! {
            @if let Some(message) = message { p.message role="alert" { (message) } }
            form method="post" action="/staff/sign-in" {
                label for="username" { (t.username) }
                input id="username" name="username" autocomplete="username" required maxlength="64";
                label for="password" { (t.password) }
                input id="password" name="password" type="password" autocomplete="current-password"
                    required maxlength="256";
                div { button type="submit" { (t.sign_in) } }
            }
        },
    )
}

#[utoipa::path(get, path = "/staff/sign-in", tag = "staff pages",
    description = "In the language asked for (`lang`, then kept in a cookie), else the browser's, \
        else English.",
    params(LangQuery),
    responses((status = 200, description = "The sign-in form", content_type = "text/html", body = String)))]
pub async fn show(headers: HeaderMap, ApiQuery(query): ApiQuery<LangQuery>) -> Response {
    let chosen = choose(query.asked(), &headers, &[]);
    let markup = form(texts(chosen.lang), None);
    match chosen.set_cookie {
        Some(cookie) => ([(header::SET_COOKIE, cookie)], markup).into_response(),
        None => markup.into_response(),
    }
}

#[utoipa::path(post, path = "/staff/sign-in", tag = "staff pages",
    request_body(content_type = "application/x-www-form-urlencoded", content = SignInForm),
    responses((status = 303, description = "Signed in: the `saldo_staff` cookie and on to /staff/home"),
              (status = 401, description = "The form again, with a message", content_type = "text/html", body = String)))]
pub async fn submit(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    HtmlForm(request): HtmlForm<SignInForm>,
) -> Result<Response, Problem> {
    let t = texts(choose(None, &headers, &[]).lang);
    Ok(
        match authenticate(&state, &origin.ip, &request.username, request.password).await? {
            Outcome::SignedIn(_, session) => (
                [(header::SET_COOKIE, session_cookie(&session, origin.https))],
                Redirect::to("/staff/home"),
            )
                .into_response(),
            Outcome::Failed => {
                (StatusCode::UNAUTHORIZED, form(t, Some(t.wrong_credentials))).into_response()
            }
            Outcome::Locked(_) => {
                (StatusCode::TOO_MANY_REQUESTS, form(t, Some(t.locked_out))).into_response()
            }
            Outcome::Busy => (
                StatusCode::TOO_MANY_REQUESTS,
                [(
                    header::RETRY_AFTER,
                    crate::secret::HashingBusy::RETRY_AFTER_SECONDS.to_string(),
                )],
                form(t, Some(t.sign_in_busy)),
            )
                .into_response(),
        },
    )
}

#[utoipa::path(post, path = "/staff/sign-out", tag = "staff pages",
    responses((status = 303, description = "Signed out: on to /staff/sign-in")))]
pub async fn sign_out(
    State(state): State<AppState>,
    staff: Result<Staff, Problem>,
) -> Result<Response, Problem> {
    if let Ok(staff) = staff {
        let client = state.pool.get().await?;
        auth::end_staff_session(&client, &staff.session_sha256).await?;
    }
    let expired = crate::http::session_cookie(auth::STAFF_COOKIE, "", "/", 0, false);
    Ok((
        [(header::SET_COOKIE, expired)],
        Redirect::to("/staff/sign-in"),
    )
        .into_response())
}

/// `GET /staff`: the home page, or the sign-in page without a session.
#[utoipa::path(get, path = "/staff", tag = "staff pages",
    responses((status = 303, description = "To /staff/home or /staff/sign-in")))]
pub async fn root(staff: Result<Staff, Problem>) -> Response {
    match staff {
        Ok(_) => Redirect::to("/staff/home").into_response(),
        Err(problem) => refused(problem),
    }
}
