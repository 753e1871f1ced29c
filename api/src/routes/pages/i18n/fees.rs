//! The fee report page's words.
use ledger::controls::Lang;

pub struct FeeTexts {
    /// `{prison}` and `{month}` are filled in.
    pub title: &'static str,
    pub month: &'static str,
    pub show: &'static str,
    pub download_csv: &'static str,
    pub none_booked: &'static str,
    pub fee: &'static str,
    pub scope: &'static str,
    pub borne_by: &'static str,
    pub count: &'static str,
    pub total: &'static str,
    pub whole_program: &'static str,
    pub this_prison_scope: &'static str,
    pub totals: &'static str,
    pub currency: &'static str,
    pub this_prison: &'static str,
    pub borne_by_service: &'static str,
    pub borne_by_prisoners: &'static str,
    pub program_wide: &'static str,
    pub program_wide_note: &'static str,
    pub in_force: &'static str,
    pub none_in_force: &'static str,
    pub amount: &'static str,
    pub since: &'static str,
    pub reason: &'static str,
    pub set_heading: &'static str,
    pub set_note: &'static str,
    pub atm_withdrawal: &'static str,
    pub card_replacement: &'static str,
    pub amount_example: &'static str,
    pub the_service: &'static str,
    pub the_prisoner: &'static str,
    pub set_button: &'static str,
    /// In [`KINDS`] order, then any other kind.
    pub kinds: [&'static str; 4],
    /// Who bore a fee, in [`BEARERS`] order; English shows the codes, as the CSV does.
    pub bearers: [&'static str; 2],
}

const KINDS: [&str; 3] = ["processor_program", "atm_withdrawal", "card_replacement"];
const BEARERS: [&str; 2] = ["service", "prisoner"];

impl FeeTexts {
    pub fn kind(&self, code: &str) -> &'static str {
        let index = KINDS
            .iter()
            .position(|known| *known == code)
            .unwrap_or(KINDS.len());
        self.kinds[index]
    }

    pub fn bearer<'a>(&self, code: &'a str) -> &'a str {
        BEARERS
            .iter()
            .position(|known| *known == code)
            .map_or(code, |index| self.bearers[index])
    }
}

pub fn fee_texts(lang: Lang) -> &'static FeeTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: FeeTexts = FeeTexts {
    title: "Fees of {prison} in {month}",
    month: "Month (YYYY-MM)",
    show: "Show",
    download_csv: "Download as CSV (to publish)",
    none_booked: "No fees were booked this month.",
    fee: "Fee",
    scope: "Scope",
    borne_by: "Borne by",
    count: "Count",
    total: "Total",
    whole_program: "whole program",
    this_prison_scope: "this prison",
    totals: "Totals",
    currency: "Currency",
    this_prison: "This prison",
    borne_by_service: "Borne by the service",
    borne_by_prisoners: "Borne by prisoners",
    program_wide: "Program-wide",
    program_wide_note: "Program-wide fees are what the card processor charged the whole program (its settlement files' FEE rows); they name no card, so they are shown as they are on every prison's report, not shared out.",
    in_force: "Fee policies in force",
    none_in_force: "None: every card fee costs prisoners nothing.",
    amount: "Amount",
    since: "Since",
    reason: "Reason",
    set_heading: "Set a fee policy",
    set_note: "Recorded beside the earlier ones, with your reason. An amount of 0 means no fee. A prisoner-borne fee is never taken below zero: the service bears it then.",
    atm_withdrawal: "ATM withdrawal",
    card_replacement: "Card replacement",
    amount_example: "Amount (e.g. 2.00)",
    the_service: "the service",
    the_prisoner: "the prisoner",
    set_button: "Set policy",
    kinds: [
        "Processor program fees",
        "ATM withdrawals",
        "Card replacements",
        "Other",
    ],
    bearers: BEARERS,
};

const FI: FeeTexts = FeeTexts {
    title: "Maksut: {prison}, {month}",
    month: "Kuukausi (VVVV-KK)",
    show: "Näytä",
    download_csv: "Lataa CSV-tiedostona (julkaistavaksi)",
    none_booked: "Tässä kuussa ei kirjattu maksuja.",
    fee: "Maksu",
    scope: "Laajuus",
    borne_by: "Maksaja",
    count: "Lukumäärä",
    total: "Yhteensä",
    whole_program: "koko ohjelma",
    this_prison_scope: "tämä vankila",
    totals: "Yhteensä valuutoittain",
    currency: "Valuutta",
    this_prison: "Tämä vankila",
    borne_by_service: "Palvelu maksaa",
    borne_by_prisoners: "Vangit maksavat",
    program_wide: "Koko ohjelma",
    program_wide_note: "Koko ohjelman maksut ovat kortinkäsittelijän koko ohjelmalta veloittamia maksuja (selvitystiedostojen FEE-rivit); ne eivät kohdistu mihinkään korttiin, joten ne näytetään sellaisenaan jokaisen vankilan raportissa jakamatta.",
    in_force: "Voimassa olevat maksuperusteet",
    none_in_force: "Ei yhtään: mikään korttimaksu ei maksa vangeille mitään.",
    amount: "Summa",
    since: "Alkaen",
    reason: "Syy",
    set_heading: "Aseta maksuperuste",
    set_note: "Kirjataan aiempien rinnalle perusteluineen. Summa 0 tarkoittaa, ettei maksua peritä. Vangin maksamaa maksua ei koskaan peritä niin, että saldo menisi negatiiviseksi: silloin palvelu maksaa sen.",
    atm_withdrawal: "Käteisnosto automaatista",
    card_replacement: "Korvaava kortti",
    amount_example: "Summa (esim. 2.00)",
    the_service: "palvelu",
    the_prisoner: "vanki",
    set_button: "Aseta peruste",
    kinds: [
        "Kortinkäsittelijän ohjelmamaksut",
        "Käteisnostot automaatista",
        "Korvaavat kortit",
        "Muut",
    ],
    bearers: ["palvelu", "vanki"],
};

const SV: FeeTexts = FeeTexts {
    title: "Avgifter för {prison} i {month}",
    month: "Månad (ÅÅÅÅ-MM)",
    show: "Visa",
    download_csv: "Ladda ned som CSV (för publicering)",
    none_booked: "Inga avgifter bokfördes den här månaden.",
    fee: "Avgift",
    scope: "Omfattning",
    borne_by: "Betalas av",
    count: "Antal",
    total: "Summa",
    whole_program: "hela programmet",
    this_prison_scope: "den här anstalten",
    totals: "Summor",
    currency: "Valuta",
    this_prison: "Den här anstalten",
    borne_by_service: "Betalas av tjänsten",
    borne_by_prisoners: "Betalas av de intagna",
    program_wide: "Hela programmet",
    program_wide_note: "Avgifter för hela programmet är vad kortbehandlaren debiterade hela programmet (FEE-raderna i avräkningsfilerna); de avser inget kort och visas därför som de är i varje anstalts rapport, utan att fördelas.",
    in_force: "Gällande avgiftsregler",
    none_in_force: "Inga: ingen kortavgift kostar de intagna något.",
    amount: "Belopp",
    since: "Sedan",
    reason: "Skäl",
    set_heading: "Fastställ en avgiftsregel",
    set_note: "Registreras bredvid de tidigare, med ditt skäl. Beloppet 0 betyder ingen avgift. En avgift som den intagna betalar tas aldrig ut under noll: då betalar tjänsten den.",
    atm_withdrawal: "Uttag i bankomat",
    card_replacement: "Ersättningskort",
    amount_example: "Belopp (t.ex. 2.00)",
    the_service: "tjänsten",
    the_prisoner: "den intagna",
    set_button: "Fastställ regeln",
    kinds: [
        "Kortbehandlarens programavgifter",
        "Uttag i bankomat",
        "Ersättningskort",
        "Övrigt",
    ],
    bearers: ["tjänsten", "den intagna"],
};

const NL: FeeTexts = FeeTexts {
    title: "Kosten van {prison} in {month}",
    month: "Maand (JJJJ-MM)",
    show: "Tonen",
    download_csv: "Downloaden als CSV (om te publiceren)",
    none_booked: "Deze maand werden geen kosten geboekt.",
    fee: "Kosten",
    scope: "Bereik",
    borne_by: "Gedragen door",
    count: "Aantal",
    total: "Totaal",
    whole_program: "hele programma",
    this_prison_scope: "deze gevangenis",
    totals: "Totalen",
    currency: "Munt",
    this_prison: "Deze gevangenis",
    borne_by_service: "Gedragen door de dienst",
    borne_by_prisoners: "Gedragen door gedetineerden",
    program_wide: "Hele programma",
    program_wide_note: "Programmabrede kosten zijn wat de kaartverwerker het hele programma aanrekende (de FEE-regels van zijn vereffeningsbestanden); ze noemen geen kaart en worden daarom ongewijzigd in het verslag van elke gevangenis getoond, zonder verdeling.",
    in_force: "Geldende kostenregels",
    none_in_force: "Geen: geen enkele kaartkost kost gedetineerden iets.",
    amount: "Bedrag",
    since: "Sinds",
    reason: "Reden",
    set_heading: "Een kostenregel vastleggen",
    set_note: "Vastgelegd naast de vorige, met uw reden. Een bedrag van 0 betekent geen kosten. Kosten ten laste van een gedetineerde worden nooit onder nul aangerekend: dan draagt de dienst ze.",
    atm_withdrawal: "Geldopname aan een automaat",
    card_replacement: "Vervangkaart",
    amount_example: "Bedrag (bv. 2.00)",
    the_service: "de dienst",
    the_prisoner: "de gedetineerde",
    set_button: "Regel vastleggen",
    kinds: [
        "Programmakosten van de kaartverwerker",
        "Geldopnames aan een automaat",
        "Vervangkaarten",
        "Andere",
    ],
    bearers: ["de dienst", "de gedetineerde"],
};

const FR: FeeTexts = FeeTexts {
    title: "Frais de {prison} en {month}",
    month: "Mois (AAAA-MM)",
    show: "Afficher",
    download_csv: "Télécharger en CSV (à publier)",
    none_booked: "Aucun frais comptabilisé ce mois-ci.",
    fee: "Frais",
    scope: "Portée",
    borne_by: "À charge de",
    count: "Nombre",
    total: "Montant total",
    whole_program: "tout le programme",
    this_prison_scope: "cette prison",
    totals: "Totaux",
    currency: "Devise",
    this_prison: "Cette prison",
    borne_by_service: "À charge du service",
    borne_by_prisoners: "À charge des détenus",
    program_wide: "Tout le programme",
    program_wide_note: "Les frais de programme sont ce que le processeur de cartes a facturé à l'ensemble du programme (lignes FEE de ses fichiers de règlement) ; ils ne désignent aucune carte et figurent donc tels quels dans le rapport de chaque prison, sans répartition.",
    in_force: "Règles de frais en vigueur",
    none_in_force: "Aucune : aucun frais de carte ne coûte quoi que ce soit aux détenus.",
    amount: "Montant",
    since: "Depuis",
    reason: "Motif",
    set_heading: "Fixer une règle de frais",
    set_note: "Enregistrée à côté des précédentes, avec votre motif. Un montant de 0 signifie aucun frais. Des frais à charge d'un détenu ne sont jamais prélevés en dessous de zéro : le service les supporte alors.",
    atm_withdrawal: "Retrait au distributeur",
    card_replacement: "Carte de remplacement",
    amount_example: "Montant (p. ex. 2.00)",
    the_service: "le service",
    the_prisoner: "le détenu",
    set_button: "Fixer la règle",
    kinds: [
        "Frais de programme du processeur",
        "Retraits au distributeur",
        "Cartes de remplacement",
        "Autres",
    ],
    bearers: ["le service", "le détenu"],
};

const DE: FeeTexts = FeeTexts {
    title: "Gebühren von {prison} im {month}",
    month: "Monat (JJJJ-MM)",
    show: "Anzeigen",
    download_csv: "Als CSV herunterladen (zur Veröffentlichung)",
    none_booked: "In diesem Monat wurden keine Gebühren gebucht.",
    fee: "Gebühr",
    scope: "Geltungsbereich",
    borne_by: "Getragen von",
    count: "Anzahl",
    total: "Summe",
    whole_program: "gesamtes Programm",
    this_prison_scope: "diese Anstalt",
    totals: "Summen",
    currency: "Währung",
    this_prison: "Diese Anstalt",
    borne_by_service: "Vom Dienst getragen",
    borne_by_prisoners: "Von Gefangenen getragen",
    program_wide: "Gesamtes Programm",
    program_wide_note: "Programmgebühren sind, was der Kartenabwickler dem gesamten Programm berechnet hat (die FEE-Zeilen seiner Abrechnungsdateien); sie nennen keine Karte und erscheinen daher unverändert im Bericht jeder Anstalt, ohne Aufteilung.",
    in_force: "Geltende Gebührenregeln",
    none_in_force: "Keine: keine Kartengebühr kostet Gefangene etwas.",
    amount: "Betrag",
    since: "Seit",
    reason: "Grund",
    set_heading: "Eine Gebührenregel festlegen",
    set_note: "Wird neben den früheren mit Ihrer Begründung erfasst. Ein Betrag von 0 bedeutet keine Gebühr. Eine vom Gefangenen getragene Gebühr wird nie unter null erhoben: dann trägt sie der Dienst.",
    atm_withdrawal: "Abhebung am Geldautomaten",
    card_replacement: "Ersatzkarte",
    amount_example: "Betrag (z. B. 2.00)",
    the_service: "der Dienst",
    the_prisoner: "der Gefangene",
    set_button: "Regel festlegen",
    kinds: [
        "Programmgebühren des Kartenabwicklers",
        "Abhebungen am Geldautomaten",
        "Ersatzkarten",
        "Sonstige",
    ],
    bearers: ["der Dienst", "der Gefangene"],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        super::super::assert_all_translated(|lang| {
            let t = fee_texts(lang);
            let mut all = vec![
                t.title,
                t.month,
                t.show,
                t.download_csv,
                t.none_booked,
                t.fee,
                t.scope,
                t.borne_by,
                t.count,
                t.total,
                t.whole_program,
                t.this_prison_scope,
                t.totals,
                t.currency,
                t.this_prison,
                t.borne_by_service,
                t.borne_by_prisoners,
                t.program_wide,
                t.program_wide_note,
                t.in_force,
                t.none_in_force,
                t.amount,
                t.since,
                t.reason,
                t.set_heading,
                t.set_note,
                t.atm_withdrawal,
                t.card_replacement,
                t.amount_example,
                t.the_service,
                t.the_prisoner,
                t.set_button,
            ];
            all.extend(t.kinds);
            all.extend(t.bearers);
            all
        });
        for lang in Lang::ALL {
            let t = fee_texts(lang);
            assert!(t.title.contains("{prison}") && t.title.contains("{month}"));
        }
        assert_eq!(fee_texts(Lang::En).kind("something_new"), "Other");
        assert_eq!(fee_texts(Lang::De).bearer("prisoner"), "der Gefangene");
    }
}
