//! Saldo: the system of record for prisoners' money. This crate is the `saldo` binary's library:
//! configuration, command line, the embedded database, and the HTTP server.
pub mod app;
pub mod cli;
pub mod database;
pub mod embedded_pg;
pub mod problem;
pub mod telemetry;
