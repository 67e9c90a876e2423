-- Raw layer: what the files said, loaded as is (typed, not interpreted).
-- Written only by deltran.ingest, one file per transaction; read only by dbt
-- staging models. Each row points at the file it came from (file_id), and each
-- file is remembered by its SHA-256, so the same file twice loads nothing.
-- Idempotent: safe to run on every start.

create schema if not exists raw;

create table if not exists raw.ingested_files (
    file_id         bigserial primary key,
    sha256          text not null unique,
    file_name       text not null,
    file_kind       text not null,          -- ledger, camt.053, pacs.008, ...
    message_version text,                   -- camt.053.001.08, ...
    size_bytes      bigint not null,
    row_counts      jsonb not null,         -- rows loaded per raw table
    loaded_at       timestamptz not null default now()
);

-- One row per quarantined file, even for two files with the same bytes (each
-- keeps its own reason); written before the file is moved to quarantine.
create table if not exists raw.quarantined_files (
    quarantine_id   bigserial primary key,
    sha256          text not null,
    file_name       text not null,
    error           text not null,
    quarantine_path text not null,
    quarantined_at  timestamptz not null default now(),
    unique (sha256, file_name)
);

-- warehouses created before quarantine_id: one row per file instead of per hash
do $$
begin
    if not exists (select 1 from information_schema.columns
                   where table_schema = 'raw' and table_name = 'quarantined_files'
                     and column_name = 'quarantine_id') then
        alter table raw.quarantined_files drop constraint quarantined_files_pkey;
        alter table raw.quarantined_files add column quarantine_id bigserial primary key;
        alter table raw.quarantined_files add unique (sha256, file_name);
    end if;
end
$$;

create table if not exists raw.ledger_lines (
    file_id        bigint not null references raw.ingested_files (file_id),
    line_number    integer not null,
    entry_id       text not null,
    journal_id     text not null,
    account        text not null,
    amount         numeric not null check (amount >= 0),
    currency       char(3) not null,
    side           char(1) not null check (side in ('D', 'C')),
    booked_at      timestamptz not null,
    value_date     date,
    kind           text not null,
    uetr           text,
    end_to_end_id  text,
    bank_reference text,
    description    text
);

-- added after the first release: the ledger's counterparty, optional in the export
alter table raw.ledger_lines add column if not exists counterparty_name text;
-- and its structured creditor reference (RF...), optional too: suggested matching compares it with the bank's
alter table raw.ledger_lines add column if not exists creditor_reference text;

create table if not exists raw.bank_statements (
    file_id              bigint not null references raw.ingested_files (file_id),
    message_type         text not null,
    message_id           text not null,
    statement_id         text not null,
    account              text,
    account_currency     text,
    servicer_bic         text,
    created_at           timestamptz,
    from_at              timestamptz,
    to_at                timestamptz,
    electronic_seq_nb    numeric,
    legal_seq_nb         numeric,
    summary_entry_count  bigint,
    summary_credit_count bigint,
    summary_credit_sum   numeric,
    summary_debit_count  bigint,
    summary_debit_sum    numeric,
    additional_info      text,
    copy_duplicate       text,
    page_number          integer,
    last_page            boolean
);

create table if not exists raw.bank_balances (
    file_id      bigint not null references raw.ingested_files (file_id),
    message_type text not null,
    message_id   text not null,
    statement_id text not null,
    account      text,
    type_code    text not null,
    amount       numeric not null,
    currency     text not null,
    credit_debit text not null,
    date         date,
    date_time    timestamptz,
    credit_debit_assumed boolean not null default false
);

create table if not exists raw.bank_entries (
    file_id           bigint not null references raw.ingested_files (file_id),
    message_type      text not null,
    message_id        text not null,
    statement_id      text not null,
    account           text,
    account_currency  text,
    entry_index       integer not null,
    detail_index      integer not null,
    entry_ref         text,
    amount            numeric not null,
    currency          text not null,
    credit_debit      text not null,
    status            text,
    booking_date      date,
    booking_date_time timestamptz,
    value_date        date,
    acct_svcr_ref     text,
    is_reversal       boolean not null,
    bank_tx_code      text,
    entry_amount      numeric not null,
    detail_count      integer,            -- null: the entry's details were streamed in parts
    end_to_end_id     text,
    uetr              text,
    tx_id             text,
    instr_id          text,
    msg_id            text,
    tx_acct_svcr_ref  text,
    debtor_name       text,
    debtor_account    text,
    debtor_agent_bic  text,
    creditor_name     text,
    creditor_account  text,
    creditor_agent_bic text,
    remittance_info   text
    -- the second round's columns are added below, so existing databases get them too
);

create table if not exists raw.payments (
    file_id               bigint not null references raw.ingested_files (file_id),
    message_type          text not null,
    message_id            text not null,
    created_at            timestamptz,
    instr_id              text,
    end_to_end_id         text,
    tx_id                 text,
    uetr                  text,
    amount                numeric not null,
    currency              text not null,
    settlement_date       date,
    accepted_at           timestamptz,
    debtor_agent_bic      text,
    creditor_agent_bic    text,
    instructing_agent_bic text,
    instructed_agent_bic  text,
    debtor_name           text,
    debtor_account        text,
    creditor_name         text,
    creditor_account      text,
    remittance_info       text
);

create table if not exists raw.payment_statuses (
    file_id                bigint not null references raw.ingested_files (file_id),
    message_type           text not null,
    message_id             text not null,
    created_at             timestamptz,
    original_message_id    text,
    original_message_type  text,
    original_instr_id      text,
    original_end_to_end_id text,
    original_tx_id         text,
    original_uetr          text,
    status                 text not null,
    reason_code            text,
    reason_text            text
);

create table if not exists raw.payment_returns (
    file_id                bigint not null references raw.ingested_files (file_id),
    message_type           text not null,
    message_id             text not null,
    created_at             timestamptz,
    return_id              text,
    original_message_id    text,
    original_message_type  text,
    original_instr_id      text,
    original_end_to_end_id text,
    original_tx_id         text,
    original_uetr          text,
    returned_amount        numeric not null,
    currency               text not null,
    settlement_date        date,
    reason_code            text,
    reason_text            text,
    debtor_agent_bic       text,
    creditor_agent_bic     text,
    instructing_agent_bic  text,
    instructed_agent_bic   text
);

create table if not exists raw.statement_findings (
    file_id      bigint not null references raw.ingested_files (file_id),
    message_type text,
    message_id   text,
    statement_id text,
    account      text,
    "check"      text not null,
    expected     text,
    actual       text,
    detail       text
);

-- Columns added after the first release: idempotent for databases created before.
alter table raw.bank_statements
    add column if not exists additional_info text,
    add column if not exists copy_duplicate  text,
    add column if not exists page_number     integer,
    add column if not exists last_page       boolean,
    add column if not exists bah_biz_msg_id text,
    add column if not exists bah_msg_def_id text,
    add column if not exists bah_created_at timestamptz,
    add column if not exists bah_from       text,
    add column if not exists bah_to         text;
alter table raw.bank_balances
    add column if not exists credit_debit_assumed boolean not null default false;
alter table raw.bank_entries
    alter column detail_count drop not null,
    add column if not exists entry_currency          text,
    add column if not exists entry_credit_debit      text,
    add column if not exists detail_amount           numeric,
    add column if not exists detail_currency         text,
    add column if not exists detail_credit_debit     text,
    add column if not exists additional_entry_info   text,
    add column if not exists batch_message_id        text,
    add column if not exists batch_payment_info_id   text,
    add column if not exists batch_tx_count          bigint,
    add column if not exists batch_total_amount      numeric,
    add column if not exists tx_bank_tx_code         text,
    add column if not exists additional_tx_info      text,
    add column if not exists tx_accepted_at          timestamptz,
    add column if not exists tx_settlement_date      date,
    add column if not exists debtor_agent            text,  -- participant key: BIC, else 'USABA:021000021', 'LEI:...'
    add column if not exists creditor_agent          text,
    add column if not exists payment_info_id         text,
    add column if not exists mandate_id              text,
    add column if not exists proprietary_refs        text,
    add column if not exists instructed_amount       numeric,
    add column if not exists instructed_currency     text,
    add column if not exists exchange_rate           numeric,
    add column if not exists charges_amount          numeric,
    add column if not exists charges_currency        text,
    add column if not exists charge_bearer           text,
    add column if not exists purpose                 text,
    add column if not exists local_instrument        text,
    add column if not exists return_reason_code      text,
    add column if not exists return_additional_info  text,
    add column if not exists creditor_reference      text,
    add column if not exists creditor_reference_type text,
    add column if not exists referred_documents      text;
-- participants with or without a BIC: debtor_agent... hold the key clearing nets by
-- (the BIC, else 'USABA:021000021' clearing system and member id, else 'LEI:...')
alter table raw.payments
    add column if not exists debtor_agent            text,
    add column if not exists creditor_agent          text,
    add column if not exists instructing_agent       text,
    add column if not exists instructed_agent        text,
    add column if not exists debtor_agent_name       text,
    add column if not exists creditor_agent_name     text,
    add column if not exists group_tx_count          bigint,
    add column if not exists payment_info_id         text,
    add column if not exists instructed_amount       numeric,
    add column if not exists instructed_currency     text,
    add column if not exists exchange_rate           numeric,
    add column if not exists charge_bearer           text,
    add column if not exists charges_amount          numeric,
    add column if not exists charges_currency        text,
    add column if not exists purpose                 text,
    add column if not exists local_instrument        text,
    add column if not exists creditor_reference      text,
    add column if not exists creditor_reference_type text,
    add column if not exists referred_documents      text,
    add column if not exists bah_biz_msg_id text,
    add column if not exists bah_msg_def_id text,
    add column if not exists bah_created_at timestamptz,
    add column if not exists bah_from       text,
    add column if not exists bah_to         text;
alter table raw.payment_statuses
    add column if not exists original_payment_info_id text,
    add column if not exists bah_biz_msg_id text,
    add column if not exists bah_msg_def_id text,
    add column if not exists bah_created_at timestamptz,
    add column if not exists bah_from       text,
    add column if not exists bah_to         text;
alter table raw.payment_returns
    add column if not exists debtor_agent   text,
    add column if not exists creditor_agent text,
    add column if not exists bah_biz_msg_id text,
    add column if not exists bah_msg_def_id text,
    add column if not exists bah_created_at timestamptz,
    add column if not exists bah_from       text,
    add column if not exists bah_to         text;

create index if not exists bank_entries_file_idx on raw.bank_entries (file_id);
create index if not exists ledger_lines_file_idx on raw.ledger_lines (file_id);
create index if not exists payments_file_idx on raw.payments (file_id);
