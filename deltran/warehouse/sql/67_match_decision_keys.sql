-- Matching, product-grade (issue 8). Revision 0007; idempotent.

-- The ledger's structured creditor reference (RF...), optional in the export:
-- suggested matching compares it with the bank's.
alter table raw.ledger_lines add column if not exists creditor_reference text;

-- A decision names the bank movement by bank_movement_key (its content: account,
-- currency, direction, amount, booking date, AcctSvcrRef, NtryRef, UETR,
-- EndToEndId, order among identical twins; see int_bank_movements_numbered),
-- not by bank_entry_id (statement id + position), so it survives the same
-- statement delivered again under another Stmt/Id or file. bank_entry_id stays
-- as the movement's id when the decision was taken.
alter table control.match_decisions add column if not exists bank_movement_key text;
create index if not exists match_decisions_key_idx on control.match_decisions (bank_movement_key, ledger_entry_id);

-- Backfill decisions taken before the key existed: their movement's key, computed
-- exactly as int_bank_movements_numbered computes it, over the accounts those
-- decisions touch in the matching's last build. A decision whose movement is no
-- longer there keeps a null key (it matched nothing then either). The one
-- update this append-only table allows: filling a column that was added.
do $$
begin
    if exists (select 1 from control.match_decisions where bank_movement_key is null)
       and to_regclass('intermediate.int_bank_movements_numbered') is not null then
        alter table control.match_decisions disable trigger match_decisions_append_only;
        update control.match_decisions as d
        set bank_movement_key = k.bank_movement_key
        from (
            select
                bank_entry_id,
                md5(concat_ws('|',
                    account_id, currency, credit_debit, trim_scale(amount), booking_date,
                    coalesce(acct_svcr_ref, ''), coalesce(entry_ref, ''), coalesce(uetr, ''), coalesce(end_to_end_id, ''),
                    row_number() over (
                        partition by account_id, currency, credit_debit, amount, booking_date,
                            acct_svcr_ref, entry_ref, uetr, end_to_end_id
                        order by statement_id, entry_index, detail_index
                    )
                )) as bank_movement_key
            from intermediate.int_bank_movements_numbered
            where account_id in (
                select m.account_id from intermediate.int_bank_movements_numbered as m
                where m.bank_entry_id in (select bank_entry_id from control.match_decisions where bank_movement_key is null)
            )
        ) as k
        where d.bank_movement_key is null and k.bank_entry_id = d.bank_entry_id;
        alter table control.match_decisions enable always trigger match_decisions_append_only;  -- as 60_audit_trail.sql left it
    end if;
end
$$;

-- A person's decision names the movement by its key too (70_access.sql's function gains the argument).
drop function if exists control.record_match_decision(text, text, text, text, text);
create or replace function control.record_match_decision(
    p_bank_entry_id text, p_bank_movement_key text, p_ledger_entry_id text, p_decision text, p_reason text,
    p_actor text
) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    new_decision_id bigint;
begin
    if lower(coalesce(control.visible_text(p_actor), '')) = 'system' and not control.may_act_as_system() then
        raise exception '''system'' is reserved for the platform (the pipeline role), not %', session_user;
    end if;
    insert into control.match_decisions (bank_entry_id, bank_movement_key, ledger_entry_id, decision, reason, decided_by)
    values (p_bank_entry_id, p_bank_movement_key, p_ledger_entry_id, p_decision, p_reason, p_actor)
    returning decision_id into new_decision_id;
    return new_decision_id;
end;
$$;

do $$
begin
    revoke all on function control.record_match_decision(text, text, text, text, text, text) from public;
    if exists (select 1 from pg_roles where rolname = 'pipeline')
       and exists (select 1 from pg_roles where rolname = 'operator') then
        grant execute on function control.record_match_decision(text, text, text, text, text, text) to pipeline, operator;
    end if;
end
$$;
