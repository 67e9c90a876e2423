-- Incremental by booking date (macros/daily_partition.sql): a daily run numbers
-- the postings booked on or after the earliest date its files touch again from
-- staging and replaces those that changed (strategy 'restate'); those booked
-- before it stay as they are. (The
-- indexes by id and reference: the references scope's lookups,
-- int_matches__references_scope.)
{%- set lookups = "{
        'booking_date': 'booking_date',
        'account': 'account_id, booking_date',
        'copies': 'account_id, currency, bank_direction, (coalesce(uetr, end_to_end_id)), amount',
        'ledger_entry_id': 'ledger_entry_id',
        'uetr': 'uetr',
        'end_to_end_id': 'end_to_end_id',
        'bank_reference': 'bank_reference',
    }" -%}
{{ config(
    materialized='incremental',
    incremental_strategy='restate',
    meta={'restated_by': 'booking_date'},
    unique_key='ledger_entry_id',
    on_schema_change='fail',
    pre_hook=[
        "{% if restate_from() is none %}set local enable_nestloop = off{% endif %}",
        "{{ lookup_indexes(" ~ lookups ~ ") }}",
    ],
    post_hook=[
        "{% if not is_incremental() %}analyze {{ this }}{% endif %}",
        {"sql": "{{ lookup_indexes(" ~ lookups ~ ", after_build=true) }}", "transaction": false},
    ],
) }}

-- (No nested loop in a build of every date: the staging views estimate a few rows
-- where there are millions, and a nested loop over them is quadratic: 1e8
-- comparisons at 100,000 entries. A daily run reads a few days by index, and there
-- nested index lookups are the cheap plan: staging's search for a later export of
-- each posting takes 4,400 lookups by entry_id instead of hashing every raw line,
-- 27 ms instead of 97 at 30 demo days, and does not grow with them.)
-- One row per ledger posting on an EMI account (an account with statements),
-- opening balances excluded, numbered within its transaction key and amount:
-- copy_number 2 and up are the same transaction posted again (instalments of
-- other amounts under one EndToEndId are not copies). Its own table, analyzed
-- when built whole (a daily run adds a few days' rows: autovacuum's statistics
-- stay good, and analyzing the whole table would cost more than the day's work).
--
-- A daily run gives what a full build gives: copies are counted in booking
-- order, so a posting booked from the restated date on counts the copies kept
-- before it (a lookup in this table, by its index) and then its place among
-- those numbered again. An account whose first statement came since the last
-- build has no posting here yet: all its postings are numbered now.
with emi_accounts as (
    select
        account_id,
        {% if is_incremental() -%}
            -- the postings kept as they are, booked before the restated date
            -- (a min, found at the start of the index on account and date: no scan of the table)
            (
                select min(kept.booking_date) from {{ this }} as kept
                where kept.account_id = s.account_id and {{ kept_before_restated('kept.booking_date') }}
            )
        {%- else -%}
            null::date
        {%- endif %} as first_kept_booking_date
    from (select distinct account_id from {{ ref('int_bank_statements_daily') }}) as s
),

postings as (
    select l.*
    from {{ ref('stg_ledger__journal_lines') }} as l
    inner join emi_accounts on emi_accounts.account_id = l.account_id
    where l.kind <> 'opening' and {{ on_or_after_restated('l.booking_date') }}
    {%- if is_incremental() and restate_from() is not none %}
        union all
        -- an account with none (its first statement came since): its earlier postings too,
        -- looked up per such account (the raw index on account): none is read for the usual none
        select l.*
        from emi_accounts as e
        cross join lateral (
            select * from {{ ref('stg_ledger__journal_lines') }} as l
            where l.account_id = e.account_id and l.kind <> 'opening'
                and l.booking_date < '{{ restate_from() }}'::date
        ) as l
        where e.first_kept_booking_date is null
    {%- endif %}
)

select
    l.*,
    coalesce(l.value_date, l.booking_date) as effective_value_date,
    case when coalesce(l.uetr, l.end_to_end_id) is null then 1 else
            {% if is_incremental() -%}
                (
                    select count(*) from {{ this }} as kept
                    where {{ kept_before_restated('kept.booking_date') }}
                        and kept.account_id = l.account_id and kept.currency = l.currency
                        and kept.bank_direction = l.bank_direction
                        and coalesce(kept.uetr, kept.end_to_end_id) = coalesce(l.uetr, l.end_to_end_id)
                        and kept.amount = l.amount
                )
                + {% endif -%}
            row_number() over (
                partition by l.account_id, l.currency, l.bank_direction, coalesce(l.uetr, l.end_to_end_id), l.amount
                order by l.booked_at, l.ledger_entry_id
            )
    end as copy_number
from postings as l
