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

create table if not exists raw.quarantined_files (
    sha256          text primary key,
    file_name       text not null,
    error           text not null,
    quarantine_path text not null,
    quarantined_at  timestamptz not null default now()
);

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
    summary_debit_sum    numeric
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
    date_time    timestamptz
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
    detail_count      integer not null,
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

create index if not exists bank_entries_file_idx on raw.bank_entries (file_id);
create index if not exists ledger_lines_file_idx on raw.ledger_lines (file_id);
create index if not exists payments_file_idx on raw.payments (file_id);
