"""Ingest's COPY lines: the per-row fast path writes exactly what escaping value by value writes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from deltran.ingest import _copy_line, _copy_text

# what the readers give: text (COPY's special characters included), nulls, flags, counts, amounts, dates
VALUES = st.one_of(
    st.text(),
    st.text(alphabet="\\\t\n\rN ab"),
    st.none(),
    st.booleans(),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),  # a kind without a fast path
)


@given(st.lists(VALUES, min_size=1, max_size=12).map(tuple))
def test_a_line_is_its_values_escaped_one_by_one(values):
    assert _copy_line(values) == "\t".join(_copy_text(v) for v in values)


def test_a_line_of_plain_values_and_one_to_escape():
    plain = ("e1", None, Decimal("1000.10"), date(2026, 11, 20), datetime(2026, 11, 20, 10, tzinfo=UTC), True, 3)
    assert _copy_line(plain) == "e1\t\\N\t1000.10\t2026-11-20\t2026-11-20T10:00:00+00:00\tt\t3"
    assert _copy_line(("tab\there", None, "back\\slash")) == "tab\\there\t\\N\tback\\\\slash"
