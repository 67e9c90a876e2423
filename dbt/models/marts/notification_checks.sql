{{ config(materialized='view') }}
-- One row per camt.054 file and registry account it touches (tier 1). Written
-- file by file by deltran.recon.tiers (each run replaces its file's rows).
select
    file_id, account_id, cutoff_at, as_of, business_date, currency, anchor_type, anchor_at, anchor_balance,
    notified_credits, notified_debits, notified_entries, bank_balance, ledger_balance, difference,
    difference_pct, under_backing_pct, file_entries, file_matched, level
from {{ source('tiers', 'notification_checks') }}
