-- One row per EMI account and end-of-day statement (camt.053 Stmt/Id): the
-- continuity and arithmetic checks of tier 3, on the statement assembled from
-- every file that carried it.
-- * The same statement delivered again (the same content, e.g. a copy or a
--   re-sent file) is recognised once: deliveries counts the files,
--   duplicate_deliveries those that repeat content already received.
-- * A statement split over several messages (pages: the same Stmt/Id, each
--   part with its own entries) is assembled before it is checked: its entries
--   are the union of the parts, each bank entry once; the opening balance comes
--   from the part that has it, the closing from the part that has it.
-- * opening + credits - debits = closing on the assembled entries.
-- * Continuity against the account's previous statement: opening = previous
--   closing; ElctrncSeqNb neither skips (gap) nor repeats.
-- Incremental: a daily run recomputes the statements it may change (a
-- delivery dated, by its to-date, its creation or its closing balance, on or
-- after restate_from: every file loaded since the last build is, see
-- deltran.recon.partitions), reading only their files' entries, and takes every
-- other statement's own figures from its stored row. The continuity columns
-- (previous statement, sequence repeats) are recomputed over all statements
-- (one row each: no entry is read), and a stored row is written again only if
-- they changed. delete+insert by statement_id: a written statement_id is
-- written for every account that has it.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='statement_id',
          on_schema_change='fail', pre_hook="set local enable_nestloop = off") }}
-- (No nested loop: the entries are estimated at a few thousand rows where there
-- are a million, and the assembled entries at one row; a nested loop joined
-- them to every statement: 136 s at 1,000,000 entries, 7 s without.)
{%- set earliest = restate_from() %}

with all_headers as (
    select account as account_id, statement_id, file_id, electronic_seq_nb, created_at, to_at, account_currency
    from {{ source('raw', 'bank_statements') }}
    where message_type = 'camt.053'
),

-- the statements to recompute: in a daily run, those with a delivery or a
-- closing balance dated from restate_from on, or a stored row dated so (or
-- undated); else all (macros/restated_marts.sql)
restated as (
    {{ restated_statements('all_headers', earliest) }}
),

headers as (
    select h.* from all_headers as h
    where exists (
            select 1 from restated as r
            where r.account_id is not distinct from h.account_id and r.statement_id = h.statement_id
        )
),

entries as (  -- one row per booked entry and file (a batch entry once, by its detail 0)
    select
        account as account_id, statement_id, file_id,
        coalesce(acct_svcr_ref, entry_ref, entry_index::text) || '|' || credit_debit || '|' || entry_amount
            as entry_key,
        case credit_debit when 'CRDT' then entry_amount else 0 end as credit,
        case credit_debit when 'DBIT' then entry_amount else 0 end as debit
    from {{ source('raw', 'bank_entries') }}
    where message_type = 'camt.053' and detail_index = 0 and coalesce(status, 'BOOK') = 'BOOK'
        and {{ 'file_id in (select h.file_id from headers as h)' if earliest is not none else 'true' }}
),

balances as (
    select
        account as account_id, statement_id, file_id, type_code,
        case credit_debit when 'DBIT' then -amount else amount end as amount,
        coalesce(date, (date_time at time zone 'UTC')::date) as balance_date
    from {{ source('raw', 'bank_balances') }}
    where message_type = 'camt.053' and type_code in ('OPBD', 'PRCD', 'CLBD')
        and {{ 'file_id in (select h.file_id from headers as h)' if earliest is not none else 'true' }}
),

-- each file's part of a statement, fingerprinted by its content: its entries and
-- its balances, each aggregated once per (account, statement, file) and joined
-- (a subquery per header would scan every entry once per statement: quadratic)
entry_fingerprints as (
    select account_id, statement_id, file_id, string_agg(entry_key, ',' order by entry_key) as entries_text
    from entries
    group by account_id, statement_id, file_id
),

balance_fingerprints as (
    select
        account_id, statement_id, file_id,
        string_agg(type_code || '=' || amount, ',' order by type_code) as balances_text
    from balances
    group by account_id, statement_id, file_id
),

deliveries as (
    select
        h.account_id, h.statement_id, h.file_id, h.electronic_seq_nb, h.created_at, h.to_at, h.account_currency,
        md5(coalesce(ef.entries_text, '') || '#' || coalesce(bf.balances_text, '')) as content_hash
    from headers as h
    left join entry_fingerprints as ef
        on ef.statement_id = h.statement_id
        and ef.file_id = h.file_id
        and ef.account_id is not distinct from h.account_id
    left join balance_fingerprints as bf
        on bf.statement_id = h.statement_id
        and bf.file_id = h.file_id
        and bf.account_id is not distinct from h.account_id
),

parts as (  -- distinct content: a page (or a corrected version); a repeat is a duplicate delivery
    select distinct on (account_id, statement_id, content_hash) *
    from deliveries
    order by account_id, statement_id, content_hash, file_id
),

assembled_entries as (
    select e.account_id, e.statement_id, e.entry_key, max(e.credit) as credit, max(e.debit) as debit
    from entries as e
    inner join parts as p
        on p.account_id is not distinct from e.account_id and p.statement_id = e.statement_id and p.file_id = e.file_id
    group by e.account_id, e.statement_id, e.entry_key
),

assembled_balances as (
    select
        b.account_id, b.statement_id,
        (
            array_agg(b.amount order by (b.type_code = 'OPBD') desc, b.file_id)
            filter (where b.type_code in ('OPBD', 'PRCD'))
        )[1
        ] as opening_balance,
        (array_agg(b.amount order by b.file_id desc) filter (where b.type_code = 'CLBD'))[1] as closing_balance,
        max(b.balance_date) filter (where b.type_code = 'CLBD') as closing_date
    from balances as b
    inner join parts as p
        on p.account_id is not distinct from b.account_id and p.statement_id = b.statement_id and p.file_id = b.file_id
    group by b.account_id, b.statement_id
),

statements as (
    select
        d.account_id,
        d.statement_id,
        min(d.account_currency) as currency,
        max(d.electronic_seq_nb) as electronic_seq_nb,
        count(*) as deliveries,
        count(distinct d.content_hash) as parts,
        count(*) - count(distinct d.content_hash) as duplicate_deliveries,
        max(d.to_at) as to_at,
        max(d.created_at) as created_at
    from deliveries as d
    group by d.account_id, d.statement_id
),

checked as (
    select
        s.account_id,
        coalesce(b.closing_date, (s.to_at at time zone 'UTC')::date, (s.created_at at time zone 'UTC')::date)
            as business_date,
        s.statement_id,
        s.currency,
        s.electronic_seq_nb,
        s.deliveries,
        s.parts,
        s.duplicate_deliveries,
        b.opening_balance,
        coalesce(sum(e.credit), 0) as credits,
        coalesce(sum(e.debit), 0) as debits,
        count(e.entry_key) as entry_count,
        b.closing_balance
    from statements as s
    left join assembled_balances as b
        on b.account_id is not distinct from s.account_id and b.statement_id = s.statement_id
    left join assembled_entries as e
        on e.account_id is not distinct from s.account_id and e.statement_id = s.statement_id
    group by
        s.account_id, s.statement_id, s.currency, s.electronic_seq_nb, s.deliveries, s.parts,
        s.duplicate_deliveries, b.opening_balance, b.closing_balance, b.closing_date, s.to_at, s.created_at
),

-- the statements recomputed, and (in a daily run) every other one as stored
all_checked as (
    select
        account_id, business_date, statement_id, currency, electronic_seq_nb, deliveries, parts,
        duplicate_deliveries, opening_balance, credits, debits, entry_count, closing_balance
    from checked
    {%- if earliest is not none %}
    union all
    select
        t.account_id, t.business_date, t.statement_id, t.currency, t.electronic_seq_nb, t.deliveries, t.parts,
        t.duplicate_deliveries, t.opening_balance, t.credits, t.debits, t.entry_count, t.closing_balance
    from {{ this }} as t
    where not exists (
        select 1 from restated as r where r.account_id is not distinct from t.account_id and r.statement_id = t.statement_id
    )
    {%- endif %}
),

sequenced as (
    select
        *,
        lag(closing_balance) over account_statements   as previous_closing_balance,
        lag(electronic_seq_nb) over account_statements as previous_electronic_seq_nb,
        lag(statement_id) over account_statements      as previous_statement_id,
        count(*) over (partition by account_id, electronic_seq_nb) as statements_with_seq_nb
    from all_checked
    window account_statements as (partition by account_id order by business_date, electronic_seq_nb, statement_id)
),

result as (
    select
        account_id,
        business_date,
        statement_id,
        currency,
        electronic_seq_nb,
        previous_statement_id,
        previous_electronic_seq_nb,
        deliveries,
        parts,
        duplicate_deliveries,
        entry_count,
        opening_balance,
        credits,
        debits,
        closing_balance,
        opening_balance + credits - debits                                          as computed_closing_balance,
        previous_closing_balance,
        case when previous_statement_id is null then null
            else (opening_balance is not distinct from previous_closing_balance)
        end as is_opening_continuous,
        coalesce(electronic_seq_nb - previous_electronic_seq_nb > 1, false)         as has_sequence_gap,
        (electronic_seq_nb is not null and statements_with_seq_nb > 1)              as has_sequence_repeat,
        ((opening_balance + credits - debits) is not distinct from closing_balance) as is_arithmetic_ok
    from sequenced
)

select r.*
from result as r
{%- if earliest is not none %}
-- what changed: a recomputed statement, or a stored one whose previous
-- statement or sequence repeat changed (all its accounts' rows: delete+insert
-- replaces a statement_id whole)
where r.statement_id in (
    select c.statement_id from result as c
    where exists (
        select 1 from restated as x where x.account_id is not distinct from c.account_id and x.statement_id = c.statement_id
    )
    or exists (
        select 1 from {{ this }} as t
        where t.account_id is not distinct from c.account_id and t.statement_id = c.statement_id
            and (
                t.previous_statement_id is distinct from c.previous_statement_id
                or t.previous_electronic_seq_nb is distinct from c.previous_electronic_seq_nb
                or t.previous_closing_balance is distinct from c.previous_closing_balance
                or t.has_sequence_repeat is distinct from c.has_sequence_repeat
            )
    )
)
{%- endif %}
