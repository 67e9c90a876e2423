"""The plan's two boundaries: the business dates a daily run restates reach back by the value-date
tolerance; the rows dated by their own date are rebuilt only from the earliest date touched."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from deltran.recon.partitions import Plan

DAY = date(2026, 10, 30)


@given(
    touched_back=st.one_of(st.none(), st.integers(min_value=-3, max_value=10)),
    tolerance=st.integers(min_value=0, max_value=5),
)
def test_rows_are_rebuilt_from_the_earliest_date_touched_not_less_the_tolerance(touched_back, tolerance):
    touched = None if touched_back is None else DAY - timedelta(days=touched_back)
    restated = {}
    if touched is not None:  # the built dates the tolerance reaches, as plan() lists them
        first = touched - timedelta(days=tolerance)
        restated = {first + timedelta(days=n): "late" for n in range((DAY - first).days) if first < DAY}
    built = Plan(DAY, 0, restated=restated, touched_from=touched)
    # never after the run's own date; never before the earliest date touched
    assert built.restate_from == (min(DAY, touched) if touched else DAY)
    assert built.restate_from <= DAY
    # the restated business dates may start earlier: the tolerance's reach
    assert min(built.dates) <= built.restate_from
