//! The dead-letters page's words. Operations, calls and the processor's errors stay as the
//! outbox records them.
use ledger::controls::Lang;

pub struct DeadLetterTexts {
    pub title: &'static str,
    pub none: &'static str,
    pub operation: &'static str,
    pub call: &'static str,
    pub attempts: &'static str,
    pub error: &'static str,
    pub status: &'static str,
    pub retry: &'static str,
}

pub fn dead_letter_texts(lang: Lang) -> &'static DeadLetterTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: DeadLetterTexts = DeadLetterTexts {
    title: "Processor calls that failed",
    none: "None.",
    operation: "Operation",
    call: "Call",
    attempts: "Attempts",
    error: "Error",
    status: "Status",
    retry: "Retry",
};

const FI: DeadLetterTexts = DeadLetterTexts {
    title: "Epäonnistuneet kutsut kortinkäsittelijälle",
    none: "Ei yhtään.",
    operation: "Toiminto",
    call: "Kutsu",
    attempts: "Yrityksiä",
    error: "Virhe",
    status: "Tilakoodi",
    retry: "Yritä uudelleen",
};

const SV: DeadLetterTexts = DeadLetterTexts {
    title: "Misslyckade anrop till kortbehandlaren",
    none: "Inga.",
    operation: "Åtgärd",
    call: "Anrop",
    attempts: "Försök",
    error: "Fel",
    status: "Statuskod",
    retry: "Försök igen",
};

const NL: DeadLetterTexts = DeadLetterTexts {
    title: "Mislukte oproepen naar de kaartverwerker",
    none: "Geen.",
    operation: "Bewerking",
    call: "Oproep",
    attempts: "Pogingen",
    error: "Fout",
    status: "Statuscode",
    retry: "Opnieuw proberen",
};

const FR: DeadLetterTexts = DeadLetterTexts {
    title: "Appels au processeur de cartes en échec",
    none: "Aucun.",
    operation: "Opération",
    call: "Appel",
    attempts: "Tentatives",
    error: "Erreur",
    status: "Code d'état",
    retry: "Réessayer",
};

const DE: DeadLetterTexts = DeadLetterTexts {
    title: "Fehlgeschlagene Aufrufe beim Kartenabwickler",
    none: "Keine.",
    operation: "Vorgang",
    call: "Aufruf",
    attempts: "Versuche",
    error: "Fehler",
    status: "Statuscode",
    retry: "Erneut versuchen",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        super::super::assert_all_translated(|lang| {
            let t = dead_letter_texts(lang);
            vec![
                t.title,
                t.none,
                t.operation,
                t.call,
                t.attempts,
                t.error,
                t.status,
                t.retry,
            ]
        });
    }
}
