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
