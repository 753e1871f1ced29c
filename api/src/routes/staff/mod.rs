//! The staff JSON API. Every handler names its [`crate::auth::Policy`] through
//! [`crate::auth::RequireRole`]; routes under `/api/staff/prisons/{prison_id}/` are scoped to that
//! prison. See docs/api.md for the table of routes and roles.
mod access_log;
mod adjustment_decide;
mod adjustment_list;
mod adjustment_propose;
mod admit;
mod balances;
mod bank_reference;
mod card_actions;
mod close;
mod dead_letter_retry;
mod dead_letters;
mod deposit;
mod deposit_review;
mod depositors;
mod entitlements;
mod fee_policies;
mod fee_report;
mod freeze;
mod freeze_resolve;
mod kiosk_devices;
mod leave_end;
mod leave_grant;
mod login;
mod logout;
mod lookup;
mod me;
mod parked_events;
mod payout_file;
mod payouts;
mod payroll_import;
mod pin;
mod policies;
mod policy_overrides;
mod prisoner;
mod rectify;
mod release;
mod restriction;
mod sender_approval;
mod service_catalogue;
mod service_daily;
mod service_keys;
mod staff_accounts;
mod statement;
mod transfer;
mod trial_balance;
mod trust_account;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::state::AppState;

pub use fee_report::FeeReportReaders;

/// The staff API's routes and their OpenAPI description, built together: every route is added
/// through its handler's `#[utoipa::path]`, so a route cannot exist without being documented.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login::login))
        .routes(routes!(logout::logout))
        .routes(routes!(me::me))
        .routes(routes!(trial_balance::json))
        .routes(routes!(trial_balance::csv))
        .routes(routes!(entitlements::statement))
        .routes(routes!(entitlements::proof))
        .routes(routes!(staff_accounts::create))
        .routes(routes!(kiosk_devices::issue))
        .routes(routes!(admit::admit))
        .routes(routes!(lookup::lookup))
        .routes(routes!(prisoner::show))
        .routes(routes!(balances::show))
        .routes(routes!(statement::show))
        .routes(routes!(pin::reset))
        .routes(routes!(deposit::record))
        .routes(routes!(depositors::create))
        .routes(routes!(access_log::search))
        .routes(routes!(adjustment_propose::propose))
        .routes(routes!(adjustment_list::list))
        .routes(routes!(adjustment_decide::approve))
        .routes(routes!(adjustment_decide::reject))
        .routes(routes!(dead_letters::list))
        .routes(routes!(dead_letters::show))
        .routes(routes!(dead_letter_retry::retry))
        .routes(routes!(parked_events::list))
        .routes(routes!(card_actions::freeze))
        .routes(routes!(card_actions::unfreeze))
        .routes(routes!(card_actions::reissue))
        .routes(routes!(leave_grant::grant))
        .routes(routes!(leave_end::end))
        .routes(routes!(transfer::transfer))
        .routes(routes!(release::release))
        .routes(routes!(close::close))
        .routes(routes!(freeze::freeze))
        .routes(routes!(freeze_resolve::resolve))
        .routes(routes!(rectify::rectify))
        .routes(routes!(restriction::restrict, restriction::lift))
        .routes(routes!(payroll_import::post))
        .routes(routes!(deposit_review::list))
        .routes(routes!(deposit_review::approve))
        .routes(routes!(deposit_review::reject))
        .routes(routes!(sender_approval::set))
        .routes(routes!(policies::list, policies::post))
        .routes(routes!(policy_overrides::grant))
        .routes(routes!(policy_overrides::revoke))
        .routes(routes!(trust_account::show, trust_account::set))
        .routes(routes!(bank_reference::show))
        .routes(routes!(payouts::list))
        .routes(routes!(payout_file::write))
        .routes(routes!(fee_report::json))
        .routes(routes!(fee_report::csv))
        .routes(routes!(fee_policies::list))
        .routes(routes!(fee_policies::set))
        .routes(routes!(service_catalogue::list, service_catalogue::create))
        .routes(routes!(service_keys::issue))
        .routes(routes!(service_keys::revoke))
        .routes(routes!(service_daily::totals))
        .routes(routes!(service_daily::reconcile))
}

pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(axum::middleware::from_fn(crate::http::same_origin_only))
        .layer(axum::middleware::from_fn(crate::http::security_headers))
}

/// The `{prison_id}/…/{person_id}` pair of a prisoner route.
#[derive(serde::Deserialize)]
struct PrisonerPath {
    #[allow(dead_code)]
    prison_id: Uuid,
    person_id: Uuid,
}
