{#
  Tiers 1 and 2: the bank balance and the ledger balance of each (account, cut-off)
  of `targets` (a query of account_id, cutoff_at), both as of cut-off - `settling`
  (an interval); `accounts`: an array of the targets' accounts (read by index).
  The one home of the cut-off rule: deltran.recon.tiers renders this
  macro (with jinja2) for its checks, models/intermediate/int_intraday_balances.sql
  (dbt) for its unit tests and for explaining any stored check.

  The bank balance at T: the latest booked balance the bank had reported by T, the
  anchor (a camt.052 ITBD, else ITAV, at its time; an OPBD/PRCD at the start of its
  date; a camt.053 CLBD at the end of its date), plus the credits and minus the
  debits of every camt.054 entry booked after the anchor and up to T. Only messages
  the bank had created by T count. The source is camt.052 when the anchor is an
  interim balance of the cut-off's own business date (UTC), else camt.054 (the
  tier-1 running balance on the last statement), else none.
  The ledger balance at T: every posting on the account booked up to T (a
  re-exported entry counts once, the latest export winning).
#}
{% macro balances_at_cutoffs(targets, settling, accounts, bank_statements, bank_balances, bank_entries, ledger_lines) -%}
with targets as (
    select t.account_id, t.cutoff_at, t.cutoff_at - {{ settling }} as as_of
    from ({{ targets }}) as t
),

known_messages as (  -- statement / report / notification headers the bank had created by then
    select distinct file_id, statement_id, account, message_type, created_at
    from {{ bank_statements }}
    where account = any({{ accounts }})
),

anchors as (
    select
        b.account as account_id,
        b.type_code as anchor_type,
        case
            when b.type_code = 'CLBD' then (b.date + 1)::timestamp at time zone 'UTC'
            when b.type_code in ('OPBD', 'PRCD') then coalesce(b.date, (b.date_time at time zone 'UTC')::date)::timestamp at time zone 'UTC'
            else coalesce(b.date_time, m.created_at)
        end as anchor_at,
        case b.credit_debit when 'DBIT' then -b.amount else b.amount end as balance,
        case b.type_code when 'ITBD' then 1 when 'CLBD' then 2 when 'OPBD' then 3 when 'PRCD' then 4 else 5 end as priority,
        m.created_at,
        b.file_id
    from {{ bank_balances }} as b
    inner join known_messages as m
        on m.file_id = b.file_id and m.statement_id = b.statement_id and m.account is not distinct from b.account
    where b.account = any({{ accounts }})
        and b.type_code in ('CLBD', 'OPBD', 'PRCD', 'ITBD', 'ITAV')
        and (b.type_code <> 'CLBD' or b.message_type = 'camt.053')
),

chosen as (
    select distinct on (t.account_id, t.cutoff_at)
        t.account_id, t.cutoff_at, t.as_of, a.anchor_type, a.anchor_at, a.balance as anchor_balance,
        a.file_id as anchor_file_id
    from targets as t
    left join anchors as a
        on a.account_id = t.account_id and a.created_at <= t.cutoff_at and a.anchor_at <= t.as_of
    order by t.account_id, t.cutoff_at, a.anchor_at desc nulls last, a.priority, a.file_id desc
),

notified as (  -- camt.054 entries, one per bank reference (a re-sent notification counts once)
    select distinct on (e.account, coalesce(e.acct_svcr_ref, e.entry_ref, e.file_id || ':' || e.entry_index))
        e.account as account_id,
        coalesce(lower(nullif(e.uetr, '')), nullif(nullif(e.end_to_end_id, ''), 'NOTPROVIDED'),
                 coalesce(e.tx_acct_svcr_ref, e.acct_svcr_ref)) as txn_key,
        e.credit_debit as direction,
        case e.credit_debit when 'CRDT' then e.entry_amount else 0 end as credit,
        case e.credit_debit when 'DBIT' then e.entry_amount else 0 end as debit,
        coalesce(e.booking_date_time, e.booking_date::timestamp at time zone 'UTC') as booked_at,
        m.created_at
    from {{ bank_entries }} as e
    inner join known_messages as m
        on m.file_id = e.file_id and m.statement_id = e.statement_id and m.account is not distinct from e.account
    where e.message_type = 'camt.054'
        and e.account = any({{ accounts }})
        and e.detail_index <= 0
        and coalesce(e.status, 'BOOK') = 'BOOK'
    order by e.account, coalesce(e.acct_svcr_ref, e.entry_ref, e.file_id || ':' || e.entry_index), m.created_at, e.file_id
),

ledger_lines as (  -- a re-exported entry counts once: the latest export wins
    select distinct on (entry_id) account as account_id, booked_at,
        coalesce(lower(nullif(uetr, '')), nullif(nullif(end_to_end_id, ''), 'NOTPROVIDED'), nullif(bank_reference, ''))
            as txn_key,
        case side when 'D' then 'CRDT' else 'DBIT' end as direction,
        case side when 'D' then amount else -amount end as signed_amount
    from {{ ledger_lines }}
    where account = any({{ accounts }})
    order by entry_id, file_id desc, line_number desc
),

-- A movement counts on both sides from the moment the first side booked it,
-- once the other side has it too: a deposit the bank booked at 11:58 and the
-- ledger at 12:03 is in both balances as of 11:58 for a check at 12:15, not a
-- difference. (Settling time = cut-off - as_of.)
bank_first as (
    select account_id, txn_key, direction, min(booked_at) as booked_at, min(created_at) as created_at
    from notified where txn_key is not null group by account_id, txn_key, direction
),

ledger_first as (
    select account_id, txn_key, direction, min(booked_at) as booked_at
    from ledger_lines where txn_key is not null group by account_id, txn_key, direction
),

bank as (
    select
        c.account_id, c.cutoff_at, c.as_of, c.anchor_type, c.anchor_at, c.anchor_balance,
        coalesce(sum(n.credit), 0) as notified_credits,
        coalesce(sum(n.debit), 0) as notified_debits,
        count(n.account_id) as notified_entries
    from chosen as c
    left join (
        notified as n
        left join ledger_first as lf
            on lf.account_id = n.account_id and lf.txn_key = n.txn_key and lf.direction = n.direction
    )
        on n.account_id = c.account_id
        and n.created_at <= c.cutoff_at
        and n.booked_at <= c.cutoff_at
        and least(n.booked_at, lf.booked_at) <= c.as_of
        -- after the anchor; at its very moment only for a statement balance, which is anchored at a
        -- day's boundary (00:00 belongs to the new day: a date-only booking of the day counts)
        and (c.anchor_at is null or n.booked_at > c.anchor_at
             or (n.booked_at = c.anchor_at and c.anchor_type in ('CLBD', 'OPBD', 'PRCD')))
    group by c.account_id, c.cutoff_at, c.as_of, c.anchor_type, c.anchor_at, c.anchor_balance
),

ledger as (
    select
        t.account_id, t.cutoff_at,
        sum(l.signed_amount) as ledger_balance,
        count(l.account_id) filter (where l.booked_at >= date_trunc('day', t.cutoff_at at time zone 'UTC') at time zone 'UTC')
            as ledger_postings
    from targets as t
    left join (
        ledger_lines as l
        left join bank_first as bf
            on bf.account_id = l.account_id and bf.txn_key = l.txn_key and bf.direction = l.direction
    )
        on l.account_id = t.account_id
        and l.booked_at <= t.cutoff_at
        and least(l.booked_at, case when bf.created_at <= t.cutoff_at then bf.booked_at end) <= t.as_of
    group by t.account_id, t.cutoff_at
)

select
    b.account_id,
    b.cutoff_at,
    b.as_of,
    b.anchor_type,
    b.anchor_at,
    b.anchor_balance,
    b.notified_credits,
    b.notified_debits,
    b.notified_entries::integer as notified_entries,
    case
        when b.anchor_type in ('ITBD', 'ITAV') and b.anchor_at >= date_trunc('day', b.cutoff_at at time zone 'UTC') at time zone 'UTC'
            then 'camt.052'
        when b.anchor_type is not null then 'camt.054'
        else 'none'
    end as bank_source,
    b.anchor_balance + b.notified_credits - b.notified_debits as bank_balance,
    l.ledger_balance,
    coalesce(l.ledger_postings, 0)::integer as ledger_postings
from bank as b
inner join ledger as l on l.account_id = b.account_id and l.cutoff_at = b.cutoff_at
{%- endmacro %}
