{{ config(tags=['clearing']) }}
-- Invariant: per clearing window and currency, net positions sum to exactly zero.
select window_closing, currency, sum(net_amount) as total
from {{ ref('clearing_positions') }}
group by window_closing, currency
having sum(net_amount) <> 0
