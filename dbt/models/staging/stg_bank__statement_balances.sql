-- One row per balance of a kept end-of-day statement. amount is signed:
-- a DBIT balance is negative.
select
    b.statement_id,
    b.account                                                      as account_id,
    b.type_code                                                    as balance_type,
    case b.credit_debit when 'DBIT' then -b.amount else b.amount end as amount,
    b.currency,
    coalesce(b.date, (b.date_time at time zone 'UTC')::date)       as balance_date,
    b.file_id
from {{ source('raw', 'bank_balances') }} as b
inner join {{ ref('stg_bank__statements') }} as s
    on s.statement_id = b.statement_id
    and s.account_id is not distinct from b.account
    and s.file_id = b.file_id
where b.message_type = 'camt.053'
