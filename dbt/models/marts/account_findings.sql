-- One row per registry finding of a business date (seed account_registry):
-- * unknown_account: an end-of-day statement (camt.053), intraday report
--   (camt.052) or notification (camt.054) for an account the registry does
--   not hold; it is reported here and reconciled nowhere else;
-- * missing_statement: a registry account open on a business date the
--   platform has data for (any statement or ledger posting of that date)
--   without its end-of-day statement (yet).
with recursive registry as (
    select * from {{ ref('account_registry') }}
),

bank_accounts as (
    select
        account                                                          as account_id,
        message_type,
        min(coalesce((to_at at time zone 'UTC')::date, (created_at at time zone 'UTC')::date)) as business_date,
        min(statement_id)                                                as statement_id,
        min(account_currency)                                            as currency,
        min(servicer_bic)                                                as servicer_bic,
        count(*)                                                         as messages
    from {{ source('raw', 'bank_statements') }}
    group by account, message_type, coalesce((to_at at time zone 'UTC')::date, (created_at at time zone 'UTC')::date)
),

unknown as (
    select
        'unknown_account'::text as finding_type,
        coalesce(b.account_id, '(none)') as account_id,
        b.business_date,
        b.message_type,
        b.statement_id,
        b.currency,
        b.servicer_bic,
        b.messages || ' ' || b.message_type || ' message(s) for an account not in the registry' as detail
    from bank_accounts as b
    left join registry as r on r.account_id = b.account_id
    where r.account_id is null
),

-- the dates with a posting (not an opening balance), found date by date: the
-- next date in the raw lines' date index, kept if one of its lines is a current
-- posting (a first match in the staging view, by index). A distinct over the
-- view read every line of the history on every run (0.2 s at 30 demo days).
ledger_dates (business_date) as (
    select min((booked_at at time zone 'UTC')::date) from {{ source('raw', 'ledger_lines') }}
    union all
    select (
        select min((l.booked_at at time zone 'UTC')::date) from {{ source('raw', 'ledger_lines') }} as l
        where (l.booked_at at time zone 'UTC')::date > d.business_date
    )
    from ledger_dates as d
    where d.business_date is not null
),

known_dates as (
    select business_date from {{ ref('int_bank_statements_daily') }}
    union
    select d.business_date from ledger_dates as d
    where (
        select true from {{ ref('stg_ledger__journal_lines') }} as j
        where j.booking_date = d.business_date and j.kind <> 'opening'
        -- an existence check: any row will do
        limit 1  -- noqa: AM09
    )
),

missing as (
    select
        'missing_statement'::text as finding_type,
        r.account_id,
        d.business_date,
        'camt.053'::text          as message_type,
        null::text                as statement_id,
        r.currency::text          as currency,
        r.servicing_bank_bic      as servicer_bic,
        'no end-of-day statement for this business date' as detail
    from registry as r
    cross join known_dates as d
    left join {{ ref('int_bank_statements_daily') }} as s
        on s.account_id = r.account_id and s.business_date = d.business_date
    where s.account_id is null
        and d.business_date >= r.opened_on
        and (r.closed_on is null or d.business_date <= r.closed_on)
)

select md5(concat_ws('|', finding_type, account_id, business_date, message_type)) as finding_id, *
from (
    select * from unknown
    union all
    select * from missing
) as findings
