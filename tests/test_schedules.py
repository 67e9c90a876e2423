"""The timetables of plugins/deltran_schedules.py: the logical date is what a run works on."""

from __future__ import annotations

import pendulum
import pytest

pytestmark = pytest.mark.airflow  # the timetables are Airflow classes: not for `make test-fast`


def _module():
    import importlib.util

    from deltran import config

    spec = importlib.util.spec_from_file_location(
        "deltran_schedules", config.PROJECT_ROOT / "plugins" / "deltran_schedules.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_run_for_business_date_d_reconciles_d():
    from airflow.utils.types import DagRunType

    timetable = _module().BusinessDateTimetable()
    d = pendulum.datetime(2026, 11, 20, tz="UTC")
    interval = timetable.infer_manual_data_interval(run_after=d)
    assert (interval.start, interval.end) == (d, d.add(days=1))
    # triggered in the middle of a day: that day
    assert timetable.infer_manual_data_interval(run_after=d.add(hours=15)).start == d
    run_id = timetable.generate_run_id(run_type=DagRunType.SCHEDULED, run_after=d.add(days=1), data_interval=interval)
    assert run_id == "scheduled__business_date_2026-11-20"
    manual = timetable.generate_run_id(run_type=DagRunType.MANUAL, run_after=d.add(days=5), data_interval=interval)
    assert manual.startswith("manual__business_date_2026-11-20__")


def test_the_scheduled_run_of_a_day_has_that_day_as_logical_date():
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = _module().BusinessDateTimetable()
    d = pendulum.datetime(2026, 11, 20, tz="UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(d.subtract(days=1), d),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert info.logical_date == d and info.run_after == d.add(days=1)


def test_a_cutoff_run_has_the_cutoff_as_logical_date():
    from airflow.timetables.base import TimeRestriction
    from airflow.utils.types import DagRunType

    timetable = _module().CutoffTimetable("*/30 * * * *")
    t = pendulum.datetime(2026, 11, 20, 12, 30, tz="UTC")
    interval = timetable.infer_manual_data_interval(run_after=t)
    assert interval.start == interval.end == t
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(earliest=t, latest=None, catchup=True)
    )
    assert info.logical_date == t == info.run_after
    assert (
        timetable.generate_run_id(run_type=DagRunType.SCHEDULED, run_after=t, data_interval=interval)
        == "scheduled__cutoff_2026-11-20T12:30:00+00:00"
    )
