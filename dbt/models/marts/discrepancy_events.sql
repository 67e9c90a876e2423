-- One row per change of a discrepancy's case, as recorded (append-only) in
-- control.discrepancy_case_events; a view, so a change is readable at once.
{{ config(materialized='view') }}

select
    e.event_id,
    e.discrepancy_id,
    d.account_id,
    d.discrepancy_type,
    e.from_state,
    e.to_state,
    e.owner,
    e.note,
    e.actor,
    e.at as changed_at
from {{ source('control', 'discrepancy_case_events') }} as e
left join {{ ref('discrepancies') }} as d on d.discrepancy_id = e.discrepancy_id
