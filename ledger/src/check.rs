//! One check of `saldo verify`: an invariant by name, how many rows break it and a few of them.
//! Its own module, below both `verify` (which runs the checks over the rows) and `seal` (whose
//! chain checks `verify` runs), so that neither imports the other's types.

use serde::Serialize;

/// One invariant checked: its violations are always counted in full, the examples are a few.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub description: &'static str,
    pub violations: i64,
    pub examples: Vec<String>,
}
