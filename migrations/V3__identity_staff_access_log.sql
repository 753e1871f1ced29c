-- The identity store, staff and kiosk authentication, and the access log (LED article 25).
--
-- Personal data lives ONLY in schema `identity`. Everything else names people by pseudonymous
-- person_id. Only api/src/identity/store.rs reads or writes `identity` tables, so encryption at
-- rest can be added in that one place later.

create schema if not exists identity;
create schema if not exists auth;
create schema if not exists audit;

create table identity.prisons (
    id              uuid primary key,
    code            text not null unique check (code ~ '^[A-Z0-9][A-Z0-9_-]{1,31}$'),
    name            text not null check (length(name) between 1 and 200),
    -- IANA zone, e.g. 'Europe/Helsinki': kiosks show local times, weekly limits roll over locally.
    time_zone       text not null check (length(time_zone) between 1 and 64),
    country         char(2) not null check (country ~ '^[A-Z]{2}$'),
    created_at      timestamptz not null default now()
);

-- Prisoners: data subjects under the Law Enforcement Directive.
create table identity.prisoners (
    person_id           uuid primary key,
    regime              text not null default 'led' check (regime = 'led'),
    prison_id           uuid not null references identity.prisons (id),
    prisoner_number     text not null unique check (prisoner_number ~ '^[A-Za-z0-9-]{1,32}$'),
    full_name           text not null check (length(full_name) between 1 and 200),
    national_id         text check (length(national_id) between 1 and 32),
    date_of_birth       date,
    preferred_language  text not null check (preferred_language in ('fi', 'sv', 'en', 'nl', 'fr', 'de')),
    unit                text check (length(unit) between 1 and 64),
    payout_iban         text check (payout_iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    admitted_at         timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
create index prisoners_prison on identity.prisoners (prison_id);

-- Depositors (family members and other outside persons): data subjects under the GDPR.
create table identity.depositors (
    person_id           uuid primary key,
    regime              text not null default 'gdpr' check (regime = 'gdpr'),
    -- The prison whose staff registered the depositor: scopes who may consult the record.
    registered_prison_id uuid not null references identity.prisons (id),
    full_name           text not null check (length(full_name) between 1 and 200),
    contact             text check (length(contact) between 1 and 200),
    bank_account        text check (bank_account ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    created_at          timestamptz not null default now()
);

-- Staff accounts. A role is granted per prison.
create table auth.staff (
    id              uuid primary key,
    username        text not null unique check (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    -- argon2id PHC string; null once an OpenID Connect provider replaces local passwords.
    password_hash   text,
    disabled_at     timestamptz,
    created_at      timestamptz not null default now()
);

create table auth.staff_grants (
    staff_id        uuid not null references auth.staff (id),
    prison_id       uuid not null references identity.prisons (id),
    role            text not null check (role in ('officer', 'finance', 'finance_approver', 'auditor', 'admin')),
    granted_at      timestamptz not null default now(),
    primary key (staff_id, prison_id, role)
);

-- Sessions: only the SHA-256 of the random token is stored, so a database leak yields no session.
create table auth.staff_sessions (
    token_sha256    bytea primary key check (length(token_sha256) = 32),
    staff_id        uuid not null references auth.staff (id),
    created_at      timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    expires_at      timestamptz not null,
    ended_at        timestamptz
);
create index staff_sessions_staff on auth.staff_sessions (staff_id);

-- Failed sign-in counters, per account ('staff:<uuid>') and per client address ('ip:<addr>').
create table auth.login_throttle (
    throttle_key        text primary key check (length(throttle_key) between 1 and 100),
    failures            integer not null default 0,
    window_started_at   timestamptz not null default now(),
    locked_until        timestamptz
);

-- Kiosk devices registered to a prison; the device token's SHA-256 only.
create table auth.kiosk_devices (
    id              uuid primary key,
    prison_id       uuid not null references identity.prisons (id),
    label           text not null check (length(label) between 1 and 100),
    token_sha256    bytea not null unique check (length(token_sha256) = 32),
    issued_by       uuid not null references auth.staff (id),
    created_at      timestamptz not null default now(),
    revoked_at      timestamptz
);

-- A prisoner's kiosk PIN (argon2id) and its lockout counter.
create table auth.kiosk_pins (
    person_id       uuid primary key references identity.prisoners (person_id),
    pin_hash        text not null,
    failures        integer not null default 0,
    locked_until    timestamptz,
    updated_at      timestamptz not null default now()
);

create table auth.kiosk_sessions (
    token_sha256    bytea primary key check (length(token_sha256) = 32),
    person_id       uuid not null references identity.prisoners (person_id),
    device_id       uuid not null references auth.kiosk_devices (id),
    language        text not null check (language in ('fi', 'sv', 'en', 'nl', 'fr', 'de')),
    created_at      timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    expires_at      timestamptz not null,
    ended_at        timestamptz
);

-- The access log (LED article 25): every consultation, change and disclosure of personal data.
-- Pseudonymous itself: people appear as ids, never as names or numbers. Append-only.
create table audit.access_log (
    id                  bigint generated always as identity primary key,
    logged_at           timestamptz not null default clock_timestamp(),
    actor_kind          text not null check (actor_kind in ('staff', 'prisoner', 'system')),
    actor_id            uuid,
    action              text not null check (action in ('consult', 'create', 'change', 'disclose')),
    subject_kind        text not null check (subject_kind in ('prisoner', 'depositor', 'access_log')),
    subject_person_id   uuid,
    -- The prison the record belongs to (scopes who may search the log).
    prison_id           uuid,
    fields              text[] not null,
    purpose             text not null check (purpose ~ '^[a-z][a-z0-9_]{0,62}$'),
    case_ref            text check (case_ref ~ '^[A-Za-z0-9_./-]{1,64}$'),
    recipient           text check (length(recipient) between 1 and 200),
    outcome             text not null check (outcome in ('ok', 'denied', 'not_found')),
    request_id          text check (length(request_id) <= 100)
);
create index access_log_subject on audit.access_log (subject_person_id, id);
create index access_log_actor on audit.access_log (actor_id, id);
create index access_log_prison on audit.access_log (prison_id, id);

create function audit.refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'the access log is append-only: % refused', tg_op using errcode = 'P0001';
end;
$$;
create trigger access_log_append_only before update or delete on audit.access_log
    for each row execute function audit.refuse_change();
create trigger access_log_no_truncate before truncate on audit.access_log
    for each statement execute function audit.refuse_change();
