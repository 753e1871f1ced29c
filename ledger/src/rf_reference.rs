//! ISO 11649 structured creditor references (`RFkk` + 1 to 21 letters and digits, check digits
//! mod 97 as in an IBAN): what families quote when they pay a prisoner by bank transfer. The
//! token is random (never derived from a prisoner number or name), so a reference says nothing
//! about the person; `controls.deposit_references` maps it to the person's pseudonymous id.

/// The longest token after `RFkk`.
pub const MAX_TOKEN_CHARS: usize = 21;
/// Tokens Saldo issues: 16 characters of a 32-letter alphabet (80 random bits).
const ISSUED_TOKEN_CHARS: usize = 16;
/// No 0/O or 1/I: a reference is read aloud and typed by hand.
const TOKEN_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Upper case, spaces removed: how a reference is stored and compared (banks print it in
/// groups of four, people type it in lower case).
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `text` (letters and digits) read as one number, letters as 10 to 35, modulo 97. Digit by
/// digit, so nothing overflows.
fn mod97(text: impl Iterator<Item = u8>) -> u32 {
    let mut remainder: u32 = 0;
    for byte in text {
        let value = if byte.is_ascii_digit() {
            u32::from(byte - b'0')
        } else {
            u32::from(byte.to_ascii_uppercase() - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder
}

fn is_token(token: &str) -> bool {
    (1..=MAX_TOKEN_CHARS).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The reference for a token (upper-case letters and digits, 1 to 21), with its check digits;
/// `None` for anything else.
pub fn make(token: &str) -> Option<String> {
    if !is_token(token) {
        return None;
    }
    let remainder = mod97(token.bytes().chain(*b"RF00"));
    Some(format!("RF{:02}{token}", 98 - remainder))
}

/// Whether `reference` (normal form, see [`normalize`]) is a well-formed ISO 11649 reference
/// whose check digits are right.
pub fn is_valid(reference: &str) -> bool {
    let bytes = reference.as_bytes();
    if bytes.len() < 5 || !reference.starts_with("RF") {
        return false;
    }
    let (head, token) = bytes.split_at(4);
    if !head[2..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let Ok(token_text) = std::str::from_utf8(token) else {
        return false;
    };
    is_token(token_text) && mod97(token.iter().copied().chain(head.iter().copied())) == 1
}

/// A new random reference, from 80 bits of the operating system's generator.
pub fn random() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let token: String = bytes
        .iter()
        .take(ISSUED_TOKEN_CHARS)
        .map(|byte| char::from(TOKEN_ALPHABET[usize::from(byte % 32)]))
        .collect();
    // A token of 16 alphabet characters is always one `make` takes.
    make(&token).unwrap_or_default()
}

/// Groups of four for printing: `RF18 5390 0754 7034`.
pub fn grouped(reference: &str) -> String {
    reference
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_standards_examples_are_valid_and_a_changed_digit_is_not() {
        assert!(is_valid("RF18539007547034"));
        assert!(is_valid(&normalize("rf18 5390 0754 7034")));
        assert!(is_valid("RF45G72UUR"));
        assert!(!is_valid("RF18539007547035"));
        assert!(!is_valid("RF19539007547034"));
        assert!(!is_valid("RF18"));
        assert!(!is_valid("XX18539007547034"));
        assert!(!is_valid("RF1853900754703A4B5C6D7E8F9"));
    }

    #[test]
    fn making_a_reference_computes_the_standards_check_digits() {
        assert_eq!(make("539007547034").as_deref(), Some("RF18539007547034"));
        assert_eq!(make("G72UUR").as_deref(), Some("RF45G72UUR"));
        assert_eq!(make(""), None);
        assert_eq!(make("lower"), None);
        assert_eq!(make("ABCDEFGHIJKLMNOPQRSTUV"), None);
    }

    #[test]
    fn issued_references_are_valid_and_print_in_groups_of_four() {
        let reference = random();
        assert_eq!(reference.len(), 20);
        assert!(is_valid(&reference));
        assert_eq!(normalize(&grouped(&reference)), reference);
        assert_ne!(random(), reference);
    }

    proptest! {
        #[test]
        fn every_made_reference_is_valid(token in "[A-Z0-9]{1,21}") {
            let reference = make(&token).unwrap();
            prop_assert!(is_valid(&reference));
            prop_assert!(reference.ends_with(&token));
        }

        #[test]
        fn changing_one_character_of_the_token_is_caught(
            token in "[A-Z0-9]{2,21}",
            position in 0_usize..21,
            replacement in 0_u8..26,
        ) {
            // A digit for a digit, a letter for a letter: the substitutions mod 97 always
            // catches (a letter for a digit changes the number's length).
            let reference = make(&token).unwrap();
            let index = 4 + position % token.len();
            let mut changed = reference.clone().into_bytes();
            changed[index] = if changed[index].is_ascii_digit() {
                b'0' + replacement % 10
            } else {
                b'A' + replacement
            };
            let changed = String::from_utf8(changed).unwrap();
            prop_assume!(changed != reference);
            prop_assert!(!is_valid(&changed));
        }
    }
}
