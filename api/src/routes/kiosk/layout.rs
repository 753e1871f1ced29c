//! The page shell: language attribute, stylesheet, language switch.
use maud::{DOCTYPE, Markup, html};

use super::i18n::{SWITCH, Texts};

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
            body {
                main { (body) }
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
    }
}
