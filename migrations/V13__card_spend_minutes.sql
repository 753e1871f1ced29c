-- What each card has spent, per minute, kept by PostgreSQL, so that the authorization decision's
-- spend sum (card-adapter/src/controls.rs) reads one row per minute with spending instead of one
-- row per authorization. A card with hundreds of authorizations in its month made every decision
-- on it sum them all: the 100-card benchmark figure fell to 0.78 of the 10,000-card one, and one
-- card with 45,000 authorizations took 10 ms per decision (docs/performance.md).
--
-- An authorization spends `held_minor + cleared_minor` (what its hold still holds plus what was
-- cleared against it) at `coalesce(authorized_at, created_at)`. `spent_minor` of (card,
-- currency, minute) is the sum of that over the card's authorizations in that currency whose time
-- falls in [minute, minute + 1 min), minutes counted from the Unix epoch (`date_bin`, so the
-- session's time zone plays no part). Spend windows start and end on whole minutes (local
-- midnights and Mondays in any current time zone), so a window's spend is exactly the sum of the
-- minutes inside it; the code checks that before reading.
--
-- Kept by statement-level triggers with transition tables: one upsert per INSERT, UPDATE or
-- DELETE statement on card.authorizations, adding what the statement changed per minute (rows
-- in key order, so two statements never wait on each other's minutes in opposite orders). Every
-- path that changes what an authorization spends is a statement on that table, V11's hold-event
-- trigger included, so the counters hold for every client. Each writer takes its minute rows
-- last, after its authorization and balance rows, so they add no lock cycle.
--
-- The spend sum no longer reads card.authorizations by card and time, so V4's index for it goes.

create table card.authorization_spend_minutes (
    card_id     text not null,
    currency    char(3) not null,
    minute      timestamptz not null,
    spent_minor bigint not null,
    primary key (card_id, currency, minute)
);

create function card.authorization_spend_minute(at timestamptz) returns timestamptz
    language sql immutable parallel safe
    return date_bin('1 minute', at, timestamptz '1970-01-01 00:00:00+00');

create function card.authorization_spend_inserted() returns trigger language plpgsql as $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select n.card_id, n.currency,
           card.authorization_spend_minute(coalesce(n.authorized_at, n.created_at)),
           sum(n.held_minor + n.cleared_minor)
    from inserted_authorizations n
    group by 1, 2, 3
    having sum(n.held_minor + n.cleared_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

create function card.authorization_spend_updated() returns trigger language plpgsql as $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select c.card_id, c.currency, c.minute, sum(c.delta_minor)
    from (
        select n.card_id, n.currency,
               card.authorization_spend_minute(coalesce(n.authorized_at, n.created_at)) as minute,
               n.held_minor + n.cleared_minor as delta_minor
        from updated_new n
        union all
        select o.card_id, o.currency,
               card.authorization_spend_minute(coalesce(o.authorized_at, o.created_at)),
               -(o.held_minor + o.cleared_minor)
        from updated_old o
    ) c
    group by 1, 2, 3
    having sum(c.delta_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

create function card.authorization_spend_deleted() returns trigger language plpgsql as $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select o.card_id, o.currency,
           card.authorization_spend_minute(coalesce(o.authorized_at, o.created_at)),
           -sum(o.held_minor + o.cleared_minor)
    from deleted_authorizations o
    group by 1, 2, 3
    having sum(o.held_minor + o.cleared_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

create trigger authorizations_spend_inserted after insert on card.authorizations
    referencing new table as inserted_authorizations
    for each statement execute function card.authorization_spend_inserted();
create trigger authorizations_spend_updated after update on card.authorizations
    referencing old table as updated_old new table as updated_new
    for each statement execute function card.authorization_spend_updated();
create trigger authorizations_spend_deleted after delete on card.authorizations
    referencing old table as deleted_authorizations
    for each statement execute function card.authorization_spend_deleted();
create trigger authorization_spend_minutes_no_truncate before truncate on card.authorization_spend_minutes
    for each statement execute function refuse_change();

insert into card.authorization_spend_minutes (card_id, currency, minute, spent_minor)
select card_id, currency, card.authorization_spend_minute(coalesce(authorized_at, created_at)),
       sum(held_minor + cleared_minor)
from card.authorizations
group by 1, 2, 3
having sum(held_minor + cleared_minor) <> 0;

drop index card.authorizations_card_spend;
