//! The outcome of one evaluation: approve (perhaps partially) or decline with the protocol's code,
//! a stable reason key and a text the prisoner can read.

use serde::{Deserialize, Serialize};

use super::policy::PolicyRef;
use crate::money::Money;

/// The processor's decline codes (protocol v1, section 3.3), exactly: the one type for them, in
/// the controls' decisions and on the wire (`processor_protocol::AuthorizationResponse`'s
/// `decline_reason`).
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
    pub const ALL: [DeclineCode; 9] = [
        DeclineCode::InsufficientFunds,
        DeclineCode::CardInactive,
        DeclineCode::LimitExceeded,
        DeclineCode::MerchantBlocked,
        DeclineCode::CountryBlocked,
        DeclineCode::ChannelBlocked,
        DeclineCode::UnknownCard,
        DeclineCode::SuspectedFraud,
        DeclineCode::Other,
    ];

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

    /// The code of a wire value; `None` for a value the protocol does not name.
    pub fn parse(text: &str) -> Option<DeclineCode> {
        DeclineCode::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
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

// A language Saldo speaks: the reason texts here, a prisoner's preferred language in the
// identity store, the kiosk's pages. One type for all of them (`identity::Language` names it
// too). A plain comment, not a doc comment: the OpenAPI schema (as `Language`) would carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Language))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Fi,
    Sv,
    #[default]
    En,
    Nl,
    Fr,
    De,
}

impl Lang {
    /// Every language, in the order the kiosk offers them.
    pub const ALL: [Lang; 6] = [Lang::Fi, Lang::Sv, Lang::En, Lang::Nl, Lang::Fr, Lang::De];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Fi => "fi",
            Lang::Sv => "sv",
            Lang::En => "en",
            Lang::Nl => "nl",
            Lang::Fr => "fr",
            Lang::De => "de",
        }
    }

    /// Exactly one of the codes `as_str` gives (a stored preference, a form's choice); anything
    /// else is `None`.
    pub fn parse(text: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| lang.as_str() == text)
    }

    /// Reads a language tag such as `fi`, `sv-FI` or `en-GB`; anything else is English, so a
    /// prisoner always gets some text.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        match primary.to_ascii_lowercase().as_str() {
            "fi" => Lang::Fi,
            "sv" => Lang::Sv,
            "nl" => Lang::Nl,
            "fr" => Lang::Fr,
            "de" => Lang::De,
            _ => Lang::En,
        }
    }
}

/// A plain-language explanation a prisoner can read on the kiosk.
pub fn reason_text(key: ReasonKey, lang: Lang) -> &'static str {
    use Lang::{De, En, Fi, Fr, Nl, Sv};
    use ReasonKey as K;
    match (key, lang) {
        (K::CardFrozen, En) => "Your card is frozen. Ask staff for help.",
        (K::CardFrozen, Fi) => "Korttisi on jäädytetty. Kysy apua henkilökunnalta.",
        (K::CardFrozen, Sv) => "Ditt kort är spärrat. Fråga personalen om hjälp.",
        (K::CardFrozen, Nl) => "Je kaart is geblokkeerd. Vraag het personeel om hulp.",
        (K::CardFrozen, Fr) => "Votre carte est bloquée. Demandez de l’aide au personnel.",
        (K::CardFrozen, De) => "Ihre Karte ist gesperrt. Bitten Sie das Personal um Hilfe.",

        (K::ReleasePeriodEnded, En) => {
            "The time to use your card after release has ended. Ask the prison how to get the money that is left."
        }
        (K::ReleasePeriodEnded, Fi) => {
            "Korttisi käyttöaika vapautumisen jälkeen on päättynyt. Kysy vankilasta, miten saat jäljellä olevat rahasi."
        }
        (K::ReleasePeriodEnded, Sv) => {
            "Tiden att använda kortet efter frigivningen har gått ut. Fråga fängelset hur du får pengarna som finns kvar."
        }
        (K::ReleasePeriodEnded, Nl) => {
            "De tijd om je kaart na je vrijlating te gebruiken is voorbij. Vraag de gevangenis hoe je het resterende geld krijgt."
        }
        (K::ReleasePeriodEnded, Fr) => {
            "La période d’utilisation de votre carte après la libération est terminée. Demandez à la prison comment recevoir l’argent restant."
        }
        (K::ReleasePeriodEnded, De) => {
            "Die Zeit, in der Sie Ihre Karte nach der Entlassung nutzen konnten, ist abgelaufen. Fragen Sie die Anstalt, wie Sie das restliche Geld erhalten."
        }

        (K::AtmNotAllowed, En) => "Cash withdrawals are not allowed with your card.",
        (K::AtmNotAllowed, Fi) => "Käteisnostot eivät ole sallittuja kortillasi.",
        (K::AtmNotAllowed, Sv) => "Kontantuttag är inte tillåtna med ditt kort.",
        (K::AtmNotAllowed, Nl) => "Geld opnemen is met je kaart niet toegestaan.",
        (K::AtmNotAllowed, Fr) => "Les retraits d’espèces ne sont pas autorisés avec votre carte.",
        (K::AtmNotAllowed, De) => "Bargeldabhebungen sind mit Ihrer Karte nicht erlaubt.",

        (K::EcommerceNotAllowed, En) => "Online purchases are not allowed with your card.",
        (K::EcommerceNotAllowed, Fi) => "Verkko-ostokset eivät ole sallittuja kortillasi.",
        (K::EcommerceNotAllowed, Sv) => "Köp på nätet är inte tillåtna med ditt kort.",
        (K::EcommerceNotAllowed, Nl) => "Online aankopen zijn met je kaart niet toegestaan.",
        (K::EcommerceNotAllowed, Fr) => {
            "Les achats en ligne ne sont pas autorisés avec votre carte."
        }
        (K::EcommerceNotAllowed, De) => "Online-Einkäufe sind mit Ihrer Karte nicht erlaubt.",

        (K::ChannelNotAllowed, En) => "This way of paying is not allowed with your card.",
        (K::ChannelNotAllowed, Fi) => "Tämä maksutapa ei ole sallittu kortillasi.",
        (K::ChannelNotAllowed, Sv) => "Det här sättet att betala är inte tillåtet med ditt kort.",
        (K::ChannelNotAllowed, Nl) => "Deze manier van betalen is met je kaart niet toegestaan.",
        (K::ChannelNotAllowed, Fr) => "Ce mode de paiement n’est pas autorisé avec votre carte.",
        (K::ChannelNotAllowed, De) => "Diese Art zu bezahlen ist mit Ihrer Karte nicht erlaubt.",

        (K::CountryNotAllowed, En) => "Your card cannot be used in this country.",
        (K::CountryNotAllowed, Fi) => "Korttiasi ei voi käyttää tässä maassa.",
        (K::CountryNotAllowed, Sv) => "Ditt kort kan inte användas i det här landet.",
        (K::CountryNotAllowed, Nl) => "Je kaart kan in dit land niet gebruikt worden.",
        (K::CountryNotAllowed, Fr) => "Votre carte ne peut pas être utilisée dans ce pays.",
        (K::CountryNotAllowed, De) => "Ihre Karte kann in diesem Land nicht verwendet werden.",

        (K::MerchantCategoryBlocked, En) => {
            "Your card cannot be used for this kind of payment, for example gambling or sending money."
        }
        (K::MerchantCategoryBlocked, Fi) => {
            "Korttiasi ei voi käyttää tällaiseen maksuun, esimerkiksi rahapeleihin tai rahansiirtoihin."
        }
        (K::MerchantCategoryBlocked, Sv) => {
            "Ditt kort kan inte användas för den här sortens betalning, till exempel spel om pengar eller att skicka pengar."
        }
        (K::MerchantCategoryBlocked, Nl) => {
            "Je kaart kan niet gebruikt worden voor dit soort betaling, bijvoorbeeld gokken of geld versturen."
        }
        (K::MerchantCategoryBlocked, Fr) => {
            "Votre carte ne peut pas être utilisée pour ce type de paiement, par exemple les jeux d’argent ou l’envoi d’argent."
        }
        (K::MerchantCategoryBlocked, De) => {
            "Ihre Karte kann für diese Art von Zahlung nicht verwendet werden, zum Beispiel Glücksspiel oder Geldversand."
        }

        (K::MerchantCategoryNotAllowed, En) => "Your card cannot be used in this type of shop.",
        (K::MerchantCategoryNotAllowed, Fi) => {
            "Korttiasi ei voi käyttää tämäntyyppisessä liikkeessä."
        }
        (K::MerchantCategoryNotAllowed, Sv) => {
            "Ditt kort kan inte användas i den här typen av butik."
        }
        (K::MerchantCategoryNotAllowed, Nl) => {
            "Je kaart kan in dit soort winkel niet gebruikt worden."
        }
        (K::MerchantCategoryNotAllowed, Fr) => {
            "Votre carte ne peut pas être utilisée dans ce type de commerce."
        }
        (K::MerchantCategoryNotAllowed, De) => {
            "Ihre Karte kann in dieser Art von Geschäft nicht verwendet werden."
        }

        (K::MerchantBlocked, En) => "Your card cannot be used at this shop.",
        (K::MerchantBlocked, Fi) => "Korttiasi ei voi käyttää tässä liikkeessä.",
        (K::MerchantBlocked, Sv) => "Ditt kort kan inte användas i den här butiken.",
        (K::MerchantBlocked, Nl) => "Je kaart kan in deze winkel niet gebruikt worden.",
        (K::MerchantBlocked, Fr) => "Votre carte ne peut pas être utilisée chez ce commerçant.",
        (K::MerchantBlocked, De) => "Ihre Karte kann in diesem Geschäft nicht verwendet werden.",

        (K::MerchantNotAllowedInside, En) => {
            "While you are in prison, your card works only at the prison's own shop and services."
        }
        (K::MerchantNotAllowedInside, Fi) => {
            "Vankilassa ollessasi korttisi toimii vain vankilan omassa myymälässä ja palveluissa."
        }
        (K::MerchantNotAllowedInside, Sv) => {
            "Medan du är i fängelset fungerar ditt kort bara i fängelsets egen butik och tjänster."
        }
        (K::MerchantNotAllowedInside, Nl) => {
            "Zolang je in de gevangenis bent, werkt je kaart alleen in de eigen winkel en diensten van de gevangenis."
        }
        (K::MerchantNotAllowedInside, Fr) => {
            "Pendant votre détention, votre carte ne fonctionne qu’à la cantine et aux services de la prison."
        }
        (K::MerchantNotAllowedInside, De) => {
            "Während Sie in Haft sind, funktioniert Ihre Karte nur im Einkauf und bei den Diensten der Anstalt."
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
        (K::PerAuthorizationLimitExceeded, Nl) => {
            "Deze betaling is hoger dan wat je in één keer mag betalen."
        }
        (K::PerAuthorizationLimitExceeded, Fr) => {
            "Ce paiement dépasse le montant maximum que vous pouvez payer en une fois."
        }
        (K::PerAuthorizationLimitExceeded, De) => {
            "Diese Zahlung ist höher als der Betrag, den Sie auf einmal zahlen dürfen."
        }

        (K::DailyLimitExceeded, En) => "This payment would go over your limit for today.",
        (K::DailyLimitExceeded, Fi) => "Maksu ylittäisi tämän päivän rajasi.",
        (K::DailyLimitExceeded, Sv) => "Betalningen skulle gå över din gräns för i dag.",
        (K::DailyLimitExceeded, Nl) => {
            "Met deze betaling zou je je limiet voor vandaag overschrijden."
        }
        (K::DailyLimitExceeded, Fr) => "Ce paiement dépasserait votre limite pour aujourd’hui.",
        (K::DailyLimitExceeded, De) => "Diese Zahlung würde Ihr Limit für heute überschreiten.",

        (K::WeeklyLimitExceeded, En) => "This payment would go over your limit for this week.",
        (K::WeeklyLimitExceeded, Fi) => "Maksu ylittäisi tämän viikon rajasi.",
        (K::WeeklyLimitExceeded, Sv) => "Betalningen skulle gå över din gräns för den här veckan.",
        (K::WeeklyLimitExceeded, Nl) => {
            "Met deze betaling zou je je limiet voor deze week overschrijden."
        }
        (K::WeeklyLimitExceeded, Fr) => "Ce paiement dépasserait votre limite pour cette semaine.",
        (K::WeeklyLimitExceeded, De) => {
            "Diese Zahlung würde Ihr Limit für diese Woche überschreiten."
        }

        (K::MonthlyLimitExceeded, En) => "This payment would go over your limit for this month.",
        (K::MonthlyLimitExceeded, Fi) => "Maksu ylittäisi tämän kuukauden rajasi.",
        (K::MonthlyLimitExceeded, Sv) => {
            "Betalningen skulle gå över din gräns för den här månaden."
        }
        (K::MonthlyLimitExceeded, Nl) => {
            "Met deze betaling zou je je limiet voor deze maand overschrijden."
        }
        (K::MonthlyLimitExceeded, Fr) => "Ce paiement dépasserait votre limite pour ce mois.",
        (K::MonthlyLimitExceeded, De) => {
            "Diese Zahlung würde Ihr Limit für diesen Monat überschreiten."
        }

        (K::InsufficientFunds, En) => "There is not enough money on your card.",
        (K::InsufficientFunds, Fi) => "Kortillasi ei ole tarpeeksi rahaa.",
        (K::InsufficientFunds, Sv) => "Det finns inte tillräckligt med pengar på ditt kort.",
        (K::InsufficientFunds, Nl) => "Er staat niet genoeg geld op je kaart.",
        (K::InsufficientFunds, Fr) => "Il n’y a pas assez d’argent sur votre carte.",
        (K::InsufficientFunds, De) => "Auf Ihrer Karte ist nicht genug Geld.",

        (K::CurrencyNotSupported, En) => "Your card cannot pay in this currency.",
        (K::CurrencyNotSupported, Fi) => "Kortillasi ei voi maksaa tässä valuutassa.",
        (K::CurrencyNotSupported, Sv) => "Ditt kort kan inte betala i den här valutan.",
        (K::CurrencyNotSupported, Nl) => "Je kaart kan niet betalen in deze munt.",
        (K::CurrencyNotSupported, Fr) => "Votre carte ne peut pas payer dans cette devise.",
        (K::CurrencyNotSupported, De) => "Ihre Karte kann in dieser Währung nicht bezahlen.",

        (K::InvalidRequest, En) => {
            "The payment could not be checked. Try again, or ask staff for help."
        }
        (K::InvalidRequest, Fi) => {
            "Maksua ei voitu tarkistaa. Yritä uudelleen tai kysy apua henkilökunnalta."
        }
        (K::InvalidRequest, Sv) => {
            "Betalningen kunde inte kontrolleras. Försök igen eller fråga personalen om hjälp."
        }
        (K::InvalidRequest, Nl) => {
            "De betaling kon niet gecontroleerd worden. Probeer opnieuw of vraag het personeel om hulp."
        }
        (K::InvalidRequest, Fr) => {
            "Le paiement n’a pas pu être vérifié. Réessayez ou demandez de l’aide au personnel."
        }
        (K::InvalidRequest, De) => {
            "Die Zahlung konnte nicht geprüft werden. Versuchen Sie es erneut oder bitten Sie das Personal um Hilfe."
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
        (K::EvaluationError, Nl) => {
            "De betaling kon door een technisch probleem niet goedgekeurd worden. Probeer het later opnieuw."
        }
        (K::EvaluationError, Fr) => {
            "Le paiement n’a pas pu être accepté à cause d’un problème technique. Réessayez plus tard."
        }
        (K::EvaluationError, De) => {
            "Die Zahlung konnte wegen eines technischen Problems nicht genehmigt werden. Versuchen Sie es später erneut."
        }

        (K::UnknownCard, En) => "This card is not recognised. Ask staff for help.",
        (K::UnknownCard, Fi) => "Korttia ei tunnistettu. Kysy apua henkilökunnalta.",
        (K::UnknownCard, Sv) => "Kortet kändes inte igen. Fråga personalen om hjälp.",
        (K::UnknownCard, Nl) => "Deze kaart wordt niet herkend. Vraag het personeel om hulp.",
        (K::UnknownCard, Fr) => "Cette carte n’est pas reconnue. Demandez de l’aide au personnel.",
        (K::UnknownCard, De) => {
            "Diese Karte wurde nicht erkannt. Bitten Sie das Personal um Hilfe."
        }

        (K::SuspectedFraud, En) => "This payment was stopped for safety. Ask staff for help.",
        (K::SuspectedFraud, Fi) => {
            "Maksu pysäytettiin turvallisuussyistä. Kysy apua henkilökunnalta."
        }
        (K::SuspectedFraud, Sv) => {
            "Betalningen stoppades av säkerhetsskäl. Fråga personalen om hjälp."
        }
        (K::SuspectedFraud, Nl) => {
            "Deze betaling is voor de veiligheid tegengehouden. Vraag het personeel om hulp."
        }
        (K::SuspectedFraud, Fr) => {
            "Ce paiement a été bloqué par sécurité. Demandez de l’aide au personnel."
        }
        (K::SuspectedFraud, De) => {
            "Diese Zahlung wurde aus Sicherheitsgründen gestoppt. Bitten Sie das Personal um Hilfe."
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
