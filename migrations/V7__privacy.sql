-- Privacy: the identity store encrypted at rest (envelope encryption, keyed look-up hashes),
-- retention with crypto-shredding, rectification and restriction, and tamper-evident
-- checkpoints over the journal and the access log. See docs/data-protection.md.

-- ---------------------------------------------------------------------------------------------
-- 1. Envelope encryption. One data key per person, wrapped under a versioned master key held
-- outside the database. Destroying the data key (crypto-shredding) erases the person's record in
-- every copy of the database that lacks the key: the ciphertext alone reveals nothing.
create table identity.data_keys (
    person_id           uuid primary key,
    master_key_version  integer not null check (master_key_version >= 1),
    -- nonce (12 bytes) || AES-256-GCM ciphertext of the 32-byte data key || tag
    wrapped_key         bytea not null check (length(wrapped_key) = 12 + 32 + 16),
    created_at          timestamptz not null default now(),
    rewrapped_at        timestamptz
);
create index data_keys_version on identity.data_keys (master_key_version);

-- Check values (an HMAC of a constant) of the keys in use: a process given other keys than the
-- ones the data was written with refuses to start instead of writing unreadable records.
create table identity.key_checks (
    kind            text not null check (kind in ('master', 'lookup')),
    version         integer not null,
    check_value     bytea not null check (length(check_value) = 32),
    first_seen_at   timestamptz not null default now(),
    primary key (kind, version)
);

-- The plaintext columns of V3 become nullable: new records leave them empty (the sealed column
-- holds them), records written before this migration are sealed by `saldo migrate` / `serve`.
alter table identity.prisoners
    alter column prisoner_number drop not null,
    alter column full_name drop not null,
    alter column preferred_language drop not null,
    add column sealed               bytea,
    add column nonce                bytea check (length(nonce) = 12),
    add column data_key_id          uuid references identity.data_keys (person_id),
    -- HMAC-SHA256 under the lookup key (never a plain hash: prisoner numbers are guessable).
    add column prisoner_number_hmac bytea check (length(prisoner_number_hmac) = 32),
    add column national_id_hmac     bytea check (length(national_id_hmac) = 32),
    -- Set at release (identity::store::record_release) when the lifecycle's own release record
    -- (controls.card_modes) is not used; retention counts from the later of the two.
    add column released_at          timestamptz,
    -- Restriction of processing (LED Art. 16(3), GDPR Art. 18): a closed list of reasons.
    add column restricted_at        timestamptz,
    add column restriction_reason   text check (restriction_reason in
        ('accuracy_contested', 'evidence', 'unlawful_processing', 'legal_claims', 'objection')),
    add column erased_at            timestamptz,
    add constraint prisoners_sealed_or_erased check (
        erased_at is not null or sealed is not null or prisoner_number is not null);
create unique index prisoners_number_hmac_key on identity.prisoners (prisoner_number_hmac);
create index prisoners_national_id_hmac on identity.prisoners (national_id_hmac)
    where national_id_hmac is not null;

alter table identity.depositors
    alter column full_name drop not null,
    add column sealed       bytea,
    add column nonce        bytea check (length(nonce) = 12),
    add column data_key_id  uuid references identity.data_keys (person_id),
    add column restricted_at timestamptz,
    add column restriction_reason text check (restriction_reason in
        ('accuracy_contested', 'evidence', 'unlawful_processing', 'legal_claims', 'objection')),
    add column erased_at    timestamptz,
    add constraint depositors_sealed_or_erased check (
        erased_at is not null or sealed is not null or full_name is not null);

-- The access log names erasure as its own action (LED Art. 25 lists it).
alter table audit.access_log drop constraint access_log_action_check;
alter table audit.access_log add constraint access_log_action_check
    check (action in ('consult', 'create', 'change', 'disclose', 'erase'));

-- ---------------------------------------------------------------------------------------------
-- 2. Retention: what each run erased, append-only. Ids and categories only, never data.
create table audit.retention_log (
    id                  bigint generated always as identity primary key,
    run_id              uuid not null,
    recorded_at         timestamptz not null default clock_timestamp(),
    category            text not null check (category in
        ('prisoner_identity', 'depositor', 'access_log', 'bookkeeping')),
    -- erased: crypto-shredded; pruned: access-log checkpoints deleted; due: reported only
    -- (bookkeeping material is kept: the ledger must still prove every balance).
    outcome             text not null check (outcome in ('erased', 'pruned', 'due')),
    subject_person_id   uuid,
    -- The rule that made it due, e.g. {"period": "P5Y", "from": "released_at", "since": "…"}.
    detail              jsonb not null default '{}'::jsonb check (jsonb_typeof(detail) = 'object')
);
create index retention_log_subject on audit.retention_log (subject_person_id);
create trigger retention_log_append_only before update or delete on audit.retention_log
    for each row execute function audit.refuse_change();
create trigger retention_log_no_truncate before truncate on audit.retention_log
    for each statement execute function audit.refuse_change();

-- ---------------------------------------------------------------------------------------------
-- 3. Tamper evidence: checkpoints over ranges of the journal (by seq) and of the access log (by
-- id), each hash covering the previous checkpoint's. Writers never touch these tables; a job
-- seals what has committed, in order.
--
-- A checkpoint may only cover numbers that can no longer appear: a number is taken from the
-- sequence during an INSERT and its transaction may commit later. The sealer reads the sequence,
-- then waits until every transaction that held a lock on the table at that moment has ended
-- (an INSERT locks its table before it takes a number): see ledger::seal::committed_horizon.
create table ledger_checkpoints (
    n                   bigint primary key check (n >= 1),
    first_seq           bigint not null,
    last_seq            bigint not null check (last_seq >= first_seq),
    entries             bigint not null,
    postings            bigint not null,
    -- SHA-256 over the range's entries and their postings, in order.
    range_sha256        bytea not null check (length(range_sha256) = 32),
    previous_sha256     bytea check (length(previous_sha256) = 32),
    checkpoint_sha256   bytea not null unique check (length(checkpoint_sha256) = 32),
    sealed_at           timestamptz not null default clock_timestamp(),
    constraint ledger_checkpoints_chain check ((n = 1) = (previous_sha256 is null))
);
create trigger ledger_checkpoints_append_only before update or delete on ledger_checkpoints
    for each row execute function refuse_change();
create trigger ledger_checkpoints_no_truncate before truncate on ledger_checkpoints
    for each statement execute function refuse_change();

create table audit.log_checkpoints (
    n                   bigint primary key check (n >= 1),
    first_id            bigint not null,
    last_id             bigint not null check (last_id >= first_id),
    rows                bigint not null,
    last_logged_at      timestamptz,
    range_sha256        bytea not null check (length(range_sha256) = 32),
    previous_sha256     bytea check (length(previous_sha256) = 32),
    checkpoint_sha256   bytea not null unique check (length(checkpoint_sha256) = 32),
    sealed_at           timestamptz not null default clock_timestamp(),
    constraint log_checkpoints_chain check ((n = 1) = (previous_sha256 is null))
);
create trigger log_checkpoints_append_only before update or delete on audit.log_checkpoints
    for each row execute function audit.refuse_change();
create trigger log_checkpoints_no_truncate before truncate on audit.log_checkpoints
    for each statement execute function audit.refuse_change();

-- Access-log checkpoints whose rows retention deleted: the chain of checkpoint hashes still
-- verifies, the rows are gone on purpose and on record.
create table audit.log_checkpoint_prunes (
    n           bigint primary key references audit.log_checkpoints (n),
    run_id      uuid not null,
    pruned_at   timestamptz not null default clock_timestamp()
);
create trigger log_checkpoint_prunes_append_only before update or delete on audit.log_checkpoint_prunes
    for each row execute function audit.refuse_change();

-- The access log stays append-only, except that retention may delete rows of a checkpoint it
-- has recorded as pruned (in the same transaction).
drop trigger access_log_append_only on audit.access_log;
create trigger access_log_no_update before update on audit.access_log
    for each row execute function audit.refuse_change();
create function audit.guard_access_log_delete() returns trigger language plpgsql as $$
begin
    if exists (select 1 from audit.log_checkpoints c
               join audit.log_checkpoint_prunes p on p.n = c.n
               where old.id between c.first_id and c.last_id) then
        return old;
    end if;
    raise exception 'the access log is append-only: DELETE refused' using errcode = 'P0001';
end;
$$;
create trigger access_log_delete_only_pruned before delete on audit.access_log
    for each row execute function audit.guard_access_log_delete();
