-- Guards on the control schema against insiders (issue 9, "Insiders"):
-- * breaker and suspension state change only through the functions below, each
--   of which appends the event that explains the change; a trigger refuses any
--   other change of state (a plain UPDATE), whoever makes it;
-- * history (breaker events, discrepancy case events, threshold check results)
--   is append-only: triggers refuse UPDATE, DELETE and TRUNCATE, and nothing
--   cascades a delete into it;
-- * every trigger here is ENABLE ALWAYS, so session_replication_role = replica
--   does not silence it; only the tables' owner (deltran_owner, see 90_roles.sql)
--   could disable one, and the pipeline role is not that owner;
-- * an actor or reason must contain visible text (not only spaces, control or
--   zero-width characters), and 'system' is the platform's name: no other
--   spelling of it, and a system event always names the check that caused it.
-- Idempotent; once everything exists it only reads the catalogue (no DDL lock).

create or replace function control.visible_text(value text) returns text
language sql immutable parallel safe as $$
    select nullif(regexp_replace(coalesce(value, ''),
        '[\s\u0001-\u001f\u007f-\u00a0\u00ad\u115f\u1160\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\uffa0]+',
        '', 'g'), '')
$$;

-- 'system' exactly, or a name that is not a disguise of it
create or replace function control.is_valid_actor(actor text) returns boolean
language sql immutable parallel safe as $$
    select control.visible_text(actor) is not null
       and (actor = 'system' or lower(control.visible_text(actor)) <> 'system')
$$;

do $$
declare
    target record;
begin
    for target in
        select * from (values
            ('circuit_breaker_events', 'circuit_breaker_events_actor_visible',
             'check (control.is_valid_actor(actor) and control.visible_text(reason) is not null'
             ' and (actor <> ''system'' or (check_name is not null and run_id is not null'
             ' and business_date is not null and level is not null)))'),
            ('discrepancy_case_events', 'discrepancy_case_events_actor_visible',
             'check (control.is_valid_actor(actor))'),
            ('discrepancy_cases', 'discrepancy_cases_by_visible',
             'check (control.is_valid_actor(updated_by) and control.visible_text(owner) is not null'
             ' and (state <> ''resolved'' or control.visible_text(resolution_note) is not null))')
        ) as t(table_name, constraint_name, definition)
    loop
        if not exists (select 1 from pg_constraint where conname = target.constraint_name) then
            -- not valid: rows written before the rule are kept as they are; every new row obeys it
            execute format('alter table control.%I add constraint %I %s not valid',
                           target.table_name, target.constraint_name, target.definition);
        end if;
    end loop;
end
$$;

-- History is never deleted by a cascade: check results survive their run row.
do $$
declare
    fk record;
begin
    for fk in
        select conname from pg_constraint
        where conrelid = 'control.threshold_checks'::regclass and contype = 'f' and confdeltype = 'c'
    loop
        execute format('alter table control.threshold_checks drop constraint %I', fk.conname);
        alter table control.threshold_checks
            add foreign key (run_id, business_date) references control.threshold_check_runs (run_id, business_date);
    end loop;
end
$$;

create or replace function control.refuse_history_rewrite() returns trigger
language plpgsql as $$
begin
    raise exception '%.% is append-only (% refused)', tg_table_schema, tg_table_name, tg_op;
end;
$$;

-- Events are stamped by the database, never backdated by the writer.
create or replace function control.stamp_event() returns trigger
language plpgsql as $$
begin
    new.at := now();
    return new;
end;
$$;

-- A state row changes only together with the event that explains it, appended
-- in the same transaction; the marker as_of_date (latest check date applied)
-- may only move forward on its own.
create or replace function control.guard_state_change() returns trigger
language plpgsql as $$
declare
    event control.circuit_breaker_events;
    kind text := case tg_table_name when 'circuit_breakers' then 'breaker' else 'suspension' end;
    old_state text;
    new_state text;
begin
    if tg_op = 'DELETE' then
        raise exception 'control.% rows are never deleted (refused for %)', tg_table_name, old.account_id;
    end if;
    -- (one IF per table: PL/pgSQL resolves a field only where it is evaluated)
    if tg_op = 'INSERT' then
        if kind = 'breaker' then
            if new.state <> 'closed' or new.last_event_id is not null then
                raise exception 'a new breaker starts closed with no event; open it through control.change_breaker';
            end if;
        else
            if new.is_suspended or new.last_event_id is not null or new.as_of_date is not null then
                raise exception 'a new payout suspension row starts allowed and unchecked; use control.change_suspension';
            end if;
        end if;
        return new;
    end if;
    if new.account_id <> old.account_id then
        raise exception 'the account of a control.% row never changes', tg_table_name;
    end if;
    if kind = 'breaker' then
        old_state := old.state;
        new_state := new.state;
        if (new.state, new.since, new.reason, new.last_event_id) is not distinct from
           (old.state, old.since, old.reason, old.last_event_id) then
            return new;
        end if;
    else
        old_state := case when old.is_suspended then 'suspended' else 'allowed' end;
        new_state := case when new.is_suspended then 'suspended' else 'allowed' end;
        if new.as_of_date < old.as_of_date or (old.as_of_date is not null and new.as_of_date is null) then
            raise exception 'as_of_date of % never moves back (% -> %)', old.account_id, old.as_of_date, new.as_of_date;
        end if;
        if (new.is_suspended, new.since, new.reason, new.last_event_id) is not distinct from
           (old.is_suspended, old.since, old.reason, old.last_event_id) then
            return new;
        end if;
    end if;
    select * into event from control.circuit_breaker_events where event_id = new.last_event_id;
    if not found
       or event.account_id <> new.account_id or event.kind <> kind
       or event.from_state <> old_state or event.to_state <> new_state
       or event.event_id <= coalesce(old.last_event_id, 0)
       or event.at <> now()  -- appended in this very transaction
       or new.since <> event.at or new.reason is distinct from event.reason then
        raise exception 'control.% of % changes only with its event (use control.change_%)',
            tg_table_name, new.account_id, kind;
    end if;
    return new;
end;
$$;

-- 'system' is written by the platform only: the pipeline role (or the owner / a
-- superuser); before the roles exist (a warehouse set up by hand) by anyone.
create or replace function control.may_act_as_system() returns boolean
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
    if not exists (select 1 from pg_roles where rolname = 'pipeline') then
        return true;
    end if;
    if (select rolsuper from pg_roles where rolname = session_user) then
        return true;
    end if;
    return pg_has_role(session_user, 'pipeline', 'member') or pg_has_role(session_user, 'deltran_owner', 'member');
end;
$$;

-- Change a breaker: lock it, check where it stands, append the event, apply it.
create or replace function control.change_breaker(
    p_account_id text, p_from_state text, p_to_state text, p_actor text, p_reason text,
    p_check_name text default null, p_run_id text default null, p_business_date date default null,
    p_level text default null, p_evidence text default null
) returns control.circuit_breaker_events
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    current_state text;
    event control.circuit_breaker_events;
begin
    if p_actor = 'system' and p_to_state = 'closed' then
        raise exception 'only a person closes a circuit breaker (actor system refused)';
    end if;
    if p_actor = 'system' and not control.may_act_as_system() then
        raise exception '''system'' is reserved for the platform (the pipeline role), not %', session_user;
    end if;
    select state into current_state from control.circuit_breakers where account_id = p_account_id for update;
    if not found then
        raise exception 'no circuit breaker for %', p_account_id;
    end if;
    if current_state <> p_from_state then
        raise exception 'the breaker of % is %, not %', p_account_id, current_state, p_from_state;
    end if;
    insert into control.circuit_breaker_events
        (account_id, kind, from_state, to_state, actor, reason, check_name, run_id, business_date, level, evidence)
    values (p_account_id, 'breaker', p_from_state, p_to_state, p_actor, p_reason,
            p_check_name, p_run_id, p_business_date, p_level, p_evidence)
    returning * into event;
    update control.circuit_breakers
    set state = p_to_state, since = event.at, reason = event.reason, last_event_id = event.event_id
    where account_id = p_account_id;
    return event;
end;
$$;

-- Change a payout suspension the same way; p_as_of_date is the check's business date.
create or replace function control.change_suspension(
    p_account_id text, p_from_state text, p_to_state text, p_actor text, p_reason text,
    p_check_name text default null, p_run_id text default null, p_business_date date default null,
    p_level text default null, p_evidence text default null
) returns control.circuit_breaker_events
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    suspended boolean;
    event control.circuit_breaker_events;
begin
    if p_actor = 'system' and not control.may_act_as_system() then
        raise exception '''system'' is reserved for the platform (the pipeline role), not %', session_user;
    end if;
    select is_suspended into suspended from control.payout_suspensions where account_id = p_account_id for update;
    if not found then
        raise exception 'no payout suspension row for %', p_account_id;
    end if;
    if (case when suspended then 'suspended' else 'allowed' end) <> p_from_state then
        raise exception 'payouts of % are not %', p_account_id, p_from_state;
    end if;
    insert into control.circuit_breaker_events
        (account_id, kind, from_state, to_state, actor, reason, check_name, run_id, business_date, level, evidence)
    values (p_account_id, 'suspension', p_from_state, p_to_state, p_actor, p_reason,
            p_check_name, p_run_id, p_business_date, p_level, p_evidence)
    returning * into event;
    update control.payout_suspensions
    set is_suspended = (p_to_state = 'suspended'), since = event.at, reason = event.reason,
        last_event_id = event.event_id,
        as_of_date = case when p_business_date is null then as_of_date
                          else greatest(coalesce(as_of_date, p_business_date), p_business_date) end
    where account_id = p_account_id;
    return event;
end;
$$;

-- Make accounts known: a closed breaker and an allowed, unchecked suspension row.
create or replace function control.register_account(p_account_id text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if p_account_id = '*' or control.visible_text(p_account_id) is null then
        raise exception 'not an account id: %', p_account_id;
    end if;
    insert into control.circuit_breakers (account_id, state, reason)
    values (p_account_id, 'closed', 'first seen by a threshold check')
    on conflict (account_id) do nothing;
    insert into control.payout_suspensions (account_id, is_suspended) values (p_account_id, false)
    on conflict (account_id) do nothing;
end;
$$;

-- The latest business date a check applied to the account (forward only).
create or replace function control.mark_checked(p_account_id text, p_business_date date) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    update control.payout_suspensions set as_of_date = p_business_date
    where account_id = p_account_id and (as_of_date is null or as_of_date < p_business_date);
end;
$$;

do $$
declare
    t record;
begin
    for t in
        select * from (values
            ('circuit_breaker_events', 'circuit_breaker_events_stamped', 'before insert', 'for each row', 'control.stamp_event()'),
            ('circuit_breaker_events', 'circuit_breaker_events_append_only', 'before update or delete', 'for each row', 'control.refuse_history_change()'),
            ('circuit_breaker_events', 'circuit_breaker_events_no_truncate', 'before truncate', 'for each statement', 'control.refuse_history_change()'),
            ('discrepancy_case_events', 'discrepancy_case_events_append_only', 'before update or delete', 'for each row', 'control.refuse_history_rewrite()'),
            ('discrepancy_case_events', 'discrepancy_case_events_no_truncate', 'before truncate', 'for each statement', 'control.refuse_history_rewrite()'),
            ('threshold_checks', 'threshold_checks_append_only', 'before update or delete', 'for each row', 'control.refuse_history_rewrite()'),
            ('threshold_checks', 'threshold_checks_no_truncate', 'before truncate', 'for each statement', 'control.refuse_history_rewrite()'),
            ('threshold_check_runs', 'threshold_check_runs_append_only', 'before update or delete', 'for each row', 'control.refuse_history_rewrite()'),
            ('threshold_check_runs', 'threshold_check_runs_no_truncate', 'before truncate', 'for each statement', 'control.refuse_history_rewrite()'),
            ('circuit_breakers', 'circuit_breakers_guarded', 'before insert or update or delete', 'for each row', 'control.guard_state_change()'),
            ('circuit_breakers', 'circuit_breakers_no_truncate', 'before truncate', 'for each statement', 'control.refuse_history_rewrite()'),
            ('payout_suspensions', 'payout_suspensions_guarded', 'before insert or update or delete', 'for each row', 'control.guard_state_change()'),
            ('payout_suspensions', 'payout_suspensions_no_truncate', 'before truncate', 'for each statement', 'control.refuse_history_rewrite()')
        ) as v(table_name, trigger_name, timing, level, func)
    loop
        if not exists (select 1 from pg_trigger where tgrelid = format('control.%I', t.table_name)::regclass
                                                   and tgname = t.trigger_name) then
            execute format('create trigger %I %s on control.%I %s execute function %s',
                           t.trigger_name, t.timing, t.table_name, t.level, t.func);
        end if;
        if exists (select 1 from pg_trigger where tgrelid = format('control.%I', t.table_name)::regclass
                                              and tgname = t.trigger_name and tgenabled <> 'A') then
            -- fires even with session_replication_role = replica
            execute format('alter table control.%I enable always trigger %I', t.table_name, t.trigger_name);
        end if;
    end loop;
end
$$;
