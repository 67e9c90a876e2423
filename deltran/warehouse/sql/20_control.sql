-- Control layer: threshold check results, the circuit breakers and the payout gate.
-- Written only by deltran.recon (checks and breaker); never built or dropped by
-- dbt, so history here survives any rebuild of the marts. Nothing in this schema
-- refers to a dbt relation: dbt drops and recreates its tables (with cascade),
-- which would take a dependent view with it.
-- Idempotent: safe to run on every start. Once the objects exist it takes no
-- lock stronger than a reader's (triggers, indexes and the view are created only
-- when missing), so it never queues behind, or in front of, a consumer reading the
-- payout gate. Changing an existing view or trigger therefore needs a migration.

create schema if not exists control;

-- Every change of a breaker or of a payout suspension, append-only (a trigger
-- below refuses update, delete and truncate). kind 'breaker': closed <-> open;
-- kind 'suspension': allowed <-> suspended (Significant suspends payouts, a later
-- OK/Minor lifts it). System changes name the check, run, business date and level
-- that caused them; manual ones have actor = the person and a reason.
create table if not exists control.circuit_breaker_events (
    event_id      bigserial primary key,
    account_id    text not null,                  -- IBAN, or '*' for the network switch
    kind          text not null default 'breaker' check (kind in ('breaker', 'suspension')),
    from_state    text not null,
    to_state      text not null,
    at            timestamptz not null default now(),
    actor         text not null check (btrim(actor) <> ''),   -- 'system' or a person
    reason        text not null check (btrim(reason) <> ''),
    check_name    text,                           -- GX suite that decided it (system events)
    run_id        text,
    business_date date,
    level         text check (level in ('OK', 'Minor', 'Significant', 'Critical')),
    evidence      text,                           -- fingerprint of the mart row that decided it
    check (from_state <> to_state),
    check (
        (kind = 'breaker' and from_state in ('open', 'closed') and to_state in ('open', 'closed'))
        or (kind = 'suspension' and from_state in ('allowed', 'suspended')
            and to_state in ('allowed', 'suspended'))
    )
);

do $$
begin
    if to_regclass('control.circuit_breaker_events_account_idx') is null then
        create index circuit_breaker_events_account_idx
            on control.circuit_breaker_events (account_id, event_id);
    end if;
end
$$;

create or replace function control.refuse_history_change() returns trigger
language plpgsql as $$
begin
    raise exception 'control.circuit_breaker_events is append-only (% refused)', tg_op;
end;
$$;

do $$
begin
    if not exists (select 1 from pg_trigger
                   where tgrelid = 'control.circuit_breaker_events'::regclass
                     and tgname = 'circuit_breaker_events_append_only') then
        create trigger circuit_breaker_events_append_only
            before update or delete on control.circuit_breaker_events
            for each row execute function control.refuse_history_change();
    end if;
    if not exists (select 1 from pg_trigger
                   where tgrelid = 'control.circuit_breaker_events'::regclass
                     and tgname = 'circuit_breaker_events_no_truncate') then
        create trigger circuit_breaker_events_no_truncate
            before truncate on control.circuit_breaker_events
            for each statement execute function control.refuse_history_change();
    end if;
end
$$;

-- Current state per scope: one row per known account (added, closed, the first
-- time a check sees it) and the network-wide switch '*'. Opens automatically on
-- Critical; closes only by deltran.recon.breaker.reset (a person, with a reason).
create table if not exists control.circuit_breakers (
    account_id    text primary key,
    state         text not null check (state in ('open', 'closed')),
    since         timestamptz not null default now(),
    reason        text not null,
    last_event_id bigint references control.circuit_breaker_events (event_id)
);

insert into control.circuit_breakers (account_id, state, reason)
values ('*', 'closed', 'network switch created')
on conflict (account_id) do nothing;

-- Payout suspension per known account (Significant). Lifted automatically by a
-- check of the same or a later business date that is OK or Minor. as_of_date is
-- the latest business date a check has applied to this row (null: none yet), so
-- re-running an older date never overrides what a newer one decided.
create table if not exists control.payout_suspensions (
    account_id    text primary key,
    is_suspended  boolean not null default false,
    since         timestamptz not null default now(),
    as_of_date    date,
    reason        text,
    last_event_id bigint references control.circuit_breaker_events (event_id)
);

-- One row per threshold check run and business date (append-only; a retry keeps the first).
create table if not exists control.threshold_check_runs (
    run_id          text not null,
    business_date   date not null,
    check_name      text not null,
    gx_success      boolean not null,           -- the GX checkpoint's own verdict
    accounts        integer not null,
    level_counts    jsonb not null,             -- {"OK": 3, "Minor": 1, ...}
    failed_batch_checks text[] not null,        -- checks on the whole batch (the grain)
    data_docs_index text not null,
    data_docs_page  text,
    checked_at      timestamptz not null default now(),
    primary key (run_id, business_date)
);

-- One row per run, business date and account: the level GX decided, which
-- expectations the account's row failed, and the figures it was decided on.
-- History of every run is kept, append-only (50_control_guards.sql); a retry of
-- the same run_id keeps the first record.
create table if not exists control.threshold_checks (
    run_id               text not null,
    business_date        date not null,
    account_id           text not null,
    check_name           text not null,
    level                text not null check (level in ('OK', 'Minor', 'Significant', 'Critical')),
    failed_expectations  text[] not null,
    currency             char(3),
    statement_id         text,
    bank_closing_balance numeric,
    ledger_balance       numeric,
    difference           numeric,
    difference_pct       numeric,
    under_backing_pct    numeric,
    mart_threshold_level text,                  -- dbt's description, kept to cross-check
    checked_at           timestamptz not null default now(),
    primary key (run_id, business_date, account_id),
    foreign key (run_id, business_date)
        references control.threshold_check_runs (run_id, business_date)
);

do $$
begin
    if to_regclass('control.threshold_checks_account_idx') is null then
        create index threshold_checks_account_idx on control.threshold_checks (account_id, business_date);
    end if;
end
$$;

-- How old the check a payout decision rests on may be (DELTRAN_PAYOUT_CHECK_HORIZON_HOURS,
-- applied by deltran.db.ensure_schema): past it the gate says halted, "no check since D".
create table if not exists control.payout_gate_settings (
    singleton     boolean primary key default true check (singleton),
    check_horizon interval not null check (check_horizon > interval '0'),
    updated_at    timestamptz not null default now()
);

insert into control.payout_gate_settings (check_horizon) values (interval '48 hours')
on conflict (singleton) do nothing;

-- What every consumer reads before paying out, and nothing else: one row per
-- known account. An account with no row is unknown: do not pay. A missing
-- network row counts as an open switch (fail closed). The decision states its
-- age: the business date of the latest check applied to the account and when
-- that check ran; when the end of that business day lies further back than the
-- horizon, payouts are halted ("no check since D"): a check that could not run
-- never leaves an old "allowed" standing. (Created when missing or when it lacks
-- the age columns; create or replace keeps the first three columns as they were.)
do $$
begin
    if to_regclass('control.payout_gate') is null
       or not exists (select 1 from information_schema.columns
                      where table_schema = 'control' and table_name = 'payout_gate'
                        and column_name = 'checked_business_date') then
        create or replace view control.payout_gate as
        with gate as (
            select b.account_id, b.state, b.reason as breaker_reason,
                   net.state as network_state, net.reason as network_reason,
                   s.is_suspended, s.reason as suspension_reason, s.as_of_date,
                   s.as_of_date is null
                       or (s.as_of_date + 1)::timestamp at time zone 'UTC'
                          + coalesce((select check_horizon from control.payout_gate_settings), interval '48 hours')
                          < now() as is_stale
            from control.circuit_breakers as b
            left join control.payout_suspensions as s on s.account_id = b.account_id
            left join control.circuit_breakers as net on net.account_id = '*'
            where b.account_id <> '*'
        )
        select g.account_id,
               coalesce(g.network_state, 'open') = 'closed'
                   and g.state = 'closed'
                   and not coalesce(g.is_suspended, false)
                   and not g.is_stale as payouts_allowed,
               nullif(concat_ws('; ',
                   case when coalesce(g.network_state, 'open') = 'open'
                        then 'network circuit breaker open: ' || coalesce(g.network_reason, 'network switch missing') end,
                   case when g.state = 'open' then 'circuit breaker open: ' || g.breaker_reason end,
                   case when g.is_suspended then 'payouts suspended: ' || g.suspension_reason end,
                   case when g.as_of_date is null then 'no threshold check yet'
                        when g.is_stale then 'no check since ' || g.as_of_date::text end
               ), '') as reason,
               g.as_of_date as checked_business_date,
               (select max(t.checked_at) from control.threshold_checks as t
                where t.account_id = g.account_id and t.business_date = g.as_of_date) as checked_at
        from gate as g;
        comment on view control.payout_gate is
            'Read before every payout: payouts_allowed per known account (network switch, account breaker, '
            'Significant suspension, age of the latest check); reason says why not; checked_business_date '
            'and checked_at say which check the decision rests on.';
    end if;
end
$$;
