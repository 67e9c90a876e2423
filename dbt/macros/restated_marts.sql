{#
  Helpers of the marts partitioned by a row's own date (macros/daily_partition.sql
  explains restate_from): ledger_consistency, transaction_matches,
  statement_checks and the data test assert_journals_balance; and of the rows
  account_reconciliation reads in a daily run (unsettled_match).
#}

{#- A data test is never incremental: in a daily run (DELTRAN_PARTITION_DATES set,
    or --vars partition_dates) it tests the rows from restate_from on, else all.
    The variables are read while executing only, so the parse never records them. -#}
{% macro test_restate_from() -%}
    {%- if execute -%}
        {%- set dates = var('partition_dates', none) -%}
        {%- if dates is not none -%}
            {{ return((dates | sort | first) if dates | length > 0 else none) }}
        {%- endif -%}
        {%- if env_var('DELTRAN_PARTITION_DATES', '') | trim -%}
            {%- set earliest = env_var('DELTRAN_RESTATE_FROM', '') | trim -%}
            {{ return(earliest if earliest else none) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#
  The journal lines to check (ledger_consistency, assert_journals_balance): all
  of stg_ledger__journal_lines, or in a daily run (`earliest` set) every current
  line of the journals with a line, in any export, booked on or after `earliest`,
  those booked before it too: every export of an entry exported again since the
  last build is dated from restate_from on (deltran.recon.partitions), so no
  other journal can change. The dates are compared through the expression that
  revision 0010 indexes, the journals found through revision 0011's index.
#}
{% macro journal_lines_to_check(earliest) -%}
    select * from {{ ref('stg_ledger__journal_lines') }}
    {%- if earliest is not none %}
        where journal_id in ({{ restated_journals(earliest) }})
    {%- endif %}
{%- endmacro %}

{% macro restated_journals(earliest) -%}
    select journal_id from {{ source('raw', 'ledger_lines') }}
    where (booked_at at time zone 'UTC')::date >= '{{ earliest }}'::date
{%- endmacro %}

{% macro delete_restated_journals() -%}
    {%- set earliest = restate_from() -%}
    {%- if earliest is none and this is not none and is_incremental() -%}
        delete from {{ this }}  {#- a build of every date on an existing table: all rebuilt -#}
    {%- elif earliest is not none -%}
        delete from {{ this }} where business_date >= '{{ earliest }}'::date
            or journal_id in ({{ restated_journals(earliest) }})
    {%- endif -%}
{%- endmacro %}

{#
  statement_checks' statements to recompute (the camt.053 headers in CTE
  `headers`: account_id, statement_id, to_at, created_at): all of them, or in a
  daily run those with a delivery dated (to-date or creation) or a closing
  balance on or after `earliest`, those whose stored row is dated so, and the
  undated. Every delivery loaded since the last build is dated from
  restate_from on (deltran.recon.partitions), so no other statement changes.
#}
{% macro restated_statements(headers, earliest) -%}
    {%- if earliest is none -%}
        select distinct account_id, statement_id from {{ headers }}
    {%- else -%}
        select account_id, statement_id from {{ headers }}
        where (to_at at time zone 'UTC')::date >= '{{ earliest }}'::date
            or (created_at at time zone 'UTC')::date >= '{{ earliest }}'::date
            or (to_at is null and created_at is null)
        union
        select account as account_id, statement_id from {{ source('raw', 'bank_balances') }}
        where message_type = 'camt.053' and type_code = 'CLBD'
            and coalesce(date, (date_time at time zone 'UTC')::date) >= '{{ earliest }}'::date
        union
        select account_id, statement_id from {{ this }}
        where business_date >= '{{ earliest }}'::date or business_date is null
    {%- endif -%}
{%- endmacro %}

{#- The matching rows whose effect on (bank - ledger) is not settled
    (int_bank_entries_matched_to_ledger; `m` a prefix such as 'm.'): every row but
    an exact pair the passes found. Their 'matched' means equal amounts in the same
    direction (a batch's share is the posting's own amount), so the pair's bank and
    ledger effects cancel once both sides are booked, and a day after both booking
    dates explains nothing by it. A person's pair (matched_on 'manual') is held to
    the account and currency only, so it stays in. account_reconciliation reads, in
    a daily run, only these rows and those booked from its first date on, by this
    partial index and the booking dates'. Statuses, not a comparison of amounts:
    the planner counts them from the columns' statistics, so it takes the index. -#}
{% macro unsettled_match(m='') -%}
    ({{ m }}match_status <> 'matched' or {{ m }}matched_on = 'manual')
{%- endmacro %}
