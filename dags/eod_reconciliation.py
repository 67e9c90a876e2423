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
2. **build_marts**: `dbt build --selector daily_reconciliation` (staging,
   intermediate, marts and their data tests; the clearing lineage is built by
   each clearing window, and the unit tests run in CI, dbt/selectors.yml).
   The daily marts replace only D's rows; an earlier date that files loaded
   since its build change is restated in the same run and recorded in
   `tiers.daily_builds` (the snapshot `marts.eod_account_snapshots` keeps
   what it replaced).
3. **check_thresholds**: freshness first (a camt.053 for every registry account
   by the cut-off, `DELTRAN_STATEMENT_CUTOFF_HOURS` after the day; a missing one is
   a finding naming bank and account, and its payouts are suspended), then the
   Great Expectations checkpoint on `marts.account_reconciliation` decides each
   account's level (OK / Minor / Significant / Critical). Significant suspends
   payouts on the account; Critical opens its circuit breaker, which only
   `deltran breaker reset` closes.
4. **check_integrity**: the GX suites on the day's partitions: statement
   continuity, ledger consistency (journals balance), clearing invariants (net
   positions sum to zero per window and currency).
5. **publish_reports**: dbt docs, Data Docs and the day's summary in `var/reports/`.
6. **report_breaches**: fails (no retries), its message the breach summary, when
   the day found Significant or Critical accounts or any finding: a red run is a
   day that needs a person, after the breaker and suspensions have acted.

**Fails closed.** A check that could not run (database unreachable, a mart
missing) suspends payouts on the accounts it covers, alerts and fails its task
without retries; it is never read as all clear. If none of the day's
statements has arrived, **check_thresholds** fails at once with one message
naming each bank and account; load the files and clear the run. Re-running a
day, or backfilling a range, changes nothing that was right.
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

    @task(retries=0)  # fails closed: a retry would only repeat the alert (see the DAG's doc)
    def check_thresholds(built: dict, logical_date=None, run_id=None, dag=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from deltran import pipeline
        from deltran.recon.controls import ControlFailure

        try:
            return pipeline.check_thresholds(
                pipeline.business_date(logical_date), run_id, dag_id=dag.dag_id, task_id="check_thresholds"
            )
        except ControlFailure as failure:
            raise AirflowFailException(str(failure)) from None

    @task(retries=0)
    def check_integrity(checked: dict, logical_date=None, run_id=None, dag=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from deltran import pipeline
        from deltran.recon.controls import ControlFailure

        try:
            return pipeline.check_integrity(
                pipeline.business_date(logical_date), run_id, dag_id=dag.dag_id, task_id="check_integrity"
            )
        except ControlFailure as failure:
            raise AirflowFailException(str(failure)) from None

    @task
    def publish_reports(integrity: dict, logical_date=None) -> dict:
        from deltran import pipeline

        return pipeline.publish_reports(pipeline.business_date(logical_date))

    @task(retries=0)
    def report_breaches(published: dict, checked: dict, integrity: dict, logical_date=None) -> str:
        """Red when the day needs a person: the message is the breach summary."""
        from airflow.sdk.exceptions import AirflowFailException

        from deltran import pipeline

        summary = pipeline.breach_summary(pipeline.business_date(logical_date), checked, integrity)
        if summary:
            raise AirflowFailException(summary)
        return "no breach"

    ingested = ingest_files()
    announce_notification.expand(notification=loaded_notifications(ingested))
    checked = check_thresholds(build_marts(ingested))
    integrity = check_integrity(checked)
    report_breaches(publish_reports(integrity), checked, integrity)


eod_reconciliation()
