-- One row per EMI account and business date: the day's end-of-day statement
-- with its opening and closing balances and the continuity checks against the
-- account's previous statement. The business date is the closing balance's
-- date (else the statement's to-date, else its creation date).
with balances as (
    select
        statement_id,
        account_id,
        max(amount) filter (where balance_type = 'OPBD')       as opbd,
        max(amount) filter (where balance_type = 'PRCD')       as prcd,
        max(amount) filter (where balance_type = 'CLBD')       as clbd,
        max(amount) filter (where balance_type = 'CLAV')       as clav,
        max(balance_date) filter (where balance_type = 'CLBD') as closing_date
    from {{ ref('stg_bank__statement_balances') }}
    group by statement_id, account_id
),

findings as (
    select statement_id, account, count(*) as finding_count
    from {{ source('raw', 'statement_findings') }}
    group by statement_id, account
),

daily as (
    select
        s.account_id,
        s.currency,
        s.servicer_bic,
        s.statement_id,
        s.electronic_seq_nb,
        s.copies_received,
        coalesce(b.closing_date, (s.to_at at time zone 'UTC')::date, (s.created_at at time zone 'UTC')::date) as business_date,
        coalesce(b.opbd, b.prcd) as bank_opening_balance,
        b.clbd                   as bank_closing_balance,
        b.clav                   as bank_closing_available,
        coalesce(f.finding_count, 0) as arithmetic_finding_count
    from {{ ref('stg_bank__statements') }} as s
    left join balances as b
        on b.statement_id = s.statement_id and b.account_id is not distinct from s.account_id
    left join findings as f
        on f.statement_id = s.statement_id and f.account is not distinct from s.account_id
),

ranked as (
    -- two different statements for the same account and day: keep the one
    -- with the highest sequence number, and say the day had several
    select
        *,
        row_number() over (partition by account_id, business_date order by electronic_seq_nb desc nulls last, statement_id desc) as day_rank,
        count(*) over (partition by account_id, business_date) as statements_that_day
    from daily
)

select
    account_id,
    business_date,
    currency,
    servicer_bic,
    statement_id,
    electronic_seq_nb,
    bank_opening_balance,
    bank_closing_balance,
    bank_closing_available,
    arithmetic_finding_count,
    (copies_received > 1 or statements_that_day > 1) as has_duplicate_statement,
    lag(bank_closing_balance) over account_days  as previous_closing_balance,
    lag(electronic_seq_nb) over account_days     as previous_electronic_seq_nb,
    lag(business_date) over account_days         as previous_business_date
from ranked
where day_rank = 1
window account_days as (partition by account_id order by business_date)
