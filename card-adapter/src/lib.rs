pub mod booking;
pub mod client;
pub mod egress;
pub mod process;
pub mod protocol;
pub mod pseudonym;
pub mod signature;
pub mod webhook;
