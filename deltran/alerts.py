"""Operations alerts for failed tasks of the platform's DAGs.

Plain logic, no Airflow import: the Airflow plugin
(``plugins/deltran_alert_listener.py``, a thin listener) calls
:func:`alert_task_failure`, and the tests call the same functions directly.

An alert is always one structured log line (``deltran_alert {json}``) in the
task's log. When the setting ``alert_webhook_url`` (``DELTRAN_ALERT_WEBHOOK_URL``,
read in deltran.config) is set, the same small JSON
(dag_id, run_id, task_id, try_number, error) is also POSTed to that URL.
Sending an alert must never fail the task: every error here is logged and
swallowed.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from deltran import config

TIMEOUT_SECONDS = 5.0
MAX_ERROR_CHARS = 2000  # a traceback-sized message is cut: the task log has the rest

log = logging.getLogger("deltran.alerts")


def error_text(error: BaseException | str | None) -> str | None:
    """The error as one short string: ``ValueError: bad file`` (or None)."""
    if error is None:
        return None
    if isinstance(error, BaseException):
        message = str(error)
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    else:
        text = str(error)
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return text


def build_payload(
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None,
    try_number: int | None,
    error: BaseException | str | None,
) -> dict:
    """The alert's JSON body; the receiving side relies on exactly these keys."""
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "try_number": int(try_number) if try_number is not None else None,
        "error": error_text(error),
    }


def _safe_target(url: str) -> str:
    """scheme://host[:port] only: webhook paths often carry a token, never log them."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "<invalid url>"


def send_webhook(url: str, payload: dict, timeout: float = TIMEOUT_SECONDS) -> bool:
    """POST ``payload`` as JSON to ``url``; True on a 2xx answer.

    Never raises: a refused connection, a timeout, a non-2xx answer or a bad URL
    is logged as a warning and returns False.
    """
    target = _safe_target(url)
    try:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("the webhook URL must be http:// or https://")
        request = urllib.request.Request(
            url,
            data=json.dumps(payload, default=str).encode("utf-8"),
            headers={"Content-Type": "application/json", "User-Agent": "deltran-alerts/1"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
        if not 200 <= status < 300:
            raise OSError(f"HTTP {status}")
        return True
    except Exception as exc:  # an alert failure must never fail the task
        log.warning(
            "deltran_alert_webhook_failed %s",
            json.dumps({"target": target, "error": f"{type(exc).__name__}: {exc}"}),
        )
        return False


def alert_task_failure(
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None,
    try_number: int | None,
    error: BaseException | str | None,
    *,
    webhook_url: str | None = None,
) -> dict:
    """Raise the operations alert for one failed task try; returns the payload.

    ``webhook_url`` defaults to the setting ``alert_webhook_url``; no URL, no POST.
    """
    payload = build_payload(dag_id, run_id, task_id, try_number, error)
    log.error("deltran_alert %s", json.dumps({"event": "task_failed", **payload}, default=str))
    url = webhook_url if webhook_url is not None else config.load().alert_webhook_url
    if url:
        send_webhook(url, payload)
    return payload


def is_platform_dag(fileloc: str | os.PathLike[str] | None, dags_folder: str | os.PathLike[str] | None) -> bool:
    """Whether a DAG file belongs to the platform, i.e. lies in its DAG folder.

    Unknown location or folder: treated as the platform's (a missed alert costs
    more than an extra one).
    """
    if not fileloc or not dags_folder:
        return True
    try:
        return Path(fileloc).resolve().is_relative_to(Path(dags_folder).resolve())
    except (OSError, ValueError):
        return True
