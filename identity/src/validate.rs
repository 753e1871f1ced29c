//! Checks on personal data at the boundary. Messages name the field, never echo the value.
use super::IdentityError;

type Check = Result<(), IdentityError>;

fn invalid(code: &'static str, message: &'static str) -> IdentityError {
    IdentityError::Invalid(code, message)
}

pub fn prisoner_number(text: &str) -> Check {
    let ok = (1..=32).contains(&text.len())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(()).ok_or(invalid(
        "prisoner_number_invalid",
        "a prisoner number is 1 to 32 of A-Z a-z 0-9 -",
    ))
}

/// A person's name: 1 to 200 characters, no control characters.
pub fn name(text: &str) -> Check {
    let count = text.chars().count();
    let ok = (1..=200).contains(&count)
        && !text.chars().any(char::is_control)
        && !text.trim().is_empty();
    ok.then_some(()).ok_or(invalid(
        "name_invalid",
        "a name is 1 to 200 characters without control characters",
    ))
}

pub fn national_id(text: &str) -> Check {
    let ok = (1..=32).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-+/".contains(c));
    ok.then_some(()).ok_or(invalid(
        "national_id_invalid",
        "a national identity number is 1 to 32 of A-Z 0-9 - + /",
    ))
}

pub fn short_text(
    text: &str,
    code: &'static str,
    message: &'static str,
    max_chars: usize,
) -> Check {
    let count = text.chars().count();
    let ok = (1..=max_chars).contains(&count) && !text.chars().any(char::is_control);
    ok.then_some(()).ok_or(invalid(code, message))
}

/// An IBAN: country, check digits, 11 to 30 alphanumerics, and the ISO 13616 mod-97 check
/// ([`ledger::iban`]).
pub fn iban(text: &str) -> Check {
    ledger::iban::is_valid(text).then_some(()).ok_or(invalid(
        "iban_invalid",
        "not a valid IBAN (upper case, no spaces)",
    ))
}

/// A kiosk PIN: 4 to 8 digits.
pub fn pin(text: &str) -> Check {
    let ok = (4..=8).contains(&text.len()) && text.chars().all(|c| c.is_ascii_digit());
    ok.then_some(())
        .ok_or(invalid("pin_invalid", "a PIN is 4 to 8 digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_pass_only_with_a_correct_check_sum() {
        assert!(iban("FI2112345600000785").is_ok());
        assert!(iban("FI2112345600000786").is_err());
        assert!(iban("fi2112345600000785").is_err());
        assert!(iban("BE68539007547034").is_ok());
    }
}
