-- One row per (bank movement, ledger posting) pair the matching passes found:
-- confirmed (a shared reference, a batch by its details or its sum, or a
-- suggestion a person confirmed) or suggested (no shared reference, waiting
-- for `deltran matches confirm|reject`).
-- Incremental by item, like the matching states it shows: a daily run deletes
-- and rebuilds the pairs of the items it decides again (int_matching_scope,
-- which says why that is exact) and keeps every other pair; a build of every
-- date rebuilds all (macros/daily_partition.sql).
-- depends_on: {{ ref('int_matching_scope') }}
{#- a pair's id is unique: the database holds it on every write -#}
{%- set keys = "{'match_id': {'columns': 'match_id', 'unique': true}}" -%}
{{ config(materialized='incremental', incremental_strategy='rescope', on_schema_change='fail',
          unique_key='match_id', meta={'rescoped_by': 'int_matching_scope'},
          pre_hook="{{ lookup_indexes(" ~ keys ~ ") }}",
          post_hook={"sql": "{{ lookup_indexes(" ~ keys ~ ", after_build=true) }}", "transaction": false}) }}
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
where
    m.bank_entry_id is not null and m.ledger_entry_id is not null
    and (
        {{ scoped_to('int_matching_scope', 'bank', 'm.bank_entry_id') }}
        or {{ scoped_to('int_matching_scope', 'ledger', 'm.ledger_entry_id') }}
    )
