//! Many entries in a handful of statements (payroll: thousands of wage lines at once).
//!
//! Same rules as [`crate::store::post_entry`] (balanced, currencies, open accounts, no overdraft
//! on `non_negative` accounts unless allowed, unique external references), but each step is one
//! statement over arrays (`unnest`) instead of a round trip per entry. The caller's transaction
//! makes the batch all-or-nothing; idempotency is the caller's (one key for the whole batch).

use std::collections::{BTreeMap, HashMap, HashSet};

use deadpool_postgres::Transaction;
use time::{Date, OffsetDateTime};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::error::{LedgerError, LedgerResult};
use crate::model::{AccountType, BalanceRule, ExternalRef, Overdraft, PostingDraft};
use crate::money::{Currency, MoneyError};
use crate::store::{
    MAX_DESCRIPTION_LENGTH, MAX_EXTERNAL_REFS_PER_ENTRY, MAX_METADATA_BYTES, balanced_per_currency,
    validate_postings,
};

/// Most entries one call writes (a limit on everything).
pub const MAX_BATCH_ENTRIES: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    pub effective_date: Date,
    pub description: String,
    pub metadata: serde_json::Value,
    pub external_refs: Vec<ExternalRef>,
    pub postings: Vec<PostingDraft>,
    pub overdraft: Overdraft,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchPosted {
    pub entry_id: Uuid,
    pub seq: i64,
    pub overdraft_flagged: bool,
}

fn validate_entry(entry: &BatchEntry) -> LedgerResult<()> {
    validate_postings(&entry.postings)?;
    if entry.description.trim().is_empty()
        || entry.description.chars().count() > MAX_DESCRIPTION_LENGTH
    {
        return Err(LedgerError::invalid(
            "description_invalid",
            format!("a description of 1 to {MAX_DESCRIPTION_LENGTH} characters is required"),
        ));
    }
    if !entry.metadata.is_object() || entry.metadata.to_string().len() > MAX_METADATA_BYTES {
        return Err(LedgerError::invalid(
            "metadata_invalid",
            format!("metadata must be a JSON object of at most {MAX_METADATA_BYTES} bytes"),
        ));
    }
    if entry.external_refs.len() > MAX_EXTERNAL_REFS_PER_ENTRY {
        return Err(LedgerError::invalid(
            "too_many_external_refs",
            "too many external references",
        ));
    }
    for reference in &entry.external_refs {
        let kind_ok = !reference.kind.is_empty()
            && reference.kind.len() <= 63
            && reference.kind.starts_with(|c: char| c.is_ascii_lowercase())
            && reference
                .kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !kind_ok || reference.value.is_empty() || reference.value.chars().count() > 200 {
            return Err(LedgerError::invalid(
                "external_ref_invalid",
                "an external reference needs a snake_case kind and a value of 1 to 200 characters",
            ));
        }
    }
    Ok(())
}

struct AccountRow {
    account_type: AccountType,
    currency: Currency,
    balance_rule: BalanceRule,
    is_hot: bool,
}

/// Unique references: none may repeat within the batch or exist already.
async fn check_unique_refs(tx: &Transaction<'_>, entries: &[BatchEntry]) -> LedgerResult<()> {
    let mut unique_kinds = Vec::new();
    let mut unique_values = Vec::new();
    let mut seen = HashSet::new();
    for reference in entries
        .iter()
        .flat_map(|e| &e.external_refs)
        .filter(|r| r.unique)
    {
        if !seen.insert((reference.kind.as_str(), reference.value.as_str())) {
            return Err(LedgerError::DuplicateExternalRef {
                kind: reference.kind.clone(),
                value: reference.value.clone(),
            });
        }
        unique_kinds.push(reference.kind.clone());
        unique_values.push(reference.value.clone());
    }
    if !unique_kinds.is_empty() {
        let taken = tx
            .prepare_cached(
                "select r.ref_kind, r.ref_value from journal_entry_refs r
                 join unnest($1::text[], $2::text[]) as u(kind, value)
                   on r.ref_kind = u.kind and r.ref_value = u.value
                 where r.is_unique limit 1",
            )
            .await?;
        if let Some(row) = tx
            .query_opt(&taken, &[&unique_kinds, &unique_values])
            .await?
        {
            return Err(LedgerError::DuplicateExternalRef {
                kind: row.get("ref_kind"),
                value: row.get("ref_value"),
            });
        }
    }
    Ok(())
}

/// The batch's accounts, once each (sorted ids, and their rows); an unknown or closed account
/// is an error.
async fn load_accounts(
    tx: &Transaction<'_>,
    entries: &[BatchEntry],
) -> LedgerResult<(Vec<Uuid>, HashMap<Uuid, AccountRow>)> {
    let mut account_ids: Vec<Uuid> = entries
        .iter()
        .flat_map(|e| e.postings.iter().map(|p| p.account_id))
        .collect();
    account_ids.sort();
    account_ids.dedup();
    let load = tx
        .prepare_cached(
            "select id, account_type, currency, balance_rule, is_hot, closed_at is not null as closed
             from ledger_accounts where id = any($1)",
        )
        .await?;
    let mut accounts: HashMap<Uuid, AccountRow> = HashMap::with_capacity(account_ids.len());
    for row in tx.query(&load, &[&account_ids]).await? {
        let id: Uuid = row.get("id");
        if row.get::<_, bool>("closed") {
            return Err(LedgerError::AccountClosed(id));
        }
        accounts.insert(
            id,
            AccountRow {
                account_type: AccountType::parse(row.get("account_type"))?,
                currency: Currency::from_code(row.get("currency"))?,
                balance_rule: BalanceRule::parse(row.get("balance_rule"))?,
                is_hot: row.get("is_hot"),
            },
        );
    }
    if let Some(missing) = account_ids.iter().find(|id| !accounts.contains_key(id)) {
        return Err(LedgerError::UnknownAccount(*missing));
    }
    Ok((account_ids, accounts))
}

/// Applies the entries in order to the locked `balances`, checking each against the balances
/// left by the ones before; returns whether each overdraws on purpose.
fn apply_entries(
    entries: &[BatchEntry],
    accounts: &HashMap<Uuid, AccountRow>,
    balances: &mut BTreeMap<Uuid, (i64, i64)>,
) -> LedgerResult<Vec<bool>> {
    let mut flagged = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut delta: BTreeMap<Uuid, i64> = BTreeMap::new();
        for posting in &entry.postings {
            let account = &accounts[&posting.account_id];
            if account.currency != posting.amount.currency {
                return Err(LedgerError::AccountCurrencyMismatch {
                    account_id: posting.account_id,
                    account_currency: account.currency.to_string(),
                    amount_currency: posting.amount.currency.to_string(),
                });
            }
            if account.is_hot {
                continue;
            }
            let normal = posting
                .amount
                .amount_minor
                .checked_mul(account.account_type.normal_sign())
                .ok_or(MoneyError::Overflow)?;
            let sum = delta.entry(posting.account_id).or_insert(0);
            *sum = sum.checked_add(normal).ok_or(MoneyError::Overflow)?;
        }
        let mut overdraft_flagged = false;
        for (account_id, change) in delta {
            let Some((posted, held)) = balances.get_mut(&account_id) else {
                return Err(LedgerError::invalid(
                    "balance_row_missing",
                    format!("account {account_id} has no balance row"),
                ));
            };
            let old_available = posted.checked_sub(*held).ok_or(MoneyError::Overflow)?;
            let new_posted = posted.checked_add(change).ok_or(MoneyError::Overflow)?;
            let new_available = new_posted.checked_sub(*held).ok_or(MoneyError::Overflow)?;
            if accounts[&account_id].balance_rule == BalanceRule::NonNegative
                && new_available < 0
                && new_available < old_available
            {
                match entry.overdraft {
                    Overdraft::Refuse => {
                        return Err(LedgerError::InsufficientFunds {
                            account_id,
                            available_minor: old_available,
                            requested_minor: old_available.saturating_sub(new_available),
                        });
                    }
                    Overdraft::AllowAndFlag => overdraft_flagged = true,
                }
            }
            *posted = new_posted;
        }
        flagged.push(overdraft_flagged);
    }
    Ok(flagged)
}

/// Posts `entries` in order. Fails as a whole on the first problem (the caller's transaction is
/// then to be dropped).
pub async fn post_entries(
    tx: &Transaction<'_>,
    entries: &[BatchEntry],
) -> LedgerResult<Vec<BatchPosted>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(LedgerError::invalid(
            "batch_too_large",
            format!("at most {MAX_BATCH_ENTRIES} entries per batch"),
        ));
    }
    entries.iter().try_for_each(validate_entry)?;
    debug_assert!(
        entries
            .iter()
            .all(|entry| balanced_per_currency(&entry.postings)),
        "every entry of a batch balances per currency"
    );

    check_unique_refs(tx, entries).await?;

    let (account_ids, accounts) = load_accounts(tx, entries).await?;

    // Balance rows of the non-hot accounts, locked in ascending id order (as store.rs does).
    let non_hot: Vec<Uuid> = account_ids
        .iter()
        .copied()
        .filter(|id| !accounts[id].is_hot)
        .collect();
    let lock = tx
        .prepare_cached(
            "select account_id, posted_minor, held_minor from account_balances
             where account_id = any($1) order by account_id for update",
        )
        .await?;
    let mut balances: BTreeMap<Uuid, (i64, i64)> = tx
        .query(&lock, &[&non_hot])
        .await?
        .into_iter()
        .map(|row| {
            (
                row.get("account_id"),
                (row.get("posted_minor"), row.get("held_minor")),
            )
        })
        .collect();

    let flagged = apply_entries(entries, &accounts, &mut balances)?;

    // One recording time for the whole batch: it is one business event.
    let now = tx
        .prepare_cached("select clock_timestamp() as recorded_at")
        .await?;
    let recorded_at: OffsetDateTime = tx.query_one(&now, &[]).await?.get("recorded_at");

    // Every parameter is built before anything is sent: the four writes then go out pipelined
    // (no round trip between them) and run one after the other in this transaction. Should one
    // fail, the ones after it fail too (the transaction is aborted) and the first error is the
    // one returned; the caller drops the transaction either way.
    let ids: Vec<Uuid> = entries.iter().map(|_| Uuid::now_v7()).collect();
    let dates: Vec<Date> = entries.iter().map(|e| e.effective_date).collect();
    let descriptions: Vec<&str> = entries.iter().map(|e| e.description.as_str()).collect();
    let metadata: Vec<&serde_json::Value> = entries.iter().map(|e| &e.metadata).collect();
    let posting_count: usize = entries.iter().map(|e| e.postings.len()).sum();
    let ref_count: usize = entries.iter().map(|e| e.external_refs.len()).sum();
    let mut posting_entries = Vec::with_capacity(posting_count);
    let mut posting_accounts = Vec::with_capacity(posting_count);
    let mut posting_currencies = Vec::with_capacity(posting_count);
    let mut posting_amounts = Vec::with_capacity(posting_count);
    let mut ref_entries = Vec::with_capacity(ref_count);
    let mut ref_kinds = Vec::with_capacity(ref_count);
    let mut ref_values = Vec::with_capacity(ref_count);
    let mut ref_unique = Vec::with_capacity(ref_count);
    for (entry, id) in entries.iter().zip(&ids) {
        for posting in &entry.postings {
            posting_entries.push(*id);
            posting_accounts.push(posting.account_id);
            posting_currencies.push(posting.amount.currency.code());
            posting_amounts.push(posting.amount.amount_minor);
        }
        for reference in &entry.external_refs {
            ref_entries.push(*id);
            ref_kinds.push(reference.kind.as_str());
            ref_values.push(reference.value.as_str());
            ref_unique.push(reference.unique);
        }
    }
    let balance_ids: Vec<Uuid> = balances.keys().copied().collect();
    let balance_posted: Vec<i64> = balances.values().map(|b| b.0).collect();

    let insert_entries = tx
        .prepare_cached(
            "insert into journal_entries
                (id, effective_date, description, metadata, overdraft_flagged, recorded_at)
             select id, effective_date, description, metadata, flagged, $6
             from unnest($1::uuid[], $2::date[], $3::text[], $4::jsonb[], $5::bool[])
                  with ordinality as e(id, effective_date, description, metadata, flagged, line)
             order by line
             returning id, seq",
        )
        .await?;
    let insert_postings = tx
        .prepare_cached(
            "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
             select entry_id, account_id, currency, amount_minor, $5
             from unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[]) with ordinality
                  as p(entry_id, account_id, currency, amount_minor, line)
             order by line",
        )
        .await?;
    let insert_refs = tx
        .prepare_cached(
            "insert into journal_entry_refs (entry_id, ref_kind, ref_value, is_unique)
             select * from unnest($1::uuid[], $2::text[], $3::text[], $4::bool[])",
        )
        .await?;
    let update_balances = tx
        .prepare_cached(
            "update account_balances b set posted_minor = n.posted
             from unnest($1::uuid[], $2::bigint[]) as n(account_id, posted)
             where b.account_id = n.account_id",
        )
        .await?;
    let entry_params: [&(dyn ToSql + Sync); 6] = [
        &ids,
        &dates,
        &descriptions,
        &metadata,
        &flagged,
        &recorded_at,
    ];
    let entry_rows = tx.query(&insert_entries, &entry_params);
    let posting_params: [&(dyn ToSql + Sync); 5] = [
        &posting_entries,
        &posting_accounts,
        &posting_currencies,
        &posting_amounts,
        &recorded_at,
    ];
    let postings = tx.execute(&insert_postings, &posting_params);
    let references = async {
        if ref_entries.is_empty() {
            return Ok(0);
        }
        tx.execute(
            &insert_refs,
            &[&ref_entries, &ref_kinds, &ref_values, &ref_unique],
        )
        .await
    };
    let balance_update = async {
        if balance_ids.is_empty() {
            return Ok(0);
        }
        tx.execute(&update_balances, &[&balance_ids, &balance_posted])
            .await
    };
    // `biased`: polled in this order, so sent in this order (a statement goes out on its first
    // poll), and of two failures the earlier statement's is the one returned.
    let (entry_rows, _, _, _) = tokio::try_join!(
        biased;
        entry_rows,
        postings,
        references,
        balance_update
    )?;
    let seqs: HashMap<Uuid, i64> = entry_rows
        .into_iter()
        .map(|row| (row.get("id"), row.get("seq")))
        .collect();

    Ok(ids
        .iter()
        .zip(flagged)
        .map(|(id, overdraft_flagged)| BatchPosted {
            entry_id: *id,
            seq: seqs[id],
            overdraft_flagged,
        })
        .collect())
}
