-- Reconciliation of the processor's settlement files and the trust bank account's camt.053
-- statements against the ledger (docs/reconciliation.md). Amounts are bigint minor units.

create schema if not exists recon;

-- One row per imported file. The file's SHA-256 is unique: importing the same bytes again
-- changes nothing.
create table recon.imports (
    id                  uuid primary key,
    kind                text not null check (kind in ('settlement', 'bank_statement')),
    file_sha256         text not null unique check (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_name           text,
    -- Settlement files: the settlement date. Bank statements: the last booking date covered.
    business_date       date not null,
    currency            char(3) not null,
    row_count           bigint not null,
    -- Settlement files: the trailer's net (sum of all rows, positive = debited from funding).
    net_minor           bigint not null,
    card_net_minor      bigint not null default 0,
    fee_minor           bigint not null default 0,
    adjustment_minor    bigint not null default 0,
    -- The day's settlement entry the import booked (settlement files only).
    settlement_entry_id uuid references journal_entries (id),
    imported_by         text not null,
    imported_at         timestamptz not null default clock_timestamp()
);
-- One settlement file per settlement date: a second, different file for a date is refused.
create unique index imports_one_settlement_per_day on recon.imports (business_date)
    where kind = 'settlement';

-- The rows of settlement files, with what matching made of each.
create table recon.settlement_rows (
    import_id           uuid not null references recon.imports (id) deferrable initially deferred,
    line_no             bigint not null,
    record_id           text not null,
    settlement_date     date not null,
    row_type            text not null check (row_type in ('CLEARING', 'REFUND', 'FEE', 'ADJUSTMENT')),
    transaction_id      text,
    authorization_id    text,
    card_id             text,
    amount_minor        bigint not null,
    currency            char(3) not null,
    mcc                 text,
    cleared_at          timestamptz,
    -- 'matched', 'booked' (a fee, booked with the day's settlement entry), or a break class.
    outcome             text not null,
    entry_id            uuid,
    ledger_amount_minor bigint,
    ledger_currency     char(3),
    primary key (import_id, line_no)
);
create index settlement_rows_transaction on recon.settlement_rows (transaction_id)
    where transaction_id is not null;
create index settlement_rows_date on recon.settlement_rows (settlement_date, outcome);

-- Statements inside a camt.053 file (one per Stmt element).
create table recon.bank_statements (
    import_id           uuid not null references recon.imports (id) deferrable initially deferred,
    stmt_no             int not null,
    statement_id        text not null,
    account_iban        text,
    currency            char(3) not null,
    opening_minor       bigint not null,
    closing_minor       bigint not null,
    closing_date        date not null,
    primary key (import_id, stmt_no)
);

-- Booked statement lines (one per transaction detail), amounts signed: credit (money in) positive.
create table recon.bank_lines (
    import_id           uuid not null references recon.imports (id) deferrable initially deferred,
    line_no             bigint not null,
    stmt_no             int not null,
    booking_date        date not null,
    amount_minor        bigint not null,
    currency            char(3) not null,
    end_to_end_id       text,
    account_servicer_ref text,
    remittance          text,
    outcome             text not null,
    entry_id            uuid,
    ledger_amount_minor bigint,
    ledger_currency     char(3),
    primary key (import_id, line_no)
);
create index bank_lines_end_to_end on recon.bank_lines (end_to_end_id) where end_to_end_id is not null;
create index bank_lines_entry on recon.bank_lines (entry_id) where entry_id is not null;
create index bank_lines_date on recon.bank_lines (booking_date, outcome);

-- What the processor said its funding account held (GET /v1/funding), for the daily report.
create table recon.funding_balances (
    as_of_date          date not null,
    currency            char(3) not null,
    balance_minor       bigint not null,
    recorded_at         timestamptz not null default clock_timestamp(),
    primary key (as_of_date, currency)
);

-- Breaks: a difference between the ledger and the processor or the bank.
create table recon.breaks (
    id                  uuid primary key,
    -- Identifies what broke, so rerunning a match never files the same break twice.
    break_key           text not null unique,
    source              text not null check (source in ('settlement', 'bank')),
    class               text not null check (class in ('missing_in_ledger', 'missing_at_processor',
                            'missing_at_bank', 'amount_mismatch', 'duplicate', 'currency_mismatch',
                            'unknown_card')),
    business_date       date not null,
    import_id           uuid references recon.imports (id) deferrable initially deferred,
    line_no             bigint,
    entry_id            uuid,
    reference           text,
    amount_minor        bigint,
    ledger_amount_minor bigint,
    currency            char(3),
    explanation         text not null,
    state               text not null default 'open'
                            check (state in ('open', 'assigned', 'resolved', 'accepted')),
    assignee            text,
    -- 'adjusting_entry' (four-eyes), or 'matched_later' (a timing difference that caught up).
    resolution          text check (resolution in ('adjusting_entry', 'matched_later')),
    resolution_entry_id uuid references journal_entries (id),
    accepted_reason     text,
    created_at          timestamptz not null default clock_timestamp(),
    closed_at           timestamptz,
    constraint closed_has_a_reason check (
        (state = 'resolved') = (resolution is not null)
        and (state = 'accepted') = (accepted_reason is not null)
        and (state in ('resolved', 'accepted')) = (closed_at is not null))
);
create index breaks_state on recon.breaks (state, business_date);
create index breaks_date on recon.breaks (business_date, class);

-- Everything that happens to a break, comments included: append-only.
create table recon.break_events (
    id                  bigint generated always as identity primary key,
    break_id            uuid not null references recon.breaks (id),
    kind                text not null check (kind in ('assigned', 'comment', 'proposed', 'approved',
                            'rejected', 'accepted', 'matched_later')),
    actor               text not null,
    body                text not null check (length(body) between 1 and 2000),
    recorded_at         timestamptz not null default clock_timestamp()
);
create index break_events_break on recon.break_events (break_id, id);
create trigger break_events_append_only before update or delete on recon.break_events
    for each row execute function refuse_change();
create trigger break_events_no_truncate before truncate on recon.break_events
    for each statement execute function refuse_change();

-- Adjusting entries proposed for a break, posted only once a second person approves.
create table recon.adjustments (
    id                  uuid primary key,
    break_id            uuid not null references recon.breaks (id),
    proposed_by         text not null,
    proposed_at         timestamptz not null default clock_timestamp(),
    -- The entry to post: {"effective_date", "description", "postings": [{"account_code",
    -- "amount_minor", "currency"}], "external_refs": [{"kind", "value"}]}.
    draft               jsonb not null,
    state               text not null default 'proposed' check (state in ('proposed', 'approved', 'rejected')),
    decided_by          text,
    decided_at          timestamptz,
    entry_id            uuid references journal_entries (id),
    -- Four-eyes, by the database itself: the proposer never decides.
    constraint four_eyes check (decided_by is null or decided_by <> proposed_by),
    constraint decided_consistently check ((state = 'proposed') = (decided_by is null)
        and (state = 'approved') = (entry_id is not null))
);
create unique index adjustments_one_open_per_break on recon.adjustments (break_id)
    where state = 'proposed';

-- Matching looks ledger entries up by business date.
create index if not exists journal_entries_effective_date on journal_entries (effective_date);

-- Amounts in major units for explanations a clerk reads ("12.50 EUR"). numeric is exact.
create function recon.money_text(amount_minor bigint, currency text) returns text
language sql immutable as $$
    select case when currency = 'ISK' then amount_minor::text
                else round(amount_minor::numeric / 100, 2)::text end || ' ' || currency
$$;
