//! The prison-management feed page's words. Event types and reason codes stay as the feed's
//! contract names them (docs/pms-feed.md).
use ledger::controls::Lang;

pub struct PmsFeedTexts {
    pub events: &'static str,
    pub none: &'static str,
    pub event_type: &'static str,
    pub sequence: &'static str,
    pub status: &'static str,
    pub reason: &'static str,
    pub person: &'static str,
    pub occurred: &'static str,
    pub received: &'static str,
    /// Before the sequence number an event waits for.
    pub waits_for: &'static str,
    pub replay: &'static str,
    pub dismiss: &'static str,
    pub population: &'static str,
    pub no_snapshot: &'static str,
    /// `{date}`, `{matching}` and `{unknown}` are filled in.
    pub snapshot: &'static str,
    pub in_pms_not_saldo: &'static str,
    pub in_saldo_not_pms: &'static str,
    pub different_prison: &'static str,
    /// Before the prison Saldo places the person in.
    pub placed_in: &'static str,
    /// In [`STATUSES`] order; English shows the codes, as the JSON API does.
    pub statuses: [&'static str; 2],
}

const STATUSES: [&str; 2] = ["review", "waiting"];

impl PmsFeedTexts {
    pub fn status<'a>(&self, code: &'a str) -> &'a str {
        STATUSES
            .iter()
            .position(|known| *known == code)
            .map_or(code, |index| self.statuses[index])
    }
}

pub fn pms_feed_texts(lang: Lang) -> &'static PmsFeedTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: PmsFeedTexts = PmsFeedTexts {
    events: "Events in review or waiting",
    none: "None.",
    event_type: "Type",
    sequence: "Sequence",
    status: "Status",
    reason: "Reason",
    person: "Person",
    occurred: "Occurred",
    received: "Received",
    waits_for: "waits for sequence",
    replay: "Replay",
    dismiss: "Dismiss",
    population: "Population",
    no_snapshot: "No snapshot from the prison-management system yet.",
    snapshot: "Snapshot of {date}: {matching} matching, {unknown} references Saldo has never seen admitted.",
    in_pms_not_saldo: "In the snapshot, placed nowhere by Saldo",
    in_saldo_not_pms: "Placed here by Saldo, absent from the snapshot",
    different_prison: "In the snapshot, placed by Saldo in another prison",
    placed_in: "in",
    statuses: STATUSES,
};

const FI: PmsFeedTexts = PmsFeedTexts {
    events: "Tarkastettavat ja odottavat tapahtumat",
    none: "Ei yhtään.",
    event_type: "Tyyppi",
    sequence: "Järjestysnumero",
    status: "Tila",
    reason: "Syy",
    person: "Henkilö",
    occurred: "Tapahtui",
    received: "Vastaanotettu",
    waits_for: "odottaa järjestysnumeroa",
    replay: "Käsittele uudelleen",
    dismiss: "Hylkää",
    population: "Vankiluku",
    no_snapshot: "Vankitietojärjestelmästä ei ole vielä tilannekuvaa.",
    snapshot: "Tilannekuva {date}: {matching} täsmää, {unknown} viitettä, joiden vastaanottoa Saldo ei ole koskaan nähnyt.",
    in_pms_not_saldo: "Tilannekuvassa, mutta Saldo ei ole sijoittanut mihinkään",
    in_saldo_not_pms: "Saldo on sijoittanut tänne, puuttuu tilannekuvasta",
    different_prison: "Tilannekuvassa, mutta Saldo on sijoittanut toiseen vankilaan",
    placed_in: "vankilassa",
    statuses: ["tarkastettavana", "odottaa"],
};

const SV: PmsFeedTexts = PmsFeedTexts {
    events: "Händelser som granskas eller väntar",
    none: "Inga.",
    event_type: "Typ",
    sequence: "Löpnummer",
    status: "Läge",
    reason: "Skäl",
    person: "Person",
    occurred: "Inträffade",
    received: "Mottogs",
    waits_for: "väntar på löpnummer",
    replay: "Behandla igen",
    dismiss: "Avfärda",
    population: "Beläggning",
    no_snapshot: "Ingen ögonblicksbild från fångregistret ännu.",
    snapshot: "Ögonblicksbild {date}: {matching} stämmer, {unknown} referenser som Saldo aldrig har sett tas in.",
    in_pms_not_saldo: "I ögonblicksbilden, inte placerade någonstans av Saldo",
    in_saldo_not_pms: "Placerade här av Saldo, saknas i ögonblicksbilden",
    different_prison: "I ögonblicksbilden, placerade av Saldo i en annan anstalt",
    placed_in: "på",
    statuses: ["granskas", "väntar"],
};

const NL: PmsFeedTexts = PmsFeedTexts {
    events: "Gebeurtenissen ter controle of in wachtrij",
    none: "Geen.",
    event_type: "Soort",
    sequence: "Volgnummer",
    status: "Toestand",
    reason: "Reden",
    person: "Persoon",
    occurred: "Plaatsgevonden",
    received: "Ontvangen",
    waits_for: "wacht op volgnummer",
    replay: "Opnieuw verwerken",
    dismiss: "Afwijzen",
    population: "Bevolking",
    no_snapshot: "Nog geen momentopname uit het gevangenisbeheersysteem.",
    snapshot: "Momentopname van {date}: {matching} overeenkomend, {unknown} referenties waarvan Saldo nooit een opname zag.",
    in_pms_not_saldo: "In de momentopname, door Saldo nergens geplaatst",
    in_saldo_not_pms: "Door Saldo hier geplaatst, afwezig in de momentopname",
    different_prison: "In de momentopname, door Saldo in een andere gevangenis geplaatst",
    placed_in: "in gevangenis",
    statuses: ["ter controle", "wacht"],
};

const FR: PmsFeedTexts = PmsFeedTexts {
    events: "Événements à vérifier ou en attente",
    none: "Aucun.",
    event_type: "Type d'événement",
    sequence: "Numéro d'ordre",
    status: "État",
    reason: "Motif",
    person: "Personne",
    occurred: "Survenu le",
    received: "Reçu le",
    waits_for: "attend le numéro d'ordre",
    replay: "Retraiter",
    dismiss: "Écarter",
    population: "Population carcérale",
    no_snapshot: "Pas encore d'instantané du système de gestion pénitentiaire.",
    snapshot: "Instantané du {date} : {matching} concordants, {unknown} références dont Saldo n'a jamais vu l'écrou.",
    in_pms_not_saldo: "Dans l'instantané, placés nulle part par Saldo",
    in_saldo_not_pms: "Placés ici par Saldo, absents de l'instantané",
    different_prison: "Dans l'instantané, placés par Saldo dans une autre prison",
    placed_in: "à la prison",
    statuses: ["à vérifier", "en attente"],
};

const DE: PmsFeedTexts = PmsFeedTexts {
    events: "Ereignisse in Prüfung oder wartend",
    none: "Keine.",
    event_type: "Typ",
    sequence: "Laufnummer",
    status: "Zustand",
    reason: "Grund",
    person: "Person",
    occurred: "Eingetreten",
    received: "Empfangen",
    waits_for: "wartet auf Laufnummer",
    replay: "Erneut verarbeiten",
    dismiss: "Verwerfen",
    population: "Belegung",
    no_snapshot: "Noch kein Stand aus dem Vollzugsverwaltungssystem.",
    snapshot: "Stand vom {date}: {matching} übereinstimmend, {unknown} Kennungen, deren Aufnahme Saldo nie gesehen hat.",
    in_pms_not_saldo: "Im Stand, von Saldo nirgends untergebracht",
    in_saldo_not_pms: "Von Saldo hier untergebracht, fehlt im Stand",
    different_prison: "Im Stand, von Saldo in einer anderen Anstalt untergebracht",
    placed_in: "in Anstalt",
    statuses: ["in Prüfung", "wartend"],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        // "Person" is Swedish and German too: the line it is on holds more.
        super::super::assert_all_translated(|lang| {
            let t = pms_feed_texts(lang);
            let mut all = vec![
                t.events,
                t.none,
                t.event_type,
                t.population,
                t.sequence,
                t.status,
                t.reason,
                t.occurred,
                t.received,
                t.waits_for,
                t.replay,
                t.dismiss,
                t.no_snapshot,
                t.snapshot,
                t.in_pms_not_saldo,
                t.in_saldo_not_pms,
                t.different_prison,
                t.placed_in,
            ];
            all.extend(t.statuses);
            all
        });
        for lang in Lang::ALL {
            let t = pms_feed_texts(lang);
            assert!(!t.person.trim().is_empty(), "{lang:?}");
            for name in ["{date}", "{matching}", "{unknown}"] {
                assert!(t.snapshot.contains(name), "{lang:?} {name}");
            }
        }
    }
}
