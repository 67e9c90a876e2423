-- One row per participant, clearing window and currency: what it paid, what it
-- received, and its multilateral net position (received - paid).
select
    window_closing,
    currency,
    participant,
    paid_amount,
    received_amount,
    net_amount,
    net_amount < 0 as is_net_payer
from {{ source('clearing', 'positions') }}
