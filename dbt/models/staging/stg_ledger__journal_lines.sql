-- One row per ledger journal line (entry_id). A later export of the same entry
-- supersedes an earlier one, so a corrected re-export never double counts.
-- The later export is looked up (not exists), not ranked by a window over every
-- version: a filter on the view (a daily run's booking dates) then reaches
-- raw.ledger_lines and its index on the booking date, where a window over
-- entry_id would read the whole history first.
select
    entry_id                                          as ledger_entry_id,
    journal_id,
    account                                           as account_id,
    amount,
    currency,
    side,
    case side when 'D' then amount else -amount end   as signed_amount,
    -- the EMI account is an asset: a debit is money arriving at the bank (CRDT)
    case side when 'D' then 'CRDT' else 'DBIT' end    as bank_direction,
    booked_at,
    (booked_at at time zone 'UTC')::date               as booking_date,
    value_date,
    kind,
    lower(nullif(uetr, ''))                           as uetr,
    nullif(nullif(end_to_end_id, ''), 'NOTPROVIDED')  as end_to_end_id,
    nullif(bank_reference, '')                        as bank_reference,
    description,
    nullif(counterparty_name, '')                     as counterparty_name,
    -- structured creditor reference (RF...), written as printed or not: no spaces, upper case
    nullif(upper(replace(creditor_reference, ' ', '')), '') as creditor_reference,
    file_id
from {{ source('raw', 'ledger_lines') }} as l
where not exists (
        select 1 from {{ source('raw', 'ledger_lines') }} as later
        where later.entry_id = l.entry_id and (later.file_id, later.line_number) > (l.file_id, l.line_number)
    )
