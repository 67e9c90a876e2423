"""The steps the DAGs run, as plain functions (importable without Airflow).

Each step takes its partition (a business date or a window closing, from the
DAG run's data interval, never from now()) and returns a small JSON-able dict
for the Airflow log and XCom. Each is idempotent: ingest skips files it has
seen (by SHA-256), dbt rebuilds its models from the raw tables, a clearing
window replaces its own rows, the threshold check replaces its own run's rows
and the breaker only moves on a change.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from deltran import config, db, ingest, report
from deltran.warehouse import dbt


def business_date(logical_date: datetime) -> date:
    """The business date a daily run works on: its logical date (UTC), see plugins/deltran_schedules.py."""
    return logical_date.astimezone(timezone.utc).date()


# One ingest owner at a time: four DAGs start at the same minutes (00:00, 06:00...)
# and each begins by ingesting the inbox. A PostgreSQL advisory lock (held for the
# whole batch, on its own connection) makes the others wait their turn; they then
# find the files already loaded and archived. Works the same outside Airflow.
INGEST_LOCK_KEY = 7_020_054_001


def ingest_files(settings: config.Settings | None = None) -> dict:
    settings = settings or config.load()
    with db.connect(db.database_url(settings), autocommit=True) as lock:
        lock.execute("select pg_advisory_lock(%s)", (INGEST_LOCK_KEY,))
        try:
            outcomes = ingest.ingest_inbox(settings)
        finally:
            lock.execute("select pg_advisory_unlock(%s)", (INGEST_LOCK_KEY,))
        loaded = [o for o in outcomes if o.status == "loaded"]
        notifications = []
        if any(o.kind == "camt.054" for o in loaded):
            notifications = [
                {"file_id": file_id, "file_name": name}
                for file_id, name in lock.execute(
                    "select file_id, file_name from raw.ingested_files where sha256 = any(%s) order by file_id",
                    ([o.sha256 for o in loaded if o.kind == "camt.054"],),
                )
            ]
    return {
        "loaded": [o.file_name for o in loaded],
        "duplicates": [o.file_name for o in outcomes if o.status == "duplicate"],
        "quarantined": {o.file_name: o.error for o in outcomes if o.status == "quarantined"},
        # one asset event each (deltran_schedules.CAMT054_NOTIFICATIONS): tier 1 runs on them
        "notifications": notifications,
    }


def check_notifications(file_ids: list[int], run_id: str, settings: config.Settings | None = None) -> dict:
    """Tier 1: the given camt.054 files (their partitions replaced), then any loaded file not yet checked."""
    from deltran.recon import tiers

    settings = settings or config.load()
    _ensure_registry(settings)
    with db.connect(db.database_url(settings)) as conn:
        pending = [file_id for file_id, _ in tiers.notification_files(conn)]
    results = tiers.check_notification_files(list(file_ids) + pending, run_id, settings)
    return {"files": [r.summary() for r in results]}


def check_intraday(cutoff_at: datetime, run_id: str, settings: config.Settings | None = None) -> dict:
    """Tier 2 at a cut-off (the run's logical date): every registry account."""
    from deltran.recon import tiers

    settings = settings or config.load()
    _ensure_registry(settings)
    return tiers.check_cutoff(cutoff_at, run_id, settings).summary()


def _ensure_registry(settings: config.Settings) -> None:
    """The tier tables exist, and the account registry (a dbt seed) is loaded."""
    from deltran.recon import tiers

    with db.connect(db.database_url(settings)) as conn:
        db.ensure_schema(conn)
        missing = db.one(conn.execute(f"select to_regclass('{tiers.REGISTRY}')"))[0] is None
    if missing:  # a new warehouse: seed it (dbt build seeds it too, with its tests)
        dbt.run(["seed", "--select", "account_registry"], settings)


# A daily run builds what reconciliation needs (dbt/selectors.yml): not the
# clearing lineage, which each clearing window builds, and no unit tests, whose
# inputs are fixed (they run in CI and in every build of all dates).
DAILY_SELECTION = ["--selector", "daily_reconciliation", "--exclude-resource-type", "unit_test"]


def build_marts(
    settings: config.Settings | None = None,
    select: str | None = None,
    business_date: date | None = None,
    run_id: str | None = None,
) -> dict:
    """``dbt build`` of the whole project, or of a selection (``--select``).

    With a ``business_date`` (the daily run), the daily marts rebuild only that
    date's partition and the earlier dates that files loaded since restate
    (deltran.recon.partitions), and the build is recorded in tiers.daily_builds;
    without a selection it builds DAILY_SELECTION. Without a date, every date
    and every node is rebuilt.
    """
    settings = settings or config.load()
    if business_date is None:
        dbt.run(["build"] + (["--select", select] if select else []), settings)
        return {"built": select or "all", "reopened_exceptions": _reopen_recurred(settings)}
    from deltran.recon import partitions

    with db.connect(db.database_url(settings)) as conn:
        db.ensure_schema(conn)
        conn.commit()
        planned = partitions.plan(conn, business_date, settings.value_date_tolerance_days)
    # the dates go in the environment, not --vars, so dbt's partial parse survives a new date
    dbt.run(
        ["build", *(["--select", select] if select else DAILY_SELECTION)],
        settings,
        partition_dates=planned.dates,
        restate_from=planned.restate_from,
    )
    with db.connect(db.database_url(settings)) as conn, conn.transaction():
        partitions.record(conn, planned, run_id)
    return {"built": select or "all", **planned.summary(), "reopened_exceptions": _reopen_recurred(settings)}


def _reopen_recurred(settings: config.Settings) -> list[str]:
    """A resolved break that is back in the rebuilt marts reopens (its note is kept)."""
    from deltran.recon import exceptions

    with db.connect(db.database_url(settings)) as conn:
        built = db.one(conn.execute("select to_regclass('marts.discrepancies') is not null"))[0]
        return [c.discrepancy_id for c in exceptions.reopen_recurred(conn)] if built else []


def clear_window(closing: datetime, settings: config.Settings | None = None) -> dict:
    """Net the window closing at ``closing`` and write its pacs.009 files."""
    from deltran.clearing import store

    settings = settings or config.load()
    with db.connect(settings=settings) as conn:
        db.ensure_schema(conn)
        return store.clear_window(conn, closing, settings)


def check_thresholds(
    business_date: date,
    run_id: str,
    settings: config.Settings | None = None,
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> dict:
    """Freshness, then the Great Expectations checkpoint decides each account's level; the breaker follows.

    Fails closed (deltran.recon.controls): raises ControlFailure after suspending and alerting.
    """
    from deltran.recon import controls

    return controls.run_eod_checks(business_date, run_id, settings, dag_id=dag_id, task_id=task_id)


def check_integrity(
    business_date: date,
    run_id: str,
    settings: config.Settings | None = None,
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> dict:
    """Statement continuity, ledger consistency and clearing invariants (GX suites) on the day's partitions."""
    from deltran.recon import controls

    return controls.run_integrity(business_date, run_id, settings, dag_id=dag_id, task_id=task_id)


def breach_summary(business_date: date, checked: dict, integrity: dict | None) -> str | None:
    """What the run's final task fails with, or None when nothing needs a person."""
    from deltran.recon import controls

    return controls.breach_summary(business_date, checked, integrity)


def publish_reports(business_date: date, settings: config.Settings | None = None) -> dict:
    """dbt docs and the day's summary (text and JSON) into the reports folder."""
    settings = settings or config.load()
    docs = dbt.generate_docs(settings)
    with db.connect(settings=settings) as conn:
        summary = report.eod_summary(conn, business_date)
    folder = settings.reports / "eod"
    folder.mkdir(parents=True, exist_ok=True)
    text_path = folder / f"{business_date.isoformat()}.txt"
    text_path.write_text(report.format_summary(summary) + "\n")
    (folder / f"{business_date.isoformat()}.json").write_text(json.dumps(summary, default=str, indent=2))
    return {"dbt_docs": str(docs), "summary": str(text_path)}
