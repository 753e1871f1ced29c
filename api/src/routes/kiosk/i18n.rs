//! The kiosk's words in Finnish, Swedish, English, Dutch, French and German: every language a
//! prisoner's record can name. The prisoner's own language is the default; they can switch.
use ledger::controls::{Lang, ReasonKey};
use ledger::entry_text::EntryText;
use ledger::person_purpose;

pub struct Texts {
    pub lang: &'static str,
    pub title: &'static str,
    pub sign_in: &'static str,
    pub prisoner_number: &'static str,
    pub pin: &'static str,
    pub sign_in_failed: &'static str,
    pub pin_locked: &'static str,
    pub kiosk_busy: &'static str,
    /// Too many sign-ins being checked at once (nothing counted against anyone).
    pub sign_in_busy: &'static str,
    pub balances: &'static str,
    pub available: &'static str,
    pub held: &'static str,
    pub spendable: &'static str,
    pub release_savings: &'static str,
    pub held_deposits: &'static str,
    /// Money set aside for victims' compensation (the allocation rules may route income here).
    pub restitution: &'static str,
    /// The call-credit sub-account (docs/services.md).
    pub call_credit: &'static str,
    /// The prison services' section: its heading, the service column, a captured purchase.
    pub service_purchases: &'static str,
    pub service: &'static str,
    pub paid: &'static str,
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
    /// Shown `SESSION_WARNING_SECONDS` before an idle session ends (WCAG 2.2.1).
    pub session_ending: &'static str,
    pub stay_signed_in: &'static str,
    pub language: &'static str,
    pub card_payments: &'static str,
    /// Paying into the account by bank transfer: the trust account and the person's reference.
    pub bank_transfers: &'static str,
    pub reference: &'static str,
    pub merchant: &'static str,
    pub result: &'static str,
    pub approved: &'static str,
    pub declined: &'static str,
    pub pending: &'static str,
    /// The card's modes, in [`ModeShown`] order.
    pub modes: [&'static str; 5],
}

/// Entry descriptions in [`EntryText::ALL`] order, per language.
const FI_ENTRY_TEXTS: [&str; 32] = [
    "Käteinen vastaanotossa",
    "Omaisen talletus",
    "Omaisen talletus tarkastettavana",
    "Omaisen talletus hyväksytty tarkastuksessa",
    "Omaisen talletus hylätty ja palautettu",
    "Korttiosto",
    "Korttiosto (kirjattu ilman katevarausta)",
    "Korttiosto palautettu",
    "Vapautumisrahasto käyttövaroiksi vapautuessa",
    "Vapautumisrahasto maksettu vapautuessa",
    "Loppumaksu vapautumisen jälkeen",
    "Maksu tilien sulkemisen yhteydessä",
    "Palkka",
    "Toimintaraha",
    "Oikaisu: korjaus",
    "Oikaisu: hyvitys",
    "Oikaisu: alaskirjaus",
    "Oikaisu: kohdistamattomat varat",
    "Oikaisu",
    "Kortinantajan ohjelmamaksu",
    "Käteisnostomaksu",
    "Korvaavan kortin maksu",
    "Vankilan palvelun osto",
    "Vankilan palvelun palautus",
    "Puhelinsaldon lataus",
    "Puhelut",
    "Vankilan palvelun tilausmaksu",
    "Vankilan palvelun osto (offline)",
    "Puhelinsaldo käyttövaroiksi vapautuessa",
    "Vapautumismaksu tilisiirtona",
    "Vapautumismaksu käteisenä portilla",
    "Pankki palautti maksun",
];
const SV_ENTRY_TEXTS: [&str; 32] = [
    "Kontanter vid intagning",
    "Insättning från anhörig",
    "Insättning från anhörig hålls för granskning",
    "Insättning från anhörig godkänd efter granskning",
    "Insättning från anhörig avvisad och återbetald",
    "Kortköp",
    "Kortköp (bokfört utan auktorisering)",
    "Återbetalning till kortet",
    "Frigivningsfond till disponibla medel vid frigivning",
    "Frigivningsfond utbetald vid frigivning",
    "Slutbetalning efter frigivning",
    "Utbetalning när kontona stängs",
    "Lön",
    "Ersättning",
    "Justering: rättelse",
    "Justering: återbetalning",
    "Justering: avskrivning",
    "Justering: ofördelade medel",
    "Justering",
    "Kortutgivarens programavgift",
    "Avgift för kontantuttag",
    "Avgift för ersättningskort",
    "Köp av fängelsets tjänst",
    "Återbetalning från fängelsets tjänst",
    "Påfyllning av samtalskredit",
    "Telefonsamtal",
    "Abonnemangsavgift för fängelsets tjänst",
    "Köp av fängelsets tjänst (offline)",
    "Samtalskredit till disponibla medel vid frigivning",
    "Utbetalning vid frigivning via banköverföring",
    "Utbetalning vid frigivning kontant vid porten",
    "Utbetalningen returnerad av banken",
];
const EN_ENTRY_TEXTS: [&str; 32] = [
    "Cash at intake",
    "Family deposit",
    "Family deposit held for review",
    "Family deposit accepted after review",
    "Family deposit rejected and refunded",
    "Card purchase",
    "Card purchase (booked without authorization)",
    "Card refund",
    "Release savings to spending money at release",
    "Release savings paid out at release",
    "Final payout after release",
    "Payout on closing the accounts",
    "Wages",
    "Allowance",
    "Adjustment: correction",
    "Adjustment: refund",
    "Adjustment: write-off",
    "Adjustment: unallocated money",
    "Adjustment",
    "Card processor program fee",
    "ATM withdrawal fee",
    "Replacement card fee",
    "Prison service purchase",
    "Prison service refund",
    "Call credit top-up",
    "Phone calls",
    "Prison service subscription charge",
    "Prison service purchase (offline)",
    "Call credit to spendable at release",
    "Release payout by bank transfer",
    "Release payout in cash at the gate",
    "Payout returned by the bank",
];
const NL_ENTRY_TEXTS: [&str; 32] = [
    "Contant geld bij opname",
    "Storting door familie",
    "Storting door familie wacht op controle",
    "Storting door familie aanvaard na controle",
    "Storting door familie geweigerd en terugbetaald",
    "Aankoop met de kaart",
    "Aankoop met de kaart (geboekt zonder autorisatie)",
    "Terugbetaling op de kaart",
    "Spaargeld voor vrijlating naar zakgeld bij vrijlating",
    "Spaargeld voor vrijlating uitbetaald bij vrijlating",
    "Laatste uitbetaling na vrijlating",
    "Uitbetaling bij het sluiten van de rekeningen",
    "Loon",
    "Vergoeding",
    "Correctie: rechtzetting",
    "Correctie: terugbetaling",
    "Correctie: afschrijving",
    "Correctie: niet-toegewezen geld",
    "Correctie",
    "Programmakosten van de kaartverwerker",
    "Kosten geldopname",
    "Kosten vervangende kaart",
    "Aankoop bij een dienst van de gevangenis",
    "Terugbetaling door een dienst van de gevangenis",
    "Opwaardering belkrediet",
    "Telefoongesprekken",
    "Abonnementskosten dienst van de gevangenis",
    "Aankoop bij een dienst van de gevangenis (offline)",
    "Belkrediet naar besteedbaar bij invrijheidstelling",
    "Uitbetaling bij invrijheidstelling per overschrijving",
    "Uitbetaling bij invrijheidstelling in contanten aan de poort",
    "Uitbetaling teruggestort door de bank",
];
const FR_ENTRY_TEXTS: [&str; 32] = [
    "Espèces à l'écrou",
    "Dépôt d'un proche",
    "Dépôt d'un proche retenu pour vérification",
    "Dépôt d'un proche accepté après vérification",
    "Dépôt d'un proche refusé et remboursé",
    "Achat par carte",
    "Achat par carte (comptabilisé sans autorisation)",
    "Remboursement sur la carte",
    "Pécule de libération versé à l'argent disponible à la libération",
    "Pécule de libération payé à la libération",
    "Dernier paiement après la libération",
    "Paiement à la clôture des comptes",
    "Salaire",
    "Allocation",
    "Régularisation : correction",
    "Régularisation : remboursement",
    "Régularisation : passage en perte",
    "Régularisation : fonds non affectés",
    "Régularisation",
    "Frais de programme du processeur de cartes",
    "Frais de retrait au distributeur",
    "Frais de carte de remplacement",
    "Achat auprès d'un service de la prison",
    "Remboursement d'un service de la prison",
    "Recharge du crédit d'appel",
    "Appels téléphoniques",
    "Abonnement à un service de la prison",
    "Achat auprès d'un service de la prison (hors ligne)",
    "Crédit d'appel vers le disponible à la libération",
    "Versement à la libération par virement",
    "Versement à la libération en espèces à la porte",
    "Versement retourné par la banque",
];
const DE_ENTRY_TEXTS: [&str; 32] = [
    "Bargeld bei der Aufnahme",
    "Einzahlung von Angehörigen",
    "Einzahlung von Angehörigen zur Prüfung zurückgehalten",
    "Einzahlung von Angehörigen nach Prüfung angenommen",
    "Einzahlung von Angehörigen abgelehnt und erstattet",
    "Kartenzahlung",
    "Kartenzahlung (ohne Autorisierung gebucht)",
    "Erstattung auf die Karte",
    "Überbrückungsgeld bei Entlassung zum Hausgeld",
    "Überbrückungsgeld bei Entlassung ausgezahlt",
    "Schlusszahlung nach der Entlassung",
    "Auszahlung bei Schließung der Konten",
    "Arbeitsentgelt",
    "Taschengeld",
    "Korrektur: Berichtigung",
    "Korrektur: Erstattung",
    "Korrektur: Abschreibung",
    "Korrektur: nicht zugeordnetes Geld",
    "Korrektur",
    "Programmgebühr des Kartenabwicklers",
    "Gebühr für Bargeldabhebung",
    "Gebühr für Ersatzkarte",
    "Kauf bei einem Dienst der Anstalt",
    "Erstattung durch einen Dienst der Anstalt",
    "Aufladung des Telefonguthabens",
    "Telefongespräche",
    "Abonnementgebühr eines Dienstes der Anstalt",
    "Kauf bei einem Dienst der Anstalt (offline)",
    "Telefonguthaben zum Verfügbaren bei der Entlassung",
    "Auszahlung bei der Entlassung per Überweisung",
    "Auszahlung bei der Entlassung in bar am Tor",
    "Auszahlung von der Bank zurückgebucht",
];

/// The card's mode as the kiosk names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeShown {
    Inside,
    Leave,
    Released,
    Frozen,
    Closed,
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
    sign_in_busy: "Järjestelmä on juuri nyt kiireinen. Yritä hetken päästä uudelleen.",
    balances: "Saldot",
    available: "Käytettävissä",
    held: "Varattu",
    spendable: "Käyttövarat",
    release_savings: "Vapautumisrahasto",
    held_deposits: "Pidätetyt talletukset",
    restitution: "Vahingonkorvaukset",
    call_credit: "Puhelinsaldo",
    service_purchases: "Vankilan palvelut",
    service: "Palvelu",
    paid: "Maksettu",
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
    session_ending: "Sinut kirjataan ulos 30 sekunnin kuluttua, koska mitään ei ole tapahtunut.",
    stay_signed_in: "Pysy kirjautuneena",
    language: "Kieli",
    card_payments: "Korttimaksut",
    bank_transfers: "Tilisiirrot omaisilta",
    reference: "Viite",
    merchant: "Kauppa",
    result: "Tulos",
    approved: "Hyväksytty",
    declined: "Hylätty",
    pending: "Käsittelyssä",
    modes: [
        "Laitoksessa",
        "Lomalla",
        "Vapautunut",
        "Jäädytetty",
        "Suljettu",
    ],
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
    sign_in_busy: "Systemet är upptaget just nu. Försök igen om en stund.",
    balances: "Saldon",
    available: "Tillgängligt",
    held: "Reserverat",
    spendable: "Disponibla medel",
    release_savings: "Frigivningsfond",
    held_deposits: "Innehållna insättningar",
    restitution: "Skadestånd",
    call_credit: "Samtalskredit",
    service_purchases: "Fängelsets tjänster",
    service: "Tjänst",
    paid: "Betalt",
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
    session_ending: "Du loggas ut om 30 sekunder eftersom inget har hänt.",
    stay_signed_in: "Förbli inloggad",
    language: "Språk",
    card_payments: "Kortbetalningar",
    bank_transfers: "Banköverföringar från anhöriga",
    reference: "Referens",
    merchant: "Butik",
    result: "Resultat",
    approved: "Godkänd",
    declined: "Avvisad",
    pending: "Behandlas",
    modes: ["I anstalten", "Permission", "Frigiven", "Spärrat", "Stängt"],
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
    sign_in_busy: "The system is busy right now. Please try again in a moment.",
    balances: "Balances",
    available: "Available",
    held: "Held",
    spendable: "Spending money",
    release_savings: "Release savings",
    held_deposits: "Held deposits",
    restitution: "Restitution",
    call_credit: "Call credit",
    service_purchases: "Prison services",
    service: "Service",
    paid: "Paid",
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
    session_ending: "You will be signed out in 30 seconds because nothing has happened.",
    stay_signed_in: "Stay signed in",
    language: "Language",
    card_payments: "Card payments",
    bank_transfers: "Bank transfers from family",
    reference: "Reference",
    merchant: "Shop",
    result: "Result",
    approved: "Approved",
    declined: "Declined",
    pending: "Pending",
    modes: ["Inside", "On leave", "Released", "Frozen", "Closed"],
};

const NL: Texts = Texts {
    lang: "nl",
    title: "Mijn geld",
    sign_in: "Aanmelden",
    prisoner_number: "Gedetineerdennummer",
    pin: "Pincode",
    sign_in_failed: "Aanmelden mislukt. Controleer het nummer en de pincode.",
    pin_locked: "Te vaak een verkeerde pincode. Probeer het later opnieuw of vraag het personeel.",
    kiosk_busy: "Te veel mislukte pogingen op deze kiosk. Wacht even.",
    sign_in_busy: "Het systeem is nu even druk. Probeer het zo opnieuw.",
    balances: "Saldo's",
    available: "Beschikbaar",
    held: "Gereserveerd",
    spendable: "Zakgeld",
    release_savings: "Spaargeld voor vrijlating",
    held_deposits: "Tegengehouden stortingen",
    restitution: "Schadevergoeding",
    call_credit: "Belkrediet",
    service_purchases: "Diensten van de gevangenis",
    service: "Dienst",
    paid: "Betaald",
    recent: "Recente verrichtingen",
    no_transactions: "Geen verrichtingen.",
    date: "Datum",
    description: "Omschrijving",
    amount: "Bedrag",
    card: "Betaalkaart",
    card_mode: "Status van de kaart",
    weekly_left: "Over van de weeklimiet",
    not_available_yet: "Nog niet beschikbaar",
    change_pin: "Pincode wijzigen",
    current_pin: "Huidige pincode",
    new_pin: "Nieuwe pincode",
    new_pin_again: "Nieuwe pincode opnieuw",
    save: "Opslaan",
    pin_changed: "Je pincode is gewijzigd.",
    pin_wrong: "De huidige pincode is fout.",
    pin_mismatch: "De nieuwe pincodes zijn niet gelijk.",
    pin_rules: "Een pincode heeft 4 tot 8 cijfers.",
    back: "Terug",
    sign_out: "Afmelden",
    session_ending: "U wordt over 30 seconden afgemeld omdat er niets is gebeurd.",
    stay_signed_in: "Aangemeld blijven",
    language: "Taal",
    card_payments: "Kaartbetalingen",
    bank_transfers: "Overschrijvingen van familie",
    reference: "Referentie",
    merchant: "Winkel",
    result: "Resultaat",
    approved: "Goedgekeurd",
    declined: "Geweigerd",
    pending: "In behandeling",
    modes: [
        "Binnen",
        "Met verlof",
        "Vrijgelaten",
        "Geblokkeerd",
        "Afgesloten",
    ],
};

const FR: Texts = Texts {
    lang: "fr",
    title: "Mon argent",
    sign_in: "Se connecter",
    prisoner_number: "Numéro d’écrou",
    pin: "Code PIN",
    sign_in_failed: "La connexion a échoué. Vérifiez le numéro et le code PIN.",
    pin_locked: "Trop de codes PIN erronés. Réessayez plus tard ou demandez au personnel.",
    kiosk_busy: "Trop de tentatives échouées sur cette borne. Patientez un moment.",
    sign_in_busy: "Le système est occupé. Réessayez dans un instant.",
    balances: "Soldes",
    available: "Disponible",
    held: "Réservé",
    spendable: "Argent disponible",
    release_savings: "Pécule de libération",
    held_deposits: "Dépôts retenus",
    restitution: "Indemnisation des victimes",
    call_credit: "Crédit d'appel",
    service_purchases: "Services de la prison",
    service: "Service",
    paid: "Payé",
    recent: "Opérations récentes",
    no_transactions: "Aucune opération.",
    date: "Date",
    description: "Libellé",
    amount: "Montant",
    card: "Carte de paiement",
    card_mode: "Mode de la carte",
    weekly_left: "Reste de la limite de la semaine",
    not_available_yet: "Pas encore disponible",
    change_pin: "Changer le code PIN",
    current_pin: "Code PIN actuel",
    new_pin: "Nouveau code PIN",
    new_pin_again: "Confirmer le nouveau code PIN",
    save: "Enregistrer",
    pin_changed: "Votre code PIN a été changé.",
    pin_wrong: "Le code PIN actuel est erroné.",
    pin_mismatch: "Les nouveaux codes PIN ne correspondent pas.",
    pin_rules: "Un code PIN compte de 4 à 8 chiffres.",
    back: "Retour",
    sign_out: "Se déconnecter",
    session_ending: "Vous serez déconnecté dans 30 secondes car rien ne s'est passé.",
    stay_signed_in: "Rester connecté",
    language: "Langue",
    card_payments: "Paiements par carte",
    bank_transfers: "Virements de la famille",
    reference: "Référence",
    merchant: "Commerçant",
    result: "Résultat",
    approved: "Accepté",
    declined: "Refusé",
    pending: "En cours",
    modes: [
        "En détention",
        "En congé",
        "Libération",
        "Bloquée",
        "Clôturée",
    ],
};

const DE: Texts = Texts {
    lang: "de",
    title: "Mein Geld",
    sign_in: "Anmelden",
    prisoner_number: "Gefangenennummer",
    pin: "PIN",
    sign_in_failed: "Anmeldung fehlgeschlagen. Prüfen Sie Nummer und PIN.",
    pin_locked: "Zu viele falsche PINs. Versuchen Sie es später erneut oder fragen Sie das Personal.",
    kiosk_busy: "Zu viele fehlgeschlagene Versuche an diesem Terminal. Bitte warten Sie einen Moment.",
    sign_in_busy: "Das System ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
    balances: "Guthaben",
    available: "Verfügbar",
    held: "Vorgemerkt",
    spendable: "Hausgeld",
    release_savings: "Überbrückungsgeld",
    held_deposits: "Zurückgehaltene Einzahlungen",
    restitution: "Wiedergutmachung",
    call_credit: "Telefonguthaben",
    service_purchases: "Dienste der Anstalt",
    service: "Dienst",
    paid: "Bezahlt",
    recent: "Letzte Buchungen",
    no_transactions: "Keine Buchungen.",
    date: "Datum",
    description: "Beschreibung",
    amount: "Betrag",
    card: "Bezahlkarte",
    card_mode: "Kartenmodus",
    weekly_left: "Rest des Wochenlimits",
    not_available_yet: "Noch nicht verfügbar",
    change_pin: "PIN ändern",
    current_pin: "Aktuelle PIN",
    new_pin: "Neue PIN",
    new_pin_again: "Neue PIN wiederholen",
    save: "Speichern",
    pin_changed: "Ihre PIN wurde geändert.",
    pin_wrong: "Die aktuelle PIN ist falsch.",
    pin_mismatch: "Die neuen PINs stimmen nicht überein.",
    pin_rules: "Eine PIN hat 4 bis 8 Ziffern.",
    back: "Zurück",
    sign_out: "Abmelden",
    session_ending: "Sie werden in 30 Sekunden abgemeldet, weil nichts passiert ist.",
    stay_signed_in: "Angemeldet bleiben",
    language: "Sprache",
    card_payments: "Kartenzahlungen",
    bank_transfers: "Überweisungen von Angehörigen",
    reference: "Referenz",
    merchant: "Geschäft",
    result: "Ergebnis",
    approved: "Genehmigt",
    declined: "Abgelehnt",
    pending: "In Bearbeitung",
    modes: [
        "In der Anstalt",
        "Im Urlaub",
        "Entlassen",
        "Gesperrt",
        "Geschlossen",
    ],
};

/// The controls' reason for a stored reason key. The card adapter also stores a few keys of its
/// own (a card not active at the processor, a capped amount, technical failures): they map to the
/// nearest controls reason, and anything unknown to "a technical problem", so a prisoner never
/// sees a raw code.
pub fn kiosk_reason(stored_key: &str) -> ReasonKey {
    ReasonKey::parse(stored_key).unwrap_or(match stored_key {
        "card_inactive" => ReasonKey::CardFrozen,
        "limit_exceeded" => ReasonKey::PerAuthorizationLimitExceeded,
        // A call beyond the prisoner's call credit (docs/services.md).
        "insufficient_call_credit" => ReasonKey::InsufficientFunds,
        _ => ReasonKey::EvaluationError,
    })
}

pub fn texts(language: Lang) -> &'static Texts {
    match language {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

/// The languages offered by the switch, each named in itself.
pub const SWITCH: [(Lang, &str); 6] = [
    (Lang::Fi, "Suomi"),
    (Lang::Sv, "Svenska"),
    (Lang::En, "English"),
    (Lang::Nl, "Nederlands"),
    (Lang::Fr, "Français"),
    (Lang::De, "Deutsch"),
];

impl Texts {
    pub fn purpose(&self, purpose: &str) -> &'static str {
        match purpose {
            person_purpose::SPENDABLE => self.spendable,
            person_purpose::RELEASE_SAVINGS => self.release_savings,
            person_purpose::HELD_DEPOSITS => self.held_deposits,
            person_purpose::RESTITUTION => self.restitution,
            crate::services::prison_services::CALL_CREDIT => self.call_credit,
            // Every person purpose is named above; one added later shows "?", never a blank.
            _ => "?",
        }
    }

    pub fn mode(&self, mode: ModeShown) -> &'static str {
        self.modes[mode as usize]
    }

    /// Why a payment was declined, in plain words: the controls' own text for the stored reason
    /// key (see [`kiosk_reason`]).
    pub fn reason(&self, stored_key: &str) -> &'static str {
        ledger::controls::reason_text(kiosk_reason(stored_key), Lang::from_tag(self.lang))
    }

    /// An entry's description in this language when Saldo wrote it (its code found in
    /// [`EntryText`]); a description staff typed (a payroll batch's) is shown as written.
    pub fn entry_description<'a>(&self, stored: &'a str) -> &'a str {
        let Some(text) = EntryText::of_description(stored) else {
            return stored;
        };
        let table = match Lang::from_tag(self.lang) {
            Lang::Fi => &FI_ENTRY_TEXTS,
            Lang::Sv => &SV_ENTRY_TEXTS,
            Lang::En => &EN_ENTRY_TEXTS,
            Lang::Nl => &NL_ENTRY_TEXTS,
            Lang::Fr => &FR_ENTRY_TEXTS,
            Lang::De => &DE_ENTRY_TEXTS,
        };
        let index = EntryText::ALL
            .iter()
            .position(|candidate| *candidate == text)
            .unwrap_or(0);
        table[index]
    }

    /// Amounts as each language writes them (CLDR): `€1,234.50` in English, `€ 1.234,50` in
    /// Dutch, `1.234,50 €` in German, `1 234,50 €` in Finnish and Swedish (no-break space) and
    /// French (narrow no-break space). The amount never wraps away from its currency.
    pub fn money(&self, money: &ledger::Money) -> String {
        const NBSP: char = '\u{A0}';
        let (group, decimal) = match self.lang {
            "en" => (',', '.'),
            "de" | "nl" => ('.', ','),
            "fr" => ('\u{202F}', ','),
            _ => (NBSP, ','),
        };
        let exponent = u32::from(money.currency.exponent());
        let factor = 10_u64.pow(exponent);
        let magnitude = money.amount_minor.unsigned_abs();
        let sign = if money.amount_minor < 0 { "−" } else { "" };
        let major = (magnitude / factor).to_string();
        let mut number = String::with_capacity(major.len() + major.len() / 3 + 4);
        for (i, digit) in major.chars().enumerate() {
            if i > 0 && (major.len() - i).is_multiple_of(3) {
                number.push(group);
            }
            number.push(digit);
        }
        if exponent > 0 {
            let minor = magnitude % factor;
            number.push(decimal);
            number.push_str(&format!("{minor:0width$}", width = exponent as usize));
        }
        let code = money.currency.code();
        match (self.lang, code) {
            ("en", "EUR") => format!("{sign}€{number}"),
            ("en", _) => format!("{sign}{code}{NBSP}{number}"),
            ("nl", "EUR") => format!("€{NBSP}{sign}{number}"),
            ("nl", _) => format!("{code}{NBSP}{sign}{number}"),
            (_, "EUR") => format!("{sign}{number}{NBSP}€"),
            _ => format!("{sign}{number}{NBSP}{code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_its_own_texts_and_reason_texts() {
        for language in Lang::ALL {
            let texts = texts(language);
            assert_eq!(texts.lang, language.as_str());
            assert!(texts.modes.iter().all(|mode| !mode.trim().is_empty()));
            // Reason texts come in the same language as the page (English is only English's).
            let insufficient = texts.reason("insufficient_funds");
            assert_eq!(
                insufficient == EN.reason("insufficient_funds"),
                language == Lang::En,
                "{}",
                texts.lang
            );
        }
        assert_eq!(SWITCH.map(|pair| pair.0), Lang::ALL);
    }

    #[test]
    fn every_description_saldo_writes_is_translated_in_every_language() {
        for language in Lang::ALL {
            let texts = texts(language);
            let shown: Vec<&str> = EntryText::ALL
                .iter()
                .map(|text| texts.entry_description(text.english()))
                .collect();
            for (text, name) in EntryText::ALL.iter().zip(&shown) {
                assert!(!name.trim().is_empty(), "{}: {text:?}", texts.lang);
                if language != Lang::En {
                    assert_ne!(*name, text.english(), "{}: {text:?} is English", texts.lang);
                }
            }
            let mut distinct = shown.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), shown.len(), "{}: {shown:?}", texts.lang);
            assert_eq!(texts.entry_description("Canteen bonus"), "Canteen bonus");
        }
    }

    #[test]
    fn amounts_are_written_with_each_languages_separators() {
        let eur = |minor| ledger::Money::new(minor, ledger::Currency::EUR);
        let cases = [
            (Lang::En, 123_456_789, "€1,234,567.89"),
            (Lang::Fi, 123_456_789, "1\u{A0}234\u{A0}567,89\u{A0}€"),
            (Lang::Sv, 123_450, "1\u{A0}234,50\u{A0}€"),
            (Lang::Fr, 123_450, "1\u{202F}234,50\u{A0}€"),
            (Lang::De, 123_450, "1.234,50\u{A0}€"),
            (Lang::Nl, 123_450, "€\u{A0}1.234,50"),
            (Lang::De, 5, "0,05\u{A0}€"),
            (Lang::En, -99_950, "−€999.50"),
            (Lang::Fi, -100_000, "−1\u{A0}000,00\u{A0}€"),
            (Lang::Nl, -1_250, "€\u{A0}−12,50"),
        ];
        for (language, minor, written) in cases {
            assert_eq!(texts(language).money(&eur(minor)), written, "{language:?}");
        }
    }

    #[test]
    fn every_language_names_every_sub_account_the_kiosk_lists() {
        use ledger::person_purpose::{HELD_DEPOSITS, RELEASE_SAVINGS, RESTITUTION, SPENDABLE};
        for language in Lang::ALL {
            let texts = texts(language);
            let names = [SPENDABLE, RELEASE_SAVINGS, HELD_DEPOSITS, RESTITUTION]
                .map(|purpose| texts.purpose(purpose));
            for (purpose, name) in [SPENDABLE, RELEASE_SAVINGS, HELD_DEPOSITS, RESTITUTION]
                .iter()
                .zip(names)
            {
                assert!(
                    !name.trim().is_empty(),
                    "{} has no name for {purpose}",
                    texts.lang
                );
            }
            let mut distinct = names.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), names.len(), "{}: {names:?}", texts.lang);
        }
    }

    #[test]
    fn stored_reason_keys_outside_the_controls_list_still_get_a_plain_text() {
        for key in ReasonKey::ALL {
            assert_eq!(kiosk_reason(key.as_str()), key);
        }
        assert_eq!(kiosk_reason("card_inactive"), ReasonKey::CardFrozen);
        assert_eq!(
            kiosk_reason("limit_exceeded"),
            ReasonKey::PerAuthorizationLimitExceeded
        );
        assert_eq!(
            kiosk_reason("technical_problem"),
            ReasonKey::EvaluationError
        );
        assert_eq!(
            kiosk_reason("a_key_added_later"),
            ReasonKey::EvaluationError
        );
    }
}
