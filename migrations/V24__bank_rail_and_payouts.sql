-- The bank rail (docs/payouts.md): structured creditor references for family bank transfers,
-- payouts by SEPA credit transfer (release payouts and returns of refused deposits) and the
-- pain.001 files they travel in, cash payouts at the gate. Every table here is a record:
-- append-only (the `refuse_change()` trigger from V1). No personal data: payees are identity
-- store records named by their pseudonymous id.

-- A prisoner's ISO 11649 reference (`RFkk` + a random token): which person a family's bank
-- transfer is for. Random, so it reveals nothing; one per person.
create table controls.deposit_references (
    reference   text primary key check (reference ~ '^RF[0-9]{2}[A-Z0-9]{1,21}$'),
    person_id   uuid not null unique,
    created_by  text not null check (length(created_by) between 1 and 100),
    created_at  timestamptz not null default clock_timestamp()
);

-- A transfer out of the trust account that Saldo instructs the bank to make: a release payout
-- (`release`, the person's money, now in `payouts_in_transit`) or the return of money that could
-- not be taken (`deposit_return`, now in `deposit_returns`). `payee_id` is the identity store's
-- counterparty record holding the name and IBAN; `end_to_end_id` is what the bank echoes on
-- camt.053 (the payout id, no personal data).
create table controls.bank_payouts (
    payout_id          uuid primary key,
    end_to_end_id      text not null unique check (end_to_end_id ~ '^[A-Za-z0-9]{1,35}$'),
    kind               text not null check (kind in ('release', 'deposit_return')),
    prison_id          uuid not null,
    person_id          uuid,
    payee_id           uuid not null,
    amount_minor       bigint not null check (amount_minor > 0),
    currency           char(3) not null,
    -- A return's ISO 20022 reason code (ExternalReturnReason1Code: RUTA, RR04, AC04…).
    reason_code        text check (reason_code ~ '^[A-Z0-9]{4}$'),
    -- The bank line a return gives back (its end-to-end reference), none for a release.
    returns_end_to_end text,
    instructed_entry_id uuid not null references journal_entries (id),
    created_by         text not null check (length(created_by) between 1 and 100),
    created_at         timestamptz not null default clock_timestamp(),
    check ((kind = 'release') = (person_id is not null)),
    check ((kind = 'deposit_return') = (reason_code is not null))
);
create index bank_payouts_prison on controls.bank_payouts (prison_id, created_at);

-- A pain.001 file written for the bank, and which payouts it carries (each in one file only).
create table controls.bank_payout_files (
    file_id           uuid primary key,
    message_id        text not null unique check (length(message_id) between 1 and 35),
    prison_id         uuid not null,
    payout_count      integer not null check (payout_count > 0),
    control_sum_minor bigint not null check (control_sum_minor > 0),
    currency          char(3) not null,
    file_sha256       text not null check (file_sha256 ~ '^[0-9a-f]{64}$'),
    created_by        text not null check (length(created_by) between 1 and 100),
    created_at        timestamptz not null default clock_timestamp()
);
create table controls.bank_payout_file_items (
    payout_id uuid primary key references controls.bank_payouts (payout_id),
    file_id   uuid not null references controls.bank_payout_files (file_id)
);
create index bank_payout_file_items_file on controls.bank_payout_file_items (file_id);

-- What the bank's statement showed: the debit (`settled`) or a return of it (`returned`).
create table controls.bank_payout_outcomes (
    payout_id   uuid not null references controls.bank_payouts (payout_id),
    outcome     text not null check (outcome in ('settled', 'returned')),
    entry_id    uuid not null references journal_entries (id),
    reason_code text check (reason_code ~ '^[A-Z0-9]{4}$'),
    recorded_at timestamptz not null default clock_timestamp(),
    primary key (payout_id, outcome)
);

-- Cash paid at the gate on release, and its receipt number.
create table controls.cash_payouts (
    receipt_no   text primary key check (receipt_no ~ '^C-[0-9A-Z-]{1,40}$'),
    person_id    uuid not null,
    prison_id    uuid not null,
    amount_minor bigint not null check (amount_minor > 0),
    currency     char(3) not null,
    entry_id     uuid not null references journal_entries (id),
    paid_by      text not null check (length(paid_by) between 1 and 100),
    paid_at      timestamptz not null default clock_timestamp()
);
create index cash_payouts_person on controls.cash_payouts (person_id);

do $$
declare t text;
begin
    foreach t in array array['deposit_references', 'bank_payouts', 'bank_payout_files',
                             'bank_payout_file_items', 'bank_payout_outcomes', 'cash_payouts'] loop
        execute format('create trigger %I before update or delete on controls.%I
                        for each row execute function refuse_change()', t || '_append_only', t);
        execute format('create trigger %I before truncate on controls.%I
                        for each statement execute function refuse_change()', t || '_no_truncate', t);
    end loop;
end $$;

-- A counterparty found again by its IBAN (a family member who pays again, in the same prison):
-- HMAC-SHA256 under the identity store's look-up key, never the IBAN itself.
alter table identity.depositors add column bank_account_hmac bytea
    check (length(bank_account_hmac) = 32);
create index depositors_bank_account_hmac on identity.depositors (registered_prison_id, bank_account_hmac)
    where bank_account_hmac is not null;

-- Money from the bank that Saldo gives back (a refused or unmatched transfer) is a break staff
-- see until they close it.
alter table recon.breaks drop constraint breaks_class_check;
alter table recon.breaks add constraint breaks_class_check check (class in ('missing_in_ledger',
    'missing_at_processor', 'missing_at_bank', 'amount_mismatch', 'duplicate', 'currency_mismatch',
    'unknown_card', 'returned_to_sender'));
