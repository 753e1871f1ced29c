//! Saldo: the system of record for prisoners' money. This crate is the `saldo` binary's library:
//! configuration, command line, the embedded database, and the HTTP server.

/// The identity store, the access log and the privacy domain code live in their own crate (the
/// only one that holds or decrypts personal data); re-exported so `crate::identity::…` and
/// `saldo::identity::…` paths name it.
pub use identity;

pub mod app;
pub mod auth;
pub mod cli;
pub mod database;
pub mod demo;
pub mod embedded_pg;
pub mod entitlements_cli;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod privacy;
pub mod problem;
pub mod processor;
pub mod reconcile_cli;
pub mod routes;
pub mod schema;
pub mod secret;
pub mod services;
pub mod settings;
pub mod staff_cli;
pub mod state;
pub mod switch_over_cli;
pub mod telemetry;
