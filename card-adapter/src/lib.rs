pub mod booking;
pub mod process;
