//! Realistic data in bulk, through the real schema: prisoners with their four sub-accounts,
//! balance rows, a deposit entry each, an active card each, a placement in one prison, and the
//! prison's wage allocation rules. Set-based SQL (one statement per table), as a superuser with
//! the append-only and balance triggers off for the load only (`session_replication_role =
//! replica`); what is loaded is balanced, and `saldo verify` checks it afterwards.

use std::io::Write;
use std::path::Path;

use deadpool_postgres::Pool;
use ledger::allocation::{AllocationKind, AllocationRule, Purpose};
use ledger::income::{self, IncomeKind};
use ledger::{AccountType, Currency, Money, NewAccount, institution_purpose};
use uuid::Uuid;

/// The cards the hot phases use: the 100-card run takes the first `HOT_CARDS`, the single-card
/// runs the first of them.
pub const HOT_CARDS: usize = 100;

/// A hot card's opening deposit: 1,000,000.00 EUR, the ledger's bound for one EUR amount
/// (`Currency::max_amount_minor`; beyond it `saldo verify` fails `amounts_bounded`), so no
/// authorization in a run is declined for lack of money: the hot single card takes tens of
/// thousands of holds of up to 4.99 each (~200,000 fit; 100,000.00 ran out after ~35,000).
pub const HOT_OPENING_DEPOSIT_MINOR: i64 = 100_000_000;

/// Every other prisoner's opening deposit: 10,000.00 EUR, thousands of the run's purchases. Not
/// the hot cards' million: 10,000 of those put 10,000,000,000.00 EUR in the trust bank account,
/// beyond what `saldo verify` holds plausible for one account (`balances_plausible`: 1,000 times
/// the amount bound), so the bench's own verify failed.
pub const OPENING_DEPOSIT_MINOR: i64 = 1_000_000;

pub struct Dataset {
    pub prison_id: Uuid,
    pub persons: Vec<Uuid>,
    pub spendable: Vec<Uuid>,
    pub cards: Vec<String>,
    pub bank: Uuid,
    pub payable: Uuid,
}

async fn open_institution(
    ledger: &ledger::Ledger,
    purpose: &str,
    account_type: AccountType,
) -> anyhow::Result<Uuid> {
    let account = NewAccount::institution(purpose, account_type, Currency::EUR);
    Ok(ledger
        .open_account(&format!("open:{}", account.code), &account)
        .await?
        .id)
}

pub async fn load(pool: &Pool, prisoners: usize) -> anyhow::Result<Dataset> {
    load_at(pool, prisoners, time::OffsetDateTime::now_utc()).await
}

/// The same, the opening deposits recorded at `recorded_at` (the entitlement benchmark puts them
/// before the journal it generates).
pub async fn load_at(
    pool: &Pool,
    prisoners: usize,
    recorded_at: time::OffsetDateTime,
) -> anyhow::Result<Dataset> {
    let ledger = ledger::Ledger::new(pool.clone());
    let bank =
        open_institution(&ledger, institution_purpose::BANK_TRUST, AccountType::Asset).await?;
    let payable = open_institution(
        &ledger,
        institution_purpose::CARD_SETTLEMENT_PAYABLE,
        AccountType::Liability,
    )
    .await?;
    let prison_id = Uuid::now_v7();
    let persons: Vec<Uuid> = (0..prisoners).map(|_| Uuid::now_v7()).collect();

    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute("set local session_replication_role = replica")
        .await?;
    tx.execute(
        "insert into ledger_accounts
            (id, code, account_type, currency, owner_kind, person_id, purpose, balance_rule, is_hot,
             created_at)
         select gen_random_uuid(), 'person:' || p || ':' || purpose || ':EUR', 'liability', 'EUR',
                'person', p, purpose, 'non_negative', false, $2
         from unnest($1::uuid[]) as p
         cross join unnest(array['spendable', 'release_savings', 'held_deposits', 'restitution'])
              as purpose",
        &[&persons, &recorded_at],
    )
    .await?;
    tx.execute(
        "insert into account_balances (account_id)
         select id from ledger_accounts where person_id = any($1)",
        &[&persons],
    )
    .await?;
    let spendable: Vec<Uuid> = tx
        .query(
            "select a.id from unnest($1::uuid[]) with ordinality as p(person_id, ord)
             join ledger_accounts a on a.person_id = p.person_id and a.purpose = 'spendable'
             order by p.ord",
            &[&persons],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let deposits: Vec<i64> = (0..spendable.len())
        .map(|index| {
            if index < HOT_CARDS {
                HOT_OPENING_DEPOSIT_MINOR
            } else {
                OPENING_DEPOSIT_MINOR
            }
        })
        .collect();
    // One family deposit each: debit the trust bank account (hot), credit spendable.
    tx.execute(
        "insert into journal_entries (id, effective_date, recorded_at, description, metadata)
         select md5('bench-deposit-' || s.account_id)::uuid, current_date, $2,
                'family deposit', '{}'
         from unnest($1::uuid[]) as s(account_id)",
        &[&spendable, &recorded_at],
    )
    .await?;
    tx.execute(
        "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
         select md5('bench-deposit-' || s.account_id)::uuid, x.account_id, 'EUR', x.amount, $4
         from unnest($1::uuid[], $3::bigint[]) as s(account_id, deposit),
              lateral (values ($2::uuid, s.deposit), (s.account_id, -s.deposit))
                  as x(account_id, amount)",
        &[&spendable, &bank, &deposits, &recorded_at],
    )
    .await?;
    tx.execute(
        "update account_balances b set posted_minor = s.deposit
         from unnest($1::uuid[], $2::bigint[]) as s(account_id, deposit)
         where b.account_id = s.account_id",
        &[&spendable, &deposits],
    )
    .await?;
    let cards: Vec<String> = (0..prisoners).map(|n| format!("card_bench{n}")).collect();
    tx.execute(
        "insert into card.cards (card_id, cardholder_id, person_id, account_id, state, last4)
         select c.card_id, 'ch_bench' || c.ord, p.person_id, s.account_id, 'ACTIVE', '4821'
         from unnest($1::text[]) with ordinality as c(card_id, ord)
         join unnest($2::uuid[]) with ordinality as p(person_id, ord) using (ord)
         join unnest($3::uuid[]) with ordinality as s(account_id, ord) using (ord)",
        &[&cards, &persons, &spendable],
    )
    .await?;
    // The prison's spending controls: the closed-prison template with the canteen the load
    // generator buys at, and no spend limits, so every card can take the whole run's load.
    let mut policy =
        ledger::controls::Policy::closed_prison("bench-closed", 1, "FI", &["m_canteen"]);
    policy.limits = ledger::controls::Limits::NONE;
    policy.max_balance = None;
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let policy =
        ledger::policy_store::publish_policy(&tx, &policy, Some(prison_id), since, "bench").await?;
    ledger::policy_store::assign_policy(
        &tx,
        prison_id,
        policy.regime,
        &policy.id,
        "Europe/Helsinki",
        since,
        "bench",
    )
    .await?;
    tx.execute(
        "insert into controls.card_modes
            (person_id, prison_id, regime, mode, reason, changed_by, effective_from)
         select p, $2, 'closed_prison', '{\"mode\": \"inside\"}', 'admission', 'bench', $3
         from unnest($1::uuid[]) as p",
        &[&persons, &prison_id, &recorded_at],
    )
    .await?;
    tx.commit().await?;

    // The prison's wage rules: 15 % to release savings, 0.50 to restitution, the rest spendable.
    let tx = client.transaction().await?;
    let rule = |id: &str, purpose, kind| AllocationRule {
        id: id.into(),
        purpose,
        kind,
        cap: None,
        threshold: None,
        effective_from: time::macros::date!(2020 - 01 - 01),
        effective_until: None,
    };
    income::publish_rule_set(
        &tx,
        prison_id,
        IncomeKind::Wages,
        &[
            rule(
                "savings",
                Purpose::ReleaseSavings,
                AllocationKind::Percentage {
                    basis_points: 1_500,
                },
            ),
            rule(
                "victims",
                Purpose::Restitution,
                AllocationKind::Fixed {
                    amount: Money::new(50, Currency::EUR),
                },
            ),
        ],
        Money::new(0, Currency::EUR),
        "bench",
    )
    .await?;
    tx.commit().await?;
    client
        .batch_execute("analyze ledger_accounts; analyze account_balances; analyze card.cards; analyze journal_postings; analyze journal_entries")
        .await?;
    Ok(Dataset {
        prison_id,
        persons,
        spendable,
        cards,
        bank,
        payable,
    })
}

/// `rows` card purchases as the processor's clearings would have booked them (debit a
/// prisoner's spendable, credit the settlement payable, the transaction id as the unique
/// external reference), spread over every prisoner, with their balance rows kept equal to the
/// postings. Then the processor's settlement file for the same purchases, written to `path`.
pub async fn card_purchases_and_settlement_file(
    pool: &Pool,
    data: &Dataset,
    rows: i64,
    date: time::Date,
    path: &Path,
) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute("set local session_replication_role = replica")
        .await?;
    let prisoners = i64::try_from(data.spendable.len())?;
    tx.execute(
        "insert into journal_entries (id, effective_date, recorded_at, description, metadata)
         select md5('bench-purchase-' || n)::uuid, $1, now(), 'card purchase', '{}'
         from generate_series(1, $2::bigint) n",
        &[&date, &rows],
    )
    .await?;
    tx.execute(
        "insert into journal_postings (entry_id, account_id, currency, amount_minor, recorded_at)
         select md5('bench-purchase-' || n)::uuid, x.account_id, 'EUR', x.amount, now()
         from generate_series(1, $1::bigint) n,
              lateral (select ($3::uuid[])[1 + n % $4] as spendable, 100 + n % 900 as amount) s,
              lateral (values (s.spendable, s.amount), ($2::uuid, -s.amount)) as x(account_id, amount)",
        &[&rows, &data.payable, &data.spendable, &prisoners],
    )
    .await?;
    tx.execute(
        "insert into journal_entry_refs (entry_id, ref_kind, ref_value, is_unique)
         select md5('bench-purchase-' || n)::uuid, 'processor_transaction', 'txn_bp' || n, true
         from generate_series(1, $1::bigint) n",
        &[&rows],
    )
    .await?;
    // A liability's balance is minus the sum of its postings: debits lower it.
    tx.execute(
        "update account_balances b set posted_minor = b.posted_minor - s.spent
         from (select ($2::uuid[])[1 + n % $3] as account_id, sum(100 + n % 900)::bigint as spent
               from generate_series(1, $1::bigint) n group by 1) s
         where b.account_id = s.account_id",
        &[&rows, &data.spendable, &prisoners],
    )
    .await?;
    tx.commit().await?;
    // Vacuumed, as autovacuum has long done to a ledger that grew over months: else the first
    // reader (verify) pays for the hint bits of millions of rows written a second ago, a cost
    // of this bulk load, not of a ledger. One statement each: VACUUM runs outside a transaction.
    for table in [
        "journal_entries",
        "journal_postings",
        "journal_entry_refs",
        "account_balances",
    ] {
        client
            .batch_execute(&format!("vacuum (analyze) {table}"))
            .await?;
    }

    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "{}", processor_protocol::settlement::SETTLEMENT_HEADER)?;
    let mut net = 0_i64;
    let count = usize::try_from(prisoners)?;
    for n in 1..=rows {
        let amount = 100 + n % 900;
        net += amount;
        let card = &data.cards[usize::try_from(n)? % count];
        writeln!(
            out,
            "r{n},{date},CLEARING,txn_bp{n},auth_bp{n},{card},{amount},EUR,5411,{date}T10:00:00Z"
        )?;
    }
    writeln!(out, "TRAILER,{date},,{rows},,,{net},EUR,,")?;
    out.flush()?;
    Ok(())
}
