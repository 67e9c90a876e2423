-- One row per registered EMI account (seed account_registry) and business date
-- with an end-of-day statement (a statement of an account not in the registry
-- is a finding in account_findings, never a row here):
-- the ledger balance against the bank's closing balance, the threshold level,
-- and what the matching and the statement checks found that day.
-- The level here describes; the Great Expectations checkpoint on this table
-- decides (deltran.recon) and drives the circuit breaker.
{% set ok = var('ok_pct') %}
{% set minor = var('minor_pct') %}
{% set significant = var('significant_pct') %}

with statements as (
    select * from {{ ref('int_bank_statements_daily') }}
),

ledger as (
    select * from {{ ref('int_ledger_balances_daily') }}
),

matches as (
    select * from {{ ref('int_bank_entries_matched_to_ledger') }}
),

match_counts as (
    select
        account_id,
        business_date,
        count(*) filter (where match_status = 'matched')                          as matched_count,
        count(*) filter (where match_status = 'amount_mismatch')                  as amount_mismatch_count,
        count(*) filter (where match_status = 'bank_only')                        as bank_only_count,
        count(*) filter (where match_status = 'ledger_only' and not is_expected)  as ledger_only_count,
        count(*) filter (where match_status in ('duplicate_bank', 'duplicate_ledger')) as duplicate_count
    from matches
    group by account_id, business_date
),

in_flight as (
    -- postings the ledger has booked by the day that the bank books later
    select s.account_id, s.business_date, sum(m.ledger_signed_amount) as ledger_in_flight_amount
    from statements as s
    inner join matches as m
        on m.account_id = s.account_id
        and m.ledger_booking_date <= s.business_date
        and (
            (m.match_status in ('matched', 'amount_mismatch') and m.bank_booking_date > s.business_date)
            or (m.match_status = 'ledger_only' and m.is_expected)
        )
    group by s.account_id, s.business_date
),

compared as (
    select
        s.account_id,
        s.business_date,
        s.currency,
        s.servicer_bic,
        s.statement_id,
        s.bank_opening_balance,
        s.bank_closing_balance,
        l.ledger_balance,
        s.bank_closing_balance - l.ledger_balance as difference,
        -- the denominator is the ledger; a zero ledger (a new account, first
        -- funding) falls back to the bank balance, and zero against zero is 0 %
        nullif(abs(coalesce(nullif(l.ledger_balance, 0), s.bank_closing_balance)), 0) as denominator,
        coalesce(f.ledger_in_flight_amount, 0)                               as ledger_in_flight_amount,
        coalesce(c.matched_count, 0)                                         as matched_count,
        coalesce(c.amount_mismatch_count, 0)                                 as amount_mismatch_count,
        coalesce(c.bank_only_count, 0)                                       as bank_only_count,
        coalesce(c.ledger_only_count, 0)                                     as ledger_only_count,
        coalesce(c.duplicate_count, 0)                                       as duplicate_count,
        case when s.previous_business_date is null then null
            else s.bank_opening_balance is not distinct from s.previous_closing_balance end as is_opening_continuous,
        coalesce(s.electronic_seq_nb - s.previous_electronic_seq_nb > 1, false)           as has_sequence_gap,
        s.has_duplicate_statement,
        s.arithmetic_finding_count,
        s.balance_finding
    from statements as s
    inner join {{ ref('account_registry') }} as registered on registered.account_id = s.account_id
    inner join ledger as l on l.account_id = s.account_id and l.business_date = s.business_date
    left join match_counts as c on c.account_id = s.account_id and c.business_date = s.business_date
    left join in_flight as f on f.account_id = s.account_id and f.business_date = s.business_date
),

with_pct as (
    select
        *,
        -- unknown when a balance is unknown (a statement that failed closed):
        -- never 0 %, which would read as "all clear"
        case when difference is not null then coalesce(abs(difference) / denominator * 100, 0) end
                                                                             as difference_pct,
        case when difference is not null then coalesce(greatest(-difference, 0) / denominator * 100, 0) end
                                                                             as under_backing_pct
    from compared
)

select
    account_id,
    business_date,
    currency,
    servicer_bic,
    statement_id,
    bank_opening_balance,
    bank_closing_balance,
    ledger_balance,
    difference,
    difference_pct,
    under_backing_pct,
    case
        -- a figure missing: payouts wait (the checkpoint's not-null checks decide the same)
        when difference_pct is null or under_backing_pct is null then 'Significant'
        when difference_pct > {{ significant }} or under_backing_pct > {{ ok }} then 'Critical'
        when difference_pct > {{ minor }} then 'Significant'
        when difference_pct > {{ ok }} then 'Minor'
        else 'OK'
    end                         as threshold_level,
    ledger_balance > bank_closing_balance as is_under_backed,
    ledger_in_flight_amount,
    matched_count,
    amount_mismatch_count,
    bank_only_count,
    ledger_only_count,
    duplicate_count,
    is_opening_continuous,
    has_sequence_gap,
    has_duplicate_statement,
    arithmetic_finding_count,
    balance_finding
from with_pct
