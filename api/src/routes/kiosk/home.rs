//! `GET /kiosk/home`: the prisoner's balances, recent transactions and card status.
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::i18n::texts;
use super::layout::page as shell;
use crate::auth::kiosk::KioskSession;
use crate::identity::{self, PrisonerField};
use crate::problem::Problem;
use crate::services::balances::{balances_of, recent_lines};
use crate::state::AppState;

const RECENT_LINES: usize = 10;
const RECENT_CARD_PAYMENTS: i64 = 10;
const RECENT_SERVICE_PURCHASES: i64 = 10;

/// A recording time as the prison's clock shows it.
fn local_time(at: time::OffsetDateTime, time_zone: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_second(at.unix_timestamp())
        .map(|ts| {
            ts.to_zoned(time_zone.clone())
                .strftime("%d.%m.%Y %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

pub async fn page(
    State(state): State<AppState>,
    session: KioskSession,
) -> Result<Response, Problem> {
    let texts = texts(session.language);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let found = identity::store::consult_prisoner(
        &tx,
        &session.accessor(),
        Some(session.device.prison_id),
        session.person_id,
        &[
            PrisonerField::Balances,
            PrisonerField::Statement,
            PrisonerField::Card,
        ],
    )
    .await?;
    if found.is_none() {
        // Moved to another prison since signing in: this kiosk shows nothing more.
        tx.commit().await?;
        return Ok(Redirect::to("/kiosk").into_response());
    }
    let prison = identity::store::prison(&tx, session.device.prison_id).await?;
    let time_zone = prison
        .and_then(|prison| jiff::tz::TimeZone::get(&prison.time_zone).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let balances = balances_of(&tx, session.person_id).await?;
    let spendable = balances
        .iter()
        .find(|b| b.purpose == ledger::person_purpose::SPENDABLE)
        .map(|b| b.account_id);
    let lines = match spendable {
        Some(account_id) => recent_lines(&tx, account_id, RECENT_LINES).await?,
        None => Vec::new(),
    };
    let card = super::card_status(&tx, session.person_id).await;
    let payments =
        super::recent_card_payments(&tx, session.person_id, RECENT_CARD_PAYMENTS).await?;
    let service_purchases = crate::services::prison_services::purchases_of(
        &tx,
        session.person_id,
        RECENT_SERVICE_PURCHASES,
    )
    .await?;
    // Where and how the family pays in: the trust account and the person's own reference.
    let bank_transfer = match recon::trust_account::current(&tx, session.device.prison_id).await {
        Ok(Some(trust)) => {
            crate::services::bank_rail::reference_of(&tx, session.person_id, "kiosk")
                .await
                .ok()
                .map(|reference| {
                    (
                        recon::trust_account::grouped_iban(&trust.iban),
                        ledger::rf_reference::grouped(&reference),
                    )
                })
        }
        _ => None,
    };
    tx.commit().await?;
    Ok(shell(
        texts,
        true,
        html! {
            h1 { (texts.title) }
            h2 { (texts.balances) }
            table {
                thead { tr { th {} th.amount { (texts.available) } th.amount { (texts.held) } } }
                tbody {
                    @for balance in &balances {
                        tr {
                            td { (texts.purpose(&balance.purpose)) }
                            td.amount { (texts.money(&balance.available)) }
                            td.amount { (texts.money(&balance.held)) }
                        }
                    }
                }
            }
            h2 { (texts.card) }
            table {
                tr {
                    td { (texts.card_mode) }
                    td.amount {
                        @match card.mode {
                            Some(mode) => (texts.mode(mode)),
                            None => (texts.not_available_yet),
                        }
                    }
                }
                tr {
                    td { (texts.weekly_left) }
                    td.amount {
                        @match &card.weekly_limit_left {
                            Some(left) => (texts.money(left)),
                            None => (texts.not_available_yet),
                        }
                    }
                }
            }
            h2 { (texts.card_payments) }
            @if payments.is_empty() {
                p { (texts.no_transactions) }
            } @else {
                table.payments {
                    thead {
                        tr {
                            th { (texts.date) }
                            th { (texts.merchant) }
                            th.amount { (texts.amount) }
                            th { (texts.result) }
                        }
                    }
                    tbody {
                        @for payment in &payments {
                            tr {
                                td { (local_time(payment.at, &time_zone)) }
                                td { (payment.merchant.as_deref().unwrap_or("")) }
                                td.amount { (texts.money(&payment.requested)) }
                                td {
                                    @match payment.decision.as_deref() {
                                        Some("APPROVE") => {
                                            (texts.approved)
                                            @if let Some(key) = &payment.reason_key {
                                                br; small { (texts.reason(key)) }
                                            }
                                        }
                                        Some(_) => {
                                            strong { (texts.declined) }
                                            br;
                                            (texts.reason(payment.reason_key.as_deref().unwrap_or("")))
                                        }
                                        None => (texts.pending),
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !service_purchases.is_empty() {
                h2 { (texts.service_purchases) }
                table.services {
                    thead {
                        tr {
                            th { (texts.date) }
                            th { (texts.service) }
                            th.amount { (texts.amount) }
                            th { (texts.result) }
                        }
                    }
                    tbody {
                        @for purchase in &service_purchases {
                            tr {
                                td { (local_time(purchase.at, &time_zone)) }
                                td { (purchase.service_code) }
                                td.amount { (texts.money(&purchase.requested)) }
                                td {
                                    @if !purchase.approved {
                                        strong { (texts.declined) }
                                        br;
                                        (texts.reason(purchase.decline_reason.as_deref().unwrap_or("")))
                                    } @else {
                                        @if purchase.held.is_positive() {
                                            (texts.held) " " (texts.money(&purchase.held))
                                            br;
                                        }
                                        @if purchase.captured.is_positive() {
                                            (texts.paid) " " (texts.money(&purchase.captured))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some((iban, reference)) = &bank_transfer {
                h2 { (texts.bank_transfers) }
                dl #bank-transfer {
                    dt { "IBAN" } dd { (iban) }
                    dt { (texts.reference) } dd.reference { (reference) }
                }
            }
            h2 { (texts.recent) }
            @if lines.is_empty() {
                p { (texts.no_transactions) }
            } @else {
                table {
                    thead { tr { th { (texts.date) } th { (texts.description) } th.amount { (texts.amount) } } }
                    tbody {
                        @for line in &lines {
                            tr {
                                td { (local_time(line.recorded_at, &time_zone)) }
                                td { (texts.entry_description(&line.description)) }
                                td.amount { (texts.money(&line.amount)) }
                            }
                        }
                    }
                }
            }
            div {
                a.button href="/kiosk/pin" { (texts.change_pin) }
                form.inline method="post" action="/kiosk/sign-out" {
                    button.secondary type="submit" { (texts.sign_out) }
                }
            }
        },
    )
    .into_response())
}
