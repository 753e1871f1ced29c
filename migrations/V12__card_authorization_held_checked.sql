-- A new card.authorizations row that already points at its hold carries `held_minor` itself, and
-- PostgreSQL checks it once per INSERT statement instead of computing it once per row.
--
-- V11 filled the column with a BEFORE INSERT trigger: one plpgsql call and one query per row.
-- For a batch of new authorizations (card-adapter/src/decisions.rs) that call was half of the
-- insert's time (~30 µs of ~60 µs a row; docs/performance.md). The batch knows each hold's
-- amount, since it placed the hold a statement earlier.
--
-- Guarantee, for every client: after every INSERT into card.authorizations, each inserted row's
-- `held_minor` is what its hold still holds (the hold's amount plus its events), or 0 without a
-- hold. A wrong value fails the statement (23514, check_violation); the default 0 is right for a
-- row without a hold. V11's other triggers stay: a row that comes to point at a hold later
-- (UPDATE of hold_id) is filled per row, and every hold event keeps the column true.

drop trigger authorizations_held_on_insert on card.authorizations;

create function card.check_inserted_authorizations_held() returns trigger language plpgsql as $$
declare
    wrong_rows bigint;
begin
    select count(*) into wrong_rows
    from inserted_authorizations n
    left join lateral (
        select h.amount_minor + coalesce((
                   select sum(case when e.kind = 'increase' then e.held_delta_minor
                                   else -e.held_delta_minor end)
                   from hold_events e where e.hold_id = h.id), 0) as remaining
        from holds h where h.id = n.hold_id
    ) r on true
    where n.held_minor <> coalesce(r.remaining, 0);
    if wrong_rows > 0 then
        raise exception '% new card authorization row(s) with held_minor unlike their hold', wrong_rows
            using errcode = 'check_violation',
                  constraint = 'authorizations_held_minor_is_the_hold',
                  hint = 'insert held_minor as the hold''s remaining amount (0 without a hold)';
    end if;
    return null;
end;
$$;

create trigger authorizations_held_checked after insert on card.authorizations
    referencing new table as inserted_authorizations
    for each statement execute function card.check_inserted_authorizations_held();
