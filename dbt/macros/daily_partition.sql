{#
  The daily marts' partition filter (docs/design.md, "Partitions"). A daily run
  passes the business dates it builds (--vars '{"partition_dates": [...]}', from
  deltran.recon.partitions: its own date and any date it restates); an
  incremental model then selects only those dates' rows, and dbt's delete+insert
  on business_date replaces exactly them in one transaction. A first build, a
  --full-refresh, a unit test, or a build without the var selects every date.
#}
{% macro in_daily_partition(column) -%}
    {%- set dates = var('partition_dates', none) -%}
    {#- a unit test has no relation (this): it reads every given row -#}
    {%- if dates is not none and this is not none and is_incremental() -%}
        {{ column }} in (
            {%- for d in dates %}'{{ d }}'::date{% if not loop.last %}, {% endif %}{% endfor -%}
            {%- if dates | length == 0 %}null{% endif -%}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
