//! `GET /staff/sign-in`, `POST /staff/sign-in` and `POST /staff/sign-out`.
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{page, refused};
use crate::auth::sign_in::{Outcome, authenticate, session_cookie};
use crate::auth::{self, Staff};
use crate::http::{ClientOrigin, HtmlForm};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInForm {
    username: String,
    password: String,
}

fn form(message: Option<&str>) -> Markup {
    page(
        "Sign in",
        false,
        html! {
            @if let Some(message) = message { p.message role="alert" { (message) } }
            form method="post" action="/staff/sign-in" {
                label for="username" { "Username" }
                input id="username" name="username" autocomplete="username" required maxlength="64";
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password"
                    required maxlength="256";
                div { button type="submit" { "Sign in" } }
            }
        },
    )
}

#[utoipa::path(get, path = "/staff/sign-in", tag = "staff pages",
    responses((status = 200, description = "The sign-in form", content_type = "text/html", body = String)))]
pub async fn show() -> Markup {
    form(None)
}

#[utoipa::path(post, path = "/staff/sign-in", tag = "staff pages",
    request_body(content_type = "application/x-www-form-urlencoded", content = SignInForm),
    responses((status = 303, description = "Signed in: the `saldo_staff` cookie and on to /staff/home"),
              (status = 401, description = "The form again, with a message", content_type = "text/html", body = String)))]
pub async fn submit(
    State(state): State<AppState>,
    origin: ClientOrigin,
    HtmlForm(request): HtmlForm<SignInForm>,
) -> Result<Response, Problem> {
    Ok(
        match authenticate(&state, &origin.ip, &request.username, request.password).await? {
            Outcome::SignedIn(_, session) => (
                [(header::SET_COOKIE, session_cookie(&session, origin.https))],
                Redirect::to("/staff/home"),
            )
                .into_response(),
            Outcome::Failed => (
                StatusCode::UNAUTHORIZED,
                form(Some("Wrong username or password.")),
            )
                .into_response(),
            Outcome::Locked(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                form(Some("Too many failed sign-ins. Try again later.")),
            )
                .into_response(),
            Outcome::Busy => (
                StatusCode::TOO_MANY_REQUESTS,
                [(
                    header::RETRY_AFTER,
                    crate::secret::HashingBusy::RETRY_AFTER_SECONDS.to_string(),
                )],
                form(Some("Too many sign-ins at once. Try again in a moment.")),
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
