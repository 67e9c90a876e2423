-- Access (issue 10): analysts read marts and nothing else; operators act only
-- through functions; nobody writes history directly but the platform.
--   analyst   USAGE on marts and SELECT on its relations, today's and every one
--             the pipeline (dbt) creates later (default privileges); nothing on
--             raw, control, clearing, tiers or dbt's other schemas; no write.
--   operator  an analyst, plus the breaker, payout and exception actions through
--             SECURITY DEFINER functions: change_breaker / change_suspension
--             (90_roles.sql) and the two below. Its direct INSERT/UPDATE on case
--             state and history (granted before this revision) is revoked.
-- Revision 0003; idempotent. Skipped where the roles are not managed here.

-- A discrepancy's case changes with its event, in one call.
create or replace function control.record_case_change(
    p_discrepancy_id text, p_from_state text, p_to_state text, p_owner text, p_note text,
    p_resolution_note text, p_actor text
) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    new_event_id bigint;
begin
    if lower(coalesce(control.visible_text(p_actor), '')) = 'system' and not control.may_act_as_system() then
        raise exception '''system'' is reserved for the platform (the pipeline role), not %', session_user;
    end if;
    insert into control.discrepancy_cases (discrepancy_id, state, owner, resolution_note, updated_at, updated_by)
    values (p_discrepancy_id, p_to_state, p_owner, p_resolution_note, now(), p_actor)
    on conflict (discrepancy_id) do update set state = excluded.state, owner = excluded.owner,
        resolution_note = excluded.resolution_note, updated_at = excluded.updated_at,
        updated_by = excluded.updated_by;
    insert into control.discrepancy_case_events (discrepancy_id, from_state, to_state, owner, note, actor)
    values (p_discrepancy_id, p_from_state, p_to_state, p_owner, p_note, p_actor)
    returning event_id into new_event_id;
    return new_event_id;
end;
$$;

-- A person's decision on a suggested match (or a pair made by hand).
create or replace function control.record_match_decision(
    p_bank_entry_id text, p_ledger_entry_id text, p_decision text, p_reason text, p_actor text
) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    new_decision_id bigint;
begin
    if lower(coalesce(control.visible_text(p_actor), '')) = 'system' and not control.may_act_as_system() then
        raise exception '''system'' is reserved for the platform (the pipeline role), not %', session_user;
    end if;
    insert into control.match_decisions (bank_entry_id, ledger_entry_id, decision, reason, decided_by)
    values (p_bank_entry_id, p_ledger_entry_id, p_decision, p_reason, p_actor)
    returning decision_id into new_decision_id;
    return new_decision_id;
end;
$$;

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'analyst')
       or not exists (select 1 from pg_roles where rolname = 'operator')
       or not exists (select 1 from pg_roles where rolname = 'pipeline') then
        raise notice 'roles not managed here: access grants left to the DBA';
        return;
    end if;

    revoke all on function
        control.record_case_change(text, text, text, text, text, text, text),
        control.record_match_decision(text, text, text, text, text)
        from public;
    grant execute on function
        control.record_case_change(text, text, text, text, text, text, text),
        control.record_match_decision(text, text, text, text, text)
        to pipeline, operator;

    -- operators write through the functions only
    revoke insert, update, delete, truncate on control.discrepancy_cases, control.discrepancy_case_events,
        control.match_decisions, control.circuit_breaker_events, control.audit_trail,
        control.threshold_checks, control.threshold_check_runs
        from operator;

    -- analysts: marts, read-only; dbt creates marts as the pipeline, so its future tables and views too
    if not exists (select 1 from pg_namespace where nspname = 'marts') then
        create schema marts authorization pipeline;
    end if;
    grant usage on schema marts to analyst;
    grant select on all tables in schema marts to analyst;
    if pg_has_role(current_user, 'pipeline', 'member') then  -- a superuser is; a mere CREATEROLE owner may not be
        alter default privileges for role pipeline in schema marts grant select on tables to analyst;
    else
        raise notice 'analyst: grant select on new marts to analyst as the pipeline (alter default privileges)';
    end if;
    if not pg_has_role('operator', 'analyst', 'member') then
        grant analyst to operator;  -- an operator reads what an analyst reads
    end if;
end
$$;
