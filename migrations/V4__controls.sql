-- Spending controls, card modes, income allocation, payroll, deposits and monitoring.
--
-- Every table here is append-only (the `refuse_change()` trigger from V1): a change is a new
-- row, a new version, or a later row that ends an earlier one. People are pseudonymous ids
-- (prisoners' person ids, depositors' sender ids from the identity store, staff ids); no
-- personal data lives here. Hot tables carry a prison key so they can be sharded by prison.

create schema if not exists controls;

-- Policy versions: `ledger::controls::Policy` as JSON. A change is a new version.
create table controls.policies (
    policy_id       text not null check (policy_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    version         integer not null check (version >= 1),
    -- The prison the template was written for; null for a national template.
    prison_id       uuid,
    regime          text not null check (regime in ('closed_prison', 'open_prison', 'remand')),
    policy          jsonb not null check (jsonb_typeof(policy) = 'object'),
    effective_from  timestamptz not null,
    created_by      text not null check (length(created_by) between 1 and 100),
    created_at      timestamptz not null default clock_timestamp(),
    primary key (policy_id, version),
    check ((policy->>'id') = policy_id and (policy->>'version')::int = version)
);

-- Which policy a prison's regime uses, from when, and the prison's time zone (spend windows
-- roll over at local midnight).
create table controls.prison_policies (
    id              bigint generated always as identity primary key,
    prison_id       uuid not null,
    regime          text not null check (regime in ('closed_prison', 'open_prison', 'remand')),
    policy_id       text not null,
    time_zone       text not null default 'Europe/Helsinki' check (length(time_zone) between 1 and 64),
    effective_from  timestamptz not null,
    assigned_by     text not null check (length(assigned_by) between 1 and 100),
    created_at      timestamptz not null default clock_timestamp()
);
create index prison_policies_lookup on controls.prison_policies (prison_id, regime, effective_from desc, id desc);

-- Per-person exceptions (four eyes). A new version of an override replaces the older ones;
-- a row in override_revocations ends it. An override applies only in the prison that granted it.
create table controls.policy_overrides (
    override_id     text not null check (override_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
    version         integer not null check (version >= 1),
    person_id       uuid not null,
    prison_id       uuid not null,
    change          jsonb not null check (jsonb_typeof(change) = 'object'),
    reason          text not null check (length(btrim(reason)) between 1 and 500),
    requested_by    text not null check (length(requested_by) between 1 and 100),
    approved_by     text not null check (length(approved_by) between 1 and 100),
    effective_from  timestamptz not null,
    effective_until timestamptz,
    created_at      timestamptz not null default clock_timestamp(),
    primary key (override_id, version),
    constraint override_four_eyes check (approved_by <> requested_by),
    check (effective_until is null or effective_until > effective_from)
);
create index policy_overrides_person on controls.policy_overrides (person_id, prison_id);

create table controls.override_revocations (
    override_id     text primary key,
    person_id       uuid not null,
    reason          text not null check (length(btrim(reason)) between 1 and 500),
    revoked_by      text not null check (length(revoked_by) between 1 and 100),
    revoked_at      timestamptz not null default clock_timestamp()
);

-- Where a person is and what their card may do: `ledger::controls::CardMode` as JSON. The
-- latest effective row is the current state; transfer, leave, release and freezes add rows.
create table controls.card_modes (
    id              bigint generated always as identity primary key,
    person_id       uuid not null,
    prison_id       uuid not null,
    regime          text not null check (regime in ('closed_prison', 'open_prison', 'remand')),
    mode            jsonb not null check (mode ? 'mode'),
    -- admission, transfer, leave, leave_ended, release, closed, freeze, freeze_death,
    -- freeze_escape, unfreeze, set
    reason          text not null check (reason ~ '^[a-z_]{1,40}$'),
    note            text check (length(note) <= 500),
    changed_by      text not null check (length(changed_by) between 1 and 100),
    effective_from  timestamptz not null default clock_timestamp()
);
create index card_modes_person on controls.card_modes (person_id, effective_from desc, id desc);
create index card_modes_prison on controls.card_modes (prison_id, id);

-- Income allocation rules per prison and income kind (`Vec<ledger::allocation::AllocationRule>`),
-- versioned; the latest version is current, each rule has its own effective dates.
create table controls.allocation_rule_sets (
    prison_id       uuid not null,
    income_kind     text not null check (income_kind in ('wages', 'allowance', 'deposit')),
    version         integer not null check (version >= 1),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    rules           jsonb not null check (jsonb_typeof(rules) = 'array'),
    minimum_spendable_minor bigint not null check (minimum_spendable_minor >= 0),
    created_by      text not null check (length(created_by) between 1 and 100),
    created_at      timestamptz not null default clock_timestamp(),
    primary key (prison_id, income_kind, version)
);

-- Payroll batches: one per batch key; the lines are journal entries carrying
-- ('payroll_batch', batch_key) as an external reference.
create table controls.payroll_batches (
    batch_key       text primary key check (length(batch_key) between 1 and 150),
    prison_id       uuid not null,
    income_kind     text not null check (income_kind in ('wages', 'allowance')),
    currency        char(3) not null,
    line_count      integer not null check (line_count >= 1),
    total_minor     bigint not null check (total_minor > 0),
    first_entry_seq bigint not null,
    last_entry_seq  bigint not null,
    effective_date  date not null,
    posted_by       text not null check (length(posted_by) between 1 and 100),
    posted_at       timestamptz not null default clock_timestamp()
);

-- Deposit settings per prison, versioned: the review threshold and the monitoring rules.
create table controls.deposit_rules (
    prison_id       uuid not null,
    version         integer not null check (version >= 1),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    review_threshold_minor bigint not null check (review_threshold_minor > 0),
    monitoring_window_days integer not null check (monitoring_window_days between 1 and 366),
    max_senders_per_prisoner integer not null check (max_senders_per_prisoner >= 1),
    max_prisoners_per_sender integer not null check (max_prisoners_per_sender >= 1),
    high_amount_minor bigint not null check (high_amount_minor > 0),
    created_by      text not null check (length(created_by) between 1 and 100),
    created_at      timestamptz not null default clock_timestamp(),
    primary key (prison_id, version)
);

-- Who may send money to whom: the latest row for (person, sender) decides.
create table controls.approved_senders (
    id              bigint generated always as identity primary key,
    person_id       uuid not null,
    prison_id       uuid not null,
    -- The depositor's pseudonymous id in the identity store.
    sender_id       uuid not null,
    approved        boolean not null,
    decided_by      text not null check (length(decided_by) between 1 and 100),
    recorded_at     timestamptz not null default clock_timestamp()
);
create index approved_senders_lookup on controls.approved_senders (person_id, sender_id, id desc);

-- Family deposits as received. The entry is the allocation (accepted at once) or the credit to
-- held_deposits (pending review).
create table controls.deposits (
    deposit_id      uuid primary key,
    idempotency_key text not null unique check (length(idempotency_key) between 1 and 150),
    person_id       uuid not null,
    prison_id       uuid not null,
    sender_id       uuid not null,
    amount_minor    bigint not null check (amount_minor > 0),
    currency        char(3) not null,
    received_entry_id uuid not null references journal_entries (id),
    held_for_review boolean not null,
    received_at     timestamptz not null default clock_timestamp()
);
create index deposits_person on controls.deposits (person_id, received_at);
create index deposits_sender on controls.deposits (sender_id, received_at);
create index deposits_prison on controls.deposits (prison_id, received_at);

-- The review of a held deposit: one decision, with the entry that carried it out.
create table controls.deposit_decisions (
    deposit_id      uuid primary key references controls.deposits (deposit_id),
    state           text not null check (state in ('accepted', 'rejected')),
    entry_id        uuid not null references journal_entries (id),
    reason          text check (length(reason) <= 500),
    decided_by      text not null check (length(decided_by) between 1 and 100),
    decided_at      timestamptz not null default clock_timestamp()
);

-- Unusual patterns for staff to review: flags only, nothing is stopped.
create table controls.monitoring_flags (
    id              bigint generated always as identity primary key,
    prison_id       uuid not null,
    -- many_senders_to_prisoner, sender_to_many_prisoners, high_amount
    rule            text not null check (rule in ('many_senders_to_prisoner', 'sender_to_many_prisoners', 'high_amount')),
    person_id       uuid,
    sender_id       uuid,
    deposit_id      uuid not null references controls.deposits (deposit_id),
    detail          jsonb not null default '{}'::jsonb,
    raised_at       timestamptz not null default clock_timestamp(),
    unique (rule, deposit_id)
);
create index monitoring_flags_prison on controls.monitoring_flags (prison_id, id);

create table controls.flag_reviews (
    flag_id         bigint primary key references controls.monitoring_flags (id),
    outcome         text not null check (outcome in ('no_concern', 'referred')),
    note            text check (length(note) <= 500),
    reviewed_by     text not null check (length(reviewed_by) between 1 and 100),
    reviewed_at     timestamptz not null default clock_timestamp()
);

do $$
declare
    t text;
begin
    foreach t in array array['policies', 'prison_policies', 'policy_overrides',
        'override_revocations', 'card_modes', 'allocation_rule_sets', 'payroll_batches',
        'deposit_rules', 'approved_senders', 'deposits', 'deposit_decisions',
        'monitoring_flags', 'flag_reviews']
    loop
        execute format('create trigger %I before update or delete on controls.%I
                        for each row execute function refuse_change()', t || '_append_only', t);
        execute format('create trigger %I before truncate on controls.%I
                        for each statement execute function refuse_change()', t || '_no_truncate', t);
    end loop;
end;
$$;

-- Spend counting for the authorization decision (card-adapter/src/controls.rs): each
-- authorization is counted in the window of the moment it was requested.
alter table card.authorizations add column authorized_at timestamptz;
-- For a partial approval, the control that capped it (e.g. weekly_limit_exceeded).
alter table card.authorizations add column limited_by text;
create index authorizations_card_spend
    on card.authorizations (card_id, (coalesce(authorized_at, created_at)));
