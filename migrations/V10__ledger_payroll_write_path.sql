-- The batch write path (payroll: 10,000 entries, 40,000 postings, 30,000 balance updates in one
-- transaction), made cheaper without changing what is checked. docs/performance.md, "Payroll (3)".
--
-- 1. Room for HOT updates on account_balances. A balance update changes no indexed column, so
--    PostgreSQL can write the new row version on the same page without a new index entry (a HOT
--    update), but only when the page has room for it. At the default fillfactor (100) pages are
--    filled up and nearly every update also inserts into the primary key index (and leaves it
--    bloated for the next reader). A payroll updates three of each person's four balance rows in
--    one transaction, so a page needs room for about three quarters of its rows again: 50 %.
--    Only pages written from now on are filled to 50 %; an existing database gets there as rows
--    move (or at once with `vacuum full account_balances` in a maintenance window).
alter table account_balances set (fillfactor = 50);

-- 2. V8's open-account check probed every account a statement touched (30,001 index probes and
--    heap visits for a payroll) to find the few closed ones. A partial index of the closed
--    accounts lets it look only at those, against a hash of the statement's accounts.
create index ledger_accounts_closed on ledger_accounts (id) where closed_at is not null;

-- Same function as V8 (same trigger, same checks, same error codes and messages); only the
-- open-account query is written so that it starts from the closed accounts.
create or replace function check_inserted_postings() returns trigger language plpgsql as $$
declare
    closed_account uuid;
    bad_entry uuid;
    bad_currency char(3);
    bad_lines bigint;
begin
    select a.id into closed_account
    from ledger_accounts a
    where a.closed_at is not null
      and a.id in (select n.account_id from new_postings n)
    limit 1;
    if closed_account is not null then
        raise exception 'account % is closed', closed_account using errcode = 'P0003';
    end if;

    -- All postings of each touched entry (earlier statements' too), through the entry index: the
    -- lateral join keeps it an index probe per entry, whatever the size of the journal.
    select t.entry_id, b.currency, b.lines into bad_entry, bad_currency, bad_lines
    from (select distinct entry_id from new_postings) t
    cross join lateral (
        select p.currency, sum(p.amount_minor) as total, sum(count(*)) over () as lines
        from journal_postings p
        where p.entry_id = t.entry_id
        group by p.currency
    ) b
    where b.total <> 0 or b.lines < 2
    limit 1;
    if bad_entry is not null then
        if bad_lines < 2 then
            raise exception 'journal entry % has fewer than two postings', bad_entry
                using errcode = 'P0002';
        end if;
        raise exception 'journal entry % does not balance in %', bad_entry, bad_currency
            using errcode = 'P0002';
    end if;
    return null;
end;
$$;
