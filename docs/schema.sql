--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: adjustments; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA adjustments;

--
-- Name: audit; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA audit;

--
-- Name: auth; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA auth;

--
-- Name: card; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA card;

--
-- Name: controls; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA controls;

--
-- Name: fees; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA fees;

--
-- Name: identity; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA identity;

--
-- Name: recon; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA recon;

--
-- Name: services; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA services;

--
-- Name: refuse_own_decision(); Type: FUNCTION; Schema: adjustments; Owner: -
--

CREATE FUNCTION adjustments.refuse_own_decision() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    if exists (select 1 from adjustments.proposals p
               where p.id = new.proposal_id and p.proposed_by = new.decided_by) then
        raise exception 'four-eyes: the maker of an adjustment cannot decide it'
            using errcode = 'P0001';
    end if;
    return new;
end;
$$;

--
-- Name: date_access_log_row(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.date_access_log_row() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    new.logged_at := clock_timestamp();
    return new;
end;
$$;

--
-- Name: date_log_checkpoint(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.date_log_checkpoint() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    new.last_logged_at := (select max(l.logged_at) from audit.access_log l
                           where l.id between new.first_id and new.last_id);
    new.sealed_at := clock_timestamp();
    return new;
end;
$$;

--
-- Name: date_retention_record(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.date_retention_record() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    new.recorded_at := clock_timestamp();
    return new;
end;
$$;

--
-- Name: guard_access_log_delete(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.guard_access_log_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    if exists (select 1 from audit.log_checkpoints c
               join audit.log_checkpoint_prunes p on p.n = c.n
               where old.id between c.first_id and c.last_id) then
        return old;
    end if;
    raise exception 'the access log is append-only: DELETE refused' using errcode = 'P0001';
end;
$$;

--
-- Name: guard_log_prune(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.guard_log_prune() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: min_access_log_retention(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.min_access_log_retention() RETURNS interval
    LANGUAGE sql IMMUTABLE
    AS $$ select interval '1 year' $$;

--
-- Name: refuse_change(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    raise exception 'the access log is append-only: % refused', tg_op using errcode = 'P0001';
end;
$$;

--
-- Name: authorization_held_follows_events(); Type: FUNCTION; Schema: card; Owner: -
--

CREATE FUNCTION card.authorization_held_follows_events() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    update card.authorizations a
       set held_minor = a.held_minor + e.delta_minor
      from (select hold_id,
                   sum(case when kind = 'increase' then held_delta_minor
                            else -held_delta_minor end)::bigint as delta_minor
              from inserted_hold_events
             group by hold_id) e
     -- The array makes it an index look-up of the few rows the statement touches: with the
     -- join alone the planner, which cannot see the transition table's size, hashed every
     -- authorization that has a hold (16 ms a batch at 28,000 authorizations).
     where a.hold_id = any(array(select hold_id from inserted_hold_events))
       and a.hold_id = e.hold_id and e.delta_minor <> 0;
    return null;
end;
$$;

--
-- Name: authorization_held_from_hold(); Type: FUNCTION; Schema: card; Owner: -
--

CREATE FUNCTION card.authorization_held_from_hold() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
    remaining bigint;
begin
    select h.amount_minor + coalesce(sum(case when e.kind = 'increase' then e.held_delta_minor
                                              else -e.held_delta_minor end), 0)
      into remaining
      from holds h left join hold_events e on e.hold_id = h.id
     where h.id = new.hold_id
     group by h.amount_minor;
    new.held_minor := coalesce(remaining, 0);
    return new;
end;
$$;

--
-- Name: authorization_spend_deleted(); Type: FUNCTION; Schema: card; Owner: -
--

CREATE FUNCTION card.authorization_spend_deleted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select o.card_id, o.currency, p.minute, -sum(p.part_minor)
    from deleted_authorizations o
    cross join lateral card.authorization_spend_parts(
        coalesce(o.authorized_at, o.created_at), o.held_minor + o.cleared_minor,
        o.approved_minor, o.increment_at, o.increment_minor) p
    group by 1, 2, 3
    having sum(p.part_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

--
-- Name: authorization_spend_inserted(); Type: FUNCTION; Schema: card; Owner: -
--

CREATE FUNCTION card.authorization_spend_inserted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select n.card_id, n.currency, p.minute, sum(p.part_minor)
    from inserted_authorizations n
    cross join lateral card.authorization_spend_parts(
        coalesce(n.authorized_at, n.created_at), n.held_minor + n.cleared_minor,
        n.approved_minor, n.increment_at, n.increment_minor) p
    group by 1, 2, 3
    having sum(p.part_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

--
-- Name: authorization_spend_minute(timestamp with time zone); Type: FUNCTION; Schema: card; Owner: -
--

CREATE FUNCTION card.authorization_spend_minute(at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin('00:01:00'::interval, at, '1970-01-01 00:00:00+00'::timestamp with time zone);

--
-- Name: authorization_spend_parts(timestamp with time zone, bigint, bigint, timestamp with time zone[], bigint[]); Type: FUNCTION; Schema: card; Owner: -
--

CREATE FUNCTION card.authorization_spend_parts(own_at timestamp with time zone, total_minor bigint, approved_minor bigint, increment_at timestamp with time zone[], increment_minor bigint[]) RETURNS TABLE(minute timestamp with time zone, part_minor bigint)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
    with increments as (
        select i.at,
               least(i.minor, greatest(0, $2 - $3 - (sum(i.minor) over (order by i.n) - i.minor)))
                   ::bigint as part_minor
        from unnest($4, $5) with ordinality as i(at, minor, n)
    )
    select card.authorization_spend_minute($1),
           ($2 - coalesce((select sum(p.part_minor) from increments p), 0))::bigint
    union all
    select card.authorization_spend_minute(p.at), p.part_minor from increments p
$_$;

--
-- Name: authorization_spend_updated(); Type: FUNCTION; Schema: card; Owner: -
--

CREATE FUNCTION card.authorization_spend_updated() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    insert into card.authorization_spend_minutes as m (card_id, currency, minute, spent_minor)
    select c.card_id, c.currency, c.minute, sum(c.delta_minor)
    from (
        select n.card_id, n.currency, p.minute, p.part_minor as delta_minor
        from updated_new n
        cross join lateral card.authorization_spend_parts(
            coalesce(n.authorized_at, n.created_at), n.held_minor + n.cleared_minor,
            n.approved_minor, n.increment_at, n.increment_minor) p
        union all
        select o.card_id, o.currency, p.minute, -p.part_minor
        from updated_old o
        cross join lateral card.authorization_spend_parts(
            coalesce(o.authorized_at, o.created_at), o.held_minor + o.cleared_minor,
            o.approved_minor, o.increment_at, o.increment_minor) p
    ) c
    group by 1, 2, 3
    having sum(c.delta_minor) <> 0
    order by 1, 2, 3
    on conflict (card_id, currency, minute)
        do update set spent_minor = m.spent_minor + excluded.spent_minor;
    return null;
end;
$$;

--
-- Name: check_inserted_authorizations_held(); Type: FUNCTION; Schema: card; Owner: -
--

CREATE FUNCTION card.check_inserted_authorizations_held() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
    wrong_rows bigint;
begin
    select count(*) into wrong_rows
    from inserted_authorizations n
    left join lateral (
        select h.amount_minor + coalesce((
                   select sum(case when e.kind = 'increase' then e.held_delta_minor
                                   else -e.held_delta_minor end)
                   from hold_events e where e.hold_id = h.id), 0) as remaining
        from holds h where h.id = n.hold_id
    ) r on true
    where n.held_minor <> coalesce(r.remaining, 0);
    if wrong_rows > 0 then
        raise exception '% new card authorization row(s) with held_minor unlike their hold', wrong_rows
            using errcode = 'check_violation',
                  constraint = 'authorizations_held_minor_is_the_hold',
                  hint = 'insert held_minor as the hold''s remaining amount (0 without a hold)';
    end if;
    return null;
end;
$$;

--
-- Name: pms_events_guard(); Type: FUNCTION; Schema: identity; Owner: -
--

CREATE FUNCTION identity.pms_events_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    if tg_op = 'DELETE' or new.event_id <> old.event_id or new.feed_id <> old.feed_id
        or new.body_sha256 <> old.body_sha256 or new.event_type <> old.event_type
        or new.occurred_at <> old.occurred_at or new.person_ref_hmac <> old.person_ref_hmac
        or new.sequence <> old.sequence or new.received_at <> old.received_at
        or new.prison_id is distinct from old.prison_id
        or (old.status in ('applied', 'dismissed') and new.status <> old.status) then
        raise exception 'identity.pms_events: a receipt is a record: % refused', tg_op
            using errcode = 'P0001';
    end if;
    return new;
end;
$$;

--
-- Name: check_inserted_postings(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.check_inserted_postings() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
    bad_account uuid;
    bad_currency char(3);
    account_open boolean;
    bad_entry uuid;
    bad_lines bigint;
    entry_missing boolean;
begin
    -- Each distinct (account, currency) of the statement: one index probe. The plan is cached
    -- for the session whatever the statement's size, so it must suit one posting as well as
    -- 40,000: the lateral subquery (kept apart from the outer query by its `limit`) forces the
    -- probes; a hash join would read every account for every posting of a card payment.
    select n.account_id, n.currency, o.is_open into bad_account, bad_currency, account_open
    from (select distinct account_id, currency from new_postings) n
    left join lateral (
        select a.closed_at is null as is_open
        from ledger_accounts a
        where a.id = n.account_id and a.currency = n.currency
        limit 1
    ) o on true
    where o.is_open is distinct from true
    limit 1;
    if bad_account is not null then
        if account_open is null then
            raise exception 'account % in % does not exist', bad_account, bad_currency
                using errcode = 'foreign_key_violation',
                      constraint = 'journal_postings_account_id_currency_fkey';
        end if;
        raise exception 'account % is closed', bad_account using errcode = 'P0003';
    end if;

    -- Each touched entry exists and, with all its postings (earlier statements' too, through the
    -- entry index), has two or more that sum to zero per currency. One plain aggregate per
    -- entry: an entry in one currency (nearly all) balances when its sum is zero; only an entry
    -- in several currencies is summed per currency.
    select t.entry_id, b.lines, b.entry_missing into bad_entry, bad_lines, entry_missing
    from (select distinct entry_id from new_postings) t
    cross join lateral (
        select count(*) as lines, sum(p.amount_minor) as total,
               min(p.currency) as low_currency, max(p.currency) as high_currency,
               not exists (select 1 from journal_entries e where e.id = t.entry_id) as entry_missing
        from journal_postings p
        where p.entry_id = t.entry_id
    ) b
    where b.entry_missing
       or b.lines < 2
       or (b.low_currency = b.high_currency and b.total <> 0)
       or (b.low_currency <> b.high_currency and exists (
               select 1 from journal_postings p
               where p.entry_id = t.entry_id
               group by p.currency
               having sum(p.amount_minor) <> 0))
    limit 1;
    if bad_entry is not null then
        if entry_missing then
            raise exception 'journal entry % does not exist', bad_entry
                using errcode = 'foreign_key_violation',
                      constraint = 'journal_postings_entry_id_fkey';
        end if;
        if bad_lines < 2 then
            raise exception 'journal entry % has fewer than two postings', bad_entry
                using errcode = 'P0002';
        end if;
        select p.currency into bad_currency
        from journal_postings p
        where p.entry_id = bad_entry
        group by p.currency
        having sum(p.amount_minor) <> 0
        order by p.currency
        limit 1;
        raise exception 'journal entry % does not balance in %', bad_entry, bad_currency
            using errcode = 'P0002';
    end if;
    return null;
end;
$$;

--
-- Name: guard_account_change(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.guard_account_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: refuse_change(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    raise exception 'ledger table % is append-only: % refused', tg_table_name, tg_op
        using errcode = 'P0001', hint = 'corrections are new (reversal) entries';
end;
$$;

--
-- Name: check_settlement_rows_import(); Type: FUNCTION; Schema: recon; Owner: -
--

CREATE FUNCTION recon.check_settlement_rows_import() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
    missing uuid;
begin
    select n.import_id into missing
    from (select distinct import_id from new_rows) n
    where not exists (select 1 from recon.imports i where i.id = n.import_id)
    limit 1;
    if missing is not null then
        raise exception 'settlement rows name import %, which does not exist', missing
            using errcode = '23503';
    end if;
    return null;
end;
$$;

--
-- Name: money_text(bigint, text); Type: FUNCTION; Schema: recon; Owner: -
--

CREATE FUNCTION recon.money_text(amount_minor bigint, currency text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    select case when currency = 'ISK' then amount_minor::text
                else round(amount_minor::numeric / 100, 2)::text end || ' ' || currency
$$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: decisions; Type: TABLE; Schema: adjustments; Owner: -
--

CREATE TABLE adjustments.decisions (
    proposal_id uuid NOT NULL,
    decision text NOT NULL,
    decided_by uuid NOT NULL,
    decided_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    entry_id uuid,
    CONSTRAINT approval_posts CHECK (((decision = 'approved'::text) = (entry_id IS NOT NULL))),
    CONSTRAINT decisions_decision_check CHECK ((decision = ANY (ARRAY['approved'::text, 'rejected'::text])))
);

--
-- Name: proposals; Type: TABLE; Schema: adjustments; Owner: -
--

CREATE TABLE adjustments.proposals (
    id uuid NOT NULL,
    prison_id uuid NOT NULL,
    person_id uuid NOT NULL,
    prisoner_account_id uuid NOT NULL,
    institution_account_id uuid NOT NULL,
    direction text NOT NULL,
    amount_minor bigint NOT NULL,
    currency character(3) NOT NULL,
    reason_code text NOT NULL,
    reason text NOT NULL,
    proposed_by uuid NOT NULL,
    proposed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT proposals_amount_minor_check CHECK ((amount_minor > 0)),
    CONSTRAINT proposals_direction_check CHECK ((direction = ANY (ARRAY['credit_prisoner'::text, 'debit_prisoner'::text]))),
    CONSTRAINT proposals_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 500))),
    CONSTRAINT proposals_reason_code_check CHECK ((reason_code = ANY (ARRAY['correction'::text, 'refund'::text, 'write_off'::text, 'suspense_clearing'::text, 'other'::text])))
);

--
-- Name: access_log; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.access_log (
    id bigint NOT NULL,
    logged_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    actor_kind text NOT NULL,
    actor_id uuid,
    action text NOT NULL,
    subject_kind text NOT NULL,
    subject_person_id uuid,
    prison_id uuid,
    fields text[] NOT NULL,
    purpose text NOT NULL,
    case_ref text,
    recipient text,
    outcome text NOT NULL,
    request_id text,
    CONSTRAINT access_log_action_check CHECK ((action = ANY (ARRAY['consult'::text, 'create'::text, 'change'::text, 'disclose'::text, 'erase'::text]))),
    CONSTRAINT access_log_actor_kind_check CHECK ((actor_kind = ANY (ARRAY['staff'::text, 'prisoner'::text, 'system'::text]))),
    CONSTRAINT access_log_case_ref_check CHECK ((case_ref ~ '^[A-Za-z0-9_./-]{1,64}$'::text)),
    CONSTRAINT access_log_outcome_check CHECK ((outcome = ANY (ARRAY['ok'::text, 'denied'::text, 'not_found'::text]))),
    CONSTRAINT access_log_purpose_check CHECK ((purpose ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT access_log_recipient_check CHECK (((length(recipient) >= 1) AND (length(recipient) <= 200))),
    CONSTRAINT access_log_request_id_check CHECK ((length(request_id) <= 100)),
    CONSTRAINT access_log_subject_kind_check CHECK ((subject_kind = ANY (ARRAY['prisoner'::text, 'depositor'::text, 'access_log'::text])))
);

--
-- Name: access_log_id_seq; Type: SEQUENCE; Schema: audit; Owner: -
--

ALTER TABLE audit.access_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME audit.access_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: log_checkpoint_prunes; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.log_checkpoint_prunes (
    n bigint NOT NULL,
    run_id uuid NOT NULL,
    pruned_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

--
-- Name: log_checkpoints; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.log_checkpoints (
    n bigint NOT NULL,
    first_id bigint NOT NULL,
    last_id bigint NOT NULL,
    rows bigint NOT NULL,
    last_logged_at timestamp with time zone,
    range_sha256 bytea NOT NULL,
    previous_sha256 bytea,
    checkpoint_sha256 bytea NOT NULL,
    sealed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    hash_version smallint DEFAULT 2 NOT NULL,
    CONSTRAINT log_checkpoints_chain CHECK (((n = 1) = (previous_sha256 IS NULL))),
    CONSTRAINT log_checkpoints_check CHECK ((last_id >= first_id)),
    CONSTRAINT log_checkpoints_checkpoint_sha256_check CHECK ((length(checkpoint_sha256) = 32)),
    CONSTRAINT log_checkpoints_hash_version_check CHECK ((hash_version = ANY (ARRAY[1, 2]))),
    CONSTRAINT log_checkpoints_n_check CHECK ((n >= 1)),
    CONSTRAINT log_checkpoints_previous_sha256_check CHECK ((length(previous_sha256) = 32)),
    CONSTRAINT log_checkpoints_range_sha256_check CHECK ((length(range_sha256) = 32))
);

--
-- Name: retention_log; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.retention_log (
    id bigint NOT NULL,
    run_id uuid NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    category text NOT NULL,
    outcome text NOT NULL,
    subject_person_id uuid,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT retention_log_category_check CHECK ((category = ANY (ARRAY['prisoner_identity'::text, 'depositor'::text, 'access_log'::text, 'bookkeeping'::text]))),
    CONSTRAINT retention_log_detail_check CHECK ((jsonb_typeof(detail) = 'object'::text)),
    CONSTRAINT retention_log_outcome_check CHECK ((outcome = ANY (ARRAY['erased'::text, 'pruned'::text, 'due'::text])))
);

--
-- Name: retention_log_id_seq; Type: SEQUENCE; Schema: audit; Owner: -
--

ALTER TABLE audit.retention_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME audit.retention_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: staff_actions; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.staff_actions (
    id uuid NOT NULL,
    staff_id uuid NOT NULL,
    prison_id uuid,
    action text NOT NULL,
    person_id uuid,
    card_id text,
    outbox_id uuid,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT staff_actions_action_check CHECK ((action = ANY (ARRAY['card_freeze'::text, 'card_unfreeze'::text, 'card_reissue'::text, 'dead_letter_retry'::text])))
);

--
-- Name: kiosk_devices; Type: TABLE; Schema: auth; Owner: -
--

CREATE TABLE auth.kiosk_devices (
    id uuid NOT NULL,
    prison_id uuid NOT NULL,
    label text NOT NULL,
    token_sha256 bytea NOT NULL,
    issued_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT kiosk_devices_label_check CHECK (((length(label) >= 1) AND (length(label) <= 100))),
    CONSTRAINT kiosk_devices_token_sha256_check CHECK ((length(token_sha256) = 32))
);

--
-- Name: kiosk_pins; Type: TABLE; Schema: auth; Owner: -
--

CREATE TABLE auth.kiosk_pins (
    person_id uuid NOT NULL,
    pin_hash text NOT NULL,
    failures integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: kiosk_sessions; Type: TABLE; Schema: auth; Owner: -
--

CREATE TABLE auth.kiosk_sessions (
    token_sha256 bytea NOT NULL,
    person_id uuid NOT NULL,
    device_id uuid NOT NULL,
    language text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    CONSTRAINT kiosk_sessions_language_check CHECK ((language = ANY (ARRAY['fi'::text, 'sv'::text, 'en'::text, 'nl'::text, 'fr'::text, 'de'::text]))),
    CONSTRAINT kiosk_sessions_token_sha256_check CHECK ((length(token_sha256) = 32))
);

--
-- Name: login_throttle; Type: TABLE; Schema: auth; Owner: -
--

CREATE TABLE auth.login_throttle (
    throttle_key text NOT NULL,
    failures integer DEFAULT 0 NOT NULL,
    window_started_at timestamp with time zone DEFAULT now() NOT NULL,
    locked_until timestamp with time zone,
    CONSTRAINT login_throttle_throttle_key_check CHECK (((length(throttle_key) >= 1) AND (length(throttle_key) <= 100)))
);

--
-- Name: staff; Type: TABLE; Schema: auth; Owner: -
--

CREATE TABLE auth.staff (
    id uuid NOT NULL,
    username text NOT NULL,
    password_hash text,
    disabled_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT staff_username_check CHECK ((username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'::text))
);

--
-- Name: staff_grants; Type: TABLE; Schema: auth; Owner: -
--

CREATE TABLE auth.staff_grants (
    staff_id uuid NOT NULL,
    prison_id uuid NOT NULL,
    role text NOT NULL,
    granted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT staff_grants_role_check CHECK ((role = ANY (ARRAY['officer'::text, 'finance'::text, 'finance_approver'::text, 'auditor'::text, 'admin'::text])))
);

--
-- Name: staff_sessions; Type: TABLE; Schema: auth; Owner: -
--

CREATE TABLE auth.staff_sessions (
    token_sha256 bytea NOT NULL,
    staff_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    CONSTRAINT staff_sessions_token_sha256_check CHECK ((length(token_sha256) = 32))
);

--
-- Name: authorization_deadline_declines; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.authorization_deadline_declines (
    authorization_id text NOT NULL,
    card_id text NOT NULL,
    currency character(3) NOT NULL,
    requested_minor bigint NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

--
-- Name: authorization_spend_minutes; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.authorization_spend_minutes (
    card_id text NOT NULL,
    currency character(3) NOT NULL,
    minute timestamp with time zone NOT NULL,
    spent_minor bigint NOT NULL
);

--
-- Name: authorizations; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.authorizations (
    authorization_id text NOT NULL,
    card_id text NOT NULL,
    parent_authorization_id text,
    currency character(3) NOT NULL,
    requested_minor bigint DEFAULT 0 NOT NULL,
    decision text,
    approved_minor bigint DEFAULT 0 NOT NULL,
    decline_reason text,
    reason_key text,
    policy_version text,
    source text NOT NULL,
    hold_id uuid,
    pending_release_minor bigint DEFAULT 0 NOT NULL,
    expired boolean DEFAULT false NOT NULL,
    cleared_minor bigint DEFAULT 0 NOT NULL,
    final_cleared boolean DEFAULT false NOT NULL,
    merchant jsonb,
    channel text,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    updated_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    authorized_at timestamp with time zone,
    limited_by text,
    held_minor bigint DEFAULT 0 NOT NULL,
    increment_at timestamp with time zone[] DEFAULT '{}'::timestamp with time zone[] NOT NULL,
    increment_minor bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    request_timestamp timestamp with time zone,
    CONSTRAINT authorizations_decision_check CHECK ((decision = ANY (ARRAY['APPROVE'::text, 'DECLINE'::text]))),
    CONSTRAINT authorizations_held_minor_check CHECK ((held_minor >= 0)),
    CONSTRAINT authorizations_increments_paired CHECK ((cardinality(increment_at) = cardinality(increment_minor)))
)
WITH (fillfactor='70');

--
-- Name: card_state_events; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.card_state_events (
    id bigint NOT NULL,
    card_id text NOT NULL,
    previous_state text,
    state text NOT NULL,
    reason text,
    changed_by text NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT card_state_events_changed_by_check CHECK ((changed_by = ANY (ARRAY['PROCESSOR'::text, 'API'::text, 'SALDO'::text])))
);

--
-- Name: card_state_events_id_seq; Type: SEQUENCE; Schema: card; Owner: -
--

ALTER TABLE card.card_state_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME card.card_state_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: cards; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.cards (
    card_id text NOT NULL,
    cardholder_id text NOT NULL,
    person_id uuid NOT NULL,
    account_id uuid NOT NULL,
    state text NOT NULL,
    last4 text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    processor_id text DEFAULT 'p1'::text NOT NULL,
    CONSTRAINT cards_card_id_check CHECK ((card_id ~ '^card_[A-Za-z0-9_-]{1,60}$'::text)),
    CONSTRAINT cards_state_check CHECK ((state = ANY (ARRAY['INACTIVE'::text, 'ACTIVE'::text, 'PAUSED'::text, 'CLOSED'::text])))
);

--
-- Name: egress_register; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.egress_register (
    id bigint NOT NULL,
    sent_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    pseudonym text,
    person_id uuid,
    field_names text[] NOT NULL,
    body_sha256 text NOT NULL,
    outcome text NOT NULL,
    status_code integer,
    processor_id text DEFAULT 'p1'::text NOT NULL
);

--
-- Name: egress_register_id_seq; Type: SEQUENCE; Schema: card; Owner: -
--

ALTER TABLE card.egress_register ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME card.egress_register_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: inbox; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.inbox (
    webhook_id text NOT NULL,
    event_type text NOT NULL,
    webhook_timestamp bigint NOT NULL,
    received_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    body bytea NOT NULL,
    outcome text NOT NULL,
    detail text,
    processor_id text DEFAULT 'p1'::text NOT NULL,
    CONSTRAINT inbox_webhook_id_check CHECK (((length(webhook_id) >= 1) AND (length(webhook_id) <= 200)))
);

--
-- Name: outbox; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.outbox (
    id uuid NOT NULL,
    idempotency_key text NOT NULL,
    operation text NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    body jsonb,
    person_id uuid,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    response jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    ordering_key text GENERATED ALWAYS AS (COALESCE("substring"(path, '^/v1/cards/([^/]+)'::text), (person_id)::text, (id)::text)) STORED,
    scheduled_at timestamp with time zone DEFAULT now() NOT NULL,
    claimed_until timestamp with time zone,
    last_attempt_at timestamp with time zone,
    last_error_status integer,
    staff_retries integer DEFAULT 0 NOT NULL,
    idempotency_round integer DEFAULT 0 NOT NULL,
    superseded_by uuid,
    processor_id text DEFAULT 'p1'::text NOT NULL,
    CONSTRAINT outbox_idempotency_key_check CHECK ((idempotency_key ~ '^[A-Za-z0-9_-]{1,64}$'::text)),
    CONSTRAINT outbox_idempotency_round_check CHECK ((idempotency_round >= 0)),
    CONSTRAINT outbox_staff_retries_check CHECK ((staff_retries >= 0)),
    CONSTRAINT outbox_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'delivered'::text, 'dead'::text, 'superseded'::text]))),
    CONSTRAINT outbox_superseded_by_set CHECK (((state = 'superseded'::text) = (superseded_by IS NOT NULL)))
);

--
-- Name: processors; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.processors (
    processor_id text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    status_changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT processors_processor_id_check CHECK ((processor_id ~ '^[a-z][a-z0-9_]{0,15}$'::text)),
    CONSTRAINT processors_status_check CHECK ((status = ANY (ARRAY['active'::text, 'draining'::text, 'closed'::text])))
);

--
-- Name: switch_over_moves; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.switch_over_moves (
    move_id uuid NOT NULL,
    wave_id uuid NOT NULL,
    old_card_id text NOT NULL,
    person_id uuid NOT NULL,
    from_processor text NOT NULL,
    to_processor text NOT NULL,
    prison_id uuid,
    queued_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

--
-- Name: switch_over_waves; Type: TABLE; Schema: card; Owner: -
--

CREATE TABLE card.switch_over_waves (
    wave_id uuid NOT NULL,
    from_processor text NOT NULL,
    to_processor text NOT NULL,
    prison_id uuid,
    wave_size integer NOT NULL,
    selected_cards integer NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT switch_over_waves_check CHECK ((from_processor <> to_processor)),
    CONSTRAINT switch_over_waves_requested_by_check CHECK (((length(requested_by) >= 1) AND (length(requested_by) <= 100))),
    CONSTRAINT switch_over_waves_selected_cards_check CHECK ((selected_cards >= 0)),
    CONSTRAINT switch_over_waves_wave_size_check CHECK (((wave_size >= 1) AND (wave_size <= 100000)))
);

--
-- Name: allocation_rule_sets; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.allocation_rule_sets (
    prison_id uuid NOT NULL,
    income_kind text NOT NULL,
    version integer NOT NULL,
    currency character(3) NOT NULL,
    rules jsonb NOT NULL,
    minimum_spendable_minor bigint NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT allocation_rule_sets_created_by_check CHECK (((length(created_by) >= 1) AND (length(created_by) <= 100))),
    CONSTRAINT allocation_rule_sets_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT allocation_rule_sets_income_kind_check CHECK ((income_kind = ANY (ARRAY['wages'::text, 'allowance'::text, 'deposit'::text]))),
    CONSTRAINT allocation_rule_sets_minimum_spendable_minor_check CHECK ((minimum_spendable_minor >= 0)),
    CONSTRAINT allocation_rule_sets_rules_check CHECK ((jsonb_typeof(rules) = 'array'::text)),
    CONSTRAINT allocation_rule_sets_version_check CHECK ((version >= 1))
);

--
-- Name: approved_senders; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.approved_senders (
    id bigint NOT NULL,
    person_id uuid NOT NULL,
    prison_id uuid NOT NULL,
    sender_id uuid NOT NULL,
    approved boolean NOT NULL,
    decided_by text NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT approved_senders_decided_by_check CHECK (((length(decided_by) >= 1) AND (length(decided_by) <= 100)))
);

--
-- Name: approved_senders_id_seq; Type: SEQUENCE; Schema: controls; Owner: -
--

ALTER TABLE controls.approved_senders ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME controls.approved_senders_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: bank_payout_file_items; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.bank_payout_file_items (
    payout_id uuid NOT NULL,
    file_id uuid NOT NULL
);

--
-- Name: bank_payout_files; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.bank_payout_files (
    file_id uuid NOT NULL,
    message_id text NOT NULL,
    prison_id uuid NOT NULL,
    payout_count integer NOT NULL,
    control_sum_minor bigint NOT NULL,
    currency character(3) NOT NULL,
    file_sha256 text NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT bank_payout_files_control_sum_minor_check CHECK ((control_sum_minor > 0)),
    CONSTRAINT bank_payout_files_created_by_check CHECK (((length(created_by) >= 1) AND (length(created_by) <= 100))),
    CONSTRAINT bank_payout_files_file_sha256_check CHECK ((file_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT bank_payout_files_message_id_check CHECK (((length(message_id) >= 1) AND (length(message_id) <= 35))),
    CONSTRAINT bank_payout_files_payout_count_check CHECK ((payout_count > 0))
);

--
-- Name: bank_payout_outcomes; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.bank_payout_outcomes (
    payout_id uuid NOT NULL,
    outcome text NOT NULL,
    entry_id uuid NOT NULL,
    reason_code text,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT bank_payout_outcomes_outcome_check CHECK ((outcome = ANY (ARRAY['settled'::text, 'returned'::text]))),
    CONSTRAINT bank_payout_outcomes_reason_code_check CHECK ((reason_code ~ '^[A-Z0-9]{4}$'::text))
);

--
-- Name: bank_payouts; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.bank_payouts (
    payout_id uuid NOT NULL,
    end_to_end_id text NOT NULL,
    kind text NOT NULL,
    prison_id uuid NOT NULL,
    person_id uuid,
    payee_id uuid NOT NULL,
    amount_minor bigint NOT NULL,
    currency character(3) NOT NULL,
    reason_code text,
    returns_end_to_end text,
    instructed_entry_id uuid NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT bank_payouts_amount_minor_check CHECK ((amount_minor > 0)),
    CONSTRAINT bank_payouts_check CHECK (((kind = 'release'::text) = (person_id IS NOT NULL))),
    CONSTRAINT bank_payouts_check1 CHECK (((kind = 'deposit_return'::text) = (reason_code IS NOT NULL))),
    CONSTRAINT bank_payouts_created_by_check CHECK (((length(created_by) >= 1) AND (length(created_by) <= 100))),
    CONSTRAINT bank_payouts_end_to_end_id_check CHECK ((end_to_end_id ~ '^[A-Za-z0-9]{1,35}$'::text)),
    CONSTRAINT bank_payouts_kind_check CHECK ((kind = ANY (ARRAY['release'::text, 'deposit_return'::text]))),
    CONSTRAINT bank_payouts_reason_code_check CHECK ((reason_code ~ '^[A-Z0-9]{4}$'::text))
);

--
-- Name: card_modes; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.card_modes (
    id bigint NOT NULL,
    person_id uuid NOT NULL,
    prison_id uuid NOT NULL,
    regime text NOT NULL,
    mode jsonb NOT NULL,
    reason text NOT NULL,
    note text,
    changed_by text NOT NULL,
    effective_from timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT card_modes_changed_by_check CHECK (((length(changed_by) >= 1) AND (length(changed_by) <= 100))),
    CONSTRAINT card_modes_mode_check CHECK ((mode ? 'mode'::text)),
    CONSTRAINT card_modes_note_check CHECK ((length(note) <= 500)),
    CONSTRAINT card_modes_reason_check CHECK ((reason ~ '^[a-z_]{1,40}$'::text)),
    CONSTRAINT card_modes_regime_check CHECK ((regime = ANY (ARRAY['closed_prison'::text, 'open_prison'::text, 'remand'::text])))
);

--
-- Name: card_modes_id_seq; Type: SEQUENCE; Schema: controls; Owner: -
--

ALTER TABLE controls.card_modes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME controls.card_modes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: cash_payouts; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.cash_payouts (
    receipt_no text NOT NULL,
    person_id uuid NOT NULL,
    prison_id uuid NOT NULL,
    amount_minor bigint NOT NULL,
    currency character(3) NOT NULL,
    entry_id uuid NOT NULL,
    paid_by text NOT NULL,
    paid_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT cash_payouts_amount_minor_check CHECK ((amount_minor > 0)),
    CONSTRAINT cash_payouts_paid_by_check CHECK (((length(paid_by) >= 1) AND (length(paid_by) <= 100))),
    CONSTRAINT cash_payouts_receipt_no_check CHECK ((receipt_no ~ '^C-[0-9A-Z-]{1,40}$'::text))
);

--
-- Name: deposit_decisions; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.deposit_decisions (
    deposit_id uuid NOT NULL,
    state text NOT NULL,
    entry_id uuid NOT NULL,
    reason text,
    decided_by text NOT NULL,
    decided_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT deposit_decisions_decided_by_check CHECK (((length(decided_by) >= 1) AND (length(decided_by) <= 100))),
    CONSTRAINT deposit_decisions_reason_check CHECK ((length(reason) <= 500)),
    CONSTRAINT deposit_decisions_state_check CHECK ((state = ANY (ARRAY['accepted'::text, 'rejected'::text])))
);

--
-- Name: deposit_references; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.deposit_references (
    reference text NOT NULL,
    person_id uuid NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT deposit_references_created_by_check CHECK (((length(created_by) >= 1) AND (length(created_by) <= 100))),
    CONSTRAINT deposit_references_reference_check CHECK ((reference ~ '^RF[0-9]{2}[A-Z0-9]{1,21}$'::text))
);

--
-- Name: deposit_rules; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.deposit_rules (
    prison_id uuid NOT NULL,
    version integer NOT NULL,
    currency character(3) NOT NULL,
    review_threshold_minor bigint NOT NULL,
    monitoring_window_days integer NOT NULL,
    max_senders_per_prisoner integer NOT NULL,
    max_prisoners_per_sender integer NOT NULL,
    high_amount_minor bigint NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT deposit_rules_created_by_check CHECK (((length(created_by) >= 1) AND (length(created_by) <= 100))),
    CONSTRAINT deposit_rules_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT deposit_rules_high_amount_minor_check CHECK ((high_amount_minor > 0)),
    CONSTRAINT deposit_rules_max_prisoners_per_sender_check CHECK ((max_prisoners_per_sender >= 1)),
    CONSTRAINT deposit_rules_max_senders_per_prisoner_check CHECK ((max_senders_per_prisoner >= 1)),
    CONSTRAINT deposit_rules_monitoring_window_days_check CHECK (((monitoring_window_days >= 1) AND (monitoring_window_days <= 366))),
    CONSTRAINT deposit_rules_review_threshold_minor_check CHECK ((review_threshold_minor > 0)),
    CONSTRAINT deposit_rules_version_check CHECK ((version >= 1))
);

--
-- Name: deposits; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.deposits (
    deposit_id uuid NOT NULL,
    idempotency_key text NOT NULL,
    person_id uuid NOT NULL,
    prison_id uuid NOT NULL,
    sender_id uuid NOT NULL,
    amount_minor bigint NOT NULL,
    currency character(3) NOT NULL,
    received_entry_id uuid NOT NULL,
    held_for_review boolean NOT NULL,
    received_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT deposits_amount_minor_check CHECK ((amount_minor > 0)),
    CONSTRAINT deposits_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 150)))
);

--
-- Name: flag_reviews; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.flag_reviews (
    flag_id bigint NOT NULL,
    outcome text NOT NULL,
    note text,
    reviewed_by text NOT NULL,
    reviewed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT flag_reviews_note_check CHECK ((length(note) <= 500)),
    CONSTRAINT flag_reviews_outcome_check CHECK ((outcome = ANY (ARRAY['no_concern'::text, 'referred'::text]))),
    CONSTRAINT flag_reviews_reviewed_by_check CHECK (((length(reviewed_by) >= 1) AND (length(reviewed_by) <= 100)))
);

--
-- Name: monitoring_flags; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.monitoring_flags (
    id bigint NOT NULL,
    prison_id uuid NOT NULL,
    rule text NOT NULL,
    person_id uuid,
    sender_id uuid,
    deposit_id uuid NOT NULL,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL,
    raised_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT monitoring_flags_rule_check CHECK ((rule = ANY (ARRAY['many_senders_to_prisoner'::text, 'sender_to_many_prisoners'::text, 'high_amount'::text])))
);

--
-- Name: monitoring_flags_id_seq; Type: SEQUENCE; Schema: controls; Owner: -
--

ALTER TABLE controls.monitoring_flags ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME controls.monitoring_flags_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: override_revocations; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.override_revocations (
    override_id text NOT NULL,
    person_id uuid NOT NULL,
    reason text NOT NULL,
    revoked_by text NOT NULL,
    revoked_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT override_revocations_reason_check CHECK (((length(btrim(reason)) >= 1) AND (length(btrim(reason)) <= 500))),
    CONSTRAINT override_revocations_revoked_by_check CHECK (((length(revoked_by) >= 1) AND (length(revoked_by) <= 100)))
);

--
-- Name: payroll_batches; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.payroll_batches (
    batch_key text NOT NULL,
    prison_id uuid NOT NULL,
    income_kind text NOT NULL,
    currency character(3) NOT NULL,
    line_count integer NOT NULL,
    total_minor bigint NOT NULL,
    first_entry_seq bigint NOT NULL,
    last_entry_seq bigint NOT NULL,
    effective_date date NOT NULL,
    posted_by text NOT NULL,
    posted_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT payroll_batches_batch_key_check CHECK (((length(batch_key) >= 1) AND (length(batch_key) <= 150))),
    CONSTRAINT payroll_batches_income_kind_check CHECK ((income_kind = ANY (ARRAY['wages'::text, 'allowance'::text]))),
    CONSTRAINT payroll_batches_line_count_check CHECK ((line_count >= 1)),
    CONSTRAINT payroll_batches_posted_by_check CHECK (((length(posted_by) >= 1) AND (length(posted_by) <= 100))),
    CONSTRAINT payroll_batches_total_minor_check CHECK ((total_minor > 0))
);

--
-- Name: policies; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.policies (
    policy_id text NOT NULL,
    version integer NOT NULL,
    prison_id uuid,
    regime text NOT NULL,
    policy jsonb NOT NULL,
    effective_from timestamp with time zone NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT policies_check CHECK ((((policy ->> 'id'::text) = policy_id) AND (((policy ->> 'version'::text))::integer = version))),
    CONSTRAINT policies_created_by_check CHECK (((length(created_by) >= 1) AND (length(created_by) <= 100))),
    CONSTRAINT policies_policy_check CHECK ((jsonb_typeof(policy) = 'object'::text)),
    CONSTRAINT policies_policy_id_check CHECK ((policy_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'::text)),
    CONSTRAINT policies_regime_check CHECK ((regime = ANY (ARRAY['closed_prison'::text, 'open_prison'::text, 'remand'::text]))),
    CONSTRAINT policies_version_check CHECK ((version >= 1))
);

--
-- Name: policy_overrides; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.policy_overrides (
    override_id text NOT NULL,
    version integer NOT NULL,
    person_id uuid NOT NULL,
    prison_id uuid NOT NULL,
    change jsonb NOT NULL,
    reason text NOT NULL,
    requested_by text NOT NULL,
    approved_by text NOT NULL,
    effective_from timestamp with time zone NOT NULL,
    effective_until timestamp with time zone,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT override_four_eyes CHECK ((approved_by <> requested_by)),
    CONSTRAINT policy_overrides_approved_by_check CHECK (((length(approved_by) >= 1) AND (length(approved_by) <= 100))),
    CONSTRAINT policy_overrides_change_check CHECK ((jsonb_typeof(change) = 'object'::text)),
    CONSTRAINT policy_overrides_check CHECK (((effective_until IS NULL) OR (effective_until > effective_from))),
    CONSTRAINT policy_overrides_override_id_check CHECK ((override_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'::text)),
    CONSTRAINT policy_overrides_reason_check CHECK (((length(btrim(reason)) >= 1) AND (length(btrim(reason)) <= 500))),
    CONSTRAINT policy_overrides_requested_by_check CHECK (((length(requested_by) >= 1) AND (length(requested_by) <= 100))),
    CONSTRAINT policy_overrides_version_check CHECK ((version >= 1))
);

--
-- Name: prison_policies; Type: TABLE; Schema: controls; Owner: -
--

CREATE TABLE controls.prison_policies (
    id bigint NOT NULL,
    prison_id uuid NOT NULL,
    regime text NOT NULL,
    policy_id text NOT NULL,
    time_zone text DEFAULT 'Europe/Helsinki'::text NOT NULL,
    effective_from timestamp with time zone NOT NULL,
    assigned_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT prison_policies_assigned_by_check CHECK (((length(assigned_by) >= 1) AND (length(assigned_by) <= 100))),
    CONSTRAINT prison_policies_regime_check CHECK ((regime = ANY (ARRAY['closed_prison'::text, 'open_prison'::text, 'remand'::text]))),
    CONSTRAINT prison_policies_time_zone_check CHECK (((length(time_zone) >= 1) AND (length(time_zone) <= 64)))
);

--
-- Name: prison_policies_id_seq; Type: SEQUENCE; Schema: controls; Owner: -
--

ALTER TABLE controls.prison_policies ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME controls.prison_policies_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: charges; Type: TABLE; Schema: fees; Owner: -
--

CREATE TABLE fees.charges (
    id bigint NOT NULL,
    fee_kind text NOT NULL,
    prison_id uuid,
    source_ref text NOT NULL,
    entry_id uuid NOT NULL,
    borne_by text NOT NULL,
    policy_id bigint,
    effective_date date NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT charges_borne_by_check CHECK ((borne_by = ANY (ARRAY['service'::text, 'prisoner'::text]))),
    CONSTRAINT charges_fee_kind_check CHECK ((fee_kind = ANY (ARRAY['processor_program'::text, 'atm_withdrawal'::text, 'card_replacement'::text]))),
    CONSTRAINT charges_source_ref_check CHECK (((length(source_ref) >= 1) AND (length(source_ref) <= 200))),
    CONSTRAINT program_fees_are_program_wide CHECK (((fee_kind = 'processor_program'::text) = (prison_id IS NULL))),
    CONSTRAINT program_fees_are_the_services CHECK (((fee_kind <> 'processor_program'::text) OR (borne_by = 'service'::text)))
);

--
-- Name: charges_id_seq; Type: SEQUENCE; Schema: fees; Owner: -
--

ALTER TABLE fees.charges ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME fees.charges_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: policies; Type: TABLE; Schema: fees; Owner: -
--

CREATE TABLE fees.policies (
    id bigint NOT NULL,
    prison_id uuid NOT NULL,
    fee_kind text NOT NULL,
    currency character(3) NOT NULL,
    amount_minor bigint NOT NULL,
    borne_by text DEFAULT 'service'::text NOT NULL,
    reason text NOT NULL,
    set_by text NOT NULL,
    set_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT policies_amount_minor_check CHECK ((amount_minor >= 0)),
    CONSTRAINT policies_borne_by_check CHECK ((borne_by = ANY (ARRAY['service'::text, 'prisoner'::text]))),
    CONSTRAINT policies_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT policies_fee_kind_check CHECK ((fee_kind = ANY (ARRAY['atm_withdrawal'::text, 'card_replacement'::text]))),
    CONSTRAINT policies_reason_check CHECK (((length(btrim(reason)) >= 1) AND (length(btrim(reason)) <= 500))),
    CONSTRAINT policies_set_by_check CHECK (((length(set_by) >= 1) AND (length(set_by) <= 100)))
);

--
-- Name: policies_id_seq; Type: SEQUENCE; Schema: fees; Owner: -
--

ALTER TABLE fees.policies ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME fees.policies_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: data_keys; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.data_keys (
    person_id uuid NOT NULL,
    master_key_version integer NOT NULL,
    wrapped_key bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    rewrapped_at timestamp with time zone,
    CONSTRAINT data_keys_master_key_version_check CHECK ((master_key_version >= 1)),
    CONSTRAINT data_keys_wrapped_key_check CHECK ((length(wrapped_key) = ((12 + 32) + 16)))
);

--
-- Name: depositors; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.depositors (
    person_id uuid NOT NULL,
    regime text DEFAULT 'gdpr'::text NOT NULL,
    registered_prison_id uuid NOT NULL,
    full_name text,
    contact text,
    bank_account text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sealed bytea,
    nonce bytea,
    data_key_id uuid,
    restricted_at timestamp with time zone,
    restriction_reason text,
    erased_at timestamp with time zone,
    bank_account_hmac bytea,
    CONSTRAINT depositors_bank_account_check CHECK ((bank_account ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'::text)),
    CONSTRAINT depositors_bank_account_hmac_check CHECK ((length(bank_account_hmac) = 32)),
    CONSTRAINT depositors_contact_check CHECK (((length(contact) >= 1) AND (length(contact) <= 200))),
    CONSTRAINT depositors_full_name_check CHECK (((length(full_name) >= 1) AND (length(full_name) <= 200))),
    CONSTRAINT depositors_nonce_check CHECK ((length(nonce) = 12)),
    CONSTRAINT depositors_regime_check CHECK ((regime = 'gdpr'::text)),
    CONSTRAINT depositors_restriction_reason_check CHECK ((restriction_reason = ANY (ARRAY['accuracy_contested'::text, 'evidence'::text, 'unlawful_processing'::text, 'legal_claims'::text, 'objection'::text]))),
    CONSTRAINT depositors_sealed_or_erased CHECK (((erased_at IS NOT NULL) OR (sealed IS NOT NULL) OR (full_name IS NOT NULL)))
);

--
-- Name: key_checks; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.key_checks (
    kind text NOT NULL,
    version integer NOT NULL,
    check_value bytea NOT NULL,
    first_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT key_checks_check_value_check CHECK ((length(check_value) = 32)),
    CONSTRAINT key_checks_kind_check CHECK ((kind = ANY (ARRAY['master'::text, 'lookup'::text])))
);

--
-- Name: pms_event_actions; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.pms_event_actions (
    id bigint NOT NULL,
    event_id uuid NOT NULL,
    action text NOT NULL,
    reason_code text,
    actor text NOT NULL,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT pms_event_actions_action_check CHECK ((action = ANY (ARRAY['applied'::text, 'review'::text, 'replayed'::text, 'dismissed'::text]))),
    CONSTRAINT pms_event_actions_actor_check CHECK ((actor ~ '^(pms|staff):[A-Za-z0-9_-]{1,64}$'::text)),
    CONSTRAINT pms_event_actions_reason_code_check CHECK ((reason_code ~ '^[a-z_]{1,64}$'::text))
);

--
-- Name: pms_event_actions_id_seq; Type: SEQUENCE; Schema: identity; Owner: -
--

ALTER TABLE identity.pms_event_actions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME identity.pms_event_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: pms_events; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.pms_events (
    event_id uuid NOT NULL,
    feed_id text NOT NULL,
    body_sha256 bytea NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    person_ref_hmac bytea NOT NULL,
    sequence bigint NOT NULL,
    prison_id uuid,
    received_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    sealed bytea,
    nonce bytea,
    master_key_version integer,
    wrapped_key bytea,
    status text DEFAULT 'pending'::text NOT NULL,
    reason_code text,
    person_id uuid,
    settled_at timestamp with time zone,
    CONSTRAINT pms_events_body_sha256_check CHECK ((length(body_sha256) = 32)),
    CONSTRAINT pms_events_check CHECK (((sealed IS NULL) = (status = ANY (ARRAY['applied'::text, 'dismissed'::text])))),
    CONSTRAINT pms_events_event_type_check CHECK ((event_type = ANY (ARRAY['admission'::text, 'transfer'::text, 'leave_start'::text, 'leave_end'::text, 'release'::text, 'death'::text, 'escape'::text, 'identity_correction'::text]))),
    CONSTRAINT pms_events_reason_code_check CHECK ((reason_code ~ '^[a-z_]{1,64}$'::text)),
    CONSTRAINT pms_events_sequence_check CHECK ((sequence >= 1)),
    CONSTRAINT pms_events_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'applied'::text, 'review'::text, 'dismissed'::text])))
);

--
-- Name: pms_persons; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.pms_persons (
    feed_id text NOT NULL,
    person_ref_hmac bytea NOT NULL,
    person_id uuid,
    next_sequence bigint DEFAULT 1 NOT NULL,
    CONSTRAINT pms_persons_feed_id_check CHECK ((feed_id ~ '^[a-z0-9_-]{1,32}$'::text)),
    CONSTRAINT pms_persons_next_sequence_check CHECK ((next_sequence >= 1))
);

--
-- Name: pms_population_entries; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.pms_population_entries (
    snapshot_id uuid NOT NULL,
    person_ref_hmac bytea NOT NULL
);

--
-- Name: pms_population_snapshots; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.pms_population_snapshots (
    snapshot_id uuid NOT NULL,
    feed_id text NOT NULL,
    prison_id uuid NOT NULL,
    population_date date NOT NULL,
    received_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    body_sha256 bytea NOT NULL,
    CONSTRAINT pms_population_snapshots_body_sha256_check CHECK ((length(body_sha256) = 32))
);

--
-- Name: prisoners; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.prisoners (
    person_id uuid NOT NULL,
    regime text DEFAULT 'led'::text NOT NULL,
    prison_id uuid NOT NULL,
    prisoner_number text,
    full_name text,
    national_id text,
    date_of_birth date,
    preferred_language text,
    unit text,
    payout_iban text,
    admitted_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    sealed bytea,
    nonce bytea,
    data_key_id uuid,
    prisoner_number_hmac bytea,
    national_id_hmac bytea,
    released_at timestamp with time zone,
    restricted_at timestamp with time zone,
    restriction_reason text,
    erased_at timestamp with time zone,
    CONSTRAINT prisoners_full_name_check CHECK (((length(full_name) >= 1) AND (length(full_name) <= 200))),
    CONSTRAINT prisoners_national_id_check CHECK (((length(national_id) >= 1) AND (length(national_id) <= 32))),
    CONSTRAINT prisoners_national_id_hmac_check CHECK ((length(national_id_hmac) = 32)),
    CONSTRAINT prisoners_nonce_check CHECK ((length(nonce) = 12)),
    CONSTRAINT prisoners_payout_iban_check CHECK ((payout_iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'::text)),
    CONSTRAINT prisoners_preferred_language_check CHECK ((preferred_language = ANY (ARRAY['fi'::text, 'sv'::text, 'en'::text, 'nl'::text, 'fr'::text, 'de'::text]))),
    CONSTRAINT prisoners_prisoner_number_check CHECK ((prisoner_number ~ '^[A-Za-z0-9-]{1,32}$'::text)),
    CONSTRAINT prisoners_prisoner_number_hmac_check CHECK ((length(prisoner_number_hmac) = 32)),
    CONSTRAINT prisoners_regime_check CHECK ((regime = 'led'::text)),
    CONSTRAINT prisoners_restriction_reason_check CHECK ((restriction_reason = ANY (ARRAY['accuracy_contested'::text, 'evidence'::text, 'unlawful_processing'::text, 'legal_claims'::text, 'objection'::text]))),
    CONSTRAINT prisoners_sealed_or_erased CHECK (((erased_at IS NOT NULL) OR (sealed IS NOT NULL) OR (prisoner_number IS NOT NULL))),
    CONSTRAINT prisoners_unit_check CHECK (((length(unit) >= 1) AND (length(unit) <= 64)))
);

--
-- Name: prisons; Type: TABLE; Schema: identity; Owner: -
--

CREATE TABLE identity.prisons (
    id uuid NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    time_zone text NOT NULL,
    country character(2) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    default_language text,
    CONSTRAINT prisons_code_check CHECK ((code ~ '^[A-Z0-9][A-Z0-9_-]{1,31}$'::text)),
    CONSTRAINT prisons_country_check CHECK ((country ~ '^[A-Z]{2}$'::text)),
    CONSTRAINT prisons_default_language_check CHECK ((default_language = ANY (ARRAY['fi'::text, 'sv'::text, 'en'::text, 'nl'::text, 'fr'::text, 'de'::text]))),
    CONSTRAINT prisons_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT prisons_time_zone_check CHECK (((length(time_zone) >= 1) AND (length(time_zone) <= 64)))
);

--
-- Name: account_balances; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.account_balances (
    account_id uuid NOT NULL,
    posted_minor bigint DEFAULT 0 NOT NULL,
    held_minor bigint DEFAULT 0 NOT NULL,
    CONSTRAINT account_balances_held_minor_check CHECK ((held_minor >= 0))
)
WITH (fillfactor='50');

--
-- Name: hold_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.hold_events (
    id bigint NOT NULL,
    hold_id uuid NOT NULL,
    kind text NOT NULL,
    held_delta_minor bigint NOT NULL,
    posted_minor bigint DEFAULT 0 NOT NULL,
    entry_id uuid,
    overdraft_flagged boolean DEFAULT false NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT hold_events_held_delta_minor_check CHECK ((held_delta_minor >= 0)),
    CONSTRAINT hold_events_kind_check CHECK ((kind = ANY (ARRAY['increase'::text, 'capture'::text, 'release'::text, 'expire'::text]))),
    CONSTRAINT hold_events_posted_minor_check CHECK ((posted_minor >= 0))
);

--
-- Name: hold_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.hold_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.hold_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: holds; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.holds (
    id uuid NOT NULL,
    account_id uuid NOT NULL,
    currency character(3) NOT NULL,
    amount_minor bigint NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone,
    description text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    overdraft_flagged boolean DEFAULT false NOT NULL,
    CONSTRAINT holds_amount_minor_check CHECK ((amount_minor > 0)),
    CONSTRAINT holds_description_check CHECK (((length(description) >= 1) AND (length(description) <= 500)))
);

--
-- Name: idempotency_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency_keys (
    key text NOT NULL,
    command text NOT NULL,
    request_sha256 bytea NOT NULL,
    result jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT idempotency_keys_key_check CHECK (((length(key) >= 1) AND (length(key) <= 200)))
);

--
-- Name: journal_entries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.journal_entries (
    id uuid NOT NULL,
    seq bigint NOT NULL,
    effective_date date NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    description text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    reverses_entry_id uuid,
    overdraft_flagged boolean DEFAULT false NOT NULL,
    CONSTRAINT journal_entries_description_check CHECK (((length(description) >= 1) AND (length(description) <= 500))),
    CONSTRAINT journal_entries_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text))
);

--
-- Name: journal_entries_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.journal_entries ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.journal_entries_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: journal_entry_refs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.journal_entry_refs (
    entry_id uuid NOT NULL,
    ref_kind text NOT NULL,
    ref_value text NOT NULL,
    is_unique boolean NOT NULL,
    CONSTRAINT journal_entry_refs_ref_kind_check CHECK ((ref_kind ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT journal_entry_refs_ref_value_check CHECK (((length(ref_value) >= 1) AND (length(ref_value) <= 200)))
);

--
-- Name: journal_postings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.journal_postings (
    id bigint NOT NULL,
    entry_id uuid NOT NULL,
    account_id uuid NOT NULL,
    currency character(3) NOT NULL,
    amount_minor bigint NOT NULL,
    recorded_at timestamp with time zone NOT NULL,
    CONSTRAINT journal_postings_amount_minor_check CHECK ((amount_minor <> 0))
);

--
-- Name: COLUMN journal_postings.entry_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.journal_postings.entry_id IS 'references journal_entries (id): checked per statement by check_inserted_postings (V15)';

--
-- Name: COLUMN journal_postings.account_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.journal_postings.account_id IS 'references ledger_accounts (id, currency) with currency: checked per statement by check_inserted_postings (V15)';

--
-- Name: journal_postings_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.journal_postings ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.journal_postings_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: ledger_account_checkpoints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_account_checkpoints (
    n bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    accounts bigint NOT NULL,
    range_sha256 bytea NOT NULL,
    previous_sha256 bytea,
    checkpoint_sha256 bytea NOT NULL,
    sealed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT ledger_account_checkpoints_chain CHECK (((n = 1) = (previous_sha256 IS NULL))),
    CONSTRAINT ledger_account_checkpoints_check CHECK ((last_seq >= first_seq)),
    CONSTRAINT ledger_account_checkpoints_checkpoint_sha256_check CHECK ((length(checkpoint_sha256) = 32)),
    CONSTRAINT ledger_account_checkpoints_n_check CHECK ((n >= 1)),
    CONSTRAINT ledger_account_checkpoints_previous_sha256_check CHECK ((length(previous_sha256) = 32)),
    CONSTRAINT ledger_account_checkpoints_range_sha256_check CHECK ((length(range_sha256) = 32))
);

--
-- Name: ledger_accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_accounts (
    id uuid NOT NULL,
    code text NOT NULL,
    account_type text NOT NULL,
    currency character(3) NOT NULL,
    owner_kind text NOT NULL,
    person_id uuid,
    purpose text NOT NULL,
    balance_rule text NOT NULL,
    is_hot boolean NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    closed_at timestamp with time zone,
    seq bigint NOT NULL,
    CONSTRAINT hot_accounts_have_no_rule CHECK ((NOT (is_hot AND (balance_rule = 'non_negative'::text)))),
    CONSTRAINT ledger_accounts_account_type_check CHECK ((account_type = ANY (ARRAY['asset'::text, 'liability'::text, 'income'::text, 'expense'::text, 'equity'::text]))),
    CONSTRAINT ledger_accounts_balance_rule_check CHECK ((balance_rule = ANY (ARRAY['non_negative'::text, 'may_go_negative'::text]))),
    CONSTRAINT ledger_accounts_code_check CHECK (((length(code) >= 1) AND (length(code) <= 200))),
    CONSTRAINT ledger_accounts_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT ledger_accounts_owner_kind_check CHECK ((owner_kind = ANY (ARRAY['person'::text, 'institution'::text]))),
    CONSTRAINT ledger_accounts_purpose_check CHECK ((purpose ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT owner_matches_kind CHECK (((owner_kind = 'person'::text) = (person_id IS NOT NULL)))
);

--
-- Name: ledger_accounts_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.ledger_accounts ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ledger_accounts_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: ledger_checkpoints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_checkpoints (
    n bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    entries bigint NOT NULL,
    postings bigint NOT NULL,
    range_sha256 bytea NOT NULL,
    previous_sha256 bytea,
    checkpoint_sha256 bytea NOT NULL,
    sealed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT ledger_checkpoints_chain CHECK (((n = 1) = (previous_sha256 IS NULL))),
    CONSTRAINT ledger_checkpoints_check CHECK ((last_seq >= first_seq)),
    CONSTRAINT ledger_checkpoints_checkpoint_sha256_check CHECK ((length(checkpoint_sha256) = 32)),
    CONSTRAINT ledger_checkpoints_n_check CHECK ((n >= 1)),
    CONSTRAINT ledger_checkpoints_previous_sha256_check CHECK ((length(previous_sha256) = 32)),
    CONSTRAINT ledger_checkpoints_range_sha256_check CHECK ((length(range_sha256) = 32))
);

--
-- Name: refinery_schema_history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.refinery_schema_history (
    version integer NOT NULL,
    name character varying(255),
    applied_on character varying(255),
    checksum character varying(255)
);

--
-- Name: adjustments; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.adjustments (
    id uuid NOT NULL,
    break_id uuid NOT NULL,
    proposed_by text NOT NULL,
    proposed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    draft jsonb NOT NULL,
    state text DEFAULT 'proposed'::text NOT NULL,
    decided_by text,
    decided_at timestamp with time zone,
    entry_id uuid,
    CONSTRAINT adjustments_state_check CHECK ((state = ANY (ARRAY['proposed'::text, 'approved'::text, 'rejected'::text]))),
    CONSTRAINT decided_consistently CHECK ((((state = 'proposed'::text) = (decided_by IS NULL)) AND ((state = 'approved'::text) = (entry_id IS NOT NULL)))),
    CONSTRAINT four_eyes CHECK (((decided_by IS NULL) OR (decided_by <> proposed_by)))
);

--
-- Name: bank_lines; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.bank_lines (
    import_id uuid NOT NULL,
    line_no bigint NOT NULL,
    stmt_no integer NOT NULL,
    booking_date date NOT NULL,
    amount_minor bigint NOT NULL,
    currency character(3) NOT NULL,
    end_to_end_id text,
    account_servicer_ref text,
    remittance text,
    outcome text NOT NULL,
    entry_id uuid,
    ledger_amount_minor bigint,
    ledger_currency character(3)
);

--
-- Name: bank_statements; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.bank_statements (
    import_id uuid NOT NULL,
    stmt_no integer NOT NULL,
    statement_id text NOT NULL,
    account_iban text,
    currency character(3) NOT NULL,
    opening_minor bigint NOT NULL,
    closing_minor bigint NOT NULL,
    closing_date date NOT NULL
);

--
-- Name: break_events; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.break_events (
    id bigint NOT NULL,
    break_id uuid NOT NULL,
    kind text NOT NULL,
    actor text NOT NULL,
    body text NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT break_events_body_check CHECK (((length(body) >= 1) AND (length(body) <= 2000))),
    CONSTRAINT break_events_kind_check CHECK ((kind = ANY (ARRAY['assigned'::text, 'comment'::text, 'proposed'::text, 'approved'::text, 'rejected'::text, 'accepted'::text, 'matched_later'::text])))
);

--
-- Name: break_events_id_seq; Type: SEQUENCE; Schema: recon; Owner: -
--

ALTER TABLE recon.break_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME recon.break_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: breaks; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.breaks (
    id uuid NOT NULL,
    break_key text NOT NULL,
    source text NOT NULL,
    class text NOT NULL,
    business_date date NOT NULL,
    import_id uuid,
    line_no bigint,
    entry_id uuid,
    reference text,
    amount_minor bigint,
    ledger_amount_minor bigint,
    currency character(3),
    explanation text NOT NULL,
    state text DEFAULT 'open'::text NOT NULL,
    assignee text,
    resolution text,
    resolution_entry_id uuid,
    accepted_reason text,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    closed_at timestamp with time zone,
    CONSTRAINT breaks_class_check CHECK ((class = ANY (ARRAY['missing_in_ledger'::text, 'missing_at_processor'::text, 'missing_at_bank'::text, 'amount_mismatch'::text, 'duplicate'::text, 'currency_mismatch'::text, 'unknown_card'::text, 'returned_to_sender'::text]))),
    CONSTRAINT breaks_resolution_check CHECK ((resolution = ANY (ARRAY['adjusting_entry'::text, 'matched_later'::text]))),
    CONSTRAINT breaks_source_check CHECK ((source = ANY (ARRAY['settlement'::text, 'bank'::text]))),
    CONSTRAINT breaks_state_check CHECK ((state = ANY (ARRAY['open'::text, 'assigned'::text, 'resolved'::text, 'accepted'::text]))),
    CONSTRAINT closed_has_a_reason CHECK ((((state = 'resolved'::text) = (resolution IS NOT NULL)) AND ((state = 'accepted'::text) = (accepted_reason IS NOT NULL)) AND ((state = ANY (ARRAY['resolved'::text, 'accepted'::text])) = (closed_at IS NOT NULL))))
);

--
-- Name: funding_balances; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.funding_balances (
    as_of_date date NOT NULL,
    currency character(3) NOT NULL,
    balance_minor bigint NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

--
-- Name: imports; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.imports (
    id uuid NOT NULL,
    kind text NOT NULL,
    file_sha256 text NOT NULL,
    file_name text,
    business_date date NOT NULL,
    currency character(3) NOT NULL,
    row_count bigint NOT NULL,
    net_minor bigint NOT NULL,
    card_net_minor bigint DEFAULT 0 NOT NULL,
    fee_minor bigint DEFAULT 0 NOT NULL,
    adjustment_minor bigint DEFAULT 0 NOT NULL,
    settlement_entry_id uuid,
    imported_by text NOT NULL,
    imported_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    prison_id uuid,
    processor_id text DEFAULT 'p1'::text NOT NULL,
    CONSTRAINT imports_file_sha256_check CHECK ((file_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT imports_kind_check CHECK ((kind = ANY (ARRAY['settlement'::text, 'bank_statement'::text])))
);

--
-- Name: settlement_rows; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.settlement_rows (
    import_id uuid NOT NULL,
    line_no bigint NOT NULL,
    record_id text NOT NULL,
    settlement_date date NOT NULL,
    row_type text NOT NULL,
    transaction_id text,
    authorization_id text,
    card_id text,
    amount_minor bigint NOT NULL,
    currency character(3) NOT NULL,
    mcc text,
    cleared_at timestamp with time zone,
    outcome text NOT NULL,
    entry_id uuid,
    ledger_amount_minor bigint,
    ledger_currency character(3),
    CONSTRAINT settlement_rows_row_type_check CHECK ((row_type = ANY (ARRAY['CLEARING'::text, 'REFUND'::text, 'FEE'::text, 'ADJUSTMENT'::text])))
);

--
-- Name: trust_accounts; Type: TABLE; Schema: recon; Owner: -
--

CREATE TABLE recon.trust_accounts (
    id bigint NOT NULL,
    prison_id uuid NOT NULL,
    iban text NOT NULL,
    currency character(3) NOT NULL,
    reconcile_from date NOT NULL,
    configured_by text NOT NULL,
    configured_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT trust_accounts_configured_by_check CHECK (((length(configured_by) >= 1) AND (length(configured_by) <= 100))),
    CONSTRAINT trust_accounts_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT trust_accounts_iban_check CHECK ((iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'::text))
);

--
-- Name: trust_accounts_id_seq; Type: SEQUENCE; Schema: recon; Owner: -
--

ALTER TABLE recon.trust_accounts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME recon.trust_accounts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: catalogue; Type: TABLE; Schema: services; Owner: -
--

CREATE TABLE services.catalogue (
    id uuid NOT NULL,
    prison_id uuid NOT NULL,
    code text NOT NULL,
    kind text NOT NULL,
    mcc character(4) NOT NULL,
    currency character(3) NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT catalogue_code_check CHECK ((code ~ '^[a-z][a-z0-9_]{0,31}$'::text)),
    CONSTRAINT catalogue_created_by_check CHECK (((length(created_by) >= 1) AND (length(created_by) <= 100))),
    CONSTRAINT catalogue_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT catalogue_kind_check CHECK ((kind = ANY (ARRAY['canteen'::text, 'telephony'::text, 'tv_rental'::text, 'other'::text]))),
    CONSTRAINT catalogue_mcc_check CHECK ((mcc ~ '^[0-9]{4}$'::text))
);

--
-- Name: events; Type: TABLE; Schema: services; Owner: -
--

CREATE TABLE services.events (
    service_id uuid NOT NULL,
    event_id text NOT NULL,
    request_sha256 bytea NOT NULL,
    purchase_id uuid NOT NULL,
    kind text NOT NULL,
    amount_minor bigint NOT NULL,
    entry_id uuid,
    occurred_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT events_amount_minor_check CHECK ((amount_minor >= 0)),
    CONSTRAINT events_event_id_check CHECK (((length(event_id) >= 1) AND (length(event_id) <= 100))),
    CONSTRAINT events_kind_check CHECK ((kind = ANY (ARRAY['capture'::text, 'release'::text, 'refund'::text, 'advice'::text])))
);

--
-- Name: keys; Type: TABLE; Schema: services; Owner: -
--

CREATE TABLE services.keys (
    id bigint NOT NULL,
    service_id uuid NOT NULL,
    secret bytea NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT keys_created_by_check CHECK (((length(created_by) >= 1) AND (length(created_by) <= 100))),
    CONSTRAINT keys_secret_check CHECK (((length(secret) >= 24) AND (length(secret) <= 64)))
);

--
-- Name: keys_id_seq; Type: SEQUENCE; Schema: services; Owner: -
--

ALTER TABLE services.keys ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME services.keys_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: purchases; Type: TABLE; Schema: services; Owner: -
--

CREATE TABLE services.purchases (
    id uuid NOT NULL,
    service_id uuid NOT NULL,
    request_id text NOT NULL,
    request_sha256 bytea NOT NULL,
    person_id uuid NOT NULL,
    account_id uuid NOT NULL,
    purpose text NOT NULL,
    currency character(3) NOT NULL,
    requested_minor bigint NOT NULL,
    approved_minor bigint DEFAULT 0 NOT NULL,
    captured_minor bigint DEFAULT 0 NOT NULL,
    released_minor bigint DEFAULT 0 NOT NULL,
    refunded_minor bigint DEFAULT 0 NOT NULL,
    approved boolean NOT NULL,
    decline_reason text,
    policy_version text,
    hold_id uuid,
    subscription_id uuid,
    authorized_at timestamp with time zone NOT NULL,
    CONSTRAINT purchases_approved_minor_check CHECK ((approved_minor >= 0)),
    CONSTRAINT purchases_captured_minor_check CHECK ((captured_minor >= 0)),
    CONSTRAINT purchases_check CHECK ((approved = (decline_reason IS NULL))),
    CONSTRAINT purchases_check1 CHECK ((approved_minor <= requested_minor)),
    CONSTRAINT purchases_check2 CHECK (((captured_minor + released_minor) <= approved_minor)),
    CONSTRAINT purchases_check3 CHECK ((refunded_minor <= captured_minor)),
    CONSTRAINT purchases_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT purchases_decline_reason_check CHECK ((decline_reason ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT purchases_purpose_check CHECK ((purpose = ANY (ARRAY['purchase'::text, 'call_credit'::text, 'call'::text, 'recurring'::text, 'reservation'::text]))),
    CONSTRAINT purchases_refunded_minor_check CHECK ((refunded_minor >= 0)),
    CONSTRAINT purchases_released_minor_check CHECK ((released_minor >= 0)),
    CONSTRAINT purchases_request_id_check CHECK (((length(request_id) >= 1) AND (length(request_id) <= 100))),
    CONSTRAINT purchases_requested_minor_check CHECK ((requested_minor > 0))
);

--
-- Name: subscriptions; Type: TABLE; Schema: services; Owner: -
--

CREATE TABLE services.subscriptions (
    id uuid NOT NULL,
    service_id uuid NOT NULL,
    request_id text NOT NULL,
    request_sha256 bytea NOT NULL,
    person_id uuid NOT NULL,
    currency character(3) NOT NULL,
    amount_minor bigint NOT NULL,
    period_days integer NOT NULL,
    next_charge_at timestamp with time zone NOT NULL,
    periods_done integer DEFAULT 0 NOT NULL,
    stopped_at timestamp with time zone,
    stop_reason text,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT subscriptions_amount_minor_check CHECK ((amount_minor > 0)),
    CONSTRAINT subscriptions_check CHECK (((stopped_at IS NULL) = (stop_reason IS NULL))),
    CONSTRAINT subscriptions_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT subscriptions_period_days_check CHECK (((period_days >= 1) AND (period_days <= 31))),
    CONSTRAINT subscriptions_periods_done_check CHECK ((periods_done >= 0)),
    CONSTRAINT subscriptions_request_id_check CHECK (((length(request_id) >= 1) AND (length(request_id) <= 100))),
    CONSTRAINT subscriptions_stop_reason_check CHECK ((stop_reason = ANY (ARRAY['released'::text, 'transferred'::text, 'cancelled'::text, 'closed'::text])))
);

--
-- Name: decisions decisions_pkey; Type: CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.decisions
    ADD CONSTRAINT decisions_pkey PRIMARY KEY (proposal_id);

--
-- Name: proposals proposals_pkey; Type: CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.proposals
    ADD CONSTRAINT proposals_pkey PRIMARY KEY (id);

--
-- Name: access_log access_log_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.access_log
    ADD CONSTRAINT access_log_pkey PRIMARY KEY (id);

--
-- Name: log_checkpoint_prunes log_checkpoint_prunes_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.log_checkpoint_prunes
    ADD CONSTRAINT log_checkpoint_prunes_pkey PRIMARY KEY (n);

--
-- Name: log_checkpoints log_checkpoints_checkpoint_sha256_key; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.log_checkpoints
    ADD CONSTRAINT log_checkpoints_checkpoint_sha256_key UNIQUE (checkpoint_sha256);

--
-- Name: log_checkpoints log_checkpoints_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.log_checkpoints
    ADD CONSTRAINT log_checkpoints_pkey PRIMARY KEY (n);

--
-- Name: retention_log retention_log_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.retention_log
    ADD CONSTRAINT retention_log_pkey PRIMARY KEY (id);

--
-- Name: staff_actions staff_actions_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.staff_actions
    ADD CONSTRAINT staff_actions_pkey PRIMARY KEY (id);

--
-- Name: kiosk_devices kiosk_devices_pkey; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_devices
    ADD CONSTRAINT kiosk_devices_pkey PRIMARY KEY (id);

--
-- Name: kiosk_devices kiosk_devices_token_sha256_key; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_devices
    ADD CONSTRAINT kiosk_devices_token_sha256_key UNIQUE (token_sha256);

--
-- Name: kiosk_pins kiosk_pins_pkey; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_pins
    ADD CONSTRAINT kiosk_pins_pkey PRIMARY KEY (person_id);

--
-- Name: kiosk_sessions kiosk_sessions_pkey; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_sessions
    ADD CONSTRAINT kiosk_sessions_pkey PRIMARY KEY (token_sha256);

--
-- Name: login_throttle login_throttle_pkey; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.login_throttle
    ADD CONSTRAINT login_throttle_pkey PRIMARY KEY (throttle_key);

--
-- Name: staff_grants staff_grants_pkey; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.staff_grants
    ADD CONSTRAINT staff_grants_pkey PRIMARY KEY (staff_id, prison_id, role);

--
-- Name: staff staff_pkey; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.staff
    ADD CONSTRAINT staff_pkey PRIMARY KEY (id);

--
-- Name: staff_sessions staff_sessions_pkey; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.staff_sessions
    ADD CONSTRAINT staff_sessions_pkey PRIMARY KEY (token_sha256);

--
-- Name: staff staff_username_key; Type: CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.staff
    ADD CONSTRAINT staff_username_key UNIQUE (username);

--
-- Name: authorization_deadline_declines authorization_deadline_declines_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.authorization_deadline_declines
    ADD CONSTRAINT authorization_deadline_declines_pkey PRIMARY KEY (authorization_id);

--
-- Name: authorization_spend_minutes authorization_spend_minutes_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.authorization_spend_minutes
    ADD CONSTRAINT authorization_spend_minutes_pkey PRIMARY KEY (card_id, currency, minute);

--
-- Name: authorizations authorizations_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.authorizations
    ADD CONSTRAINT authorizations_pkey PRIMARY KEY (authorization_id);

--
-- Name: card_state_events card_state_events_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.card_state_events
    ADD CONSTRAINT card_state_events_pkey PRIMARY KEY (id);

--
-- Name: cards cards_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.cards
    ADD CONSTRAINT cards_pkey PRIMARY KEY (card_id);

--
-- Name: egress_register egress_register_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.egress_register
    ADD CONSTRAINT egress_register_pkey PRIMARY KEY (id);

--
-- Name: inbox inbox_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.inbox
    ADD CONSTRAINT inbox_pkey PRIMARY KEY (processor_id, webhook_id);

--
-- Name: outbox outbox_idempotency_key_key; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.outbox
    ADD CONSTRAINT outbox_idempotency_key_key UNIQUE (idempotency_key);

--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

--
-- Name: processors processors_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.processors
    ADD CONSTRAINT processors_pkey PRIMARY KEY (processor_id);

--
-- Name: switch_over_moves switch_over_moves_old_card_id_key; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_moves
    ADD CONSTRAINT switch_over_moves_old_card_id_key UNIQUE (old_card_id);

--
-- Name: switch_over_moves switch_over_moves_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_moves
    ADD CONSTRAINT switch_over_moves_pkey PRIMARY KEY (move_id);

--
-- Name: switch_over_waves switch_over_waves_pkey; Type: CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_waves
    ADD CONSTRAINT switch_over_waves_pkey PRIMARY KEY (wave_id);

--
-- Name: allocation_rule_sets allocation_rule_sets_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.allocation_rule_sets
    ADD CONSTRAINT allocation_rule_sets_pkey PRIMARY KEY (prison_id, income_kind, version);

--
-- Name: approved_senders approved_senders_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.approved_senders
    ADD CONSTRAINT approved_senders_pkey PRIMARY KEY (id);

--
-- Name: bank_payout_file_items bank_payout_file_items_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payout_file_items
    ADD CONSTRAINT bank_payout_file_items_pkey PRIMARY KEY (payout_id);

--
-- Name: bank_payout_files bank_payout_files_message_id_key; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payout_files
    ADD CONSTRAINT bank_payout_files_message_id_key UNIQUE (message_id);

--
-- Name: bank_payout_files bank_payout_files_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payout_files
    ADD CONSTRAINT bank_payout_files_pkey PRIMARY KEY (file_id);

--
-- Name: bank_payout_outcomes bank_payout_outcomes_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payout_outcomes
    ADD CONSTRAINT bank_payout_outcomes_pkey PRIMARY KEY (payout_id, outcome);

--
-- Name: bank_payouts bank_payouts_end_to_end_id_key; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payouts
    ADD CONSTRAINT bank_payouts_end_to_end_id_key UNIQUE (end_to_end_id);

--
-- Name: bank_payouts bank_payouts_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payouts
    ADD CONSTRAINT bank_payouts_pkey PRIMARY KEY (payout_id);

--
-- Name: card_modes card_modes_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.card_modes
    ADD CONSTRAINT card_modes_pkey PRIMARY KEY (id);

--
-- Name: cash_payouts cash_payouts_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.cash_payouts
    ADD CONSTRAINT cash_payouts_pkey PRIMARY KEY (receipt_no);

--
-- Name: deposit_decisions deposit_decisions_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposit_decisions
    ADD CONSTRAINT deposit_decisions_pkey PRIMARY KEY (deposit_id);

--
-- Name: deposit_references deposit_references_person_id_key; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposit_references
    ADD CONSTRAINT deposit_references_person_id_key UNIQUE (person_id);

--
-- Name: deposit_references deposit_references_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposit_references
    ADD CONSTRAINT deposit_references_pkey PRIMARY KEY (reference);

--
-- Name: deposit_rules deposit_rules_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposit_rules
    ADD CONSTRAINT deposit_rules_pkey PRIMARY KEY (prison_id, version);

--
-- Name: deposits deposits_idempotency_key_key; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposits
    ADD CONSTRAINT deposits_idempotency_key_key UNIQUE (idempotency_key);

--
-- Name: deposits deposits_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposits
    ADD CONSTRAINT deposits_pkey PRIMARY KEY (deposit_id);

--
-- Name: flag_reviews flag_reviews_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.flag_reviews
    ADD CONSTRAINT flag_reviews_pkey PRIMARY KEY (flag_id);

--
-- Name: monitoring_flags monitoring_flags_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.monitoring_flags
    ADD CONSTRAINT monitoring_flags_pkey PRIMARY KEY (id);

--
-- Name: monitoring_flags monitoring_flags_rule_deposit_id_key; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.monitoring_flags
    ADD CONSTRAINT monitoring_flags_rule_deposit_id_key UNIQUE (rule, deposit_id);

--
-- Name: override_revocations override_revocations_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.override_revocations
    ADD CONSTRAINT override_revocations_pkey PRIMARY KEY (override_id);

--
-- Name: payroll_batches payroll_batches_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.payroll_batches
    ADD CONSTRAINT payroll_batches_pkey PRIMARY KEY (batch_key);

--
-- Name: policies policies_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.policies
    ADD CONSTRAINT policies_pkey PRIMARY KEY (policy_id, version);

--
-- Name: policy_overrides policy_overrides_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.policy_overrides
    ADD CONSTRAINT policy_overrides_pkey PRIMARY KEY (override_id, version);

--
-- Name: prison_policies prison_policies_pkey; Type: CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.prison_policies
    ADD CONSTRAINT prison_policies_pkey PRIMARY KEY (id);

--
-- Name: charges charges_entry_id_key; Type: CONSTRAINT; Schema: fees; Owner: -
--

ALTER TABLE ONLY fees.charges
    ADD CONSTRAINT charges_entry_id_key UNIQUE (entry_id);

--
-- Name: charges charges_fee_kind_source_ref_key; Type: CONSTRAINT; Schema: fees; Owner: -
--

ALTER TABLE ONLY fees.charges
    ADD CONSTRAINT charges_fee_kind_source_ref_key UNIQUE (fee_kind, source_ref);

--
-- Name: charges charges_pkey; Type: CONSTRAINT; Schema: fees; Owner: -
--

ALTER TABLE ONLY fees.charges
    ADD CONSTRAINT charges_pkey PRIMARY KEY (id);

--
-- Name: policies policies_pkey; Type: CONSTRAINT; Schema: fees; Owner: -
--

ALTER TABLE ONLY fees.policies
    ADD CONSTRAINT policies_pkey PRIMARY KEY (id);

--
-- Name: data_keys data_keys_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.data_keys
    ADD CONSTRAINT data_keys_pkey PRIMARY KEY (person_id);

--
-- Name: depositors depositors_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.depositors
    ADD CONSTRAINT depositors_pkey PRIMARY KEY (person_id);

--
-- Name: key_checks key_checks_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.key_checks
    ADD CONSTRAINT key_checks_pkey PRIMARY KEY (kind, version);

--
-- Name: pms_event_actions pms_event_actions_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_event_actions
    ADD CONSTRAINT pms_event_actions_pkey PRIMARY KEY (id);

--
-- Name: pms_events pms_events_feed_id_person_ref_hmac_sequence_key; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_events
    ADD CONSTRAINT pms_events_feed_id_person_ref_hmac_sequence_key UNIQUE (feed_id, person_ref_hmac, sequence);

--
-- Name: pms_events pms_events_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_events
    ADD CONSTRAINT pms_events_pkey PRIMARY KEY (event_id);

--
-- Name: pms_persons pms_persons_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_persons
    ADD CONSTRAINT pms_persons_pkey PRIMARY KEY (feed_id, person_ref_hmac);

--
-- Name: pms_population_entries pms_population_entries_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_population_entries
    ADD CONSTRAINT pms_population_entries_pkey PRIMARY KEY (snapshot_id, person_ref_hmac);

--
-- Name: pms_population_snapshots pms_population_snapshots_feed_id_prison_id_population_date_key; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_population_snapshots
    ADD CONSTRAINT pms_population_snapshots_feed_id_prison_id_population_date_key UNIQUE (feed_id, prison_id, population_date);

--
-- Name: pms_population_snapshots pms_population_snapshots_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_population_snapshots
    ADD CONSTRAINT pms_population_snapshots_pkey PRIMARY KEY (snapshot_id);

--
-- Name: prisoners prisoners_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.prisoners
    ADD CONSTRAINT prisoners_pkey PRIMARY KEY (person_id);

--
-- Name: prisoners prisoners_prisoner_number_key; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.prisoners
    ADD CONSTRAINT prisoners_prisoner_number_key UNIQUE (prisoner_number);

--
-- Name: prisons prisons_code_key; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.prisons
    ADD CONSTRAINT prisons_code_key UNIQUE (code);

--
-- Name: prisons prisons_pkey; Type: CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.prisons
    ADD CONSTRAINT prisons_pkey PRIMARY KEY (id);

--
-- Name: account_balances account_balances_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.account_balances
    ADD CONSTRAINT account_balances_pkey PRIMARY KEY (account_id);

--
-- Name: hold_events hold_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.hold_events
    ADD CONSTRAINT hold_events_pkey PRIMARY KEY (id);

--
-- Name: holds holds_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.holds
    ADD CONSTRAINT holds_pkey PRIMARY KEY (id);

--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key);

--
-- Name: journal_entries journal_entries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.journal_entries
    ADD CONSTRAINT journal_entries_pkey PRIMARY KEY (id);

--
-- Name: journal_entries journal_entries_reverses_entry_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.journal_entries
    ADD CONSTRAINT journal_entries_reverses_entry_id_key UNIQUE (reverses_entry_id);

--
-- Name: journal_entries journal_entries_seq_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.journal_entries
    ADD CONSTRAINT journal_entries_seq_key UNIQUE (seq);

--
-- Name: journal_entry_refs journal_entry_refs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.journal_entry_refs
    ADD CONSTRAINT journal_entry_refs_pkey PRIMARY KEY (entry_id, ref_kind, ref_value);

--
-- Name: journal_postings journal_postings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.journal_postings
    ADD CONSTRAINT journal_postings_pkey PRIMARY KEY (id);

--
-- Name: ledger_account_checkpoints ledger_account_checkpoints_checkpoint_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_account_checkpoints
    ADD CONSTRAINT ledger_account_checkpoints_checkpoint_sha256_key UNIQUE (checkpoint_sha256);

--
-- Name: ledger_account_checkpoints ledger_account_checkpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_account_checkpoints
    ADD CONSTRAINT ledger_account_checkpoints_pkey PRIMARY KEY (n);

--
-- Name: ledger_accounts ledger_accounts_code_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_accounts
    ADD CONSTRAINT ledger_accounts_code_key UNIQUE (code);

--
-- Name: ledger_accounts ledger_accounts_id_currency_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_accounts
    ADD CONSTRAINT ledger_accounts_id_currency_key UNIQUE (id, currency);

--
-- Name: ledger_accounts ledger_accounts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_accounts
    ADD CONSTRAINT ledger_accounts_pkey PRIMARY KEY (id);

--
-- Name: ledger_accounts ledger_accounts_seq_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_accounts
    ADD CONSTRAINT ledger_accounts_seq_key UNIQUE (seq);

--
-- Name: ledger_checkpoints ledger_checkpoints_checkpoint_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_checkpoints
    ADD CONSTRAINT ledger_checkpoints_checkpoint_sha256_key UNIQUE (checkpoint_sha256);

--
-- Name: ledger_checkpoints ledger_checkpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_checkpoints
    ADD CONSTRAINT ledger_checkpoints_pkey PRIMARY KEY (n);

--
-- Name: refinery_schema_history refinery_schema_history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refinery_schema_history
    ADD CONSTRAINT refinery_schema_history_pkey PRIMARY KEY (version);

--
-- Name: adjustments adjustments_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.adjustments
    ADD CONSTRAINT adjustments_pkey PRIMARY KEY (id);

--
-- Name: bank_lines bank_lines_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.bank_lines
    ADD CONSTRAINT bank_lines_pkey PRIMARY KEY (import_id, line_no);

--
-- Name: bank_statements bank_statements_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.bank_statements
    ADD CONSTRAINT bank_statements_pkey PRIMARY KEY (import_id, stmt_no);

--
-- Name: break_events break_events_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.break_events
    ADD CONSTRAINT break_events_pkey PRIMARY KEY (id);

--
-- Name: breaks breaks_break_key_key; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.breaks
    ADD CONSTRAINT breaks_break_key_key UNIQUE (break_key);

--
-- Name: breaks breaks_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.breaks
    ADD CONSTRAINT breaks_pkey PRIMARY KEY (id);

--
-- Name: funding_balances funding_balances_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.funding_balances
    ADD CONSTRAINT funding_balances_pkey PRIMARY KEY (as_of_date, currency);

--
-- Name: imports imports_file_sha256_key; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.imports
    ADD CONSTRAINT imports_file_sha256_key UNIQUE (file_sha256);

--
-- Name: imports imports_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.imports
    ADD CONSTRAINT imports_pkey PRIMARY KEY (id);

--
-- Name: settlement_rows settlement_rows_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.settlement_rows
    ADD CONSTRAINT settlement_rows_pkey PRIMARY KEY (import_id, line_no);

--
-- Name: trust_accounts trust_accounts_pkey; Type: CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.trust_accounts
    ADD CONSTRAINT trust_accounts_pkey PRIMARY KEY (id);

--
-- Name: catalogue catalogue_pkey; Type: CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.catalogue
    ADD CONSTRAINT catalogue_pkey PRIMARY KEY (id);

--
-- Name: catalogue catalogue_prison_id_code_key; Type: CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.catalogue
    ADD CONSTRAINT catalogue_prison_id_code_key UNIQUE (prison_id, code);

--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (service_id, event_id);

--
-- Name: keys keys_pkey; Type: CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.keys
    ADD CONSTRAINT keys_pkey PRIMARY KEY (id);

--
-- Name: purchases purchases_pkey; Type: CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.purchases
    ADD CONSTRAINT purchases_pkey PRIMARY KEY (id);

--
-- Name: purchases purchases_service_id_request_id_key; Type: CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.purchases
    ADD CONSTRAINT purchases_service_id_request_id_key UNIQUE (service_id, request_id);

--
-- Name: subscriptions subscriptions_pkey; Type: CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.subscriptions
    ADD CONSTRAINT subscriptions_pkey PRIMARY KEY (id);

--
-- Name: subscriptions subscriptions_service_id_request_id_key; Type: CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.subscriptions
    ADD CONSTRAINT subscriptions_service_id_request_id_key UNIQUE (service_id, request_id);

--
-- Name: proposals_prison; Type: INDEX; Schema: adjustments; Owner: -
--

CREATE INDEX proposals_prison ON adjustments.proposals USING btree (prison_id, proposed_at);

--
-- Name: access_log_actor; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX access_log_actor ON audit.access_log USING btree (actor_id, id);

--
-- Name: access_log_prison; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX access_log_prison ON audit.access_log USING btree (prison_id, id);

--
-- Name: access_log_subject; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX access_log_subject ON audit.access_log USING btree (subject_person_id, id);

--
-- Name: retention_log_subject; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX retention_log_subject ON audit.retention_log USING btree (subject_person_id);

--
-- Name: staff_actions_person; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX staff_actions_person ON audit.staff_actions USING btree (person_id, recorded_at);

--
-- Name: staff_sessions_staff; Type: INDEX; Schema: auth; Owner: -
--

CREATE INDEX staff_sessions_staff ON auth.staff_sessions USING btree (staff_id);

--
-- Name: authorization_deadline_declines_recorded; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX authorization_deadline_declines_recorded ON card.authorization_deadline_declines USING btree (recorded_at);

--
-- Name: authorizations_card; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX authorizations_card ON card.authorizations USING btree (card_id, created_at);

--
-- Name: authorizations_hold; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX authorizations_hold ON card.authorizations USING btree (hold_id) WHERE (hold_id IS NOT NULL);

--
-- Name: cards_person; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX cards_person ON card.cards USING btree (person_id);

--
-- Name: cards_processor; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX cards_processor ON card.cards USING btree (processor_id, card_id) WHERE (state <> 'CLOSED'::text);

--
-- Name: egress_register_person; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX egress_register_person ON card.egress_register USING btree (person_id, sent_at);

--
-- Name: inbox_rejected; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX inbox_rejected ON card.inbox USING btree (received_at DESC) WHERE (outcome = 'rejected'::text);

--
-- Name: outbox_card_state_calls; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX outbox_card_state_calls ON card.outbox USING btree (path, scheduled_at, id) WHERE (operation = 'set_card_state'::text);

--
-- Name: outbox_due; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX outbox_due ON card.outbox USING btree (next_attempt_at) WHERE (state = 'pending'::text);

--
-- Name: outbox_due_per_processor; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX outbox_due_per_processor ON card.outbox USING btree (processor_id, next_attempt_at) WHERE (state = 'pending'::text);

--
-- Name: outbox_pending_order; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX outbox_pending_order ON card.outbox USING btree (ordering_key, scheduled_at, id) WHERE (state = 'pending'::text);

--
-- Name: switch_over_moves_person; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX switch_over_moves_person ON card.switch_over_moves USING btree (person_id, to_processor);

--
-- Name: switch_over_moves_wave; Type: INDEX; Schema: card; Owner: -
--

CREATE INDEX switch_over_moves_wave ON card.switch_over_moves USING btree (wave_id);

--
-- Name: approved_senders_lookup; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX approved_senders_lookup ON controls.approved_senders USING btree (person_id, sender_id, id DESC);

--
-- Name: bank_payout_file_items_file; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX bank_payout_file_items_file ON controls.bank_payout_file_items USING btree (file_id);

--
-- Name: bank_payouts_prison; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX bank_payouts_prison ON controls.bank_payouts USING btree (prison_id, created_at);

--
-- Name: card_modes_person; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX card_modes_person ON controls.card_modes USING btree (person_id, effective_from DESC, id DESC);

--
-- Name: card_modes_prison; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX card_modes_prison ON controls.card_modes USING btree (prison_id, id);

--
-- Name: cash_payouts_person; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX cash_payouts_person ON controls.cash_payouts USING btree (person_id);

--
-- Name: deposits_person; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX deposits_person ON controls.deposits USING btree (person_id, received_at);

--
-- Name: deposits_prison; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX deposits_prison ON controls.deposits USING btree (prison_id, received_at);

--
-- Name: deposits_sender; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX deposits_sender ON controls.deposits USING btree (sender_id, received_at);

--
-- Name: monitoring_flags_prison; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX monitoring_flags_prison ON controls.monitoring_flags USING btree (prison_id, id);

--
-- Name: policy_overrides_person; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX policy_overrides_person ON controls.policy_overrides USING btree (person_id, prison_id);

--
-- Name: prison_policies_lookup; Type: INDEX; Schema: controls; Owner: -
--

CREATE INDEX prison_policies_lookup ON controls.prison_policies USING btree (prison_id, regime, effective_from DESC, id DESC);

--
-- Name: charges_by_prison_and_date; Type: INDEX; Schema: fees; Owner: -
--

CREATE INDEX charges_by_prison_and_date ON fees.charges USING btree (prison_id, effective_date);

--
-- Name: charges_program_wide_by_date; Type: INDEX; Schema: fees; Owner: -
--

CREATE INDEX charges_program_wide_by_date ON fees.charges USING btree (effective_date) WHERE (prison_id IS NULL);

--
-- Name: policies_in_force; Type: INDEX; Schema: fees; Owner: -
--

CREATE INDEX policies_in_force ON fees.policies USING btree (prison_id, fee_kind, currency, id DESC);

--
-- Name: data_keys_version; Type: INDEX; Schema: identity; Owner: -
--

CREATE INDEX data_keys_version ON identity.data_keys USING btree (master_key_version);

--
-- Name: depositors_bank_account_hmac; Type: INDEX; Schema: identity; Owner: -
--

CREATE INDEX depositors_bank_account_hmac ON identity.depositors USING btree (registered_prison_id, bank_account_hmac) WHERE (bank_account_hmac IS NOT NULL);

--
-- Name: pms_event_actions_event; Type: INDEX; Schema: identity; Owner: -
--

CREATE INDEX pms_event_actions_event ON identity.pms_event_actions USING btree (event_id);

--
-- Name: pms_events_prison_status; Type: INDEX; Schema: identity; Owner: -
--

CREATE INDEX pms_events_prison_status ON identity.pms_events USING btree (prison_id, status, received_at);

--
-- Name: pms_persons_person; Type: INDEX; Schema: identity; Owner: -
--

CREATE UNIQUE INDEX pms_persons_person ON identity.pms_persons USING btree (feed_id, person_id);

--
-- Name: prisoners_national_id_hmac; Type: INDEX; Schema: identity; Owner: -
--

CREATE INDEX prisoners_national_id_hmac ON identity.prisoners USING btree (national_id_hmac) WHERE (national_id_hmac IS NOT NULL);

--
-- Name: prisoners_number_hmac_key; Type: INDEX; Schema: identity; Owner: -
--

CREATE UNIQUE INDEX prisoners_number_hmac_key ON identity.prisoners USING btree (prisoner_number_hmac);

--
-- Name: prisoners_prison; Type: INDEX; Schema: identity; Owner: -
--

CREATE INDEX prisoners_prison ON identity.prisoners USING btree (prison_id);

--
-- Name: hold_events_hold; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX hold_events_hold ON public.hold_events USING btree (hold_id);

--
-- Name: holds_account; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX holds_account ON public.holds USING btree (account_id);

--
-- Name: journal_entries_effective_date; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX journal_entries_effective_date ON public.journal_entries USING btree (effective_date);

--
-- Name: journal_entries_recorded_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX journal_entries_recorded_at ON public.journal_entries USING btree (recorded_at);

--
-- Name: journal_entry_refs_lookup; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX journal_entry_refs_lookup ON public.journal_entry_refs USING btree (ref_kind, ref_value);

--
-- Name: journal_entry_refs_unique; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX journal_entry_refs_unique ON public.journal_entry_refs USING btree (ref_kind, ref_value) WHERE is_unique;

--
-- Name: journal_postings_account_recorded; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX journal_postings_account_recorded ON public.journal_postings USING btree (account_id, recorded_at, id);

--
-- Name: journal_postings_entry; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX journal_postings_entry ON public.journal_postings USING btree (entry_id);

--
-- Name: ledger_accounts_person; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_accounts_person ON public.ledger_accounts USING btree (person_id) WHERE (person_id IS NOT NULL);

--
-- Name: adjustments_one_open_per_break; Type: INDEX; Schema: recon; Owner: -
--

CREATE UNIQUE INDEX adjustments_one_open_per_break ON recon.adjustments USING btree (break_id) WHERE (state = 'proposed'::text);

--
-- Name: bank_lines_date; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX bank_lines_date ON recon.bank_lines USING btree (booking_date, outcome);

--
-- Name: bank_lines_end_to_end; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX bank_lines_end_to_end ON recon.bank_lines USING btree (end_to_end_id) WHERE (end_to_end_id IS NOT NULL);

--
-- Name: bank_lines_entry; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX bank_lines_entry ON recon.bank_lines USING btree (entry_id) WHERE (entry_id IS NOT NULL);

--
-- Name: break_events_break; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX break_events_break ON recon.break_events USING btree (break_id, id);

--
-- Name: breaks_date; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX breaks_date ON recon.breaks USING btree (business_date, class);

--
-- Name: breaks_state; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX breaks_state ON recon.breaks USING btree (state, business_date);

--
-- Name: imports_one_settlement_per_processor_day; Type: INDEX; Schema: recon; Owner: -
--

CREATE UNIQUE INDEX imports_one_settlement_per_processor_day ON recon.imports USING btree (processor_id, business_date) WHERE (kind = 'settlement'::text);

--
-- Name: settlement_rows_date; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX settlement_rows_date ON recon.settlement_rows USING btree (settlement_date, outcome);

--
-- Name: settlement_rows_transaction; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX settlement_rows_transaction ON recon.settlement_rows USING btree (transaction_id) WHERE (transaction_id IS NOT NULL);

--
-- Name: trust_accounts_prison; Type: INDEX; Schema: recon; Owner: -
--

CREATE INDEX trust_accounts_prison ON recon.trust_accounts USING btree (prison_id, id DESC);

--
-- Name: events_by_purchase; Type: INDEX; Schema: services; Owner: -
--

CREATE INDEX events_by_purchase ON services.events USING btree (purchase_id);

--
-- Name: keys_live; Type: INDEX; Schema: services; Owner: -
--

CREATE INDEX keys_live ON services.keys USING btree (service_id) WHERE (revoked_at IS NULL);

--
-- Name: purchases_by_service_day; Type: INDEX; Schema: services; Owner: -
--

CREATE INDEX purchases_by_service_day ON services.purchases USING btree (service_id, authorized_at);

--
-- Name: purchases_spend; Type: INDEX; Schema: services; Owner: -
--

CREATE INDEX purchases_spend ON services.purchases USING btree (person_id, currency, authorized_at);

--
-- Name: subscriptions_due; Type: INDEX; Schema: services; Owner: -
--

CREATE INDEX subscriptions_due ON services.subscriptions USING btree (next_charge_at) WHERE (stopped_at IS NULL);

--
-- Name: decisions decisions_append_only; Type: TRIGGER; Schema: adjustments; Owner: -
--

CREATE TRIGGER decisions_append_only BEFORE DELETE OR UPDATE ON adjustments.decisions FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: decisions decisions_four_eyes; Type: TRIGGER; Schema: adjustments; Owner: -
--

CREATE TRIGGER decisions_four_eyes BEFORE INSERT ON adjustments.decisions FOR EACH ROW EXECUTE FUNCTION adjustments.refuse_own_decision();

--
-- Name: decisions decisions_no_truncate; Type: TRIGGER; Schema: adjustments; Owner: -
--

CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON adjustments.decisions FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: proposals proposals_append_only; Type: TRIGGER; Schema: adjustments; Owner: -
--

CREATE TRIGGER proposals_append_only BEFORE DELETE OR UPDATE ON adjustments.proposals FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: proposals proposals_no_truncate; Type: TRIGGER; Schema: adjustments; Owner: -
--

CREATE TRIGGER proposals_no_truncate BEFORE TRUNCATE ON adjustments.proposals FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: access_log access_log_dated; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER access_log_dated BEFORE INSERT ON audit.access_log FOR EACH ROW EXECUTE FUNCTION audit.date_access_log_row();

--
-- Name: access_log access_log_delete_only_pruned; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER access_log_delete_only_pruned BEFORE DELETE ON audit.access_log FOR EACH ROW EXECUTE FUNCTION audit.guard_access_log_delete();

--
-- Name: access_log access_log_no_truncate; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON audit.access_log FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

--
-- Name: access_log access_log_no_update; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER access_log_no_update BEFORE UPDATE ON audit.access_log FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();

--
-- Name: log_checkpoint_prunes log_checkpoint_prunes_append_only; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER log_checkpoint_prunes_append_only BEFORE DELETE OR UPDATE ON audit.log_checkpoint_prunes FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();

--
-- Name: log_checkpoint_prunes log_checkpoint_prunes_no_truncate; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER log_checkpoint_prunes_no_truncate BEFORE TRUNCATE ON audit.log_checkpoint_prunes FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

--
-- Name: log_checkpoint_prunes log_checkpoint_prunes_only_by_retention; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER log_checkpoint_prunes_only_by_retention BEFORE INSERT ON audit.log_checkpoint_prunes FOR EACH ROW EXECUTE FUNCTION audit.guard_log_prune();

--
-- Name: log_checkpoints log_checkpoints_append_only; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER log_checkpoints_append_only BEFORE DELETE OR UPDATE ON audit.log_checkpoints FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();

--
-- Name: log_checkpoints log_checkpoints_dated; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER log_checkpoints_dated BEFORE INSERT ON audit.log_checkpoints FOR EACH ROW EXECUTE FUNCTION audit.date_log_checkpoint();

--
-- Name: log_checkpoints log_checkpoints_no_truncate; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON audit.log_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

--
-- Name: retention_log retention_log_append_only; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER retention_log_append_only BEFORE DELETE OR UPDATE ON audit.retention_log FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();

--
-- Name: retention_log retention_log_dated; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER retention_log_dated BEFORE INSERT ON audit.retention_log FOR EACH ROW EXECUTE FUNCTION audit.date_retention_record();

--
-- Name: retention_log retention_log_no_truncate; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER retention_log_no_truncate BEFORE TRUNCATE ON audit.retention_log FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

--
-- Name: staff_actions staff_actions_append_only; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER staff_actions_append_only BEFORE DELETE OR UPDATE ON audit.staff_actions FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: staff_actions staff_actions_no_truncate; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER staff_actions_no_truncate BEFORE TRUNCATE ON audit.staff_actions FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: authorization_spend_minutes authorization_spend_minutes_no_truncate; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER authorization_spend_minutes_no_truncate BEFORE TRUNCATE ON card.authorization_spend_minutes FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: authorizations authorizations_held_checked; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER authorizations_held_checked AFTER INSERT ON card.authorizations REFERENCING NEW TABLE AS inserted_authorizations FOR EACH STATEMENT EXECUTE FUNCTION card.check_inserted_authorizations_held();

--
-- Name: authorizations authorizations_held_from_hold; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER authorizations_held_from_hold BEFORE UPDATE OF hold_id ON card.authorizations FOR EACH ROW WHEN ((new.hold_id IS DISTINCT FROM old.hold_id)) EXECUTE FUNCTION card.authorization_held_from_hold();

--
-- Name: authorizations authorizations_spend_deleted; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER authorizations_spend_deleted AFTER DELETE ON card.authorizations REFERENCING OLD TABLE AS deleted_authorizations FOR EACH STATEMENT EXECUTE FUNCTION card.authorization_spend_deleted();

--
-- Name: authorizations authorizations_spend_inserted; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER authorizations_spend_inserted AFTER INSERT ON card.authorizations REFERENCING NEW TABLE AS inserted_authorizations FOR EACH STATEMENT EXECUTE FUNCTION card.authorization_spend_inserted();

--
-- Name: authorizations authorizations_spend_updated; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER authorizations_spend_updated AFTER UPDATE ON card.authorizations REFERENCING OLD TABLE AS updated_old NEW TABLE AS updated_new FOR EACH STATEMENT EXECUTE FUNCTION card.authorization_spend_updated();

--
-- Name: card_state_events card_state_events_append_only; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER card_state_events_append_only BEFORE DELETE OR UPDATE ON card.card_state_events FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: egress_register egress_register_append_only; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER egress_register_append_only BEFORE DELETE OR UPDATE ON card.egress_register FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: inbox inbox_append_only; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER inbox_append_only BEFORE DELETE OR UPDATE ON card.inbox FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: switch_over_moves switch_over_moves_append_only; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER switch_over_moves_append_only BEFORE DELETE OR UPDATE ON card.switch_over_moves FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: switch_over_waves switch_over_waves_append_only; Type: TRIGGER; Schema: card; Owner: -
--

CREATE TRIGGER switch_over_waves_append_only BEFORE DELETE OR UPDATE ON card.switch_over_waves FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: allocation_rule_sets allocation_rule_sets_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER allocation_rule_sets_append_only BEFORE DELETE OR UPDATE ON controls.allocation_rule_sets FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: allocation_rule_sets allocation_rule_sets_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER allocation_rule_sets_no_truncate BEFORE TRUNCATE ON controls.allocation_rule_sets FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: approved_senders approved_senders_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER approved_senders_append_only BEFORE DELETE OR UPDATE ON controls.approved_senders FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: approved_senders approved_senders_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER approved_senders_no_truncate BEFORE TRUNCATE ON controls.approved_senders FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: bank_payout_file_items bank_payout_file_items_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER bank_payout_file_items_append_only BEFORE DELETE OR UPDATE ON controls.bank_payout_file_items FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: bank_payout_file_items bank_payout_file_items_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER bank_payout_file_items_no_truncate BEFORE TRUNCATE ON controls.bank_payout_file_items FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: bank_payout_files bank_payout_files_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER bank_payout_files_append_only BEFORE DELETE OR UPDATE ON controls.bank_payout_files FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: bank_payout_files bank_payout_files_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER bank_payout_files_no_truncate BEFORE TRUNCATE ON controls.bank_payout_files FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: bank_payout_outcomes bank_payout_outcomes_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER bank_payout_outcomes_append_only BEFORE DELETE OR UPDATE ON controls.bank_payout_outcomes FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: bank_payout_outcomes bank_payout_outcomes_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER bank_payout_outcomes_no_truncate BEFORE TRUNCATE ON controls.bank_payout_outcomes FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: bank_payouts bank_payouts_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER bank_payouts_append_only BEFORE DELETE OR UPDATE ON controls.bank_payouts FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: bank_payouts bank_payouts_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER bank_payouts_no_truncate BEFORE TRUNCATE ON controls.bank_payouts FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: card_modes card_modes_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER card_modes_append_only BEFORE DELETE OR UPDATE ON controls.card_modes FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: card_modes card_modes_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER card_modes_no_truncate BEFORE TRUNCATE ON controls.card_modes FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: cash_payouts cash_payouts_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER cash_payouts_append_only BEFORE DELETE OR UPDATE ON controls.cash_payouts FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: cash_payouts cash_payouts_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER cash_payouts_no_truncate BEFORE TRUNCATE ON controls.cash_payouts FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: deposit_decisions deposit_decisions_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER deposit_decisions_append_only BEFORE DELETE OR UPDATE ON controls.deposit_decisions FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: deposit_decisions deposit_decisions_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER deposit_decisions_no_truncate BEFORE TRUNCATE ON controls.deposit_decisions FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: deposit_references deposit_references_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER deposit_references_append_only BEFORE DELETE OR UPDATE ON controls.deposit_references FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: deposit_references deposit_references_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER deposit_references_no_truncate BEFORE TRUNCATE ON controls.deposit_references FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: deposit_rules deposit_rules_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER deposit_rules_append_only BEFORE DELETE OR UPDATE ON controls.deposit_rules FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: deposit_rules deposit_rules_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER deposit_rules_no_truncate BEFORE TRUNCATE ON controls.deposit_rules FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: deposits deposits_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER deposits_append_only BEFORE DELETE OR UPDATE ON controls.deposits FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: deposits deposits_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER deposits_no_truncate BEFORE TRUNCATE ON controls.deposits FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: flag_reviews flag_reviews_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER flag_reviews_append_only BEFORE DELETE OR UPDATE ON controls.flag_reviews FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: flag_reviews flag_reviews_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER flag_reviews_no_truncate BEFORE TRUNCATE ON controls.flag_reviews FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: monitoring_flags monitoring_flags_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER monitoring_flags_append_only BEFORE DELETE OR UPDATE ON controls.monitoring_flags FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: monitoring_flags monitoring_flags_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER monitoring_flags_no_truncate BEFORE TRUNCATE ON controls.monitoring_flags FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: override_revocations override_revocations_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER override_revocations_append_only BEFORE DELETE OR UPDATE ON controls.override_revocations FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: override_revocations override_revocations_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER override_revocations_no_truncate BEFORE TRUNCATE ON controls.override_revocations FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: payroll_batches payroll_batches_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER payroll_batches_append_only BEFORE DELETE OR UPDATE ON controls.payroll_batches FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: payroll_batches payroll_batches_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER payroll_batches_no_truncate BEFORE TRUNCATE ON controls.payroll_batches FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: policies policies_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER policies_append_only BEFORE DELETE OR UPDATE ON controls.policies FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: policies policies_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER policies_no_truncate BEFORE TRUNCATE ON controls.policies FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: policy_overrides policy_overrides_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER policy_overrides_append_only BEFORE DELETE OR UPDATE ON controls.policy_overrides FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: policy_overrides policy_overrides_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER policy_overrides_no_truncate BEFORE TRUNCATE ON controls.policy_overrides FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: prison_policies prison_policies_append_only; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER prison_policies_append_only BEFORE DELETE OR UPDATE ON controls.prison_policies FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: prison_policies prison_policies_no_truncate; Type: TRIGGER; Schema: controls; Owner: -
--

CREATE TRIGGER prison_policies_no_truncate BEFORE TRUNCATE ON controls.prison_policies FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: charges charges_append_only; Type: TRIGGER; Schema: fees; Owner: -
--

CREATE TRIGGER charges_append_only BEFORE DELETE OR UPDATE ON fees.charges FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: charges charges_no_truncate; Type: TRIGGER; Schema: fees; Owner: -
--

CREATE TRIGGER charges_no_truncate BEFORE TRUNCATE ON fees.charges FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: policies policies_append_only; Type: TRIGGER; Schema: fees; Owner: -
--

CREATE TRIGGER policies_append_only BEFORE DELETE OR UPDATE ON fees.policies FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: policies policies_no_truncate; Type: TRIGGER; Schema: fees; Owner: -
--

CREATE TRIGGER policies_no_truncate BEFORE TRUNCATE ON fees.policies FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: pms_event_actions pms_event_actions_append_only; Type: TRIGGER; Schema: identity; Owner: -
--

CREATE TRIGGER pms_event_actions_append_only BEFORE DELETE OR UPDATE ON identity.pms_event_actions FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: pms_event_actions pms_event_actions_no_truncate; Type: TRIGGER; Schema: identity; Owner: -
--

CREATE TRIGGER pms_event_actions_no_truncate BEFORE TRUNCATE ON identity.pms_event_actions FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: pms_events pms_events_guard; Type: TRIGGER; Schema: identity; Owner: -
--

CREATE TRIGGER pms_events_guard BEFORE DELETE OR UPDATE ON identity.pms_events FOR EACH ROW EXECUTE FUNCTION identity.pms_events_guard();

--
-- Name: pms_events pms_events_no_truncate; Type: TRIGGER; Schema: identity; Owner: -
--

CREATE TRIGGER pms_events_no_truncate BEFORE TRUNCATE ON identity.pms_events FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: pms_population_entries pms_population_entries_append_only; Type: TRIGGER; Schema: identity; Owner: -
--

CREATE TRIGGER pms_population_entries_append_only BEFORE DELETE OR UPDATE ON identity.pms_population_entries FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: pms_population_snapshots pms_population_snapshots_append_only; Type: TRIGGER; Schema: identity; Owner: -
--

CREATE TRIGGER pms_population_snapshots_append_only BEFORE DELETE OR UPDATE ON identity.pms_population_snapshots FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: hold_events hold_events_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER hold_events_append_only BEFORE DELETE OR UPDATE ON public.hold_events FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: hold_events hold_events_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER hold_events_no_truncate BEFORE TRUNCATE ON public.hold_events FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: hold_events hold_events_update_authorizations_held; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER hold_events_update_authorizations_held AFTER INSERT ON public.hold_events REFERENCING NEW TABLE AS inserted_hold_events FOR EACH STATEMENT EXECUTE FUNCTION card.authorization_held_follows_events();

--
-- Name: holds holds_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER holds_append_only BEFORE DELETE OR UPDATE ON public.holds FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: holds holds_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER holds_no_truncate BEFORE TRUNCATE ON public.holds FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: idempotency_keys idempotency_keys_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER idempotency_keys_append_only BEFORE DELETE OR UPDATE ON public.idempotency_keys FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: journal_entries journal_entries_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER journal_entries_append_only BEFORE DELETE OR UPDATE ON public.journal_entries FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: journal_entries journal_entries_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON public.journal_entries FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: journal_entry_refs journal_entry_refs_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER journal_entry_refs_append_only BEFORE DELETE OR UPDATE ON public.journal_entry_refs FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: journal_entry_refs journal_entry_refs_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER journal_entry_refs_no_truncate BEFORE TRUNCATE ON public.journal_entry_refs FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: journal_postings journal_postings_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER journal_postings_append_only BEFORE DELETE OR UPDATE ON public.journal_postings FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: journal_postings journal_postings_checked; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER journal_postings_checked AFTER INSERT ON public.journal_postings REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION public.check_inserted_postings();

--
-- Name: journal_postings journal_postings_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER journal_postings_no_truncate BEFORE TRUNCATE ON public.journal_postings FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: ledger_account_checkpoints ledger_account_checkpoints_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_account_checkpoints_append_only BEFORE DELETE OR UPDATE ON public.ledger_account_checkpoints FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: ledger_account_checkpoints ledger_account_checkpoints_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_account_checkpoints_no_truncate BEFORE TRUNCATE ON public.ledger_account_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: ledger_accounts ledger_accounts_guard; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_accounts_guard BEFORE DELETE OR UPDATE ON public.ledger_accounts FOR EACH ROW EXECUTE FUNCTION public.guard_account_change();

--
-- Name: ledger_accounts ledger_accounts_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON public.ledger_accounts FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: ledger_checkpoints ledger_checkpoints_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_checkpoints_append_only BEFORE DELETE OR UPDATE ON public.ledger_checkpoints FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: ledger_checkpoints ledger_checkpoints_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON public.ledger_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: break_events break_events_append_only; Type: TRIGGER; Schema: recon; Owner: -
--

CREATE TRIGGER break_events_append_only BEFORE DELETE OR UPDATE ON recon.break_events FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: break_events break_events_no_truncate; Type: TRIGGER; Schema: recon; Owner: -
--

CREATE TRIGGER break_events_no_truncate BEFORE TRUNCATE ON recon.break_events FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: imports imports_append_only; Type: TRIGGER; Schema: recon; Owner: -
--

CREATE TRIGGER imports_append_only BEFORE DELETE OR UPDATE ON recon.imports FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: imports imports_no_truncate; Type: TRIGGER; Schema: recon; Owner: -
--

CREATE TRIGGER imports_no_truncate BEFORE TRUNCATE ON recon.imports FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: settlement_rows settlement_rows_import_exists; Type: TRIGGER; Schema: recon; Owner: -
--

CREATE TRIGGER settlement_rows_import_exists AFTER INSERT ON recon.settlement_rows REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION recon.check_settlement_rows_import();

--
-- Name: trust_accounts trust_accounts_append_only; Type: TRIGGER; Schema: recon; Owner: -
--

CREATE TRIGGER trust_accounts_append_only BEFORE DELETE OR UPDATE ON recon.trust_accounts FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: trust_accounts trust_accounts_no_truncate; Type: TRIGGER; Schema: recon; Owner: -
--

CREATE TRIGGER trust_accounts_no_truncate BEFORE TRUNCATE ON recon.trust_accounts FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: events events_append_only; Type: TRIGGER; Schema: services; Owner: -
--

CREATE TRIGGER events_append_only BEFORE DELETE OR UPDATE ON services.events FOR EACH ROW EXECUTE FUNCTION public.refuse_change();

--
-- Name: events events_no_truncate; Type: TRIGGER; Schema: services; Owner: -
--

CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON services.events FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_change();

--
-- Name: decisions decisions_decided_by_fkey; Type: FK CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.decisions
    ADD CONSTRAINT decisions_decided_by_fkey FOREIGN KEY (decided_by) REFERENCES auth.staff(id);

--
-- Name: decisions decisions_entry_id_fkey; Type: FK CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.decisions
    ADD CONSTRAINT decisions_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: decisions decisions_proposal_id_fkey; Type: FK CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.decisions
    ADD CONSTRAINT decisions_proposal_id_fkey FOREIGN KEY (proposal_id) REFERENCES adjustments.proposals(id);

--
-- Name: proposals proposals_institution_account_id_fkey; Type: FK CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.proposals
    ADD CONSTRAINT proposals_institution_account_id_fkey FOREIGN KEY (institution_account_id) REFERENCES public.ledger_accounts(id);

--
-- Name: proposals proposals_prison_id_fkey; Type: FK CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.proposals
    ADD CONSTRAINT proposals_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: proposals proposals_prisoner_account_id_fkey; Type: FK CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.proposals
    ADD CONSTRAINT proposals_prisoner_account_id_fkey FOREIGN KEY (prisoner_account_id) REFERENCES public.ledger_accounts(id);

--
-- Name: proposals proposals_proposed_by_fkey; Type: FK CONSTRAINT; Schema: adjustments; Owner: -
--

ALTER TABLE ONLY adjustments.proposals
    ADD CONSTRAINT proposals_proposed_by_fkey FOREIGN KEY (proposed_by) REFERENCES auth.staff(id);

--
-- Name: log_checkpoint_prunes log_checkpoint_prunes_n_fkey; Type: FK CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.log_checkpoint_prunes
    ADD CONSTRAINT log_checkpoint_prunes_n_fkey FOREIGN KEY (n) REFERENCES audit.log_checkpoints(n);

--
-- Name: staff_actions staff_actions_prison_id_fkey; Type: FK CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.staff_actions
    ADD CONSTRAINT staff_actions_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: staff_actions staff_actions_staff_id_fkey; Type: FK CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.staff_actions
    ADD CONSTRAINT staff_actions_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES auth.staff(id);

--
-- Name: kiosk_devices kiosk_devices_issued_by_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_devices
    ADD CONSTRAINT kiosk_devices_issued_by_fkey FOREIGN KEY (issued_by) REFERENCES auth.staff(id);

--
-- Name: kiosk_devices kiosk_devices_prison_id_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_devices
    ADD CONSTRAINT kiosk_devices_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: kiosk_pins kiosk_pins_person_id_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_pins
    ADD CONSTRAINT kiosk_pins_person_id_fkey FOREIGN KEY (person_id) REFERENCES identity.prisoners(person_id);

--
-- Name: kiosk_sessions kiosk_sessions_device_id_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_sessions
    ADD CONSTRAINT kiosk_sessions_device_id_fkey FOREIGN KEY (device_id) REFERENCES auth.kiosk_devices(id);

--
-- Name: kiosk_sessions kiosk_sessions_person_id_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.kiosk_sessions
    ADD CONSTRAINT kiosk_sessions_person_id_fkey FOREIGN KEY (person_id) REFERENCES identity.prisoners(person_id);

--
-- Name: staff_grants staff_grants_prison_id_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.staff_grants
    ADD CONSTRAINT staff_grants_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: staff_grants staff_grants_staff_id_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.staff_grants
    ADD CONSTRAINT staff_grants_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES auth.staff(id);

--
-- Name: staff_sessions staff_sessions_staff_id_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: -
--

ALTER TABLE ONLY auth.staff_sessions
    ADD CONSTRAINT staff_sessions_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES auth.staff(id);

--
-- Name: authorizations authorizations_hold_id_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.authorizations
    ADD CONSTRAINT authorizations_hold_id_fkey FOREIGN KEY (hold_id) REFERENCES public.holds(id);

--
-- Name: card_state_events card_state_events_card_id_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.card_state_events
    ADD CONSTRAINT card_state_events_card_id_fkey FOREIGN KEY (card_id) REFERENCES card.cards(card_id);

--
-- Name: cards cards_account_id_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.cards
    ADD CONSTRAINT cards_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.ledger_accounts(id);

--
-- Name: cards cards_processor_id_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.cards
    ADD CONSTRAINT cards_processor_id_fkey FOREIGN KEY (processor_id) REFERENCES card.processors(processor_id);

--
-- Name: outbox outbox_processor_id_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.outbox
    ADD CONSTRAINT outbox_processor_id_fkey FOREIGN KEY (processor_id) REFERENCES card.processors(processor_id);

--
-- Name: outbox outbox_superseded_by_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.outbox
    ADD CONSTRAINT outbox_superseded_by_fkey FOREIGN KEY (superseded_by) REFERENCES card.outbox(id);

--
-- Name: switch_over_moves switch_over_moves_from_processor_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_moves
    ADD CONSTRAINT switch_over_moves_from_processor_fkey FOREIGN KEY (from_processor) REFERENCES card.processors(processor_id);

--
-- Name: switch_over_moves switch_over_moves_old_card_id_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_moves
    ADD CONSTRAINT switch_over_moves_old_card_id_fkey FOREIGN KEY (old_card_id) REFERENCES card.cards(card_id);

--
-- Name: switch_over_moves switch_over_moves_to_processor_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_moves
    ADD CONSTRAINT switch_over_moves_to_processor_fkey FOREIGN KEY (to_processor) REFERENCES card.processors(processor_id);

--
-- Name: switch_over_moves switch_over_moves_wave_id_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_moves
    ADD CONSTRAINT switch_over_moves_wave_id_fkey FOREIGN KEY (wave_id) REFERENCES card.switch_over_waves(wave_id);

--
-- Name: switch_over_waves switch_over_waves_from_processor_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_waves
    ADD CONSTRAINT switch_over_waves_from_processor_fkey FOREIGN KEY (from_processor) REFERENCES card.processors(processor_id);

--
-- Name: switch_over_waves switch_over_waves_to_processor_fkey; Type: FK CONSTRAINT; Schema: card; Owner: -
--

ALTER TABLE ONLY card.switch_over_waves
    ADD CONSTRAINT switch_over_waves_to_processor_fkey FOREIGN KEY (to_processor) REFERENCES card.processors(processor_id);

--
-- Name: bank_payout_file_items bank_payout_file_items_file_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payout_file_items
    ADD CONSTRAINT bank_payout_file_items_file_id_fkey FOREIGN KEY (file_id) REFERENCES controls.bank_payout_files(file_id);

--
-- Name: bank_payout_file_items bank_payout_file_items_payout_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payout_file_items
    ADD CONSTRAINT bank_payout_file_items_payout_id_fkey FOREIGN KEY (payout_id) REFERENCES controls.bank_payouts(payout_id);

--
-- Name: bank_payout_outcomes bank_payout_outcomes_entry_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payout_outcomes
    ADD CONSTRAINT bank_payout_outcomes_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: bank_payout_outcomes bank_payout_outcomes_payout_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payout_outcomes
    ADD CONSTRAINT bank_payout_outcomes_payout_id_fkey FOREIGN KEY (payout_id) REFERENCES controls.bank_payouts(payout_id);

--
-- Name: bank_payouts bank_payouts_instructed_entry_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.bank_payouts
    ADD CONSTRAINT bank_payouts_instructed_entry_id_fkey FOREIGN KEY (instructed_entry_id) REFERENCES public.journal_entries(id);

--
-- Name: cash_payouts cash_payouts_entry_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.cash_payouts
    ADD CONSTRAINT cash_payouts_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: deposit_decisions deposit_decisions_deposit_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposit_decisions
    ADD CONSTRAINT deposit_decisions_deposit_id_fkey FOREIGN KEY (deposit_id) REFERENCES controls.deposits(deposit_id);

--
-- Name: deposit_decisions deposit_decisions_entry_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposit_decisions
    ADD CONSTRAINT deposit_decisions_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: deposits deposits_received_entry_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.deposits
    ADD CONSTRAINT deposits_received_entry_id_fkey FOREIGN KEY (received_entry_id) REFERENCES public.journal_entries(id);

--
-- Name: flag_reviews flag_reviews_flag_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.flag_reviews
    ADD CONSTRAINT flag_reviews_flag_id_fkey FOREIGN KEY (flag_id) REFERENCES controls.monitoring_flags(id);

--
-- Name: monitoring_flags monitoring_flags_deposit_id_fkey; Type: FK CONSTRAINT; Schema: controls; Owner: -
--

ALTER TABLE ONLY controls.monitoring_flags
    ADD CONSTRAINT monitoring_flags_deposit_id_fkey FOREIGN KEY (deposit_id) REFERENCES controls.deposits(deposit_id);

--
-- Name: charges charges_entry_id_fkey; Type: FK CONSTRAINT; Schema: fees; Owner: -
--

ALTER TABLE ONLY fees.charges
    ADD CONSTRAINT charges_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: charges charges_policy_id_fkey; Type: FK CONSTRAINT; Schema: fees; Owner: -
--

ALTER TABLE ONLY fees.charges
    ADD CONSTRAINT charges_policy_id_fkey FOREIGN KEY (policy_id) REFERENCES fees.policies(id);

--
-- Name: charges charges_prison_id_fkey; Type: FK CONSTRAINT; Schema: fees; Owner: -
--

ALTER TABLE ONLY fees.charges
    ADD CONSTRAINT charges_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: policies policies_prison_id_fkey; Type: FK CONSTRAINT; Schema: fees; Owner: -
--

ALTER TABLE ONLY fees.policies
    ADD CONSTRAINT policies_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: depositors depositors_data_key_id_fkey; Type: FK CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.depositors
    ADD CONSTRAINT depositors_data_key_id_fkey FOREIGN KEY (data_key_id) REFERENCES identity.data_keys(person_id);

--
-- Name: depositors depositors_registered_prison_id_fkey; Type: FK CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.depositors
    ADD CONSTRAINT depositors_registered_prison_id_fkey FOREIGN KEY (registered_prison_id) REFERENCES identity.prisons(id);

--
-- Name: pms_event_actions pms_event_actions_event_id_fkey; Type: FK CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_event_actions
    ADD CONSTRAINT pms_event_actions_event_id_fkey FOREIGN KEY (event_id) REFERENCES identity.pms_events(event_id);

--
-- Name: pms_persons pms_persons_person_id_fkey; Type: FK CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_persons
    ADD CONSTRAINT pms_persons_person_id_fkey FOREIGN KEY (person_id) REFERENCES identity.prisoners(person_id);

--
-- Name: pms_population_entries pms_population_entries_snapshot_id_fkey; Type: FK CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_population_entries
    ADD CONSTRAINT pms_population_entries_snapshot_id_fkey FOREIGN KEY (snapshot_id) REFERENCES identity.pms_population_snapshots(snapshot_id);

--
-- Name: pms_population_snapshots pms_population_snapshots_prison_id_fkey; Type: FK CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.pms_population_snapshots
    ADD CONSTRAINT pms_population_snapshots_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: prisoners prisoners_data_key_id_fkey; Type: FK CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.prisoners
    ADD CONSTRAINT prisoners_data_key_id_fkey FOREIGN KEY (data_key_id) REFERENCES identity.data_keys(person_id);

--
-- Name: prisoners prisoners_prison_id_fkey; Type: FK CONSTRAINT; Schema: identity; Owner: -
--

ALTER TABLE ONLY identity.prisoners
    ADD CONSTRAINT prisoners_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: account_balances account_balances_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.account_balances
    ADD CONSTRAINT account_balances_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.ledger_accounts(id);

--
-- Name: hold_events hold_events_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.hold_events
    ADD CONSTRAINT hold_events_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: hold_events hold_events_hold_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.hold_events
    ADD CONSTRAINT hold_events_hold_id_fkey FOREIGN KEY (hold_id) REFERENCES public.holds(id);

--
-- Name: holds holds_account_id_currency_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.holds
    ADD CONSTRAINT holds_account_id_currency_fkey FOREIGN KEY (account_id, currency) REFERENCES public.ledger_accounts(id, currency);

--
-- Name: journal_entries journal_entries_reverses_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.journal_entries
    ADD CONSTRAINT journal_entries_reverses_entry_id_fkey FOREIGN KEY (reverses_entry_id) REFERENCES public.journal_entries(id);

--
-- Name: journal_entry_refs journal_entry_refs_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.journal_entry_refs
    ADD CONSTRAINT journal_entry_refs_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: adjustments adjustments_break_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.adjustments
    ADD CONSTRAINT adjustments_break_id_fkey FOREIGN KEY (break_id) REFERENCES recon.breaks(id);

--
-- Name: adjustments adjustments_entry_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.adjustments
    ADD CONSTRAINT adjustments_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: bank_lines bank_lines_import_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.bank_lines
    ADD CONSTRAINT bank_lines_import_id_fkey FOREIGN KEY (import_id) REFERENCES recon.imports(id) DEFERRABLE INITIALLY DEFERRED;

--
-- Name: bank_statements bank_statements_import_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.bank_statements
    ADD CONSTRAINT bank_statements_import_id_fkey FOREIGN KEY (import_id) REFERENCES recon.imports(id) DEFERRABLE INITIALLY DEFERRED;

--
-- Name: break_events break_events_break_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.break_events
    ADD CONSTRAINT break_events_break_id_fkey FOREIGN KEY (break_id) REFERENCES recon.breaks(id);

--
-- Name: breaks breaks_import_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.breaks
    ADD CONSTRAINT breaks_import_id_fkey FOREIGN KEY (import_id) REFERENCES recon.imports(id) DEFERRABLE INITIALLY DEFERRED;

--
-- Name: breaks breaks_resolution_entry_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.breaks
    ADD CONSTRAINT breaks_resolution_entry_id_fkey FOREIGN KEY (resolution_entry_id) REFERENCES public.journal_entries(id);

--
-- Name: imports imports_prison_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.imports
    ADD CONSTRAINT imports_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: imports imports_settlement_entry_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.imports
    ADD CONSTRAINT imports_settlement_entry_id_fkey FOREIGN KEY (settlement_entry_id) REFERENCES public.journal_entries(id);

--
-- Name: trust_accounts trust_accounts_prison_id_fkey; Type: FK CONSTRAINT; Schema: recon; Owner: -
--

ALTER TABLE ONLY recon.trust_accounts
    ADD CONSTRAINT trust_accounts_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: catalogue catalogue_prison_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.catalogue
    ADD CONSTRAINT catalogue_prison_id_fkey FOREIGN KEY (prison_id) REFERENCES identity.prisons(id);

--
-- Name: events events_entry_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.events
    ADD CONSTRAINT events_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.journal_entries(id);

--
-- Name: events events_purchase_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.events
    ADD CONSTRAINT events_purchase_id_fkey FOREIGN KEY (purchase_id) REFERENCES services.purchases(id);

--
-- Name: events events_service_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.events
    ADD CONSTRAINT events_service_id_fkey FOREIGN KEY (service_id) REFERENCES services.catalogue(id);

--
-- Name: keys keys_service_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.keys
    ADD CONSTRAINT keys_service_id_fkey FOREIGN KEY (service_id) REFERENCES services.catalogue(id);

--
-- Name: purchases purchases_account_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.purchases
    ADD CONSTRAINT purchases_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.ledger_accounts(id);

--
-- Name: purchases purchases_hold_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.purchases
    ADD CONSTRAINT purchases_hold_id_fkey FOREIGN KEY (hold_id) REFERENCES public.holds(id);

--
-- Name: purchases purchases_service_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.purchases
    ADD CONSTRAINT purchases_service_id_fkey FOREIGN KEY (service_id) REFERENCES services.catalogue(id);

--
-- Name: purchases purchases_subscription_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.purchases
    ADD CONSTRAINT purchases_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES services.subscriptions(id);

--
-- Name: subscriptions subscriptions_service_id_fkey; Type: FK CONSTRAINT; Schema: services; Owner: -
--

ALTER TABLE ONLY services.subscriptions
    ADD CONSTRAINT subscriptions_service_id_fkey FOREIGN KEY (service_id) REFERENCES services.catalogue(id);

--
-- PostgreSQL database dump complete
--
