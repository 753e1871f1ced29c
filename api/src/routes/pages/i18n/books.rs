//! The trial balance page's words. Account codes (`prisoners:spendable:EUR`) stay as the
//! ledger and its CSV name them.
use ledger::controls::Lang;

pub struct BookTexts {
    pub download_csv: &'static str,
    pub account: &'static str,
    pub account_type: &'static str,
    pub accounts: &'static str,
    pub debit: &'static str,
    pub credit: &'static str,
    /// Before the currency code.
    pub total: &'static str,
    pub balanced: &'static str,
    pub not_balanced: &'static str,
    /// In [`TYPES`] order; English shows the codes, as the CSV does.
    pub types: [&'static str; 5],
}

const TYPES: [&str; 5] = ["asset", "liability", "income", "expense", "equity"];

impl BookTexts {
    pub fn account_type<'a>(&self, code: &'a str) -> &'a str {
        TYPES
            .iter()
            .position(|known| *known == code)
            .map_or(code, |index| self.types[index])
    }
}

pub fn book_texts(lang: Lang) -> &'static BookTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: BookTexts = BookTexts {
    download_csv: "Download as CSV",
    account: "Account",
    account_type: "Type",
    accounts: "Accounts",
    debit: "Debit",
    credit: "Credit",
    total: "Total",
    balanced: "balanced",
    not_balanced: "NOT BALANCED",
    types: TYPES,
};

const FI: BookTexts = BookTexts {
    download_csv: "Lataa CSV-tiedostona",
    account: "Tili",
    account_type: "Tyyppi",
    accounts: "Tilejä",
    debit: "Debet",
    credit: "Kredit",
    total: "Yhteensä",
    balanced: "täsmää",
    not_balanced: "EI TÄSMÄÄ",
    types: ["vastaavaa", "vastattavaa", "tuotto", "kulu", "oma pääoma"],
};

const SV: BookTexts = BookTexts {
    download_csv: "Ladda ned som CSV",
    account: "Konto",
    account_type: "Typ",
    accounts: "Konton",
    debit: "Debet",
    credit: "Kredit",
    total: "Summa",
    balanced: "i balans",
    not_balanced: "INTE I BALANS",
    types: ["tillgång", "skuld", "intäkt", "kostnad", "eget kapital"],
};

const NL: BookTexts = BookTexts {
    download_csv: "Downloaden als CSV",
    account: "Rekening",
    account_type: "Soort",
    accounts: "Rekeningen",
    debit: "Debet",
    credit: "Krediet",
    total: "Totaal",
    balanced: "in evenwicht",
    not_balanced: "NIET IN EVENWICHT",
    types: ["actief", "passief", "opbrengst", "kost", "eigen vermogen"],
};

const FR: BookTexts = BookTexts {
    download_csv: "Télécharger en CSV",
    account: "Compte",
    account_type: "Nature",
    accounts: "Comptes",
    debit: "Débit",
    credit: "Crédit",
    total: "Total",
    balanced: "équilibrée",
    not_balanced: "NON ÉQUILIBRÉE",
    types: ["actif", "passif", "produit", "charge", "capitaux propres"],
};

const DE: BookTexts = BookTexts {
    download_csv: "Als CSV herunterladen",
    account: "Konto",
    account_type: "Art",
    accounts: "Konten",
    debit: "Soll",
    credit: "Haben",
    total: "Summe",
    balanced: "ausgeglichen",
    not_balanced: "NICHT AUSGEGLICHEN",
    types: ["Aktiva", "Passiva", "Ertrag", "Aufwand", "Eigenkapital"],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        // "Total" is French too: the line it starts names a currency and a state, translated.
        super::super::assert_all_translated(|lang| {
            let t = book_texts(lang);
            let mut all = vec![
                t.download_csv,
                t.account,
                t.account_type,
                t.accounts,
                t.credit,
                t.balanced,
                t.not_balanced,
            ];
            all.extend(t.types);
            all
        });
        for lang in Lang::ALL {
            assert!(!book_texts(lang).total.trim().is_empty());
            assert!(!book_texts(lang).debit.trim().is_empty());
        }
        let types: Vec<&str> = [
            ledger::AccountType::Asset,
            ledger::AccountType::Liability,
            ledger::AccountType::Income,
            ledger::AccountType::Expense,
            ledger::AccountType::Equity,
        ]
        .iter()
        .map(|t| t.as_str())
        .collect();
        assert_eq!(types, TYPES);
    }
}
