//! The trust bank account of each prison: the only account whose camt.053 statements are
//! imported for it (docs/reconciliation.md, "Whose statement it is"). A statement of another
//! account, in another currency, or closing outside the reconciliation period is refused whole.
//!
//! Settings are append-only (`recon.trust_accounts`, V20): the latest row per prison counts.

use deadpool_postgres::GenericClient;
use ledger::Currency;
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::{LOOKBACK_DAYS, ReconError, ReconResult, iso4217};

/// A prison's trust account as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustAccount {
    pub prison_id: Uuid,
    /// Upper case, no spaces.
    pub iban: String,
    pub currency: Currency,
    /// The first day reconciled: a statement closing before it is refused.
    #[serde(with = "ledger::date_format")]
    pub reconcile_from: Date,
    /// The member of staff (id) or `cli:<name>` who set it.
    pub configured_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub configured_at: OffsetDateTime,
}

fn refused(code: &'static str, message: impl Into<String>) -> ReconError {
    ReconError::Refused {
        code,
        message: message.into(),
    }
}

/// An IBAN as banks print it ("FI21 1234 5600 0007 85") or write it in files: spaces removed,
/// upper case.
pub fn normalize_iban(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// In groups of four, as on paper.
pub fn grouped_iban(iban: &str) -> String {
    iban.as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Another account's IBAN, named without its middle digits: enough for a clerk to recognise the
/// statement, not a full account number of someone else in answers or terminals.
pub fn masked_iban(iban: &str) -> String {
    let chars: Vec<char> = iban.chars().take(40).collect();
    if chars.len() <= 8 {
        return "****".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head} **** {tail}")
}

/// A currency code of a statement or a request: the ledger's currency, or why not.
pub fn ledger_currency(code: &str) -> ReconResult<Currency> {
    if let Ok(currency) = Currency::from_code(code) {
        return Ok(currency);
    }
    if iso4217::is_currency_code(code) {
        Err(refused(
            "currency_unsupported",
            format!("{code} is an ISO 4217 currency Saldo's ledger does not keep"),
        ))
    } else {
        Err(refused(
            "currency_invalid",
            "the currency is not an ISO 4217 code (three upper-case letters, e.g. EUR)",
        ))
    }
}

/// The reconciliation period cannot start in the future (a day of slack for time zones).
fn latest_start(today: Date) -> Date {
    today.next_day().unwrap_or(today)
}

/// Sets a prison's trust account. The same setting again writes nothing. `reconcile_from`
/// defaults to the look-back (35 days before today).
pub async fn configure(
    client: &impl GenericClient,
    prison_id: Uuid,
    iban_text: &str,
    currency_code: &str,
    reconcile_from: Option<Date>,
    configured_by: &str,
) -> ReconResult<TrustAccount> {
    let iban = normalize_iban(iban_text);
    // The trust account's IBAN is the institution's, not personal data: checked here, by the
    // ledger's one IBAN check, rather than behind the identity store.
    if !ledger::iban::is_valid(&iban) {
        return Err(refused(
            "iban_invalid",
            "not a valid IBAN (country, check digits, account; the mod-97 check must hold)",
        ));
    }
    let currency = ledger_currency(currency_code)?;
    let today = OffsetDateTime::now_utc().date();
    let reconcile_from = match reconcile_from {
        Some(date) if date > latest_start(today) => {
            return Err(refused(
                "reconcile_from_invalid",
                "the reconciliation period cannot start in the future",
            ));
        }
        Some(date) => date,
        None => today - Duration::days(LOOKBACK_DAYS),
    };
    let prison_exists = client
        .query_opt(
            "select 1 from identity.prisons where id = $1",
            &[&prison_id],
        )
        .await?
        .is_some();
    if !prison_exists {
        return Err(ReconError::NotFound("prison"));
    }
    if let Some(existing) = current(client, prison_id).await?
        && existing.iban == iban
        && existing.currency == currency
        && existing.reconcile_from == reconcile_from
    {
        return Ok(existing);
    }
    let row = client
        .query_one(
            "insert into recon.trust_accounts (prison_id, iban, currency, reconcile_from,
                 configured_by)
             values ($1, $2, $3, $4, $5)
             returning configured_at",
            &[
                &prison_id,
                &iban,
                &currency.code(),
                &reconcile_from,
                &configured_by,
            ],
        )
        .await?;
    Ok(TrustAccount {
        prison_id,
        iban,
        currency,
        reconcile_from,
        configured_by: configured_by.to_owned(),
        configured_at: row.get("configured_at"),
    })
}

/// The prison's trust account now, if one was ever set.
pub async fn current(
    client: &impl GenericClient,
    prison_id: Uuid,
) -> ReconResult<Option<TrustAccount>> {
    let row = client
        .query_opt(
            "select iban, currency::text as currency, reconcile_from, configured_by, configured_at
             from recon.trust_accounts where prison_id = $1 order by id desc limit 1",
            &[&prison_id],
        )
        .await?;
    row.map(|row| {
        let currency: String = row.get("currency");
        Ok(TrustAccount {
            prison_id,
            iban: row.get("iban"),
            currency: Currency::from_code(&currency)?,
            reconcile_from: row.get("reconcile_from"),
            configured_by: row.get("configured_by"),
            configured_at: row.get("configured_at"),
        })
    })
    .transpose()
}

/// The period a statement of this account must close in: from the configured start to today
/// (plus a day: the bank's time zone may be ahead of UTC).
pub fn check_period(
    account: &TrustAccount,
    statement_id: &str,
    closing_date: Date,
    today: Date,
) -> ReconResult<()> {
    let until = latest_start(today);
    if closing_date < account.reconcile_from || closing_date > until {
        return Err(ReconError::OutOfPeriod(format!(
            "statement {statement_id} closes on {closing_date}, outside the reconciliation period \
             of trust account {} ({} to {until}): nothing imported",
            grouped_iban(&account.iban),
            account.reconcile_from
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_compared_without_spaces_and_named_masked() {
        assert_eq!(
            normalize_iban("fi21 1234 5600 0007 85"),
            "FI2112345600000785"
        );
        assert_eq!(grouped_iban("FI2112345600000785"), "FI21 1234 5600 0007 85");
        assert_eq!(masked_iban("DE89370400440532013000"), "DE89 **** 3000");
        assert_eq!(masked_iban("SHORT"), "****");
    }

    #[test]
    fn a_real_currency_the_ledger_does_not_keep_is_not_called_unknown() {
        assert_eq!(ledger_currency("EUR").unwrap(), Currency::EUR);
        let usd = ledger_currency("USD").unwrap_err();
        assert_eq!(usd.code(), "currency_unsupported");
        assert_eq!(
            ledger_currency("XYZ").unwrap_err().code(),
            "currency_invalid"
        );
    }
}
