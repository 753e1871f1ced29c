-- Saldo ledger: accounts, append-only journal, two-phase holds, idempotency.
-- Amounts are bigint minor units (cents). Posting sign: debit positive, credit negative.

create table ledger_accounts (
    id              uuid primary key,
    -- A readable unique code, e.g. 'institution:bank_trust:EUR' or 'person:<uuid>:spendable:EUR'.
    code            text not null unique check (length(code) between 1 and 200),
    account_type    text not null check (account_type in ('asset', 'liability', 'income', 'expense', 'equity')),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    owner_kind      text not null check (owner_kind in ('person', 'institution')),
    -- Pseudonymous person id: never a name or a prisoner number.
    person_id       uuid,
    purpose         text not null check (purpose ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- 'non_negative': the normal balance may not go below zero (checked synchronously);
    -- 'may_go_negative': no check.
    balance_rule    text not null check (balance_rule in ('non_negative', 'may_go_negative')),
    -- Hot accounts (shared institutional ones) keep no running balance row: their balance is
    -- derived from postings so that different prisoners' card payments never lock one row.
    is_hot          boolean not null,
    created_at      timestamptz not null default now(),
    closed_at       timestamptz,
    constraint owner_matches_kind check ((owner_kind = 'person') = (person_id is not null)),
    constraint hot_accounts_have_no_rule check (not (is_hot and balance_rule = 'non_negative')),
    -- Lets postings reference (account, currency) so a posting can never be in another currency.
    unique (id, currency)
);
create index ledger_accounts_person on ledger_accounts (person_id) where person_id is not null;

-- Running balances of non-hot accounts, in the account's normal direction (positive = the
-- account holds money). A projection of the journal, kept in the same transaction as each posting;
-- `saldo verify` proves it equals the sum of postings.
create table account_balances (
    account_id      uuid primary key references ledger_accounts (id),
    posted_minor    bigint not null default 0,
    held_minor      bigint not null default 0 check (held_minor >= 0)
);

create table journal_entries (
    id                  uuid primary key,
    -- Global order of recording; a sequence is never a lock that writers queue on.
    seq                 bigint generated always as identity unique,
    effective_date      date not null,
    recorded_at         timestamptz not null default clock_timestamp(),
    description         text not null check (length(description) between 1 and 500),
    metadata            jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
    -- A correction links to what it corrects; an entry is reversed at most once.
    reverses_entry_id   uuid unique references journal_entries (id),
    -- Postings that drove a non-negative account below zero (stand-in, force post) are flagged.
    overdraft_flagged   boolean not null default false
);
create index journal_entries_recorded_at on journal_entries (recorded_at);

create table journal_postings (
    id              bigint generated always as identity primary key,
    entry_id        uuid not null references journal_entries (id),
    account_id      uuid not null,
    currency        char(3) not null,
    amount_minor    bigint not null check (amount_minor <> 0),
    recorded_at     timestamptz not null,
    foreign key (account_id, currency) references ledger_accounts (id, currency)
);
create index journal_postings_entry on journal_postings (entry_id);
create index journal_postings_account on journal_postings (account_id, id);
create index journal_postings_account_time on journal_postings (account_id, recorded_at);

-- External references of an entry, e.g. ('processor_transaction', 'txn_123').
create table journal_entry_refs (
    entry_id        uuid not null references journal_entries (id),
    ref_kind        text not null check (ref_kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    ref_value       text not null check (length(ref_value) between 1 and 200),
    is_unique       boolean not null,
    primary key (entry_id, ref_kind, ref_value)
);
create unique index journal_entry_refs_unique on journal_entry_refs (ref_kind, ref_value) where is_unique;
create index journal_entry_refs_lookup on journal_entry_refs (ref_kind, ref_value);

-- Two-phase holds. The hold row is immutable; what happens to it is appended to hold_events.
create table holds (
    id              uuid primary key,
    account_id      uuid not null,
    currency        char(3) not null,
    amount_minor    bigint not null check (amount_minor > 0),
    created_at      timestamptz not null default clock_timestamp(),
    expires_at      timestamptz,
    description     text not null check (length(description) between 1 and 500),
    metadata        jsonb not null default '{}'::jsonb,
    -- Placed beyond the available balance on purpose (a card stand-in approval), for staff.
    overdraft_flagged boolean not null default false,
    foreign key (account_id, currency) references ledger_accounts (id, currency)
);
create index holds_account on holds (account_id);

create table hold_events (
    id              bigint generated always as identity primary key,
    hold_id         uuid not null references holds (id),
    -- increase: more is held; capture: part is posted; release/expire: part is freed;
    -- over_capture: a capture beyond what remained (allowed for card clearings).
    kind            text not null check (kind in ('increase', 'capture', 'release', 'expire')),
    -- How much of the hold this event consumed (capture, release, expire) or added (increase).
    held_delta_minor bigint not null check (held_delta_minor >= 0),
    -- For captures: the amount posted, which may exceed held_delta_minor (over-capture).
    posted_minor    bigint not null default 0 check (posted_minor >= 0),
    entry_id        uuid references journal_entries (id),
    -- An increase beyond the available balance on purpose (a stand-in approval).
    overdraft_flagged boolean not null default false,
    recorded_at     timestamptz not null default clock_timestamp()
);
create index hold_events_hold on hold_events (hold_id);

-- Idempotency: one row per write command key. Same key + same request: the stored result is
-- returned and nothing is written; same key + other request: a conflict.
create table idempotency_keys (
    key             text primary key check (length(key) between 1 and 200),
    command         text not null,
    request_sha256  bytea not null,
    result          jsonb not null,
    created_at      timestamptz not null default now()
);

-- Append-only, enforced by PostgreSQL itself, not just avoided by the code.
create function refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'ledger table % is append-only: % refused', tg_table_name, tg_op
        using errcode = 'P0001', hint = 'corrections are new (reversal) entries';
end;
$$;

create trigger journal_entries_append_only before update or delete on journal_entries
    for each row execute function refuse_change();
create trigger journal_entries_no_truncate before truncate on journal_entries
    for each statement execute function refuse_change();
create trigger journal_postings_append_only before update or delete on journal_postings
    for each row execute function refuse_change();
create trigger journal_postings_no_truncate before truncate on journal_postings
    for each statement execute function refuse_change();
create trigger journal_entry_refs_append_only before update or delete on journal_entry_refs
    for each row execute function refuse_change();
create trigger journal_entry_refs_no_truncate before truncate on journal_entry_refs
    for each statement execute function refuse_change();
create trigger holds_append_only before update or delete on holds
    for each row execute function refuse_change();
create trigger holds_no_truncate before truncate on holds
    for each statement execute function refuse_change();
create trigger hold_events_append_only before update or delete on hold_events
    for each row execute function refuse_change();
create trigger hold_events_no_truncate before truncate on hold_events
    for each statement execute function refuse_change();
create trigger idempotency_keys_append_only before update or delete on idempotency_keys
    for each row execute function refuse_change();

-- Accounts are closed, never deleted; only closed_at may change, once.
create function guard_account_change() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        raise exception 'ledger accounts are closed, never deleted' using errcode = 'P0001';
    end if;
    if (old.id, old.code, old.account_type, old.currency, old.owner_kind, old.person_id, old.purpose,
        old.balance_rule, old.is_hot, old.created_at)
       is distinct from
       (new.id, new.code, new.account_type, new.currency, new.owner_kind, new.person_id, new.purpose,
        new.balance_rule, new.is_hot, new.created_at)
       or old.closed_at is not null then
        raise exception 'only closing an open account is allowed' using errcode = 'P0001';
    end if;
    return new;
end;
$$;
create trigger ledger_accounts_guard before update or delete on ledger_accounts
    for each row execute function guard_account_change();

-- Every entry balances per currency and has at least two postings: checked by the database at
-- commit, whatever the code did.
create function check_entry_balanced() returns trigger language plpgsql as $$
declare
    posting_count int;
    unbalanced_currency char(3);
begin
    select count(*) into posting_count from journal_postings where entry_id = new.entry_id;
    if posting_count < 2 then
        raise exception 'journal entry % has fewer than two postings', new.entry_id
            using errcode = 'P0002';
    end if;
    select currency into unbalanced_currency from journal_postings where entry_id = new.entry_id
        group by currency having sum(amount_minor) <> 0 limit 1;
    if unbalanced_currency is not null then
        raise exception 'journal entry % does not balance in %', new.entry_id, unbalanced_currency
            using errcode = 'P0002';
    end if;
    return null;
end;
$$;
create constraint trigger journal_postings_balanced after insert on journal_postings
    deferrable initially deferred
    for each row execute function check_entry_balanced();

-- Postings never go to a closed account.
create function check_account_open() returns trigger language plpgsql as $$
begin
    if exists (select 1 from ledger_accounts where id = new.account_id and closed_at is not null) then
        raise exception 'account % is closed', new.account_id using errcode = 'P0003';
    end if;
    return new;
end;
$$;
create trigger journal_postings_open_account before insert on journal_postings
    for each row execute function check_account_open();
