-- Invariant: every ledger journal balances per currency (debits = credits).
-- Returns the journals that do not. A daily run tests the journals it may have
-- changed (a line booked on or after its restate_from, macros/daily_partition.sql);
-- a build of every date tests them all.
-- depends_on: {{ source('raw', 'ledger_lines') }}
{% set earliest = test_restate_from() %}
with lines as (
    {{ journal_lines_to_check(earliest) }}
)

select journal_id, currency, sum(signed_amount) as imbalance
from lines
group by journal_id, currency
having sum(signed_amount) <> 0
