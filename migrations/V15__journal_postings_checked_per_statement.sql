-- A posting's references to its account and its entry are checked once per INSERT statement, in
-- V8's statement-level check, instead of by V1's two foreign keys; and the balance check is one
-- plain aggregate per entry. Same guarantees, much less work per posting.
--
-- Why: a foreign key is a per-row trigger. For each posting PostgreSQL queues an event, runs a
-- look-up through SPI and locks the referenced row (FOR KEY SHARE: a WAL record and a dirtied
-- page per account). A payroll of 10,000 lines writes 40,000 postings; its two foreign keys cost
-- ~280 ms of its ~1.07 s. The same checks over the statement's distinct accounts (30,001) and
-- entries (10,000) take ~50 ms (docs/performance.md, "Payroll (3)").
--
-- What the foreign keys guaranteed, and what guarantees it now:
-- * a new posting names an existing account in the posting's currency, and an existing entry:
--   checked here at the end of every INSERT statement, as the foreign keys' row triggers were
--   (SQLSTATE 23503 foreign_key_violation, with the old constraint names);
-- * the referenced rows cannot be deleted or re-keyed later: accounts are never deleted and only
--   ever closed (V1's ledger_accounts_guard), entries are append-only (V1), and neither table can
--   be truncated (V1's journal_entries_no_truncate; ledger_accounts_no_truncate below). The row
--   lock a foreign key takes only guards against deletes that cannot happen.
-- The one difference: these are user triggers, so `alter table … disable trigger user` (by the
-- table's owner or a superuser) turns them off, as it already turns off V8's balance check and
-- the append-only triggers. What such a bypass leaves behind, `saldo verify` finds: postings
-- whose account or entry does not exist (checks posting_currency and posting_time), besides
-- unbalanced entries and the sealed journal's checkpoints.
alter table journal_postings drop constraint journal_postings_account_id_currency_fkey;
alter table journal_postings drop constraint journal_postings_entry_id_fkey;
comment on column journal_postings.account_id is
    'references ledger_accounts (id, currency) with currency: checked per statement by check_inserted_postings (V15)';
comment on column journal_postings.entry_id is
    'references journal_entries (id): checked per statement by check_inserted_postings (V15)';

-- V10's partial index of closed accounts served only the open-account check's old query; the
-- probe below reads closed_at from the account row it looks up anyway.
drop index ledger_accounts_closed;

create trigger ledger_accounts_no_truncate before truncate on ledger_accounts
    for each statement execute function refuse_change();

-- Same trigger as V8, same error codes and messages for closed accounts and unbalanced entries.
create or replace function check_inserted_postings() returns trigger language plpgsql as $$
declare
    bad_account uuid;
    bad_currency char(3);
    account_open boolean;
    bad_entry uuid;
    bad_lines bigint;
    entry_missing boolean;
begin
    -- Each distinct (account, currency) of the statement: one index probe. The plan is cached
    -- for the session whatever the statement's size, so it must suit one posting as well as
    -- 40,000: the lateral subquery (kept apart from the outer query by its `limit`) forces the
    -- probes; a hash join would read every account for every posting of a card payment.
    select n.account_id, n.currency, o.is_open into bad_account, bad_currency, account_open
    from (select distinct account_id, currency from new_postings) n
    left join lateral (
        select a.closed_at is null as is_open
        from ledger_accounts a
        where a.id = n.account_id and a.currency = n.currency
        limit 1
    ) o on true
    where o.is_open is distinct from true
    limit 1;
    if bad_account is not null then
        if account_open is null then
            raise exception 'account % in % does not exist', bad_account, bad_currency
                using errcode = 'foreign_key_violation',
                      constraint = 'journal_postings_account_id_currency_fkey';
        end if;
        raise exception 'account % is closed', bad_account using errcode = 'P0003';
    end if;

    -- Each touched entry exists and, with all its postings (earlier statements' too, through the
    -- entry index), has two or more that sum to zero per currency. One plain aggregate per
    -- entry: an entry in one currency (nearly all) balances when its sum is zero; only an entry
    -- in several currencies is summed per currency.
    select t.entry_id, b.lines, b.entry_missing into bad_entry, bad_lines, entry_missing
    from (select distinct entry_id from new_postings) t
    cross join lateral (
        select count(*) as lines, sum(p.amount_minor) as total,
               min(p.currency) as low_currency, max(p.currency) as high_currency,
               not exists (select 1 from journal_entries e where e.id = t.entry_id) as entry_missing
        from journal_postings p
        where p.entry_id = t.entry_id
    ) b
    where b.entry_missing
       or b.lines < 2
       or (b.low_currency = b.high_currency and b.total <> 0)
       or (b.low_currency <> b.high_currency and exists (
               select 1 from journal_postings p
               where p.entry_id = t.entry_id
               group by p.currency
               having sum(p.amount_minor) <> 0))
    limit 1;
    if bad_entry is not null then
        if entry_missing then
            raise exception 'journal entry % does not exist', bad_entry
                using errcode = 'foreign_key_violation',
                      constraint = 'journal_postings_entry_id_fkey';
        end if;
        if bad_lines < 2 then
            raise exception 'journal entry % has fewer than two postings', bad_entry
                using errcode = 'P0002';
        end if;
        select p.currency into bad_currency
        from journal_postings p
        where p.entry_id = bad_entry
        group by p.currency
        having sum(p.amount_minor) <> 0
        order by p.currency
        limit 1;
        raise exception 'journal entry % does not balance in %', bad_entry, bad_currency
            using errcode = 'P0002';
    end if;
    return null;
end;
$$;
