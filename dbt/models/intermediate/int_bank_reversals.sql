-- One row per bank reversal (RvslInd) and the booking it cancels: an earlier
-- booking of the same transaction in the other direction and for the same
-- amount, the latest copy first, so reversing a duplicate leaves the original
-- to match the ledger. Both take no part in matching (they are 'reversed').
with bank_all as (
    select * from {{ ref('int_bank_movements_numbered') }}
),

reversal_candidates as (
    select
        r.bank_entry_id as reversal_id,
        o.bank_entry_id as reversed_id,
        row_number()
            over (partition by r.bank_entry_id order by o.copy_number desc, o.booking_date desc, o.bank_entry_id asc)
            as reversal_rank,
        row_number() over (partition by o.bank_entry_id order by r.booking_date, r.bank_entry_id) as reversed_rank
    from bank_all as r
    inner join bank_all as o
        on o.account_id = r.account_id
        and o.currency = r.currency
        and o.credit_debit <> r.credit_debit
        and o.amount = r.amount
        and coalesce(o.uetr, o.end_to_end_id, o.acct_svcr_ref) = coalesce(r.uetr, r.end_to_end_id, r.acct_svcr_ref)
        and o.booking_date <= r.booking_date
        and not o.is_reversal
    where r.is_reversal
)

select reversal_id, reversed_id
from reversal_candidates
where reversal_rank = 1 and reversed_rank = 1
