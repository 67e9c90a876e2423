-- One row per ledger journal and currency that does not balance (debits <>
-- credits): what the reconciliation cannot trust. Empty when the ledger is
-- consistent. (The data test assert_journals_balance fails the build on the
-- same rows; this mart keeps them for people to read.)
select
    journal_id,
    currency,
    min(booking_date)                                 as business_date,
    count(*)                                          as line_count,
    sum(amount) filter (where side = 'D')             as debits,
    sum(amount) filter (where side = 'C')             as credits,
    sum(signed_amount)                                as imbalance,
    array_agg(distinct account_id order by account_id) as accounts
from {{ ref('stg_ledger__journal_lines') }}
group by journal_id, currency
having sum(signed_amount) <> 0
