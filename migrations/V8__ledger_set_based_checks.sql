-- The ledger's two posting checks from V1, set-based: one check per INSERT statement instead of
-- a trigger call (and two or one queries) per posting row. A payroll of 10,000 entries inserts its
-- 40,000 postings in one statement; V1 ran 80,000 balance queries at commit and 40,000 account
-- look-ups on insert for it.
--
-- Guarantees, for every client (the code, psql, a script), unchanged or stronger than V1:
-- * after every INSERT into journal_postings, each entry it touched has at least two postings and
--   they sum to zero per currency. V1 checked this at COMMIT (deferred); now it is checked at the
--   end of the statement, which is stricter: the postings of an entry go in one statement (as
--   `ledger::store` and `ledger::batch` write them). Postings can never be updated, deleted or
--   truncated (V1's append-only triggers), so an entry that balances after its statement balances
--   for ever, and a later statement adding postings to it is checked again with all of them.
--   Each check sees the committed postings plus the transaction's own, so concurrent writers
--   cannot hide each other's imbalance: every committed entry balances, by induction.
-- * no posting goes to a closed account (V1: per row before insert; now after the statement, in
--   the same transaction, so the statement fails the same way).
-- Error codes and messages are V1's: P0002 'journal entry … has fewer than two postings' /
-- '… does not balance in …', P0003 'account … is closed'.
-- As in V1, an entry without any posting is not refused here; `saldo verify` reports it.

drop trigger journal_postings_balanced on journal_postings;
drop trigger journal_postings_open_account on journal_postings;
drop function check_entry_balanced();
drop function check_account_open();

create function check_inserted_postings() returns trigger language plpgsql as $$
declare
    closed_account uuid;
    bad_entry uuid;
    bad_currency char(3);
    bad_lines bigint;
begin
    select a.id into closed_account
    from (select distinct account_id from new_postings) n
    join ledger_accounts a on a.id = n.account_id
    where a.closed_at is not null
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

create trigger journal_postings_checked after insert on journal_postings
    referencing new table as new_postings
    for each statement execute function check_inserted_postings();
