{{ config(tags=['clearing']) }}
-- Invariant: the instructions settle every net position exactly: for each
-- participant, received by instruction - paid by instruction = its net position.
with moved as (
    select window_closing, currency, payee as participant, amount from {{ ref('settlement_instructions') }}
    union all
    select window_closing, currency, payer, -amount from {{ ref('settlement_instructions') }}
),

settled as (
    select window_closing, currency, participant, sum(amount) as settled_amount
    from moved
    group by window_closing, currency, participant
)

select p.window_closing, p.currency, p.participant, p.net_amount, coalesce(s.settled_amount, 0) as settled_amount
from {{ ref('clearing_positions') }} as p
full outer join settled as s
    on s.window_closing = p.window_closing and s.currency = p.currency and s.participant = p.participant
where coalesce(p.net_amount, 0) <> coalesce(s.settled_amount, 0)
