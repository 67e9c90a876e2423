-- depends_on: {{ ref('int_matching_scope') }}
{{ config(pre_hook="set local enable_nestloop = off") }}
-- The anti-joins below run against CTEs the planner cannot count: a nested
-- loop over them is quadratic, so this model's transaction plans without one.
-- Matching pass 3 (no shared reference). One row per (bank movement, ledger
-- posting) pair that passes 1 and 2 left, on the same account, currency and
-- direction, value dates within the tolerance, amounts within the amount
-- tolerance (0 by default: equal), the same counterparty name where both sides
-- have one, and the same structured creditor reference (RF..., the bank's
-- Strd/CdtrRefInf/Ref) where both sides have one, when it is the ONLY candidate
-- on both sides. Ambiguous candidates are never paired. A pair is 'suggested'
-- until a person confirms it (`deltran matches confirm`, control.match_decisions)
-- or the platform is set to auto-confirm; a rejected pair is never suggested again. A person may also
-- pair two lone items by hand (`deltran matches pair`): matched_on 'manual',
-- taken before the suggestions, so neither side is suggested elsewhere.
-- A daily run reads only int_matching_scope's items: every item the
-- references pass leaves is one (why: int_matching_scope), the history's are not.
{% set tolerance = var('value_date_tolerance_days') | int %}
{% set amount_tolerance = var('amount_tolerance') %}
{% set auto_confirm = var('auto_confirm_suggested') | string | lower in ('true', '1', 'yes') %}

with paired as (
    select bank_entry_id, ledger_entry_id from {{ ref('int_matches__references') }}
    union all
    select bank_entry_id, ledger_entry_id from {{ ref('int_matches__batch_sum') }}
),

-- by the movement's content key, so a decision survives the statement delivered again
decisions as (
    select distinct on (bank_movement_key, ledger_entry_id) bank_movement_key, ledger_entry_id, decision
    from {{ source('control', 'match_decisions') }}
    where bank_movement_key is not null
    order by bank_movement_key asc, ledger_entry_id asc, decided_at desc, decision_id desc
),

-- only the columns the pass uses (narrow rows sort and hash cheaply)
bank as (
    select
        b.bank_entry_id, b.bank_movement_key, b.account_id, b.currency, b.credit_debit, b.amount,
        b.effective_value_date, b.counterparty_name, b.creditor_reference
    from {{ ref('int_bank_movements_numbered') }} as b
    where b.copy_number = 1
        and {{ in_matching_scope('bank', 'b.bank_entry_id') }}
        and not exists (select 1 from paired as p where p.bank_entry_id = b.bank_entry_id)
        -- two anti-joins, not one with IN (a, b): each can hash
        and not exists (select 1 from {{ ref('int_bank_reversals') }} as r where r.reversal_id = b.bank_entry_id)
        and not exists (select 1 from {{ ref('int_bank_reversals') }} as r where r.reversed_id = b.bank_entry_id)
),

ledger as (
    select
        l.ledger_entry_id, l.account_id, l.currency, l.bank_direction, l.amount, l.effective_value_date,
        l.counterparty_name, l.creditor_reference
    from {{ ref('int_ledger_postings_numbered') }} as l
    where l.copy_number = 1
        and {{ in_matching_scope('ledger', 'l.ledger_entry_id') }}
        and not exists (select 1 from paired as p where p.ledger_entry_id = l.ledger_entry_id)
),

-- pairs a person made by hand, each side in one such pair only
manual as (
    select
        * from (
        select
            b.bank_entry_id,
            l.ledger_entry_id,
            b.amount - l.amount as amount_difference,
            count(*) over (partition by b.bank_entry_id)   as bank_pairs,
            count(*) over (partition by l.ledger_entry_id) as ledger_pairs
        from decisions as d
        inner join bank as b on b.bank_movement_key = d.bank_movement_key
        inner join ledger as l
            on l.ledger_entry_id = d.ledger_entry_id and l.account_id = b.account_id and l.currency = b.currency
        where d.decision = 'pair'
    ) as m
    where bank_pairs = 1 and ledger_pairs = 1
),

candidates as (
    select
        b.bank_entry_id,
        b.bank_movement_key,
        l.ledger_entry_id,
        b.amount - l.amount as amount_difference,
        count(*) over (partition by b.bank_entry_id)   as bank_candidates,
        count(*) over (partition by l.ledger_entry_id) as ledger_candidates
    from bank as b
    inner join ledger as l
        on l.account_id = b.account_id
        and l.currency = b.currency
        and l.bank_direction = b.credit_debit
        {% if amount_tolerance | float == 0 %}
            and l.amount = b.amount
        {% else %}
        and l.amount between b.amount - {{ amount_tolerance }} and b.amount + {{ amount_tolerance }}
        {% endif %}
    where abs(b.effective_value_date - l.effective_value_date) <= {{ tolerance }}
        and (
            b.counterparty_name is null or l.counterparty_name is null
            or lower(b.counterparty_name) = lower(l.counterparty_name)
        )
        and (
            b.creditor_reference is null or l.creditor_reference is null
            or b.creditor_reference = l.creditor_reference
        )
        and not exists (
            select 1 from decisions as d
            where d.bank_movement_key = b.bank_movement_key and d.ledger_entry_id = l.ledger_entry_id
                and d.decision = 'reject'
        )
        and not exists (select 1 from manual as m where m.bank_entry_id = b.bank_entry_id)
        and not exists (select 1 from manual as m where m.ledger_entry_id = l.ledger_entry_id)
)

select
    c.bank_entry_id,
    c.ledger_entry_id,
    'amount_date'::text  as matched_on,
    'suggested'::text    as match_pass,
    case
        when d.decision = 'confirm' {% if auto_confirm %}or true{% endif %} then 'confirmed'
        else 'suggested'
    end                  as match_status,
    c.amount_difference
from candidates as c
left join decisions as d
    on d.bank_movement_key = c.bank_movement_key and d.ledger_entry_id = c.ledger_entry_id
where c.bank_candidates = 1 and c.ledger_candidates = 1

union all

select bank_entry_id, ledger_entry_id, 'manual', 'manual', 'confirmed', amount_difference
from manual
