-- One row per (bank movement, ledger posting) pair the matching passes found:
-- confirmed (a shared reference, a batch by its details or its sum, or a
-- suggestion a person confirmed) or suggested (no shared reference, waiting
-- for `deltran matches confirm|reject`).
select
    m.match_id,
    m.account_id,
    m.business_date,
    m.currency,
    m.bank_entry_id,
    m.bank_entry_ref,
    m.bank_acct_svcr_ref,
    m.ledger_entry_id,
    m.matched_on,
    case when m.match_status = 'suggested' then 'suggested' else 'confirmed' end as match_status,
    m.amount_difference,
    m.bank_amount,
    m.ledger_amount,
    m.bank_direction,
    m.bank_value_date,
    m.ledger_value_date,
    m.uetr,
    m.end_to_end_id,
    m.journal_id
from {{ ref('int_bank_entries_matched_to_ledger') }} as m
where m.bank_entry_id is not null and m.ledger_entry_id is not null
