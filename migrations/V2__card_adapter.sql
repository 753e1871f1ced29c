-- The card processor boundary: cards, the webhook inbox, authorizations, the outbox of calls to
-- the processor, and the egress register. No personal data here: people are pseudonymous ids,
-- and the processor's own payloads never contain any (protocol section 1).

create schema if not exists card;

-- Cards as the processor knows them, linked to a person's spendable account.
create table card.cards (
    card_id         text primary key check (card_id ~ '^card_[A-Za-z0-9_-]{1,60}$'),
    cardholder_id   text not null,
    person_id       uuid not null,
    account_id      uuid not null references ledger_accounts (id),
    -- Mirrors the processor: INACTIVE, ACTIVE, PAUSED, CLOSED.
    state           text not null check (state in ('INACTIVE', 'ACTIVE', 'PAUSED', 'CLOSED')),
    last4           text,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);
create index cards_person on card.cards (person_id);

-- Every state change of a card, from us or from the processor: append-only.
create table card.card_state_events (
    id              bigint generated always as identity primary key,
    card_id         text not null references card.cards (card_id),
    previous_state  text,
    state           text not null,
    reason          text,
    changed_by      text not null check (changed_by in ('PROCESSOR', 'API', 'SALDO')),
    recorded_at     timestamptz not null default clock_timestamp()
);

-- Every authentic webhook message, recorded before it is acknowledged. Deduplicated by
-- webhook-id; the raw body is kept for audit and replay.
create table card.inbox (
    webhook_id      text primary key check (length(webhook_id) between 1 and 200),
    event_type      text not null,
    webhook_timestamp bigint not null,
    received_at     timestamptz not null default clock_timestamp(),
    body            bytea not null,
    -- What processing made of it: 'applied', 'duplicate', 'ignored' (unknown type), 'rejected'.
    outcome         text not null,
    detail          text
);

-- One row per authorization id: what we decided and what is held for it. Events about one
-- authorization lock this row, so they apply one at a time in any order of arrival.
create table card.authorizations (
    authorization_id    text primary key,
    card_id             text not null,
    parent_authorization_id text,
    currency            char(3) not null,
    requested_minor     bigint not null default 0,
    -- 'APPROVE' / 'DECLINE' as answered to authorization.request, or as the processor advised.
    decision            text check (decision in ('APPROVE', 'DECLINE')),
    approved_minor      bigint not null default 0,
    decline_reason      text,
    -- A plain-language reason key (e.g. weekly_limit_exceeded) for the prisoner's kiosk.
    reason_key          text,
    policy_version      text,
    -- 'request' (we decided), 'STAND_IN', 'TIMEOUT', 'PROCESSOR_RULE' (advised), 'unknown'
    -- (only later events seen so far: the request or advice has not arrived yet).
    source              text not null,
    hold_id             uuid references holds (id),
    -- Reversals and expiry seen before any hold existed, applied when it is placed.
    pending_release_minor bigint not null default 0,
    expired             boolean not null default false,
    -- Clearings booked for this authorization (amount), and whether the final one came.
    cleared_minor       bigint not null default 0,
    final_cleared       boolean not null default false,
    merchant            jsonb,
    channel             text,
    created_at          timestamptz not null default clock_timestamp(),
    updated_at          timestamptz not null default clock_timestamp()
);
create index authorizations_card on card.authorizations (card_id, created_at);

-- Calls to the processor, written in the same transaction as the business change that needs
-- them, and delivered by a worker with retries (the transactional outbox).
create table card.outbox (
    id              uuid primary key,
    idempotency_key text not null unique check (idempotency_key ~ '^[A-Za-z0-9_-]{1,64}$'),
    operation       text not null,
    method          text not null,
    path            text not null,
    body            jsonb,
    -- Whose data the call concerns (pseudonymous), so the egress guard can check it.
    person_id       uuid,
    state           text not null default 'pending' check (state in ('pending', 'delivered', 'dead')),
    attempts        int not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    response        jsonb,
    created_at      timestamptz not null default now(),
    delivered_at    timestamptz
);
create index outbox_due on card.outbox (next_attempt_at) where state = 'pending';

-- Every request sent to the processor: when, endpoint, pseudonym, field names, body hash.
-- For the data protection officer; append-only.
create table card.egress_register (
    id              bigint generated always as identity primary key,
    sent_at         timestamptz not null default clock_timestamp(),
    method          text not null,
    path            text not null,
    pseudonym       text,
    person_id       uuid,
    field_names     text[] not null,
    body_sha256     text not null,
    -- 'sent' (with the HTTP status), or 'refused' by the egress guard.
    outcome         text not null,
    status_code     int
);
create index egress_register_person on card.egress_register (person_id, sent_at);

create trigger card_state_events_append_only before update or delete on card.card_state_events
    for each row execute function refuse_change();
create trigger inbox_append_only before update or delete on card.inbox
    for each row execute function refuse_change();
create trigger egress_register_append_only before update or delete on card.egress_register
    for each row execute function refuse_change();
