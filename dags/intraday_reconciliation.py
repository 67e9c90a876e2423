"""Intraday (tier 2) reconciliation every 30 minutes. Thin: the work lives in deltran.pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task
from deltran_schedules import CAMT054_NOTIFICATIONS, CutoffTimetable  # plugins/: logical date = cut-off

DOC = """
### Intraday reconciliation (tier 2)

One run per **cut-off** T, every 30 minutes (UTC); the run's logical date *is*
T (runs are named `..._cutoff_T`). Triggering or backfilling T computes what
was known at T: only messages the bank had created by T and ledger postings
booked by T count, so a backfilled cut-off gives what it gave live.

1. **ingest_files**: the inbox into the raw tables (camt.052 reports, camt.054
   notifications, the ledger, anything else); one ingest at a time.
2. **announce_notification** (one per loaded camt.054 file): an event on the
   asset `camt054_notifications`, which starts `notification_reconciliation`
   (tier 1) for that file.
3. **check_cutoff**: for every account of the registry (`reference.account_registry`)
   the bank balance at T (the latest camt.052 interim balance, else the last
   statement's closing plus the camt.054 credits and debits since), the ledger
   balance at T, their difference, its drift since the previous scheduled cut-off
   (T - 30 min) and the day's maximum over the scheduled cut-offs (both computed
   from the data as of those moments, so a cut-off's row never depends on which
   other runs happened), and the level the threshold checkpoint decides. One row
   per account in `marts.intraday_checks`; the cut-off's rows are replaced in
   one transaction. Significant suspends payouts, Critical opens the breaker.
"""


@dag(
    dag_id="intraday_reconciliation",
    schedule=CutoffTimetable("*/30 * * * *"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # cut-offs reach the breaker in order (drift does not depend on it)
    description="Intraday (tier 2, every 30 min): each registry account's bank balance at the cut-off vs the ledger, level and drift. Logical date = the cut-off.",
    doc_md=DOC,
    tags=["reconciliation", "tier-2", "intraday"],
    default_args={"owner": "operations", "retries": 2, "retry_delay": timedelta(minutes=1)},
)
def intraday_reconciliation():
    @task
    def ingest_files() -> dict:
        from deltran import pipeline

        return pipeline.ingest_files()

    @task
    def loaded_notifications(ingested: dict) -> list:
        """The camt.054 files this ingest loaded (Airflow maps only over a task's whole return value)."""
        return ingested["notifications"]

    @task(outlets=[CAMT054_NOTIFICATIONS])
    def announce_notification(notification: dict, outlet_events=None) -> dict:
        outlet_events[CAMT054_NOTIFICATIONS].extra = notification
        return notification

    @task
    def check_cutoff(ingested: dict, logical_date=None, run_id=None) -> dict:
        from deltran import pipeline

        return pipeline.check_intraday(logical_date, run_id)

    ingested = ingest_files()
    announce_notification.expand(notification=loaded_notifications(ingested))
    check_cutoff(ingested)


intraday_reconciliation()
