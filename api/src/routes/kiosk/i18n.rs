//! The kiosk's words in Finnish, Swedish and English. Dutch, French and German prisoners see
//! English until their translations are written (the prisoner can switch at any time).
use crate::identity::Language;

pub struct Texts {
    pub lang: &'static str,
    pub title: &'static str,
    pub sign_in: &'static str,
    pub prisoner_number: &'static str,
    pub pin: &'static str,
    pub sign_in_failed: &'static str,
    pub pin_locked: &'static str,
    pub kiosk_busy: &'static str,
    pub balances: &'static str,
    pub available: &'static str,
    pub held: &'static str,
    pub spendable: &'static str,
    pub release_savings: &'static str,
    pub held_deposits: &'static str,
    pub recent: &'static str,
    pub no_transactions: &'static str,
    pub date: &'static str,
    pub description: &'static str,
    pub amount: &'static str,
    pub card: &'static str,
    pub card_mode: &'static str,
    pub weekly_left: &'static str,
    pub not_available_yet: &'static str,
    pub change_pin: &'static str,
    pub current_pin: &'static str,
    pub new_pin: &'static str,
    pub new_pin_again: &'static str,
    pub save: &'static str,
    pub pin_changed: &'static str,
    pub pin_wrong: &'static str,
    pub pin_mismatch: &'static str,
    pub pin_rules: &'static str,
    pub back: &'static str,
    pub sign_out: &'static str,
    pub language: &'static str,
}

const FI: Texts = Texts {
    lang: "fi",
    title: "Rahatilini",
    sign_in: "Kirjaudu",
    prisoner_number: "Vankinumero",
    pin: "PIN-koodi",
    sign_in_failed: "Kirjautuminen epäonnistui. Tarkista numero ja PIN-koodi.",
    pin_locked: "Liian monta väärää PIN-koodia. Yritä myöhemmin uudelleen tai kysy henkilökunnalta.",
    kiosk_busy: "Liian monta epäonnistunutta yritystä tällä laitteella. Odota hetki.",
    balances: "Saldot",
    available: "Käytettävissä",
    held: "Varattu",
    spendable: "Käyttövarat",
    release_savings: "Vapautumisrahasto",
    held_deposits: "Pidätetyt talletukset",
    recent: "Viimeisimmät tapahtumat",
    no_transactions: "Ei tapahtumia.",
    date: "Päivä",
    description: "Selite",
    amount: "Summa",
    card: "Maksukortti",
    card_mode: "Kortin tila",
    weekly_left: "Viikkorajaa jäljellä",
    not_available_yet: "Ei vielä saatavilla",
    change_pin: "Vaihda PIN-koodi",
    current_pin: "Nykyinen PIN-koodi",
    new_pin: "Uusi PIN-koodi",
    new_pin_again: "Uusi PIN-koodi uudelleen",
    save: "Tallenna",
    pin_changed: "PIN-koodi vaihdettu.",
    pin_wrong: "Nykyinen PIN-koodi on väärä.",
    pin_mismatch: "Uudet PIN-koodit eivät täsmää.",
    pin_rules: "PIN-koodissa on 4–8 numeroa.",
    back: "Takaisin",
    sign_out: "Kirjaudu ulos",
    language: "Kieli",
};

const SV: Texts = Texts {
    lang: "sv",
    title: "Mitt penningkonto",
    sign_in: "Logga in",
    prisoner_number: "Fångnummer",
    pin: "PIN-kod",
    sign_in_failed: "Inloggningen misslyckades. Kontrollera numret och PIN-koden.",
    pin_locked: "För många felaktiga PIN-koder. Försök senare eller fråga personalen.",
    kiosk_busy: "För många misslyckade försök på den här enheten. Vänta en stund.",
    balances: "Saldon",
    available: "Tillgängligt",
    held: "Reserverat",
    spendable: "Disponibla medel",
    release_savings: "Frigivningsfond",
    held_deposits: "Innehållna insättningar",
    recent: "Senaste transaktioner",
    no_transactions: "Inga transaktioner.",
    date: "Datum",
    description: "Beskrivning",
    amount: "Belopp",
    card: "Betalkort",
    card_mode: "Kortets läge",
    weekly_left: "Kvar av veckogränsen",
    not_available_yet: "Inte tillgängligt ännu",
    change_pin: "Byt PIN-kod",
    current_pin: "Nuvarande PIN-kod",
    new_pin: "Ny PIN-kod",
    new_pin_again: "Ny PIN-kod igen",
    save: "Spara",
    pin_changed: "PIN-koden har bytts.",
    pin_wrong: "Den nuvarande PIN-koden är fel.",
    pin_mismatch: "De nya PIN-koderna stämmer inte överens.",
    pin_rules: "En PIN-kod har 4–8 siffror.",
    back: "Tillbaka",
    sign_out: "Logga ut",
    language: "Språk",
};

const EN: Texts = Texts {
    lang: "en",
    title: "My money",
    sign_in: "Sign in",
    prisoner_number: "Prisoner number",
    pin: "PIN",
    sign_in_failed: "Sign-in failed. Check the number and the PIN.",
    pin_locked: "Too many wrong PINs. Try again later or ask staff.",
    kiosk_busy: "Too many failed attempts on this kiosk. Please wait a moment.",
    balances: "Balances",
    available: "Available",
    held: "Held",
    spendable: "Spending money",
    release_savings: "Release savings",
    held_deposits: "Held deposits",
    recent: "Recent transactions",
    no_transactions: "No transactions.",
    date: "Date",
    description: "Description",
    amount: "Amount",
    card: "Payment card",
    card_mode: "Card mode",
    weekly_left: "Left of this week's limit",
    not_available_yet: "Not available yet",
    change_pin: "Change PIN",
    current_pin: "Current PIN",
    new_pin: "New PIN",
    new_pin_again: "New PIN again",
    save: "Save",
    pin_changed: "Your PIN has been changed.",
    pin_wrong: "The current PIN is wrong.",
    pin_mismatch: "The new PINs do not match.",
    pin_rules: "A PIN has 4 to 8 digits.",
    back: "Back",
    sign_out: "Sign out",
    language: "Language",
};

pub fn texts(language: Language) -> &'static Texts {
    match language {
        Language::Fi => &FI,
        Language::Sv => &SV,
        _ => &EN,
    }
}

/// The languages offered by the switch, each named in itself.
pub const SWITCH: [(Language, &str); 3] = [
    (Language::Fi, "Suomi"),
    (Language::Sv, "Svenska"),
    (Language::En, "English"),
];

impl Texts {
    pub fn purpose(&self, purpose: &str) -> &'static str {
        match purpose {
            "spendable" => self.spendable,
            "release_savings" => self.release_savings,
            "held_deposits" => self.held_deposits,
            _ => "",
        }
    }

    /// Amounts as people read them: `12,50 €` in Finnish and Swedish, `€12.50` in English.
    pub fn money(&self, money: &ledger::Money) -> String {
        let exponent = u32::from(money.currency.exponent());
        let factor = 10_i64.pow(exponent);
        let magnitude = money.amount_minor.unsigned_abs();
        let factor_u = factor.unsigned_abs();
        let sign = if money.amount_minor < 0 { "−" } else { "" };
        let major = magnitude / factor_u;
        let minor = magnitude % factor_u;
        let number = if exponent == 0 {
            format!("{major}")
        } else if self.lang == "en" {
            format!("{major}.{minor:0width$}", width = exponent as usize)
        } else {
            format!("{major},{minor:0width$}", width = exponent as usize)
        };
        let symbol = if money.currency.code() == "EUR" {
            "€".to_owned()
        } else {
            money.currency.code().to_owned()
        };
        if self.lang == "en" {
            format!("{sign}{symbol}{number}")
        } else {
            format!("{sign}{number} {symbol}")
        }
    }
}
