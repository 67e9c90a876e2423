-- What a person decided about a suggested match (pass 3: no shared reference,
-- a unique candidate on each side), or a pair a person made by hand ('pair'). Written only by deltran.recon.matches
-- (`deltran matches confirm|reject`); append-only, so every decision keeps who,
-- when and why. The latest decision on a pair wins; int_matches__suggested reads
-- it, so a decision survives every rebuild of the marts.

create schema if not exists control;

create table if not exists control.match_decisions (
    decision_id     bigserial primary key,
    bank_entry_id   text not null,
    ledger_entry_id text not null,
    decision        text not null check (decision in ('confirm', 'reject', 'pair')),
    reason          text not null check (btrim(reason) <> ''),
    decided_by      text not null check (btrim(decided_by) <> ''),
    decided_at      timestamptz not null default now()
);

create index if not exists match_decisions_pair_idx on control.match_decisions (bank_entry_id, ledger_entry_id);

-- append-only: a decision is changed by deciding again, never by rewriting one
create or replace function control.match_decisions_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'control.match_decisions is append-only: record a new decision instead';
end;
$$;

drop trigger if exists match_decisions_append_only on control.match_decisions;
create trigger match_decisions_append_only
    before update or delete on control.match_decisions
    for each row execute function control.match_decisions_append_only();

-- ===== Stable key for match decisions (issue 8; one block, for the lead to wrap into a migration) =====
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
        alter table control.match_decisions enable trigger match_decisions_append_only;
    end if;
end
$$;
-- ===== end: stable key for match decisions =====
