-- An incremental authorization spends in the window of the moment it was approved, not in its
-- parent's (docs/controls.md, "How spend is counted"). Before, an increment grew the parent's hold
-- and so its `held_minor`, which V13 counts at the parent's time: a Tuesday authorization grown
-- on Wednesday put Wednesday's increments in Tuesday, and Wednesday's limit never saw them.
--
-- The parent row keeps its approved increments, in order: when (`increment_at`) and how much
-- (`increment_minor`). What the authorization spends in all (`held_minor + cleared_minor`, as in
-- V13) is split over those moments by `card.authorization_spend_parts`:
-- * each increment counts at its own time, as much of it as the total still covers beyond the
--   original approval (`approved_minor`) and the increments before it: a reversal, an expiry or
--   a smaller final clearing gives room back from the latest increment first;
-- * the rest (the original approval, and a clearing beyond everything approved) counts at the
--   authorization's own time, as before.
-- The parts always add up to the total. V13's triggers now add each statement's change of these
-- parts per minute; every other rule of V13 stands (one upsert per statement, minutes in key
-- order, the minutes last).
--
-- Also the request's own time as the processor's envelope gave it (`request_timestamp`), kept
-- for every decided request: the decision's time (`authorized_at`) is that, or the server's
-- clock when the envelope was more than the webhook tolerance (300 s) away from it
-- (card_adapter::process::request_time).

alter table card.authorizations
    add column increment_at timestamptz[] not null default '{}',
    add column increment_minor bigint[] not null default '{}',
    add column request_timestamp timestamptz,
    add constraint authorizations_increments_paired
        check (cardinality(increment_at) = cardinality(increment_minor));

create function card.authorization_spend_parts(
    own_at timestamptz, total_minor bigint, approved_minor bigint,
    increment_at timestamptz[], increment_minor bigint[])
returns table (minute timestamptz, part_minor bigint)
language sql immutable parallel safe
as $$
    with increments as (
        select i.at,
               least(i.minor, greatest(0, $2 - $3 - (sum(i.minor) over (order by i.n) - i.minor)))
                   ::bigint as part_minor
        from unnest($4, $5) with ordinality as i(at, minor, n)
    )
    select card.authorization_spend_minute($1),
           ($2 - coalesce((select sum(p.part_minor) from increments p), 0))::bigint
    union all
    select card.authorization_spend_minute(p.at), p.part_minor from increments p
$$;

create or replace function card.authorization_spend_inserted() returns trigger language plpgsql as $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select n.card_id, n.currency, p.minute, sum(p.part_minor)
    from inserted_authorizations n
    cross join lateral card.authorization_spend_parts(
        coalesce(n.authorized_at, n.created_at), n.held_minor + n.cleared_minor,
        n.approved_minor, n.increment_at, n.increment_minor) p
    group by 1, 2, 3
    having sum(p.part_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

create or replace function card.authorization_spend_updated() returns trigger language plpgsql as $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select c.card_id, c.currency, c.minute, sum(c.delta_minor)
    from (
        select n.card_id, n.currency, p.minute, p.part_minor as delta_minor
        from updated_new n
        cross join lateral card.authorization_spend_parts(
            coalesce(n.authorized_at, n.created_at), n.held_minor + n.cleared_minor,
            n.approved_minor, n.increment_at, n.increment_minor) p
        union all
        select o.card_id, o.currency, p.minute, -p.part_minor
        from updated_old o
        cross join lateral card.authorization_spend_parts(
            coalesce(o.authorized_at, o.created_at), o.held_minor + o.cleared_minor,
            o.approved_minor, o.increment_at, o.increment_minor) p
    ) c
    group by 1, 2, 3
    having sum(c.delta_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

create or replace function card.authorization_spend_deleted() returns trigger language plpgsql as $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select o.card_id, o.currency, p.minute, -sum(p.part_minor)
    from deleted_authorizations o
    cross join lateral card.authorization_spend_parts(
        coalesce(o.authorized_at, o.created_at), o.held_minor + o.cleared_minor,
        o.approved_minor, o.increment_at, o.increment_minor) p
    group by 1, 2, 3
    having sum(p.part_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

-- Increments approved before this migration move to their own minutes: each is a row of its own
-- (`parent_authorization_id`, no hold of its own) whose `approved_minor` grew the parent's hold.
-- The update trigger above moves the counters with them.
update card.authorizations p
   set increment_at = i.at, increment_minor = i.minor
  from (select c.parent_authorization_id as authorization_id,
               array_agg(coalesce(c.authorized_at, c.created_at)
                         order by coalesce(c.authorized_at, c.created_at), c.authorization_id) as at,
               array_agg(c.approved_minor
                         order by coalesce(c.authorized_at, c.created_at), c.authorization_id) as minor
        from card.authorizations c
        where c.parent_authorization_id is not null and c.hold_id is null
          and c.decision = 'APPROVE' and c.approved_minor > 0
        group by 1) i
 where p.authorization_id = i.authorization_id and p.hold_id is not null;
