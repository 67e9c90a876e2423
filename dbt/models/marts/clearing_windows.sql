-- One row per clearing window and currency: how much was owed (gross), how
-- much had to move (net), the netting efficiency 1 - net / gross, cycles,
-- late items and cap breaches.
select
    w.window_closing,
    w.window_closing - interval '{{ var("clearing_window_hours") }} hours' as window_opening,
    w.currency,
    w.obligation_count,
    w.late_count,
    w.participant_count,
    w.gross_amount,
    w.bilateral_net_amount,
    w.net_amount,
    -- a percentage with four decimals, as everywhere people read it (deltran.numbers)
    round(w.netting_efficiency * 100, 4)   as netting_efficiency_pct,
    round(w.bilateral_efficiency * 100, 4) as bilateral_efficiency_pct,
    w.cycle_component_count,
    w.simple_cycle_count,
    w.instruction_count,
    w.instruction_bound,
    w.cap_breach_count,
    w.is_settlement_held,
    w.pacs009_file,
    c.first_cleared_at,
    c.last_cleared_at
from {{ source('clearing', 'window_currencies') }} as w
inner join {{ source('clearing', 'windows') }} as c on c.window_closing = w.window_closing
