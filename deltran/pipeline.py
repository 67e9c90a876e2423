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
from datetime import date, datetime

from deltran import config, db, ingest, report
from deltran.warehouse import dbt


def ingest_files(settings: config.Settings | None = None) -> dict:
    outcomes = ingest.ingest_inbox(settings)
    return {
        "loaded": [o.file_name for o in outcomes if o.status == "loaded"],
        "duplicates": [o.file_name for o in outcomes if o.status == "duplicate"],
        "quarantined": {o.file_name: o.error for o in outcomes if o.status == "quarantined"},
    }


def build_marts(settings: config.Settings | None = None, select: str | None = None) -> dict:
    """``dbt build`` of the whole project, or of a selection (``--select``)."""
    dbt.run(["build"] + (["--select", select] if select else []), settings)
    return {"built": select or "all"}


def clear_window(closing: datetime, settings: config.Settings | None = None) -> dict:
    """Net the window closing at ``closing`` and write its pacs.009 files."""
    from deltran.clearing import store

    settings = settings or config.load()
    with db.connect(settings=settings) as conn:
        db.ensure_schema(conn)
        return store.clear_window(conn, closing, settings)


def check_thresholds(business_date: date, run_id: str, settings: config.Settings | None = None) -> dict:
    """The Great Expectations checkpoint decides each account's level; the breaker follows."""
    from deltran.recon.checks import run_threshold_checks

    result = run_threshold_checks(business_date, run_id, settings=settings)
    return {
        "summary": result.summary(),
        "levels": result.levels,
        "gx_success": result.gx_success,
        "breaker_changes": len(result.events),
        "data_docs": str(result.data_docs_index),
    }


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
