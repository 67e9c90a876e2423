-- Incremental by the reversal's booking date (macros/daily_partition.sql): a
-- daily run pairs again the reversals booked on or after the earliest date its
-- files touch; the pre-hook deletes every pair whose reversal is not among the
-- movements kept before that date (int_bank_movements_numbered, rebuilt first).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_restated_by('reversal_id', ref('int_bank_movements_numbered'), 'bank_entry_id', 'booking_date') }}",
) }}
-- One row per bank reversal (RvslInd) and the booking it cancels: an earlier
-- booking of the same transaction in the other direction and for the same
-- amount, the latest copy first, so reversing a duplicate leaves the original
-- to match the ledger. Both take no part in matching (they are 'reversed').
-- A booking cancelled by several reversals goes to the earliest one only; a
-- reversal whose choice an earlier reversal may take cancels nothing.
--
-- A daily run gives what a full build gives: a pair depends on the movements
-- booked up to its reversal's date, and on the reversals booked before it
-- (earliest_claims reads those of every date), never on a later one, so the
-- pairs of reversals booked before the restated date stay as they are.
with reversals as (
    select
        *,
        coalesce(uetr, end_to_end_id, acct_svcr_ref) as reversal_key
    from {{ ref('int_bank_movements_numbered') }}
    where is_reversal
),

candidates as (
    -- each reversal to pair (every one in a whole build) and the bookings it may cancel
    select
        r.bank_entry_id as reversal_id,
        o.bank_entry_id as reversed_id,
        row_number()
            over (partition by r.bank_entry_id order by o.copy_number desc, o.booking_date desc, o.bank_entry_id asc)
            as reversal_rank
    from reversals as r
    inner join {{ ref('int_bank_movements_numbered') }} as o
        on o.account_id = r.account_id
        and o.currency = r.currency
        and o.credit_debit <> r.credit_debit
        and o.amount = r.amount
        and coalesce(o.uetr, o.end_to_end_id, o.acct_svcr_ref) = r.reversal_key
        and o.booking_date <= r.booking_date
        and not o.is_reversal
    where {{ on_or_after_restated('r.booking_date') }}
),

chosen as (
    select reversal_id, reversed_id from candidates where reversal_rank = 1
),

earliest_claims as (
    -- the first reversal, of any date, that may cancel each booking chosen
    select distinct on (o.bank_entry_id)
        o.bank_entry_id as reversed_id,
        r.bank_entry_id as reversal_id
    from {{ ref('int_bank_movements_numbered') }} as o
    inner join reversals as r
        on r.account_id = o.account_id
        and r.currency = o.currency
        and r.credit_debit <> o.credit_debit
        and r.amount = o.amount
        and r.reversal_key = coalesce(o.uetr, o.end_to_end_id, o.acct_svcr_ref)
        and r.booking_date >= o.booking_date
    where o.bank_entry_id in (select reversed_id from chosen)
    order by o.bank_entry_id asc, r.booking_date asc, r.bank_entry_id asc
)

select c.reversal_id, c.reversed_id
from chosen as c
inner join earliest_claims as e on e.reversed_id = c.reversed_id and e.reversal_id = c.reversal_id
