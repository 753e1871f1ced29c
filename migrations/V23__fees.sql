-- Fees as postings (docs/fees.md): every fee is a ledger entry on a named fee account, never a
-- silent netting; who bears each card-level fee is a policy per prison, fee kind and currency;
-- the public fee report per prison and month is computed from the fee entries' postings.
--
-- No personal data here: prisons are institutions, fees name the entry that booked them (whose
-- postings name pseudonymous accounts) and what caused them (a processor transaction id, a
-- settlement record, a staff action id). Both tables are append-only records.
create schema if not exists fees;

-- What a card-level fee costs in a prison and who bears it. A change is a new row; the latest
-- row per (prison, fee kind, currency) is in force. No row: the fee costs nothing and nothing
-- is booked. Program fees (the processor's FEE rows) have no policy: the service bears them.
create table fees.policies (
    id              bigint generated always as identity primary key,
    prison_id       uuid not null references identity.prisons (id),
    fee_kind        text not null check (fee_kind in ('atm_withdrawal', 'card_replacement')),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    amount_minor    bigint not null check (amount_minor >= 0),
    borne_by        text not null default 'service' check (borne_by in ('service', 'prisoner')),
    reason          text not null check (length(btrim(reason)) between 1 and 500),
    -- The member of staff (id) or `cli:<name>` who set it.
    set_by          text not null check (length(set_by) between 1 and 100),
    set_at          timestamptz not null default clock_timestamp()
);
create index policies_in_force on fees.policies (prison_id, fee_kind, currency, id desc);
create trigger policies_append_only before update or delete on fees.policies
    for each row execute function refuse_change();
create trigger policies_no_truncate before truncate on fees.policies
    for each statement execute function refuse_change();

-- Every fee booked: which entry booked it, of which kind, for which prison (null: program-wide,
-- the processor's program fees, which name no card), who bore it and what caused it. The amount
-- and currency are the entry's postings' (one source of truth for the report).
create table fees.charges (
    id              bigint generated always as identity primary key,
    fee_kind        text not null
                    check (fee_kind in ('processor_program', 'atm_withdrawal', 'card_replacement')),
    prison_id       uuid references identity.prisons (id),
    -- A processor transaction id (ATM), `YYYY-MM-DD:<record_id>` (a settlement FEE row), a staff
    -- action id (a card replacement).
    source_ref      text not null check (length(source_ref) between 1 and 200),
    entry_id        uuid not null unique references journal_entries (id),
    borne_by        text not null check (borne_by in ('service', 'prisoner')),
    -- The policy row applied (null for program fees).
    policy_id       bigint references fees.policies (id),
    effective_date  date not null,
    recorded_at     timestamptz not null default clock_timestamp(),
    unique (fee_kind, source_ref),
    constraint program_fees_are_program_wide
        check ((fee_kind = 'processor_program') = (prison_id is null)),
    constraint program_fees_are_the_services
        check (fee_kind <> 'processor_program' or borne_by = 'service')
);
create index charges_by_prison_and_date on fees.charges (prison_id, effective_date);
create index charges_program_wide_by_date on fees.charges (effective_date) where prison_id is null;
create trigger charges_append_only before update or delete on fees.charges
    for each row execute function refuse_change();
create trigger charges_no_truncate before truncate on fees.charges
    for each statement execute function refuse_change();
