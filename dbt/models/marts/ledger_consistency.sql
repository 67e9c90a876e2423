-- One row per ledger journal and currency that does not balance (debits <>
-- credits): what the reconciliation cannot trust. Empty when the ledger is
-- consistent. (The data test assert_journals_balance fails the build on the
-- same rows; this mart keeps them for people to read.)
-- Incremental: a daily run rebuilds only the journals with a line booked on or
-- after its restate_from (each with all its lines), after its pre-hook deletes
-- their rows; nothing loaded since the last build can change another journal
-- (macros/daily_partition.sql). A first build or --full-refresh reads them all.
-- depends_on: {{ source('raw', 'ledger_lines') }}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_restated_journals() }}") }}
{% set earliest = restate_from() %}

with lines as (
    {{ journal_lines_to_check(earliest) }}
)

select
    journal_id,
    currency,
    min(booking_date)                                 as business_date,
    count(*)                                          as line_count,
    sum(amount) filter (where side = 'D')             as debits,
    sum(amount) filter (where side = 'C')             as credits,
    sum(signed_amount)                                as imbalance,
    array_agg(distinct account_id order by account_id) as accounts
from lines
group by journal_id, currency
having sum(signed_amount) <> 0
