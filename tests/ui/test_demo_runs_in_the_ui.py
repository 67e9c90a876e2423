"""A demo run, seen afterwards in the Airflow UI: its real duration and its task logs.

`make demo` runs the DAGs with dag.test() in one process (deltran.demo.runner);
`make airflow`'s UI reads the same metadata database and log folder. This runs
one DAG run through the demo's runner and reads back what the UI reads: the
run's and its task instances' start and end in the metadata, each task's log
file where Airflow's FileTaskHandler looks for it, and the API server's logs
endpoint, which the UI's log view calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.db, pytest.mark.airflow]

CUTOFF = datetime(2026, 11, 20, 2, tzinfo=UTC)

# In a process of its own, as `deltran demo` runs (pytest's output capture would take its logs)
RUN_ONE = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from pathlib import Path
    from deltran import config
    from deltran.demo import runner

    runner.use_airflow_environment(config.load())
    cutoff = datetime.fromisoformat(sys.argv[2])
    state, _, log = runner._Airflow(Path(sys.argv[1])).run(
        runner.Run(cutoff, "intraday_reconciliation", cutoff), "intraday_reconciliation"
    )
    print(state, log)
    """
)


@pytest.fixture
def demo_run(warehouse_url, airflow_metadata, tmp_path):
    """One intraday_reconciliation run of a past cut-off (an empty inbox), through the demo's runner."""
    before = datetime.now(UTC)
    done = subprocess.run(
        [sys.executable, "-c", RUN_ONE, str(tmp_path / "demo-logs"), CUTOFF.isoformat()],
        capture_output=True,
        text=True,
        timeout=900,
    )
    after = datetime.now(UTC)
    assert done.returncode == 0 and done.stdout.startswith("success"), done.stdout + done.stderr[-3000:]

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_run = session.scalars(
            select(DagRun).where(DagRun.dag_id == "intraday_reconciliation", DagRun.logical_date == CUTOFF)
        ).one()
        tis = dag_run.get_task_instances(session=session)
        session.expunge_all()
    return before, after, dag_run, tis


def _check_real_start_and_end(demo_run) -> None:
    before, after, dag_run, tis = demo_run
    # dag.test() alone stamps the run's start with its logical date (the UI then shows days)
    assert before <= dag_run.start_date <= dag_run.end_date <= after
    ran = [ti for ti in tis if ti.state == "success"]
    assert {ti.task_id for ti in ran} >= {"ingest_files", "loaded_notifications", "check_cutoff"}
    for ti in ran:
        assert dag_run.start_date <= ti.start_date <= ti.end_date <= dag_run.end_date, ti.task_id


def _log_path(ti) -> Path:
    """The file Airflow's log reader (FileTaskHandler) opens for this task instance's try."""
    from airflow.configuration import conf
    from airflow.utils.log.file_task_handler import FileTaskHandler

    handler = FileTaskHandler(base_log_folder=conf.get("logging", "base_log_folder"))
    return Path(handler.local_base, handler._render_filename(ti, ti.try_number))


def _log_records(ti) -> list[dict]:
    """The task log the UI's reader opens for this try, one JSON record a line."""

    path = _log_path(ti)
    assert path.is_file(), f"{ti.task_id}: no log at {path}"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _check_task_logs(demo_run) -> None:
    _, _, _, tis = demo_run
    for ti in (ti for ti in tis if ti.state == "success"):
        records = _log_records(ti)
        assert records and all(r.get("timestamp") and r.get("event") for r in records), ti.task_id
        assert not [r for r in records if str(r.get("level")).lower() in ("error", "critical")], ti.task_id
    # what the task did is in its own log: check_cutoff's levels decided for the cut-off
    (check,) = (ti for ti in tis if ti.task_id == "check_cutoff")
    assert any("Done. Returned value was" in str(r["event"]) for r in _log_records(check))


def _check_logs_endpoint(demo_run, token_for) -> None:
    from airflow.api_fastapi.app import create_app
    from starlette.testclient import TestClient

    _, _, dag_run, tis = demo_run
    (check,) = (ti for ti in tis if ti.task_id == "check_cutoff")
    url = (
        f"/api/v2/dags/{dag_run.dag_id}/dagRuns/{dag_run.run_id}/taskInstances/{check.task_id}/logs/{check.try_number}"
    )
    with TestClient(create_app("core")) as client:
        response = client.get(
            url, headers={"Authorization": f"Bearer {token_for('ops', 'admin')}", "Accept": "application/json"}
        )
    assert response.status_code == 200, response.text
    events = [str(item.get("event")) for item in response.json()["content"]]
    # the reader names the local file it read among its sources (it lists only files it found)
    assert str(_log_path(check)) in events, events[:5]
    assert any("Done. Returned value was" in e for e in events)


def test_a_demo_run_shows_its_real_duration_and_its_task_logs_in_the_ui(demo_run, token_for):
    # one DAG run (through Airflow, with dbt and GX) serves the three checks
    _check_real_start_and_end(demo_run)
    _check_task_logs(demo_run)
    _check_logs_endpoint(demo_run, token_for)
