-- Roles: who may do what (issue 9 "Insiders"; the access part of issue 10 builds on these names).
--   deltran_owner  NOLOGIN. Owns the control schema: history (breaker events, case events,
--                  threshold check results), state (breakers, suspensions), the guards and
--                  the functions. Nobody logs in as it.
--   pipeline       LOGIN, not a superuser, no CREATEROLE/CREATEDB/REPLICATION/BYPASSRLS.
--                  Everything the platform runs (ingest, dbt, Great Expectations, clearing,
--                  threshold checks, tiers 1 and 2) connects as it. Owns raw, clearing, tiers and dbt's schemas;
--                  in control it may read, append check results and case events, and change
--                  breakers and suspensions only through control.change_breaker /
--                  change_suspension / register_account / mark_checked. It does not own the
--                  history, so it can neither disable its triggers nor (not a superuser) set
--                  session_replication_role.
--   operator       NOLOGIN group for people: breaker and case actions through the functions
--                  (it may not write as 'system').
--   analyst        NOLOGIN group for people: read-only marts (its grants arrive with the
--                  access migrations of issue 10).
-- Runs only when the connected role may create roles (a superuser or CREATEROLE, e.g. the
-- embedded server's admin); otherwise it leaves roles to the DBA and says so. Once done it
-- only reads the catalogue (ownership and grants are changed only when they differ).
do $$
declare
    may_manage boolean;
    obj record;
begin
    select rolsuper or rolcreaterole into may_manage from pg_roles where rolname = current_user;
    if not may_manage then
        raise notice 'roles not managed here: % may not create roles', current_user;
        return;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'deltran_owner') then
        create role deltran_owner nologin;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'pipeline') then
        create role pipeline login nosuperuser nocreaterole nocreatedb noreplication nobypassrls;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'operator') then
        create role operator nologin;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'analyst') then
        create role analyst nologin;
    end if;

    -- control: the owner's
    if (select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'control') <> 'deltran_owner' then
        alter schema control owner to deltran_owner;
    end if;
    for obj in
        select c.relname, c.relkind from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = 'control' and c.relkind in ('r', 'v', 'p') and pg_get_userbyid(c.relowner) <> 'deltran_owner'
    loop
        execute format('alter %s control.%I owner to deltran_owner',
                       case obj.relkind when 'v' then 'view' else 'table' end, obj.relname);
    end loop;
    for obj in
        select p.oid::regprocedure as signature from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace
        where n.nspname = 'control' and pg_get_userbyid(p.proowner) <> 'deltran_owner'
    loop
        execute format('alter function %s owner to deltran_owner', obj.signature);
    end loop;

    -- raw, clearing and dbt's schemas: the pipeline's (it loads, clears and rebuilds them)
    for obj in
        select nspname from pg_namespace
        where nspname in ('raw', 'clearing', 'tiers', 'staging', 'intermediate', 'marts', 'audit')
          and pg_get_userbyid(nspowner) <> 'pipeline'
    loop
        execute format('alter schema %I owner to pipeline', obj.nspname);
    end loop;
    for obj in
        select n.nspname, c.relname, c.relkind from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'clearing', 'tiers', 'staging', 'intermediate', 'marts', 'audit')
          and c.relkind in ('r', 'v', 'm', 'p') and pg_get_userbyid(c.relowner) <> 'pipeline'
    loop
        execute format('alter %s %I.%I owner to pipeline',
                       case obj.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
                       obj.nspname, obj.relname);
    end loop;
    if not has_database_privilege('pipeline', current_database(), 'CREATE') then
        execute format('grant create on database %I to pipeline', current_database());  -- dbt creates its schemas
    end if;

    -- what the pipeline and the operators may do in control (grants are idempotent)
    revoke all on all functions in schema control from public;
    grant execute on function control.visible_text(text), control.is_valid_actor(text),
        control.may_act_as_system() to public;
    grant usage on schema control to pipeline, operator;
    grant select on all tables in schema control to pipeline, operator;
    grant insert on control.threshold_check_runs, control.threshold_checks to pipeline;
    grant insert, update on control.discrepancy_cases to pipeline, operator;
    grant insert on control.discrepancy_case_events to pipeline, operator;
    grant insert on control.match_decisions to pipeline, operator;  -- append-only: a trigger refuses the rest
    grant insert on control.alert_deliveries to pipeline;  -- append-only (60_controls_ops.sql)
    -- a breaker reset reads the account's latest check of every tier (deltran.recon.breaker.latest_check)
    if to_regclass('tiers.intraday_checks') is not null and to_regclass('tiers.notification_checks') is not null then
        grant usage on schema tiers to operator;
        grant select on tiers.intraday_checks, tiers.notification_checks to operator;
    end if;
    grant usage on all sequences in schema control to pipeline, operator;
    -- SELECT ... FOR UPDATE (the row lock that orders concurrent changes) needs an UPDATE
    -- privilege: on account_id only, which the guard trigger never lets change
    grant update (account_id) on control.circuit_breakers, control.payout_suspensions to pipeline, operator;
    grant execute on function
        control.change_breaker(text, text, text, text, text, text, text, date, text, text),
        control.change_suspension(text, text, text, text, text, text, text, date, text, text),
        control.register_account(text),
        control.mark_checked(text, date)
        to pipeline;
    grant execute on function
        control.change_breaker(text, text, text, text, text, text, text, date, text, text),
        control.change_suspension(text, text, text, text, text, text, text, date, text, text),
        control.register_account(text)
        to operator;
end
$$;
