"""Near real-time (tier 1) reconciliation of each camt.054 notification. Thin: the work lives in deltran.pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task
from deltran_schedules import CAMT054_NOTIFICATIONS  # plugins/: updated once per loaded camt.054 file

DOC = """
### Notification reconciliation (tier 1)

Runs when camt.054 files have been loaded: scheduled on the asset
`camt054_notifications`, which every ingest task updates once per loaded file
(the event names the file); events that queue up while a run is going are
taken by the next run together. A manual run may name files with the conf
`{"file_ids": [N, ...]}`; every run also checks any loaded notification file
that has no result yet.

**check_notifications**, per file (its partition of
`marts.notification_checks` and `marts.notification_entries` replaced in one
transaction): each notified entry is matched to the ledger (UETR, else
EndToEndId, else the bank reference; same account, currency, direction and
amount); for every registry account the file touches, the running bank balance
at the notification's creation time (the last known booked balance plus the
notified credits and minus the debits since), the ledger balance at that time,
and the level the threshold checkpoint decides. A notification that moves an
account into Significant suspends its payouts and into Critical opens its
circuit breaker at once. A notification for an account not in the registry is
an `unknown_account` finding (`marts.account_findings`), not a check.
"""


@dag(
    dag_id="notification_reconciliation",
    schedule=[CAMT054_NOTIFICATIONS],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    description="Near real-time (tier 1): runs when camt.054 notifications land; matches them to the ledger and checks the running bank balance of each touched account.",
    doc_md=DOC,
    tags=["reconciliation", "tier-1", "near-real-time"],
    default_args={"owner": "operations", "retries": 2, "retry_delay": timedelta(seconds=30)},
)
def notification_reconciliation():
    @task
    def check_notifications(triggering_asset_events=None, dag_run=None, run_id=None) -> dict:
        from deltran import pipeline

        file_ids = [
            event.extra["file_id"]
            for events in (triggering_asset_events or {}).values()
            for event in events
            if event.extra and "file_id" in event.extra
        ]
        conf = (dag_run.conf if dag_run is not None else None) or {}
        file_ids += [int(f) for f in conf.get("file_ids", [])] + ([int(conf["file_id"])] if "file_id" in conf else [])
        return pipeline.check_notifications(file_ids, run_id)

    check_notifications()


notification_reconciliation()
