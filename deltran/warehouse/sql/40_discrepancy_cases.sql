-- The human side of a discrepancy: who owns it, where it stands, how it was
-- resolved. Written only by deltran.recon.cases (`deltran discrepancy ...`);
-- marts.discrepancies reads it, so its state survives every rebuild of the marts.

create schema if not exists control;

create table if not exists control.discrepancy_cases (
    discrepancy_id  text primary key,           -- marts.discrepancies.discrepancy_id (stable across runs)
    state           text not null check (state in ('open', 'investigating', 'resolved', 'escalated')),
    owner           text not null check (btrim(owner) <> ''),
    resolution_note text,
    updated_at      timestamptz not null,
    updated_by      text not null,
    check (state <> 'resolved' or btrim(coalesce(resolution_note, '')) <> '')
);

-- every change, append-only
create table if not exists control.discrepancy_case_events (
    event_id       bigserial primary key,
    discrepancy_id text not null,
    from_state     text not null,
    to_state       text not null,
    owner          text not null,
    note           text,
    actor          text not null check (btrim(actor) <> ''),
    at             timestamptz not null default now()
);
