pub mod booking;
pub mod process;
pub mod protocol;
pub mod pseudonym;
pub mod signature;
