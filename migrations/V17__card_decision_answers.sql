-- Declines answered to authorization requests that were not decided in time
-- (card-adapter/src/decisions.rs, docs/processor-integration.md "What is answered is what is
-- durable").
--
-- A request's decision has its own deadline; when it is not durably decided by then (its batch's
-- COMMIT has not returned, a lock held it, the queue was long), the webhook answers DECLINE and
-- records that answer here first, in a statement of its own that waits for nothing the batch
-- holds. The row is the answer that wins: every later delivery of the authorization is answered
-- DECLINE from it, and a batch whose COMMIT lands later has what it held released and its row
-- set to DECLINE (by the worker as soon as the COMMIT returns; after a crash, by the sweep when
-- the webhook starts, or by the next delivery of the authorization).
--
-- No personal data: the processor's opaque ids and the amount asked for. Rows are only inserted.
create table card.authorization_deadline_declines (
    authorization_id text primary key,
    card_id          text not null,
    currency         char(3) not null,
    requested_minor  bigint not null,
    recorded_at      timestamptz not null default clock_timestamp()
);
-- The sweep looks only at declines younger than a hold can live.
create index authorization_deadline_declines_recorded
    on card.authorization_deadline_declines (recorded_at);
