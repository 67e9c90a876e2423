-- One row per registered EMI account (seed account_registry) and business date
-- with an end-of-day statement (a statement of an account not in the registry
-- is a finding in account_findings, never a row here):
-- the ledger balance against the bank's closing balance, the threshold level,
-- and what the matching and the statement checks found that day. The
-- difference is explained: in flight (expected) + known breaks (missing,
-- duplicate, amount) + an unexplained remainder, each the sum of the effects
-- on (bank - ledger) of the movements booked by the day.
-- The level here describes; the Great Expectations checkpoint on this table
-- decides (deltran.recon) and drives the circuit breaker. The rule is the
-- threshold macros' (macros/threshold_level.sql), the same for every model.
-- Partitioned by business_date: a daily run replaces its own date's rows (and
-- any date it restates), macros/daily_partition.sql.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='business_date',
          on_schema_change='fail') }}
{#- the first business date a daily run builds; none when it builds every date -#}
{% set built = partition_dates() %}
{% set first_built = (built | first) if built else none %}

with statements as (
    select * from {{ ref('int_bank_statements_daily') }}
    where {{ in_daily_partition('business_date') }}
),

ledger as (
    select * from {{ ref('int_ledger_balances_daily') }}
    where {{ in_daily_partition('business_date') }}
),

matches as (
    {%- if first_built is none %}
        select * from {{ ref('int_bank_entries_matched_to_ledger') }}
    {%- else %}
        -- A daily run reads only the rows that can move its dates' figures: those
        -- booked on either side from its first date on, and the unsettled ones
        -- (macros/restated_marts.sql). An exact pair booked on both sides before it
        -- adds zero to every sum below (its bank and ledger effects cancel, and it
        -- is neither counted on nor in flight over a built date), so leaving it out
        -- changes no row; what is read follows the days built, not the history.
        -- Three disjoint parts, each by its own index.
        select m.* from {{ ref('int_bank_entries_matched_to_ledger') }} as m
        where m.bank_booking_date >= '{{ first_built }}'::date
        union all
        select m.* from {{ ref('int_bank_entries_matched_to_ledger') }} as m
        where m.ledger_booking_date >= '{{ first_built }}'::date
            and (m.bank_booking_date < '{{ first_built }}'::date or m.bank_booking_date is null)
        union all
        select m.* from {{ ref('int_bank_entries_matched_to_ledger') }} as m
        where {{ unsettled_match('m.') }}
            and (m.bank_booking_date < '{{ first_built }}'::date or m.bank_booking_date is null)
            and (m.ledger_booking_date < '{{ first_built }}'::date or m.ledger_booking_date is null)
    {%- endif %}
),

match_counts as materialized (
    select
        account_id,
        business_date,
        count(*) filter (where match_status = 'matched')                          as matched_count,
        count(*) filter (where match_status = 'amount_mismatch')                  as amount_mismatch_count,
        count(*) filter (where match_status = 'bank_only')                        as bank_only_count,
        count(*) filter (where match_status = 'ledger_only' and not is_expected)  as ledger_only_count,
        count(*) filter (where match_status in ('duplicate_bank', 'duplicate_ledger')) as duplicate_count
    from matches
    -- the dates built only (the join below would not push them into the aggregate)
    where {{ in_daily_partition('business_date') }}
    group by account_id, business_date
),

-- every matching row's effect on (bank - ledger), on the day each side is booked
effects as (
    select
        account_id,
        bank_booking_date                                   as effect_date,
        case
            when match_status in ('matched', 'amount_mismatch', 'suggested') then 'paired'
            when match_status = 'bank_only' then 'missing'
            else 'duplicate'  -- duplicate_bank; a reversed booking while its reversal is still to come
        end                                                 as effect_kind,
        greatest(bank_booking_date, ledger_booking_date)    as paired_date,
        bank_allocated_signed_amount                        as amount
    from matches
    where bank_entry_id is not null
    union all
    select
        account_id,
        ledger_booking_date,
        case
            when match_status in ('matched', 'amount_mismatch', 'suggested') then 'paired'
            when match_status = 'ledger_only' and is_expected then 'expected'
            when match_status = 'duplicate_ledger' then 'duplicate'
            else 'missing'  -- ledger_only; a reversed posting (a mint) while its burn is still to come
        end,
        greatest(bank_booking_date, ledger_booking_date),
        -ledger_signed_amount
    from matches
    where ledger_entry_id is not null
),

effect_days as (
    select account_id, effect_date, effect_kind, paired_date, sum(amount) as amount
    from effects
    group by account_id, effect_date, effect_kind, paired_date
),

explained as materialized (
    -- a pair with one side booked by the day is in flight; with both, any
    -- difference left is an amount break
    select
        s.account_id,
        s.business_date,
        coalesce(sum(e.amount) filter (
            where e.effect_kind = 'expected' or (e.effect_kind = 'paired' and e.paired_date > s.business_date)
        ), 0)                                                                              as in_flight_difference,
        coalesce(sum(e.amount) filter (where e.effect_kind = 'missing'), 0)                as missing_difference,
        coalesce(sum(e.amount) filter (where e.effect_kind = 'duplicate'), 0)              as duplicate_difference,
        coalesce(sum(e.amount) filter (
            where e.effect_kind = 'paired' and e.paired_date <= s.business_date
        ), 0)                                                                              as amount_difference
    from statements as s
    inner join effect_days as e on e.account_id = s.account_id and e.effect_date <= s.business_date
    group by s.account_id, s.business_date
),

movement_counts as materialized (
    -- the day's bank movements, and those matched without a person's doubt
    select
        account_id,
        bank_booking_date                                                                 as business_date,
        count(distinct bank_entry_id)                                                     as bank_movement_count,
        count(distinct bank_entry_id) filter (where match_status in ('matched', 'amount_mismatch'))
            as confirmed_movement_count,
        count(distinct bank_entry_id) filter (where match_status = 'suggested')          as suggested_count
    from matches
    where bank_entry_id is not null and {{ in_daily_partition('bank_booking_date') }}
    group by account_id, bank_booking_date
),

in_flight as materialized (
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

-- (The four aggregates above are materialized: the planner counts few
-- statements and joins them by nested loops, which would compute an aggregate
-- again for every statement; materialized, each is computed once.)
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
        {{ threshold_base('s.bank_closing_balance', 'l.ledger_balance') }} as denominator,
        coalesce(f.ledger_in_flight_amount, 0)                               as ledger_in_flight_amount,
        coalesce(c.matched_count, 0)                                         as matched_count,
        coalesce(c.amount_mismatch_count, 0)                                 as amount_mismatch_count,
        coalesce(c.bank_only_count, 0)                                       as bank_only_count,
        coalesce(c.ledger_only_count, 0)                                     as ledger_only_count,
        coalesce(c.duplicate_count, 0)                                       as duplicate_count,
        case when s.previous_business_date is null then null
            else (s.bank_opening_balance is not distinct from s.previous_closing_balance)
        end as is_opening_continuous,
        coalesce(s.electronic_seq_nb - s.previous_electronic_seq_nb > 1, false)           as has_sequence_gap,
        s.has_duplicate_statement,
        s.arithmetic_finding_count,
        s.balance_finding,
        coalesce(x.in_flight_difference, 0)                                  as in_flight_difference,
        coalesce(x.missing_difference, 0)                                    as missing_difference,
        coalesce(x.duplicate_difference, 0)                                  as duplicate_difference,
        coalesce(x.amount_difference, 0)                                     as amount_difference,
        coalesce(v.bank_movement_count, 0)                                   as bank_movement_count,
        coalesce(v.confirmed_movement_count, 0)                              as confirmed_movement_count,
        coalesce(v.suggested_count, 0)                                       as suggested_count
    from statements as s
    inner join {{ ref('account_registry') }} as registered on registered.account_id = s.account_id
    inner join ledger as l on l.account_id = s.account_id and l.business_date = s.business_date
    left join match_counts as c on c.account_id = s.account_id and c.business_date = s.business_date
    left join in_flight as f on f.account_id = s.account_id and f.business_date = s.business_date
    left join explained as x on x.account_id = s.account_id and x.business_date = s.business_date
    left join movement_counts as v on v.account_id = s.account_id and v.business_date = s.business_date
),

with_pct as (
    select
        *,
        -- unknown when a balance is unknown (a statement that failed closed):
        -- never 0 %, which would read as "all clear"
        {{ threshold_pct('difference', 'denominator') }}                   as difference_pct,
        {{ threshold_pct(under_backing('difference'), 'denominator') }}    as under_backing_pct
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
    -- a figure missing: payouts wait (the checkpoint's not-null checks decide the same)
    {{ threshold_level('difference_pct', 'under_backing_pct') }} as threshold_level,
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
    balance_finding,
    in_flight_difference,
    missing_difference,
    duplicate_difference,
    amount_difference,
    difference - in_flight_difference - missing_difference - duplicate_difference - amount_difference
        as unexplained_difference,
    bank_movement_count,
    confirmed_movement_count,
    suggested_count,
    case when bank_movement_count > 0
            then round(confirmed_movement_count::numeric / bank_movement_count, 4)
    end as auto_match_rate
from with_pct
