//! The page shell: language attribute, stylesheet, language switch.
use maud::{DOCTYPE, Markup, html};

use super::i18n::{SWITCH, Texts};
use crate::auth::kiosk::KIOSK_IDLE_SECONDS;

/// How long before an idle session ends the warning shows; the texts say "30 seconds". WCAG
/// 2.2.1 asks for at least 20 seconds to answer.
pub const SESSION_WARNING_SECONDS: i32 = 30;

/// A whole page. `signed_in` switches the language by posting to the session; the sign-in page
/// switches by link.
pub fn page(texts: &Texts, signed_in: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(texts.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (texts.title) }
                link rel="stylesheet" href="/kiosk/style.css";
            }
            @if signed_in {
                body data-idle-seconds=(KIOSK_IDLE_SECONDS) data-warning-seconds=(SESSION_WARNING_SECONDS) {
                    (session_warning(texts))
                    main { (body) }
                    (language_switch(texts, signed_in))
                    script src="/kiosk/session.js" defer {}
                }
            } @else {
                body {
                    main { (body) }
                    (language_switch(texts, signed_in))
                }
            }
        }
    }
}

/// Hidden until `session.js` shows it: the page works without script, and then says nothing.
fn session_warning(texts: &Texts) -> Markup {
    html! {
        div #session-warning .message role="alertdialog" aria-labelledby="session-warning-text" hidden {
            p #session-warning-text { (texts.session_ending) }
            button #session-stay type="button" { (texts.stay_signed_in) }
        }
    }
}

fn language_switch(texts: &Texts, signed_in: bool) -> Markup {
    html! {
        nav aria-label=(texts.language) {
            @for (language, name) in SWITCH {
                @if signed_in {
                    form method="post" action="/kiosk/language" {
                        input type="hidden" name="lang" value=(language.as_str());
                        button.secondary type="submit" { (name) }
                    }
                } @else {
                    a.button.secondary href={ "/kiosk?lang=" (language.as_str()) } { (name) }
                }
            }
        }
    }
}
