-- One row per (bank movement, ledger posting) pair the matching passes found:
-- confirmed (a shared reference, a batch by its details or its sum, or a
-- suggestion a person confirmed) or suggested (no shared reference, waiting
-- for `deltran matches confirm|reject`).
-- Incremental by the pair's business date (the bank side's booking date): a
-- daily run deletes and rebuilds the pairs dated on or after its restate_from
-- (pre-hook) and keeps those before it, which nothing loaded or decided since
-- the last build can change (deltran.recon.partitions, macros/daily_partition.sql).
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_restated_or_null('business_date') }}") }}
select
    m.match_id,
    m.account_id,
    m.business_date,
    m.currency,
    m.bank_entry_id,
    m.bank_entry_ref,
    m.bank_acct_svcr_ref,
    m.ledger_entry_id,
    m.matched_on,
    case when m.match_status = 'suggested' then 'suggested' else 'confirmed' end as match_status,
    m.amount_difference,
    m.bank_amount,
    m.ledger_amount,
    m.bank_direction,
    m.bank_value_date,
    m.ledger_value_date,
    m.uetr,
    m.end_to_end_id,
    m.journal_id
from {{ ref('int_bank_entries_matched_to_ledger') }} as m
where
    m.bank_entry_id is not null and m.ledger_entry_id is not null
    and {{ on_or_after_restated_or_null('m.business_date') }}
