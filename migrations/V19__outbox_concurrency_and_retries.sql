-- The outbox delivers calls concurrently, keeps the calls about one card in order, and shows
-- staff what became of a dead call they put back (issue #21, points 12 and 14).

alter table card.outbox
    -- Calls with the same key are sent one after another, in `scheduled_at` order: the card in
    -- the path (state changes, reissues, fence syncs of one card), else the person (the
    -- cardholder and card creation chain), else the call alone.
    add column ordering_key text generated always as (
        coalesce(substring(path from '^/v1/cards/([^/]+)'), person_id::text, id::text)
    ) stored,
    -- When the call was first due (`enqueue_at`'s not-before); never moved by retries, so it
    -- is the call's place in its key's queue.
    add column scheduled_at timestamptz,
    -- A worker is sending the call until then (its lease); `next_attempt_at` stays the time
    -- the call is due, so staff see a true "next attempt".
    add column claimed_until timestamptz,
    add column last_attempt_at timestamptz,
    -- The processor's HTTP status of the failure in `last_error` (null: no answer, or refused
    -- before sending).
    add column last_error_status int,
    -- How many times staff put the call back after it was parked dead.
    add column staff_retries int not null default 0 check (staff_retries >= 0),
    -- Bumped when staff put back a call the processor refused with a 4xx: the processor replays
    -- its stored answer for a key it has seen (protocol 2), so the retry needs a key of its own.
    add column idempotency_round int not null default 0 check (idempotency_round >= 0);

update card.outbox
   set scheduled_at = case when state = 'pending' and attempts = 0 then next_attempt_at
                           else created_at end;

alter table card.outbox
    alter column scheduled_at set not null,
    alter column scheduled_at set default now();

create index outbox_pending_order on card.outbox (ordering_key, scheduled_at, id)
    where state = 'pending';
