"""Airflow plugin: the platform's schedules (timetables and the notification asset).

Timetables whose logical date is the thing a run works on.

Airflow's stock daily schedule gives a run the *previous* day when it is
triggered or backfilled for a date (its manual data interval is "the last
complete period before"), so ``airflow dags test eod_reconciliation 2026-11-20``
used to reconcile 19 November. These two fix the meaning of the logical date:

* :class:`BusinessDateTimetable` (end of day): the logical date **is the
  business date** D. The data interval is [D 00:00, D+1 00:00) UTC; a scheduled
  run starts when the day has ended; a run triggered or backfilled for D
  reconciles D.
* :class:`CutoffTimetable` (clearing windows, intraday checks): the logical
  date **is the cut-off** T (the window's closing, the check's time), with a
  zero-length data interval at T; a run triggered for T works as of T.

Both name their runs by that date (``scheduled__business_date_2026-11-20``,
``manual__cutoff_2026-11-20T12:30:00+00:00__...``), so the run list shows what
each run reconciled. ``dag.test()`` names its runs itself (by the wall clock);
its logical date column still shows the business date or cut-off.

They are registered here (plugins/ is where Airflow looks for timetables the
scheduler may deserialize) and imported by the DAG files by module name.

:data:`CAMT054_NOTIFICATIONS` is the asset the ingest tasks update once per
loaded camt.054 file (the event's extra names the file); the tier-1 DAG
``notification_reconciliation`` is scheduled on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import Asset
from airflow.timetables.base import DataInterval
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable

if TYPE_CHECKING:
    from airflow.utils.types import DagRunType
    from pendulum import DateTime


def _random() -> str:
    from airflow.utils.strings import get_random_string

    return get_random_string()


CAMT054_NOTIFICATIONS = Asset(name="camt054_notifications", uri="deltran://inbox/camt054")


class BusinessDateTimetable(CronDataIntervalTimetable):
    """One run per business date (UTC by default); logical date = the business date."""

    def __init__(self, cron: str = "0 0 * * *", timezone: Any = "UTC") -> None:
        super().__init__(cron, timezone)

    @property
    def summary(self) -> str:
        return "daily, logical date = business date"

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        # the day that contains run_after (its midnight when run_after is one),
        # not the one before it, as the stock daily timetable would take
        start = self._align_to_prev(run_after)
        return DataInterval(start=start, end=self._get_next(start))

    def generate_run_id(
        self, *, run_type: DagRunType, run_after: DateTime, data_interval: DataInterval | None, **extra
    ) -> str:
        day = (data_interval.start if data_interval else self._align_to_prev(run_after)).date().isoformat()
        suffix = f"business_date_{day}"
        if run_type.value != "scheduled":  # several manual runs or backfills of one date may exist
            suffix += f"__{_random()}"
        return run_type.generate_run_id(suffix=suffix)


class CutoffTimetable(CronTriggerTimetable):
    """One run per cut-off of the cron; logical date = the cut-off."""

    def __init__(self, cron: str, *, timezone: Any = "UTC", **kwargs: Any) -> None:
        super().__init__(cron, timezone=timezone, **kwargs)

    @property
    def summary(self) -> str:
        return f"{self._expression} ({self._timezone}), logical date = cut-off"

    def generate_run_id(
        self, *, run_type: DagRunType, run_after: DateTime, data_interval: DataInterval | None, **extra
    ) -> str:
        cutoff = data_interval.end if data_interval else run_after
        suffix = f"cutoff_{cutoff.isoformat()}"
        if run_type.value != "scheduled":
            suffix += f"__{_random()}"
        return run_type.generate_run_id(suffix=suffix)


class DeltranSchedulesPlugin(AirflowPlugin):
    name = "deltran_schedules"
    timetables = [BusinessDateTimetable, CutoffTimetable]  # noqa: RUF012 (AirflowPlugin declares it a list)
