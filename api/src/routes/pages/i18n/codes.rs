//! The names of the codes staff pages show (accounts, adjustment reasons, regimes, card modes).
//! English shows the codes themselves, as the JSON API and the pages always have; the other
//! languages name them. A code not listed is shown as it is.
use ledger::controls::Lang;
use ledger::{institution_purpose, person_purpose};

pub struct CodeTexts {
    /// In [`ACCOUNTS`] order.
    pub accounts: [&'static str; 4],
    /// In [`crate::services::adjustments::INSTITUTION_ACCOUNTS`] order.
    pub institution_accounts: [&'static str; 5],
    /// In [`crate::services::adjustments::ReasonCode::ALL`] order.
    pub reasons: [&'static str; 5],
    /// In [`REGIMES`] order.
    pub regimes: [&'static str; 3],
    /// In [`MODES`] order.
    pub modes: [&'static str; 5],
}

const ACCOUNTS: [&str; 4] = [
    person_purpose::SPENDABLE,
    person_purpose::RELEASE_SAVINGS,
    person_purpose::HELD_DEPOSITS,
    person_purpose::RESTITUTION,
];
const INSTITUTION_ACCOUNTS: [&str; 5] = [
    institution_purpose::SUSPENSE,
    institution_purpose::FEES_INCOME,
    institution_purpose::CASH_ON_HAND,
    institution_purpose::BANK_TRUST,
    institution_purpose::WAGES_EXPENSE,
];
const REASONS: [&str; 5] = [
    "correction",
    "refund",
    "write_off",
    "suspense_clearing",
    "other",
];
pub const REGIMES: [&str; 3] = ["closed_prison", "open_prison", "remand"];
const MODES: [&str; 5] = ["inside", "leave", "released", "release_ended", "frozen"];

fn pick<'a, const N: usize>(
    codes: &[&str; N],
    names: &[&'static str; N],
    code: &'a str,
) -> &'a str {
    codes
        .iter()
        .position(|known| *known == code)
        .map_or(code, |index| names[index])
}

impl CodeTexts {
    /// A prisoner's account (a person purpose).
    pub fn account<'a>(&self, code: &'a str) -> &'a str {
        pick(&ACCOUNTS, &self.accounts, code)
    }
    pub fn institution_account<'a>(&self, code: &'a str) -> &'a str {
        pick(&INSTITUTION_ACCOUNTS, &self.institution_accounts, code)
    }
    /// An adjustment's reason code.
    pub fn reason<'a>(&self, code: &'a str) -> &'a str {
        pick(&REASONS, &self.reasons, code)
    }
    pub fn regime<'a>(&self, code: &'a str) -> &'a str {
        pick(&REGIMES, &self.regimes, code)
    }
    /// A card mode, set or effective.
    pub fn mode<'a>(&self, code: &'a str) -> &'a str {
        pick(&MODES, &self.modes, code)
    }
}

pub fn codes(lang: Lang) -> &'static CodeTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: CodeTexts = CodeTexts {
    accounts: ACCOUNTS,
    institution_accounts: INSTITUTION_ACCOUNTS,
    reasons: REASONS,
    regimes: REGIMES,
    modes: MODES,
};

const FI: CodeTexts = CodeTexts {
    accounts: [
        "Käyttövarat",
        "Vapautumisrahasto",
        "Pidätetyt talletukset",
        "Vahingonkorvaukset",
    ],
    institution_accounts: [
        "Selvittelytili",
        "Maksutuotot",
        "Käteiskassa",
        "Asiakasvarojen pankkitili",
        "Palkkakulut",
    ],
    reasons: [
        "Korjaus",
        "Hyvitys",
        "Alaskirjaus",
        "Selvittelytilin tyhjennys",
        "Muu syy",
    ],
    regimes: ["Suljettu vankila", "Avovankila", "Tutkintavankeus"],
    modes: [
        "Laitoksessa",
        "Lomalla",
        "Vapautunut",
        "Vapautumisen siirtymäaika päättynyt",
        "Jäädytetty",
    ],
};

const SV: CodeTexts = CodeTexts {
    accounts: [
        "Disponibla medel",
        "Frigivningsfond",
        "Innehållna insättningar",
        "Skadestånd",
    ],
    institution_accounts: [
        "Interimskonto",
        "Avgiftsintäkter",
        "Kassa",
        "Klientmedelskonto",
        "Lönekostnader",
    ],
    reasons: [
        "Rättelse",
        "Återbetalning",
        "Avskrivning",
        "Utredning av interimskontot",
        "Annat skäl",
    ],
    regimes: ["Sluten anstalt", "Öppen anstalt", "Häkte"],
    modes: [
        "I anstalten",
        "Permission",
        "Frigiven",
        "Övergångstiden efter frigivningen har löpt ut",
        "Spärrat",
    ],
};

const NL: CodeTexts = CodeTexts {
    accounts: [
        "Zakgeld",
        "Spaargeld voor vrijlating",
        "Tegengehouden stortingen",
        "Schadevergoeding",
    ],
    institution_accounts: [
        "Wachtrekening",
        "Opbrengst kosten",
        "Kas",
        "Derdenrekening",
        "Loonkosten",
    ],
    reasons: [
        "Correctie",
        "Terugbetaling",
        "Afboeking",
        "Aanzuivering van de wachtrekening",
        "Andere reden",
    ],
    regimes: [
        "Gesloten gevangenis",
        "Open inrichting",
        "Voorlopige hechtenis",
    ],
    modes: [
        "Binnen",
        "Met verlof",
        "Vrijgelaten",
        "Overgangsperiode na vrijlating verstreken",
        "Geblokkeerd",
    ],
};

const FR: CodeTexts = CodeTexts {
    accounts: [
        "Argent disponible",
        "Pécule de libération",
        "Dépôts retenus",
        "Indemnisation des victimes",
    ],
    institution_accounts: [
        "Compte d'attente",
        "Produits des frais",
        "Caisse",
        "Compte de tiers",
        "Charges salariales",
    ],
    reasons: [
        "Rectification",
        "Remboursement",
        "Passage en perte",
        "Apurement du compte d'attente",
        "Autre motif",
    ],
    regimes: [
        "Prison fermée",
        "Établissement ouvert",
        "Détention préventive",
    ],
    modes: [
        "En détention",
        "En congé",
        "Libéré",
        "Délai après libération écoulé",
        "Bloquée",
    ],
};

const DE: CodeTexts = CodeTexts {
    accounts: [
        "Hausgeld",
        "Überbrückungsgeld",
        "Zurückgehaltene Einzahlungen",
        "Wiedergutmachung",
    ],
    institution_accounts: [
        "Verrechnungskonto",
        "Gebührenerträge",
        "Kasse",
        "Treuhandkonto",
        "Lohnaufwand",
    ],
    reasons: [
        "Korrektur",
        "Erstattung",
        "Abschreibung",
        "Klärung des Verrechnungskontos",
        "Sonstiger Grund",
    ],
    regimes: [
        "Geschlossener Vollzug",
        "Offener Vollzug",
        "Untersuchungshaft",
    ],
    modes: [
        "In der Anstalt",
        "Im Urlaub",
        "Entlassen",
        "Übergangsfrist nach Entlassung abgelaufen",
        "Gesperrt",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::adjustments::{INSTITUTION_ACCOUNTS as SERVICE_ACCOUNTS, ReasonCode};

    #[test]
    fn the_code_lists_follow_the_services_and_every_language_names_every_code() {
        let listed: Vec<&str> = SERVICE_ACCOUNTS.iter().map(|(code, _)| *code).collect();
        assert_eq!(listed, INSTITUTION_ACCOUNTS);
        let reasons: Vec<&str> = ReasonCode::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(reasons, REASONS);
        let all = |c: &CodeTexts| -> Vec<&'static str> {
            let mut all = c.accounts.to_vec();
            all.extend(c.institution_accounts);
            all.extend(c.reasons);
            all.extend(c.regimes);
            all.extend(c.modes);
            all
        };
        let english = all(&EN);
        for lang in Lang::ALL {
            for (name, code) in all(codes(lang)).into_iter().zip(&english) {
                assert!(!name.trim().is_empty(), "{lang:?}: a blank name");
                if lang != Lang::En {
                    assert_ne!(name, *code, "{lang:?} left in English");
                }
            }
        }
        assert_eq!(codes(Lang::Nl).account("spendable"), "Zakgeld");
        assert_eq!(codes(Lang::Nl).account("unheard_of"), "unheard_of");
    }
}
