//! Money: integer minor units with their currency.
//!
//! Amounts are `i64` minor units (cents), the same as the processor's wire format, so no
//! conversion ever rounds. `rust_decimal` is used only to read and write major-unit strings
//! such as `"12.50"`. Every operation is checked: overflow is an error, never a wrap or a panic.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An ISO 4217 alphabetic currency code with its number of decimals (its minor-unit exponent).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
    max_amount_minor: i64,
}

/// Currencies Saldo accepts, with their minor-unit exponent and the largest single amount Saldo
/// takes in them, in major units (see [`Currency::max_amount_minor`]). A closed list on purpose: an unknown code
/// is a typo or an attack, and the exponent must be known to read an amount at all.
///
/// The bound is about one million euros' worth in each currency (rounded, so that exchange rates
/// moving does not matter): far above any prisoner's payment, wage, deposit or the service's own
/// transfers, far below where arithmetic on `i64` minor units could overflow.
const KNOWN_CURRENCIES: &[(&str, u8, i64)] = &[
    ("EUR", 2, 1_000_000),
    ("SEK", 2, 10_000_000),
    ("NOK", 2, 10_000_000),
    ("DKK", 2, 10_000_000),
    ("PLN", 2, 5_000_000),
    ("CZK", 2, 25_000_000),
    ("HUF", 2, 400_000_000),
    ("RON", 2, 5_000_000),
    ("BGN", 2, 2_000_000),
    ("CHF", 2, 1_000_000),
    ("GBP", 2, 1_000_000),
    ("ISK", 0, 150_000_000),
];

/// How many times [`Currency::max_amount_minor`] a balance may reach before `saldo verify` calls
/// it implausible: a billion euros' worth, beyond the trust account of any prison service.
pub const PLAUSIBLE_BALANCE_FACTOR: i64 = 1_000;

impl Currency {
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
        max_amount_minor: 100_000_000,
    };

    /// Looks up a code such as `"EUR"` (upper case, as ISO 4217 writes it).
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        KNOWN_CURRENCIES
            .iter()
            .find(|(known, _, _)| *known == code)
            .map(|(known, exponent, max_major)| {
                let bytes = known.as_bytes();
                Currency {
                    code: [bytes[0], bytes[1], bytes[2]],
                    exponent: *exponent,
                    // At most 4e8 × 100: far inside i64.
                    max_amount_minor: max_major * 10_i64.pow(u32::from(*exponent)),
                }
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.chars().take(8).collect()))
    }

    pub fn code(&self) -> &str {
        // The bytes come from KNOWN_CURRENCIES, which are ASCII.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Number of decimals of the minor unit (2 for EUR: 1 EUR = 100 cents).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// The largest single amount, in minor units, Saldo takes in this currency: a posting, a
    /// hold, a card event, a deposit, a wage. Beyond it an amount is refused
    /// ([`MoneyError::BeyondBound`]), or for a processor event kept for staff, never booked.
    pub fn max_amount_minor(&self) -> i64 {
        self.max_amount_minor
    }

    /// Every accepted currency, for checks that run per currency (`saldo verify`).
    pub fn all() -> impl Iterator<Item = Currency> {
        KNOWN_CURRENCIES
            .iter()
            .filter_map(|(code, _, _)| Currency::from_code(code).ok())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount overflows the supported range")]
    Overflow,
    #[error("{currency} has {allowed} decimals; the amount has more")]
    TooPrecise { currency: Currency, allowed: u8 },
    #[error("amount is not a decimal number")]
    NotANumber,
    #[error("amount must be positive")]
    NotPositive,
    #[error("the amount is beyond the largest Saldo takes in {currency} ({max_minor} minor units)")]
    BeyondBound { currency: Currency, max_minor: i64 },
}

impl MoneyError {
    /// Stable machine-readable code, used in problem+json answers.
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::UnknownCurrency(_) => "unknown_currency",
            MoneyError::CurrencyMismatch(..) => "currency_mismatch",
            MoneyError::Overflow => "amount_overflow",
            MoneyError::TooPrecise { .. } => "amount_too_precise",
            MoneyError::NotANumber => "amount_invalid",
            MoneyError::NotPositive => "amount_not_positive",
            MoneyError::BeyondBound { .. } => "amount_beyond_bound",
        }
    }
}

/// An amount of money: signed integer minor units and a currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Money {
        Money {
            amount_minor,
            currency,
        }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    /// Reads a major-unit string such as `"12.50"`. More decimals than the currency has is an
    /// error, never a silent rounding.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let decimal = Decimal::from_str_exact(text.trim()).map_err(|_| MoneyError::NotANumber)?;
        Money::from_decimal(decimal, currency)
    }

    pub fn from_decimal(decimal: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let normalized = decimal.normalize();
        if normalized.scale() > u32::from(currency.exponent) {
            return Err(MoneyError::TooPrecise {
                currency,
                allowed: currency.exponent,
            });
        }
        let factor = Decimal::from(10_i64.pow(u32::from(currency.exponent)));
        let minor = normalized.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        let amount_minor = i64::try_from(minor.mantissa() / 10_i128.pow(minor.scale()))
            .map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, currency))
    }

    /// The amount in major units, e.g. `12.50` for 1250 cents of EUR.
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.amount_minor, u32::from(self.currency.exponent))
    }

    pub fn is_positive(&self) -> bool {
        self.amount_minor > 0
    }

    /// Refuses an amount (either sign) beyond [`Currency::max_amount_minor`].
    pub fn within_bound(self) -> Result<Money, MoneyError> {
        let max_minor = self.currency.max_amount_minor;
        if self.amount_minor.unsigned_abs() > max_minor.unsigned_abs() {
            return Err(MoneyError::BeyondBound {
                currency: self.currency,
                max_minor,
            });
        }
        Ok(self)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_minor = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_minor = self
            .amount_minor
            .checked_sub(other.amount_minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let amount_minor = self
            .amount_minor
            .checked_neg()
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_major_units_exactly() {
        let money = Money::parse_major("12.50", Currency::EUR).unwrap();
        assert_eq!(money.amount_minor, 1250);
        assert_eq!(
            Money::parse_major("7", Currency::EUR).unwrap().amount_minor,
            700
        );
        assert_eq!(
            Money::parse_major("-0.01", Currency::EUR)
                .unwrap()
                .amount_minor,
            -1
        );
        assert_eq!(
            Money::parse_major("1.500", Currency::EUR)
                .unwrap()
                .amount_minor,
            150
        );
    }

    #[test]
    fn more_decimals_than_the_currency_has_is_an_error() {
        assert_eq!(
            Money::parse_major("0.001", Currency::EUR),
            Err(MoneyError::TooPrecise {
                currency: Currency::EUR,
                allowed: 2
            })
        );
        let isk = Currency::from_code("ISK").unwrap();
        assert!(Money::parse_major("1.5", isk).is_err());
    }

    #[test]
    fn garbage_and_floats_notation_are_rejected() {
        assert_eq!(
            Money::parse_major("1e2", Currency::EUR),
            Err(MoneyError::NotANumber)
        );
        assert_eq!(
            Money::parse_major("", Currency::EUR),
            Err(MoneyError::NotANumber)
        );
        assert_eq!(
            Money::parse_major("NaN", Currency::EUR),
            Err(MoneyError::NotANumber)
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let max = Money::new(i64::MAX, Currency::EUR);
        assert_eq!(
            max.checked_add(Money::new(1, Currency::EUR)),
            Err(MoneyError::Overflow)
        );
        let min = Money::new(i64::MIN, Currency::EUR);
        assert_eq!(
            min.checked_sub(Money::new(1, Currency::EUR)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(min.checked_neg(), Err(MoneyError::Overflow));
        assert_eq!(
            Money::parse_major("99999999999999999999", Currency::EUR),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn amounts_beyond_the_currencys_bound_are_refused_either_sign() {
        let max = Currency::EUR.max_amount_minor();
        assert_eq!(max, 100_000_000, "one million euros");
        assert!(Money::new(max, Currency::EUR).within_bound().is_ok());
        assert!(Money::new(-max, Currency::EUR).within_bound().is_ok());
        for beyond in [max + 1, -max - 1, i64::MAX, i64::MIN] {
            assert_eq!(
                Money::new(beyond, Currency::EUR).within_bound(),
                Err(MoneyError::BeyondBound {
                    currency: Currency::EUR,
                    max_minor: max
                })
            );
        }
        let isk = Currency::from_code("ISK").unwrap();
        assert!(Money::new(150_000_000, isk).within_bound().is_ok());
        assert!(Money::new(150_000_001, isk).within_bound().is_err());
        assert_eq!(Currency::all().count(), KNOWN_CURRENCIES.len());
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let sek = Currency::from_code("SEK").unwrap();
        let result = Money::new(1, Currency::EUR).checked_add(Money::new(1, sek));
        assert_eq!(
            result,
            Err(MoneyError::CurrencyMismatch(Currency::EUR, sek))
        );
    }

    #[test]
    fn unknown_currency_codes_are_rejected() {
        assert!(Currency::from_code("eur").is_err());
        assert!(Currency::from_code("XXX").is_err());
        assert_eq!(Currency::from_code("EUR").unwrap(), Currency::EUR);
    }

    #[test]
    fn displays_major_units_with_currency() {
        assert_eq!(Money::new(1250, Currency::EUR).to_string(), "12.50 EUR");
        assert_eq!(Money::new(-5, Currency::EUR).to_string(), "-0.05 EUR");
    }

    #[test]
    fn json_amounts_are_integers_and_codes() {
        let json = serde_json::to_string(&Money::new(1250, Currency::EUR)).unwrap();
        assert_eq!(json, r#"{"amount_minor":1250,"currency":"EUR"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back.amount_minor, 1250);
        // A JSON float never becomes money.
        assert!(
            serde_json::from_str::<Money>(r#"{"amount_minor":12.5,"currency":"EUR"}"#).is_err()
        );
    }
}
