"""The window rule in SQL (the dbt macro int_obligations uses) equals the Python one, on generated times.

The macro file is rendered as dbt renders it (Jinja, with the var the platform
passes) and evaluated by PostgreSQL on many generated acceptance times, with
the closings themselves and a microsecond either side of them; every result
must equal ``deltran.clearing.windows.window_closing``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltran import config
from deltran.clearing.windows import WINDOW_LENGTH, window_closing

pytestmark = pytest.mark.db
MACRO = config.PROJECT_ROOT / "dbt" / "macros" / "clearing_window_closing.sql"
ZONES = [timezone.utc, timezone(timedelta(hours=4)), timezone(timedelta(hours=-5, minutes=-30))]


def macro_sql(column: str) -> str:
    """The macro's SQL for ``column``, rendered with the vars dbt gets from deltran.config."""
    variables = config.load().dbt_vars()
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.globals["var"] = lambda name: variables[name]
    template = environment.from_string(MACRO.read_text() + "{{ clearing_window_closing(column) }}")
    return template.render(column=column)


instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.sampled_from(ZONES)
)
# a closing, or a microsecond either side of one: where an off-by-one would show
boundaries = st.builds(
    lambda t, step: window_closing(t) + step * timedelta(microseconds=1), instants, st.sampled_from([-1, 0, 1])
)


def test_the_macro_is_what_int_obligations_uses():
    model = (config.PROJECT_ROOT / "dbt" / "models" / "intermediate" / "int_obligations.sql").read_text()
    assert "{{ clearing_window_closing('accepted_at') }} as own_window_closing" in model
    assert "date_bin" not in model  # no second copy of the rule in the model


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(times=st.lists(instants | boundaries, min_size=1, max_size=200))
def test_sql_and_python_assign_the_same_window(conn, times):
    sql = f"select t, {macro_sql('t')} from unnest(%s::timestamptz[]) with ordinality as u(t, n) order by n"
    rows = conn.execute(sql, (times,)).fetchall()
    assert [closing for _, closing in rows] == [window_closing(t) for t in times]


def test_window_length_is_the_one_python_declares(conn):
    closing = datetime(2026, 11, 20, 6, tzinfo=timezone.utc)
    start = closing - WINDOW_LENGTH
    just_in, just_out = start + timedelta(microseconds=1), start
    [(first, second)] = conn.execute(
        f"select {macro_sql('%(a)s::timestamptz')}, {macro_sql('%(b)s::timestamptz')}",
        {"a": just_in, "b": just_out},
    ).fetchall()
    assert (first, second) == (closing, start)
