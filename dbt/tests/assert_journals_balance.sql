-- Invariant: every ledger journal balances per currency (debits = credits).
-- Returns the journals that do not.
select journal_id, currency, sum(signed_amount) as imbalance
from {{ ref('stg_ledger__journal_lines') }}
group by journal_id, currency
having sum(signed_amount) <> 0
