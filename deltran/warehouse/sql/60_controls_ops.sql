-- Controls worked by people (issue 10: breaker and suspensions, exceptions, alerts).
-- Idempotent (if not exists / create or replace); once everything exists it only
-- reads the catalogue. Runs as the owner (db.OWNER_SCRIPTS); grants in 90_roles.sql.

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
