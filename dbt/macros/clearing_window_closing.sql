{#- The clearing window an obligation accepted at `accepted_at` belongs to: the
    window closing at T takes (T - length, T], windows anchored at midnight UTC
    (00, 06, 12, 18 for 6 hours). The length comes from deltran.clearing.windows
    (var clearing_window_hours, passed on every dbt run). The one SQL home of the
    rule: int_obligations uses it; tests/test_clearing_windows_sql.py runs it on
    PostgreSQL against deltran.clearing.windows.window_closing on generated times.
    The origin lies before any time it is given: PostgreSQL 16's date_bin puts a time
    before its origin that sits exactly on a bin edge one bin too early (hypothesis
    found it at 1999-01-01 00:00:00.000001). -#}
{% macro clearing_window_closing(accepted_at) -%}
    date_bin(
        interval '{{ var("clearing_window_hours") }} hours',
        {{ accepted_at }} - interval '1 microsecond',
        timestamptz '0001-01-01 00:00:00+00'
    ) + interval '{{ var("clearing_window_hours") }} hours'
{%- endmacro %}
