//! The staff pages' words in Finnish, Swedish, English, Dutch, French and German, and which of
//! them a request gets: the one it asks for (`?lang=`, then kept in a cookie), else the language
//! its prisons name (when they agree), else the browser's `Accept-Language`, else English.
//!
//! The shell (navigation, sign-in, refusals), the home page and the pages translated so far
//! (docs/api.md) speak every language; each page's own words are in a module of its own here.
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ledger::controls::Lang;
use uuid::Uuid;

use crate::problem::Problem;
use crate::state::AppState;

pub mod adjustments;
pub mod books;
pub mod codes;
pub mod dead_letters;
pub mod deposits;
pub mod fees;
pub mod payroll;
pub mod pms_feed;
pub mod policies;
pub mod prisoner;

/// The cookie that keeps a chosen language (a preference, no personal data).
pub const LANG_COOKIE: &str = "saldo_staff_lang";
const LANG_COOKIE_MAX_AGE_SECONDS: i64 = 365 * 24 * 3600;

pub struct StaffTexts {
    pub lang: Lang,
    pub home: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub wrong_credentials: &'static str,
    pub locked_out: &'static str,
    pub sign_in_busy: &'static str,
    pub signed_in_as: &'static str,
    pub service_wide: &'static str,
    pub trial_balance: &'static str,
    pub reconciliation: &'static str,
    pub dead_letters: &'static str,
    pub roles: &'static str,
    /// In [`crate::auth::Role::ALL`] order.
    pub role_names: [&'static str; 5],
    pub prisoner_number: &'static str,
    pub purpose: &'static str,
    /// In [`super::prisoner::PURPOSES`] order.
    pub purposes: [&'static str; 6],
    pub find_prisoner: &'static str,
    pub adjustments: &'static str,
    pub payroll: &'static str,
    pub deposits_held: &'static str,
    pub policies: &'static str,
    pub fees: &'static str,
    pub pms_feed: &'static str,
    pub language: &'static str,
    pub not_done: &'static str,
    pub back_home: &'static str,
}

/// Each language in its own name, for the switcher (marked with its own `lang`).
pub fn autonym(lang: Lang) -> &'static str {
    match lang {
        Lang::Fi => "suomi",
        Lang::Sv => "svenska",
        Lang::En => "English",
        Lang::Nl => "Nederlands",
        Lang::Fr => "français",
        Lang::De => "Deutsch",
    }
}

pub fn texts(lang: Lang) -> &'static StaffTexts {
    match lang {
        Lang::Fi => &FI,
        Lang::Sv => &SV,
        Lang::En => &EN,
        Lang::Nl => &NL,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

impl StaffTexts {
    pub fn role(&self, role: crate::auth::Role) -> &'static str {
        let index = crate::auth::Role::ALL
            .iter()
            .position(|r| *r == role)
            .unwrap_or(0);
        self.role_names[index]
    }
}

/// `?lang=` on a translated staff page: one of fi, sv, en, nl, fr, de (anything else is not a
/// choice, as on the kiosk).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// The page's language (fi, sv, en, nl, fr, de), kept in the `saldo_staff_lang` cookie.
    #[serde(default)]
    pub lang: Option<String>,
}

impl LangQuery {
    pub fn asked(&self) -> Option<Lang> {
        self.lang.as_deref().and_then(Lang::parse)
    }
}

/// The language a staff page is shown in, and the cookie to set when the request chose one.
pub struct Chosen {
    pub lang: Lang,
    pub set_cookie: Option<HeaderValue>,
}

/// `asked`: the `?lang=` of the request; `prisons`: the default languages of the prisons the
/// page is about (the signed-in person's), taken when they agree.
pub fn choose(asked: Option<Lang>, headers: &HeaderMap, prisons: &[Option<Lang>]) -> Chosen {
    if let Some(lang) = asked {
        let cookie = crate::http::session_cookie(
            LANG_COOKIE,
            lang.as_str(),
            "/staff",
            LANG_COOKIE_MAX_AGE_SECONDS,
            false,
        );
        return Chosen {
            lang,
            set_cookie: Some(cookie),
        };
    }
    let kept = crate::http::cookie(headers, LANG_COOKIE).and_then(Lang::parse);
    let lang = kept
        .or_else(|| prisons_agree(prisons))
        .or_else(|| accept_language(headers))
        .unwrap_or(Lang::En);
    Chosen {
        lang,
        set_cookie: None,
    }
}

/// [`choose`] for a page of one prison (`/staff/prisons/{prison_id}/…`): that prison's default
/// language is the prisons' input.
pub async fn choose_for_prison(
    state: &AppState,
    asked: Option<Lang>,
    headers: &HeaderMap,
    prison_id: Uuid,
) -> Result<Chosen, Problem> {
    let client = state.pool.get().await?;
    let prison_lang = crate::identity::store::prison(&client, prison_id)
        .await?
        .and_then(|prison| prison.default_language);
    Ok(choose(asked, headers, &[prison_lang]))
}

/// [`choose`] for a service-wide page: the prisons are those the signed-in person holds a role
/// in (none when the request has no session or no role for the page).
pub async fn choose_for_staff(
    state: &AppState,
    asked: Option<Lang>,
    headers: &HeaderMap,
    staff: Option<&crate::auth::Staff>,
) -> Result<Chosen, Problem> {
    let mut prison_ids: Vec<Uuid> = staff
        .map(|staff| staff.grants.iter().map(|grant| grant.prison_id).collect())
        .unwrap_or_default();
    prison_ids.sort();
    prison_ids.dedup();
    let mut languages = Vec::with_capacity(prison_ids.len());
    if !prison_ids.is_empty() {
        let client = state.pool.get().await?;
        for prison_id in prison_ids {
            let prison = crate::identity::store::prison(&client, prison_id).await?;
            languages.push(prison.and_then(|prison| prison.default_language));
        }
    }
    Ok(choose(asked, headers, &languages))
}

impl Chosen {
    pub fn texts(&self) -> &'static StaffTexts {
        texts(self.lang)
    }

    /// The page's response, keeping the language when the request chose one.
    pub fn respond(&self, page: impl IntoResponse) -> Response {
        match &self.set_cookie {
            Some(cookie) => ([(header::SET_COOKIE, cookie.clone())], page).into_response(),
            None => page.into_response(),
        }
    }
}

/// An amount as `lang` writes it: English as the staff pages always have (`-12.50 EUR`), the
/// other languages as the kiosk does (`12,50 €`, `€ 12,50`).
pub fn money_in(lang: Lang, money: &ledger::Money) -> String {
    match lang {
        Lang::En => super::layout::money(money.amount_minor, money.currency.code()),
        _ => crate::routes::kiosk::i18n::texts(lang).money(money),
    }
}

/// [`money_in`] for an amount in minor units and a currency code (shown as stored when the code
/// is not a currency Saldo knows).
pub fn minor_in(lang: Lang, amount_minor: i64, currency: &str) -> String {
    match ledger::Currency::from_code(currency) {
        Ok(currency) => money_in(lang, &ledger::Money::new(amount_minor, currency)),
        Err(_) => super::layout::money(amount_minor, currency),
    }
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// A page's texts, one list per language: none blank, none (but English's) as in English.
#[cfg(test)]
pub fn assert_all_translated(texts: impl Fn(Lang) -> Vec<&'static str>) {
    let english = texts(Lang::En);
    for lang in Lang::ALL {
        let texts = texts(lang);
        assert_eq!(texts.len(), english.len());
        for (text, in_english) in texts.into_iter().zip(&english) {
            assert!(!text.trim().is_empty(), "{lang:?}: a blank text");
            if lang != Lang::En {
                assert_ne!(text, *in_english, "{lang:?} left in English");
            }
        }
    }
}

/// An entry's description in `lang` when Saldo wrote it (as on the kiosk); English and what
/// staff typed stay as stored.
pub fn entry_description(lang: Lang, stored: &str) -> &str {
    match lang {
        Lang::En => stored,
        _ => crate::routes::kiosk::i18n::texts(lang).entry_description(stored),
    }
}

fn prisons_agree(prisons: &[Option<Lang>]) -> Option<Lang> {
    let first = prisons.first().copied().flatten()?;
    prisons
        .iter()
        .all(|lang| *lang == Some(first))
        .then_some(first)
}

/// The first supported language of `Accept-Language`, by order of preference (q-values).
fn accept_language(headers: &HeaderMap) -> Option<Lang> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut ranges: Vec<(u16, usize, Lang)> = value
        .split(',')
        .take(20)
        .enumerate()
        .filter_map(|(position, range)| {
            let mut parts = range.split(';');
            let tag = parts.next()?.trim();
            let primary = tag.split('-').next()?.to_ascii_lowercase();
            let lang = Lang::parse(&primary)?;
            // q in thousandths, integer only: "q=0.8" is 800.
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality)?;
            (quality > 0).then_some((quality, position, lang))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.first().map(|(_, _, lang)| *lang)
}

fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let digits = format!("{fraction:0<3}");
    let thousandths: u16 = digits.parse().ok()?;
    let quality = whole * 1000 + thousandths;
    (quality <= 1000).then_some(quality)
}

const FI: StaffTexts = StaffTexts {
    lang: Lang::Fi,
    home: "Etusivu",
    sign_in: "Kirjaudu sisään",
    sign_out: "Kirjaudu ulos",
    username: "Käyttäjätunnus",
    password: "Salasana",
    wrong_credentials: "Väärä käyttäjätunnus tai salasana.",
    locked_out: "Liian monta epäonnistunutta kirjautumista. Yritä myöhemmin uudelleen.",
    sign_in_busy: "Liian monta kirjautumista yhtä aikaa. Yritä hetken kuluttua uudelleen.",
    signed_in_as: "Kirjautuneena:",
    service_wide: "Koko palvelu",
    trial_balance: "Koetase",
    reconciliation: "Täsmäytys",
    dead_letters: "Epäonnistuneet kutsut kortinkäsittelijälle",
    roles: "Roolit:",
    role_names: [
        "virkailija",
        "talous",
        "talouden hyväksyjä",
        "tarkastaja",
        "ylläpitäjä",
    ],
    prisoner_number: "Vankinumero",
    purpose: "Käyttötarkoitus",
    purposes: [
        "Saldokysely",
        "Asian käsittely",
        "Vangin pyyntö",
        "Vapautumisen valmistelu",
        "Kantelu",
        "Rekisteröidyn pyyntö",
    ],
    find_prisoner: "Hae vanki",
    adjustments: "Oikaisut",
    payroll: "Palkat",
    deposits_held: "Tarkastettavat talletukset",
    policies: "Käyttörajoitukset",
    fees: "Maksut",
    pms_feed: "Vankitietojärjestelmän tapahtumat",
    language: "Kieli",
    not_done: "Ei tehty",
    back_home: "Takaisin etusivulle",
};

const SV: StaffTexts = StaffTexts {
    lang: Lang::Sv,
    home: "Startsida",
    sign_in: "Logga in",
    sign_out: "Logga ut",
    username: "Användarnamn",
    password: "Lösenord",
    wrong_credentials: "Fel användarnamn eller lösenord.",
    locked_out: "För många misslyckade inloggningar. Försök igen senare.",
    sign_in_busy: "För många inloggningar samtidigt. Försök igen om en stund.",
    signed_in_as: "Inloggad som",
    service_wide: "Hela tjänsten",
    trial_balance: "Råbalans",
    reconciliation: "Avstämning",
    dead_letters: "Misslyckade anrop till kortbehandlaren",
    roles: "Roller:",
    role_names: [
        "tjänsteman",
        "ekonomi",
        "ekonomigodkännare",
        "revisor",
        "administratör",
    ],
    prisoner_number: "Fångnummer",
    purpose: "Syfte",
    purposes: [
        "Saldoförfrågan",
        "Ärendehantering",
        "Den intagnas begäran",
        "Förberedelse för frigivning",
        "Klagomål",
        "Begäran från den registrerade",
    ],
    find_prisoner: "Sök intagen",
    adjustments: "Justeringar",
    payroll: "Löner",
    deposits_held: "Insättningar som granskas",
    policies: "Utgiftsregler",
    fees: "Avgifter",
    pms_feed: "Händelser från fångregistret",
    language: "Språk",
    not_done: "Inte utfört",
    back_home: "Tillbaka till startsidan",
};

const EN: StaffTexts = StaffTexts {
    lang: Lang::En,
    home: "Home",
    sign_in: "Sign in",
    sign_out: "Sign out",
    username: "Username",
    password: "Password",
    wrong_credentials: "Wrong username or password.",
    locked_out: "Too many failed sign-ins. Try again later.",
    sign_in_busy: "Too many sign-ins at once. Try again in a moment.",
    signed_in_as: "Signed in as",
    service_wide: "Service-wide",
    trial_balance: "Trial balance",
    reconciliation: "Reconciliation",
    dead_letters: "Processor calls that failed (dead letters)",
    roles: "Roles:",
    role_names: ["officer", "finance", "finance_approver", "auditor", "admin"],
    prisoner_number: "Prisoner number",
    purpose: "Purpose",
    purposes: [
        "Balance enquiry",
        "Case management",
        "Prisoner's request",
        "Release preparation",
        "Complaint",
        "Data subject request",
    ],
    find_prisoner: "Find prisoner",
    adjustments: "Adjustments",
    payroll: "Payroll",
    deposits_held: "Deposits held for review",
    policies: "Spending-control policies",
    fees: "Fees",
    pms_feed: "Prison-management feed",
    language: "Language",
    not_done: "Not done",
    back_home: "Back to the home page",
};

const NL: StaffTexts = StaffTexts {
    lang: Lang::Nl,
    home: "Startpagina",
    sign_in: "Aanmelden",
    sign_out: "Afmelden",
    username: "Gebruikersnaam",
    password: "Wachtwoord",
    wrong_credentials: "Verkeerde gebruikersnaam of wachtwoord.",
    locked_out: "Te veel mislukte aanmeldingen. Probeer het later opnieuw.",
    sign_in_busy: "Te veel aanmeldingen tegelijk. Probeer het zo meteen opnieuw.",
    signed_in_as: "Aangemeld als",
    service_wide: "Hele dienst",
    trial_balance: "Proefbalans",
    reconciliation: "Afstemming",
    dead_letters: "Mislukte oproepen naar de kaartverwerker",
    roles: "Rollen:",
    role_names: [
        "penitentiair beambte",
        "financiën",
        "financieel goedkeurder",
        "controleur",
        "beheerder",
    ],
    prisoner_number: "Gedetineerdennummer",
    purpose: "Doel",
    purposes: [
        "Saldo-opvraging",
        "Dossierbeheer",
        "Verzoek van de gedetineerde",
        "Voorbereiding van de vrijlating",
        "Klacht",
        "Verzoek van de betrokkene",
    ],
    find_prisoner: "Gedetineerde zoeken",
    adjustments: "Correcties",
    payroll: "Loon",
    deposits_held: "Stortingen ter controle",
    policies: "Bestedingsregels",
    fees: "Kosten",
    pms_feed: "Gebeurtenissen uit het gevangenisbeheersysteem",
    language: "Taal",
    not_done: "Niet uitgevoerd",
    back_home: "Terug naar de startpagina",
};

const FR: StaffTexts = StaffTexts {
    lang: Lang::Fr,
    home: "Accueil",
    sign_in: "Se connecter",
    sign_out: "Se déconnecter",
    username: "Nom d'utilisateur",
    password: "Mot de passe",
    wrong_credentials: "Nom d'utilisateur ou mot de passe incorrect.",
    locked_out: "Trop de connexions échouées. Réessayez plus tard.",
    sign_in_busy: "Trop de connexions simultanées. Réessayez dans un instant.",
    signed_in_as: "Connecté en tant que",
    service_wide: "Tout le service",
    trial_balance: "Balance de vérification",
    reconciliation: "Rapprochement",
    dead_letters: "Appels au processeur de cartes en échec",
    roles: "Rôles :",
    role_names: [
        "agent pénitentiaire",
        "finances",
        "approbateur financier",
        "auditeur",
        "administrateur",
    ],
    prisoner_number: "Numéro d'écrou",
    purpose: "Finalité",
    purposes: [
        "Consultation du solde",
        "Gestion du dossier",
        "Demande du détenu",
        "Préparation de la libération",
        "Plainte",
        "Demande de la personne concernée",
    ],
    find_prisoner: "Rechercher un détenu",
    adjustments: "Régularisations",
    payroll: "Paie",
    deposits_held: "Dépôts en attente de vérification",
    policies: "Règles de dépenses",
    fees: "Frais",
    pms_feed: "Événements du système de gestion pénitentiaire",
    language: "Langue",
    not_done: "Non effectué",
    back_home: "Retour à l'accueil",
};

const DE: StaffTexts = StaffTexts {
    lang: Lang::De,
    home: "Startseite",
    sign_in: "Anmelden",
    sign_out: "Abmelden",
    username: "Benutzername",
    password: "Passwort",
    wrong_credentials: "Falscher Benutzername oder falsches Passwort.",
    locked_out: "Zu viele fehlgeschlagene Anmeldungen. Versuchen Sie es später erneut.",
    sign_in_busy: "Zu viele gleichzeitige Anmeldungen. Versuchen Sie es gleich noch einmal.",
    signed_in_as: "Angemeldet als",
    service_wide: "Gesamter Dienst",
    trial_balance: "Summen- und Saldenliste",
    reconciliation: "Abstimmung",
    dead_letters: "Fehlgeschlagene Aufrufe beim Kartenabwickler",
    roles: "Rollen:",
    role_names: [
        "Vollzugsbeamter",
        "Finanzen",
        "Finanzfreigabe",
        "Prüfer",
        "Administrator",
    ],
    prisoner_number: "Gefangenennummer",
    purpose: "Zweck",
    purposes: [
        "Saldoabfrage",
        "Fallbearbeitung",
        "Anliegen des Gefangenen",
        "Entlassungsvorbereitung",
        "Beschwerde",
        "Antrag der betroffenen Person",
    ],
    find_prisoner: "Gefangenen suchen",
    adjustments: "Korrekturen",
    payroll: "Lohn",
    deposits_held: "Einzahlungen zur Prüfung",
    policies: "Ausgaberegeln",
    fees: "Gebühren",
    pms_feed: "Ereignisse aus dem Vollzugsverwaltungssystem",
    language: "Sprache",
    not_done: "Nicht ausgeführt",
    back_home: "Zurück zur Startseite",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_text_and_differs_from_english() {
        let fields = |t: &StaffTexts| -> Vec<&'static str> {
            let mut all = vec![
                t.home,
                t.sign_in,
                t.sign_out,
                t.username,
                t.password,
                t.wrong_credentials,
                t.locked_out,
                t.sign_in_busy,
                t.signed_in_as,
                t.service_wide,
                t.trial_balance,
                t.reconciliation,
                t.dead_letters,
                t.roles,
                t.prisoner_number,
                t.purpose,
                t.find_prisoner,
                t.adjustments,
                t.payroll,
                t.deposits_held,
                t.policies,
                t.fees,
                t.pms_feed,
                t.language,
                t.not_done,
                t.back_home,
            ];
            all.extend(t.role_names);
            all.extend(t.purposes);
            all
        };
        let english = fields(&EN);
        for lang in Lang::ALL {
            let texts = texts(lang);
            assert_eq!(texts.lang, lang);
            for (text, in_english) in fields(texts).into_iter().zip(&english) {
                assert!(!text.trim().is_empty(), "{lang:?}: a blank text");
                if lang != Lang::En {
                    assert_ne!(text, *in_english, "{lang:?} left in English");
                }
            }
        }
    }

    #[test]
    fn fill_replaces_every_named_value() {
        assert_eq!(
            fill(
                "{count} of {count}, {date}",
                &[("count", "2"), ("date", "x")]
            ),
            "2 of 2, x"
        );
    }

    #[test]
    fn accept_language_takes_the_most_preferred_supported_language() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_LANGUAGE,
                HeaderValue::from_str(value).unwrap(),
            );
            accept_language(&headers)
        };
        assert_eq!(with("nl-BE,nl;q=0.9,fr;q=0.8"), Some(Lang::Nl));
        assert_eq!(with("ja, fr-BE;q=0.5, de;q=0.7"), Some(Lang::De));
        assert_eq!(with("fi;q=0"), None);
        assert_eq!(with("es"), None);
        assert_eq!(with("sv;q=2"), None);
        assert_eq!(with("en-GB;q=0.75"), Some(Lang::En));
    }

    #[test]
    fn the_prisons_language_counts_only_when_they_agree() {
        assert_eq!(
            prisons_agree(&[Some(Lang::Nl), Some(Lang::Nl)]),
            Some(Lang::Nl)
        );
        assert_eq!(prisons_agree(&[Some(Lang::Nl), Some(Lang::Fr)]), None);
        assert_eq!(prisons_agree(&[Some(Lang::Nl), None]), None);
        assert_eq!(prisons_agree(&[]), None);
    }
}
