"""The plan's two boundaries: the business dates a daily run restates reach back by the value-date
tolerance; the rows dated by their own date are rebuilt only from the earliest date touched. And a
first build's plan (nothing built yet) against the per-file query it skips."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deltran import config, pipeline
from deltran.demo.generator import generate_day
from deltran.recon import partitions
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


@pytest.mark.db
def test_a_first_build_plans_from_the_earliest_row_as_the_per_file_query_would(conn, warehouse_url):
    """Before anything is built, plan() reads the earliest raw row's date instead of joining every new key
    to every raw row: the same last file and earliest date as the per-file query, over days whose later
    files book earlier days' items (late credits, late postings, counterparts by UETR)."""
    settings = config.load()
    previous = None
    for offset in range(3):
        previous = generate_day(
            settings.inbox, DAY + timedelta(days=offset), 42, opening=previous is None, previous=previous
        )
    pipeline.ingest_files(settings)

    by_file = partitions.touched_by_files(conn, 0)
    assert len(by_file) > 3 and len({earliest for _, _, earliest in by_file}) > 1  # the files touch several dates
    last_file = max(file_id for file_id, _, _ in by_file)
    earliest = min(earliest for _, _, earliest in by_file if earliest is not None)
    assert partitions.first_build_touched(conn) == (last_file, earliest)
    first = partitions.plan(conn, DAY + timedelta(days=2), value_date_tolerance_days=2)
    assert (first.files_through, first.touched_from, first.restated) == (last_file, earliest, {})

    # once a date is built, the per-file query plans (and names the files that restate it)
    conn.execute(
        "insert into tiers.daily_builds (business_date, run_business_date, is_restatement, reason, files_through,"
        " decisions_through, run_id) values (%s, %s, false, 'test', 0, 0, 'test')",
        (DAY, DAY),
    )
    again = partitions.plan(conn, DAY + timedelta(days=2), value_date_tolerance_days=2)
    assert again.touched_from == earliest and list(again.restated) == [DAY]
    assert "every file loaded" not in again.restated[DAY]
