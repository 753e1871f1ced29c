//! The held-deposits page's words.
use ledger::controls::Lang;

pub struct DepositTexts {
    pub intro: &'static str,
    pub none_waiting: &'static str,
    pub prisoner: &'static str,
    pub sender: &'static str,
    pub amount: &'static str,
    pub accept: &'static str,
    pub reason_for_rejecting: &'static str,
    pub reject_and_refund: &'static str,
}

pub fn deposit_texts(lang: Lang) -> &'static DepositTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

const EN: DepositTexts = DepositTexts {
    intro: "Family deposits above the prison's review threshold (or beyond the prisoner's maximum balance) wait here. Whoever recorded a deposit cannot review it. A rejected deposit is refunded to the trust bank account.",
    none_waiting: "No deposits are waiting.",
    prisoner: "Prisoner",
    sender: "Sender",
    amount: "Amount",
    accept: "Accept",
    reason_for_rejecting: "Reason for rejecting",
    reject_and_refund: "Reject and refund",
};

const FI: DepositTexts = DepositTexts {
    intro: "Omaisten talletukset, jotka ylittävät vankilan tarkastusrajan (tai vangin enimmäissaldon), odottavat täällä. Talletuksen kirjannut ei voi tarkastaa sitä. Hylätty talletus palautetaan asiakasvarojen pankkitilille.",
    none_waiting: "Yksikään talletus ei odota.",
    prisoner: "Vanki",
    sender: "Lähettäjä",
    amount: "Summa",
    accept: "Hyväksy",
    reason_for_rejecting: "Hylkäämisen syy",
    reject_and_refund: "Hylkää ja palauta",
};

const SV: DepositTexts = DepositTexts {
    intro: "Insättningar från anhöriga över anstaltens granskningsgräns (eller över den intagnas högsta saldo) väntar här. Den som registrerade en insättning kan inte granska den. En avvisad insättning återbetalas till klientmedelskontot.",
    none_waiting: "Inga insättningar väntar.",
    prisoner: "Intagen",
    sender: "Avsändare",
    amount: "Belopp",
    accept: "Godkänn",
    reason_for_rejecting: "Skäl till avvisning",
    reject_and_refund: "Avvisa och återbetala",
};

const NL: DepositTexts = DepositTexts {
    intro: "Stortingen van familie boven de controledrempel van de gevangenis (of boven het maximumsaldo van de gedetineerde) wachten hier. Wie een storting registreerde, kan ze niet controleren. Een geweigerde storting wordt teruggestort op de derdenrekening.",
    none_waiting: "Er wachten geen stortingen.",
    prisoner: "Gedetineerde",
    sender: "Afzender",
    amount: "Bedrag",
    accept: "Aanvaarden",
    reason_for_rejecting: "Reden van weigering",
    reject_and_refund: "Weigeren en terugstorten",
};

const FR: DepositTexts = DepositTexts {
    intro: "Les dépôts de proches au-delà du seuil de vérification de la prison (ou du solde maximum du détenu) attendent ici. La personne qui a enregistré un dépôt ne peut pas le vérifier. Un dépôt refusé est remboursé sur le compte de tiers.",
    none_waiting: "Aucun dépôt en attente.",
    prisoner: "Détenu",
    sender: "Expéditeur",
    amount: "Montant",
    accept: "Accepter",
    reason_for_rejecting: "Motif du refus",
    reject_and_refund: "Refuser et rembourser",
};

const DE: DepositTexts = DepositTexts {
    intro: "Einzahlungen von Angehörigen über der Prüfgrenze der Anstalt (oder über dem Höchstsaldo des Gefangenen) warten hier. Wer eine Einzahlung erfasst hat, kann sie nicht prüfen. Eine abgelehnte Einzahlung wird auf das Treuhandkonto erstattet.",
    none_waiting: "Keine Einzahlungen warten.",
    prisoner: "Gefangener",
    sender: "Absender",
    amount: "Betrag",
    accept: "Annehmen",
    reason_for_rejecting: "Grund der Ablehnung",
    reject_and_refund: "Ablehnen und erstatten",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        super::super::assert_all_translated(|lang| {
            let t = deposit_texts(lang);
            vec![
                t.intro,
                t.none_waiting,
                t.prisoner,
                t.sender,
                t.amount,
                t.accept,
                t.reason_for_rejecting,
                t.reject_and_refund,
            ]
        });
    }
}
