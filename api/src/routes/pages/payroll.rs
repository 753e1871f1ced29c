//! The payroll page: a form to paste a payroll file (`GET /staff/prisons/{prison_id}/payroll`)
//! and the post that imports it through the same function as the JSON route, showing what was
//! posted or which lines were refused.
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::payroll::{PayrollTexts, payroll_texts};
use super::i18n::{LangQuery, choose_for_prison, fill, minor_in};
use super::layout::{page_in, refused_in};
use crate::auth::{FinanceStaff, RequireRole};
use crate::http::{ApiPath, ApiQuery, HtmlForm};
use crate::identity;
use crate::problem::Problem;
use crate::services::payroll::{ImportError as PayrollImportError, PayKind, PayrollImport};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PrisonPath {
    prison_id: Uuid,
}

fn form(t: &PayrollTexts, prison_id: Uuid, today: &str) -> Markup {
    // A fresh key per form: submitting the same form twice posts the batch once.
    let key = Uuid::now_v7();
    html! {
        p { (t.one_line_per_payment) " " code { "person_id,amount,currency" }
            " (" (t.or) " " code { "prisoner_number" } ", " code { "amount_minor" } "). "
            (t.all_or_none) }
        form method="post" action={ "/staff/prisons/" (prison_id) "/payroll" } {
            input type="hidden" name="idempotency_key" value=(key);
            label for="kind" { (t.kind) }
            select id="kind" name="kind" {
                option value="wages" { (t.wages) }
                option value="allowance" { (t.allowance) }
            }
            label for="effective_date" { (t.pay_date) }
            input id="effective_date" name="effective_date" type="date" required value=(today);
            label for="description" { (t.description) }
            input id="description" name="description" maxlength="200" placeholder="Wages";
            label for="csv" { (t.file) }
            textarea id="csv" name="csv" rows="12" cols="70" required {}
            div { button type="submit" { (t.post) } }
        }
    }
}

async fn today(state: &AppState, prison_id: Uuid) -> Result<String, Problem> {
    let client = state.pool.get().await?;
    let prison = identity::store::prison(&client, prison_id)
        .await?
        .ok_or_else(|| Problem::not_found("prison"))?;
    Ok(crate::services::prison_today(&prison.time_zone).to_string())
}

#[utoipa::path(get, path = "/staff/prisons/{prison_id}/payroll", tag = "staff pages",
    description = "Roles: finance, finance_approver in the path's prison. In the language asked \
        for (`lang`, then kept), else the prison's, else the browser's, else English.",
    params(("prison_id" = uuid::Uuid, Path), LangQuery),
    responses((status = 200, description = "The payroll form", content_type = "text/html", body = String)))]
pub async fn show(
    State(state): State<AppState>,
    access: Result<RequireRole<FinanceStaff>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> Result<Response, Problem> {
    let chosen = choose_for_prison(&state, query.asked(), &headers, path.prison_id).await?;
    let staff_texts = chosen.texts();
    if let Err(problem) = access {
        return Ok(refused_in(staff_texts, problem));
    }
    let today = match today(&state, path.prison_id).await {
        Ok(today) => today,
        Err(problem) => return Ok(refused_in(staff_texts, problem)),
    };
    let t = payroll_texts(chosen.lang);
    Ok(chosen.respond(page_in(
        staff_texts,
        staff_texts.payroll,
        true,
        form(t, path.prison_id, &today),
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayrollForm {
    /// 1 to 100 printable ASCII characters.
    #[schema(min_length = 1, max_length = 100, pattern = "^[!-~]{1,100}$")]
    idempotency_key: String,
    kind: PayKind,
    #[schema(format = Date)]
    effective_date: String,
    /// Empty: `Wages` or `Allowance`.
    #[serde(default)]
    #[schema(max_length = 200)]
    description: String,
    /// The payroll file (see the JSON route).
    csv: String,
}

#[utoipa::path(post, path = "/staff/prisons/{prison_id}/payroll", tag = "staff pages",
    description = "Roles: finance, finance_approver in the path's prison.",
    params(("prison_id" = uuid::Uuid, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = PayrollForm),
    responses((status = 201, description = "Posted: what was posted", content_type = "text/html", body = String),
              (status = 422, description = "Refused: the bad lines", content_type = "text/html", body = String)))]
pub async fn post(
    State(state): State<AppState>,
    access: Result<RequireRole<FinanceStaff>, Problem>,
    ApiPath(path): ApiPath<PrisonPath>,
    headers: HeaderMap,
    HtmlForm(form_data): HtmlForm<PayrollForm>,
) -> Result<Response, Problem> {
    let chosen = choose_for_prison(&state, None, &headers, path.prison_id).await?;
    let staff_texts = chosen.texts();
    let t = payroll_texts(chosen.lang);
    let refused = |problem: Problem| refused_in(staff_texts, problem);
    let access = match access {
        Ok(access) => access,
        Err(problem) => return Ok(refused(problem)),
    };
    let Ok(effective_date) = time::Date::parse(
        &form_data.effective_date,
        time::macros::format_description!("[year]-[month]-[day]"),
    ) else {
        return Ok(refused(Problem::unprocessable(
            "date_invalid",
            "a date is YYYY-MM-DD",
        )));
    };
    let description = match form_data.description.trim() {
        "" => match form_data.kind {
            PayKind::Wages => "Wages".to_owned(),
            PayKind::Allowance => "Allowance".to_owned(),
        },
        text => text.to_owned(),
    };
    let request = PayrollImport {
        idempotency_key: form_data.idempotency_key,
        kind: form_data.kind,
        effective_date,
        description,
        csv: form_data.csv,
    };
    let prison_id = path.prison_id;
    match crate::services::payroll::import(&state, &access.staff, prison_id, &request).await {
        Ok(imported) => Ok((
            StatusCode::CREATED,
            page_in(
                staff_texts,
                t.posted_title,
                true,
                html! {
                    p { (fill(t.posted, &[
                        ("count", &imported.entries_posted.to_string()),
                        ("total", &minor_in(chosen.lang, imported.total_minor, &imported.currency)),
                        ("date", &imported.effective_date.to_string()),
                        ("version", &imported.rule_set_version.to_string()),
                    ])) }
                    p { a href={ "/staff/prisons/" (prison_id) "/payroll" } { (t.post_another) } }
                },
            ),
        )
            .into_response()),
        Err(PayrollImportError::Service(error)) => Ok(refused(error.into())),
        Err(PayrollImportError::Lines(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page_in(
                staff_texts,
                t.refused_title,
                true,
                html! {
                    p.message role="alert" { (fill(t.lines_invalid, &[("count", &errors.len().to_string())])) }
                    table id="line-errors" {
                        thead { tr { th { (t.line) } th { (t.problem) } } }
                        tbody {
                            @for error in errors.iter().take(100) {
                                tr { td { (error.line) } td { (error.code) } }
                            }
                        }
                    }
                    p { a href={ "/staff/prisons/" (prison_id) "/payroll" } { (t.back_to_form) } }
                },
            ),
        )
            .into_response()),
    }
}
