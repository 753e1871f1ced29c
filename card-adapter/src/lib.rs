pub mod booking;
pub mod egress;
pub mod process;
pub mod protocol;
pub mod pseudonym;
pub mod signature;
