-- One row per account: may it be paid out now, why not, since when.
-- A view over the control state (the payout gate, breakers, suspensions), so it
-- is current the moment a check, a reset or a resume changes that state, with no
-- dbt run between. Accounts of the registry that no check has seen yet are
-- listed as not allowed (the gate does not know them: fail closed).
{{ config(materialized='view') }}

with registry as (
    select account_id, currency::text as currency, servicing_bank_bic
    from {{ ref('account_registry') }}
),

known as (
    select account_id from registry
    union
    select account_id from {{ source('control', 'circuit_breakers') }} where account_id <> '*'
),

state as (
    select
        k.account_id,
        g.account_id is not null                        as is_known_to_gate,
        coalesce(g.payouts_allowed, false)              as payouts_allowed,
        g.reason                                        as gate_reason,
        g.checked_business_date,
        g.checked_at,
        b.state                                         as breaker_state,
        b.since                                         as breaker_since,
        coalesce(s.is_suspended, false)                 as is_suspended,
        s.since                                         as suspension_since,
        net.state                                       as network_state,
        net.since                                       as network_since,
        -- when the latest check grows too old for the gate (its horizon)
        (g.checked_business_date + 1)::timestamp at time zone 'UTC'
        + coalesce((select check_horizon from {{ source('control', 'payout_gate_settings') }}), interval '48 hours')
            as stale_at
    from known as k
    left join {{ source('control', 'payout_gate') }} as g on g.account_id = k.account_id
    left join {{ source('control', 'circuit_breakers') }} as b on b.account_id = k.account_id
    left join {{ source('control', 'payout_suspensions') }} as s on s.account_id = k.account_id
    left join {{ source('control', 'circuit_breakers') }} as net on net.account_id = '*'
)

select
    st.account_id,
    r.currency,
    r.servicing_bank_bic,
    st.payouts_allowed,
    case
        when not st.is_known_to_gate then 'unknown to the payout gate: no threshold check has seen it'
        else st.gate_reason
    end                                                 as why_not,
    -- allowed: since the last lift of any cause; halted: since its earliest cause still in force
    case
        when st.payouts_allowed then greatest(st.breaker_since, st.suspension_since, st.network_since)
        else least(
                case when st.network_state = 'open' then st.network_since end,
                case when st.breaker_state = 'open' then st.breaker_since end,
                case when st.is_suspended then st.suspension_since end,
                case when st.stale_at <= now() then st.stale_at end
            )
    end                                                 as since,
    coalesce(st.breaker_state, 'closed')                as breaker_state,
    st.is_suspended,
    coalesce(st.network_state, 'open') = 'open'         as is_network_halted,
    st.checked_business_date,
    st.checked_at
from state as st
left join registry as r on r.account_id = st.account_id
