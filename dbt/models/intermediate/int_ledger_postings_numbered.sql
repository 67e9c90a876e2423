{{ config(pre_hook="set local enable_nestloop = off", post_hook='analyze {{ this }}',
          indexes=[{'columns': ['ledger_entry_id']}, {'columns': ['uetr']}, {'columns': ['end_to_end_id']}, {'columns': ['bank_reference']}, {'columns': ['booking_date']}]) }}
-- (The indexes: a daily run's references scope looks items up by id, reference
-- and date, int_matches__references_scope.)
-- (No nested loop: the staging views estimate a few rows where there are millions,
-- and a nested loop over them is quadratic: 1e8 comparisons at 100,000 entries.)
-- One row per ledger posting on an EMI account (an account with statements),
-- opening balances excluded, numbered within its transaction key and amount:
-- copy_number 2 and up are the same transaction posted again (instalments of
-- other amounts under one EndToEndId are not copies).
with emi_accounts as (
    select distinct account_id from {{ ref('int_bank_statements_daily') }}
)

select
    l.*,
    coalesce(l.value_date, l.booking_date) as effective_value_date,
    case when coalesce(l.uetr, l.end_to_end_id) is null then 1 else
            row_number() over (
                partition by l.account_id, l.currency, l.bank_direction, coalesce(l.uetr, l.end_to_end_id), l.amount
                order by l.booked_at, l.ledger_entry_id
            )
    end as copy_number
from {{ ref('stg_ledger__journal_lines') }} as l
inner join emi_accounts on emi_accounts.account_id = l.account_id
where l.kind <> 'opening'
