-- Staff adjustments with four-eyes approval, and the staff actions on cards and on the outbox.
-- Every table here is append-only: a proposal is one row, its decision another, and the ledger
-- entry is posted only with an approval by a second person.

create schema if not exists adjustments;

-- A balanced entry proposed between one of a prisoner's sub-accounts and an institutional
-- account. `direction` says which side the prisoner's account is on.
create table adjustments.proposals (
    id                      uuid primary key,
    prison_id               uuid not null references identity.prisons (id),
    person_id               uuid not null,
    prisoner_account_id     uuid not null references ledger_accounts (id),
    institution_account_id  uuid not null references ledger_accounts (id),
    direction               text not null check (direction in ('credit_prisoner', 'debit_prisoner')),
    amount_minor            bigint not null check (amount_minor > 0),
    currency                char(3) not null,
    -- A code from a closed list, plus the maker's explanation (kept here only, never logged).
    reason_code             text not null check (reason_code in
                                ('correction', 'refund', 'write_off', 'suspense_clearing', 'other')),
    reason                  text not null check (length(reason) between 1 and 500),
    proposed_by             uuid not null references auth.staff (id),
    proposed_at             timestamptz not null default clock_timestamp()
);
create index proposals_prison on adjustments.proposals (prison_id, proposed_at);

-- At most one decision per proposal (the primary key). An approval names the entry it posted.
create table adjustments.decisions (
    proposal_id     uuid primary key references adjustments.proposals (id),
    decision        text not null check (decision in ('approved', 'rejected')),
    decided_by      uuid not null references auth.staff (id),
    decided_at      timestamptz not null default clock_timestamp(),
    entry_id        uuid references journal_entries (id),
    constraint approval_posts check ((decision = 'approved') = (entry_id is not null))
);

-- Four-eyes, by the database itself: the maker never decides their own proposal.
create function adjustments.refuse_own_decision() returns trigger language plpgsql as $$
begin
    if exists (select 1 from adjustments.proposals p
               where p.id = new.proposal_id and p.proposed_by = new.decided_by) then
        raise exception 'four-eyes: the maker of an adjustment cannot decide it'
            using errcode = 'P0001';
    end if;
    return new;
end;
$$;
create trigger decisions_four_eyes before insert on adjustments.decisions
    for each row execute function adjustments.refuse_own_decision();

-- What staff did to cards and to the processor outbox (who, when, to what). The card's state
-- itself changes only when the processor confirms.
create table audit.staff_actions (
    id              uuid primary key,
    staff_id        uuid not null references auth.staff (id),
    prison_id       uuid references identity.prisons (id),
    action          text not null check (action in
                        ('card_freeze', 'card_unfreeze', 'card_reissue', 'dead_letter_retry')),
    person_id       uuid,
    card_id         text,
    outbox_id       uuid,
    recorded_at     timestamptz not null default clock_timestamp()
);
create index staff_actions_person on audit.staff_actions (person_id, recorded_at);

create trigger proposals_append_only before update or delete on adjustments.proposals
    for each row execute function refuse_change();
create trigger proposals_no_truncate before truncate on adjustments.proposals
    for each statement execute function refuse_change();
create trigger decisions_append_only before update or delete on adjustments.decisions
    for each row execute function refuse_change();
create trigger decisions_no_truncate before truncate on adjustments.decisions
    for each statement execute function refuse_change();
create trigger staff_actions_append_only before update or delete on audit.staff_actions
    for each row execute function refuse_change();
create trigger staff_actions_no_truncate before truncate on audit.staff_actions
    for each statement execute function refuse_change();
