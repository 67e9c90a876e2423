"""Clearing windows at 00, 06, 12 and 18 UTC. Thin: the work lives in deltran.pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task
from deltran_schedules import CAMT054_NOTIFICATIONS, CutoffTimetable  # plugins/: logical date = the window's closing

DOC = """
### Clearing window (multilateral netting)

One run per **window**; the run's logical date is the window's closing time T
(00:00, 06:00, 12:00 or 18:00 UTC; runs are named `..._cutoff_T`) and it clears every obligation accepted
in (T - 6h, T] that was not rejected (pacs.002 RJCT), plus returns (pacs.004)
as obligations the other way. An obligation that arrives after its window was
cleared goes to the next open window and is counted as **late**.

1. **ingest_files**: the inbox into the raw tables (pacs.008 / pacs.002 / pacs.004 and all other files).
2. **prepare_obligations**: `dbt build --select +int_obligations`.
3. **clear_window**: per currency, net positions (received - paid, summing to
   exactly zero), bilateral nets, cycles, efficiency = 1 - net / gross, and the
   settlement instructions (at most n - 1), written to `clearing.*` and as one
   ISO 20022 pacs.009 per currency to `var/outbox/window_<T>/`. A net debit cap
   breach (DELTRAN_NET_DEBIT_CAPS) holds that currency's settlement.
4. **build_clearing_marts**: `marts.clearing_windows`, `marts.clearing_positions`,
   `marts.settlement_instructions` and their invariant tests.

Re-running a window, or backfilling a month, replaces its rows with identical ones.
"""

CLEARING_MARTS = "clearing_windows clearing_positions settlement_instructions"


@dag(
    dag_id="clearing_window",
    schedule=CutoffTimetable("0 0,6,12,18 * * *"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # windows clear in order: late items depend on earlier windows
    description="Clearing window (00/06/12/18 UTC): nets the interbank obligations of the window per currency and writes pacs.009 settlement instructions. Logical date = the window's closing.",
    doc_md=DOC,
    tags=["clearing", "netting", "settlement"],
    default_args={"owner": "operations", "retries": 2, "retry_delay": timedelta(minutes=1)},
)
def clearing_window():
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
        """One asset event per loaded camt.054 file: tier 1 (notification_reconciliation) runs on it."""
        outlet_events[CAMT054_NOTIFICATIONS].extra = notification
        return notification

    @task
    def prepare_obligations(ingested: dict) -> dict:
        from deltran import pipeline

        return pipeline.build_marts(select="+int_obligations")

    @task
    def clear_window(prepared: dict, logical_date=None) -> dict:
        from deltran import pipeline

        return pipeline.clear_window(logical_date)

    @task
    def build_clearing_marts(cleared: dict) -> dict:
        from deltran import pipeline

        return pipeline.build_marts(select=CLEARING_MARTS)

    ingested = ingest_files()
    announce_notification.expand(notification=loaded_notifications(ingested))
    build_clearing_marts(clear_window(prepare_obligations(ingested)))


clearing_window()
