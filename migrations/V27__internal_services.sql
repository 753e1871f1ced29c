-- The prison service's own services as merchants inside Saldo (docs/services.md): a catalogue
-- per prison, each service's signing keys, and what each service asked and Saldo decided.
--
-- No personal data here: persons are Saldo's pseudonymous ids; the money itself is in the ledger
-- (holds, entries), these rows only say which service asked for it and under which of its own ids.
create schema if not exists services;

-- A service a prison configured (canteen, telephony, TV rental, any other).
create table services.catalogue (
    id              uuid primary key,
    prison_id       uuid not null references identity.prisons (id),
    -- The prison's own short name for it, e.g. `canteen`.
    code            text not null check (code ~ '^[a-z][a-z0-9_]{0,31}$'),
    kind            text not null check (kind in ('canteen', 'telephony', 'tv_rental', 'other')),
    -- The merchant category the spending controls check (blocked categories still apply).
    mcc             char(4) not null check (mcc ~ '^[0-9]{4}$'),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    -- The member of staff (id) who configured it.
    created_by      text not null check (length(created_by) between 1 and 100),
    created_at      timestamptz not null default clock_timestamp(),
    unique (prison_id, code)
);

-- A service's Standard Webhooks secrets (`whsec_…`): each service signs with its own; two may be
-- live during a rotation. A revoked key stays on record.
create table services.keys (
    id              bigint generated always as identity primary key,
    service_id      uuid not null references services.catalogue (id),
    secret          bytea not null check (length(secret) between 24 and 64),
    created_by      text not null check (length(created_by) between 1 and 100),
    created_at      timestamptz not null default clock_timestamp(),
    revoked_at      timestamptz
);
create index keys_live on services.keys (service_id) where revoked_at is null;

-- A standing weekly (or other period) charge, e.g. a TV rental: charged through the same
-- controls as any purchase when due; stopped at release or transfer.
create table services.subscriptions (
    id              uuid primary key,
    service_id      uuid not null references services.catalogue (id),
    -- The service's own id of the subscription: the same id again is the same subscription.
    request_id      text not null check (length(request_id) between 1 and 100),
    request_sha256  bytea not null,
    person_id       uuid not null,
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    amount_minor    bigint not null check (amount_minor > 0),
    period_days     integer not null check (period_days between 1 and 31),
    next_charge_at  timestamptz not null,
    -- How many periods were charged (or declined): the next charge's number.
    periods_done    integer not null default 0 check (periods_done >= 0),
    stopped_at      timestamptz,
    stop_reason     text check (stop_reason in ('released', 'transferred', 'cancelled', 'closed')),
    created_at      timestamptz not null default clock_timestamp(),
    unique (service_id, request_id),
    check ((stopped_at is null) = (stop_reason is null))
);
create index subscriptions_due on services.subscriptions (next_charge_at) where stopped_at is null;

-- What a service asked for and what Saldo decided: a purchase (held, then captured or released),
-- a call-credit top-up, a subscription's charge, or an offline stand-in reservation. The money is
-- the ledger's hold and entries; the counters here say how much of the approval each step used,
-- and are what the spending windows count (spent = approved - released - refunded).
create table services.purchases (
    id              uuid primary key,
    service_id      uuid not null references services.catalogue (id),
    -- The service's own id (a subscription's charge: `sub:<id>:<period>`).
    request_id      text not null check (length(request_id) between 1 and 100),
    request_sha256  bytea not null,
    person_id       uuid not null,
    account_id      uuid not null references ledger_accounts (id),
    purpose         text not null
                    check (purpose in ('purchase', 'call_credit', 'call', 'recurring', 'reservation')),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    requested_minor bigint not null check (requested_minor > 0),
    approved_minor  bigint not null default 0 check (approved_minor >= 0),
    captured_minor  bigint not null default 0 check (captured_minor >= 0),
    released_minor  bigint not null default 0 check (released_minor >= 0),
    refunded_minor  bigint not null default 0 check (refunded_minor >= 0),
    approved        boolean not null,
    -- The controls' reason key when declined (the kiosk shows its words).
    decline_reason  text check (decline_reason ~ '^[a-z][a-z0-9_]{0,62}$'),
    policy_version  text,
    hold_id         uuid references holds (id),
    subscription_id uuid references services.subscriptions (id),
    authorized_at   timestamptz not null,
    unique (service_id, request_id),
    check (approved = (decline_reason is null)),
    check (approved_minor <= requested_minor),
    check (captured_minor + released_minor <= approved_minor),
    check (refunded_minor <= captured_minor)
);
create index purchases_spend on services.purchases (person_id, currency, authorized_at);
create index purchases_by_service_day on services.purchases (service_id, authorized_at);

-- Every later step a service asked for, by its own event id: a capture, a release, a refund, or
-- an offline advice (a capture from a reservation). The same id again changes nothing.
create table services.events (
    service_id      uuid not null references services.catalogue (id),
    event_id        text not null check (length(event_id) between 1 and 100),
    request_sha256  bytea not null,
    purchase_id     uuid not null references services.purchases (id),
    kind            text not null check (kind in ('capture', 'release', 'refund', 'advice')),
    amount_minor    bigint not null check (amount_minor >= 0),
    entry_id        uuid references journal_entries (id),
    occurred_at     timestamptz not null,
    recorded_at     timestamptz not null default clock_timestamp(),
    primary key (service_id, event_id)
);
create index events_by_purchase on services.events (purchase_id);
create trigger events_append_only before update or delete on services.events
    for each row execute function refuse_change();
create trigger events_no_truncate before truncate on services.events
    for each statement execute function refuse_change();
