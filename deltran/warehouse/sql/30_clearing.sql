-- Clearing results, written by deltran.clearing.store (the clearing_window DAG):
-- one window's run replaces that window's rows in one transaction. dbt reads
-- these as sources for the clearing marts; it never writes here.

create schema if not exists clearing;

-- When each window was first cleared: obligations that arrive after it go to
-- the next open window (late), so re-running a window never changes its rows.
create table if not exists clearing.windows (
    window_closing   timestamptz primary key,
    first_cleared_at timestamptz not null,
    last_cleared_at  timestamptz not null,
    runs             integer not null
);

-- What the first run of a window netted, per (debtor, creditor, currency): the
-- window's members summed. Every re-run nets exactly these rows, so it rewrites
-- identical results and pacs.009 bytes whatever arrived or was rejected since.
create table if not exists clearing.window_pair_totals (
    window_closing   timestamptz not null,
    debtor_bic       text not null,
    creditor_bic     text not null,
    currency         char(3) not null,
    amount           numeric not null,
    obligation_count bigint not null,
    late_count       bigint not null,
    primary key (window_closing, debtor_bic, creditor_bic, currency)
);

create table if not exists clearing.window_currencies (
    window_closing        timestamptz not null,
    currency              char(3) not null,
    obligation_count      bigint not null,
    late_count            bigint not null,
    participant_count     integer not null,
    gross_amount          numeric not null,
    bilateral_net_amount  numeric not null,
    net_amount            numeric not null,
    netting_efficiency    numeric not null,
    bilateral_efficiency  numeric not null,
    cycle_component_count integer not null,
    simple_cycle_count    integer not null,
    cycles                jsonb not null,
    instruction_count     integer not null,
    instruction_bound     integer not null,
    cap_breach_count      integer not null,
    is_settlement_held    boolean not null,
    pacs009_file          text,
    primary key (window_closing, currency)
);

create table if not exists clearing.positions (
    window_closing timestamptz not null,
    currency       char(3) not null,
    participant    text not null,
    paid_amount    numeric not null,
    received_amount numeric not null,
    net_amount     numeric not null,
    primary key (window_closing, currency, participant)
);

create table if not exists clearing.bilateral_nets (
    window_closing timestamptz not null,
    currency       char(3) not null,
    party_a        text not null,   -- party_a < party_b
    party_b        text not null,
    a_to_b_amount  numeric not null,
    b_to_a_amount  numeric not null,
    payer          text,            -- null when the pair nets to zero
    payee          text,
    net_amount     numeric not null,
    primary key (window_closing, currency, party_a, party_b)
);

create table if not exists clearing.instructions (
    window_closing timestamptz not null,
    currency       char(3) not null,
    sequence       integer not null,
    payer          text not null,
    payee          text not null,
    amount         numeric not null check (amount > 0),
    primary key (window_closing, currency, sequence)
);

create table if not exists clearing.cap_breaches (
    window_closing timestamptz not null,
    currency       char(3) not null,
    participant    text not null,
    net_amount     numeric not null,
    cap_amount     numeric not null,
    excess_amount  numeric not null,
    primary key (window_closing, currency, participant)
);
