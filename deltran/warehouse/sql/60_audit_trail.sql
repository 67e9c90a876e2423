-- The tamper-evident audit trail (issue 10): every event appended to a control
-- history (breaker and suspension changes, discrepancy case changes, match
-- decisions) is also appended here, as one hash chain across all of them:
--   hash = sha256(prev_hash '\n' seq '\n' source '\n' source_id '\n' payload)
-- in hex, with prev_hash the hash of entry seq - 1 (64 zeros for the first).
-- payload is the event row as canonical JSON: jsonb's text form (keys in a fixed
-- order, one spacing), timestamps in UTC. `deltran audit verify`
-- (deltran/audit.py) recomputes every hash and compares every history row with
-- its entry, so an event altered, deleted or inserted behind the guards (a
-- superuser who disables them) is named.
-- Events are chained when their transaction commits (deferred triggers, in the
-- order they were written), under a lock on this table held to the end of the
-- commit: concurrent writers chain one after the other, never from the same
-- head, and the lock is the last any of them takes (no deadlock with row locks). seq is the head's + 1 (no sequence, so no gaps from rollbacks), and
-- seq and prev_hash are unique: a writer that saw a stale head fails, the chain
-- never forks.
-- Revision 0002 (deltran/warehouse/migrations/versions); idempotent.

create table if not exists control.audit_trail (
    seq       bigint primary key check (seq > 0),
    source    text not null,                 -- the history table, e.g. control.circuit_breaker_events
    source_id bigint not null,               -- its event's key (event_id, decision_id)
    payload   text not null,                 -- the event row, canonical JSON
    prev_hash text not null unique check (prev_hash ~ '^[0-9a-f]{64}$'),
    hash      text not null unique check (hash ~ '^[0-9a-f]{64}$'),
    unique (source, source_id)
);

comment on table control.audit_trail is
    'Hash chain over every control history event (breaker, suspension, case, match decision); '
    'append-only; checked by `deltran audit verify`.';

create or replace function control.audit_hash(
    p_prev_hash text, p_seq bigint, p_source text, p_source_id bigint, p_payload text
) returns text
language sql immutable strict parallel safe as $$
    select encode(sha256(convert_to(
        p_prev_hash || E'\n' || p_seq::text || E'\n' || p_source || E'\n' || p_source_id::text || E'\n' || p_payload,
        'UTF8')), 'hex')
$$;

-- Append one event to the chain (the caller has the event's canonical payload).
create or replace function control.audit_chain(p_source text, p_source_id bigint, p_payload text)
returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    head record;
    next_seq bigint;
    prev text;
begin
    lock table control.audit_trail in share row exclusive mode;  -- self-exclusive; readers pass
    select seq, hash into head from control.audit_trail order by seq desc limit 1;
    next_seq := coalesce(head.seq, 0) + 1;
    prev := coalesce(head.hash, repeat('0', 64));
    insert into control.audit_trail (seq, source, source_id, payload, prev_hash, hash)
    values (next_seq, p_source, p_source_id, p_payload, prev,
            control.audit_hash(prev, next_seq, p_source, p_source_id, p_payload));
    return next_seq;
end;
$$;

-- AFTER INSERT on a history table; its argument names the key column.
-- timezone UTC: to_jsonb writes timestamptz in the session's zone.
create or replace function control.audit_append() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp set timezone = 'UTC' as $$
declare
    event jsonb := to_jsonb(new);
begin
    perform control.audit_chain(tg_table_schema || '.' || tg_table_name, (event ->> tg_argv[0])::bigint, event::text);
    return null;
end;
$$;

-- Events written before the trail existed join it once, oldest first.
do $$
declare
    e record;
begin
    set local timezone = 'UTC';
    for e in
        select * from (
            select 'control.circuit_breaker_events' as source, event_id as source_id, at, to_jsonb(t)::text as payload
            from control.circuit_breaker_events as t
            union all
            select 'control.discrepancy_case_events', event_id, at, to_jsonb(t)::text
            from control.discrepancy_case_events as t
            union all
            select 'control.match_decisions', decision_id, decided_at, to_jsonb(t)::text
            from control.match_decisions as t
        ) as history
        where not exists (select 1 from control.audit_trail as a
                          where a.source = history.source and a.source_id = history.source_id)
        order by at, source, source_id
    loop
        perform control.audit_chain(e.source, e.source_id, e.payload);
    end loop;
end
$$;

-- The trail and every history table: append through the chain; no update,
-- delete or truncate by anyone (ENABLE ALWAYS: session_replication_role does not
-- silence them; only a superuser or the owner can disable one, and verify sees that).
do $$
declare
    t record;
begin
    for t in
        select * from (values
            -- chained at commit (a deferred constraint trigger): the trail's lock is taken last and
            -- held only while committing, never before a row lock the transaction still needs
            ('circuit_breaker_events', 'circuit_breaker_events_audit', 'after insert',
             'deferrable initially deferred for each row', 'control.audit_append(''event_id'')'),
            ('discrepancy_case_events', 'discrepancy_case_events_audit', 'after insert',
             'deferrable initially deferred for each row', 'control.audit_append(''event_id'')'),
            ('match_decisions', 'match_decisions_audit', 'after insert',
             'deferrable initially deferred for each row', 'control.audit_append(''decision_id'')'),
            ('match_decisions', 'match_decisions_no_truncate', 'before truncate', 'for each statement', 'control.refuse_history_rewrite()'),
            ('audit_trail', 'audit_trail_append_only', 'before update or delete', 'for each row', 'control.refuse_history_rewrite()'),
            ('audit_trail', 'audit_trail_no_truncate', 'before truncate', 'for each statement', 'control.refuse_history_rewrite()')
        ) as v(table_name, trigger_name, timing, level, func)
    loop
        if not exists (select 1 from pg_trigger where tgrelid = format('control.%I', t.table_name)::regclass
                                                   and tgname = t.trigger_name) then
            execute format('create %s trigger %I %s on control.%I %s execute function %s',
                           case when t.level like 'deferrable%' then 'constraint' else '' end,
                           t.trigger_name, t.timing, t.table_name, t.level, t.func);
        end if;
    end loop;
    -- every guard of the history, old ones included (match_decisions' was an ordinary trigger)
    for t in
        select c.relname, g.tgname from pg_trigger as g join pg_class as c on c.oid = g.tgrelid
        where c.relnamespace = 'control'::regnamespace and not g.tgisinternal and g.tgenabled <> 'A'
          and c.relname in ('circuit_breaker_events', 'discrepancy_case_events', 'match_decisions', 'audit_trail')
    loop
        execute format('alter table control.%I enable always trigger %I', t.relname, t.tgname);
    end loop;
end
$$;
