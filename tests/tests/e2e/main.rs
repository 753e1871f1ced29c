//! End-to-end tests against a real PostgreSQL: one binary, one module per area.
mod api_access_log;
mod api_bad_input;
mod api_kiosk;
mod api_login;
mod api_roles;
mod api_staff;
mod api_support;
mod card_booking;
mod card_webhook;
mod fixtures;
mod ledger_concurrency;
mod ledger_entries;
mod ledger_holds;
mod ledger_properties;
mod ledger_verify;
mod recon;
mod server;
