{{ config(materialized='view') }}
-- One row per notified entry (or batch detail) of a camt.054 file, and the
-- ledger posting it matched at once (tier 1), if any.
select
    file_id, statement_id, entry_index, detail_index, account_id, amount, currency, credit_debit, booked_at,
    acct_svcr_ref, uetr, end_to_end_id, ledger_entry_id, matched_on
from {{ source('tiers', 'notification_entries') }}
