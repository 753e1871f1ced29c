-- One index of a posting's account instead of two. V1 kept (account_id, id) for statements and
-- (account_id, recorded_at) for sums up to or since a moment (balance as of, the decision's
-- spend of force posts and refunds). Postings of one write go to accounts all over those indexes,
-- so each index costs a page (and, after a checkpoint, a full-page image in the WAL) per account
-- written: a payroll of 10,000 lines touches 30,000 accounts, and each of the two indexes cost
-- it about 150 ms of its 1.1 s (docs/performance.md, "Payroll (3)").
--
-- (account_id, recorded_at, id) serves both: the time ranges as before, and statements in
-- recording order with the posting id breaking ties, keyset-paged on (recorded_at, id)
-- (`ledger::store::statement`). On a large journal, build the new index with `create index
-- concurrently` before this migration runs; `if not exists` then keeps it.
create index if not exists journal_postings_account_recorded
    on journal_postings (account_id, recorded_at, id);
drop index journal_postings_account;
drop index journal_postings_account_time;
