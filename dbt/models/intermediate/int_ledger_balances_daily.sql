-- Partitioned by business_date: a daily run replaces its own date's rows (and
-- any date it restates), macros/daily_partition.sql.
{%- set lookups = "{'account': 'account_id, currency, business_date'}" -%}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='business_date',
          on_schema_change='fail',
          pre_hook="{{ lookup_indexes(" ~ lookups ~ ") }}",
          post_hook={"sql": "{{ lookup_indexes(" ~ lookups ~ ", after_build=true) }}", "transaction": false}) }}
-- One row per EMI account and business date that has a statement: the ledger
-- balance of the account at the end of that day (UTC), i.e. every posting
-- booked up to and including the day. Postings are summed per day first, then
-- cumulated, so the cost grows with days, not with days x postings.
--
-- A daily run reads no history: it starts from each account's balance on its
-- latest day kept before the earliest date its files touch (restate_from(); a
-- balance no file since can change) and before the earliest date it rebuilds
-- (a restated date the value-date tolerance reaches may be earlier), and adds
-- the postings booked after that day, those of the days between without a
-- statement too. An account with no day kept (its first statement) starts from
-- zero and all its postings. A whole build starts every account from zero.
{%- set restated_from = restate_from() %}
{%- set built = partition_dates() %}
{%- if restated_from is not none and built %}
    {%- set restated_from = [restated_from, built | first] | min %}
{%- endif %}

with statements as (
    select * from {{ ref('int_bank_statements_daily') }}
    where {{ in_daily_partition('business_date') }}
),

kept as (
    select
        s.account_id,
        s.currency,
        k.business_date  as kept_date,
        k.ledger_balance as kept_balance
    from (select distinct account_id, currency from statements) as s
    {%- if restated_from is not none %}
        left join lateral (
            select b.business_date, b.ledger_balance
            from {{ this }} as b
            where b.account_id = s.account_id and b.currency = s.currency
                and b.business_date < '{{ restated_from }}'::date
            order by b.business_date desc
            limit 1
        ) as k on true
    {%- else %}
        left join (select null::date as business_date, null::numeric as ledger_balance) as k on false  -- noqa: ST05
    {%- endif %}
),

daily_postings as (
    select l.account_id, l.currency, l.booking_date, sum(l.signed_amount) as day_net, count(*) as postings
    from {{ ref('stg_ledger__journal_lines') }} as l
    inner join kept as k on k.account_id = l.account_id and k.currency = l.currency
    where l.booking_date > coalesce(k.kept_date, '-infinity'::date)
        -- the same bounds for every account, so the date index on raw.ledger_lines reads only these days
        and l.booking_date > (select min(coalesce(kept_date, '-infinity'::date)) from kept)
        and l.booking_date <= (select max(business_date) from statements)
    group by l.account_id, l.currency, l.booking_date
),

running as (
    select
        *,
        sum(day_net) over (partition by account_id, currency order by booking_date) as net_after_day
    from daily_postings
)

select
    s.account_id,
    s.business_date,
    s.currency,
    coalesce(k.kept_balance, 0) + coalesce(r.net_after_day, 0) as ledger_balance,
    coalesce(today.postings, 0)                                  as ledger_postings_that_day
from statements as s
left join kept as k on k.account_id = s.account_id and k.currency = s.currency
left join lateral (
    select running.net_after_day
    from running
    where running.account_id = s.account_id
        and running.currency = s.currency
        and running.booking_date <= s.business_date
    order by running.booking_date desc
    limit 1
) as r on true
left join daily_postings as today
    on today.account_id = s.account_id and today.currency = s.currency and today.booking_date = s.business_date
