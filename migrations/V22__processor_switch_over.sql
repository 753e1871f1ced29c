-- Processor switch-over (issue 16, item 2; docs/switch-over.md): more than one processor, each
-- card at exactly one of them, and a program moved from one to the other in waves. No personal
-- data here: processors are short ids, people pseudonymous ids.

-- The processors Saldo knows. Their addresses and secrets are configuration (SALDO_PROCESSOR_URL
-- for `p1`, the default; SALDO_PROCESSORS for the others); this table is what the data must
-- agree on: which ids exist and where each stands in a switch-over.
create table card.processors (
    processor_id    text primary key check (processor_id ~ '^[a-z][a-z0-9_]{0,15}$'),
    -- active: cards are issued there; draining: its cards are being moved away (authorizations
    -- still accepted); closed: every card moved and closed there.
    status          text not null default 'active' check (status in ('active', 'draining', 'closed')),
    created_at      timestamptz not null default now(),
    status_changed_at timestamptz not null default now()
);
insert into card.processors (processor_id) values ('p1');

-- Every card belongs to one processor; existing cards to the default one.
alter table card.cards
    add column processor_id text not null default 'p1' references card.processors (processor_id);
create index cards_processor on card.cards (processor_id, card_id) where state <> 'CLOSED';

-- Every call goes to one processor; each processor's worker claims only its own.
alter table card.outbox
    add column processor_id text not null default 'p1' references card.processors (processor_id);
create index outbox_due_per_processor on card.outbox (processor_id, next_attempt_at)
    where state = 'pending';

-- Webhook ids are unique per sender only: one processor's `msg_1` is not another's.
alter table card.inbox add column processor_id text not null default 'p1';
alter table card.inbox drop constraint inbox_pkey;
alter table card.inbox add primary key (processor_id, webhook_id);

-- Which processor each request went to (the register names the endpoint by path alone).
alter table card.egress_register add column processor_id text not null default 'p1';

-- Settlement files are per processor: the old processor's final file and the new one's file of
-- the same day are two files.
alter table recon.imports add column processor_id text not null default 'p1';
drop index recon.imports_one_settlement_per_day;
create unique index imports_one_settlement_per_processor_day
    on recon.imports (processor_id, business_date) where kind = 'settlement';

-- A switch-over wave: who asked, from where to where, for which prison, how many cards.
create table card.switch_over_waves (
    wave_id         uuid primary key,
    from_processor  text not null references card.processors (processor_id),
    to_processor    text not null references card.processors (processor_id),
    prison_id       uuid,
    wave_size       int not null check (wave_size between 1 and 100000),
    selected_cards  int not null check (selected_cards >= 0),
    requested_by    text not null check (length(requested_by) between 1 and 100),
    requested_at    timestamptz not null default clock_timestamp(),
    check (from_processor <> to_processor)
);

-- One row per card moved: recorded once, in the transaction that queues the new card. Where the
-- move stands (new card issued, active, old card closed) is read from card.cards and the outbox.
create table card.switch_over_moves (
    move_id         uuid primary key,
    wave_id         uuid not null references card.switch_over_waves (wave_id),
    old_card_id     text not null unique references card.cards (card_id),
    person_id       uuid not null,
    from_processor  text not null references card.processors (processor_id),
    to_processor    text not null references card.processors (processor_id),
    prison_id       uuid,
    queued_at       timestamptz not null default clock_timestamp()
);
create index switch_over_moves_person on card.switch_over_moves (person_id, to_processor);
create index switch_over_moves_wave on card.switch_over_moves (wave_id);

create trigger switch_over_waves_append_only before update or delete on card.switch_over_waves
    for each row execute function refuse_change();
create trigger switch_over_moves_append_only before update or delete on card.switch_over_moves
    for each row execute function refuse_change();
