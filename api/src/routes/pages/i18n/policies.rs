//! The policies page's words.
use ledger::controls::Lang;

pub struct PolicyTexts {
    pub intro: &'static str,
    pub no_policy: &'static str,
    /// Before the policy's id.
    pub policy: &'static str,
    /// Before the policy's version number.
    pub version: &'static str,
    /// `{date}` and `{zone}` are filled in.
    pub since_in: &'static str,
    pub per_payment: &'static str,
    pub day: &'static str,
    pub week: &'static str,
    pub month: &'static str,
    pub inside: &'static str,
    pub on_leave: &'static str,
    pub released: &'static str,
    /// `{amount}` is filled in.
    pub max_balance: &'static str,
    /// `{inside}` and `{blocked}` are filled in.
    pub merchants: &'static str,
    pub no_limit: &'static str,
}

pub fn policy_texts(lang: Lang) -> &'static PolicyTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: PolicyTexts = PolicyTexts {
    intro: "The policy each regime's cards are decided with now. Finance approvers and administrators publish new versions through the JSON API (see docs/api.md); per-person overrides need a second member of staff.",
    no_policy: "No policy assigned: cards of this regime are declined.",
    policy: "Policy",
    version: "version",
    since_in: ", since {date}, spend windows in {zone}.",
    per_payment: "Per payment",
    day: "Day",
    week: "Week",
    month: "Month",
    inside: "Inside",
    on_leave: "On leave (default)",
    released: "Released",
    max_balance: "Maximum balance: {amount}.",
    merchants: "Prison merchants: {inside}; blocked merchants: {blocked}.",
    no_limit: "no limit",
};

const FI: PolicyTexts = PolicyTexts {
    intro: "Käyttörajoitukset, joiden mukaan kunkin vankilatyypin kortit nyt päätetään. Talouden hyväksyjät ja ylläpitäjät julkaisevat uudet versiot JSON-rajapinnan kautta (ks. docs/api.md); henkilökohtaiset poikkeukset vaativat toisen henkilökunnan jäsenen.",
    no_policy: "Käyttörajoituksia ei ole asetettu: tämän vankilatyypin kortit hylätään.",
    policy: "Käyttörajoitukset",
    version: "versio",
    since_in: ", voimassa {date} alkaen, ostoajat aikavyöhykkeellä {zone}.",
    per_payment: "Maksua kohden",
    day: "Päivä",
    week: "Viikko",
    month: "Kuukausi",
    inside: "Laitoksessa",
    on_leave: "Lomalla (oletus)",
    released: "Vapautunut",
    max_balance: "Enimmäissaldo: {amount}.",
    merchants: "Vankilan kauppiaat: {inside}; estetyt kauppiaat: {blocked}.",
    no_limit: "ei rajaa",
};

const SV: PolicyTexts = PolicyTexts {
    intro: "Utgiftsreglerna som varje anstaltstyps kort beslutas efter nu. Ekonomigodkännare och administratörer publicerar nya versioner via JSON-gränssnittet (se docs/api.md); undantag för enskilda kräver en andra tjänsteman.",
    no_policy: "Inga utgiftsregler tilldelade: kort för den här anstaltstypen nekas.",
    policy: "Utgiftsregler",
    version: "version",
    since_in: ", sedan {date}, inköpstider i tidszonen {zone}.",
    per_payment: "Per betalning",
    day: "Dag",
    week: "Vecka",
    month: "Månad",
    inside: "I anstalten",
    on_leave: "Permission (standard)",
    released: "Frigiven",
    max_balance: "Högsta saldo: {amount}.",
    merchants: "Anstaltens försäljningsställen: {inside}; spärrade försäljningsställen: {blocked}.",
    no_limit: "ingen gräns",
};

const NL: PolicyTexts = PolicyTexts {
    intro: "De bestedingsregels waarmee de kaarten van elk regime nu beoordeeld worden. Financieel goedkeurders en beheerders publiceren nieuwe versies via de JSON-API (zie docs/api.md); afwijkingen per persoon vereisen een tweede personeelslid.",
    no_policy: "Geen bestedingsregels toegewezen: kaarten van dit regime worden geweigerd.",
    policy: "Bestedingsregels",
    version: "versie",
    since_in: ", sinds {date}, aankooptijden in tijdzone {zone}.",
    per_payment: "Per betaling",
    day: "Per dag",
    week: "Per week",
    month: "Per maand",
    inside: "Binnen",
    on_leave: "Met verlof (standaard)",
    released: "Vrijgelaten",
    max_balance: "Maximumsaldo: {amount}.",
    merchants: "Handelaars in de gevangenis: {inside}; geblokkeerde handelaars: {blocked}.",
    no_limit: "geen grens",
};

const FR: PolicyTexts = PolicyTexts {
    intro: "Les règles de dépenses selon lesquelles les cartes de chaque régime sont actuellement autorisées. Les approbateurs financiers et les administrateurs publient de nouvelles versions via l'API JSON (voir docs/api.md) ; les dérogations individuelles exigent un second membre du personnel.",
    no_policy: "Aucune règle attribuée : les cartes de ce régime sont refusées.",
    policy: "Règles",
    version: "version n°",
    since_in: ", depuis le {date}, plages d'achat dans le fuseau {zone}.",
    per_payment: "Par paiement",
    day: "Jour",
    week: "Semaine",
    month: "Mois",
    inside: "En détention",
    on_leave: "En congé (par défaut)",
    released: "Libéré",
    max_balance: "Solde maximum : {amount}.",
    merchants: "Commerçants de la prison : {inside} ; commerçants bloqués : {blocked}.",
    no_limit: "aucune limite",
};

const DE: PolicyTexts = PolicyTexts {
    intro: "Die Ausgaberegeln, nach denen die Karten jeder Vollzugsart jetzt entschieden werden. Finanzfreigaben und Administratoren veröffentlichen neue Versionen über die JSON-API (siehe docs/api.md); Ausnahmen für einzelne Personen erfordern eine zweite Person des Personals.",
    no_policy: "Keine Ausgaberegeln zugewiesen: Karten dieser Vollzugsart werden abgelehnt.",
    policy: "Ausgaberegeln",
    version: "Version",
    since_in: ", seit {date}, Einkaufszeiten in der Zeitzone {zone}.",
    per_payment: "Pro Zahlung",
    day: "Tag",
    week: "Woche",
    month: "Monat",
    inside: "In der Anstalt",
    on_leave: "Im Urlaub (Standard)",
    released: "Entlassen",
    max_balance: "Höchstsaldo: {amount}.",
    merchants: "Händler in der Anstalt: {inside}; gesperrte Händler: {blocked}.",
    no_limit: "keine Grenze",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        super::super::assert_all_translated(|lang| {
            let t = policy_texts(lang);
            vec![
                t.intro,
                t.no_policy,
                t.policy,
                t.since_in,
                t.per_payment,
                t.day,
                t.week,
                t.month,
                t.inside,
                t.on_leave,
                t.released,
                t.max_balance,
                t.merchants,
                t.no_limit,
            ]
        });
        for lang in Lang::ALL {
            let t = policy_texts(lang);
            assert!(t.since_in.contains("{date}") && t.since_in.contains("{zone}"));
            assert!(t.max_balance.contains("{amount}"), "{lang:?}");
            assert!(t.merchants.contains("{inside}") && t.merchants.contains("{blocked}"));
        }
    }
}
