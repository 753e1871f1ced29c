-- What each authorization's hold still holds, kept on its card.authorizations row, so that the
-- spend-window sum of the authorization decision (card-adapter/src/controls.rs) reads one row per
-- authorization instead of probing `holds` and aggregating `hold_events` for each of them. A card
-- with thousands of authorizations in a month made every decision on it scan them all (13 ms per
-- decision at 3,000; docs/performance.md).
--
-- Kept by PostgreSQL itself, so every path that changes a hold keeps it true, including the
-- ledger's own expiry of overdue holds and an incremental authorization growing its parent's hold:
-- * when a row first points at a hold (`hold_id` set), the hold's remaining amount is computed
--   from `holds` and `hold_events` (events booked before, e.g. early reversals, included);
-- * every later hold event adds or takes away its `held_delta_minor`.
-- The application never writes the column.
--
-- The ledger's expiry job frees an overdue hold (balance row locked) and then, through the event
-- trigger, waits for the authorization's row; card events lock the row first and the balance row
-- after. Should both meet on one hold (the processor's expiry comes a day before ours), PostgreSQL
-- ends the deadlock by failing one of them: the job tries again a minute later, the webhook is
-- answered 5xx and redelivered. Nothing is lost or booked twice.

alter table card.authorizations add column held_minor bigint not null default 0
    check (held_minor >= 0);

create index authorizations_hold on card.authorizations (hold_id) where hold_id is not null;

-- plpgsql, not a `language sql` helper: plpgsql keeps the query's plan for the session, where
-- a SQL function called per row would be parsed and planned on every call.
create function card.authorization_held_from_hold() returns trigger language plpgsql as $$
declare
    remaining bigint;
begin
    select h.amount_minor + coalesce(sum(case when e.kind = 'increase' then e.held_delta_minor
                                              else -e.held_delta_minor end), 0)
      into remaining
      from holds h left join hold_events e on e.hold_id = h.id
     where h.id = new.hold_id
     group by h.amount_minor;
    new.held_minor := coalesce(remaining, 0);
    return new;
end;
$$;

-- Only when the row comes to point at another hold (once per authorization, when its hold is
-- placed): otherwise the row keeps what the hold events below made of it, and the decision's
-- other updates pay no trigger call.
create trigger authorizations_held_on_insert before insert on card.authorizations
    for each row when (new.hold_id is not null)
    execute function card.authorization_held_from_hold();
create trigger authorizations_held_from_hold before update of hold_id on card.authorizations
    for each row when (new.hold_id is distinct from old.hold_id)
    execute function card.authorization_held_from_hold();

create function card.authorization_held_follows_event() returns trigger language plpgsql as $$
begin
    update card.authorizations
       set held_minor = held_minor + case when new.kind = 'increase' then new.held_delta_minor
                                          else -new.held_delta_minor end
     where hold_id = new.hold_id;
    return null;
end;
$$;

create trigger hold_events_update_authorization_held after insert on hold_events
    for each row execute function card.authorization_held_follows_event();

update card.authorizations a
   set held_minor = h.amount_minor + coalesce((
           select sum(case when e.kind = 'increase' then e.held_delta_minor
                           else -e.held_delta_minor end)
           from hold_events e where e.hold_id = h.id), 0)
  from holds h
 where h.id = a.hold_id;
