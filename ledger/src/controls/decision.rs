//! The outcome of one evaluation: approve (perhaps partially) or decline with the protocol's code,
//! a stable reason key and a text the prisoner can read.

use serde::{Deserialize, Serialize};

use super::policy::PolicyRef;
use crate::money::Money;

/// The processor's decline codes (protocol v1, section 3.3), exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeclineCode {
    InsufficientFunds,
    CardInactive,
    LimitExceeded,
    MerchantBlocked,
    CountryBlocked,
    ChannelBlocked,
    UnknownCard,
    SuspectedFraud,
    Other,
}

impl DeclineCode {
    /// The wire value, e.g. `"LIMIT_EXCEEDED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::InsufficientFunds => "INSUFFICIENT_FUNDS",
            DeclineCode::CardInactive => "CARD_INACTIVE",
            DeclineCode::LimitExceeded => "LIMIT_EXCEEDED",
            DeclineCode::MerchantBlocked => "MERCHANT_BLOCKED",
            DeclineCode::CountryBlocked => "COUNTRY_BLOCKED",
            DeclineCode::ChannelBlocked => "CHANNEL_BLOCKED",
            DeclineCode::UnknownCard => "UNKNOWN_CARD",
            DeclineCode::SuspectedFraud => "SUSPECTED_FRAUD",
            DeclineCode::Other => "OTHER",
        }
    }
}

/// Why a payment was declined (or only partly approved), finer than the protocol's code.
/// The snake_case key is stable: it is stored with the decision and shown to staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKey {
    CardFrozen,
    ReleasePeriodEnded,
    AtmNotAllowed,
    EcommerceNotAllowed,
    ChannelNotAllowed,
    CountryNotAllowed,
    MerchantCategoryBlocked,
    MerchantCategoryNotAllowed,
    MerchantBlocked,
    MerchantNotAllowedInside,
    PerAuthorizationLimitExceeded,
    DailyLimitExceeded,
    WeeklyLimitExceeded,
    MonthlyLimitExceeded,
    InsufficientFunds,
    CurrencyNotSupported,
    InvalidRequest,
    EvaluationError,
    /// Set by the caller when no card matches; `evaluate` never returns it.
    UnknownCard,
    /// Set by the caller's monitoring; `evaluate` never returns it.
    SuspectedFraud,
}

impl ReasonKey {
    pub const ALL: [ReasonKey; 20] = [
        ReasonKey::CardFrozen,
        ReasonKey::ReleasePeriodEnded,
        ReasonKey::AtmNotAllowed,
        ReasonKey::EcommerceNotAllowed,
        ReasonKey::ChannelNotAllowed,
        ReasonKey::CountryNotAllowed,
        ReasonKey::MerchantCategoryBlocked,
        ReasonKey::MerchantCategoryNotAllowed,
        ReasonKey::MerchantBlocked,
        ReasonKey::MerchantNotAllowedInside,
        ReasonKey::PerAuthorizationLimitExceeded,
        ReasonKey::DailyLimitExceeded,
        ReasonKey::WeeklyLimitExceeded,
        ReasonKey::MonthlyLimitExceeded,
        ReasonKey::InsufficientFunds,
        ReasonKey::CurrencyNotSupported,
        ReasonKey::InvalidRequest,
        ReasonKey::EvaluationError,
        ReasonKey::UnknownCard,
        ReasonKey::SuspectedFraud,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKey::CardFrozen => "card_frozen",
            ReasonKey::ReleasePeriodEnded => "release_period_ended",
            ReasonKey::AtmNotAllowed => "atm_not_allowed",
            ReasonKey::EcommerceNotAllowed => "ecommerce_not_allowed",
            ReasonKey::ChannelNotAllowed => "channel_not_allowed",
            ReasonKey::CountryNotAllowed => "country_not_allowed",
            ReasonKey::MerchantCategoryBlocked => "merchant_category_blocked",
            ReasonKey::MerchantCategoryNotAllowed => "merchant_category_not_allowed",
            ReasonKey::MerchantBlocked => "merchant_blocked",
            ReasonKey::MerchantNotAllowedInside => "merchant_not_allowed_inside",
            ReasonKey::PerAuthorizationLimitExceeded => "per_authorization_limit_exceeded",
            ReasonKey::DailyLimitExceeded => "daily_limit_exceeded",
            ReasonKey::WeeklyLimitExceeded => "weekly_limit_exceeded",
            ReasonKey::MonthlyLimitExceeded => "monthly_limit_exceeded",
            ReasonKey::InsufficientFunds => "insufficient_funds",
            ReasonKey::CurrencyNotSupported => "currency_not_supported",
            ReasonKey::InvalidRequest => "invalid_request",
            ReasonKey::EvaluationError => "evaluation_error",
            ReasonKey::UnknownCard => "unknown_card",
            ReasonKey::SuspectedFraud => "suspected_fraud",
        }
    }

    pub fn parse(text: &str) -> Option<ReasonKey> {
        ReasonKey::ALL.into_iter().find(|key| key.as_str() == text)
    }

    /// The protocol code each reason is reported as. One place, so a key and its code never
    /// disagree.
    pub fn code(self) -> DeclineCode {
        match self {
            ReasonKey::CardFrozen | ReasonKey::ReleasePeriodEnded => DeclineCode::CardInactive,
            ReasonKey::AtmNotAllowed
            | ReasonKey::EcommerceNotAllowed
            | ReasonKey::ChannelNotAllowed => DeclineCode::ChannelBlocked,
            ReasonKey::CountryNotAllowed => DeclineCode::CountryBlocked,
            ReasonKey::MerchantCategoryBlocked
            | ReasonKey::MerchantCategoryNotAllowed
            | ReasonKey::MerchantBlocked
            | ReasonKey::MerchantNotAllowedInside => DeclineCode::MerchantBlocked,
            ReasonKey::PerAuthorizationLimitExceeded
            | ReasonKey::DailyLimitExceeded
            | ReasonKey::WeeklyLimitExceeded
            | ReasonKey::MonthlyLimitExceeded => DeclineCode::LimitExceeded,
            ReasonKey::InsufficientFunds => DeclineCode::InsufficientFunds,
            ReasonKey::CurrencyNotSupported
            | ReasonKey::InvalidRequest
            | ReasonKey::EvaluationError => DeclineCode::Other,
            ReasonKey::UnknownCard => DeclineCode::UnknownCard,
            ReasonKey::SuspectedFraud => DeclineCode::SuspectedFraud,
        }
    }
}

/// Languages the reason texts exist in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Fi,
    Sv,
}

impl Lang {
    /// Reads a language tag such as `fi`, `sv-FI` or `en-GB`; anything else is English, so a
    /// prisoner always gets some text.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        match primary.to_ascii_lowercase().as_str() {
            "fi" => Lang::Fi,
            "sv" => Lang::Sv,
            _ => Lang::En,
        }
    }
}

/// A plain-language explanation a prisoner can read on the kiosk.
pub fn reason_text(key: ReasonKey, lang: Lang) -> &'static str {
    use Lang::{En, Fi, Sv};
    use ReasonKey as K;
    match (key, lang) {
        (K::CardFrozen, En) => "Your card is frozen. Ask staff for help.",
        (K::CardFrozen, Fi) => "Korttisi on jäädytetty. Kysy apua henkilökunnalta.",
        (K::CardFrozen, Sv) => "Ditt kort är spärrat. Fråga personalen om hjälp.",

        (K::ReleasePeriodEnded, En) => {
            "The time to use your card after release has ended. Ask the prison how to get the money that is left."
        }
        (K::ReleasePeriodEnded, Fi) => {
            "Korttisi käyttöaika vapautumisen jälkeen on päättynyt. Kysy vankilasta, miten saat jäljellä olevat rahasi."
        }
        (K::ReleasePeriodEnded, Sv) => {
            "Tiden att använda kortet efter frigivningen har gått ut. Fråga fängelset hur du får pengarna som finns kvar."
        }

        (K::AtmNotAllowed, En) => "Cash withdrawals are not allowed with your card.",
        (K::AtmNotAllowed, Fi) => "Käteisnostot eivät ole sallittuja kortillasi.",
        (K::AtmNotAllowed, Sv) => "Kontantuttag är inte tillåtna med ditt kort.",

        (K::EcommerceNotAllowed, En) => "Online purchases are not allowed with your card.",
        (K::EcommerceNotAllowed, Fi) => "Verkko-ostokset eivät ole sallittuja kortillasi.",
        (K::EcommerceNotAllowed, Sv) => "Köp på nätet är inte tillåtna med ditt kort.",

        (K::ChannelNotAllowed, En) => "This way of paying is not allowed with your card.",
        (K::ChannelNotAllowed, Fi) => "Tämä maksutapa ei ole sallittu kortillasi.",
        (K::ChannelNotAllowed, Sv) => "Det här sättet att betala är inte tillåtet med ditt kort.",

        (K::CountryNotAllowed, En) => "Your card cannot be used in this country.",
        (K::CountryNotAllowed, Fi) => "Korttiasi ei voi käyttää tässä maassa.",
        (K::CountryNotAllowed, Sv) => "Ditt kort kan inte användas i det här landet.",

        (K::MerchantCategoryBlocked, En) => {
            "Your card cannot be used for this kind of payment, for example gambling or sending money."
        }
        (K::MerchantCategoryBlocked, Fi) => {
            "Korttiasi ei voi käyttää tällaiseen maksuun, esimerkiksi rahapeleihin tai rahansiirtoihin."
        }
        (K::MerchantCategoryBlocked, Sv) => {
            "Ditt kort kan inte användas för den här sortens betalning, till exempel spel om pengar eller att skicka pengar."
        }

        (K::MerchantCategoryNotAllowed, En) => "Your card cannot be used in this type of shop.",
        (K::MerchantCategoryNotAllowed, Fi) => {
            "Korttiasi ei voi käyttää tämäntyyppisessä liikkeessä."
        }
        (K::MerchantCategoryNotAllowed, Sv) => {
            "Ditt kort kan inte användas i den här typen av butik."
        }

        (K::MerchantBlocked, En) => "Your card cannot be used at this shop.",
        (K::MerchantBlocked, Fi) => "Korttiasi ei voi käyttää tässä liikkeessä.",
        (K::MerchantBlocked, Sv) => "Ditt kort kan inte användas i den här butiken.",

        (K::MerchantNotAllowedInside, En) => {
            "While you are in prison, your card works only at the prison's own shop and services."
        }
        (K::MerchantNotAllowedInside, Fi) => {
            "Vankilassa ollessasi korttisi toimii vain vankilan omassa myymälässä ja palveluissa."
        }
        (K::MerchantNotAllowedInside, Sv) => {
            "Medan du är i fängelset fungerar ditt kort bara i fängelsets egen butik och tjänster."
        }

        (K::PerAuthorizationLimitExceeded, En) => {
            "This payment is bigger than the most you may pay at one time."
        }
        (K::PerAuthorizationLimitExceeded, Fi) => {
            "Maksu on suurempi kuin kerralla sallittu enimmäismäärä."
        }
        (K::PerAuthorizationLimitExceeded, Sv) => {
            "Betalningen är större än det högsta belopp du får betala på en gång."
        }

        (K::DailyLimitExceeded, En) => "This payment would go over your limit for today.",
        (K::DailyLimitExceeded, Fi) => "Maksu ylittäisi tämän päivän rajasi.",
        (K::DailyLimitExceeded, Sv) => "Betalningen skulle gå över din gräns för i dag.",

        (K::WeeklyLimitExceeded, En) => "This payment would go over your limit for this week.",
        (K::WeeklyLimitExceeded, Fi) => "Maksu ylittäisi tämän viikon rajasi.",
        (K::WeeklyLimitExceeded, Sv) => "Betalningen skulle gå över din gräns för den här veckan.",

        (K::MonthlyLimitExceeded, En) => "This payment would go over your limit for this month.",
        (K::MonthlyLimitExceeded, Fi) => "Maksu ylittäisi tämän kuukauden rajasi.",
        (K::MonthlyLimitExceeded, Sv) => {
            "Betalningen skulle gå över din gräns för den här månaden."
        }

        (K::InsufficientFunds, En) => "There is not enough money on your card.",
        (K::InsufficientFunds, Fi) => "Kortillasi ei ole tarpeeksi rahaa.",
        (K::InsufficientFunds, Sv) => "Det finns inte tillräckligt med pengar på ditt kort.",

        (K::CurrencyNotSupported, En) => "Your card cannot pay in this currency.",
        (K::CurrencyNotSupported, Fi) => "Kortillasi ei voi maksaa tässä valuutassa.",
        (K::CurrencyNotSupported, Sv) => "Ditt kort kan inte betala i den här valutan.",

        (K::InvalidRequest, En) => {
            "The payment could not be checked. Try again, or ask staff for help."
        }
        (K::InvalidRequest, Fi) => {
            "Maksua ei voitu tarkistaa. Yritä uudelleen tai kysy apua henkilökunnalta."
        }
        (K::InvalidRequest, Sv) => {
            "Betalningen kunde inte kontrolleras. Försök igen eller fråga personalen om hjälp."
        }

        (K::EvaluationError, En) => {
            "The payment could not be approved because of a technical problem. Try again later."
        }
        (K::EvaluationError, Fi) => {
            "Maksua ei voitu hyväksyä teknisen vian vuoksi. Yritä myöhemmin uudelleen."
        }
        (K::EvaluationError, Sv) => {
            "Betalningen kunde inte godkännas på grund av ett tekniskt fel. Försök igen senare."
        }

        (K::UnknownCard, En) => "This card is not recognised. Ask staff for help.",
        (K::UnknownCard, Fi) => "Korttia ei tunnistettu. Kysy apua henkilökunnalta.",
        (K::UnknownCard, Sv) => "Kortet kändes inte igen. Fråga personalen om hjälp.",

        (K::SuspectedFraud, En) => "This payment was stopped for safety. Ask staff for help.",
        (K::SuspectedFraud, Fi) => {
            "Maksu pysäytettiin turvallisuussyistä. Kysy apua henkilökunnalta."
        }
        (K::SuspectedFraud, Sv) => {
            "Betalningen stoppades av säkerhetsskäl. Fråga personalen om hjälp."
        }
    }
}

/// What `evaluate` decided, with the policy (and overrides) that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    Approve {
        /// Equal to the requested amount, or less for a partial approval.
        approved_amount: Money,
        /// For a partial approval, the control that capped the amount.
        limited_by: Option<ReasonKey>,
        policy: PolicyRef,
    },
    Decline {
        code: DeclineCode,
        reason: ReasonKey,
        policy: PolicyRef,
    },
}

impl Decision {
    /// A decline whose protocol code is derived from its reason, so the two always agree.
    pub fn decline(reason: ReasonKey, policy: PolicyRef) -> Decision {
        Decision::Decline {
            code: reason.code(),
            reason,
            policy,
        }
    }

    pub fn is_approved(&self) -> bool {
        matches!(self, Decision::Approve { .. })
    }

    pub fn approved_amount(&self) -> Option<Money> {
        match self {
            Decision::Approve {
                approved_amount, ..
            } => Some(*approved_amount),
            Decision::Decline { .. } => None,
        }
    }

    pub fn decline_code(&self) -> Option<DeclineCode> {
        match self {
            Decision::Approve { .. } => None,
            Decision::Decline { code, .. } => Some(*code),
        }
    }

    /// The decline reason, or for a partial approval the control that capped it.
    pub fn reason(&self) -> Option<ReasonKey> {
        match self {
            Decision::Approve { limited_by, .. } => *limited_by,
            Decision::Decline { reason, .. } => Some(*reason),
        }
    }

    pub fn policy(&self) -> &PolicyRef {
        match self {
            Decision::Approve { policy, .. } | Decision::Decline { policy, .. } => policy,
        }
    }

    /// The prisoner-facing explanation, if there is anything to explain.
    pub fn reason_text(&self, lang: Lang) -> Option<&'static str> {
        self.reason().map(|key| reason_text(key, lang))
    }
}
