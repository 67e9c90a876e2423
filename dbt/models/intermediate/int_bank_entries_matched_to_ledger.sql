-- depends_on: {{ ref('int_matching_scope') }}
{#- account_reconciliation's lookups in a daily run: the rows of its dates and
    the unsettled ones (macros/restated_marts.sql) -#}
{%- set lookups = "{
        'match_id': {'columns': 'match_id', 'unique': true},
        'bank_booking_date': 'bank_booking_date',
        'ledger_booking_date': 'ledger_booking_date',
        'unsettled': {'columns': 'account_id', 'where': unsettled_match()},
    }" -%}
{{ config(materialized='incremental', incremental_strategy='rescope', on_schema_change='fail',
          unique_key='match_id', meta={'rescoped_by': 'int_matching_scope'},
          pre_hook=["set local enable_nestloop = off", "set local enable_mergejoin = off",
                    "{{ lookup_indexes(" ~ lookups ~ ") }}"],
          post_hook={"sql": "{{ lookup_indexes(" ~ lookups ~ ", after_build=true) }}", "transaction": false}) }}
-- The anti-joins below run against CTEs the planner cannot count: a nested
-- loop over them is quadratic, so this model's transaction plans without one;
-- nor with merge joins, which sort every movement and posting on their text
-- ids again for each join (30 demo days: 4.7 s with them, 2.6 s without).
-- One row per (bank movement, ledger posting) pair after matching, or per
-- movement or posting left alone. The pairs come from the matching passes, in
-- order, each over what the earlier ones left:
--   1. references (int_matches__references): UETR, else EndToEndId, else the
--      bank's reference, with each TxDtls of a batch matching on its own;
--   2. batch sum (int_matches__batch_sum): an entry without details against the
--      set of postings it is the sum of (one bank row, several pairs);
--   3. suggested (int_matches__suggested): no shared reference, one candidate
--      on each side; 'suggested' until a person confirms it.
-- The second and later copies of one transaction (same amount) on one side are
-- duplicates and take no part in matching; nor do a bank reversal and the
-- entry it reverses (int_bank_reversals). Two ledger postings the bank never
-- saw that cancel each other are 'reversed' too.
{% set grace = var('in_flight_grace_days') | int %}
-- Incremental: a daily run decides again the items of int_matching_scope (why
-- that is exact is written there) and keeps every other item's row; without a
-- daily run's dates (a build of every date) it decides everything.

with coverage as (
    select account_id, max(business_date) as latest_statement_date
    from {{ ref('int_bank_statements_daily') }}
    group by account_id
),

-- every movement this run decides: each row below with a bank side is one of
-- them, so the last join reads these too, not every movement booked
bank_all as (
    select b.* from {{ ref('int_bank_movements_numbered') }} as b
    where {{ scoped_to('int_matching_scope', 'bank', 'b.bank_entry_id') }}
),

reversed_ids as (
    select reversal_id as bank_entry_id from {{ ref('int_bank_reversals') }}
    union all
    select reversed_id from {{ ref('int_bank_reversals') }}
),

bank as (
    select * from bank_all as b
    where not exists (select 1 from reversed_ids as r where r.bank_entry_id = b.bank_entry_id)
),

ledger as (
    select * from {{ ref('int_ledger_postings_numbered') }}
    where {{ scoped_to('int_matching_scope', 'ledger', 'ledger_entry_id') }}
),

all_pairs as (
    select * from {{ ref('int_matches__references') }}
    union all
    select * from {{ ref('int_matches__batch_sum') }}
    union all
    select * from {{ ref('int_matches__suggested') }}
),

pairs as (
    select * from all_pairs
    where {{ scoped_to('int_matching_scope', 'bank', 'bank_entry_id') }}
        or {{ scoped_to('int_matching_scope', 'ledger', 'ledger_entry_id') }}
),

matched as (
    select
        b.account_id,
        b.currency,
        b.bank_entry_id,
        l.ledger_entry_id,
        p.matched_on,
        case
            when p.match_status = 'suggested' then 'suggested'
            when p.amount_difference = 0 then 'matched'
            else 'amount_mismatch'
        end as match_status,
        p.match_pass,
        p.amount_difference
    from pairs as p
    inner join bank as b on b.bank_entry_id = p.bank_entry_id
    inner join ledger as l on l.ledger_entry_id = p.ledger_entry_id
),

unmatched_bank as (
    select
        b.account_id, b.currency, b.bank_entry_id, null::text as ledger_entry_id, null::text as matched_on,
        case when b.copy_number > 1 then 'duplicate_bank' else 'bank_only' end as match_status,
        null::text as match_pass, null::numeric as amount_difference
    from bank as b
    where not exists (select 1 from pairs as p where p.bank_entry_id = b.bank_entry_id)
),

ledger_unmatched as (
    select * from ledger as l where not exists (select 1 from pairs as p where p.ledger_entry_id = l.ledger_entry_id)
),

-- The ledger's own reversal: of two postings the bank never saw, the later one
-- cancels the earlier (same account, currency, transaction, amount, opposite
-- direction), e.g. tokens minted without money and then burned. Only after
-- matching: a deposit and its refund that the bank did book both match.
ledger_contra_candidates as (
    select
        later.ledger_entry_id   as reversal_id,
        earlier.ledger_entry_id as reversed_id,
        row_number()
            over (partition by later.ledger_entry_id order by earlier.booked_at desc, earlier.ledger_entry_id asc)
            as reversal_rank,
        row_number()
            over (partition by earlier.ledger_entry_id order by later.booked_at, later.ledger_entry_id)
            as reversed_rank
    from ledger_unmatched as later
    inner join ledger_unmatched as earlier
        on earlier.account_id = later.account_id
        and earlier.currency = later.currency
        and earlier.amount = later.amount
        and earlier.bank_direction <> later.bank_direction
        and coalesce(earlier.uetr, earlier.end_to_end_id) = coalesce(later.uetr, later.end_to_end_id)
        and (earlier.booked_at, earlier.ledger_entry_id) < (later.booked_at, later.ledger_entry_id)
    where earlier.copy_number = 1 and later.copy_number = 1
),

ledger_contra_ids as (
    select reversal_id as ledger_entry_id from ledger_contra_candidates where reversal_rank = 1 and reversed_rank = 1
    union all
    select reversed_id from ledger_contra_candidates where reversal_rank = 1 and reversed_rank = 1
),

unmatched_ledger as (
    select
        l.account_id, l.currency, null::text as bank_entry_id, l.ledger_entry_id, null::text as matched_on,
        case
            when l.ledger_entry_id in (select ledger_entry_id from ledger_contra_ids) then 'reversed'
            when l.copy_number > 1 then 'duplicate_ledger'
            else 'ledger_only'
        end as match_status,
        null::text as match_pass, null::numeric as amount_difference
    from ledger_unmatched as l
),

reversed_rows as (
    select
        b.account_id, b.currency, b.bank_entry_id, null::text as ledger_entry_id, null::text as matched_on,
        'reversed' as match_status, null::text as match_pass, null::numeric as amount_difference
    from bank_all as b
    where exists (select 1 from reversed_ids as r where r.bank_entry_id = b.bank_entry_id)
),

all_rows as (
    select * from matched
    union all
    select * from unmatched_bank
    union all
    select * from unmatched_ledger
    union all
    select * from reversed_rows
)

select
    -- by the movement's content key: the same match_id after the statement is delivered again
    md5(concat_ws('|', b.bank_movement_key, r.ledger_entry_id))      as match_id,
    r.account_id,
    r.currency,
    r.match_status,
    r.matched_on,
    r.match_pass,
    r.amount_difference,
    r.bank_entry_id,
    b.bank_movement_key,  -- the movement's content key (int_bank_movements_numbered): discrepancy ids hang on it
    b.entry_ref                                                      as bank_entry_ref,
    b.acct_svcr_ref                                                  as bank_acct_svcr_ref,
    r.ledger_entry_id,
    b.credit_debit                                                   as bank_direction,
    b.amount                                                         as bank_amount,
    b.signed_amount                                                  as bank_signed_amount,
    -- the bank side's share of this row: a batch entry matched by sum is
    -- spread over its postings, so summing this column counts it once
    case when r.matched_on = 'batch_sum' then l.signed_amount else b.signed_amount end as bank_allocated_signed_amount,
    l.amount                                                         as ledger_amount,
    l.signed_amount                                                  as ledger_signed_amount,
    b.booking_date                                                   as bank_booking_date,
    l.booking_date                                                   as ledger_booking_date,
    b.value_date                                                     as bank_value_date,
    l.value_date                                                     as ledger_value_date,
    coalesce(b.booking_date, l.booking_date)                         as business_date,
    coalesce(b.uetr, l.uetr)                                         as uetr,
    coalesce(b.end_to_end_id, l.end_to_end_id)                       as end_to_end_id,
    coalesce(b.acct_svcr_ref, l.bank_reference)                      as acct_svcr_ref,
    b.statement_id,
    l.journal_id,
    l.kind                                                           as ledger_kind,
    -- a posting the bank has not booked yet is in flight, not a break, until
    -- the account's statements reach its value date (plus the grace days)
    (
        r.match_status = 'ledger_only'
        and (c.latest_statement_date is null or c.latest_statement_date < l.effective_value_date + {{ grace }})
    )                                                                as is_expected
from all_rows as r
left join bank_all as b on b.bank_entry_id = r.bank_entry_id
left join ledger as l on l.ledger_entry_id = r.ledger_entry_id
left join coverage as c on c.account_id = r.account_id
