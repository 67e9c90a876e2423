-- depends_on: {{ ref('int_matches__references_scope') }}
{#- each item is in one pair at most: the database holds it on every write -#}
{%- set keys = "{
        'bank_entry_id': {'columns': 'bank_entry_id', 'unique': true},
        'ledger_entry_id': {'columns': 'ledger_entry_id', 'unique': true},
    }" -%}
{{ config(materialized='incremental', incremental_strategy='rescope', on_schema_change='fail',
          unique_key='bank_entry_id', meta={'rescoped_by': 'int_matches__references_scope'},
          pre_hook=["set local enable_nestloop = off", "set local enable_mergejoin = off",
                    "{{ lookup_indexes(" ~ keys ~ ") }}"],
          post_hook=["{% if not is_incremental() %}analyze {{ this }}{% endif %}",
                     {"sql": "{{ lookup_indexes(" ~ keys ~ ", after_build=true) }}", "transaction": false}]) }}
-- Incremental: a daily run decides again only the items of
-- int_matches__references_scope (the components its new rows reach; why that
-- is exact is written there) and keeps every other pair; without a daily run's
-- dates (a build of every date) it decides everything. Analyzed when built
-- whole: a daily run changes a few days' pairs, autovacuum's statistics stay
-- good, and analyzing the whole table on every run grew with the history
-- (0.1 s at 30 demo days).
-- The anti-joins below run against CTEs the planner cannot count: a nested
-- loop over them is quadratic, so this model's transaction plans without one.
-- Nor with merge joins: each of the six steps then sorts every movement and
-- posting on text keys (the CTEs look like one row to the planner), and those
-- sorts grew with the history (30 demo days: 16.9 s with them, 4.4 s with hash
-- joins, the same rows; make bench-history prints each model's time).
-- Matching pass 1 (references) and 2a (batch details). One row per (bank
-- movement, ledger posting) pair that shares a reference: UETR, else
-- EndToEndId, else the bank's reference (AcctSvcrRef = the ledger's
-- bank_reference), on the same account, currency and direction with value
-- dates within the tolerance. Each TxDtls of a batch-booked entry is its own
-- movement, so it matches on its own references (matched_on batch_details).
--
-- Steps, each only over what earlier steps left (bank_open_n, ledger_open_n: the
-- first step pairs most items, so the later ones join the rest, not everything):
--   a. per key in priority order, equal amounts, mutual nearest value date:
--      instalments (one EndToEndId, several amounts) pair by reference AND amount;
--   b. per key, different amounts where the pair is the only candidate on both
--      sides: an amount mismatch. A reference shared by several postings (a
--      batch booked as one entry) is not a mismatch: pass 2 sums it.
-- Second copies (copy_number > 1) and reversed bookings never match.
{% set tolerance = var('value_date_tolerance_days') | int %}
{% set keys = [
    ('uetr', 'uetr', 'uetr'),
    ('end_to_end_id', 'end_to_end_id', 'end_to_end_id'),
    ('acct_svcr_ref', 'acct_svcr_ref', 'bank_reference'),
] %}
{% set steps = [] %}
{% for key in keys %}{% do steps.append((key, true)) %}{% endfor %}
{% for key in keys %}{% do steps.append((key, false)) %}{% endfor %}

-- only the columns the steps use: each step sorts or hashes both sides, and
-- narrow rows make that several times cheaper at a million movements
with bank as (
    select
        b.bank_entry_id, b.account_id, b.currency, b.credit_debit, b.amount, b.effective_value_date,
        b.detail_count, b.uetr, b.end_to_end_id, b.acct_svcr_ref
    from {{ ref('int_bank_movements_numbered') }} as b
    where b.copy_number = 1
        and {{ scoped_to('int_matches__references_scope', 'bank', 'b.bank_entry_id') }}
        -- two anti-joins, not one with IN (a, b): each can hash
        and not exists (select 1 from {{ ref('int_bank_reversals') }} as r where r.reversal_id = b.bank_entry_id)
        and not exists (select 1 from {{ ref('int_bank_reversals') }} as r where r.reversed_id = b.bank_entry_id)
),

ledger as (
    select
        ledger_entry_id, account_id, currency, bank_direction, amount, effective_value_date,
        uetr, end_to_end_id, bank_reference
    from {{ ref('int_ledger_postings_numbered') }}
    where copy_number = 1
        and {{ scoped_to('int_matches__references_scope', 'ledger', 'ledger_entry_id') }}
),

-- The loop's CTEs stay at the top level, as dbt compiles them (sqlfluff would indent them under the tag).
-- noqa: disable=LT02
{% for (key, bank_col, ledger_col), exact in steps %}
{% set n = loop.index %}
{% set bank_open = 'bank' if loop.first else 'bank_open_' ~ n %}
{% set ledger_open = 'ledger' if loop.first else 'ledger_open_' ~ n %}
candidates_{{ n }} as (
    select
        b.bank_entry_id,
        l.ledger_entry_id,
        case when b.detail_count > 1 then 'batch_details' else '{{ key }}' end as matched_on,
        b.amount - l.amount as amount_difference,
        {% if exact %}
        row_number() over (
            partition by b.bank_entry_id
            order by abs(b.effective_value_date - l.effective_value_date), l.ledger_entry_id
        ) as bank_rank,
        row_number() over (
            partition by l.ledger_entry_id
            order by abs(b.effective_value_date - l.effective_value_date), b.bank_entry_id
        ) as ledger_rank
        {% else %}
        count(*) over (partition by b.bank_entry_id) as bank_rank,
        count(*) over (partition by l.ledger_entry_id) as ledger_rank
        {% endif %}
    from {{ bank_open }} as b
    inner join {{ ledger_open }} as l
        on l.account_id = b.account_id
        and l.currency = b.currency
        and l.bank_direction = b.credit_debit
        and l.{{ ledger_col }} = b.{{ bank_col }}
        {% if exact %}and l.amount = b.amount{% endif %}
    where abs(b.effective_value_date - l.effective_value_date) <= {{ tolerance }}
),

pairs_{{ n }} as (
    select bank_entry_id, ledger_entry_id, matched_on, amount_difference
    from candidates_{{ n }}
    where bank_rank = 1 and ledger_rank = 1
),
{% if not loop.last %}

-- what the steps so far left unpaired: the next step's items
bank_open_{{ n + 1 }} as (
    select b.* from {{ bank_open }} as b
    where not exists (select 1 from pairs_{{ n }} as p where p.bank_entry_id = b.bank_entry_id)
),

ledger_open_{{ n + 1 }} as (
    select l.* from {{ ledger_open }} as l
    where not exists (select 1 from pairs_{{ n }} as p where p.ledger_entry_id = l.ledger_entry_id)
),
{% endif %}
{% endfor %}

final as (
    {% for _ in steps %}
    select * from pairs_{{ loop.index }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)
-- noqa: enable=LT02

select
    bank_entry_id,
    ledger_entry_id,
    matched_on,
    'references'::text  as match_pass,
    'confirmed'::text   as match_status,
    amount_difference
from final
