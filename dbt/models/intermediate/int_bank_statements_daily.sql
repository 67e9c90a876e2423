{{ config(pre_hook="set local enable_nestloop = off") }}
-- (No nested loop: the staging views estimate a few statements where there are
-- thousands, and nested loops over them ran for minutes at 100,000 entries.)
-- One row per EMI account and business date: the day's end-of-day statement
-- with its opening and closing balances and the continuity checks against the
-- account's previous statement. The business date is the closing balance's
-- date (else the statement's to-date, else its creation date).
--
-- No balance is trusted blindly:
-- * the account's currency is the statement's Acct/Ccy (else the one currency
--   its closing balances are in); a balance or entry in any other currency is
--   a finding and the account has no usable bank balance (it fails closed: the
--   threshold check suspends payouts on an unknown balance), so a balance is
--   never compared with a ledger in another currency;
-- * a balance type given more than once (two CLBD, say) is a finding; the
--   balance used is the one the statement's own arithmetic supports (opening +
--   credits - debits of its booked entries = closing); if none does, or more
--   than one pair does, the closing balance is unknown (fails closed).
-- HOOK (account registry, seed account_registry): once it lands, the account's
-- currency is the registry's, and a statement Acct/Ccy that differs from it is
-- a currency finding too: join it in `statement_currency` below.
with closing_currencies as (
    -- the one currency a statement's closing balances are in (null when they disagree)
    select statement_id, account_id, case when count(distinct currency) = 1 then min(currency) end as currency
    from {{ ref('stg_bank__statement_balances') }}
    where balance_type = 'CLBD'
    group by statement_id, account_id
),

statement_currency as (
    select
        s.statement_id,
        s.account_id,
        -- the statement's Acct/Ccy, else (no Acct/Ccy) its closing balances' one currency
        coalesce(s.currency, cc.currency) as account_currency
    from {{ ref('stg_bank__statements') }} as s
    left join closing_currencies as cc
        on cc.statement_id = s.statement_id and cc.account_id is not distinct from s.account_id
),

currency_findings as (
    select statement_id, account_id, string_agg(finding, '; ' order by finding) as currency_finding
    from (
        select
            b.statement_id, b.account_id,
            'balance ' || b.balance_type || ' in ' || b.currency || ', account in '
            || coalesce(c.account_currency, 'an unknown currency') as finding
        from {{ ref('stg_bank__statement_balances') }} as b
        inner join statement_currency as c
            on c.statement_id = b.statement_id and c.account_id is not distinct from b.account_id
        where b.currency is distinct from c.account_currency
        union
        select
            e.statement_id, e.account_id,
            count(*) || ' entr' || case when count(*) = 1 then 'y' else 'ies' end || ' in ' || e.currency
            || ', account in ' || coalesce(c.account_currency, 'an unknown currency')
        from {{ ref('stg_bank__statement_entries') }} as e
        inner join statement_currency as c
            on c.statement_id = e.statement_id and c.account_id is not distinct from e.account_id
        where e.currency is distinct from c.account_currency
        group by e.statement_id, e.account_id, e.currency, c.account_currency
    ) as found
    group by statement_id, account_id
),

balance_values as (
    select statement_id, account_id, balance_type, amount, max(balance_date) as balance_date, count(*) as copies
    from {{ ref('stg_bank__statement_balances') }}
    where balance_type in ('OPBD', 'PRCD', 'CLBD', 'CLAV')
    group by statement_id, account_id, balance_type, amount
),

balance_counts as (
    select
        statement_id,
        account_id,
        string_agg(balance_type || ' given ' || given || ' times', '; ' order by balance_type)
        filter (where given > 1)                                               as duplicate_finding,
        max(distinct_values) filter (where balance_type in ('OPBD', 'PRCD', 'CLBD')) as most_values
    from (
        select statement_id, account_id, balance_type, sum(copies) as given, count(*) as distinct_values
        from balance_values
        group by statement_id, account_id, balance_type
    ) as per_type
    group by statement_id, account_id
),

entry_movement as (
    -- opening + this = closing, by the statement's booked entries (each Ntry
    -- once): only for a statement with several values of a balance type, the
    -- one case that reads it (supported_pairs), so a daily run does not sum
    -- every entry of the history (0.1 s at 30 demo days)
    select
        e.statement_id, e.account_id,
        sum(case e.credit_debit when 'CRDT' then e.entry_amount else -e.entry_amount end) as net_movement
    from {{ ref('stg_bank__statement_entries') }} as e
    inner join balance_counts as k
        on k.statement_id = e.statement_id and k.account_id is not distinct from e.account_id
    where e.detail_index = 0 and coalesce(e.status, 'BOOK') = 'BOOK' and k.most_values > 1
    group by e.statement_id, e.account_id
),

openings as (
    -- OPBD, else PRCD (the previous closing) when the statement has no OPBD
    select v.*
    from balance_values as v
    where v.balance_type = 'OPBD'
        or (v.balance_type = 'PRCD' and not exists (
            select 1 from balance_values as o
            where o.statement_id = v.statement_id and o.account_id is not distinct from v.account_id
                and o.balance_type = 'OPBD'
        ))
),

supported_pairs as (
    -- (opening, closing) pairs the statement's arithmetic supports
    select o.statement_id, o.account_id, o.amount as opening, c.amount as closing, c.balance_date as closing_date
    from openings as o
    inner join balance_values as c
        on c.statement_id = o.statement_id and c.account_id is not distinct from o.account_id
        and c.balance_type = 'CLBD'
    left join entry_movement as m
        on m.statement_id = o.statement_id and m.account_id is not distinct from o.account_id
    where o.amount + coalesce(m.net_movement, 0) = c.amount
),

single_values as (
    select
        statement_id,
        account_id,
        min(amount) filter (where balance_type = 'OPBD')               as opbd,
        min(amount) filter (where balance_type = 'PRCD')               as prcd,
        min(amount) filter (where balance_type = 'CLBD')               as clbd,
        max(balance_date) filter (where balance_type = 'CLBD')         as closing_date,
        case when count(*) filter (where balance_type = 'CLAV') = 1
                then min(amount) filter (where balance_type = 'CLAV')
        end as clav
    from balance_values
    group by statement_id, account_id
),

supported as (
    select statement_id, account_id, count(*) as pairs, min(opening) as opening, min(closing) as closing
    from supported_pairs
    group by statement_id, account_id
),

balances as (
    -- one value per type (the usual case): taken as given (the parser's
    -- arithmetic check reports a statement that does not add up); several
    -- values of a type: the one pair the arithmetic supports, else unknown
    select
        k.statement_id,
        k.account_id,
        k.duplicate_finding,
        case when k.most_values = 1 then coalesce(v.opbd, v.prcd)
            when sp.pairs = 1 then sp.opening
        end as opening,
        case when k.most_values = 1 then v.clbd
            when sp.pairs = 1 then sp.closing
        end as closing,
        v.closing_date,
        v.clav,
        k.most_values > 1                          as has_conflicting_balances
    from balance_counts as k
    left join single_values as v
        on v.statement_id = k.statement_id and v.account_id is not distinct from k.account_id
    left join supported as sp
        on sp.statement_id = k.statement_id and sp.account_id is not distinct from k.account_id
),

findings as (
    select statement_id, account, count(*) as finding_count
    from {{ source('raw', 'statement_findings') }}
    group by statement_id, account
),

daily as (
    select
        s.account_id,
        c.account_currency as currency,
        s.servicer_bic,
        s.statement_id,
        s.electronic_seq_nb,
        s.copies_received,
        coalesce(b.closing_date, (s.to_at at time zone 'UTC')::date, (s.created_at at time zone 'UTC')::date)
            as business_date,
        case when cf.currency_finding is null then b.opening end as bank_opening_balance,
        -- fail closed: no usable closing balance when its currency or its value is in doubt
        case when cf.currency_finding is null then b.closing end as bank_closing_balance,
        case when cf.currency_finding is null then b.clav end    as bank_closing_available,
        coalesce(f.finding_count, 0) as arithmetic_finding_count,
        nullif(concat_ws(
            '; ',
            b.duplicate_finding,
            case when b.has_conflicting_balances and b.closing is null
                    then 'no closing balance agrees with opening + entries: the account fails closed'
                when b.has_conflicting_balances
                    then 'closing balance ' || b.closing || ' used: the one opening + entries support'
            end,
            case when cf.currency_finding is not null
                    then 'currency disagrees: ' || cf.currency_finding || ': the account fails closed'
            end
        ), '') as balance_finding
    from {{ ref('stg_bank__statements') }} as s
    left join statement_currency as c
        on c.statement_id = s.statement_id and c.account_id is not distinct from s.account_id
    left join balances as b
        on b.statement_id = s.statement_id and b.account_id is not distinct from s.account_id
    left join currency_findings as cf
        on cf.statement_id = s.statement_id and cf.account_id is not distinct from s.account_id
    left join findings as f
        on f.statement_id = s.statement_id and f.account is not distinct from s.account_id
),

ranked as (
    -- two different statements for the same account and day: keep the one
    -- with the highest sequence number, and say the day had several
    select
        *,
        row_number()
            over (partition by account_id, business_date order by electronic_seq_nb desc nulls last, statement_id desc)
            as day_rank,
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
    balance_finding,
    (copies_received > 1 or statements_that_day > 1) as has_duplicate_statement,
    lag(bank_closing_balance) over account_days  as previous_closing_balance,
    lag(electronic_seq_nb) over account_days     as previous_electronic_seq_nb,
    lag(business_date) over account_days         as previous_business_date
from ranked
where day_rank = 1
window account_days as (partition by account_id order by business_date)
