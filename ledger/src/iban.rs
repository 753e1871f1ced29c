//! IBANs (ISO 13616): the one check, for prisoners' payout accounts (the identity store) and the
//! prisons' trust accounts (reconciliation). No account number is logged or echoed here.

/// An IBAN in normal form (upper case, no spaces): a country code, two check digits, 11 to 30
/// letters and digits, and the mod-97 check.
pub fn is_valid(iban: &str) -> bool {
    let bytes = iban.as_bytes();
    let shape = (15..=34).contains(&bytes.len())
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !shape {
        return false;
    }
    // The account part, then the country and check digits, read as one number (letters as
    // 10 to 35), modulo 97: 1 for a valid IBAN. Digit by digit, so nothing overflows.
    let mut remainder: u32 = 0;
    for &byte in bytes[4..].iter().chain(&bytes[..4]) {
        let value = if byte.is_ascii_digit() {
            u32::from(byte - b'0')
        } else {
            u32::from(byte - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn only_a_well_formed_iban_with_a_correct_check_sum_is_valid() {
        assert!(is_valid("FI2112345600000785"));
        assert!(is_valid("BE68539007547034"));
        assert!(is_valid("DE89370400440532013000"));
        assert!(!is_valid("FI2112345600000786"));
        assert!(!is_valid("fi2112345600000785"));
        assert!(!is_valid("FI21 1234 5600 0007 85"));
        assert!(!is_valid("FI21"));
        assert!(!is_valid(""));
    }
}
