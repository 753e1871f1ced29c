//! End-to-end tests against a real PostgreSQL: one binary, one module per area.
mod card_booking;
mod fixtures;
mod ledger_concurrency;
mod ledger_entries;
mod ledger_holds;
mod ledger_properties;
mod ledger_verify;
mod server;
mod api_staff;
mod api_support;
