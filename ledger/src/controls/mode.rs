//! The card's mode: where the prisoner is, and so where the card may be used.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::policy::Limits;

/// The mode staff set on a card. Dated modes fall back by themselves when their dates pass, so
/// nobody has to remember to switch a card back after a leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CardMode {
    /// In prison: only the prison's allow-listed merchants (canteen, phone provider…).
    Inside,
    /// A leave in `[from, until)`: outside purchases within `limits`. Before `from` and from
    /// `until` on, the card behaves as `Inside`.
    Leave {
        #[serde(with = "time::serde::rfc3339")]
        from: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
        limits: Limits,
    },
    /// Released: a normal card within its balance until `until`, then inactive.
    Released {
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
    },
    /// Everything declined (lost card, investigation, staff decision).
    Frozen,
}

/// What a mode means at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum EffectiveMode {
    Inside,
    Leave {
        limits: Limits,
    },
    Released,
    Frozen,
    /// A `Released` card after its `until`.
    ReleaseEnded,
}

impl CardMode {
    pub fn effective_at(&self, at: OffsetDateTime) -> EffectiveMode {
        match *self {
            CardMode::Inside => EffectiveMode::Inside,
            CardMode::Leave {
                from,
                until,
                limits,
            } => {
                if from <= at && at < until {
                    EffectiveMode::Leave { limits }
                } else {
                    EffectiveMode::Inside
                }
            }
            CardMode::Released { until } => {
                if at < until {
                    EffectiveMode::Released
                } else {
                    EffectiveMode::ReleaseEnded
                }
            }
            CardMode::Frozen => EffectiveMode::Frozen,
        }
    }
}

impl EffectiveMode {
    /// False when every authorization is declined as `CARD_INACTIVE`.
    pub fn is_active(&self) -> bool {
        !matches!(self, EffectiveMode::Frozen | EffectiveMode::ReleaseEnded)
    }
}
