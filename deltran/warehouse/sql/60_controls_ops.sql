-- Controls worked by people (issue 10: breaker and suspensions, exceptions, alerts).
-- Idempotent (if not exists / create or replace); once everything exists it only
-- reads the catalogue. Revision 0004 (runs as the owner); its grants are at the end of this file.

-- The break's figures when its case last changed or was last seen (md5 of
-- business date, amounts and difference; null: the break was gone from the marts).
-- A resolved case whose break comes back, or comes back changed, reopens
-- (deltran.recon.exceptions.reopen_recurred).
-- Lookups by run: the alert listener reads the events of the run that just ran.
-- (DDL only when missing: a routine start takes no lock a payout reader would queue behind.)
do $$
begin
    if not exists (select 1 from information_schema.columns
                   where table_schema = 'control' and table_name = 'discrepancy_cases'
                     and column_name = 'break_fingerprint') then
        alter table control.discrepancy_cases add column break_fingerprint text;
    end if;
    if to_regclass('control.circuit_breaker_events_run_idx') is null then
        create index circuit_breaker_events_run_idx on control.circuit_breaker_events (run_id);
    end if;
end
$$;

-- Every alert raised, once (alert_key: what it is about, e.g. the event or the
-- finding), with where it went; append-only like the rest of the history. A
-- retried task finds its alerts here and does not send them twice.
create table if not exists control.alert_deliveries (
    alert_key   text primary key,
    kind        text not null check (kind in ('breaker_opened', 'suspension_started', 'check_failed_closed',
                                              'statement_missing')),
    account_id  text,
    level       text,
    dag_id      text,
    run_id      text,
    task_id     text,
    payload     jsonb not null,
    channels    text[] not null,               -- log, webhook, email: where it was sent
    raised_at   timestamptz not null default now()
);

do $$
declare
    t record;
begin
    for t in
        select * from (values
            ('alert_deliveries_append_only', 'before update or delete', 'for each row'),
            ('alert_deliveries_no_truncate', 'before truncate', 'for each statement')
        ) as v(trigger_name, timing, level)
    loop
        if not exists (select 1 from pg_trigger where tgrelid = 'control.alert_deliveries'::regclass
                                                   and tgname = t.trigger_name) then
            execute format('create trigger %I %s on control.alert_deliveries %s'
                           ' execute function control.refuse_history_rewrite()',
                           t.trigger_name, t.timing, t.level);
        end if;
        if exists (select 1 from pg_trigger where tgrelid = 'control.alert_deliveries'::regclass
                                              and tgname = t.trigger_name and tgenabled <> 'A') then
            execute format('alter table control.alert_deliveries enable always trigger %I', t.trigger_name);
        end if;
    end loop;
end
$$;

-- A case change records the break's figures with it (break_fingerprint), still in
-- one call: the function of 70_access.sql gains the argument.
drop function if exists control.record_case_change(text, text, text, text, text, text, text);
create or replace function control.record_case_change(
    p_discrepancy_id text, p_from_state text, p_to_state text, p_owner text, p_note text,
    p_resolution_note text, p_actor text, p_break_fingerprint text
) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    new_event_id bigint;
begin
    if lower(coalesce(control.visible_text(p_actor), '')) = 'system' and not control.may_act_as_system() then
        raise exception '''system'' is reserved for the platform (the pipeline role), not %', session_user;
    end if;
    insert into control.discrepancy_cases
        (discrepancy_id, state, owner, resolution_note, updated_at, updated_by, break_fingerprint)
    values (p_discrepancy_id, p_to_state, p_owner, p_resolution_note, now(), p_actor, p_break_fingerprint)
    on conflict (discrepancy_id) do update set state = excluded.state, owner = excluded.owner,
        resolution_note = excluded.resolution_note, updated_at = excluded.updated_at,
        updated_by = excluded.updated_by, break_fingerprint = excluded.break_fingerprint;
    insert into control.discrepancy_case_events (discrepancy_id, from_state, to_state, owner, note, actor)
    values (p_discrepancy_id, p_from_state, p_to_state, p_owner, p_note, p_actor)
    returning event_id into new_event_id;
    return new_event_id;
end;
$$;

do $$
begin
    revoke all on function control.record_case_change(text, text, text, text, text, text, text, text) from public;
    if not exists (select 1 from pg_roles where rolname = 'pipeline')
       or not exists (select 1 from pg_roles where rolname = 'operator') then
        raise notice 'roles not managed here: access grants left to the DBA';
        return;
    end if;
    grant execute on function control.record_case_change(text, text, text, text, text, text, text, text)
        to pipeline, operator;
    grant select on control.alert_deliveries to pipeline, operator;
    grant insert on control.alert_deliveries to pipeline;  -- append-only: the triggers above refuse the rest
    -- a breaker reset reads the account's latest check of every tier (deltran.recon.breaker.latest_check)
    if to_regclass('tiers.intraday_checks') is not null and to_regclass('tiers.notification_checks') is not null then
        grant usage on schema tiers to operator;
        grant select on tiers.intraday_checks, tiers.notification_checks to operator;
    end if;
end
$$;
