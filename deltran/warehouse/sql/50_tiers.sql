-- Tiers 1 and 2 (near real-time and intraday reconciliation), written by
-- deltran.recon.tiers; dbt exposes them as marts.notification_checks and
-- marts.intraday_checks (views, documented there).
-- Each table is partitioned by what one run works on and a run replaces its
-- own partition in one transaction: a notification file (file_id) for tier 1,
-- a cut-off (cutoff_at) for tier 2. A rerun or backfill touches no other
-- partition. Every row keeps the inputs its figures came from.
-- Idempotent: safe to run on every start.

create schema if not exists tiers;

-- Tier 1: one row per notification file (camt.054) and account it touches.
create table if not exists tiers.notification_checks (
    file_id              bigint not null references raw.ingested_files (file_id),
    account_id           text not null,
    cutoff_at            timestamptz not null,     -- the notification's creation time
    as_of                timestamptz not null,     -- cutoff_at - the settling time: both sides as of then
    business_date        date not null,
    currency             text,
    anchor_type          text,                     -- CLBD (last statement), OPBD / ITBD / ITAV (camt.052)
    anchor_at            timestamptz,
    anchor_balance       numeric,
    notified_credits     numeric not null,
    notified_debits      numeric not null,
    notified_entries     integer not null,         -- notified entries after the anchor, up to the cut-off
    bank_balance         numeric,                  -- anchor + credits - debits
    ledger_balance       numeric,
    difference           numeric,
    difference_pct       numeric,
    under_backing_pct    numeric,
    file_entries         integer not null,         -- entries of this file on the account
    file_matched         integer not null,         -- of which matched to a ledger posting
    level                text check (level in ('OK', 'Minor', 'Significant', 'Critical')),
    failed_expectations  text[],
    run_id               text,
    checked_at           timestamptz not null default now(),
    primary key (file_id, account_id)
);

-- Tier 1: one row per notified entry of a file, and its ledger match.
create table if not exists tiers.notification_entries (
    file_id          bigint not null references raw.ingested_files (file_id),
    statement_id     text not null,                -- Ntfctn/Id (a file may hold one per account)
    entry_index      integer not null,
    detail_index     integer not null,
    account_id       text,
    amount           numeric not null,
    currency         text not null,
    credit_debit     text not null,
    booked_at        timestamptz,
    acct_svcr_ref    text,
    uetr             text,
    end_to_end_id    text,
    ledger_entry_id  text,
    matched_on       text,                         -- uetr, end_to_end_id, acct_svcr_ref; null: unmatched
    primary key (file_id, statement_id, entry_index, detail_index)
);

-- Tier 2: one row per registry account and cut-off.
create table if not exists tiers.intraday_checks (
    cutoff_at            timestamptz not null,
    account_id           text not null,
    as_of                timestamptz not null,     -- cutoff_at - the settling time: both sides as of then
    business_date        date not null,
    currency             text not null,
    bank_source          text not null,            -- camt.052, camt.054 (tier-1 running balance) or none
    anchor_type          text,
    anchor_at            timestamptz,
    anchor_balance       numeric,
    notified_credits     numeric not null,
    notified_debits      numeric not null,
    notified_entries     integer not null,
    bank_balance         numeric,
    ledger_balance       numeric,
    ledger_postings      integer not null,         -- postings of the business date up to the cut-off
    difference           numeric,
    difference_pct       numeric,
    under_backing_pct    numeric,
    previous_cutoff_at   timestamptz,              -- the day's previous check of the account
    drift                numeric,                  -- difference - the previous check's difference
    day_max_abs_difference numeric,                -- max |difference| of the day's checks up to this one
    level                text check (level in ('OK', 'Minor', 'Significant', 'Critical')),
    failed_expectations  text[],
    run_id               text,
    checked_at           timestamptz not null default now(),
    primary key (cutoff_at, account_id)
);

-- Indexes the balance-at-a-moment queries read by account; created only when
-- missing, so a routine start takes no lock on the raw tables.
do $$
begin
    if to_regclass('tiers.intraday_checks_account_idx') is null then
        create index intraday_checks_account_idx on tiers.intraday_checks (account_id, cutoff_at);
    end if;
    if to_regclass('tiers.notification_checks_account_idx') is null then
        create index notification_checks_account_idx on tiers.notification_checks (account_id, cutoff_at);
    end if;
    if to_regclass('raw.bank_balances_account_idx') is null then
        create index bank_balances_account_idx on raw.bank_balances (account, message_type);
    end if;
    if to_regclass('raw.bank_entries_account_idx') is null then
        create index bank_entries_account_idx on raw.bank_entries (account, message_type);
    end if;
    if to_regclass('raw.ledger_lines_account_idx') is null then
        create index ledger_lines_account_idx on raw.ledger_lines (account, booked_at);
    end if;
end
$$;

-- The daily marts' partitions (one business date each; see docs/design.md,
-- "Partitions"): every build of a business date by a daily run. A date built
-- again because files loaded after its last build touch it is a restatement,
-- with its reason; marts.eod_account_snapshots keeps the figures it replaced.
create table if not exists tiers.daily_builds (
    build_id           bigserial primary key,
    business_date      date not null,            -- the partition built
    run_business_date  date not null,            -- the run that built it (= business_date unless a restatement)
    is_restatement     boolean not null,
    reason             text not null,
    files_through      bigint not null,          -- the last raw.ingested_files.file_id the build had seen
    run_id             text,
    built_at           timestamptz not null default now()
);
-- the last control.match_decisions.decision_id the build had seen (a person's
-- decision on a match changes its day too)
alter table tiers.daily_builds add column if not exists decisions_through bigint not null default 0;

-- What a restatement looks up: the dates of the other copies and counterparts
-- of a new file's rows (by entry id, UETR, EndToEndId), without a scan of the history.
do $$
begin
    if to_regclass('tiers.daily_builds_date_idx') is null then
        create index daily_builds_date_idx on tiers.daily_builds (business_date);
    end if;
    if to_regclass('raw.ledger_lines_entry_idx') is null then
        create index ledger_lines_entry_idx on raw.ledger_lines (entry_id);
    end if;
    if to_regclass('raw.ledger_lines_uetr_idx') is null then
        create index ledger_lines_uetr_idx on raw.ledger_lines (lower(nullif(uetr, '')));
    end if;
    if to_regclass('raw.ledger_lines_e2e_idx') is null then
        create index ledger_lines_e2e_idx on raw.ledger_lines (end_to_end_id);
    end if;
    if to_regclass('raw.bank_entries_uetr_idx') is null then
        create index bank_entries_uetr_idx on raw.bank_entries (lower(nullif(uetr, '')));
    end if;
    if to_regclass('raw.bank_entries_e2e_idx') is null then
        create index bank_entries_e2e_idx on raw.bank_entries (end_to_end_id);
    end if;
end
$$;
