-- The daily marts' partition builds and restatements (issue 7). Revision 0006; idempotent.

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
