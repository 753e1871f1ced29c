//! The adjustments page's words.
use ledger::controls::Lang;

pub struct AdjustmentTexts {
    pub intro: &'static str,
    pub none_yet: &'static str,
    pub proposed_on: &'static str,
    pub prisoner: &'static str,
    pub entry: &'static str,
    pub amount: &'static str,
    pub reason: &'static str,
    pub state: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    /// In [`STATES`] order; English shows the codes, as the JSON API does.
    pub states: [&'static str; 3],
}

const STATES: [&str; 3] = ["proposed", "approved", "rejected"];

impl AdjustmentTexts {
    /// A proposal's state (a code not listed is shown as it is).
    pub fn state<'a>(&self, code: &'a str) -> &'a str {
        STATES
            .iter()
            .position(|known| *known == code)
            .map_or(code, |index| self.states[index])
    }
}

pub fn adjustment_texts(lang: Lang) -> &'static AdjustmentTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: AdjustmentTexts = AdjustmentTexts {
    intro: "Propose an adjustment from a prisoner's page. The maker of a proposal cannot approve it.",
    none_yet: "No adjustments yet.",
    proposed_on: "Proposed",
    prisoner: "Prisoner",
    entry: "Entry",
    amount: "Amount",
    reason: "Reason",
    state: "State",
    approve: "Approve",
    reject: "Reject",
    states: STATES,
};

const FI: AdjustmentTexts = AdjustmentTexts {
    intro: "Ehdota oikaisua vangin sivulta. Ehdotuksen tekijä ei voi hyväksyä sitä.",
    none_yet: "Ei vielä oikaisuja.",
    proposed_on: "Ehdotettu",
    prisoner: "Vanki",
    entry: "Kirjaus",
    amount: "Summa",
    reason: "Syy",
    state: "Tila",
    approve: "Hyväksy",
    reject: "Hylkää",
    states: ["ehdotettu", "hyväksytty", "hylätty"],
};

const SV: AdjustmentTexts = AdjustmentTexts {
    intro: "Föreslå en justering från den intagnas sida. Den som föreslår en justering kan inte godkänna den.",
    none_yet: "Inga justeringar ännu.",
    proposed_on: "Föreslagen",
    prisoner: "Intagen",
    entry: "Bokföring",
    amount: "Belopp",
    reason: "Skäl",
    state: "Status",
    approve: "Godkänn",
    reject: "Avslå",
    states: ["föreslagen", "godkänd", "avslagen"],
};

const NL: AdjustmentTexts = AdjustmentTexts {
    intro: "Stel een correctie voor vanaf de pagina van een gedetineerde. Wie een correctie voorstelt, kan ze niet goedkeuren.",
    none_yet: "Nog geen correcties.",
    proposed_on: "Voorgesteld",
    prisoner: "Gedetineerde",
    entry: "Boeking",
    amount: "Bedrag",
    reason: "Reden",
    state: "Status",
    approve: "Goedkeuren",
    reject: "Weigeren",
    states: ["voorgesteld", "goedgekeurd", "geweigerd"],
};

const FR: AdjustmentTexts = AdjustmentTexts {
    intro: "Proposez une régularisation depuis la page d'un détenu. L'auteur d'une proposition ne peut pas l'approuver.",
    none_yet: "Aucune régularisation pour l'instant.",
    proposed_on: "Proposée le",
    prisoner: "Détenu",
    entry: "Écriture",
    amount: "Montant",
    reason: "Motif",
    state: "État",
    approve: "Approuver",
    reject: "Rejeter",
    states: ["proposée", "approuvée", "rejetée"],
};

const DE: AdjustmentTexts = AdjustmentTexts {
    intro: "Schlagen Sie eine Korrektur auf der Seite eines Gefangenen vor. Wer eine Korrektur vorschlägt, kann sie nicht genehmigen.",
    none_yet: "Noch keine Korrekturen.",
    proposed_on: "Vorgeschlagen",
    prisoner: "Gefangener",
    entry: "Buchung",
    amount: "Betrag",
    reason: "Grund",
    state: "Status",
    approve: "Genehmigen",
    reject: "Ablehnen",
    states: ["vorgeschlagen", "genehmigt", "abgelehnt"],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        super::super::assert_all_translated(|lang| {
            let t = adjustment_texts(lang);
            let mut all = vec![
                t.intro,
                t.none_yet,
                t.proposed_on,
                t.prisoner,
                t.entry,
                t.amount,
                t.reason,
                t.state,
                t.approve,
                t.reject,
            ];
            all.extend(t.states);
            all
        });
        assert_eq!(adjustment_texts(Lang::Fr).state("approved"), "approuvée");
        assert_eq!(adjustment_texts(Lang::Fr).state("unheard_of"), "unheard_of");
    }
}
