{{ config(materialized='table', indexes=[{'columns': ['own_window_closing']}]) }}
-- One row per interbank obligation to clear: debtor agent owes creditor agent.
-- A pacs.008 transfer is an obligation unless a pacs.002 rejected it (RJCT);
-- a pacs.004 return is a new obligation the other way, linked to its original.
-- own_window_closing is the clearing window its acceptance time falls in: the
-- window closing at T takes (T - 6h, T], at 00, 06, 12 and 18 UTC (macro
-- clearing_window_closing; tests/test_clearing_windows_sql.py holds it together
-- with deltran.clearing.windows.window_closing).
with rejected as (
    select original_uetr, original_message_id, original_end_to_end_id, original_tx_id
    from {{ ref('stg_payments__status_reports') }}
    where status = 'RJCT'
),

transfers as (
    select t.*
    from {{ ref('stg_payments__interbank_transfers') }} as t
    where t.uetr is null or t.uetr not in (select original_uetr from rejected where original_uetr is not null)
),

live_transfers as (
    select t.*
    from transfers as t
    left join rejected as r
        on r.original_uetr is null
        and r.original_message_id = t.message_id
        and (r.original_end_to_end_id = t.end_to_end_id or r.original_tx_id = t.tx_id)
    where r.original_message_id is null
),

returns as (
    select
        r.return_key,
        r.returned_amount,
        r.currency,
        coalesce(r.created_at, r.settlement_date::timestamptz) as accepted_at,
        r.received_at,
        t.transfer_id as original_transfer_id,
        -- the return flows back (the original creditor's agent pays the debtor's), between
        -- its own participants where the pacs.004 names them (RtrChain, else OrgnlTxRef),
        -- else the original transfer's, else the return's instructing and instructed agents
        coalesce(r.debtor_agent_id, t.creditor_agent_id, t.creditor_agent_bic, r.instructing_agent_id) as debtor_bic,
        coalesce(r.creditor_agent_id, t.debtor_agent_id, t.debtor_agent_bic, r.instructed_agent_id)    as creditor_bic
    from {{ ref('stg_payments__returns') }} as r
    left join {{ ref('stg_payments__interbank_transfers') }} as t
        on t.uetr = r.original_uetr
        or (
            r.original_uetr is null
            and t.end_to_end_id = r.original_end_to_end_id
            and t.message_id = r.original_message_id
        )
),

obligations as (
    select
        transfer_id          as obligation_id,
        'transfer'::text     as obligation_kind,
        -- debtor_bic/creditor_bic hold the participant key: the BIC, or for a bank
        -- without one its clearing-system member id ('USABA:021000021') or LEI
        coalesce(debtor_agent_id, debtor_agent_bic)     as debtor_bic,
        coalesce(creditor_agent_id, creditor_agent_bic) as creditor_bic,
        currency,
        amount,
        accepted_at,
        received_at,
        null::text           as original_transfer_id
    from live_transfers
    union all
    select
        return_key,
        'return',
        debtor_bic,
        creditor_bic,
        currency,
        returned_amount,
        accepted_at,
        received_at,
        original_transfer_id
    from returns
)

select
    *,
    {{ clearing_window_closing('accepted_at') }} as own_window_closing,
    -- without both participants (or paying itself) an obligation cannot be netted:
    -- kept and counted, never silently dropped
    (debtor_bic is not null and creditor_bic is not null and debtor_bic <> creditor_bic) as is_clearable
from obligations
