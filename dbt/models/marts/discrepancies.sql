-- One row per break between the bank and the ledger: a balance difference
-- beyond the OK band (BalanceMismatch), a movement on one side only
-- (MissingTxn), a transaction twice on one side (DuplicateTxn), or matched ids
-- with different amounts (AmountMismatch). Postings still in flight are listed
-- with state 'expected' and is_expected: they are not breaks until they age.
-- A BalanceMismatch is only the part of the balance difference that no
-- movement explains (account_reconciliation.unexplained_difference), so a break
-- is never counted twice. Each break carries its age against the account's
-- latest statement (never now(): a rebuild gives the same rows).
-- Owner, state and resolution note come from the case a person keeps
-- (`deltran exceptions ...`, control.discrepancy_cases). A view: it reads the
-- case as it is now, so a person's change shows here at once, not after the
-- next dbt run (its inputs are tables, so reading it stays cheap).
-- Severities follow the one threshold rule (macros/threshold_level.sql): a
-- BalanceMismatch is the band of its unexplained difference (the account's own
-- level when nothing explains any of it); an item the band of its amount,
-- both against the account's base (ledger, else bank).
{{ config(materialized='view') }}

with recon as (
    select * from {{ ref('account_reconciliation') }}
),

balance_breaks as (
    select
        'BalanceMismatch'::text  as discrepancy_type,
        null::text               as side,
        account_id,
        currency,
        business_date,
        bank_closing_balance     as bank_amount,
        ledger_balance           as ledger_amount,
        unexplained_difference   as difference,
        {{ threshold_level_of('unexplained_difference', threshold_base('bank_closing_balance', 'ledger_balance')) }}
            as severity,
        false                    as is_expected,
        null::text as uetr, null::text as end_to_end_id, null::text as acct_svcr_ref,
        null::text as bank_entry_id, null::text as ledger_entry_id, statement_id, null::text as journal_id,
        null::text as bank_movement_key
    from recon
    -- within the OK band the difference is no break (DOMAIN.md: OK, no action)
    where unexplained_difference <> 0
        and {{ threshold_level_of('unexplained_difference', threshold_base('bank_closing_balance', 'ledger_balance')) }}
        <> 'OK'
),

item_breaks as (
    select
        case match_status
            when 'amount_mismatch' then 'AmountMismatch'
            when 'bank_only' then 'MissingTxn'
            when 'ledger_only' then 'MissingTxn'
            else 'DuplicateTxn'
        end                                                      as discrepancy_type,
        case when match_status in ('bank_only', 'duplicate_bank') then 'bank'
            when match_status in ('ledger_only', 'duplicate_ledger') then 'ledger'
        end                                                      as side,
        m.account_id,
        m.currency,
        m.business_date,
        m.bank_amount,
        m.ledger_amount,
        coalesce(m.bank_signed_amount, 0) - coalesce(m.ledger_signed_amount, 0) as difference,
        m.is_expected,
        m.uetr, m.end_to_end_id, m.acct_svcr_ref, m.bank_entry_id, m.ledger_entry_id, m.statement_id, m.journal_id,
        m.bank_movement_key
    from {{ ref('int_bank_entries_matched_to_ledger') }} as m
    -- a reversed pair cancels out; a suggested match waits for a person (transaction_matches)
    where m.match_status not in ('matched', 'reversed', 'suggested')
),

item_severity as (
    -- an item's severity is the band of its own amount against the account's
    -- base (ledger, else bank); a break is at least Minor, and money the ledger shows
    -- but the bank does not (under-backing) beyond the OK band is Critical
    select
        i.*,
        {{ threshold_level_of('i.difference', threshold_base('r.bank_closing_balance', 'r.ledger_balance')) }}
            as item_level
    from item_breaks as i
    left join recon as r on r.account_id = i.account_id and r.business_date = i.business_date
),

items as (
    select
        discrepancy_type, side, account_id, currency, business_date, bank_amount, ledger_amount, difference,
        case when item_level = 'OK' then 'Minor' else item_level end as severity,
        is_expected, uetr, end_to_end_id, acct_svcr_ref, bank_entry_id, ledger_entry_id, statement_id, journal_id,
        bank_movement_key
    from item_severity
),

all_breaks as (
    select * from balance_breaks
    union all
    select * from items
),

keyed as (
    -- what the break is: its type, account, side and the transaction's
    -- identity (UETR, else EndToEndId, else the bank's reference, else the
    -- movement itself), or the business date for a balance; never the file
    -- that delivered it, so a re-sent statement keeps every case attached.
    -- A bank movement without references is named by its content key
    -- (bank_movement_key: account, amount, direction, booking date, NtryRef,
    -- and the ordinal among identical twins), not by bank_entry_id, which is
    -- its position in the statement and moves when the bank re-orders it.
    select
        *,
        case when discrepancy_type = 'BalanceMismatch' then 'balance:' || business_date::text
            else coalesce(
                    'uetr:' || uetr, 'e2e:' || end_to_end_id, 'ref:' || acct_svcr_ref,
                    'movement:' || bank_movement_key, 'ledger:' || ledger_entry_id
                )
        end as break_key
    from all_breaks
),

as_of as (
    select account_id as as_of_account_id, max(business_date) as latest_statement_date from recon group by account_id
),

identified as (
    select
        md5(concat_ws('|', discrepancy_type, account_id, coalesce(side, '-'), break_key,
        -- the n-th break of the same kind on the same transaction (copies)
        row_number() over (
            partition by discrepancy_type, account_id, side, break_key
            order by business_date, bank_movement_key, ledger_entry_id
        ))) as discrepancy_id,
        *
    from keyed
)

select
    b.discrepancy_id,
    discrepancy_type,
    side,
    account_id,
    currency,
    business_date,
    bank_amount,
    ledger_amount,
    difference,
    severity,
    coalesce(c.state, case when is_expected then 'expected' else 'open' end) as state,
    coalesce(c.owner, 'operations')                                         as owner,
    c.resolution_note,
    c.updated_at                                                            as state_updated_at,
    is_expected,
    uetr,
    end_to_end_id,
    acct_svcr_ref,
    bank_entry_id,
    ledger_entry_id,
    statement_id,
    journal_id,
    -- where the lone movement is missing from (the other side of `side`)
    case discrepancy_type when 'MissingTxn' then case side when 'bank' then 'ledger' else 'bank' end end
        as missing_from,
    greatest(coalesce(a.latest_statement_date, b.business_date) - b.business_date, 0)      as age_days,
    case
        when coalesce(a.latest_statement_date, b.business_date) - b.business_date <= 1 then '0-1'
        when coalesce(a.latest_statement_date, b.business_date) - b.business_date <= 7 then '2-7'
        when coalesce(a.latest_statement_date, b.business_date) - b.business_date <= 30 then '8-30'
        else '>30'
    end                                                                                    as ageing_bucket
from identified as b
left join {{ source('control', 'discrepancy_cases') }} as c on c.discrepancy_id = b.discrepancy_id
left join as_of as a on a.as_of_account_id = b.account_id
