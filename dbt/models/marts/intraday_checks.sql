{{ config(materialized='view') }}
-- One row per registry account and cut-off (tier 2, every 30 minutes). Written
-- cut-off by cut-off by deltran.recon.tiers (each run replaces its cut-off);
-- a view here so the mart is always current without a rebuild.
select
    cutoff_at, account_id, as_of, business_date, currency, bank_source, anchor_type, anchor_at, anchor_balance,
    notified_credits, notified_debits, notified_entries, bank_balance, ledger_balance, ledger_postings,
    difference, difference_pct, under_backing_pct, previous_cutoff_at, drift, day_max_abs_difference, level
from {{ source('tiers', 'intraday_checks') }}
