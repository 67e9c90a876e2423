-- One row per bank movement and/or ledger posting on an EMI account, after
-- matching them one to one. A bank entry matches a ledger posting on the same
-- account, currency and direction (bank CRDT = ledger D on the asset account)
-- with value dates within the tolerance, by UETR, else EndToEndId, else the
-- bank's reference (AcctSvcrRef = the ledger's bank_reference), in that order.
-- The second and later copies of one transaction on one side are duplicates
-- and take no part in matching; nor do a bank reversal and the entry it
-- reverses. Two ledger postings the bank never saw that cancel each other are
-- 'reversed' too.
{% set tolerance = var('value_date_tolerance_days') | int %}
{% set grace = var('in_flight_grace_days') | int %}

with coverage as (
    select account_id, max(business_date) as latest_statement_date
    from {{ ref('int_bank_statements_daily') }}
    group by account_id
),

bank_all as (
    select * from {{ ref('int_bank_movements_numbered') }}
),

-- A reversal entry (RvslInd) cancels an earlier booking of the same
-- transaction in the other direction and for the same amount: the latest copy
-- first, so reversing a duplicate leaves the original to match the ledger.
-- Both sides of a pair are 'reversed' and take no part in matching.
reversal_candidates as (
    select
        r.bank_entry_id as reversal_id,
        o.bank_entry_id as reversed_id,
        row_number() over (partition by r.bank_entry_id order by o.copy_number desc, o.booking_date desc, o.bank_entry_id) as reversal_rank,
        row_number() over (partition by o.bank_entry_id order by r.booking_date, r.bank_entry_id) as reversed_rank
    from bank_all as r
    inner join bank_all as o
        on o.account_id = r.account_id
        and o.currency = r.currency
        and o.credit_debit <> r.credit_debit
        and o.amount = r.amount
        and coalesce(o.uetr, o.end_to_end_id, o.acct_svcr_ref) = coalesce(r.uetr, r.end_to_end_id, r.acct_svcr_ref)
        and o.booking_date <= r.booking_date
        and not o.is_reversal
    where r.is_reversal
),

reversals as (
    select reversal_id, reversed_id from reversal_candidates where reversal_rank = 1 and reversed_rank = 1
),

reversed_ids as (
    select reversal_id as bank_entry_id from reversals
    union all
    select reversed_id from reversals
),

bank as (
    select * from bank_all
    where bank_entry_id not in (select bank_entry_id from reversed_ids)
),

ledger as (
    select * from {{ ref('int_ledger_postings_numbered') }}
),

{% for key, bank_col, ledger_col in [('uetr', 'uetr', 'uetr'), ('end_to_end_id', 'end_to_end_id', 'end_to_end_id'), ('acct_svcr_ref', 'acct_svcr_ref', 'bank_reference')] %}
candidates_{{ key }} as (
    select
        b.bank_entry_id,
        l.ledger_entry_id,
        '{{ key }}' as matched_on,
        row_number() over (partition by b.bank_entry_id order by abs(b.effective_value_date - l.effective_value_date), l.ledger_entry_id) as bank_rank,
        row_number() over (partition by l.ledger_entry_id order by abs(b.effective_value_date - l.effective_value_date), b.bank_entry_id) as ledger_rank
    from bank as b
    inner join ledger as l
        on l.account_id = b.account_id
        and l.currency = b.currency
        and l.bank_direction = b.credit_debit
        and l.{{ ledger_col }} = b.{{ bank_col }}
    where b.copy_number = 1
        and l.copy_number = 1
        and abs(b.effective_value_date - l.effective_value_date) <= {{ tolerance }}
        {% if not loop.first %}
        and b.bank_entry_id not in (select bank_entry_id from pairs_{{ loop.index0 }})
        and l.ledger_entry_id not in (select ledger_entry_id from pairs_{{ loop.index0 }})
        {% endif %}
),

pairs_{{ loop.index }} as (
    {% if not loop.first %}select * from pairs_{{ loop.index0 }} union all{% endif %}
    select bank_entry_id, ledger_entry_id, matched_on
    from candidates_{{ key }}
    where bank_rank = 1 and ledger_rank = 1
),
{% endfor %}

pairs as (select * from pairs_3),

matched as (
    select
        b.account_id,
        b.currency,
        b.bank_entry_id,
        l.ledger_entry_id,
        p.matched_on,
        case when b.amount = l.amount then 'matched' else 'amount_mismatch' end as match_status
    from pairs as p
    inner join bank as b on b.bank_entry_id = p.bank_entry_id
    inner join ledger as l on l.ledger_entry_id = p.ledger_entry_id
),

unmatched_bank as (
    select
        b.account_id, b.currency, b.bank_entry_id, null::text as ledger_entry_id, null::text as matched_on,
        case when b.copy_number > 1 then 'duplicate_bank' else 'bank_only' end as match_status
    from bank as b
    where b.bank_entry_id not in (select bank_entry_id from pairs)
),

ledger_unmatched as (
    select * from ledger where ledger_entry_id not in (select ledger_entry_id from pairs)
),

-- The ledger's own reversal: of two postings the bank never saw, the later one
-- cancels the earlier (same account, currency, transaction, amount, opposite
-- direction), e.g. tokens minted without money and then burned. Only after
-- matching: a deposit and its refund that the bank did book both match.
ledger_contra_candidates as (
    select
        later.ledger_entry_id   as reversal_id,
        earlier.ledger_entry_id as reversed_id,
        row_number() over (partition by later.ledger_entry_id order by earlier.booked_at desc, earlier.ledger_entry_id) as reversal_rank,
        row_number() over (partition by earlier.ledger_entry_id order by later.booked_at, later.ledger_entry_id) as reversed_rank
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
        end as match_status
    from ledger_unmatched as l
),

reversed_rows as (
    select b.account_id, b.currency, b.bank_entry_id, null::text as ledger_entry_id, null::text as matched_on,
        'reversed' as match_status
    from bank_all as b
    where b.bank_entry_id in (select bank_entry_id from reversed_ids)
),

all_rows as (
    select * from matched
    union all select * from unmatched_bank
    union all select * from unmatched_ledger
    union all select * from reversed_rows
)

select
    md5(concat_ws('|', r.bank_entry_id, r.ledger_entry_id))          as match_id,
    r.account_id,
    r.currency,
    r.match_status,
    r.matched_on,
    r.bank_entry_id,
    r.ledger_entry_id,
    b.credit_debit                                                   as bank_direction,
    b.amount                                                         as bank_amount,
    b.signed_amount                                                  as bank_signed_amount,
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
