-- Tamper evidence, second step (issue #21, points 4 and 5). See docs/data-protection.md.

-- ---------------------------------------------------------------------------------------------
-- 1. What an account is and whose it is, sealed. Accounts get a sequence number (existing ones in
-- the order they are stored) and are sealed in checkpoints over ranges of it, chained like the
-- journal's: a changed owner, code, currency, type, purpose or rule is found by `saldo verify`
-- (`accounts_sealed`) even when made with the triggers off. `closed_at` is not sealed: it is the
-- one column that changes, once (the guard below).
alter table ledger_accounts add column seq bigint generated always as identity;
alter table ledger_accounts add constraint ledger_accounts_seq_key unique (seq);

-- The guard of V1, with the new column among those that never change.
create or replace function guard_account_change() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        raise exception 'ledger accounts are closed, never deleted' using errcode = 'P0001';
    end if;
    if (old.id, old.code, old.account_type, old.currency, old.owner_kind, old.person_id, old.purpose,
        old.balance_rule, old.is_hot, old.created_at, old.seq)
       is distinct from
       (new.id, new.code, new.account_type, new.currency, new.owner_kind, new.person_id, new.purpose,
        new.balance_rule, new.is_hot, new.created_at, new.seq)
       or old.closed_at is not null then
        raise exception 'only closing an open account is allowed' using errcode = 'P0001';
    end if;
    return new;
end;
$$;

create table ledger_account_checkpoints (
    n                   bigint primary key check (n >= 1),
    first_seq           bigint not null,
    last_seq            bigint not null check (last_seq >= first_seq),
    accounts            bigint not null,
    -- SHA-256 over the range's accounts (every column but closed_at), in order.
    range_sha256        bytea not null check (length(range_sha256) = 32),
    previous_sha256     bytea check (length(previous_sha256) = 32),
    checkpoint_sha256   bytea not null unique check (length(checkpoint_sha256) = 32),
    sealed_at           timestamptz not null default clock_timestamp(),
    constraint ledger_account_checkpoints_chain check ((n = 1) = (previous_sha256 is null))
);
create trigger ledger_account_checkpoints_append_only before update or delete on ledger_account_checkpoints
    for each row execute function refuse_change();
create trigger ledger_account_checkpoints_no_truncate before truncate on ledger_account_checkpoints
    for each statement execute function refuse_change();

-- ---------------------------------------------------------------------------------------------
-- 2. The access log is pruned only by the retention run. A prune row is accepted only with the
-- run's own retention-log record for that checkpoint, written in the same transaction, naming a
-- period of at least a year, and only when the checkpoint's last row is older than that period
-- by the database's clock; the database dates the prune itself. `saldo verify` then checks every
-- prune against the retention log and the configured period (a role that writes its own
-- retention-log record with a shorter period than configured is refused here below a year, and
-- reported by verify above it).

-- The checkpoint's time of its last row is part of the checkpoint hash from now on (version 2):
-- the retention period is measured from it after the rows are gone.
alter table audit.log_checkpoints add column hash_version smallint not null default 1
    check (hash_version in (1, 2));
alter table audit.log_checkpoints alter column hash_version set default 2;

-- The least retention of the access log the software accepts, whatever SALDO_RETENTION says
-- (`retention::MIN_ACCESS_LOG_RETENTION`): the log is the evidence of who consulted whom.
create function audit.min_access_log_retention() returns interval language sql immutable
    as $$ select interval '1 year' $$;

-- What retention counts from is dated by the database, never by the writer: an access-log row's
-- time, and a checkpoint's time of its latest row (the latest of its rows, so a row slipped in
-- backdated cannot make a range of fresh rows look old).
create function audit.date_access_log_row() returns trigger language plpgsql as $$
begin
    new.logged_at := clock_timestamp();
    return new;
end;
$$;
create trigger access_log_dated before insert on audit.access_log
    for each row execute function audit.date_access_log_row();

create function audit.date_log_checkpoint() returns trigger language plpgsql as $$
begin
    new.last_logged_at := (select max(l.logged_at) from audit.access_log l
                           where l.id between new.first_id and new.last_id);
    new.sealed_at := clock_timestamp();
    return new;
end;
$$;
create trigger log_checkpoints_dated before insert on audit.log_checkpoints
    for each row execute function audit.date_log_checkpoint();

create function audit.date_retention_record() returns trigger language plpgsql as $$
begin
    new.recorded_at := clock_timestamp();
    return new;
end;
$$;
create trigger retention_log_dated before insert on audit.retention_log
    for each row execute function audit.date_retention_record();

create function audit.guard_log_prune() returns trigger language plpgsql as $$
declare
    recorded jsonb;
    period interval;
    last_logged timestamptz;
begin
    new.pruned_at := clock_timestamp();
    select r.detail into recorded from audit.retention_log r
    where r.run_id = new.run_id and r.category = 'access_log' and r.outcome = 'pruned'
      and r.detail->>'checkpoint' = new.n::text
      and r.xmin = pg_current_xact_id()::xid
    limit 1;
    if recorded is null then
        raise exception 'access-log checkpoint %: pruned only by the retention run, with its retention-log record in the same transaction', new.n
            using errcode = 'P0001';
    end if;
    begin
        period := (recorded->>'period')::interval;
    exception when others then
        period := null;
    end;
    if period is null or now() - period > now() - audit.min_access_log_retention() then
        raise exception 'access-log checkpoint %: a retention period under % is refused', new.n,
            audit.min_access_log_retention() using errcode = 'P0001';
    end if;
    select c.last_logged_at into last_logged from audit.log_checkpoints c where c.n = new.n;
    if last_logged is null or last_logged >= now() - period then
        raise exception 'access-log checkpoint %: its rows are within the retention period', new.n
            using errcode = 'P0001';
    end if;
    return new;
end;
$$;
create trigger log_checkpoint_prunes_only_by_retention before insert on audit.log_checkpoint_prunes
    for each row execute function audit.guard_log_prune();
create trigger log_checkpoint_prunes_no_truncate before truncate on audit.log_checkpoint_prunes
    for each statement execute function audit.refuse_change();

-- ---------------------------------------------------------------------------------------------
-- 3. Processor events parked for staff (an unknown card, a zero amount, an amount beyond the
-- currency's bound): listed newest first by `GET /api/staff/processor-events/parked`.
create index inbox_rejected on card.inbox (received_at desc) where outcome = 'rejected';
