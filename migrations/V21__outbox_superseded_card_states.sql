-- A card-state call (POST /v1/cards/{id}/state) that a later one for the same card has replaced
-- is never sent: it is kept as `superseded`, with the call that replaced it, for staff to see.
-- A stale freeze retried after an unfreeze would otherwise pause a card staff last asked to be
-- active.

alter table card.outbox drop constraint outbox_state_check;
alter table card.outbox add constraint outbox_state_check
    check (state in ('pending', 'delivered', 'dead', 'superseded'));

alter table card.outbox
    -- The later call for the same card's state that made this one stale.
    add column superseded_by uuid references card.outbox (id),
    add constraint outbox_superseded_by_set check ((state = 'superseded') = (superseded_by is not null));

-- Finds the later state calls of a card (pending or delivered) when one is about to be sent or
-- retried.
create index outbox_card_state_calls on card.outbox (path, scheduled_at, id)
    where operation = 'set_card_state';
