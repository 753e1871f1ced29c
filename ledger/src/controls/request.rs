//! The facts of one card authorization, as the processor sent them (protocol v1, 3.3).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::money::Money;

/// How the card was presented (protocol v1, 3.2): the one type for it, in the controls' policies
/// and on the wire (`processor_protocol::AuthorizationRequest`'s `channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    Pos,
    Contactless,
    Ecommerce,
    Atm,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Pos,
        Channel::Contactless,
        Channel::Ecommerce,
        Channel::Atm,
    ];

    /// The wire value, e.g. `"CONTACTLESS"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Pos => "POS",
            Channel::Contactless => "CONTACTLESS",
            Channel::Ecommerce => "ECOMMERCE",
            Channel::Atm => "ATM",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Who the merchant is: a card acceptor the processor names, or one of the prison service's own
/// services (docs/services.md), which Saldo itself authorizes through the same controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantKind {
    #[default]
    Card,
    /// The prison's own service (canteen, telephony, TV rental…): an inside merchant by nature,
    /// not a card presentation, so the channel and country rules do not apply; blocked
    /// categories, blocked merchants, limits and the balance do.
    PrisonService,
}

/// One authorization to decide. For an incremental authorization `amount` is the increase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// In the card's currency (the processor's `amount` and `currency`).
    pub amount: Money,
    pub merchant_id: String,
    /// Kept for the decision record and the kiosk; rules match on `merchant_id`, never the name,
    /// because names are free text the merchant chooses.
    pub merchant_name: String,
    /// Merchant category code, four digits.
    pub mcc: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub merchant_country: String,
    pub channel: Channel,
    /// When the authorization happened (the envelope's `timestamp`); places it in the spend
    /// windows and in the card's mode.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub partial_approval_capable: bool,
    /// A card acceptor unless said otherwise.
    #[serde(default)]
    pub merchant_kind: MerchantKind,
}

/// Four ASCII digits.
pub fn is_valid_mcc(mcc: &str) -> bool {
    mcc.len() == 4 && mcc.bytes().all(|b| b.is_ascii_digit())
}

/// Two upper-case ASCII letters (ISO 3166-1 alpha-2 shape; the list itself is not checked).
pub fn is_valid_country(country: &str) -> bool {
    country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase())
}

impl AuthorizationRequest {
    /// Shape checks the processor should never fail; if it does, we decline rather than guess.
    pub fn is_well_formed(&self) -> bool {
        is_valid_mcc(&self.mcc)
            && is_valid_country(&self.merchant_country)
            && !self.merchant_id.is_empty()
    }
}
