//! The payroll page's words. A batch's default description ("Wages", "Allowance") is data
//! (stored on the entries, translated where shown) and stays as it is.
use ledger::controls::Lang;

pub struct PayrollTexts {
    /// Before the header example.
    pub one_line_per_payment: &'static str,
    pub or: &'static str,
    pub all_or_none: &'static str,
    pub kind: &'static str,
    pub wages: &'static str,
    pub allowance: &'static str,
    pub pay_date: &'static str,
    pub description: &'static str,
    pub file: &'static str,
    pub post: &'static str,
    pub posted_title: &'static str,
    /// `{count}`, `{total}`, `{date}`, `{version}` are filled in.
    pub posted: &'static str,
    pub post_another: &'static str,
    pub refused_title: &'static str,
    /// `{count}` is filled in.
    pub lines_invalid: &'static str,
    pub line: &'static str,
    pub problem: &'static str,
    pub back_to_form: &'static str,
}

pub fn payroll_texts(lang: Lang) -> &'static PayrollTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: PayrollTexts = PayrollTexts {
    one_line_per_payment: "One line per payment after a header line, e.g.",
    or: "or",
    all_or_none: "All lines are posted or none; each is split by the prison's allocation rules. Files larger than this form allows go to the JSON API (see docs/api.md).",
    kind: "Kind",
    wages: "Wages",
    allowance: "Allowance",
    pay_date: "Pay date",
    description: "Description",
    file: "Payroll file (CSV)",
    post: "Post payroll",
    posted_title: "Payroll posted",
    posted: "{count} payments posted, {total} in all, dated {date} (allocation rules version {version}).",
    post_another: "Post another file",
    refused_title: "Payroll refused",
    lines_invalid: "{count} line(s) are invalid; nothing was posted.",
    line: "Line",
    problem: "Problem",
    back_to_form: "Back to the payroll form",
};

const FI: PayrollTexts = PayrollTexts {
    one_line_per_payment: "Yksi rivi maksua kohden otsikkorivin jälkeen, esim.",
    or: "tai",
    all_or_none: "Kaikki rivit kirjataan tai ei yhtäkään; kukin jaetaan vankilan kohdistussääntöjen mukaan. Tätä lomaketta suuremmat tiedostot lähetetään JSON-rajapintaan (ks. docs/api.md).",
    kind: "Laji",
    wages: "Palkka",
    allowance: "Toimintaraha",
    pay_date: "Maksupäivä",
    description: "Selite",
    file: "Palkkatiedosto (CSV)",
    post: "Kirjaa palkat",
    posted_title: "Palkat kirjattu",
    posted: "{count} maksua kirjattu, yhteensä {total}, maksupäivä {date} (kohdistussääntöjen versio {version}).",
    post_another: "Kirjaa toinen tiedosto",
    refused_title: "Palkat hylätty",
    lines_invalid: "{count} riviä on virheellisiä; mitään ei kirjattu.",
    line: "Rivi",
    problem: "Virhe",
    back_to_form: "Takaisin palkkalomakkeelle",
};

const SV: PayrollTexts = PayrollTexts {
    one_line_per_payment: "En rad per betalning efter en rubrikrad, t.ex.",
    or: "eller",
    all_or_none: "Alla rader bokförs eller ingen; var och en fördelas enligt anstaltens fördelningsregler. Filer som är större än formuläret tillåter skickas till JSON-gränssnittet (se docs/api.md).",
    kind: "Typ",
    wages: "Lön",
    allowance: "Ersättning",
    pay_date: "Betalningsdag",
    description: "Beskrivning",
    file: "Lönefil (CSV)",
    post: "Bokför lönerna",
    posted_title: "Lönerna bokförda",
    posted: "{count} betalningar bokförda, totalt {total}, daterade {date} (fördelningsreglernas version {version}).",
    post_another: "Bokför en annan fil",
    refused_title: "Lönerna avvisade",
    lines_invalid: "{count} rad(er) är ogiltiga; ingenting bokfördes.",
    line: "Rad",
    problem: "Fel",
    back_to_form: "Tillbaka till löneformuläret",
};

const NL: PayrollTexts = PayrollTexts {
    one_line_per_payment: "Eén regel per betaling na een kopregel, bv.",
    or: "of",
    all_or_none: "Alle regels worden geboekt of geen enkele; elke regel wordt verdeeld volgens de verdeelregels van de gevangenis. Bestanden die groter zijn dan dit formulier toelaat, gaan naar de JSON-API (zie docs/api.md).",
    kind: "Soort",
    wages: "Loon",
    allowance: "Vergoeding",
    pay_date: "Betaaldatum",
    description: "Omschrijving",
    file: "Loonbestand (CSV)",
    post: "Loon boeken",
    posted_title: "Loon geboekt",
    posted: "{count} betalingen geboekt, in totaal {total}, gedateerd {date} (versie {version} van de verdeelregels).",
    post_another: "Een ander bestand boeken",
    refused_title: "Loon geweigerd",
    lines_invalid: "{count} regel(s) ongeldig; er werd niets geboekt.",
    line: "Regel",
    problem: "Probleem",
    back_to_form: "Terug naar het loonformulier",
};

const FR: PayrollTexts = PayrollTexts {
    one_line_per_payment: "Une ligne par paiement après une ligne d'en-tête, p. ex.",
    or: "ou",
    all_or_none: "Toutes les lignes sont comptabilisées ou aucune ; chacune est répartie selon les règles de répartition de la prison. Les fichiers plus grands que ce formulaire ne le permet passent par l'API JSON (voir docs/api.md).",
    kind: "Type",
    wages: "Salaire",
    allowance: "Allocation",
    pay_date: "Date de paiement",
    description: "Libellé",
    file: "Fichier de paie (CSV)",
    post: "Comptabiliser la paie",
    posted_title: "Paie comptabilisée",
    posted: "{count} paiements comptabilisés, {total} au total, datés du {date} (version {version} des règles de répartition).",
    post_another: "Comptabiliser un autre fichier",
    refused_title: "Paie refusée",
    lines_invalid: "{count} ligne(s) invalide(s) ; rien n'a été comptabilisé.",
    line: "Ligne",
    problem: "Problème",
    back_to_form: "Retour au formulaire de paie",
};

const DE: PayrollTexts = PayrollTexts {
    one_line_per_payment: "Eine Zeile pro Zahlung nach einer Kopfzeile, z. B.",
    or: "oder",
    all_or_none: "Alle Zeilen werden gebucht oder keine; jede wird nach den Aufteilungsregeln der Anstalt aufgeteilt. Dateien, die größer sind, als dieses Formular zulässt, gehen an die JSON-API (siehe docs/api.md).",
    kind: "Art",
    wages: "Arbeitsentgelt",
    allowance: "Taschengeld",
    pay_date: "Zahltag",
    description: "Buchungstext",
    file: "Lohndatei (CSV)",
    post: "Lohn buchen",
    posted_title: "Lohn gebucht",
    posted: "{count} Zahlungen gebucht, insgesamt {total}, mit Datum {date} (Aufteilungsregeln Version {version}).",
    post_another: "Eine weitere Datei buchen",
    refused_title: "Lohn abgelehnt",
    lines_invalid: "{count} Zeile(n) ungültig; nichts wurde gebucht.",
    line: "Zeile",
    problem: "Fehler",
    back_to_form: "Zurück zum Lohnformular",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        super::super::assert_all_translated(|lang| {
            let t = payroll_texts(lang);
            vec![
                t.one_line_per_payment,
                t.or,
                t.all_or_none,
                t.kind,
                t.wages,
                t.allowance,
                t.pay_date,
                t.description,
                t.file,
                t.post,
                t.posted_title,
                t.posted,
                t.post_another,
                t.refused_title,
                t.lines_invalid,
                t.line,
                t.problem,
                t.back_to_form,
            ]
        });
        for lang in Lang::ALL {
            let t = payroll_texts(lang);
            for name in ["{count}", "{total}", "{date}", "{version}"] {
                assert!(t.posted.contains(name), "{lang:?} {name}");
            }
            assert!(t.lines_invalid.contains("{count}"), "{lang:?}");
        }
    }
}
