{#-
  The threshold rule of DOMAIN.md, once for every model that computes a level
  or a severity (account_reconciliation, discrepancies). The bands are vars
  (ok_pct, minor_pct, significant_pct) that deltran passes from its settings
  (deltran.config.Settings.dbt_vars); the same rule in Python is
  deltran/recon/levels.py and in Great Expectations expectations/threshold_suite.py.
-#}

{#- The base of a percentage: |ledger|, else |bank| when the ledger is zero (first funding); null when both are zero. -#}
{% macro threshold_base(bank, ledger) -%}
    nullif(abs(coalesce(nullif({{ ledger }}, 0), {{ bank }})), 0)
{%- endmacro %}

{#- |amount| as a percentage of base: 0 for a zero amount, 100 for an amount against no base, null when unknown. -#}
{% macro threshold_pct(amount, base) -%}
    (case when ({{ amount }}) = 0 then 0::numeric
          else coalesce(abs({{ amount }}) / ({{ base }}) * 100, case when ({{ amount }}) is not null then 100::numeric end)
     end)
{%- endmacro %}

{#- The level of a (difference_pct, under_backing_pct) pair; unknown figures are Significant. -#}
{% macro threshold_level(difference_pct, under_backing_pct) -%}
    (case
        when ({{ difference_pct }}) is null or ({{ under_backing_pct }}) is null then 'Significant'
        when ({{ difference_pct }}) > {{ var('significant_pct') }} or ({{ under_backing_pct }}) > {{ var('ok_pct') }} then 'Critical'
        when ({{ difference_pct }}) > {{ var('minor_pct') }} then 'Significant'
        when ({{ difference_pct }}) > {{ var('ok_pct') }} then 'Minor'
        else 'OK'
    end)
{%- endmacro %}

{#- The level of a signed difference (bank - ledger) against a base. -#}
{% macro threshold_level_of(difference, base) -%}
    {{ threshold_level(threshold_pct(difference, base), threshold_pct(under_backing(difference), base)) }}
{%- endmacro %}

{#- How far the ledger exceeds the bank, from a signed difference (bank - ledger); null stays null. -#}
{% macro under_backing(difference) -%}
    (case when ({{ difference }}) < 0 then -({{ difference }}) when ({{ difference }}) >= 0 then 0::numeric end)
{%- endmacro %}
