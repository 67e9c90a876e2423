"""Airflow plugin: operations alerts when a task of the platform's DAGs fails, and when its controls act.

Airflow 3 listener API: ``on_task_instance_failed(previous_state, task_instance,
error)``. It is called in the task's own process (a ``RuntimeTaskInstance``) for
every failed try, the ones that will be retried included (``try_number`` tells
them apart), and on the API server (a ``TaskInstance``) when someone marks a
task failed. When a checking task ends, success or failure, the breakers it
opened, the suspensions it started and the statements missing past the cut-off
are alerted once each (``on_task_instance_success`` / ``_failed``). What the alert says and where it goes is in ``deltran.alerts``
(plain logic in the package); this file only adapts Airflow's objects to it.
"""

from __future__ import annotations

import logging
from datetime import date, timezone
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

from deltran import alerts

log = logging.getLogger("deltran.alerts")

EOD_DAG = "eod_reconciliation"
# the tasks that apply checks to the breaker (tiers 1, 2, 3): control alerts are raised when one ends
CHECK_TASKS = frozenset({"check_thresholds", "check_notifications", "check_cutoff"})


def _dags_folder() -> str | None:
    """Airflow's own setting (its configuration reads AIRFLOW__CORE__DAGS_FOLDER first)."""
    try:
        from airflow.configuration import conf

        return conf.get("core", "dags_folder", fallback=None)
    except Exception:
        return None


def _dag_fileloc(task_instance: Any) -> str | None:
    """The failed task's DAG file, when the object at hand knows it."""
    task = getattr(task_instance, "task", None)
    dag = getattr(task, "dag", None) if task is not None else None
    return getattr(dag, "fileloc", None) if dag is not None else None


def _business_date(task_instance: Any) -> date | None:
    """The run's business date (its logical date, UTC) for the end-of-day DAG, else None."""
    if getattr(task_instance, "dag_id", None) != EOD_DAG:
        return None
    logical = getattr(task_instance, "logical_date", None)
    if logical is None and hasattr(task_instance, "get_template_context"):
        logical = task_instance.get_template_context().get("logical_date")
    return logical.astimezone(timezone.utc).date() if logical is not None else None


class TaskFailureAlerts:
    """The listener: one instance, registered through the plugin below."""

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        try:
            if not alerts.is_platform_dag(_dag_fileloc(task_instance), _dags_folder()):
                return
            alerts.alert_task_failure(
                dag_id=getattr(task_instance, "dag_id", None),
                run_id=getattr(task_instance, "run_id", None),
                task_id=getattr(task_instance, "task_id", None),
                try_number=getattr(task_instance, "try_number", None),
                error=error,
            )
        except Exception:  # the alert path must never change the task's outcome
            log.exception("deltran alert listener failed")
        self._control_alerts(task_instance)  # a check that failed closed has suspended payouts

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self._control_alerts(task_instance)

    @staticmethod
    def _control_alerts(task_instance: Any) -> None:
        """Breakers opened, suspensions started, statements missing: once each, by the run's checking task."""
        try:
            task_id = getattr(task_instance, "task_id", None)
            if task_id not in CHECK_TASKS or not alerts.is_platform_dag(_dag_fileloc(task_instance), _dags_folder()):
                return
            alerts.raise_control_alerts(
                dag_id=getattr(task_instance, "dag_id", None),
                run_id=getattr(task_instance, "run_id", None),
                task_id=task_id,
                business_date=_business_date(task_instance) if task_id == "check_thresholds" else None,
            )
        except Exception:
            log.exception("deltran control alerts failed")


task_failure_alerts = TaskFailureAlerts()


class DeltranAlertsPlugin(AirflowPlugin):
    name = "deltran_alerts"
    listeners = [task_failure_alerts]  # noqa: RUF012 (AirflowPlugin declares it a list)
