-- Invariant: a settled pair (every matching row but the unsettled ones,
-- macros/restated_marts.sql) adds zero to bank - ledger: its bank share and its
-- posting are the same signed amount. account_reconciliation's daily run leaves
-- such pairs out when both sides are booked before its first date, so this is
-- what makes its figures a full build's. Returns the pairs that break it. A
-- daily run tests the pairs booked on either side from its restate_from on
-- (macros/daily_partition.sql), by index; a build of every date tests them all.
{% set earliest = test_restate_from() %}
select
    m.match_id,
    m.matched_on,
    m.bank_allocated_signed_amount,
    m.ledger_signed_amount
from {{ ref('int_bank_entries_matched_to_ledger') }} as m
where not {{ unsettled_match('m.') }}
    and m.bank_allocated_signed_amount is distinct from m.ledger_signed_amount
    {%- if earliest is not none %}
        and (m.bank_booking_date >= '{{ earliest }}'::date or m.ledger_booking_date >= '{{ earliest }}'::date)
    {%- endif %}
