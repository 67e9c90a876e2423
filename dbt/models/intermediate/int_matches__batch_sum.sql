-- depends_on: {{ ref('int_matching_scope') }}
{{ config(pre_hook="set local enable_nestloop = off") }}
-- The anti-joins below run against CTEs the planner cannot count: a nested
-- loop over them is quadratic, so this model's transaction plans without one.
-- Matching pass 2b (batch sum, one to many). One row per (bank entry, ledger
-- posting) pair where a batch-booked entry WITHOUT transaction details equals
-- the sum of a set of at least two postings on the same account, currency and
-- direction, every one within the value-date tolerance, the set linked by
-- the bank's reference (the postings' bank_reference = the entry's AcctSvcrRef
-- or NtryRef, e.g. a batch or payment-information id) or, for postings without
-- a bank reference, by being one journal. Only unambiguous sets pair: the
-- entry has exactly one such set and the set fits exactly one entry.
-- A daily run reads only int_matching_scope's items: every item the
-- references pass leaves is one (why: int_matching_scope), the history's are not.
{% set tolerance = var('value_date_tolerance_days') | int %}

with paired as (
    select bank_entry_id, ledger_entry_id from {{ ref('int_matches__references') }}
),

bank as (
    select b.*
    from {{ ref('int_bank_movements_numbered') }} as b
    where b.copy_number = 1
        and b.detail_count = 0
        and {{ in_matching_scope('bank', 'b.bank_entry_id') }}
        and not exists (select 1 from paired as p where p.bank_entry_id = b.bank_entry_id)
        -- two anti-joins, not one with IN (a, b): each can hash
        and not exists (select 1 from {{ ref('int_bank_reversals') }} as r where r.reversal_id = b.bank_entry_id)
        and not exists (select 1 from {{ ref('int_bank_reversals') }} as r where r.reversed_id = b.bank_entry_id)
),

ledger as (
    select l.*
    from {{ ref('int_ledger_postings_numbered') }} as l
    where l.copy_number = 1
        and {{ in_matching_scope('ledger', 'l.ledger_entry_id') }}
        and not exists (select 1 from paired as p where p.ledger_entry_id = l.ledger_entry_id)
),

-- the postings grouped by what links them: their bank reference, else their journal
grouped as (
    select
        account_id,
        currency,
        bank_direction,
        case when bank_reference is null then 'journal' else 'reference' end as link,
        coalesce(bank_reference, journal_id)                              as link_key,
        sum(amount)                                                       as total,
        count(*)                                                          as postings,
        min(effective_value_date)                                         as first_value_date,
        max(effective_value_date)                                         as last_value_date
    from ledger
    group by 1, 2, 3, 4, 5
    having count(*) >= 2
),

candidates as (
    select b.bank_entry_id, g.account_id, g.currency, g.bank_direction, g.link, g.link_key
    from bank as b
    inner join grouped as g
        on g.account_id = b.account_id
        and g.currency = b.currency
        and g.bank_direction = b.credit_debit
        and g.total = b.amount
        and (
            (g.link = 'reference' and g.link_key in (b.acct_svcr_ref, b.entry_ref))
            or g.link = 'journal'
        )
    where b.effective_value_date - g.first_value_date <= {{ tolerance }}
        and g.last_value_date - b.effective_value_date <= {{ tolerance }}
),

unambiguous as (
    select *
    from (
        select
            *,
            count(*) over (partition by bank_entry_id)                                           as sets_for_entry,
            count(*) over (partition by account_id, currency, bank_direction, link, link_key)    as entries_for_set
        from candidates
    ) as c
    where sets_for_entry = 1 and entries_for_set = 1
)

select
    u.bank_entry_id,
    l.ledger_entry_id,
    'batch_sum'::text   as matched_on,
    'batch_sum'::text   as match_pass,
    'confirmed'::text   as match_status,
    0::numeric          as amount_difference
from unambiguous as u
inner join ledger as l
    on l.account_id = u.account_id
    and l.currency = u.currency
    and l.bank_direction = u.bank_direction
    and coalesce(l.bank_reference, l.journal_id) = u.link_key
    and (l.bank_reference is null) = (u.link = 'journal')
