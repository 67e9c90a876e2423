{#
  The daily marts' partition filter (docs/design.md, "Partitions"). A daily run
  passes the business dates it builds (deltran.recon.partitions: its own date and
  any date it restates) in the environment variable DELTRAN_PARTITION_DATES
  (comma-separated ISO dates; deltran.warehouse.dbt sets it for every invocation,
  and unsets it for a build of every date); an incremental model then selects
  only those dates' rows, and dbt's delete+insert on business_date replaces
  exactly them in one transaction. A first build, a --full-refresh, a unit test,
  or a build without the variable selects every date.

  Why an environment variable read here, and not a --vars entry: dbt's partial
  parse starts afresh whenever --vars change (every daily run has other dates),
  and a full parse of the project costs seconds on every run. env_var() is read
  only inside the is_incremental() branch, which is false while dbt parses
  (execute is false), so the parse never records the variable and a new date
  re-parses nothing. The --vars entry partition_dates is still honoured (a
  person's `deltran dbt build --vars ...`), at the price of a full parse.
#}
{% macro in_daily_partition(column) -%}
    {%- set dates = partition_dates() -%}
    {%- if dates is none -%}
        true
    {%- else -%}
        {{ column }} in (
            {%- for d in dates %}'{{ d }}'::date{% if not loop.last %}, {% endif %}{% endfor -%}
            {%- if dates | length == 0 %}null{% endif -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- The business dates an incremental model builds in a daily run (ISO strings,
    sorted); none when it builds every date. A unit test has no relation (this):
    it reads every given row. -#}
{% macro partition_dates() -%}
    {%- if this is not none and is_incremental() -%}
        {%- set dates = var('partition_dates', none) -%}
        {%- if dates is none -%}
            {%- set listed = env_var('DELTRAN_PARTITION_DATES', 'all') -%}
            {%- if listed != 'all' -%}
                {%- set dates = listed.split(',') | map('trim') | reject('equalto', '') | list -%}
            {%- endif -%}
        {%- endif -%}
        {{ return(dates | sort if dates is not none else none) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#
  The filter of the models partitioned by a row's own date (a movement's or a
  posting's booking date, a journal's date), not by the business dates of the
  daily marts: a daily run rebuilds every row dated on or after the earliest
  date its new files or decisions touch (deltran.recon.partitions.Plan.restate_from,
  in DELTRAN_RESTATE_FROM), whether or not that date has a statement, and keeps
  every row before it, which nothing new can change. Outside an incremental
  daily run (a first build, --full-refresh, a build of every date, a unit test)
  it selects every row. A model using it replaces its rows from that date (the
  strategy 'restate' below, or a pre-hook delete: delete_restated_by), so a date
  whose rows all went away (a statement superseded by its re-sent version) is
  emptied too.
#}
{% macro restate_from() -%}
    {%- if this is not none and is_incremental() -%}
        {{ return(daily_restate_from()) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The same date for a model that is not itself incremental (a daily run's scope
    table): none outside a daily run, and while dbt parses (execute is false). -#}
{% macro daily_restate_from() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set dates = var('partition_dates', none) -%}
    {%- if dates is not none -%}
        {{ return((dates | sort | first) if dates | length > 0 else none) }}
    {%- endif -%}
    {%- set earliest = env_var('DELTRAN_RESTATE_FROM', '') | trim -%}
    {{ return(earliest if earliest else none) }}
{%- endmacro %}

{% macro on_or_after_restated(column) -%}
    {%- set earliest = restate_from() -%}
    {%- if earliest is none -%} true {%- else -%} {{ column }} >= '{{ earliest }}'::date {%- endif -%}
{%- endmacro %}

{#- What the strategies 'restate' and 'rescope' share: the target's rows that
    `replaced` holds of (a condition on the alias kept) become exactly the
    select's (source), as a delete of them all and an append would make them
    (the select gives only rows that `replaced` holds of), but a row the select
    gives again unchanged stays where it is: only the rows that changed or are
    new are deleted and inserted, and pay for the table's indexes. With
    `replaced` none (an incremental run without a date or a scope: a build of
    every date on existing tables) every row is replaced. The delete hashes the
    select's rows (a temporary table without statistics, whose nested loop was
    quadratic in transaction_matches). The insert finds a new row's twin among
    the kept rows by the unique key; with by_key_lookups, by that key's index
    whatever the planner guesses (a target whose replaced rows are not found by
    an index, the scope's items: a hash of the whole target cost
    transaction_matches 66-90 ms at 30 demo days, the lookups 20 ms). -#}
{% macro replace_changed_rows(arg_dict, replaced, by_key_lookups) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = config.get('unique_key') -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | list -%}
    {%- set new_row = 'new.' ~ columns | join(', new.') -%}
    {%- set kept_row = 'kept.' ~ columns | join(', kept.') -%}
    {%- if replaced is none -%}
        delete from {{ target }};
        insert into {{ target }} ({{ columns | join(', ') }})
        select {{ columns | join(', ') }} from {{ source }}
    {%- else -%}
        set local enable_nestloop = off;
        delete from {{ target }} as kept
        where {{ replaced }}
            and not exists (
                select 1 from {{ source }} as new
                where new.{{ key }} = kept.{{ key }} and ({{ new_row }}) is not distinct from ({{ kept_row }})
            );
        set local enable_nestloop = on;
        {%- if by_key_lookups %}
        set local enable_hashjoin = off;
        set local enable_mergejoin = off;
        {%- endif %}
        insert into {{ target }} ({{ columns | join(', ') }})
        select {{ new_row }}
        from {{ source }} as new
        where not exists (
            select 1 from {{ target }} as kept
            where kept.{{ key }} = new.{{ key }} and {{ replaced }}
                and ({{ new_row }}) is not distinct from ({{ kept_row }})
        )
    {%- endif -%}
{%- endmacro %}

{#- The incremental strategy of the numbered movements and postings
    (incremental_strategy='restate', meta restated_by: the date column,
    unique_key: the row's id): the rows dated from restate_from on are replaced
    (replace_changed_rows; most of the day before the run's own, given again
    unchanged when late items touch it, stays). The select reads its own table's
    rows before the date only (kept_before_restated). -#}
{% macro get_incremental_restate_sql(arg_dict) -%}
    {%- set earliest = restate_from() -%}
    {%- set date_column = config.get('meta')['restated_by'] -%}
    {%- set replaced = none if earliest is none else "kept." ~ date_column ~ " >= '" ~ earliest ~ "'::date" -%}
    {{ replace_changed_rows(arg_dict, replaced, by_key_lookups=false) }}
{%- endmacro %}

{#- The rows of the model's own table that stay as they are in a daily run (those
    dated before restate_from), for the select's lookups in it; none in an
    incremental run without a date, which replaces every row. -#}
{% macro kept_before_restated(column) -%}
    {%- set earliest = restate_from() -%}
    {%- if earliest is none -%} false {%- else -%} {{ column }} < '{{ earliest }}'::date {%- endif -%}
{%- endmacro %}

{#- A model whose rows are dated by another model's rows (a reversal by its
    movement's booking date, int_bank_reversals): delete every row whose key
    (column) is not among the other model's rows dated before the restated date
    (relation, by key and date_column), so a row whose dated row is gone goes too. -#}
{% macro delete_restated_by(column, relation, key, date_column) -%}
    {%- if this is not none and is_incremental() -%}
        {%- set earliest = restate_from() -%}
        delete from {{ this }} as restated
        {%- if earliest is not none %} where not exists (
            select 1 from {{ relation }} as dated
            where dated.{{ key }} = restated.{{ column }} and dated.{{ date_column }} < '{{ earliest }}'::date
        )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The indexes a daily run's lookups in the table itself or in the models after
    it need (the copies kept before the restated date, say). A daily run creates
    them in its pre-hook, before the lookups (also on a table built before they
    were added); a whole build in a post-hook after its commit (after_build=true),
    so the first daily run after it does not pay for them. After the commit, as a
    --full-refresh's old table still holds the indexes' names until it is dropped.
    indexes: {name: "columns or (expressions)"}, or {name: {"columns": ..., "where": ...}}
    for a partial index, {name: {"columns": ..., "unique": true}} for a key the
    table must not repeat: the database refuses a write that would, where a
    data test would read the whole table after every run (issue 7). -#}
{% macro lookup_indexes(indexes, after_build=false) -%}
    {%- if this is not none and (after_build or is_incremental()) -%}
        {%- for name, index in indexes.items() %}
            {%- set columns = index if index is string else index['columns'] %}
            create {% if index is not string and index.get('unique') %}unique {% endif -%}
            index if not exists {{ this.identifier }}_{{ name }}_idx on {{ this }} ({{ columns }})
            {%- if index is not string and index.get('where') %} where {{ index['where'] }}{% endif %};
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- A model kept by item in a daily run: true when it decides again only its
    scope's items (int_matches__references_scope, int_matching_scope). -#}
{% macro rematch_scoped() -%}
    {{ return(this is not none and is_incremental() and restate_from() is not none) }}
{%- endmacro %}

{#- Whether an item is in a scope model's list (int_matches__references_scope,
    int_matching_scope): its id is listed for its side, or the list says 'all'
    (this run decides every item: the model upstream had nothing to keep). -#}
{% macro in_scope(scope_model, side, column) -%}
    {%- set scope = ref(scope_model) -%}
    ({{ column }} in (select s.item_id from {{ scope }} as s where s.side = '{{ side }}')
        or exists (select 1 from {{ scope }} as s where s.side = 'all'))
{%- endmacro %}

{#- The filter of a model kept by item: in_scope in a daily run that keeps rows,
    true otherwise (it decides every item). -#}
{% macro scoped_to(scope_model, side, column) -%}
    {%- if rematch_scoped() -%} {{ in_scope(scope_model, side, column) }} {%- else -%} true {%- endif -%}
{%- endmacro %}

{#- The filter of a later matching pass (int_matches__batch_sum,
    int_matches__suggested: tables rebuilt whole, over the items the references
    pass leaves): in a daily run, only int_matching_scope's items, which hold
    every such item (why: int_matching_scope), so the pass reads the day's
    breaks, not the history; true otherwise (a build of every date). -#}
{% macro in_matching_scope(side, column) -%}
    {%- if daily_restate_from() is not none -%} {{ in_scope('int_matching_scope', side, column) }} {%- else -%} true {%- endif -%}
{%- endmacro %}

{#- The incremental strategy of the models kept by item (int_matches__references,
    int_bank_entries_matched_to_ledger, transaction_matches;
    incremental_strategy='rescope', meta rescoped_by: the scope model,
    unique_key: the row's id, a unique index of the table): the rows of the
    items the scope lists are replaced (replace_changed_rows; most of them, the
    pairs that stand in the components the day's rows reach, stay), so
    deleting and inserting the same keys again does not cost the unique index
    more than the data test it replaced. -#}
{% macro get_incremental_rescope_sql(arg_dict) -%}
    {%- set scope_model = config.get('meta')['rescoped_by'] -%}
    {%- set replaced = none -%}
    {%- if rematch_scoped() -%}
        {%- set replaced = "(" ~ in_scope(scope_model, 'bank', 'kept.bank_entry_id')
            ~ " or " ~ in_scope(scope_model, 'ledger', 'kept.ledger_entry_id') ~ ")" -%}
    {%- endif -%}
    {{ replace_changed_rows(arg_dict, replaced, by_key_lookups=true) }}
{%- endmacro %}
