//! Reconciliation: the processor's settlement files and the trust bank account's camt.053
//! statements against the ledger (docs/reconciliation.md).
//!
//! An import streams the file through a parser on a blocking thread into a temporary staging
//! table with `COPY`, checks the file's own totals, then matches it in SQL set operations, files
//! the breaks, and commits all of it in one transaction: a file is taken whole or not at all,
//! memory stays bounded whatever its size, and the same bytes imported twice change nothing.

pub mod breaks;
pub mod camt053;
pub mod iso4217;
pub mod matching;
pub mod pain001;
pub mod report;
pub mod scheduled;
pub mod settlement;
pub mod trust_account;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;

use bytes::BytesMut;
use deadpool_postgres::{Pool, Transaction};
use futures_util::SinkExt;
use ledger::{AccountType, Currency, NewAccount};
use processor_protocol::settlement::{SettlementReader, SettlementTrailer};
use serde::Serialize;
use time::{Date, OffsetDateTime};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Purposes of the institutional accounts reconciliation uses beyond the ledger's own list.
pub mod purpose {
    /// What the processor charges the program (an expense).
    pub const PROCESSOR_FEES: &str = ledger::fees::fee_purpose::PROCESSOR_FEES;
}

/// External reference kinds reconciliation reads and writes.
pub mod ref_kind {
    /// A card clearing or refund: the processor's `txn_…` id (booked by the card adapter).
    pub const PROCESSOR_TRANSACTION: &str = "processor_transaction";
    /// The day's settlement entry, `YYYY-MM-DD:EUR`.
    pub const PROCESSOR_SETTLEMENT: &str = "processor_settlement";
    /// An expected entry for a FEE or ADJUSTMENT row, `YYYY-MM-DD:<record_id>`.
    pub const PROCESSOR_SETTLEMENT_RECORD: &str = "processor_settlement_record";
    /// A bank transfer's camt.053 `EndToEndId`.
    pub const BANK_END_TO_END: &str = "bank_end_to_end";
    /// An adjusting entry approved for a break: the break's id.
    pub const RECON_BREAK: &str = "recon_break";
}

/// A ledger entry older than this is not expected in a new file any more (a bound on the work
/// of each import, and the go-live cut-off).
pub const LOOKBACK_DAYS: i64 = 35;
/// A ledger entry dated D that is in no file dated up to D + this many days is a break; before
/// that it is a timing difference (cleared one day, settled the next).
pub const DEFAULT_GRACE_DAYS: i64 = 2;
/// Rows are sent to PostgreSQL in chunks of about this many bytes.
const COPY_CHUNK_BYTES: usize = 256 * 1024;
/// Chunks in flight between the parser thread and the database: the memory bound.
const COPY_CHANNEL_CHUNKS: usize = 4;
/// Serialises imports, so two imports of one file at once cannot both pass the checks.
const IMPORT_LOCK_KEY: i64 = 0x5a1d_0005;
/// Progress is reported every this many rows.
const PROGRESS_EVERY_ROWS: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ReconError {
    #[error("line {line_no}: {message}")]
    InvalidFile { line_no: u64, message: String },
    #[error("the file's totals do not agree: {0}")]
    TotalsMismatch(String),
    #[error(
        "a settlement file for {date} was already imported (import {import_id}) with other contents"
    )]
    SettlementDateTaken { date: Date, import_id: Uuid },
    #[error("{0}")]
    Invalid(String),
    /// The statement is of another account than the prison's trust account.
    #[error("{0}")]
    WrongAccount(String),
    /// The statement (or an amount in it) is in a real currency, not the trust account's.
    #[error("{0}")]
    WrongCurrency(String),
    /// The statement closes outside the trust account's reconciliation period.
    #[error("{0}")]
    OutOfPeriod(String),
    #[error(
        "this prison has no trust account configured: set its IBAN and currency first \
         (PUT /api/staff/prisons/{{prison_id}}/trust-account or saldo reconcile trust-account)"
    )]
    TrustAccountNotConfigured,
    /// Bad input with its own stable code (an IBAN, a currency, a date).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("four-eyes: the person who proposed an adjustment cannot approve it")]
    SamePerson,
    #[error("amount overflow")]
    Overflow,
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error("database error: {0}")]
    Database(tokio_postgres::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

ledger::database_error_from!(ReconError, Database);

impl ReconError {
    pub fn code(&self) -> &'static str {
        match self {
            ReconError::InvalidFile { .. } => "invalid_file",
            ReconError::TotalsMismatch(_) => "totals_mismatch",
            ReconError::SettlementDateTaken { .. } => "settlement_date_taken",
            ReconError::Invalid(_) => "invalid",
            ReconError::WrongAccount(_) => "wrong_account",
            ReconError::WrongCurrency(_) => "wrong_currency",
            ReconError::OutOfPeriod(_) => "statement_out_of_period",
            ReconError::TrustAccountNotConfigured => "trust_account_not_configured",
            ReconError::Refused { code, .. } => code,
            ReconError::NotFound(_) => "not_found",
            ReconError::Conflict(_) => "conflict",
            ReconError::SamePerson => "four_eyes",
            ReconError::Overflow => "amount_overflow",
            ReconError::Io(_) => "io",
            ReconError::Ledger(error) => error.code(),
            ReconError::Database(_) | ReconError::Pool(_) => "internal",
        }
    }
}

impl From<ledger::MoneyError> for ReconError {
    fn from(error: ledger::MoneyError) -> ReconError {
        ReconError::Ledger(error.into())
    }
}

pub type ReconResult<T> = Result<T, ReconError>;

/// What a long import reports as it goes.
#[derive(Debug, Clone, Copy)]
pub enum ProgressEvent {
    Loaded { rows: u64 },
    Phase(&'static str),
}

pub type Progress = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

#[derive(Clone)]
pub struct ImportOptions {
    /// The processor whose settlement file it is (`p1`, the default, for bank statements too).
    pub processor_id: String,
    pub file_name: Option<String>,
    /// The staff id (or `scheduler`) that imports the file.
    pub imported_by: String,
    /// The settlement date the caller expects the file to be for.
    pub expected_date: Option<Date>,
    pub grace_days: i64,
    pub progress: Option<Progress>,
}

impl ImportOptions {
    pub fn new(imported_by: &str) -> ImportOptions {
        ImportOptions {
            processor_id: card_adapter::processors::DEFAULT_PROCESSOR.to_owned(),
            file_name: None,
            imported_by: imported_by.to_owned(),
            expected_date: None,
            grace_days: DEFAULT_GRACE_DAYS,
            progress: None,
        }
    }

    fn report(&self, event: ProgressEvent) {
        if let Some(progress) = &self.progress {
            progress(event);
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub import_id: Uuid,
    pub kind: &'static str,
    #[serde(with = "ledger::date_format")]
    pub business_date: Date,
    pub row_count: i64,
    pub matched_count: i64,
    pub matched_minor: i64,
    /// New breaks filed by this import, by class.
    pub breaks: BTreeMap<String, i64>,
    /// Earlier breaks that this import showed to be timing differences.
    pub matched_later: i64,
    pub settlement_entry_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ImportOutcome {
    Imported(ImportSummary),
    /// The same bytes were imported before: nothing changed.
    AlreadyImported {
        import_id: Uuid,
    },
}

/// The SHA-256 of a file, for the cheap "already imported?" check before a long import.
pub fn sha256_of(mut reader: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher: sha2::Sha256 = sha2::Digest::new();
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buf)?;
        if read == 0 {
            break;
        }
        sha2::Digest::update(&mut hasher, &buf[..read]);
    }
    Ok(hex::encode(sha2::Digest::finalize(hasher)))
}

pub async fn import_by_sha(pool: &Pool, sha256_hex: &str) -> ReconResult<Option<Uuid>> {
    let client = pool.get().await?;
    Ok(client
        .query_opt(
            "select id from recon.imports where file_sha256 = $1",
            &[&sha256_hex],
        )
        .await?
        .map(|row| row.get("id")))
}

/// The institutional account for a purpose and currency, opened on first use.
pub async fn institution_account(
    tx: &Transaction<'_>,
    purpose: &str,
    account_type: AccountType,
    currency: Currency,
) -> ReconResult<Uuid> {
    let account = NewAccount::institution(purpose, account_type, currency);
    if let Some(existing) = ledger::store::account_by_code(tx, &account.code).await? {
        return Ok(existing.id);
    }
    let key = format!("open:{}", account.code);
    Ok(ledger::store::open_account(tx, &key, &account).await?.id)
}

/// Writes one value in PostgreSQL's COPY text format.
fn copy_field(out: &mut BytesMut, value: Option<&str>) {
    match value {
        None => out.extend_from_slice(b"\\N"),
        Some(text) => {
            for byte in text.bytes() {
                match byte {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    other => out.extend_from_slice(&[other]),
                }
            }
        }
    }
}

fn copy_row(out: &mut BytesMut, fields: &[Option<&str>]) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(b"\t");
        }
        copy_field(out, *field);
    }
    out.extend_from_slice(b"\n");
}

/// Sends chunks from the parser thread to `COPY … FROM STDIN`. The channel is bounded, so the
/// parser waits for the database: memory stays at a few chunks whatever the file's size.
async fn copy_chunks(
    tx: &Transaction<'_>,
    copy_statement: &str,
    mut chunks: mpsc::Receiver<bytes::Bytes>,
) -> ReconResult<u64> {
    let sink = tx.copy_in(copy_statement).await?;
    let mut sink = std::pin::pin!(sink);
    while let Some(chunk) = chunks.recv().await {
        sink.send(chunk).await?;
    }
    Ok(sink.as_mut().finish().await?)
}

/// Runs a blocking parser that fills chunks, while this task copies them to the database.
async fn stream_into_copy<T: Send + 'static>(
    tx: &Transaction<'_>,
    copy_statement: &str,
    parse: impl FnOnce(&mut dyn FnMut(&[Option<&str>]) -> ReconResult<()>) -> ReconResult<T>
    + Send
    + 'static,
) -> ReconResult<T> {
    let (sender, receiver) = mpsc::channel::<bytes::Bytes>(COPY_CHANNEL_CHUNKS);
    let parser = tokio::task::spawn_blocking(move || {
        let mut buffer = BytesMut::with_capacity(COPY_CHUNK_BYTES + 4096);
        let mut emit = |fields: &[Option<&str>]| -> ReconResult<()> {
            copy_row(&mut buffer, fields);
            if buffer.len() >= COPY_CHUNK_BYTES {
                let chunk = buffer.split().freeze();
                sender
                    .blocking_send(chunk)
                    .map_err(|_| ReconError::Conflict("the database stopped the copy".into()))?;
            }
            Ok(())
        };
        let result = parse(&mut emit);
        if result.is_ok() && !buffer.is_empty() {
            let chunk = buffer.split().freeze();
            sender
                .blocking_send(chunk)
                .map_err(|_| ReconError::Conflict("the database stopped the copy".into()))?;
        }
        result
    });
    let copied = copy_chunks(tx, copy_statement, receiver).await;
    let parsed = parser
        .await
        .map_err(|_| ReconError::Conflict("the parser thread failed".into()))?;
    match (parsed, copied) {
        (Ok(value), Ok(_)) => Ok(value),
        // The parser stopped because the copy failed: the copy's error says why.
        (Err(ReconError::Conflict(_)), Err(copy_error)) => Err(copy_error),
        // Otherwise a parse error explains more than the copy error it caused.
        (Err(parse_error), _) => Err(parse_error),
        (Ok(_), Err(copy_error)) => Err(copy_error),
    }
}

/// What the parser thread learnt about a settlement file (the reader checked the trailer).
struct SettlementTotals {
    rows: u64,
    trailer: SettlementTrailer,
    first_currency: Option<String>,
    sha256_hex: String,
}

/// Imports one settlement file (protocol section 4) and reconciles it. The file is rejected
/// whole, with nothing written, when it is malformed or its trailer's count or net disagree.
pub async fn import_settlement<R: BufRead + Send + 'static>(
    pool: &Pool,
    reader: R,
    options: &ImportOptions,
) -> ReconResult<ImportOutcome> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // For this transaction only: matching a million rows is one long statement, where JIT
    // compilation costs more than it saves (1.4 s per 200,000 rows measured), and the sort that
    // finds repeated transactions fits in memory instead of spilling to disk.
    tx.batch_execute("set local jit = off; set local work_mem = '128MB'")
        .await?;
    tx.batch_execute(
        "create temp table recon_stage_settlement (
             line_no bigint, record_id text, settlement_date date, row_type text,
             transaction_id text, authorization_id text, card_id text, amount_minor bigint,
             currency text, mcc text, cleared_at timestamptz) on commit drop",
    )
    .await?;
    options.report(ProgressEvent::Phase("loading rows"));
    let progress = options.progress.clone();
    let totals = stream_into_copy(&tx, "copy recon_stage_settlement from stdin", move |emit| {
        let mut reader = SettlementReader::new(settlement::Sha256Reader::new(reader))?;
        let mut rows: u64 = 0;
        let mut first_currency = None;
        while let Some(row) = reader.next() {
            let row = row?;
            first_currency.get_or_insert_with(|| row.currency.as_str().to_owned());
            rows += 1;
            let line_no = reader.line_no().to_string();
            let date = row.settlement_date.to_string();
            let amount = row.amount_minor.to_string();
            let cleared_at = row.cleared_at.and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
            emit(&[
                Some(&line_no),
                Some(&row.record_id),
                Some(&date),
                Some(row.kind.as_str()),
                row.transaction_id.as_deref(),
                row.authorization_id.as_deref(),
                row.card_id.as_deref(),
                Some(&amount),
                Some(row.currency.as_str()),
                row.mcc.as_ref().map(|mcc| mcc.as_str()),
                cleared_at.as_deref(),
            ])?;
            if rows.is_multiple_of(PROGRESS_EVERY_ROWS)
                && let Some(progress) = &progress
            {
                progress(ProgressEvent::Loaded { rows });
            }
        }
        let trailer = reader.trailer().ok_or(ReconError::InvalidFile {
            line_no: 0,
            message: "no trailer".into(),
        })?;
        Ok(SettlementTotals {
            rows,
            trailer,
            first_currency,
            sha256_hex: reader.into_inner().sha256_hex(),
        })
    })
    .await?;
    options.report(ProgressEvent::Loaded { rows: totals.rows });
    let trailer = &totals.trailer;
    let date = trailer.settlement_date;
    if let Some(expected) = options.expected_date
        && expected != date
    {
        return Err(ReconError::Invalid(format!(
            "the file is for {date}, not for {expected}"
        )));
    }
    let currency_code = trailer
        .currency
        .as_ref()
        .map(|currency| currency.as_str().to_owned())
        .or(totals.first_currency.clone())
        .unwrap_or_else(|| "EUR".to_owned());
    let currency = Currency::from_code(&currency_code)
        .map_err(|_| ReconError::Invalid(format!("currency {currency_code:?} is unknown")))?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&IMPORT_LOCK_KEY])
        .await?;
    if let Some(row) = tx
        .query_opt(
            "select id from recon.imports where file_sha256 = $1",
            &[&totals.sha256_hex],
        )
        .await?
    {
        return Ok(ImportOutcome::AlreadyImported {
            import_id: row.get("id"),
        });
    }
    if let Some(row) = tx
        .query_opt(
            "select id from recon.imports
             where kind = 'settlement' and business_date = $1 and processor_id = $2",
            &[&date, &options.processor_id],
        )
        .await?
    {
        return Err(ReconError::SettlementDateTaken {
            date,
            import_id: row.get("id"),
        });
    }
    let import_id = Uuid::now_v7();
    options.report(ProgressEvent::Phase("matching against the ledger"));
    let summary = matching::reconcile_settlement(
        &tx,
        matching::SettlementImport {
            import_id,
            date,
            currency,
            row_count: totals.rows,
            net_minor: trailer.net_minor,
            sha256_hex: &totals.sha256_hex,
            options,
        },
    )
    .await?;
    options.report(ProgressEvent::Phase("committing"));
    tx.commit().await?;
    Ok(ImportOutcome::Imported(summary))
}

/// A statement line the bank rail books before matching (docs/payouts.md): a credit with a
/// structured creditor reference (a family's transfer), a debit or a return that may be one of
/// Saldo's payouts. Only lines with an end-to-end reference: the ledger entry carries it.
#[derive(Debug, Clone)]
pub struct RailLine {
    pub line_no: u64,
    pub booking_date: Date,
    /// Signed as on the statement: a credit is positive.
    pub amount_minor: i64,
    pub currency: Currency,
    pub end_to_end_id: String,
    pub creditor_reference: Option<String>,
    pub return_reason: Option<String>,
    /// Personal data, for the identity store only.
    pub debtor: Option<camt053::Counterparty>,
}

/// A break the bank rail files for a line: money it gives back (`returned_to_sender`).
#[derive(Debug, Clone)]
pub struct RailBreak {
    pub line_no: u64,
    pub booking_date: Date,
    pub end_to_end_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// For a finance clerk; no personal data.
    pub explanation: String,
}

/// What books a statement's own transfers (family deposits by reference, payouts' debits and
/// returns) inside the import's transaction, before the lines are matched: `saldo`'s bank rail,
/// which reaches the identity store that this crate must not.
pub trait BankRail: Sync {
    /// Whether the rail wants lines at all (none: plain reconciliation).
    fn wants_lines(&self) -> bool;

    fn book(
        &self,
        tx: &Transaction<'_>,
        prison_id: Uuid,
        lines: Vec<RailLine>,
    ) -> impl std::future::Future<Output = ReconResult<Vec<RailBreak>>> + Send;
}

/// Plain reconciliation: the statement's lines are matched against what the ledger has.
pub struct NoRail;

impl BankRail for NoRail {
    fn wants_lines(&self) -> bool {
        false
    }

    async fn book(
        &self,
        _tx: &Transaction<'_>,
        _prison_id: Uuid,
        _lines: Vec<RailLine>,
    ) -> ReconResult<Vec<RailBreak>> {
        Ok(Vec::new())
    }
}

/// Imports one camt.053 statement file of a prison's trust bank account and reconciles it. A
/// file whose balances do not add up, of another account or currency, or closing outside the
/// account's reconciliation period is rejected whole, with nothing written; so is any file for a
/// prison with no trust account configured.
pub async fn import_bank_statement<R: BufRead + Send + 'static>(
    pool: &Pool,
    reader: R,
    prison_id: Uuid,
    options: &ImportOptions,
) -> ReconResult<ImportOutcome> {
    import_bank_statement_with(pool, reader, prison_id, options, &NoRail).await
}

/// [`import_bank_statement`], with `rail` booking the statement's own transfers in the same
/// transaction before matching (so a rejected file books nothing, and the same file again
/// changes nothing). A returned transfer's line is matched under `<EndToEndId>:return`.
pub async fn import_bank_statement_with<R: BufRead + Send + 'static, H: BankRail>(
    pool: &Pool,
    reader: R,
    prison_id: Uuid,
    options: &ImportOptions,
    rail: &H,
) -> ReconResult<ImportOutcome> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if tx
        .query_opt(
            "select 1 from identity.prisons where id = $1",
            &[&prison_id],
        )
        .await?
        .is_none()
    {
        return Err(ReconError::NotFound("prison"));
    }
    let trust_account = trust_account::current(&tx, prison_id)
        .await?
        .ok_or(ReconError::TrustAccountNotConfigured)?;
    let expected = camt053::StatementAccount {
        iban: trust_account.iban.clone(),
        currency: trust_account.currency,
    };
    tx.batch_execute(
        "create temp table recon_stage_bank (
             line_no bigint, stmt_no int, booking_date date, amount_minor bigint, currency text,
             end_to_end_id text, account_servicer_ref text, remittance text) on commit drop",
    )
    .await?;
    options.report(ProgressEvent::Phase("loading statement lines"));
    let progress = options.progress.clone();
    let wants_lines = rail.wants_lines();
    let (summary, rail_lines) =
        stream_into_copy(&tx, "copy recon_stage_bank from stdin", move |emit| {
            let mut rail_lines = Vec::new();
            let summary = camt053::read_camt053(reader, &expected, |line| {
                let line_no = line.line_no.to_string();
                let stmt_no = line.stmt_no.to_string();
                let date = line.booking_date.to_string();
                let amount = line.amount_minor.to_string();
                // A return echoes the payout's own reference: matched apart from its debit.
                let end_to_end = match (&line.end_to_end_id, &line.return_reason) {
                    (Some(id), Some(_)) => Some(ledger::bank_rail::return_end_to_end(id)),
                    (id, None) => id.clone(),
                    (None, Some(_)) => None,
                };
                emit(&[
                    Some(&line_no),
                    Some(&stmt_no),
                    Some(&date),
                    Some(&amount),
                    Some(line.currency.code()),
                    end_to_end.as_deref(),
                    line.account_servicer_ref.as_deref(),
                    line.remittance.as_deref(),
                ])?;
                if line.line_no.is_multiple_of(PROGRESS_EVERY_ROWS)
                    && let Some(progress) = &progress
                {
                    progress(ProgressEvent::Loaded { rows: line.line_no });
                }
                let for_rail = line.creditor_reference.is_some()
                    || line.return_reason.is_some()
                    || line.amount_minor < 0;
                if wants_lines
                    && for_rail
                    && let Some(end_to_end_id) = line.end_to_end_id
                {
                    rail_lines.push(RailLine {
                        line_no: line.line_no,
                        booking_date: line.booking_date,
                        amount_minor: line.amount_minor,
                        currency: line.currency,
                        end_to_end_id,
                        creditor_reference: line.creditor_reference,
                        return_reason: line.return_reason,
                        debtor: line.debtor,
                    });
                }
                Ok(())
            })?;
            Ok((summary, rail_lines))
        })
        .await?;
    options.report(ProgressEvent::Loaded {
        rows: summary.line_count,
    });
    let today = OffsetDateTime::now_utc().date();
    for statement in &summary.statements {
        trust_account::check_period(
            &trust_account,
            &statement.statement_id,
            statement.closing_date,
            today,
        )?;
    }
    // Lines booked long before the period (or after today) are not this period's either.
    let booked = tx
        .query_one(
            "select min(booking_date) as first_booked, max(booking_date) as last_booked
             from recon_stage_bank",
            &[],
        )
        .await?;
    let earliest_allowed = trust_account.reconcile_from - time::Duration::days(LOOKBACK_DAYS);
    let (first, last): (Option<Date>, Option<Date>) =
        (booked.get("first_booked"), booked.get("last_booked"));
    if let Some(first) = first.filter(|first| *first < earliest_allowed) {
        return Err(ReconError::OutOfPeriod(format!(
            "a line is booked on {first}, more than {LOOKBACK_DAYS} days before the \
             reconciliation period of trust account {} starts ({}): nothing imported",
            trust_account::grouped_iban(&trust_account.iban),
            trust_account.reconcile_from
        )));
    }
    if let Some(last) = last.filter(|last| *last > today.next_day().unwrap_or(today)) {
        return Err(ReconError::OutOfPeriod(format!(
            "a line is booked on {last}, after today: nothing imported"
        )));
    }
    tx.execute("select pg_advisory_xact_lock($1)", &[&IMPORT_LOCK_KEY])
        .await?;
    if let Some(row) = tx
        .query_opt(
            "select id from recon.imports where file_sha256 = $1",
            &[&summary.sha256_hex],
        )
        .await?
    {
        return Ok(ImportOutcome::AlreadyImported {
            import_id: row.get("id"),
        });
    }
    let import_id = Uuid::now_v7();
    if !rail_lines.is_empty() {
        options.report(ProgressEvent::Phase(
            "booking the statement's own transfers",
        ));
        let rail_breaks = rail.book(&tx, prison_id, rail_lines).await?;
        breaks::file_rail_breaks(&tx, import_id, &rail_breaks).await?;
    }
    options.report(ProgressEvent::Phase("matching against the ledger"));
    let result = matching::reconcile_bank(&tx, import_id, prison_id, &summary, options).await?;
    options.report(ProgressEvent::Phase("committing"));
    tx.commit().await?;
    Ok(ImportOutcome::Imported(result))
}

/// Records what the processor says its funding account holds (GET /v1/funding).
pub async fn record_funding_balance(
    pool: &Pool,
    as_of_date: Date,
    balance: ledger::Money,
) -> ReconResult<()> {
    let client = pool.get().await?;
    client
        .execute(
            "insert into recon.funding_balances (as_of_date, currency, balance_minor)
             values ($1, $2, $3)
             on conflict (as_of_date, currency) do update set balance_minor = excluded.balance_minor,
                 recorded_at = clock_timestamp()",
            &[&as_of_date, &balance.currency.code(), &balance.amount_minor],
        )
        .await?;
    Ok(())
}
