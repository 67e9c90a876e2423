"""End-of-day (tier 3) reconciliation. Thin: the work lives in deltran.pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task
from deltran_schedules import CAMT054_NOTIFICATIONS, BusinessDateTimetable  # plugins/: logical date = business date

DOC = """
### End-of-day reconciliation (tier 3)

One run per **business date**: the run's logical date *is* the business date D
(data interval D 00:00 to D+1 00:00 UTC; the scheduled run starts when D has
ended). Triggering or backfilling the DAG for D reconciles D, and scheduled or
backfilled runs are named `..._business_date_D`. For that day:

1. **ingest_files**: every file in the inbox (ledger export, camt.053 statements,
   any ISO 20022 file the platform takes) is loaded into the raw tables, one file
   per transaction, remembered by SHA-256. Bad files go to quarantine
   (`raw.quarantined_files` says why); the rest goes on.
2. **build_marts**: `dbt build` (staging, intermediate, marts and every dbt test).
   The daily marts replace only D's rows; an earlier date that files loaded
   since its build change is restated in the same run and recorded in
   `tiers.daily_builds` (the snapshot `marts.eod_account_snapshots` keeps
   what it replaced).
3. **check_thresholds**: the Great Expectations checkpoint on
   `marts.account_reconciliation` decides each account's level (OK / Minor /
   Significant / Critical). Significant suspends payouts on the account;
   Critical opens its circuit breaker, which only `deltran breaker reset` closes.
4. **publish_reports**: dbt docs, Data Docs and the day's summary in `var/reports/`.

If the day's camt.053 has not arrived, **check_thresholds** fails (there is
nothing to check) and retries; once the file is in the inbox, clear the run
(or let the retry pick it up). Re-running a day, or backfilling a range,
changes nothing that was right.
"""


@dag(
    dag_id="eod_reconciliation",
    schedule=BusinessDateTimetable(),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # one build at a time: a run may restate the dates before it
    description="End of day (tier 3): ledger vs the bank's camt.053 per registry account, transaction matching, discrepancies, thresholds and the circuit breaker. Logical date = the business date.",
    doc_md=DOC,
    tags=["reconciliation", "tier-3", "eod"],
    default_args={"owner": "operations", "retries": 2, "retry_delay": timedelta(minutes=2)},
)
def eod_reconciliation():
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
    def build_marts(ingested: dict, logical_date=None, run_id=None) -> dict:
        from deltran import pipeline

        return pipeline.build_marts(business_date=pipeline.business_date(logical_date), run_id=run_id)

    @task
    def check_thresholds(built: dict, logical_date=None, run_id=None) -> dict:
        from deltran import pipeline

        return pipeline.check_thresholds(pipeline.business_date(logical_date), run_id)

    @task
    def publish_reports(checked: dict, logical_date=None) -> dict:
        from deltran import pipeline

        return pipeline.publish_reports(pipeline.business_date(logical_date))

    ingested = ingest_files()
    announce_notification.expand(notification=loaded_notifications(ingested))
    publish_reports(check_thresholds(build_marts(ingested)))


eod_reconciliation()
