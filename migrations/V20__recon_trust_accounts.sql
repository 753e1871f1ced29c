-- The trust bank account each prison's statements must be of (docs/reconciliation.md): a bank
-- statement is imported for a prison only when its account's IBAN and currency are this one's,
-- and when it closes inside the reconciliation period (from `reconcile_from` up to today).
--
-- Append-only: a change of account is a new row, so who set which account when stays on record
-- (the prison's account is the institution's, not personal data). The current setting is the
-- latest row per prison.
create table recon.trust_accounts (
    id              bigint generated always as identity primary key,
    prison_id       uuid not null references identity.prisons (id),
    -- Upper case, no spaces; the mod-97 check is the application's (identity::validate::iban).
    iban            text not null check (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    -- The first day reconciled: a statement closing before it is not this period's.
    reconcile_from  date not null,
    configured_by   text not null check (length(configured_by) between 1 and 100),
    configured_at   timestamptz not null default clock_timestamp()
);
create index trust_accounts_prison on recon.trust_accounts (prison_id, id desc);
create trigger trust_accounts_append_only before update or delete on recon.trust_accounts
    for each row execute function refuse_change();
create trigger trust_accounts_no_truncate before truncate on recon.trust_accounts
    for each statement execute function refuse_change();

-- Which prison's trust account a bank statement was imported for (null: settlement files, and
-- statements imported before V20).
alter table recon.imports add column prison_id uuid references identity.prisons (id);
