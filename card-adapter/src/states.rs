//! Closed sets of values (card states, decisions, decline reasons, ...) past the parser: enums
//! in the code, their names on the wire and in the tables. A name read back from the database
//! that is not one of its set is an error ([`UnknownName`]), never a default.
//!
//! At the bottom of the crate, under `booking` and everything above it; it knows only the
//! protocol's enums, whose names are the protocol's own.

use ledger::controls::DeclineCode;
use processor_protocol::{CardState, ChangedBy, Decision};

/// A name that is none of its set's: a row written by something that does not follow the
/// tables' constraints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {set} {name:?}")]
pub struct UnknownName {
    pub set: &'static str,
    pub name: String,
}

/// An enum with one fixed name per value.
pub trait Named: Copy + PartialEq + 'static {
    /// What the set is called in an [`UnknownName`].
    const SET: &'static str;
    /// Every value, so that a name is looked up without a second list of names.
    const ALL: &'static [Self];

    fn name(self) -> &'static str;

    /// The value with this name; any other name is an error.
    fn from_name(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.name() == name)
            .ok_or_else(|| UnknownName {
                set: Self::SET,
                name: name.to_owned(),
            })
    }
}

impl Named for CardState {
    const SET: &'static str = "card state";
    const ALL: &'static [CardState] = &[
        CardState::Inactive,
        CardState::Active,
        CardState::Paused,
        CardState::Closed,
    ];

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for Decision {
    const SET: &'static str = "decision";
    const ALL: &'static [Decision] = &[Decision::Approve, Decision::Decline];

    fn name(self) -> &'static str {
        match self {
            Decision::Approve => "APPROVE",
            Decision::Decline => "DECLINE",
        }
    }
}

impl Named for DeclineCode {
    const SET: &'static str = "decline reason";
    const ALL: &'static [DeclineCode] = &DeclineCode::ALL;

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for ChangedBy {
    const SET: &'static str = "changed by";
    const ALL: &'static [ChangedBy] = &[ChangedBy::Processor, ChangedBy::Api];

    fn name(self) -> &'static str {
        match self {
            ChangedBy::Processor => "PROCESSOR",
            ChangedBy::Api => "API",
        }
    }
}

/// The approval or decline `approve` says.
pub fn decision(approve: bool) -> Decision {
    if approve {
        Decision::Approve
    } else {
        Decision::Decline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Named + std::fmt::Debug>() {
        for value in T::ALL {
            assert_eq!(T::from_name(value.name()), Ok(*value));
        }
        let unknown = T::from_name("unknown").unwrap_err();
        assert_eq!(unknown.set, T::SET);
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        round_trips::<CardState>();
        round_trips::<Decision>();
        round_trips::<DeclineCode>();
        round_trips::<ChangedBy>();
    }

    #[test]
    fn names_are_the_protocols() {
        for value in CardState::ALL {
            let json = serde_json::to_value(value).unwrap();
            assert_eq!(json.as_str(), Some(value.name()));
        }
        for value in Decision::ALL {
            let json = serde_json::to_value(value).unwrap();
            assert_eq!(json.as_str(), Some(value.name()));
        }
        for value in ChangedBy::ALL {
            let json = serde_json::to_value(value).unwrap();
            assert_eq!(json.as_str(), Some(value.name()));
        }
    }
}
