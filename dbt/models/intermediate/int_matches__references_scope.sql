-- depends_on: {{ ref('int_bank_movements_numbered') }}
-- depends_on: {{ ref('int_ledger_postings_numbered') }}
-- depends_on: {{ ref('int_bank_statements_daily') }}
{{ config(post_hook='analyze {{ this }}') }}
-- The movements and postings whose outcome in the references pass
-- (int_matches__references) a daily run must decide again; the pass keeps its
-- earlier pairs for every other item. Empty outside a daily run (a build of
-- every date decides everything); one row ('all') in a daily run that has no
-- earlier pairs to keep (a first build, --full-refresh).
--
-- Why this is exact: the pass only ever compares a movement and a posting of
-- the same account, currency and direction sharing a reference (UETR,
-- EndToEndId, or AcctSvcrRef = the ledger's bank_reference), and each of its
-- steps only removes items already paired. So an item's outcome depends only
-- on the items linked to it through shared references, transitively: its
-- component. A daily run can change an item only if it is dated on or after
-- the run's restate_from (new, re-sent, renumbered or reversing rows;
-- macros/daily_partition.sql), is a posting of an account whose first
-- statement is that recent (it just became an EMI account), or lost its
-- partner (a row that went away). The scope is every item in the components
-- of those: the keys of the seed items, then, round after round, every item
-- carrying one of the keys and every other key of those items. Each round
-- is an index lookup per key (the indexes are on the numbered tables), so
-- the cost follows the day's items and their components, not the history.
{% set since = daily_restate_from() %}
{#- every item carrying a key of the component (one branch runs per key: an index lookup) -#}
{% set lookups = [
    ('bank', 'int_bank_movements_numbered', 'bank_entry_id', 'credit_debit', [('uetr', 'uetr'), ('e2e', 'end_to_end_id'), ('ref', 'acct_svcr_ref')]),
    ('ledger', 'int_ledger_postings_numbered', 'ledger_entry_id', 'bank_direction', [('uetr', 'uetr'), ('e2e', 'end_to_end_id'), ('ref', 'bank_reference')]),
] %}
{% set carriers %}
    {%- for side, model, id_col, dir_col, keys in lookups %}
        {%- set outer = loop %}
        {%- for key_type, col in keys %}
        select
            '{{ side }}' as side, i.{{ id_col }} as item_id, i.account_id, i.currency, i.{{ dir_col }} as direction,
            i.{{ keys[0][1] }} as uetr, i.{{ keys[1][1] }} as e2e, i.{{ keys[2][1] }} as ref
        from {{ ref(model) }} as i
        where c.key_type = '{{ key_type }}' and i.{{ col }} = c.key_value
            and i.account_id = c.account_id and i.currency = c.currency and i.{{ dir_col }} = c.direction
        {% if not (outer.last and loop.last) %}union all{% endif %}
        {%- endfor %}
    {%- endfor %}
{% endset %}
{% set refs_table = adapter.get_relation(database=target.database, schema=this.schema,
                                         identifier='int_matches__references') if execute else none %}
{% if since is none %}
    select null::text as side, null::text as item_id
    where false
{% elif refs_table is none or flags.FULL_REFRESH %}
-- a daily run whose pass decides everything (no earlier pairs): one row saying
-- so, for int_matching_scope; no lookups
select 'all' as side, null::text as item_id
{% else %}
with recursive seed as (
    select 'bank' as side, b.bank_entry_id as item_id
    from {{ ref('int_bank_movements_numbered') }} as b
    where b.booking_date >= '{{ since }}'::date
    union
    select 'ledger', l.ledger_entry_id
    from {{ ref('int_ledger_postings_numbered') }} as l
    where l.booking_date >= '{{ since }}'::date
    union
    -- an account whose first statement is this recent: its postings are new to matching
    select 'ledger', l.ledger_entry_id
    from {{ ref('int_ledger_postings_numbered') }} as l
    where l.account_id in (
        select account_id from {{ ref('int_bank_statements_daily') }}
        group by account_id
        having min(business_date) >= '{{ since }}'::date
    )
    union
    -- the partner of a row that went away
    select 'ledger', p.ledger_entry_id
    from {{ refs_table }} as p
    where not exists (
        select 1 from {{ ref('int_bank_movements_numbered') }} as b where b.bank_entry_id = p.bank_entry_id
    )
    union
    select 'bank', p.bank_entry_id
    from {{ refs_table }} as p
    where not exists (
        select 1 from {{ ref('int_ledger_postings_numbered') }} as l where l.ledger_entry_id = p.ledger_entry_id
    )
),


seed_items as (
    select 'bank' as side, b.bank_entry_id as item_id, b.account_id, b.currency, b.credit_debit as direction,
        b.uetr, b.end_to_end_id as e2e, b.acct_svcr_ref as ref
    from seed as s
    inner join {{ ref('int_bank_movements_numbered') }} as b on s.side = 'bank' and b.bank_entry_id = s.item_id
    union all
    select 'ledger', l.ledger_entry_id, l.account_id, l.currency, l.bank_direction,
        l.uetr, l.end_to_end_id, l.bank_reference
    from seed as s
    inner join {{ ref('int_ledger_postings_numbered') }} as l on s.side = 'ledger' and l.ledger_entry_id = s.item_id
),

-- The component, as rows of two kinds that alternate: an item gives its keys,
-- a key gives the items carrying it (an index lookup). union drops every row
-- already found, so each key is looked up once and each item expanded once,
-- and the items are there at the end without looking the keys up again.
component (
    kind, side, item_id, account_id, currency, direction, uetr, e2e, ref, key_type, key_value
) as (
    select 'item', side, item_id, account_id, currency, direction, uetr, e2e, ref, null, null
    from seed_items
    union
    select n.*
    from component as c
    cross join lateral (
        -- an item's keys
        select 'key' as kind, null as side, null as item_id, c.account_id, c.currency, c.direction,
            null as uetr, null as e2e, null as ref, k.key_type, k.key_value
        from (values ('uetr', c.uetr), ('e2e', c.e2e), ('ref', c.ref)) as k (key_type, key_value)
        where c.kind = 'item' and k.key_value is not null
        union all
        -- a key's items
        select 'item', i.side, i.item_id, i.account_id, i.currency, i.direction, i.uetr, i.e2e, i.ref, null, null
        from ({{ carriers }}) as i
        where c.kind = 'key'
    ) as n
)

select s.side, s.item_id from seed as s
union
select c.side, c.item_id from component as c where c.kind = 'item'
{% endif %}
