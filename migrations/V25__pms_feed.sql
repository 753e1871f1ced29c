-- The prison-management system's (PMS) event feed (docs/pms-feed.md). It lives in the identity
-- schema because what it receives carries personal data: an event's body is kept sealed (AES-256-GCM
-- under a data key of its own, wrapped by the identity master key) only until it is applied or
-- dismissed, and the PMS's own person reference is kept only as its HMAC under the lookup key.

-- The persons the feed names: the PMS's reference (its HMAC) and the Saldo person id its
-- admission created, and the next per-person sequence number to apply.
create table identity.pms_persons (
    feed_id          text not null check (feed_id ~ '^[a-z0-9_-]{1,32}$'),
    person_ref_hmac  bytea not null,
    person_id        uuid references identity.prisoners (person_id),
    next_sequence    bigint not null default 1 check (next_sequence >= 1),
    primary key (feed_id, person_ref_hmac)
);
create unique index pms_persons_person on identity.pms_persons (feed_id, person_id);

-- Every event received, once (by its id). The receipt columns never change; `status`,
-- `reason_code`, `person_id` and `settled_at` follow the event, and the sealed body is cleared
-- once it is applied or dismissed.
create table identity.pms_events (
    event_id         uuid primary key,
    feed_id          text not null,
    body_sha256      bytea not null check (length(body_sha256) = 32),
    event_type       text not null check (event_type in ('admission', 'transfer', 'leave_start',
                         'leave_end', 'release', 'death', 'escape', 'identity_correction')),
    occurred_at      timestamptz not null,
    person_ref_hmac  bytea not null,
    sequence         bigint not null check (sequence >= 1),
    -- The prison the event happened in, when Saldo knows its code (staff of it see the event).
    prison_id        uuid,
    received_at      timestamptz not null default clock_timestamp(),
    sealed           bytea,
    nonce            bytea,
    master_key_version integer,
    wrapped_key      bytea,
    -- 'pending' (waiting for its turn or for its predecessor), 'applied', 'review' (could not
    -- apply: staff replay or dismiss it), 'dismissed'.
    status           text not null default 'pending'
                         check (status in ('pending', 'applied', 'review', 'dismissed')),
    reason_code      text check (reason_code ~ '^[a-z_]{1,64}$'),
    person_id        uuid,
    settled_at       timestamptz,
    unique (feed_id, person_ref_hmac, sequence),
    check ((sealed is null) = (status in ('applied', 'dismissed')))
);
create index pms_events_prison_status on identity.pms_events (prison_id, status, received_at);

create function identity.pms_events_guard() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' or new.event_id <> old.event_id or new.feed_id <> old.feed_id
        or new.body_sha256 <> old.body_sha256 or new.event_type <> old.event_type
        or new.occurred_at <> old.occurred_at or new.person_ref_hmac <> old.person_ref_hmac
        or new.sequence <> old.sequence or new.received_at <> old.received_at
        or new.prison_id is distinct from old.prison_id
        or (old.status in ('applied', 'dismissed') and new.status <> old.status) then
        raise exception 'identity.pms_events: a receipt is a record: % refused', tg_op
            using errcode = 'P0001';
    end if;
    return new;
end;
$$;
create trigger pms_events_guard before update or delete on identity.pms_events
    for each row execute function identity.pms_events_guard();
create trigger pms_events_no_truncate before truncate on identity.pms_events
    for each statement execute function refuse_change();

-- What became of each event and who decided it: append-only.
create table identity.pms_event_actions (
    id          bigint generated always as identity primary key,
    event_id    uuid not null references identity.pms_events (event_id),
    action      text not null check (action in ('applied', 'review', 'replayed', 'dismissed')),
    reason_code text check (reason_code ~ '^[a-z_]{1,64}$'),
    -- 'pms:<feed id>' or 'staff:<staff id>'.
    actor       text not null check (actor ~ '^(pms|staff):[A-Za-z0-9_-]{1,64}$'),
    at          timestamptz not null default clock_timestamp()
);
create index pms_event_actions_event on identity.pms_event_actions (event_id);
create trigger pms_event_actions_append_only before update or delete on identity.pms_event_actions
    for each row execute function refuse_change();
create trigger pms_event_actions_no_truncate before truncate on identity.pms_event_actions
    for each statement execute function refuse_change();

-- The PMS's daily population of a prison: which person references it holds there on a date.
create table identity.pms_population_snapshots (
    snapshot_id     uuid primary key,
    feed_id         text not null,
    prison_id       uuid not null references identity.prisons (id),
    population_date date not null,
    received_at     timestamptz not null default clock_timestamp(),
    body_sha256     bytea not null check (length(body_sha256) = 32),
    unique (feed_id, prison_id, population_date)
);
create table identity.pms_population_entries (
    snapshot_id     uuid not null references identity.pms_population_snapshots (snapshot_id),
    person_ref_hmac bytea not null,
    primary key (snapshot_id, person_ref_hmac)
);
create trigger pms_population_snapshots_append_only before update or delete
    on identity.pms_population_snapshots for each row execute function refuse_change();
create trigger pms_population_entries_append_only before update or delete
    on identity.pms_population_entries for each row execute function refuse_change();
