//! The ledger's commands and queries against PostgreSQL.
//!
//! Every command takes an open transaction, so callers can compose it with their own writes
//! (the card adapter's inbox, say) and commit once. [`crate::Ledger`] wraps each in its own
//! transaction for everyone else.
//!
//! Locking: only non-hot accounts (a prisoner's own) have a balance row, locked `FOR UPDATE` in
//! ascending id order; hot institutional accounts are only appended to, so prisoners never queue
//! behind each other.

use std::collections::{BTreeMap, HashMap};

use deadpool_postgres::{GenericClient, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::{LedgerError, LedgerResult};
use crate::idempotency::{self, Begun};
use crate::model::*;
use crate::money::{Currency, Money};

/// A limit on everything: no entry may have more lines than this.
pub const MAX_POSTINGS_PER_ENTRY: usize = 64;
pub const MAX_EXTERNAL_REFS_PER_ENTRY: usize = 8;
pub const MAX_DESCRIPTION_LENGTH: usize = 500;
pub const MAX_STATEMENT_PAGE: i64 = 500;
/// Metadata is for references and context, not documents.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone)]
struct AccountRow {
    account_type: AccountType,
    currency: Currency,
    balance_rule: BalanceRule,
    is_hot: bool,
    closed: bool,
}

/// The columns `account_type, currency, balance_rule, is_hot` and `closed` (`closed_at is not
/// null as closed`) of a row.
fn account_row_from(row: &tokio_postgres::Row) -> LedgerResult<AccountRow> {
    Ok(AccountRow {
        account_type: AccountType::parse(row.get("account_type"))?,
        currency: Currency::from_code(row.get("currency"))?,
        balance_rule: BalanceRule::parse(row.get("balance_rule"))?,
        is_hot: row.get("is_hot"),
        closed: row.get("closed"),
    })
}

async fn load_account_rows(
    tx: &Transaction<'_>,
    ids: &[Uuid],
) -> LedgerResult<HashMap<Uuid, AccountRow>> {
    let statement = tx
        .prepare_cached(
            "select id, account_type, currency, balance_rule, is_hot, closed_at is not null as closed
             from ledger_accounts where id = any($1)",
        )
        .await?;
    let rows = tx.query(&statement, &[&ids]).await?;
    let mut accounts = HashMap::with_capacity(rows.len());
    for row in rows {
        accounts.insert(row.get::<_, Uuid>("id"), account_row_from(&row)?);
    }
    all_open(&accounts, ids)?;
    Ok(accounts)
}

/// Every one of `ids` is among `accounts` and open: else `unknown_account` or `account_closed`.
fn all_open(accounts: &HashMap<Uuid, AccountRow>, ids: &[Uuid]) -> LedgerResult<()> {
    for id in ids {
        match accounts.get(id) {
            None => return Err(LedgerError::UnknownAccount(*id)),
            Some(account) if account.closed => return Err(LedgerError::AccountClosed(*id)),
            Some(_) => {}
        }
    }
    Ok(())
}

fn validate_text(description: &str) -> LedgerResult<()> {
    if description.trim().is_empty() || description.chars().count() > MAX_DESCRIPTION_LENGTH {
        return Err(LedgerError::invalid(
            "description_invalid",
            format!("a description of 1 to {MAX_DESCRIPTION_LENGTH} characters is required"),
        ));
    }
    Ok(())
}

fn validate_metadata(metadata: &serde_json::Value) -> LedgerResult<()> {
    if !metadata.is_object() {
        return Err(LedgerError::invalid(
            "metadata_invalid",
            "metadata must be a JSON object",
        ));
    }
    if metadata.to_string().len() > MAX_METADATA_BYTES {
        return Err(LedgerError::invalid(
            "metadata_invalid",
            format!("metadata must be at most {MAX_METADATA_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn validate_refs(refs: &[ExternalRef]) -> LedgerResult<()> {
    if refs.len() > MAX_EXTERNAL_REFS_PER_ENTRY {
        return Err(LedgerError::invalid(
            "too_many_external_refs",
            "too many external references",
        ));
    }
    for reference in refs {
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

/// Checks what can be checked without the database: at least two non-zero lines, balanced per
/// currency, no overflow.
pub fn validate_postings(postings: &[PostingDraft]) -> LedgerResult<()> {
    if postings.len() < 2 {
        return Err(LedgerError::invalid(
            "too_few_postings",
            "an entry needs at least two postings",
        ));
    }
    if postings.len() > MAX_POSTINGS_PER_ENTRY {
        return Err(LedgerError::invalid(
            "too_many_postings",
            format!("an entry has at most {MAX_POSTINGS_PER_ENTRY} postings"),
        ));
    }
    let mut sums: BTreeMap<Currency, i64> = BTreeMap::new();
    for posting in postings {
        if posting.amount.amount_minor == 0 {
            return Err(LedgerError::invalid(
                "zero_amount",
                "a posting amount cannot be zero",
            ));
        }
        // Every amount that enters the books passes here: a deposit, a wage, an adjustment, a
        // card clearing. One place for the bound, so nothing absurd is ever booked.
        posting.amount.within_bound()?;
        let sum = sums.entry(posting.amount.currency).or_insert(0);
        *sum = sum
            .checked_add(posting.amount.amount_minor)
            .ok_or(crate::money::MoneyError::Overflow)?;
    }
    if let Some((currency, _)) = sums.iter().find(|(_, sum)| **sum != 0) {
        return Err(LedgerError::invalid(
            "entry_unbalanced",
            format!("debits and credits in {currency} do not sum to zero"),
        ));
    }
    Ok(())
}

/// What a command writes: postings, plus changes to held amounts (for captures).
struct EntryWrite<'a> {
    effective_date: Date,
    description: &'a str,
    metadata: &'a serde_json::Value,
    external_refs: &'a [ExternalRef],
    postings: &'a [PostingDraft],
    overdraft: Overdraft,
    reverses_entry_id: Option<Uuid>,
    /// Amounts by which holds on these accounts shrink as part of this entry.
    held_decrease_minor: &'a [(Uuid, i64)],
}

/// Locks the balance rows of `account_ids` (non-hot accounts only), in ascending id order so that
/// concurrent commands never deadlock on each other. Returns (posted, held) per account.
async fn lock_balances(
    tx: &Transaction<'_>,
    account_ids: &[Uuid],
) -> LedgerResult<BTreeMap<Uuid, (i64, i64)>> {
    let mut sorted: Vec<Uuid> = account_ids.to_vec();
    sorted.sort();
    sorted.dedup();
    let statement = tx
        .prepare_cached(
            "select account_id, posted_minor, held_minor from account_balances
             where account_id = any($1) order by account_id for update",
        )
        .await?;
    let rows = tx.query(&statement, &[&sorted]).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.get("account_id"),
                (row.get("posted_minor"), row.get("held_minor")),
            )
        })
        .collect())
}

/// A balance row after an entry: (account, posted, held).
type NewBalance = (Uuid, i64, i64);

/// Per non-hot account, the change of its balance in its normal direction; an error if a
/// posting's currency is not its account's.
fn posted_deltas(
    postings: &[PostingDraft],
    accounts: &HashMap<Uuid, AccountRow>,
) -> LedgerResult<BTreeMap<Uuid, i64>> {
    let mut posted_delta: BTreeMap<Uuid, i64> = BTreeMap::new();
    for posting in postings {
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
            .ok_or(crate::money::MoneyError::Overflow)?;
        let delta = posted_delta.entry(posting.account_id).or_insert(0);
        *delta = delta
            .checked_add(normal)
            .ok_or(crate::money::MoneyError::Overflow)?;
    }
    Ok(posted_delta)
}

/// The locked balance rows after the entry: (account, posted, held) for each, and whether the
/// entry overdraws a `non_negative` account on purpose. An overdraft is refused unless
/// `overdraft` allows it.
fn new_balances(
    accounts: &HashMap<Uuid, AccountRow>,
    balances: &BTreeMap<Uuid, (i64, i64)>,
    posted_delta: &BTreeMap<Uuid, i64>,
    held_decrease: &BTreeMap<Uuid, i64>,
    overdraft: Overdraft,
) -> LedgerResult<(Vec<NewBalance>, bool)> {
    let mut overdraft_flagged = false;
    let mut new_balances: Vec<NewBalance> = Vec::with_capacity(balances.len());
    for (account_id, (posted, held)) in balances {
        let account = &accounts[account_id];
        let delta = posted_delta.get(account_id).copied().unwrap_or(0);
        let held_drop = held_decrease.get(account_id).copied().unwrap_or(0);
        let new_posted = posted
            .checked_add(delta)
            .ok_or(crate::money::MoneyError::Overflow)?;
        let new_held = held
            .checked_sub(held_drop)
            .ok_or(crate::money::MoneyError::Overflow)?;
        assert!(
            new_held >= 0,
            "held amount of {account_id} would go negative"
        );
        let old_available = posted - held;
        let new_available = new_posted
            .checked_sub(new_held)
            .ok_or(crate::money::MoneyError::Overflow)?;
        // Only a change that lowers the available balance below zero is an overdraft: a deposit
        // into an overdrawn account is always welcome.
        if account.balance_rule == BalanceRule::NonNegative
            && new_available < 0
            && new_available < old_available
        {
            match overdraft {
                Overdraft::Refuse => {
                    return Err(LedgerError::InsufficientFunds {
                        account_id: *account_id,
                        available_minor: old_available,
                        requested_minor: old_available.saturating_sub(new_available),
                    });
                }
                Overdraft::AllowAndFlag => overdraft_flagged = true,
            }
        }
        new_balances.push((*account_id, new_posted, new_held));
    }
    for account_id in posted_delta.keys() {
        // Every non-hot account gets its balance row when opened.
        assert!(
            balances.contains_key(account_id),
            "balance row missing for {account_id}"
        );
    }
    Ok((new_balances, overdraft_flagged))
}

/// Inserts an entry's postings in their order, all carrying the entry's recording time (read
/// from its row, written just before in the same round trip).
async fn insert_postings(
    tx: &Transaction<'_>,
    entry_id: Uuid,
    drafts: &[PostingDraft],
) -> LedgerResult<Vec<Posting>> {
    debug_assert!(
        (2..=MAX_POSTINGS_PER_ENTRY).contains(&drafts.len()),
        "an entry's postings were validated before they are written"
    );
    let account_ids: Vec<Uuid> = drafts.iter().map(|p| p.account_id).collect();
    let currencies: Vec<String> = drafts
        .iter()
        .map(|p| p.amount.currency.code().to_owned())
        .collect();
    let amounts: Vec<i64> = drafts.iter().map(|p| p.amount.amount_minor).collect();
    let insert_postings = tx
        .prepare_cached(
            "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
             select $1, account_id, currency, amount_minor,
                    (select recorded_at from journal_entries where id = $1)
             from unnest($2::uuid[], $3::text[], $4::bigint[]) with ordinality
                  as p(account_id, currency, amount_minor, line)
             order by line
             returning id",
        )
        .await?;
    let posting_rows = tx
        .query(
            &insert_postings,
            &[&entry_id, &account_ids, &currencies, &amounts],
        )
        .await?;
    let mut posting_ids: Vec<i64> = posting_rows.iter().map(|row| row.get("id")).collect();
    posting_ids.sort();
    debug_assert_eq!(posting_ids.len(), drafts.len(), "one id per posting");
    Ok(drafts
        .iter()
        .zip(posting_ids)
        .map(|(draft, id)| Posting {
            id,
            account_id: draft.account_id,
            amount: draft.amount,
        })
        .collect())
}

/// Inserts an entry's external references; a unique one already taken is a
/// [`LedgerError::DuplicateExternalRef`].
async fn insert_refs(
    tx: &Transaction<'_>,
    entry_id: Uuid,
    external_refs: &[ExternalRef],
) -> LedgerResult<()> {
    if external_refs.is_empty() {
        return Ok(());
    }
    debug_assert!(external_refs.len() <= MAX_EXTERNAL_REFS_PER_ENTRY);
    let insert_ref = tx
        .prepare_cached(
            "insert into journal_entry_refs (entry_id, ref_kind, ref_value, is_unique)
             values ($1, $2, $3, $4)",
        )
        .await?;
    for reference in external_refs {
        tx.execute(
            &insert_ref,
            &[
                &entry_id,
                &reference.kind,
                &reference.value,
                &reference.unique,
            ],
        )
        .await
        .map_err(|error| match constraint_of(&error) {
            Some("journal_entry_refs_unique") | Some("journal_entry_refs_pkey") => {
                LedgerError::DuplicateExternalRef {
                    kind: reference.kind.clone(),
                    value: reference.value.clone(),
                }
            }
            _ => LedgerError::Database(error),
        })?;
    }
    Ok(())
}

/// Writes the new (posted, held) of the locked balance rows.
async fn update_balances(tx: &impl GenericClient, new_balances: &[NewBalance]) -> LedgerResult<()> {
    if new_balances.is_empty() {
        return Ok(());
    }
    debug_assert!(
        new_balances.iter().all(|(_, _, held)| *held >= 0),
        "no held amount below zero"
    );
    let update = tx
        .prepare_cached(
            "update account_balances b set posted_minor = n.posted, held_minor = n.held
             from unnest($1::uuid[], $2::bigint[], $3::bigint[]) as n(account_id, posted, held)
             where b.account_id = n.account_id",
        )
        .await?;
    let ids: Vec<Uuid> = new_balances.iter().map(|b| b.0).collect();
    let posted: Vec<i64> = new_balances.iter().map(|b| b.1).collect();
    let held: Vec<i64> = new_balances.iter().map(|b| b.2).collect();
    tx.execute(&update, &[&ids, &posted, &held]).await?;
    Ok(())
}

/// Whether the postings sum to zero in every currency (what [`validate_postings`] checked).
pub(crate) fn balanced_per_currency(postings: &[PostingDraft]) -> bool {
    let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
    for posting in postings {
        *sums.entry(posting.amount.currency).or_insert(0) +=
            i128::from(posting.amount.amount_minor);
    }
    sums.values().all(|sum| *sum == 0)
}

async fn write_entry(tx: &Transaction<'_>, write: EntryWrite<'_>) -> LedgerResult<Entry> {
    validate_postings(write.postings)?;
    debug_assert!(
        balanced_per_currency(write.postings),
        "entries balance per currency"
    );
    validate_text(write.description)?;
    validate_metadata(write.metadata)?;
    validate_refs(write.external_refs)?;

    // The accounts and their balance rows in one round trip. Every account with a balance row is
    // locked (hot accounts have none), which is the set `new_balances` changes.
    let account_ids: Vec<Uuid> = write.postings.iter().map(|p| p.account_id).collect();
    let to_lock: Vec<Uuid> = account_ids
        .iter()
        .chain(write.held_decrease_minor.iter().map(|(id, _)| id))
        .copied()
        .collect();
    let (accounts, balances) = tokio::try_join!(
        biased;
        load_account_rows(tx, &account_ids),
        lock_balances(tx, &to_lock)
    )?;

    let posted_delta = posted_deltas(write.postings, &accounts)?;
    let held_decrease: BTreeMap<Uuid, i64> = write.held_decrease_minor.iter().copied().collect();
    debug_assert!(
        posted_delta
            .keys()
            .chain(held_decrease.keys())
            .all(|id| balances.contains_key(id)),
        "every balance an entry changes was locked"
    );

    let (new_balances, overdraft_flagged) = new_balances(
        &accounts,
        &balances,
        &posted_delta,
        &held_decrease,
        write.overdraft,
    )?;

    // The entry, its postings, its references and the balances in one round trip: sent in this
    // order and run in it (the postings take the entry's recording time from its row), and of
    // two failures the earlier statement's is returned.
    let entry_id = Uuid::now_v7();
    let insert_entry = tx
        .prepare_cached(
            "insert into journal_entries
                (id, effective_date, description, metadata, reverses_entry_id, overdraft_flagged)
             values ($1, $2, $3, $4, $5, $6) returning seq, recorded_at",
        )
        .await?;
    let (row, postings, (), ()) = tokio::try_join!(
        biased;
        async {
            tx.query_one(
                &insert_entry,
                &[
                    &entry_id,
                    &write.effective_date,
                    &write.description,
                    write.metadata,
                    &write.reverses_entry_id,
                    &overdraft_flagged,
                ],
            )
            .await
            .map_err(|error| match constraint_of(&error) {
                Some("journal_entries_reverses_entry_id_key") => {
                    LedgerError::AlreadyReversed(write.reverses_entry_id.unwrap_or_default())
                }
                _ => LedgerError::Database(error),
            })
        },
        insert_postings(tx, entry_id, write.postings),
        insert_refs(tx, entry_id, write.external_refs),
        update_balances(tx, &new_balances)
    )?;
    let seq: i64 = row.get("seq");
    let recorded_at: OffsetDateTime = row.get("recorded_at");

    Ok(Entry {
        id: entry_id,
        seq,
        effective_date: write.effective_date,
        recorded_at,
        description: write.description.to_owned(),
        metadata: write.metadata.clone(),
        reverses_entry_id: write.reverses_entry_id,
        overdraft_flagged,
        postings,
        external_refs: write.external_refs.to_vec(),
    })
}

fn constraint_of(error: &tokio_postgres::Error) -> Option<&str> {
    error.as_db_error().and_then(|db| db.constraint())
}

// ---------------------------------------------------------------------------------------------
// Accounts

pub async fn open_account(
    tx: &Transaction<'_>,
    idempotency_key: &str,
    account: &NewAccount,
) -> LedgerResult<Account> {
    let claim = match idempotency::begin(tx, idempotency_key, "open_account", account).await? {
        Begun::Replayed(account) => return Ok(account),
        Begun::Fresh(claim) => claim,
    };
    if account.code.is_empty() || account.code.len() > 200 {
        return Err(LedgerError::invalid(
            "account_code_invalid",
            "an account code of 1 to 200 bytes is required",
        ));
    }
    let purpose_ok = account.purpose.len() <= 63
        && account
            .purpose
            .starts_with(|c: char| c.is_ascii_lowercase())
        && account
            .purpose
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !purpose_ok {
        return Err(LedgerError::invalid(
            "account_purpose_invalid",
            "a purpose is snake_case",
        ));
    }
    if account.is_hot && account.balance_rule == BalanceRule::NonNegative {
        return Err(LedgerError::invalid(
            "hot_account_rule",
            "a hot account has no running balance, so it cannot enforce non-negative",
        ));
    }
    let (owner_kind, person_id) = match account.owner {
        Owner::Person { person_id } => ("person", Some(person_id)),
        Owner::Institution => ("institution", None),
    };
    let id = Uuid::now_v7();
    let insert = tx
        .prepare_cached(
            "insert into ledger_accounts
                (id, code, account_type, currency, owner_kind, person_id, purpose, balance_rule, is_hot)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             on conflict (code) do nothing
             returning created_at",
        )
        .await?;
    let created = tx
        .query_opt(
            &insert,
            &[
                &id,
                &account.code,
                &account.account_type.as_str(),
                &account.currency.code(),
                &owner_kind,
                &person_id,
                &account.purpose,
                &account.balance_rule.as_str(),
                &account.is_hot,
            ],
        )
        .await?;
    let Some(row) = created else {
        return Err(LedgerError::AccountCodeTaken(account.code.clone()));
    };
    if !account.is_hot {
        let insert_balance = tx
            .prepare_cached("insert into account_balances (account_id) values ($1)")
            .await?;
        tx.execute(&insert_balance, &[&id]).await?;
    }
    let opened = Account {
        id,
        code: account.code.clone(),
        account_type: account.account_type,
        currency: account.currency,
        owner: account.owner,
        purpose: account.purpose.clone(),
        balance_rule: account.balance_rule,
        is_hot: account.is_hot,
        created_at: row.get("created_at"),
        closed_at: None,
    };
    idempotency::finish(tx, claim, &opened).await?;
    Ok(opened)
}

fn account_from_row(row: &tokio_postgres::Row) -> LedgerResult<Account> {
    let currency: String = row.get("currency");
    let person_id: Option<Uuid> = row.get("person_id");
    Ok(Account {
        id: row.get("id"),
        code: row.get("code"),
        account_type: AccountType::parse(row.get("account_type"))?,
        currency: Currency::from_code(&currency)?,
        owner: match person_id {
            Some(person_id) => Owner::Person { person_id },
            None => Owner::Institution,
        },
        purpose: row.get("purpose"),
        balance_rule: BalanceRule::parse(row.get("balance_rule"))?,
        is_hot: row.get("is_hot"),
        created_at: row.get("created_at"),
        closed_at: row.get("closed_at"),
    })
}

const ACCOUNT_COLUMNS: &str = "id, code, account_type, currency, person_id, purpose, balance_rule, \
                               is_hot, created_at, closed_at";

pub async fn account(client: &impl GenericClient, account_id: Uuid) -> LedgerResult<Account> {
    let statement = client
        .prepare_cached(&format!(
            "select {ACCOUNT_COLUMNS} from ledger_accounts where id = $1"
        ))
        .await?;
    let row = client
        .query_opt(&statement, &[&account_id])
        .await?
        .ok_or(LedgerError::UnknownAccount(account_id))?;
    account_from_row(&row)
}

pub async fn account_by_code(
    client: &impl GenericClient,
    code: &str,
) -> LedgerResult<Option<Account>> {
    let statement = client
        .prepare_cached(&format!(
            "select {ACCOUNT_COLUMNS} from ledger_accounts where code = $1"
        ))
        .await?;
    client
        .query_opt(&statement, &[&code])
        .await?
        .map(|row| account_from_row(&row))
        .transpose()
}

pub async fn accounts_of_person(
    client: &impl GenericClient,
    person_id: Uuid,
) -> LedgerResult<Vec<Account>> {
    let statement = client
        .prepare_cached(&format!(
            "select {ACCOUNT_COLUMNS} from ledger_accounts where person_id = $1 order by code"
        ))
        .await?;
    client
        .query(&statement, &[&person_id])
        .await?
        .iter()
        .map(account_from_row)
        .collect()
}

/// Closes an account whose balance and holds are zero. Accounts are never deleted.
pub async fn close_account(
    tx: &Transaction<'_>,
    idempotency_key: &str,
    account_id: Uuid,
) -> LedgerResult<Account> {
    let claim = match idempotency::begin(tx, idempotency_key, "close_account", &account_id).await? {
        Begun::Replayed(account) => return Ok(account),
        Begun::Fresh(claim) => claim,
    };
    let current = account(tx, account_id).await?;
    if current.closed_at.is_some() {
        return Err(LedgerError::AccountClosed(account_id));
    }
    lock_balances(tx, &[account_id]).await?;
    let balance = balance(tx, account_id).await?;
    if balance.posted.amount_minor != 0 || balance.held.amount_minor != 0 {
        return Err(LedgerError::AccountNotEmpty(account_id));
    }
    let close = tx
        .prepare_cached(
            "update ledger_accounts set closed_at = now() where id = $1 returning closed_at",
        )
        .await?;
    let closed_at: OffsetDateTime = tx.query_one(&close, &[&account_id]).await?.get("closed_at");
    let closed = Account {
        closed_at: Some(closed_at),
        ..current
    };
    idempotency::finish(tx, claim, &closed).await?;
    Ok(closed)
}

// ---------------------------------------------------------------------------------------------
// Entries

pub async fn post_entry(tx: &Transaction<'_>, draft: &EntryDraft) -> LedgerResult<Entry> {
    let claim = match idempotency::begin(tx, &draft.idempotency_key, "post_entry", draft).await? {
        Begun::Replayed(entry) => return Ok(entry),
        Begun::Fresh(claim) => claim,
    };
    let entry = write_entry(
        tx,
        EntryWrite {
            effective_date: draft.effective_date,
            description: &draft.description,
            metadata: &draft.metadata,
            external_refs: &draft.external_refs,
            postings: &draft.postings,
            overdraft: draft.overdraft,
            reverses_entry_id: None,
            held_decrease_minor: &[],
        },
    )
    .await?;
    idempotency::finish(tx, claim, &entry).await?;
    Ok(entry)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReverseEntry {
    pub idempotency_key: String,
    pub entry_id: Uuid,
    #[serde(with = "date_format")]
    pub effective_date: Date,
    pub description: String,
    pub overdraft: Overdraft,
}

/// Posts the mirror image of an entry, linked to it. An entry is reversed at most once.
pub async fn reverse_entry(tx: &Transaction<'_>, command: &ReverseEntry) -> LedgerResult<Entry> {
    let claim =
        match idempotency::begin(tx, &command.idempotency_key, "reverse_entry", command).await? {
            Begun::Replayed(entry) => return Ok(entry),
            Begun::Fresh(claim) => claim,
        };
    let original = entry(tx, command.entry_id).await?;
    // Checked first for a clear answer; the unique constraint still decides between racers.
    let reversed = tx
        .prepare_cached("select 1 from journal_entries where reverses_entry_id = $1")
        .await?;
    if tx.query_opt(&reversed, &[&original.id]).await?.is_some() {
        return Err(LedgerError::AlreadyReversed(original.id));
    }
    let postings: Vec<PostingDraft> = original
        .postings
        .iter()
        .map(|posting| {
            Ok(PostingDraft {
                account_id: posting.account_id,
                amount: posting.amount.checked_neg()?,
            })
        })
        .collect::<LedgerResult<_>>()?;
    let metadata = serde_json::json!({ "reverses": original.id });
    let reversal = write_entry(
        tx,
        EntryWrite {
            effective_date: command.effective_date,
            description: &command.description,
            metadata: &metadata,
            external_refs: &[],
            postings: &postings,
            overdraft: command.overdraft,
            reverses_entry_id: Some(original.id),
            held_decrease_minor: &[],
        },
    )
    .await?;
    idempotency::finish(tx, claim, &reversal).await?;
    Ok(reversal)
}

pub async fn entry(client: &impl GenericClient, entry_id: Uuid) -> LedgerResult<Entry> {
    let statement = client
        .prepare_cached(
            "select seq, effective_date, recorded_at, description, metadata, reverses_entry_id,
                    overdraft_flagged
             from journal_entries where id = $1",
        )
        .await?;
    let row = client
        .query_opt(&statement, &[&entry_id])
        .await?
        .ok_or(LedgerError::UnknownEntry(entry_id))?;
    let postings_statement = client
        .prepare_cached(
            "select id, account_id, currency, amount_minor from journal_postings
             where entry_id = $1 order by id",
        )
        .await?;
    let postings = client
        .query(&postings_statement, &[&entry_id])
        .await?
        .iter()
        .map(|posting| {
            let currency: String = posting.get("currency");
            Ok(Posting {
                id: posting.get("id"),
                account_id: posting.get("account_id"),
                amount: Money::new(posting.get("amount_minor"), Currency::from_code(&currency)?),
            })
        })
        .collect::<LedgerResult<Vec<_>>>()?;
    let refs_statement = client
        .prepare_cached(
            "select ref_kind, ref_value, is_unique from journal_entry_refs where entry_id = $1
             order by ref_kind, ref_value",
        )
        .await?;
    let external_refs = client
        .query(&refs_statement, &[&entry_id])
        .await?
        .iter()
        .map(|r| ExternalRef {
            kind: r.get("ref_kind"),
            value: r.get("ref_value"),
            unique: r.get("is_unique"),
        })
        .collect();
    Ok(Entry {
        id: entry_id,
        seq: row.get("seq"),
        effective_date: row.get("effective_date"),
        recorded_at: row.get("recorded_at"),
        description: row.get("description"),
        metadata: row.get("metadata"),
        reverses_entry_id: row.get("reverses_entry_id"),
        overdraft_flagged: row.get("overdraft_flagged"),
        postings,
        external_refs,
    })
}

/// The entry carrying a unique external reference, if any.
pub async fn entry_by_external_ref(
    client: &impl GenericClient,
    kind: &str,
    value: &str,
) -> LedgerResult<Option<Entry>> {
    let statement = client
        .prepare_cached(
            "select entry_id from journal_entry_refs where ref_kind = $1 and ref_value = $2
             order by is_unique desc limit 1",
        )
        .await?;
    match client.query_opt(&statement, &[&kind, &value]).await? {
        Some(row) => Ok(Some(entry(client, row.get("entry_id")).await?)),
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Holds

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlaceHold {
    pub idempotency_key: String,
    pub account_id: Uuid,
    pub amount: Money,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub description: String,
    pub metadata: serde_json::Value,
    /// Hold what is available when it is less than asked, rather than failing.
    pub allow_partial: bool,
    /// `AllowAndFlag` holds the full amount even beyond the available balance (a card stand-in
    /// approval the processor already gave) and flags the hold.
    pub overdraft: Overdraft,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IncreaseHold {
    pub idempotency_key: String,
    pub hold_id: Uuid,
    pub amount: Money,
    pub allow_partial: bool,
    pub overdraft: Overdraft,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaptureHold {
    pub idempotency_key: String,
    pub hold_id: Uuid,
    pub amount: Money,
    /// Where the captured money goes, e.g. the card settlement payable account.
    pub counter_account_id: Uuid,
    /// Allow capturing more than remains held (card clearings can exceed the authorization,
    /// and can arrive after the hold expired).
    pub allow_over_capture: bool,
    /// The last capture: whatever remains held is released.
    pub final_capture: bool,
    #[serde(with = "date_format")]
    pub effective_date: Date,
    pub description: String,
    pub metadata: serde_json::Value,
    pub external_refs: Vec<ExternalRef>,
    pub overdraft: Overdraft,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReleaseHold {
    pub idempotency_key: String,
    pub hold_id: Uuid,
    /// `None` releases everything that remains.
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capture {
    pub entry: Entry,
    pub hold: Hold,
}

struct HoldState {
    account_id: Uuid,
    /// The hold's account, read with the hold.
    account: AccountRow,
    /// Its balance row (posted, held) as locked with the hold.
    balance: Option<(i64, i64)>,
    currency: Currency,
    placed_minor: i64,
    remaining_minor: i64,
    expires_at: Option<OffsetDateTime>,
}

impl HoldState {
    fn to_hold(&self, hold_id: Uuid) -> Hold {
        Hold {
            id: hold_id,
            account_id: self.account_id,
            remaining: Money::new(self.remaining_minor, self.currency),
            placed: Money::new(self.placed_minor, self.currency),
            expires_at: self.expires_at,
        }
    }
}

/// Loads a hold and locks its account's balance row, so hold commands on one account run one at
/// a time and always see the current remaining amount. One round trip: the statements go out
/// together and PostgreSQL runs them in order, so the remaining amount is read under the lock.
async fn lock_hold(tx: &Transaction<'_>, hold_id: Uuid) -> LedgerResult<HoldState> {
    let hold_statement = tx
        .prepare_cached(
            "select account_id, currency, amount_minor, expires_at from holds where id = $1",
        )
        .await?;
    let lock_statement = tx
        .prepare_cached(
            "select posted_minor, held_minor from account_balances
             where account_id = (select account_id from holds where id = $1) for update",
        )
        .await?;
    let remaining_statement = tx
        .prepare_cached(
            "select coalesce(sum(case when kind = 'increase' then held_delta_minor
                                      else -held_delta_minor end), 0)::bigint as events_delta_minor
             from hold_events where hold_id = $1",
        )
        .await?;
    let account_statement = tx
        .prepare_cached(
            "select id, account_type, currency, balance_rule, is_hot, closed_at is not null as closed
             from ledger_accounts where id = (select account_id from holds where id = $1)",
        )
        .await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&hold_id];
    let (row, balance, events, account) = tokio::try_join!(
        biased;
        tx.query_opt(&hold_statement, &params),
        tx.query_opt(&lock_statement, &params),
        tx.query_one(&remaining_statement, &params),
        tx.query_opt(&account_statement, &params)
    )?;
    let row = row.ok_or(LedgerError::UnknownHold(hold_id))?;
    let account_id: Uuid = row.get("account_id");
    let currency: String = row.get("currency");
    let account = match account {
        Some(account) => account_row_from(&account)?,
        None => return Err(LedgerError::UnknownAccount(account_id)),
    };
    let events_delta: i64 = events.get("events_delta_minor");
    let placed_minor: i64 = row.get("amount_minor");
    let remaining_minor = placed_minor
        .checked_add(events_delta)
        .ok_or(crate::money::MoneyError::Overflow)?;
    assert!(
        remaining_minor >= 0,
        "hold {hold_id} has a negative remaining amount"
    );
    Ok(HoldState {
        account_id,
        account,
        balance: balance.map(|row| (row.get("posted_minor"), row.get("held_minor"))),
        currency: Currency::from_code(&currency)?,
        placed_minor,
        remaining_minor,
        expires_at: row.get("expires_at"),
    })
}

pub async fn hold(tx: &Transaction<'_>, hold_id: Uuid) -> LedgerResult<Hold> {
    Ok(lock_hold(tx, hold_id).await?.to_hold(hold_id))
}

async fn insert_hold_event(
    tx: &Transaction<'_>,
    hold_id: Uuid,
    kind: &str,
    held_delta_minor: i64,
    posted_minor: i64,
    entry_id: Option<Uuid>,
    overdraft_flagged: bool,
) -> LedgerResult<()> {
    let statement = tx
        .prepare_cached(
            "insert into hold_events
                (hold_id, kind, held_delta_minor, posted_minor, entry_id, overdraft_flagged)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &hold_id,
            &kind,
            &held_delta_minor,
            &posted_minor,
            &entry_id,
            &overdraft_flagged,
        ],
    )
    .await?;
    Ok(())
}

/// How much of `requested` may be held given the account's current balance row.
/// Returns the amount to hold and whether it overdraws the account on purpose.
fn holdable(
    account_id: Uuid,
    rule: BalanceRule,
    posted: i64,
    held: i64,
    requested: i64,
    allow_partial: bool,
    overdraft: Overdraft,
) -> LedgerResult<(i64, bool)> {
    if rule == BalanceRule::MayGoNegative {
        return Ok((requested, false));
    }
    let available = posted
        .checked_sub(held)
        .ok_or(crate::money::MoneyError::Overflow)?;
    // What a hold on a `non_negative` account relies on: unless it overdraws on purpose, what
    // is held afterwards is at most what is posted.
    let keeps_held_within_posted = |amount: i64| {
        held.checked_add(amount)
            .is_some_and(|after| after <= posted)
    };
    if available >= requested {
        debug_assert!(keeps_held_within_posted(requested));
        Ok((requested, false))
    } else if overdraft == Overdraft::AllowAndFlag {
        Ok((requested, true))
    } else if allow_partial && available > 0 {
        debug_assert!(keeps_held_within_posted(available));
        Ok((available, false))
    } else {
        Err(LedgerError::InsufficientFunds {
            account_id,
            available_minor: available,
            requested_minor: requested,
        })
    }
}

async fn add_held(tx: &Transaction<'_>, account_id: Uuid, amount_minor: i64) -> LedgerResult<()> {
    let statement = tx
        .prepare_cached(
            "update account_balances set held_minor = held_minor + $2 where account_id = $1",
        )
        .await?;
    tx.execute(&statement, &[&account_id, &amount_minor])
        .await?;
    Ok(())
}

pub async fn place_hold(tx: &Transaction<'_>, command: &PlaceHold) -> LedgerResult<Hold> {
    let claim =
        match idempotency::begin(tx, &command.idempotency_key, "place_hold", command).await? {
            Begun::Replayed(hold) => return Ok(hold),
            Begun::Fresh(claim) => claim,
        };
    place_hold_claimed(tx, command, Some(claim)).await
}

/// [`place_hold`] for a caller whose own row already makes the command happen at most once per
/// transaction that commits: a card authorization, whose `card.authorizations` row is locked
/// `FOR UPDATE` and answered from its stored decision when seen again. The ledger's own
/// idempotency record would repeat that check (an advisory lock, a look-up and an insert per
/// authorization), so it is skipped; `command.idempotency_key` is not used.
pub async fn place_hold_deduplicated_by_caller(
    tx: &Transaction<'_>,
    command: &PlaceHold,
) -> LedgerResult<Hold> {
    place_hold_claimed(tx, command, None).await
}

/// An account holds can go on, its balance row locked by this transaction. Holds are checked
/// against it one after another in memory ([`HoldAccount::plan`]) and then written together
/// ([`insert_holds`]): the card authorization path places many holds in one transaction.
#[derive(Debug, Clone)]
pub struct HoldAccount {
    id: Uuid,
    account: AccountRow,
    posted_minor: i64,
    held_minor: i64,
}

/// A hold checked against its locked account by [`HoldAccount::plan`], not yet written.
#[derive(Debug, Clone)]
pub struct PlannedHold {
    pub hold: Hold,
    description: String,
    metadata: serde_json::Value,
    overdraft_flagged: bool,
}

/// Locks the balance rows of these accounts, in id order (so two transactions locking
/// overlapping sets cannot deadlock on each other), and returns the accounts that have one.
/// Hot accounts have no balance row and take no holds; unknown ids are simply absent.
pub async fn lock_accounts_for_holds(
    tx: &Transaction<'_>,
    account_ids: &[Uuid],
) -> LedgerResult<HashMap<Uuid, HoldAccount>> {
    let statement = tx
        .prepare_cached(
            "select a.id, a.account_type, a.currency, a.balance_rule, a.is_hot,
                    a.closed_at is not null as closed, b.posted_minor, b.held_minor
             from ledger_accounts a join account_balances b on b.account_id = a.id
             where a.id = any($1)
             order by a.id
             for update of b",
        )
        .await?;
    hold_accounts_from(tx.query(&statement, &[&account_ids]).await?)
}

/// The locked balance rows of [`lock_accounts_for_holds`] and its skip-locked twin, by account.
fn hold_accounts_from(rows: Vec<tokio_postgres::Row>) -> LedgerResult<HashMap<Uuid, HoldAccount>> {
    let mut accounts = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: Uuid = row.get("id");
        let account = account_row_from(&row)?;
        accounts.insert(
            id,
            HoldAccount {
                id,
                account,
                posted_minor: row.get("posted_minor"),
                held_minor: row.get("held_minor"),
            },
        );
    }
    Ok(accounts)
}

/// Like [`lock_accounts_for_holds`], but never waits: a balance row another transaction holds
/// (a payroll, another batch still committing) is skipped, and its account returned in the second
/// part, so that one locked row delays only its own account's holds. Accounts in neither part
/// have no balance row. The look-up of the skipped ones runs only when a row was missing.
pub async fn lock_accounts_for_holds_skip_locked(
    tx: &impl GenericClient,
    account_ids: &[Uuid],
) -> LedgerResult<(HashMap<Uuid, HoldAccount>, Vec<Uuid>)> {
    let statement = tx
        .prepare_cached(
            "select a.id, a.account_type, a.currency, a.balance_rule, a.is_hot,
                    a.closed_at is not null as closed, b.posted_minor, b.held_minor
             from ledger_accounts a join account_balances b on b.account_id = a.id
             where a.id = any($1)
             order by a.id
             for update of b skip locked",
        )
        .await?;
    let accounts = hold_accounts_from(tx.query(&statement, &[&account_ids]).await?)?;
    let missing: Vec<Uuid> = account_ids
        .iter()
        .filter(|id| !accounts.contains_key(id))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok((accounts, Vec::new()));
    }
    // A plain read sees rows others hold: those exist and are locked.
    let existing = tx
        .prepare_cached("select account_id from account_balances where account_id = any($1)")
        .await?;
    let locked = tx
        .query(&existing, &[&missing])
        .await?
        .iter()
        .map(|row| row.get("account_id"))
        .collect();
    Ok((accounts, locked))
}

fn validate_hold(command: &PlaceHold) -> LedgerResult<()> {
    if !command.amount.is_positive() {
        return Err(crate::money::MoneyError::NotPositive.into());
    }
    command.amount.within_bound()?;
    validate_text(&command.description)?;
    validate_metadata(&command.metadata)
}

impl HoldAccount {
    /// Checks a hold against the account as this transaction has it (the holds planned before
    /// it included) and counts it as held; [`insert_holds`] writes it.
    pub fn plan(&mut self, command: &PlaceHold) -> LedgerResult<PlannedHold> {
        validate_hold(command)?;
        if command.account_id != self.id {
            return Err(LedgerError::invalid(
                "hold_account_mismatch",
                "the hold is for another account",
            ));
        }
        if self.account.closed {
            return Err(LedgerError::AccountClosed(self.id));
        }
        if self.account.is_hot {
            return Err(LedgerError::HoldOnHotAccount(self.id));
        }
        if self.account.currency != command.amount.currency {
            return Err(LedgerError::AccountCurrencyMismatch {
                account_id: self.id,
                account_currency: self.account.currency.to_string(),
                amount_currency: command.amount.currency.to_string(),
            });
        }
        let (amount_minor, overdraft_flagged) = holdable(
            self.id,
            self.account.balance_rule,
            self.posted_minor,
            self.held_minor,
            command.amount.amount_minor,
            command.allow_partial,
            command.overdraft,
        )?;
        self.held_minor = self
            .held_minor
            .checked_add(amount_minor)
            .ok_or(crate::money::MoneyError::Overflow)?;
        let amount = Money::new(amount_minor, command.amount.currency);
        Ok(PlannedHold {
            hold: Hold {
                id: Uuid::now_v7(),
                account_id: self.id,
                remaining: amount,
                placed: amount,
                expires_at: command.expires_at,
            },
            description: command.description.clone(),
            metadata: command.metadata.clone(),
            overdraft_flagged,
        })
    }
}

/// Writes planned holds and adds them to their accounts' held amounts: one statement however
/// many holds (their accounts locked by [`lock_accounts_for_holds`] in this transaction).
pub async fn insert_holds(tx: &impl GenericClient, holds: &[PlannedHold]) -> LedgerResult<()> {
    if holds.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached(
            "with hold as (
                 insert into holds
                     (id, account_id, currency, amount_minor, expires_at, description, metadata,
                      overdraft_flagged)
                 select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::int8[],
                                      $5::timestamptz[], $6::text[], $7::jsonb[], $8::bool[])
                 returning account_id, amount_minor
             ), per_account as (
                 select account_id, sum(amount_minor)::bigint as amount_minor
                 from hold group by account_id
             )
             update account_balances b set held_minor = b.held_minor + per_account.amount_minor
             from per_account where b.account_id = per_account.account_id",
        )
        .await?;
    let ids: Vec<Uuid> = holds.iter().map(|h| h.hold.id).collect();
    let account_ids: Vec<Uuid> = holds.iter().map(|h| h.hold.account_id).collect();
    let currencies: Vec<&str> = holds
        .iter()
        .map(|h| h.hold.placed.currency.code())
        .collect();
    let amounts_minor: Vec<i64> = holds.iter().map(|h| h.hold.placed.amount_minor).collect();
    let expiries: Vec<Option<OffsetDateTime>> = holds.iter().map(|h| h.hold.expires_at).collect();
    let descriptions: Vec<&str> = holds.iter().map(|h| h.description.as_str()).collect();
    let metadata: Vec<&serde_json::Value> = holds.iter().map(|h| &h.metadata).collect();
    let flagged: Vec<bool> = holds.iter().map(|h| h.overdraft_flagged).collect();
    tx.execute(
        &statement,
        &[
            &ids,
            &account_ids,
            &currencies,
            &amounts_minor,
            &expiries,
            &descriptions,
            &metadata,
            &flagged,
        ],
    )
    .await?;
    Ok(())
}

/// Why an account has no balance row to hold on: unknown, closed, or hot.
async fn no_balance_row(tx: &Transaction<'_>, account_id: Uuid) -> LedgerError {
    match load_account_rows(tx, &[account_id]).await {
        Ok(accounts) if accounts[&account_id].is_hot => LedgerError::HoldOnHotAccount(account_id),
        Ok(_) => LedgerError::invalid(
            "balance_row_missing",
            format!("account {account_id} has no balance row"),
        ),
        Err(error) => error,
    }
}

async fn place_hold_claimed(
    tx: &Transaction<'_>,
    command: &PlaceHold,
    claim: Option<idempotency::Claim>,
) -> LedgerResult<Hold> {
    validate_hold(command)?;
    let mut accounts = lock_accounts_for_holds(tx, &[command.account_id]).await?;
    let Some(account) = accounts.get_mut(&command.account_id) else {
        return Err(no_balance_row(tx, command.account_id).await);
    };
    let planned = account.plan(command)?;
    // Independent writes, pipelined: one round trip.
    tokio::try_join!(insert_holds(tx, std::slice::from_ref(&planned)), async {
        match claim {
            Some(claim) => idempotency::finish(tx, claim, &planned.hold).await,
            None => Ok(()),
        }
    })?;
    Ok(planned.hold)
}

/// Holds more on an existing hold (an incremental card authorization).
pub async fn increase_hold(tx: &Transaction<'_>, command: &IncreaseHold) -> LedgerResult<Hold> {
    let claim =
        match idempotency::begin(tx, &command.idempotency_key, "increase_hold", command).await? {
            Begun::Replayed(hold) => return Ok(hold),
            Begun::Fresh(claim) => claim,
        };
    if !command.amount.is_positive() {
        return Err(crate::money::MoneyError::NotPositive.into());
    }
    command.amount.within_bound()?;
    let mut state = lock_hold(tx, command.hold_id).await?;
    if state.currency != command.amount.currency {
        return Err(crate::money::MoneyError::CurrencyMismatch(
            state.currency,
            command.amount.currency,
        )
        .into());
    }
    let (posted, held) = state
        .balance
        .ok_or(LedgerError::UnknownAccount(state.account_id))?;
    let (amount_minor, overdraft_flagged) = holdable(
        state.account_id,
        state.account.balance_rule,
        posted,
        held,
        command.amount.amount_minor,
        command.allow_partial,
        command.overdraft,
    )?;
    insert_hold_event(
        tx,
        command.hold_id,
        "increase",
        amount_minor,
        0,
        None,
        overdraft_flagged,
    )
    .await?;
    add_held(tx, state.account_id, amount_minor).await?;
    state.remaining_minor = state
        .remaining_minor
        .checked_add(amount_minor)
        .ok_or(crate::money::MoneyError::Overflow)?;
    let hold = state.to_hold(command.hold_id);
    idempotency::finish(tx, claim, &hold).await?;
    Ok(hold)
}

pub async fn capture_hold(tx: &Transaction<'_>, command: &CaptureHold) -> LedgerResult<Capture> {
    let claim =
        match idempotency::begin(tx, &command.idempotency_key, "capture_hold", command).await? {
            Begun::Replayed(capture) => return Ok(capture),
            Begun::Fresh(claim) => claim,
        };
    let capture = capture_hold_claimed(tx, command).await?;
    idempotency::finish(tx, claim, &capture).await?;
    Ok(capture)
}

/// [`capture_hold`] for a caller whose own records already make the command happen at most once
/// per transaction that commits: a card clearing, whose webhook is locked and looked up in the
/// inbox, whose transaction reference is unique and checked before, and whose authorization row
/// is locked. The ledger's own idempotency record would repeat that (an advisory lock, a look-up
/// and an insert of the whole result per clearing), so it is skipped; `command.idempotency_key`
/// is not used.
pub async fn capture_hold_deduplicated_by_caller(
    tx: &Transaction<'_>,
    command: &CaptureHold,
) -> LedgerResult<Capture> {
    capture_hold_claimed(tx, command).await
}

/// What one capture does to its hold, worked out from the hold as locked: how much of the
/// hold it uses and frees, and its entry's postings and metadata.
struct PlannedCapture {
    captured_from_hold_minor: i64,
    released_after_minor: i64,
    postings: [PostingDraft; 2],
    metadata: serde_json::Value,
}

impl PlannedCapture {
    /// What leaves the hold's held amount: the part captured and the rest freed by a final
    /// capture.
    fn held_drop_minor(&self) -> LedgerResult<i64> {
        Ok(self
            .captured_from_hold_minor
            .checked_add(self.released_after_minor)
            .ok_or(crate::money::MoneyError::Overflow)?)
    }
}

/// What a capture can be refused for before its hold is read.
fn validate_capture(command: &CaptureHold) -> LedgerResult<()> {
    if !command.amount.is_positive() {
        return Err(crate::money::MoneyError::NotPositive.into());
    }
    command.amount.within_bound()?;
    Ok(())
}

/// Works out a capture ([`validate_capture`]d) against its hold as locked.
fn plan_capture(command: &CaptureHold, state: &HoldState) -> LedgerResult<PlannedCapture> {
    if state.currency != command.amount.currency {
        return Err(crate::money::MoneyError::CurrencyMismatch(
            state.currency,
            command.amount.currency,
        )
        .into());
    }
    let requested = command.amount.amount_minor;
    if requested > state.remaining_minor && !command.allow_over_capture {
        return Err(LedgerError::ExceedsHold {
            hold_id: command.hold_id,
            remaining_minor: state.remaining_minor,
            requested_minor: requested,
        });
    }
    let captured_from_hold_minor = requested.min(state.remaining_minor);
    let released_after_minor = if command.final_capture {
        state.remaining_minor - captured_from_hold_minor
    } else {
        0
    };
    // Money leaves the hold's account: a debit of a liability, a credit of an asset.
    let sign = -state.account.account_type.normal_sign();
    let out_of_account = Money::new(
        requested
            .checked_mul(sign)
            .ok_or(crate::money::MoneyError::Overflow)?,
        state.currency,
    );
    let postings = [
        PostingDraft {
            account_id: state.account_id,
            amount: out_of_account,
        },
        PostingDraft {
            account_id: command.counter_account_id,
            amount: out_of_account.checked_neg()?,
        },
    ];
    let mut metadata = command.metadata.clone();
    if let Some(object) = metadata.as_object_mut() {
        object.insert("hold_id".into(), serde_json::json!(command.hold_id));
    }
    Ok(PlannedCapture {
        captured_from_hold_minor,
        released_after_minor,
        postings,
        metadata,
    })
}

async fn capture_hold_claimed(
    tx: &Transaction<'_>,
    command: &CaptureHold,
) -> LedgerResult<Capture> {
    validate_capture(command)?;
    let mut state = lock_hold(tx, command.hold_id).await?;
    let planned = plan_capture(command, &state)?;
    let held_drop = planned.held_drop_minor()?;
    let entry = write_entry(
        tx,
        EntryWrite {
            effective_date: command.effective_date,
            description: &command.description,
            metadata: &planned.metadata,
            external_refs: &command.external_refs,
            postings: &planned.postings,
            overdraft: command.overdraft,
            reverses_entry_id: None,
            held_decrease_minor: &[(state.account_id, held_drop)],
        },
    )
    .await?;
    // The capture and the release of the rest in one round trip, sent in this order.
    tokio::try_join!(
        biased;
        insert_hold_event(
            tx,
            command.hold_id,
            "capture",
            planned.captured_from_hold_minor,
            command.amount.amount_minor,
            Some(entry.id),
            false,
        ),
        async {
            if planned.released_after_minor > 0 {
                insert_hold_event(
                    tx,
                    command.hold_id,
                    "release",
                    planned.released_after_minor,
                    0,
                    None,
                    false,
                )
                .await?;
            }
            Ok(())
        }
    )?;
    state.remaining_minor -= held_drop;
    Ok(Capture {
        entry,
        hold: state.to_hold(command.hold_id),
    })
}

/// Most captures one [`capture_holds_deduplicated_by_caller`] call makes: bounds its arrays and
/// how long it keeps its balance rows locked.
pub const MAX_CAPTURES_PER_CALL: usize = 256;

/// [`capture_hold_deduplicated_by_caller`] for many holds at once (card clearings that arrive
/// together), in order, in two round trips however many: the holds' balance rows locked in id
/// order and the holds and accounts read with them, then the entries, their postings and
/// references, the balances and the hold events written, one statement each. Each capture sees
/// the ones before it: two captures of one hold, or on one account, add up as they would one
/// after the other. Fails as a whole on the first problem (the caller's transaction is then to
/// be dropped). The same rules as one capture, checked in the same place ([`plan_capture`],
/// [`posted_deltas`], [`new_balances`]).
pub async fn capture_holds_deduplicated_by_caller(
    tx: &impl GenericClient,
    commands: &[CaptureHold],
) -> LedgerResult<Vec<Capture>> {
    if commands.is_empty() {
        return Ok(Vec::new());
    }
    if commands.len() > MAX_CAPTURES_PER_CALL {
        return Err(LedgerError::invalid(
            "batch_too_large",
            format!("at most {MAX_CAPTURES_PER_CALL} captures per call"),
        ));
    }
    for command in commands {
        validate_capture(command)?;
        validate_text(&command.description)?;
        validate_refs(&command.external_refs)?;
    }
    let mut hold_ids: Vec<Uuid> = commands.iter().map(|c| c.hold_id).collect();
    hold_ids.sort();
    hold_ids.dedup();
    let mut counter_ids: Vec<Uuid> = commands.iter().map(|c| c.counter_account_id).collect();
    counter_ids.sort();
    counter_ids.dedup();

    // In this order, in one round trip: the balance rows locked (hot accounts have none), then
    // the holds' remaining amounts and the accounts read under the locks.
    let lock = tx
        .prepare_cached(
            "select account_id, posted_minor, held_minor from account_balances
             where account_id = any(array(select account_id from holds where id = any($1)) || $2)
             order by account_id for update",
        )
        .await?;
    let read_holds = tx
        .prepare_cached(
            "select h.id, h.account_id, h.currency, h.amount_minor, h.expires_at,
                    coalesce(sum(case when e.kind = 'increase' then e.held_delta_minor
                                      else -e.held_delta_minor end), 0)::bigint
                        as events_delta_minor
             from holds h left join hold_events e on e.hold_id = h.id
             where h.id = any($1)
             group by h.id",
        )
        .await?;
    let read_accounts = tx
        .prepare_cached(
            "select id, account_type, currency, balance_rule, is_hot, closed_at is not null as closed
             from ledger_accounts
             where id = any(array(select account_id from holds where id = any($1)) || $2)",
        )
        .await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&hold_ids, &counter_ids];
    let (locked, hold_rows, account_rows) = tokio::try_join!(
        biased;
        tx.query(&lock, &params),
        tx.query(&read_holds, &params[..1]),
        tx.query(&read_accounts, &params)
    )?;
    let mut balances: BTreeMap<Uuid, (i64, i64)> = locked
        .iter()
        .map(|row| {
            (
                row.get("account_id"),
                (row.get("posted_minor"), row.get("held_minor")),
            )
        })
        .collect();
    let mut accounts: HashMap<Uuid, AccountRow> = HashMap::with_capacity(account_rows.len());
    for row in &account_rows {
        accounts.insert(row.get("id"), account_row_from(row)?);
    }
    let mut holds: HashMap<Uuid, HoldState> = HashMap::with_capacity(hold_rows.len());
    for row in &hold_rows {
        let account_id: Uuid = row.get("account_id");
        let account = accounts
            .get(&account_id)
            .cloned()
            .ok_or(LedgerError::UnknownAccount(account_id))?;
        let placed_minor: i64 = row.get("amount_minor");
        let remaining_minor = placed_minor
            .checked_add(row.get("events_delta_minor"))
            .ok_or(crate::money::MoneyError::Overflow)?;
        assert!(
            remaining_minor >= 0,
            "a hold has a negative remaining amount"
        );
        holds.insert(
            row.get("id"),
            HoldState {
                account_id,
                account,
                balance: balances.get(&account_id).copied(),
                currency: Currency::from_code(row.get("currency"))?,
                placed_minor,
                remaining_minor,
                expires_at: row.get("expires_at"),
            },
        );
    }

    // Each capture against the holds and balances the ones before it left.
    struct Planned {
        entry_id: Uuid,
        planned: PlannedCapture,
        overdraft_flagged: bool,
        hold: Hold,
    }
    let mut plans: Vec<Planned> = Vec::with_capacity(commands.len());
    let mut changed: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    for command in commands {
        let state = holds
            .get_mut(&command.hold_id)
            .ok_or(LedgerError::UnknownHold(command.hold_id))?;
        let planned = plan_capture(command, state)?;
        validate_postings(&planned.postings)?;
        validate_metadata(&planned.metadata)?;
        all_open(
            &accounts,
            &planned
                .postings
                .each_ref()
                .map(|posting| posting.account_id),
        )?;
        let held_drop = planned.held_drop_minor()?;
        let posted_delta = posted_deltas(&planned.postings, &accounts)?;
        let held_decrease = BTreeMap::from([(state.account_id, held_drop)]);
        // The balance rows this entry changes, as the captures before it left them.
        let touched: BTreeMap<Uuid, (i64, i64)> = posted_delta
            .keys()
            .chain([&state.account_id])
            .filter_map(|id| balances.get(id).map(|balance| (*id, *balance)))
            .collect();
        let (new, overdraft_flagged) = new_balances(
            &accounts,
            &touched,
            &posted_delta,
            &held_decrease,
            command.overdraft,
        )?;
        for (account_id, posted, held) in new {
            balances.insert(account_id, (posted, held));
            changed.insert(account_id, (posted, held));
        }
        state.remaining_minor -= held_drop;
        plans.push(Planned {
            entry_id: Uuid::now_v7(),
            hold: state.to_hold(command.hold_id),
            planned,
            overdraft_flagged,
        });
    }

    // Every parameter built before anything is sent; the writes then go out together and run
    // in this order (the postings take their entry's recording time from its row, the hold
    // events refer to their entries).
    let entry_ids: Vec<Uuid> = plans.iter().map(|p| p.entry_id).collect();
    let dates: Vec<Date> = commands.iter().map(|c| c.effective_date).collect();
    let descriptions: Vec<&str> = commands.iter().map(|c| c.description.as_str()).collect();
    let metadata: Vec<&serde_json::Value> = plans.iter().map(|p| &p.planned.metadata).collect();
    let flagged: Vec<bool> = plans.iter().map(|p| p.overdraft_flagged).collect();
    let mut posting_entries = Vec::with_capacity(2 * plans.len());
    let mut posting_accounts = Vec::with_capacity(2 * plans.len());
    let mut posting_currencies = Vec::with_capacity(2 * plans.len());
    let mut posting_amounts = Vec::with_capacity(2 * plans.len());
    let mut ref_entries = Vec::new();
    let mut ref_kinds = Vec::new();
    let mut ref_values = Vec::new();
    let mut ref_unique = Vec::new();
    let mut event_holds = Vec::with_capacity(plans.len());
    let mut event_kinds = Vec::with_capacity(plans.len());
    let mut event_held = Vec::with_capacity(plans.len());
    let mut event_posted = Vec::with_capacity(plans.len());
    let mut event_entries: Vec<Option<Uuid>> = Vec::with_capacity(plans.len());
    for (plan, command) in plans.iter().zip(commands) {
        for posting in &plan.planned.postings {
            posting_entries.push(plan.entry_id);
            posting_accounts.push(posting.account_id);
            posting_currencies.push(posting.amount.currency.code());
            posting_amounts.push(posting.amount.amount_minor);
        }
        for reference in &command.external_refs {
            ref_entries.push(plan.entry_id);
            ref_kinds.push(reference.kind.as_str());
            ref_values.push(reference.value.as_str());
            ref_unique.push(reference.unique);
        }
        event_holds.push(command.hold_id);
        event_kinds.push("capture");
        event_held.push(plan.planned.captured_from_hold_minor);
        event_posted.push(command.amount.amount_minor);
        event_entries.push(Some(plan.entry_id));
        if plan.planned.released_after_minor > 0 {
            event_holds.push(command.hold_id);
            event_kinds.push("release");
            event_held.push(plan.planned.released_after_minor);
            event_posted.push(0);
            event_entries.push(None);
        }
    }
    let changed: Vec<NewBalance> = changed
        .into_iter()
        .map(|(account_id, (posted, held))| (account_id, posted, held))
        .collect();

    let insert_entries = tx
        .prepare_cached(
            "insert into journal_entries
                 (id, effective_date, description, metadata, overdraft_flagged)
             select id, effective_date, description, metadata, flagged
             from unnest($1::uuid[], $2::date[], $3::text[], $4::jsonb[], $5::bool[])
                  with ordinality as e(id, effective_date, description, metadata, flagged, line)
             order by line
             returning id, seq, recorded_at",
        )
        .await?;
    let insert_postings = tx
        .prepare_cached(
            "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
             select p.entry_id, p.account_id, p.currency, p.amount_minor,
                    (select e.recorded_at from journal_entries e where e.id = p.entry_id)
             from unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[]) with ordinality
                  as p(entry_id, account_id, currency, amount_minor, line)
             order by p.line
             returning id, entry_id",
        )
        .await?;
    let insert_refs = tx
        .prepare_cached(
            "insert into journal_entry_refs (entry_id, ref_kind, ref_value, is_unique)
             select * from unnest($1::uuid[], $2::text[], $3::text[], $4::bool[])",
        )
        .await?;
    let insert_events = tx
        .prepare_cached(
            "insert into hold_events (hold_id, kind, held_delta_minor, posted_minor, entry_id)
             select hold_id, kind, held_delta_minor, posted_minor, entry_id
             from unnest($1::uuid[], $2::text[], $3::int8[], $4::int8[], $5::uuid[])
                  with ordinality as e(hold_id, kind, held_delta_minor, posted_minor, entry_id, line)
             order by line",
        )
        .await?;
    // A unique reference taken meanwhile fails the insert (the caller checked them before):
    // the whole call fails, as one capture would.
    type Params<'a> = [&'a (dyn tokio_postgres::types::ToSql + Sync)];
    let entry_params: &Params = &[&entry_ids, &dates, &descriptions, &metadata, &flagged];
    let posting_params: &Params = &[
        &posting_entries,
        &posting_accounts,
        &posting_currencies,
        &posting_amounts,
    ];
    let event_params: &Params = &[
        &event_holds,
        &event_kinds,
        &event_held,
        &event_posted,
        &event_entries,
    ];
    let (entry_rows, posting_rows, _, (), _) = tokio::try_join!(
        biased;
        async { Ok::<_, LedgerError>(tx.query(&insert_entries, entry_params).await?) },
        async { Ok(tx.query(&insert_postings, posting_params).await?) },
        async {
            if ref_entries.is_empty() {
                return Ok(0);
            }
            Ok(tx
                .execute(&insert_refs, &[&ref_entries, &ref_kinds, &ref_values, &ref_unique])
                .await?)
        },
        update_balances(tx, &changed),
        async { Ok(tx.execute(&insert_events, event_params).await?) }
    )?;
    let recorded: HashMap<Uuid, (i64, OffsetDateTime)> = entry_rows
        .iter()
        .map(|row| (row.get("id"), (row.get("seq"), row.get("recorded_at"))))
        .collect();
    let mut posting_ids: HashMap<Uuid, Vec<i64>> = HashMap::with_capacity(plans.len());
    for row in &posting_rows {
        posting_ids
            .entry(row.get("entry_id"))
            .or_default()
            .push(row.get("id"));
    }
    let mut captures = Vec::with_capacity(plans.len());
    for (plan, command) in plans.into_iter().zip(commands) {
        let (seq, recorded_at) = recorded[&plan.entry_id];
        let mut ids = posting_ids.remove(&plan.entry_id).unwrap_or_default();
        ids.sort_unstable();
        debug_assert_eq!(ids.len(), plan.planned.postings.len(), "one id per posting");
        let postings = plan
            .planned
            .postings
            .iter()
            .zip(ids)
            .map(|(draft, id)| Posting {
                id,
                account_id: draft.account_id,
                amount: draft.amount,
            })
            .collect();
        captures.push(Capture {
            entry: Entry {
                id: plan.entry_id,
                seq,
                effective_date: command.effective_date,
                recorded_at,
                description: command.description.clone(),
                metadata: plan.planned.metadata,
                reverses_entry_id: None,
                overdraft_flagged: plan.overdraft_flagged,
                postings,
                external_refs: command.external_refs.clone(),
            },
            hold: plan.hold,
        });
    }
    Ok(captures)
}

async fn free_hold(
    tx: &Transaction<'_>,
    hold_id: Uuid,
    kind: &'static str,
    amount: Option<Money>,
) -> LedgerResult<Hold> {
    let mut state = lock_hold(tx, hold_id).await?;
    let amount_minor = match amount {
        None => state.remaining_minor,
        Some(amount) => {
            if amount.currency != state.currency {
                return Err(crate::money::MoneyError::CurrencyMismatch(
                    state.currency,
                    amount.currency,
                )
                .into());
            }
            if !amount.is_positive() {
                return Err(crate::money::MoneyError::NotPositive.into());
            }
            amount.amount_minor
        }
    };
    if amount_minor > state.remaining_minor || state.remaining_minor == 0 {
        return Err(LedgerError::ExceedsHold {
            hold_id,
            remaining_minor: state.remaining_minor,
            requested_minor: amount_minor,
        });
    }
    insert_hold_event(tx, hold_id, kind, amount_minor, 0, None, false).await?;
    add_held(tx, state.account_id, -amount_minor).await?;
    state.remaining_minor -= amount_minor;
    Ok(state.to_hold(hold_id))
}

pub async fn release_hold(tx: &Transaction<'_>, command: &ReleaseHold) -> LedgerResult<Hold> {
    let claim =
        match idempotency::begin(tx, &command.idempotency_key, "release_hold", command).await? {
            Begun::Replayed(hold) => return Ok(hold),
            Begun::Fresh(claim) => claim,
        };
    let hold = free_hold(tx, command.hold_id, "release", command.amount).await?;
    idempotency::finish(tx, claim, &hold).await?;
    Ok(hold)
}

/// Frees what remains of a hold at its expiry. A capture can still follow (an over-capture).
pub async fn expire_hold(
    tx: &Transaction<'_>,
    idempotency_key: &str,
    hold_id: Uuid,
) -> LedgerResult<Hold> {
    let claim = match idempotency::begin(tx, idempotency_key, "expire_hold", &hold_id).await? {
        Begun::Replayed(hold) => return Ok(hold),
        Begun::Fresh(claim) => claim,
    };
    let hold = free_hold(tx, hold_id, "expire", None).await?;
    idempotency::finish(tx, claim, &hold).await?;
    Ok(hold)
}

/// Holds whose `expires_at` has passed and that still hold something, oldest first.
pub async fn due_holds(
    client: &impl GenericClient,
    now: OffsetDateTime,
    limit: i64,
) -> LedgerResult<Vec<Uuid>> {
    let statement = client
        .prepare_cached(
            "select h.id from holds h
             where h.expires_at <= $1
               and h.amount_minor + coalesce((select sum(case when kind = 'increase' then held_delta_minor
                                                            else -held_delta_minor end)
                                              from hold_events e where e.hold_id = h.id), 0) > 0
             order by h.expires_at limit $2",
        )
        .await?;
    Ok(client
        .query(&statement, &[&now, &limit])
        .await?
        .iter()
        .map(|row| row.get("id"))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Balances and statements

pub async fn balance(client: &impl GenericClient, account_id: Uuid) -> LedgerResult<Balance> {
    let statement = client
        .prepare_cached(
            "select a.currency, a.is_hot, a.account_type, b.posted_minor, b.held_minor
             from ledger_accounts a left join account_balances b on b.account_id = a.id
             where a.id = $1",
        )
        .await?;
    let row = client
        .query_opt(&statement, &[&account_id])
        .await?
        .ok_or(LedgerError::UnknownAccount(account_id))?;
    let currency = Currency::from_code(&row.get::<_, String>("currency"))?;
    let is_hot: bool = row.get("is_hot");
    let (posted_minor, held_minor) = if is_hot {
        let account_type = AccountType::parse(row.get("account_type"))?;
        (
            derived_posted(client, account_id, account_type, None).await?,
            0,
        )
    } else {
        (
            row.get::<_, i64>("posted_minor"),
            row.get::<_, i64>("held_minor"),
        )
    };
    let available_minor = posted_minor
        .checked_sub(held_minor)
        .ok_or(crate::money::MoneyError::Overflow)?;
    Ok(Balance {
        account_id,
        posted: Money::new(posted_minor, currency),
        held: Money::new(held_minor, currency),
        available: Money::new(available_minor, currency),
    })
}

async fn derived_posted(
    client: &impl GenericClient,
    account_id: Uuid,
    account_type: AccountType,
    as_of: Option<OffsetDateTime>,
) -> LedgerResult<i64> {
    let statement = client
        .prepare_cached(
            "select coalesce(sum(amount_minor), 0)::bigint as posted_minor from journal_postings
             where account_id = $1 and ($2::timestamptz is null or recorded_at <= $2)",
        )
        .await?;
    let sum: i64 = client
        .query_one(&statement, &[&account_id, &as_of])
        .await?
        .get("posted_minor");
    Ok(sum
        .checked_mul(account_type.normal_sign())
        .ok_or(crate::money::MoneyError::Overflow)?)
}

/// The posted balance as it stood at `as_of` (by recording time).
pub async fn balance_as_of(
    client: &impl GenericClient,
    account_id: Uuid,
    as_of: OffsetDateTime,
) -> LedgerResult<Money> {
    let account = account(client, account_id).await?;
    let posted = derived_posted(client, account_id, account.account_type, Some(as_of)).await?;
    Ok(Money::new(posted, account.currency))
}

/// A page of an account's postings in recording order (recording time, then posting id), with
/// keyset pagination: the next page starts after the posting `after_posting_id` names, which
/// must be one of this account's.
pub async fn statement(
    client: &impl GenericClient,
    account_id: Uuid,
    after_posting_id: Option<i64>,
    limit: i64,
) -> LedgerResult<StatementPage> {
    check_page_size(limit)?;
    let account = account(client, account_id).await?;
    let limit_plus_one = limit + 1;
    let rows = match after_posting_id {
        None => {
            let first_page = client
                .prepare_cached(
                    "select p.id, p.entry_id, e.effective_date, p.recorded_at, e.description,
                            p.amount_minor
                     from journal_postings p join journal_entries e on e.id = p.entry_id
                     where p.account_id = $1
                     order by p.recorded_at, p.id limit $2",
                )
                .await?;
            client
                .query(&first_page, &[&account_id, &limit_plus_one])
                .await?
        }
        Some(posting_id) => {
            // After the cursor's own (recorded_at, id): a range of the index (account_id,
            // recorded_at, id) read in its order and stopped at the limit, however deep the page
            // or busy the account. (The cursor as a scalar subquery, not a join: joined, the
            // planner sorts everything after the cursor before taking the page.)
            let next_page = client
                .prepare_cached(
                    "select p.id, p.entry_id, e.effective_date, p.recorded_at, e.description,
                            p.amount_minor
                     from journal_postings p join journal_entries e on e.id = p.entry_id
                     where p.account_id = $2
                       and (p.recorded_at, p.id) > ((select c.recorded_at from journal_postings c
                                                     where c.id = $1 and c.account_id = $2), $1)
                     order by p.recorded_at, p.id limit $3",
                )
                .await?;
            let rows = client
                .query(&next_page, &[&posting_id, &account_id, &limit_plus_one])
                .await?;
            if rows.is_empty() {
                // No page after it, or not one of this account's postings: tell them apart.
                let cursor = client
                    .prepare_cached(
                        "select 1 from journal_postings where id = $1 and account_id = $2",
                    )
                    .await?;
                if client
                    .query_opt(&cursor, &[&posting_id, &account_id])
                    .await?
                    .is_none()
                {
                    return Err(LedgerError::invalid(
                        "after_posting_id_unknown",
                        format!("posting {posting_id} is not one of this account's"),
                    ));
                }
            }
            rows
        }
    };
    let has_more = rows.len() as i64 > limit;
    let lines: Vec<StatementLine> = rows
        .iter()
        .take(limit as usize)
        .map(|row| statement_line(row, &account))
        .collect::<LedgerResult<_>>()?;
    let next_after_posting_id = if has_more {
        lines.last().map(|line| line.posting_id)
    } else {
        None
    };
    Ok(StatementPage {
        lines,
        next_after_posting_id,
    })
}

/// The account's newest `count` lines, newest first: what a kiosk or a case page shows, read
/// from the end of the account's index instead of paging through its whole history.
pub async fn latest_statement_lines(
    client: &impl GenericClient,
    account_id: Uuid,
    count: i64,
) -> LedgerResult<Vec<StatementLine>> {
    check_page_size(count)?;
    let account = account(client, account_id).await?;
    let statement = client
        .prepare_cached(
            "select p.id, p.entry_id, e.effective_date, p.recorded_at, e.description, p.amount_minor
             from journal_postings p join journal_entries e on e.id = p.entry_id
             where p.account_id = $1
             order by p.recorded_at desc, p.id desc limit $2",
        )
        .await?;
    let rows = client.query(&statement, &[&account_id, &count]).await?;
    rows.iter()
        .map(|row| statement_line(row, &account))
        .collect()
}

fn check_page_size(lines: i64) -> LedgerResult<()> {
    if !(1..=MAX_STATEMENT_PAGE).contains(&lines) {
        return Err(LedgerError::invalid(
            "page_size_invalid",
            format!("a page holds 1 to {MAX_STATEMENT_PAGE} lines"),
        ));
    }
    Ok(())
}

/// A statement row (id, entry, effective date, recorded at, description, amount) with the amount
/// in the account's normal direction.
fn statement_line(row: &tokio_postgres::Row, account: &Account) -> LedgerResult<StatementLine> {
    let amount_minor: i64 = row.get("amount_minor");
    Ok(StatementLine {
        posting_id: row.get("id"),
        entry_id: row.get("entry_id"),
        effective_date: row.get("effective_date"),
        recorded_at: row.get("recorded_at"),
        description: row.get("description"),
        amount: Money::new(
            amount_minor
                .checked_mul(account.account_type.normal_sign())
                .ok_or(crate::money::MoneyError::Overflow)?,
            account.currency,
        ),
    })
}
