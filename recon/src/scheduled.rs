//! The scheduled job: each day's settlement file and the funding balance fetched from the
//! processor's API (protocol 2.3, 2.4) and reconciled, without anyone uploading anything.
use std::time::Duration;

use card_adapter::client::{ClientError, ProcessorClient};
use deadpool_postgres::Pool;
use time::{Date, OffsetDateTime};

use super::{ImportOptions, ImportOutcome};

/// Files appear after 02:00 UTC the next day (protocol 2.4); we ask from 03:00.
const FIRST_FETCH_HOUR_UTC: u8 = 3;
/// How often the job wakes up; a missing file is asked for again next time.
const POLL_INTERVAL_MS: u64 = 15 * 60 * 1000;
/// Days looked back, so a day missed while Saldo was down is fetched later.
const CATCH_UP_DAYS: i64 = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    Imported,
    AlreadyImported,
    NotReady,
}

/// Fetches and reconciles one day's settlement file. Importing the same file again changes
/// nothing, so asking twice is harmless.
pub async fn fetch_settlement(
    pool: &Pool,
    client: &ProcessorClient,
    date: Date,
) -> anyhow::Result<Fetched> {
    fetch_settlement_for(
        pool,
        client,
        card_adapter::processors::DEFAULT_PROCESSOR,
        date,
    )
    .await
}

/// [`fetch_settlement`] from any processor (`client` must be that processor's): imported as its
/// file, so the old and the new processor's files of one day are two imports.
pub async fn fetch_settlement_for(
    pool: &Pool,
    client: &ProcessorClient,
    processor_id: &str,
    date: Date,
) -> anyhow::Result<Fetched> {
    let bytes = match client.download_settlement(date).await {
        Ok(bytes) => bytes,
        Err(ClientError::NotReady) => return Ok(Fetched::NotReady),
        Err(error) => anyhow::bail!("settlement download for {date}: {}", error.code()),
    };
    let mut options = ImportOptions::new("scheduler");
    options.processor_id = processor_id.to_owned();
    options.expected_date = Some(date);
    options.file_name = Some(format!("settlement-{date}.csv"));
    let reader = std::io::Cursor::new(bytes);
    match super::import_settlement(pool, reader, &options)
        .await
        .map_err(|error| anyhow::anyhow!("settlement import for {date}: {}", error.code()))?
    {
        ImportOutcome::Imported(_) => Ok(Fetched::Imported),
        ImportOutcome::AlreadyImported { .. } => Ok(Fetched::AlreadyImported),
    }
}

/// Records the processor's funding balance as of today.
pub async fn fetch_funding(pool: &Pool, client: &ProcessorClient) -> anyhow::Result<()> {
    let funding = client
        .get_funding()
        .await
        .map_err(|error| anyhow::anyhow!("funding: {}", error.code()))?;
    let currency = ledger::Currency::from_code(funding.currency.as_str())?;
    super::record_funding_balance(
        pool,
        funding.as_of.date(),
        ledger::Money::new(funding.balance, currency),
    )
    .await
    .map_err(|error| anyhow::anyhow!("funding: {}", error.code()))?;
    Ok(())
}

/// Runs until the process ends: the default processor's last days' files as they appear, and
/// its funding balance.
pub async fn run(pool: Pool, client: ProcessorClient) {
    run_for(pool, client, card_adapter::processors::DEFAULT_PROCESSOR).await
}

/// [`run`] for any processor (`client` must be that processor's): during a switch-over the old
/// and the new processor's files are both fetched. The funding balance is the default
/// processor's alone (one `processor_funding` account per currency; docs/switch-over.md).
pub async fn run_for(pool: Pool, client: ProcessorClient, processor_id: &str) {
    let mut interval = tokio::time::interval(Duration::from_millis(POLL_INTERVAL_MS));
    let is_default = processor_id == card_adapter::processors::DEFAULT_PROCESSOR;
    loop {
        interval.tick().await;
        let now = OffsetDateTime::now_utc();
        for days_back in 1..=CATCH_UP_DAYS {
            let date = now.date() - time::Duration::days(days_back);
            if days_back == 1 && now.hour() < FIRST_FETCH_HOUR_UTC {
                continue;
            }
            match fetch_settlement_for(&pool, &client, processor_id, date).await {
                Ok(Fetched::Imported) => {
                    tracing::info!(%date, processor_id, "settlement file imported and reconciled")
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%date, processor_id, error = %error, "settlement fetch failed")
                }
            }
        }
        if is_default && let Err(error) = fetch_funding(&pool, &client).await {
            tracing::warn!(error = %error, "funding balance fetch failed");
        }
    }
}
