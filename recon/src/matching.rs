//! Matching in SQL set operations over the staged rows: one statement classifies every row of
//! a file against the ledger, one files the breaks, and others look for what is missing on the
//! other side and for earlier breaks that turned out to be timing differences. Nothing here
//! holds a file's rows in memory.

use std::collections::BTreeMap;

use deadpool_postgres::Transaction;
use ledger::{
    AccountType, Currency, EntryDraft, ExternalRef, Overdraft, PostingDraft, institution_purpose,
};
use time::{Date, Duration};
use uuid::Uuid;

use super::camt053::Camt053Summary;
use super::{ImportOptions, ImportSummary, LOOKBACK_DAYS, ReconError, ReconResult, ref_kind};

pub struct SettlementImport<'a> {
    pub import_id: Uuid,
    pub date: Date,
    pub currency: Currency,
    pub row_count: u64,
    pub net_minor: i64,
    pub sha256_hex: &'a str,
    pub options: &'a ImportOptions,
}

async fn institution_ids(tx: &Transaction<'_>, purpose: &str) -> ReconResult<Vec<Uuid>> {
    Ok(tx
        .query(
            "select id from ledger_accounts where owner_kind = 'institution' and purpose = $1",
            &[&purpose],
        )
        .await?
        .iter()
        .map(|row| row.get("id"))
        .collect())
}

fn row_count(count: u64) -> ReconResult<i64> {
    i64::try_from(count).map_err(|_| ReconError::Overflow)
}

/// Classifies each staged settlement row, books the day's settlement entry, files breaks.
pub async fn reconcile_settlement(
    tx: &Transaction<'_>,
    import: SettlementImport<'_>,
) -> ReconResult<ImportSummary> {
    let SettlementImport {
        import_id,
        date,
        currency,
        row_count: rows,
        net_minor,
        sha256_hex,
        options,
    } = import;
    let payables = institution_ids(tx, institution_purpose::CARD_SETTLEMENT_PAYABLE).await?;
    let funding_accounts = institution_ids(tx, institution_purpose::PROCESSOR_FUNDING).await?;
    tx.execute("analyze recon_stage_settlement", &[]).await?;
    // The file's totals come from the staged rows (the same rows settlement_rows gets), so the
    // day's entry and the import row are written first and each settlement row's import is
    // checked once per statement (V9) instead of a deferred foreign-key check per row.
    let totals = tx
        .query_one(
            "select coalesce(sum(amount_minor) filter (where row_type in ('CLEARING', 'REFUND')
                        and currency = $1), 0)::bigint as card_net_minor,
                    coalesce(sum(amount_minor) filter (where row_type = 'FEE' and currency = $1), 0)::bigint
                      as fee_minor,
                    coalesce(sum(amount_minor) filter (where row_type = 'ADJUSTMENT'), 0)::bigint
                      as adjustment_minor
             from recon_stage_settlement",
            &[&currency.code()],
        )
        .await?;
    let card_net_minor: i64 = totals.get("card_net_minor");
    let fee_minor: i64 = totals.get("fee_minor");
    let adjustment_minor: i64 = totals.get("adjustment_minor");
    let settlement_entry_id = book_settlement_day(
        tx,
        &options.processor_id,
        date,
        currency,
        card_net_minor,
        import_id,
    )
    .await?;
    book_program_fees(tx, &options.processor_id, date, currency, import_id).await?;
    tx.execute(
        "insert into recon.imports (id, kind, file_sha256, file_name, business_date, currency,
             row_count, net_minor, card_net_minor, fee_minor, adjustment_minor,
             settlement_entry_id, imported_by, processor_id)
         values ($1, 'settlement', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            &import_id,
            &sha256_hex,
            &options.file_name,
            &date,
            &currency.code(),
            &row_count(rows)?,
            &net_minor,
            &card_net_minor,
            &fee_minor,
            &adjustment_minor,
            &settlement_entry_id,
            &options.imported_by,
            &options.processor_id,
        ],
    )
    .await?;
    classify_settlement_rows(tx, import_id, &payables, &funding_accounts).await?;
    file_settlement_breaks(tx, import_id).await?;
    file_missing_at_processor(tx, import_id, date, options, &payables).await?;
    let matched_later = rematch(tx, &payables, &[]).await?;
    let (breaks, matched_count, matched_minor) = import_counts(tx, import_id).await?;
    Ok(ImportSummary {
        import_id,
        kind: "settlement",
        business_date: date,
        row_count: row_count(rows)?,
        matched_count,
        matched_minor,
        breaks,
        matched_later,
        settlement_entry_id,
    })
}

/// Copies the staged settlement rows into `recon.settlement_rows`, each with its outcome against
/// the ledger.
async fn classify_settlement_rows(
    tx: &Transaction<'_>,
    import_id: Uuid,
    payables: &[Uuid],
    funding_accounts: &[Uuid],
) -> ReconResult<()> {
    // The file's transactions that earlier imports already have, found before this import's
    // rows go in. Probed row by row inside the insert, the look-up read the very table the
    // insert fills: with statistics that call it empty (a new, vacuumed database) the plan was a
    // scan of it per row, which re-read every row inserted so far (a million rows: over ten
    // minutes, against seconds).
    tx.batch_execute(
        "create temp table recon_seen_settlement on commit drop as
             select distinct s.transaction_id from recon_stage_settlement s
             join recon.settlement_rows o on o.transaction_id = s.transaction_id
             where s.row_type in ('CLEARING', 'REFUND') and o.row_type in ('CLEARING', 'REFUND');
         analyze recon_seen_settlement",
    )
    .await?;
    // Precedence: a repeated transaction is a duplicate whatever else is true of it; an unknown
    // card comes next (nothing else about the row can be trusted); then the ledger side.
    tx.execute(
        "insert into recon.settlement_rows (import_id, line_no, record_id, settlement_date, row_type,
             transaction_id, authorization_id, card_id, amount_minor, currency, mcc, cleared_at,
             outcome, entry_id, ledger_amount_minor, ledger_currency)
         select $1, s.line_no, s.record_id, s.settlement_date, s.row_type, s.transaction_id,
                s.authorization_id, s.card_id, s.amount_minor, s.currency, s.mcc, s.cleared_at,
                case
                    when s.row_type = 'FEE' then 'booked'
                    when s.row_type = 'ADJUSTMENT' then case
                        when l.entry_id is null then 'missing_in_ledger'
                        when l.currency <> s.currency then 'currency_mismatch'
                        when l.amount_minor <> s.amount_minor then 'amount_mismatch'
                        else 'matched' end
                    when s.repeat_no > 1 or earlier.transaction_id is not null then 'duplicate'
                    when c.card_id is null then 'unknown_card'
                    when l.entry_id is null then 'missing_in_ledger'
                    when l.currency <> s.currency then 'currency_mismatch'
                    when l.amount_minor <> s.amount_minor then 'amount_mismatch'
                    else 'matched'
                end,
                l.entry_id, l.amount_minor, l.currency
         from (select *, row_number() over (
                   partition by case when row_type in ('CLEARING', 'REFUND') then transaction_id end
                   order by line_no) as repeat_no
               from recon_stage_settlement) s
         left join lateral (
             (select r.entry_id, -p.amount_minor as amount_minor, p.currency::text as currency
              from journal_entry_refs r
              join journal_postings p on p.entry_id = r.entry_id
              where s.row_type in ('CLEARING', 'REFUND') and r.ref_kind = 'processor_transaction'
                and r.ref_value = s.transaction_id and p.account_id = any($2)
              limit 1)
             union all
             (select r.entry_id, -p.amount_minor as amount_minor, p.currency::text as currency
              from journal_entry_refs r
              join journal_postings p on p.entry_id = r.entry_id
              where s.row_type = 'ADJUSTMENT' and r.ref_kind = 'processor_settlement_record'
                and r.ref_value = s.settlement_date::text || ':' || s.record_id
                and p.account_id = any($3)
              limit 1)
             limit 1) l on true
         left join card.cards c on c.card_id = s.card_id
         left join recon_seen_settlement earlier
             on s.row_type in ('CLEARING', 'REFUND') and earlier.transaction_id = s.transaction_id",
        &[&import_id, &payables, &funding_accounts],
    )
    .await?;
    Ok(())
}

/// A break, with its explanation, for every row of the import that did not match.
async fn file_settlement_breaks(tx: &Transaction<'_>, import_id: Uuid) -> ReconResult<()> {
    tx.execute(
        "insert into recon.breaks (id, break_key, source, class, business_date, import_id, line_no,
             entry_id, reference, amount_minor, ledger_amount_minor, currency, explanation)
         select gen_random_uuid(), 'settlement:' || import_id || ':' || line_no, 'settlement',
                outcome, settlement_date, import_id, line_no, entry_id,
                coalesce(transaction_id, record_id), amount_minor, ledger_amount_minor, currency,
                case
                when outcome = 'missing_in_ledger' and row_type = 'ADJUSTMENT' then format(
                    'The processor adjusted the funding account by %s in the %s settlement file '
                    '(record %s%s), and the ledger has no entry for it. Book the adjustment with '
                    'reference processor_settlement_record %s, or accept it with a reason.',
                    recon.money_text(amount_minor, currency), settlement_date, record_id,
                    coalesce(': ' || transaction_id, ''), settlement_date || ':' || record_id)
                when outcome = 'missing_in_ledger' then format(
                    'The processor settled card transaction %s (%s, %s on card %s) in the %s '
                    'settlement file, but the ledger has no entry for it. The processor has '
                    'already taken this money from the funding account: find the missing booking.',
                    transaction_id, lower(row_type), recon.money_text(amount_minor, currency),
                    card_id, settlement_date)
                when outcome = 'duplicate' then format(
                    'Card transaction %s (%s) is in the settlement files more than once (again on '
                    'line %s of the %s file): the processor may have charged it twice.',
                    transaction_id, recon.money_text(amount_minor, currency), line_no,
                    settlement_date)
                when outcome = 'unknown_card' then format(
                    'The processor settled %s on card %s (transaction %s), but Saldo has no such '
                    'card: it may belong to another program, or its registration was lost.',
                    recon.money_text(amount_minor, currency), card_id, transaction_id)
                when outcome = 'currency_mismatch' then format(
                    'Transaction %s was settled as %s, but the ledger booked it as %s: the '
                    'currencies differ.',
                    coalesce(transaction_id, record_id), recon.money_text(amount_minor, currency),
                    recon.money_text(ledger_amount_minor, ledger_currency))
                else format(
                    'Transaction %s was settled for %s, but the ledger booked %s: a difference of %s.',
                    coalesce(transaction_id, record_id), recon.money_text(amount_minor, currency),
                    recon.money_text(ledger_amount_minor, ledger_currency),
                    recon.money_text(amount_minor - ledger_amount_minor, currency))
                end
         from recon.settlement_rows
         where import_id = $1 and outcome not in ('matched', 'booked')
         on conflict (break_key) do nothing",
        &[&import_id],
    )
    .await?;
    Ok(())
}

/// Ledger clearings and refunds no file has settled within the grace period: a break each.
async fn file_missing_at_processor(
    tx: &Transaction<'_>,
    import_id: Uuid,
    date: Date,
    options: &ImportOptions,
    payables: &[Uuid],
) -> ReconResult<()> {
    let upper = date - Duration::days(options.grace_days);
    let lower = tx
        .query_one(
            "select least($1::date, min(business_date)) - $2::int as lower
             from recon.imports where kind = 'settlement'",
            &[
                &date,
                &i32::try_from(options.grace_days).map_err(|_| ReconError::Overflow)?,
            ],
        )
        .await?
        .get::<_, Date>("lower")
        .max(date - Duration::days(LOOKBACK_DAYS));
    tx.execute(
        "insert into recon.breaks (id, break_key, source, class, business_date, entry_id,
             reference, ledger_amount_minor, currency, explanation, import_id)
         select gen_random_uuid(), 'missing_at_processor:' || r.ref_value, 'settlement',
                'missing_at_processor', e.effective_date, e.id, r.ref_value, -p.amount_minor,
                p.currency,
                format('The ledger booked card transaction %s (%s, %s) on %s, but no settlement '
                       'file up to %s contains it. The prisoner''s account was charged; the '
                       'processor has not settled it.',
                       r.ref_value, e.description, recon.money_text(-p.amount_minor, p.currency),
                       e.effective_date, $3::date + $4::int), $6::uuid
         from journal_entries e
         join journal_entry_refs r on r.entry_id = e.id and r.ref_kind = 'processor_transaction'
                                  and r.is_unique
         join journal_postings p on p.entry_id = e.id and p.account_id = any($5)
         where e.effective_date between $1 and $2 and e.reverses_entry_id is null
           and not exists (select 1 from journal_entries rev where rev.reverses_entry_id = e.id)
           and not exists (select 1 from recon.settlement_rows sr
                           where sr.transaction_id = r.ref_value
                             and sr.row_type in ('CLEARING', 'REFUND'))
         on conflict (break_key) do nothing",
        &[
            &lower,
            &upper,
            &upper,
            &i32::try_from(options.grace_days).map_err(|_| ReconError::Overflow)?,
            &payables,
            &import_id,
        ],
    )
    .await?;
    Ok(())
}

/// Copies the staged statement lines into `recon.bank_lines`, each with its outcome against
/// the ledger.
async fn classify_bank_lines(
    tx: &Transaction<'_>,
    import_id: Uuid,
    bank_accounts: &[Uuid],
) -> ReconResult<()> {
    // As for settlement rows: earlier imports' references found before the insert, which fills
    // the table they are in.
    tx.batch_execute(
        "create temp table recon_seen_bank on commit drop as
             select distinct s.end_to_end_id from recon_stage_bank s
             join recon.bank_lines o on o.end_to_end_id = s.end_to_end_id;
         analyze recon_seen_bank",
    )
    .await?;
    tx.execute(
        "insert into recon.bank_lines (import_id, line_no, stmt_no, booking_date, amount_minor,
             currency, end_to_end_id, account_servicer_ref, remittance, outcome, entry_id,
             ledger_amount_minor, ledger_currency)
         select $1, s.line_no, s.stmt_no, s.booking_date, s.amount_minor, s.currency,
                s.end_to_end_id, s.account_servicer_ref, s.remittance,
                case
                    when s.end_to_end_id is null then 'missing_in_ledger'
                    when s.repeat_no > 1 or earlier.end_to_end_id is not null then 'duplicate'
                    when l.entry_id is null then 'missing_in_ledger'
                    when l.currency <> s.currency then 'currency_mismatch'
                    when l.amount_minor <> s.amount_minor then 'amount_mismatch'
                    else 'matched'
                end,
                case when s.repeat_no > 1 or earlier.end_to_end_id is not null then null else l.entry_id end,
                l.amount_minor, l.currency
         from (select *, row_number() over (partition by end_to_end_id order by line_no) as repeat_no
               from recon_stage_bank) s
         left join lateral (
             select r.entry_id, sum(p.amount_minor)::bigint as amount_minor,
                    p.currency::text as currency
             from journal_entry_refs r
             join journal_postings p on p.entry_id = r.entry_id and p.account_id = any($2)
             where r.ref_kind = 'bank_end_to_end' and r.ref_value = s.end_to_end_id
             group by r.entry_id, p.currency
             limit 1) l on true
         left join recon_seen_bank earlier
             on earlier.end_to_end_id = s.end_to_end_id",
        &[&import_id, &bank_accounts],
    )
    .await?;
    Ok(())
}

/// Ledger movements on the trust account that no statement has shown within the grace period:
/// a break each. Adjusting entries approved in reconciliation and reversed pairs are not bank
/// movements.
async fn file_missing_at_bank(
    tx: &Transaction<'_>,
    import_id: Uuid,
    closing_date: Date,
    options: &ImportOptions,
    bank_accounts: &[Uuid],
) -> ReconResult<()> {
    let upper = closing_date - Duration::days(options.grace_days);
    let lower: Date = tx
        .query_one(
            "select least($1::date, min(s.closing_date)) - $2::int as lower
             from recon.bank_statements s",
            &[
                &closing_date,
                &i32::try_from(options.grace_days).map_err(|_| ReconError::Overflow)?,
            ],
        )
        .await?
        .get::<_, Date>("lower")
        .max(closing_date - Duration::days(LOOKBACK_DAYS));
    tx.execute(
        "insert into recon.breaks (id, break_key, source, class, business_date, entry_id,
             reference, ledger_amount_minor, currency, explanation, import_id)
         select gen_random_uuid(), 'missing_at_bank:' || e.id, 'bank', 'missing_at_bank',
                e.effective_date, e.id, ref.ref_value, sum(p.amount_minor)::bigint, p.currency,
                format('The ledger shows %s %s the trust bank account on %s (%s, end-to-end '
                       'reference %s), but no bank statement up to %s shows it.',
                       recon.money_text(abs(sum(p.amount_minor))::bigint, p.currency),
                       case when sum(p.amount_minor) > 0 then 'into' else 'out of' end,
                       e.effective_date, e.description, coalesce(ref.ref_value, 'none'),
                       $3::date + $4::int), $6::uuid
         from journal_entries e
         join journal_postings p on p.entry_id = e.id and p.account_id = any($5)
         left join journal_entry_refs ref on ref.entry_id = e.id and ref.ref_kind = 'bank_end_to_end'
         where e.effective_date between $1 and $2 and e.reverses_entry_id is null
           and not exists (select 1 from journal_entries rev where rev.reverses_entry_id = e.id)
           and not exists (select 1 from journal_entry_refs rb
                           where rb.entry_id = e.id and rb.ref_kind = 'recon_break')
           and not exists (select 1 from recon.bank_lines bl where bl.entry_id = e.id)
         group by e.id, e.effective_date, e.description, ref.ref_value, p.currency
         on conflict (break_key) do nothing",
        &[
            &lower,
            &upper,
            &upper,
            &i32::try_from(options.grace_days).map_err(|_| ReconError::Overflow)?,
            &bank_accounts,
            &import_id,
        ],
    )
    .await?;
    Ok(())
}

/// The processor debited the funding account with the day's card activity: the ledger records
/// that fact (out of the settlement payable account). Breaks explain any difference between this
/// and what the ledger booked per transaction. Fees are not netted in: [`book_program_fees`].
async fn book_settlement_day(
    tx: &Transaction<'_>,
    processor_id: &str,
    date: Date,
    currency: Currency,
    card_net_minor: i64,
    import_id: Uuid,
) -> ReconResult<Option<Uuid>> {
    if card_net_minor == 0 {
        return Ok(None);
    }
    let funding = super::institution_account(
        tx,
        institution_purpose::PROCESSOR_FUNDING,
        AccountType::Asset,
        currency,
    )
    .await?;
    let payable = super::institution_account(
        tx,
        institution_purpose::CARD_SETTLEMENT_PAYABLE,
        AccountType::Liability,
        currency,
    )
    .await?;
    // One posting pair per part within the currency's bound: a day of a big service's card
    // activity can add up to more than one posting may carry.
    let parts = parts_within_bound(card_net_minor, currency.max_amount_minor());
    if parts.len() * 2 > ledger::store::MAX_POSTINGS_PER_ENTRY {
        return Err(ReconError::Invalid(format!(
            "the day's card net, {card_net_minor} minor units of {currency}, is beyond what one \
             settlement entry can book ({} postings of at most {} each)",
            ledger::store::MAX_POSTINGS_PER_ENTRY / 2,
            currency.max_amount_minor()
        )));
    }
    let mut postings = Vec::with_capacity(parts.len() * 2);
    for part in parts {
        let part = ledger::Money::new(part, currency);
        postings.push(PostingDraft::debit(payable, part));
        postings.push(PostingDraft::credit(funding, part)?);
    }
    let reference =
        card_adapter::processors::qualified(processor_id, &format!("{date}:{currency}"));
    let entry = ledger::store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: format!("recon:settlement:{reference}"),
            effective_date: date,
            description: format!("processor settlement {date} ({processor_id}): card activity"),
            metadata: serde_json::json!({
                "import_id": import_id,
                "card_net_minor": card_net_minor,
            }),
            external_refs: vec![ExternalRef {
                kind: ref_kind::PROCESSOR_SETTLEMENT.into(),
                value: reference,
                unique: true,
            }],
            postings,
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    Ok(Some(entry.id))
}

/// `total` as parts of the same sign, each at most `max` in size, adding up to it.
fn parts_within_bound(total: i64, max: i64) -> Vec<i64> {
    debug_assert!(max > 0, "a currency's bound is positive");
    let sign = total.signum();
    let mut left = total.unsigned_abs();
    let max = max.unsigned_abs().max(1);
    let mut parts = Vec::new();
    while left > 0 {
        let part = left.min(max);
        // `part` ≤ `max`, which came from an i64.
        parts.push(i64::try_from(part).unwrap_or(i64::MAX) * sign);
        left -= part;
    }
    parts
}

/// Each FEE row in the file's currency is a fee posting of its own on the processor fee account
/// (`ledger::fees`, kind `processor_program`, program-wide), never netted into the day's entry.
async fn book_program_fees(
    tx: &Transaction<'_>,
    processor_id: &str,
    date: Date,
    currency: Currency,
    import_id: Uuid,
) -> ReconResult<()> {
    let fee_rows = tx
        .query(
            "select record_id, amount_minor from recon_stage_settlement
             where row_type = 'FEE' and currency = $1 order by line_no",
            &[&currency.code()],
        )
        .await?;
    for row in &fee_rows {
        let record_id: &str = row.get("record_id");
        ledger::fees::book_program_fee(
            tx,
            &card_adapter::processors::qualified(processor_id, &format!("{date}:{record_id}")),
            ledger::Money::new(row.get("amount_minor"), currency),
            date,
            serde_json::json!({
                "import_id": import_id,
                "record_id": record_id,
                "processor_id": processor_id,
            }),
        )
        .await?;
    }
    Ok(())
}

/// Classifies each staged statement line against the ledger's trust bank account, files
/// breaks, and looks for ledger movements no statement shows.
pub async fn reconcile_bank(
    tx: &Transaction<'_>,
    import_id: Uuid,
    prison_id: Uuid,
    summary: &Camt053Summary,
    options: &ImportOptions,
) -> ReconResult<ImportSummary> {
    let bank_accounts = institution_ids(tx, institution_purpose::BANK_TRUST).await?;
    let closing_date = summary
        .statements
        .iter()
        .map(|s| s.closing_date)
        .max()
        .ok_or_else(|| ReconError::Invalid("no statement".into()))?;
    let currency = summary
        .statements
        .first()
        .map(|s| s.currency)
        .ok_or_else(|| ReconError::Invalid("no statement".into()))?;
    let net_minor = summary.statements.iter().try_fold(0_i64, |sum, s| {
        s.closing_minor
            .checked_sub(s.opening_minor)
            .and_then(|delta| sum.checked_add(delta))
            .ok_or(ReconError::Overflow)
    })?;
    tx.execute(
        "insert into recon.imports (id, kind, file_sha256, file_name, business_date, currency,
             row_count, net_minor, imported_by, prison_id)
         values ($1, 'bank_statement', $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &import_id,
            &summary.sha256_hex,
            &options.file_name,
            &closing_date,
            &currency.code(),
            &row_count(summary.line_count)?,
            &net_minor,
            &options.imported_by,
            &prison_id,
        ],
    )
    .await?;
    for statement in &summary.statements {
        tx.execute(
            "insert into recon.bank_statements (import_id, stmt_no, statement_id, account_iban,
                 currency, opening_minor, closing_minor, closing_date)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &import_id,
                &statement.stmt_no,
                &statement.statement_id,
                &statement.account_iban,
                &statement.currency.code(),
                &statement.opening_minor,
                &statement.closing_minor,
                &statement.closing_date,
            ],
        )
        .await?;
    }
    tx.execute("analyze recon_stage_bank", &[]).await?;
    classify_bank_lines(tx, import_id, &bank_accounts).await?;
    tx.execute(
        "insert into recon.breaks (id, break_key, source, class, business_date, import_id, line_no,
             entry_id, reference, amount_minor, ledger_amount_minor, currency, explanation)
         select gen_random_uuid(), 'bank:' || import_id || ':' || line_no, 'bank', outcome,
                booking_date, import_id, line_no, entry_id,
                coalesce(end_to_end_id, account_servicer_ref), amount_minor, ledger_amount_minor,
                currency,
                case
                when outcome = 'missing_in_ledger' and end_to_end_id is null then format(
                    'The bank booked %s %s the trust account on %s (%s) without an end-to-end '
                    'reference, and no ledger entry can be matched to it.',
                    recon.money_text(abs(amount_minor), currency),
                    case when amount_minor > 0 then 'into' else 'out of' end, booking_date,
                    coalesce(remittance, account_servicer_ref, 'no details'))
                when outcome = 'missing_in_ledger' then format(
                    'The bank booked %s %s the trust account on %s (end-to-end reference %s%s), '
                    'but the ledger has no entry with that reference.',
                    recon.money_text(abs(amount_minor), currency),
                    case when amount_minor > 0 then 'into' else 'out of' end, booking_date,
                    end_to_end_id, coalesce(', ' || remittance, ''))
                when outcome = 'duplicate' then format(
                    'The bank booked end-to-end reference %s (%s) more than once (again on %s): '
                    'the transfer may have been made twice.',
                    end_to_end_id, recon.money_text(amount_minor, currency), booking_date)
                when outcome = 'currency_mismatch' then format(
                    'The bank booked %s for end-to-end reference %s, but the ledger booked %s: '
                    'the currencies differ.',
                    recon.money_text(amount_minor, currency), end_to_end_id,
                    recon.money_text(ledger_amount_minor, ledger_currency))
                else format(
                    'The bank booked %s for end-to-end reference %s on %s, but the ledger booked '
                    '%s: a difference of %s.',
                    recon.money_text(amount_minor, currency), end_to_end_id, booking_date,
                    recon.money_text(ledger_amount_minor, ledger_currency),
                    recon.money_text(amount_minor - ledger_amount_minor, currency))
                end
         from recon.bank_lines
         where import_id = $1 and outcome <> 'matched'
         on conflict (break_key) do nothing",
        &[&import_id],
    )
    .await?;
    file_missing_at_bank(tx, import_id, closing_date, options, &bank_accounts).await?;
    let matched_later = rematch(tx, &[], &bank_accounts).await?;
    let (breaks, matched_count, matched_minor) = import_counts(tx, import_id).await?;
    Ok(ImportSummary {
        import_id,
        kind: "bank_statement",
        business_date: closing_date,
        row_count: row_count(summary.line_count)?,
        matched_count,
        matched_minor,
        breaks,
        matched_later,
        settlement_entry_id: None,
    })
}

/// Timing differences that caught up: a break filed because one side was missing is closed as
/// `matched_later` once the other side shows up with the same amount and currency. Each closure
/// is recorded as an event on the break.
pub async fn rematch(
    tx: &Transaction<'_>,
    payables: &[Uuid],
    bank_accounts: &[Uuid],
) -> ReconResult<i64> {
    let payables = if payables.is_empty() {
        institution_ids(tx, institution_purpose::CARD_SETTLEMENT_PAYABLE).await?
    } else {
        payables.to_vec()
    };
    let bank_accounts = if bank_accounts.is_empty() {
        institution_ids(tx, institution_purpose::BANK_TRUST).await?
    } else {
        bank_accounts.to_vec()
    };
    // Settlement rows the ledger lacked, now booked with the same amount.
    tx.execute(
        "create temp table if not exists recon_caught_up (break_id uuid, note text) on commit drop",
        &[],
    )
    .await?;
    tx.execute("truncate recon_caught_up", &[]).await?;
    tx.execute(
        "with found as (
             select sr.import_id, sr.line_no, l.entry_id, l.amount_minor, l.currency
             from recon.breaks b
             join recon.settlement_rows sr on sr.import_id = b.import_id and sr.line_no = b.line_no
             join lateral (
                 select r.entry_id, -p.amount_minor as amount_minor, p.currency::text as currency
                 from journal_entry_refs r join journal_postings p on p.entry_id = r.entry_id
                 where r.ref_kind = 'processor_transaction' and r.ref_value = sr.transaction_id
                   and p.account_id = any($1)
                 limit 1) l on true
             where b.state in ('open', 'assigned') and b.class = 'missing_in_ledger'
               and b.source = 'settlement' and sr.row_type in ('CLEARING', 'REFUND')
               and l.amount_minor = sr.amount_minor and l.currency = sr.currency),
         updated as (
             update recon.settlement_rows sr set outcome = 'matched', entry_id = found.entry_id,
                    ledger_amount_minor = found.amount_minor, ledger_currency = found.currency
             from found where sr.import_id = found.import_id and sr.line_no = found.line_no
             returning sr.import_id, sr.line_no, found.entry_id)
         insert into recon_caught_up
         select b.id, 'the ledger booked it later (entry ' || u.entry_id || ')'
         from recon.breaks b join updated u on u.import_id = b.import_id and u.line_no = b.line_no
         where b.class = 'missing_in_ledger' and b.state in ('open', 'assigned')",
        &[&payables],
    )
    .await?;
    // Ledger clearings a later file settled.
    tx.execute(
        "insert into recon_caught_up
         select b.id, 'settled in the ' || min(sr.settlement_date) || ' file'
         from recon.breaks b
         join recon.settlement_rows sr on sr.transaction_id = b.reference
                                      and sr.row_type in ('CLEARING', 'REFUND')
         where b.class = 'missing_at_processor' and b.state in ('open', 'assigned')
         group by b.id",
        &[],
    )
    .await?;
    // Bank lines the ledger lacked, now booked with the same reference and amount.
    tx.execute(
        "with found as (
             select bl.import_id, bl.line_no, l.entry_id, l.amount_minor, l.currency
             from recon.breaks b
             join recon.bank_lines bl on bl.import_id = b.import_id and bl.line_no = b.line_no
             join lateral (
                 select r.entry_id, sum(p.amount_minor)::bigint as amount_minor,
                        p.currency::text as currency
                 from journal_entry_refs r
                 join journal_postings p on p.entry_id = r.entry_id and p.account_id = any($1)
                 where r.ref_kind = 'bank_end_to_end' and r.ref_value = bl.end_to_end_id
                 group by r.entry_id, p.currency limit 1) l on true
             where b.state in ('open', 'assigned') and b.class = 'missing_in_ledger'
               and b.source = 'bank' and bl.entry_id is null
               and l.amount_minor = bl.amount_minor and l.currency = bl.currency
               and not exists (select 1 from recon.bank_lines other where other.entry_id = l.entry_id)),
         updated as (
             update recon.bank_lines bl set outcome = 'matched', entry_id = found.entry_id,
                    ledger_amount_minor = found.amount_minor, ledger_currency = found.currency
             from found where bl.import_id = found.import_id and bl.line_no = found.line_no
             returning bl.import_id, bl.line_no, found.entry_id)
         insert into recon_caught_up
         select b.id, 'the ledger booked it later (entry ' || u.entry_id || ')'
         from recon.breaks b join updated u on u.import_id = b.import_id and u.line_no = b.line_no
         where b.class = 'missing_in_ledger' and b.state in ('open', 'assigned')",
        &[&bank_accounts],
    )
    .await?;
    // Ledger movements a later statement showed.
    tx.execute(
        "insert into recon_caught_up
         select b.id, 'shown on the bank statement of ' || min(bl.booking_date)
         from recon.breaks b join recon.bank_lines bl on bl.entry_id = b.entry_id
         where b.class = 'missing_at_bank' and b.state in ('open', 'assigned')
         group by b.id",
        &[],
    )
    .await?;
    let closed = tx
        .execute(
            "with closed as (
                 update recon.breaks b set state = 'resolved', resolution = 'matched_later',
                        closed_at = clock_timestamp()
                 from recon_caught_up c where b.id = c.break_id and b.state in ('open', 'assigned')
                 returning b.id, c.note)
             insert into recon.break_events (break_id, kind, actor, body)
             select id, 'matched_later', 'reconciliation',
                    'A timing difference, not a break: ' || note from closed",
            &[],
        )
        .await?;
    // Money the bank rail gave back (docs/payouts.md): its break closes once a statement shows
    // the return's debit (the payout's end-to-end id, matched); a return of the return does not.
    let returned = tx
        .execute(
            "with done as (
                 select b.id, p.end_to_end_id, min(bl.booking_date) as booking_date
                 from recon.breaks b
                 join controls.bank_payouts p
                   on p.kind = 'deposit_return' and p.returns_end_to_end = b.reference
                 join recon.bank_lines bl
                   on bl.end_to_end_id = p.end_to_end_id and bl.amount_minor < 0
                  and bl.outcome = 'matched'
                 where b.class = 'returned_to_sender' and b.state in ('open', 'assigned')
                 group by b.id, p.end_to_end_id),
             closed as (
                 update recon.breaks b set state = 'resolved', resolution = 'matched_later',
                        closed_at = clock_timestamp()
                 from done where b.id = done.id
                 returning b.id, done.end_to_end_id, done.booking_date)
             insert into recon.break_events (break_id, kind, actor, body)
             select id, 'matched_later', 'reconciliation',
                    'Returned to the sender: the bank debited payout ' || end_to_end_id
                    || ' on ' || booking_date
             from closed",
            &[],
        )
        .await?;
    closed
        .checked_add(returned)
        .and_then(|sum| i64::try_from(sum).ok())
        .ok_or(ReconError::Overflow)
}

async fn import_counts(
    tx: &Transaction<'_>,
    import_id: Uuid,
) -> ReconResult<(BTreeMap<String, i64>, i64, i64)> {
    let mut breaks = BTreeMap::new();
    for row in tx
        .query(
            "select class, count(*) as breaks from recon.breaks where import_id = $1 group by class",
            &[&import_id],
        )
        .await?
    {
        let count: i64 = row.get("breaks");
        let entry = breaks.entry(row.get::<_, String>("class")).or_insert(0_i64);
        *entry = entry.checked_add(count).ok_or(ReconError::Overflow)?;
    }
    let matched = tx
        .query_one(
            "select count(*) as matched, coalesce(sum(abs(amount_minor)), 0)::bigint as matched_minor from (
                 select amount_minor from recon.settlement_rows
                 where import_id = $1 and outcome = 'matched'
                 union all
                 select amount_minor from recon.bank_lines
                 where import_id = $1 and outcome = 'matched') m",
            &[&import_id],
        )
        .await?;
    Ok((breaks, matched.get("matched"), matched.get("matched_minor")))
}

#[cfg(test)]
mod tests {
    use super::parts_within_bound;

    #[test]
    fn a_total_beyond_the_bound_is_split_into_parts_within_it_that_add_up() {
        assert_eq!(parts_within_bound(250, 100), vec![100, 100, 50]);
        assert_eq!(parts_within_bound(-250, 100), vec![-100, -100, -50]);
        assert_eq!(parts_within_bound(100, 100), vec![100]);
        assert_eq!(parts_within_bound(7, 100), vec![7]);
        assert!(parts_within_bound(0, 100).is_empty());
        assert_eq!(
            parts_within_bound(i64::MIN, i64::MAX)
                .iter()
                .map(|p| i128::from(*p))
                .sum::<i128>(),
            i128::from(i64::MIN)
        );
    }
}
