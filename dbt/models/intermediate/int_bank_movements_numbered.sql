-- Incremental by booking date (macros/daily_partition.sql): a daily run books
-- the movements booked on or after the earliest date its files touch again from
-- staging and replaces those that changed (strategy 'restate'); those booked
-- before it stay as they are. (The
-- indexes by id and reference: the references scope's lookups,
-- int_matches__references_scope.)
{%- set lookups = "{
        'booking_date': 'booking_date',
        'copies': 'account_id, currency, credit_debit, (coalesce(uetr, end_to_end_id)), amount',
        'bank_entry_id': 'bank_entry_id',
        'bank_movement_key': {'columns': 'bank_movement_key', 'unique': true},
        'reversal_key': 'account_id, currency, amount, (coalesce(uetr, end_to_end_id, acct_svcr_ref))',
        'reversals': {'columns': 'booking_date', 'where': 'is_reversal'},
        'uetr': 'uetr',
        'end_to_end_id': 'end_to_end_id',
        'acct_svcr_ref': 'acct_svcr_ref',
    }" -%}
{{ config(
    materialized='incremental',
    incremental_strategy='restate',
    meta={'restated_by': 'booking_date'},
    unique_key='bank_entry_id',
    on_schema_change='fail',
    pre_hook=[
        "set local enable_nestloop = off",
        "{{ lookup_indexes(" ~ lookups ~ ") }}",
    ],
    post_hook=[
        "{% if not is_incremental() %}analyze {{ this }}{% endif %}",
        {"sql": "{{ lookup_indexes(" ~ lookups ~ ", after_build=true) }}", "transaction": false},
    ],
) }}

-- (No nested loop: the staging views estimate a few rows where there are millions,
-- and a nested loop over them is quadratic: 1e8 comparisons at 100,000 entries.)
-- One row per booked bank movement on an EMI account, numbered within its
-- transaction key and amount: copy_number 2 and up are the same transaction
-- booked again (instalments of other amounts under one EndToEndId are not copies).
-- Its own table so the matching joins plan on real row counts: analyzed when
-- built whole (a daily run adds a few days' rows: autovacuum's statistics stay
-- good, and analyzing the whole table would cost more than the day's work).
--
-- bank_movement_key names the movement by what the bank said about it (account,
-- currency, direction, amount, booking date, AcctSvcrRef, NtryRef, UETR,
-- EndToEndId) and, for identical twins, their order: unlike bank_entry_id
-- (statement id and position) it survives the same statement delivered again
-- under another Stmt/Id, page split or file. A person's match decisions
-- (control.match_decisions) and match_id hang on it. Change it only together
-- with the backfill in warehouse/sql/50_match_decisions.sql.
--
-- Both numberings give a daily run what a full build gives: the twins of a key
-- share its booking date, and copies are counted in booking-date order, so a
-- movement booked from the restated date on counts the copies kept before it
-- (a lookup in this table, by its index) and then its place among those booked again.
with booked as (
    select e.*
    from {{ ref('stg_bank__statement_entries') }} as e
    where coalesce(e.status, 'BOOK') = 'BOOK' and {{ on_or_after_restated('e.booking_date') }}
)

select
    e.*,
    md5(concat_ws(
        '|',
        e.account_id, e.currency, e.credit_debit, trim_scale(e.amount), e.booking_date,
        coalesce(e.acct_svcr_ref, ''), coalesce(e.entry_ref, ''), coalesce(e.uetr, ''), coalesce(e.end_to_end_id, ''),
        row_number()
            over (
                partition by
                    e.account_id, e.currency, e.credit_debit, e.amount, e.booking_date,
                    e.acct_svcr_ref, e.entry_ref, e.uetr, e.end_to_end_id
                order by e.statement_id, e.entry_index, e.detail_index
            )
    )) as bank_movement_key,
    coalesce(e.value_date, e.booking_date) as effective_value_date,
    case when coalesce(e.uetr, e.end_to_end_id) is null then 1 else
            {% if is_incremental() -%}
                -- the copies booked before, kept as they are
                (
                    select count(*) from {{ this }} as kept
                    where {{ kept_before_restated('kept.booking_date') }}
                        and kept.account_id = e.account_id and kept.currency = e.currency
                        and kept.credit_debit = e.credit_debit
                        and coalesce(kept.uetr, kept.end_to_end_id) = coalesce(e.uetr, e.end_to_end_id)
                        and kept.amount = e.amount
                )
                + {% endif -%}
            row_number() over (
                partition by e.account_id, e.currency, e.credit_debit, coalesce(e.uetr, e.end_to_end_id), e.amount
                order by e.booking_date, e.statement_id, e.entry_index, e.detail_index
            )
    end as copy_number
from booked as e
