-- Partitioned by business_date: a daily run replaces its own date's rows (and
-- any date it restates), macros/daily_partition.sql.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='business_date',
          on_schema_change='fail') }}
-- One row per EMI account and business date that has a statement: the ledger
-- balance of the account at the end of that day (UTC), i.e. every posting
-- booked up to and including the day. Postings are summed per day first, then
-- cumulated, so the cost grows with days, not with days x postings.
with daily_postings as (
    select account_id, currency, booking_date, sum(signed_amount) as day_net, count(*) as postings
    from {{ ref('stg_ledger__journal_lines') }}
    group by account_id, currency, booking_date
),

running as (
    select
        *,
        sum(day_net) over (partition by account_id, currency order by booking_date) as balance_after_day
    from daily_postings
)

select
    s.account_id,
    s.business_date,
    s.currency,
    coalesce(r.balance_after_day, 0) as ledger_balance,
    coalesce(today.postings, 0)      as ledger_postings_that_day
from {{ ref('int_bank_statements_daily') }} as s
left join lateral (
    select balance_after_day
    from running
    where running.account_id = s.account_id
        and running.currency = s.currency
        and running.booking_date <= s.business_date
    order by running.booking_date desc
    limit 1
) as r on true
left join daily_postings as today
    on today.account_id = s.account_id and today.currency = s.currency and today.booking_date = s.business_date
where {{ in_daily_partition('s.business_date') }}
