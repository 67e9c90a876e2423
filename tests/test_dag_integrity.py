"""DAG integrity: every DAG file imports cleanly and is fit to operate.

Runs the real DagBag (Airflow's own loader) over dags/, as the dag-processor
would, so an import error, a cycle or a missing schedule fails here first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from deltran import config

DAGS_FOLDER = config.PROJECT_ROOT / "dags"
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.mark.airflow
def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert DAG_FILES, "no DAG files found"
    assert {Path(dag.fileloc).name for dag in dagbag.dags.values()} == {p.name for p in DAG_FILES}


FAIL_CLOSED_TASKS = {
    ("eod_reconciliation", "check_thresholds"),
    ("eod_reconciliation", "check_integrity"),
    ("eod_reconciliation", "report_breaches"),
}


@pytest.mark.airflow
def test_every_dag_is_documented_tagged_retried_and_scheduled(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md and len(dag.doc_md) > 100, f"{dag_id} has no doc_md for the UI"
        assert dag.description and len(dag.description) > 40, f"{dag_id} has no description for the DAG list"
        # an asset-triggered timetable (tier 1) has no summary in the task SDK: its class says it
        assert type(dag.timetable).__name__ != "NullTimetable", f"{dag_id} has no schedule"
        assert getattr(dag.timetable, "summary", "asset") not in ("None", ""), f"{dag_id} has no schedule"
        for task in dag.tasks:
            if (dag_id, task.task_id) in FAIL_CLOSED_TASKS:  # fail at once, by design (deltran.recon.controls)
                assert task.retries == 0, f"{dag_id}.{task.task_id} retries: a failed-closed check repeats its alert"
                continue
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


@pytest.mark.airflow
def test_no_cycles(dagbag):
    from airflow.utils.dag_cycle_tester import check_cycle

    for dag in dagbag.dags.values():
        check_cycle(dag)  # raises on a cycle


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_stay_thin(path):
    """No work at import: only airflow, the standard library and the schedules plugin at module top level."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            assert module.split(".")[0] in {"airflow", "datetime", "__future__", "pendulum", "deltran_schedules"}, (
                f"{path.name} imports {module} at top level: import inside the task instead"
            )


@pytest.mark.airflow
def test_intraday_schedule_is_the_cutoffs_drift_is_measured_against(dagbag):
    """Tier 2's drift compares with the previous *scheduled* cut-off (deltran.recon.tiers.day_cutoffs): the
    DAG's schedule and that rule must name the same moments."""
    from datetime import UTC, datetime, timedelta

    from croniter import croniter

    from deltran.recon import tiers

    timetable = dagbag.dags["intraday_reconciliation"].timetable
    start = datetime(2026, 11, 20, tzinfo=UTC)
    scheduled = croniter(timetable._expression, start - timedelta(seconds=1))  # the cron the DAG was given
    moments = [scheduled.get_next(datetime) for _ in range(48)]
    assert moments == tiers.day_cutoffs(start + timedelta(hours=23, minutes=30))
