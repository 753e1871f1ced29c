//! HTTP routes by audience: `staff` (the JSON API for prison staff) and `kiosk` (prisoners' pages).
//! Each group exposes `router()`; `app::router` merges them.
pub mod kiosk;
pub mod pages;
pub mod pms;
pub mod privacy;
pub mod recon;
pub mod service_errors;
pub mod services;
pub mod staff;
