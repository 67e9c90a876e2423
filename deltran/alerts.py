"""Operations alerts: failed tasks, and the controls acting (issue 10, Alerts).

Plain logic, no Airflow import at module level: the Airflow plugin
(``plugins/deltran_alert_listener.py``, a thin listener) calls
:func:`alert_task_failure` and :func:`raise_control_alerts`, and the tests call
the same functions directly.

Control alerts: when a run's task ends (success or failure), the events that
run made are read from the control schema: a breaker that opened, a payout
suspension that started (a check that failed closed suspends too: its event
says so), and, for the end-of-day run, a registry account whose statement is
missing past the run's cut-off (marts.account_findings). Each becomes one alert
with the account, level, figures and a link to the Airflow run, recorded once in
control.alert_deliveries (a retried task sends nothing twice) and delivered to
every configured channel: the log (always), the webhook
(``DELTRAN_ALERT_WEBHOOK_URL``) and e-mail through Airflow's SMTP provider
(``DELTRAN_ALERT_EMAIL_TO``, connection ``DELTRAN_ALERT_SMTP_CONN_ID``).

An alert is always one structured log line (``deltran_alert {json}``) in the
task's log. When the setting ``alert_webhook_url`` (``DELTRAN_ALERT_WEBHOOK_URL``,
read in deltran.config) is set, the same small JSON
(dag_id, run_id, task_id, try_number, error) is also POSTed to that URL.
Sending an alert must never fail the task: every error here is logged and
swallowed.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import urllib.request
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

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


# --- control alerts ---------------------------------------------------------------------------------------

KINDS = ("breaker_opened", "suspension_started", "check_failed_closed", "statement_missing")
# how a check that could not run words its suspension (deltran.recon.checks): it failed closed
_FAILED_CLOSED = re.compile(r"fail(ed|s)? closed|could not (run|decide|check)", re.IGNORECASE)


@dataclass(frozen=True)
class ControlAlert:
    key: str  # what it is about, once: "event:<id>" or "finding:<id>"
    kind: str  # one of KINDS
    account_id: str | None
    level: str | None
    figures: str  # what was found, in words (the event's reason, the finding's detail)
    business_date: str | None
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    link: str | None  # the Airflow run

    @property
    def title(self) -> str:
        what = {
            "breaker_opened": "circuit breaker OPEN, payouts halted",
            "suspension_started": "payouts SUSPENDED",
            "check_failed_closed": "check could not run, payouts suspended (failed closed)",
            "statement_missing": "statement MISSING past its cut-off",
        }[self.kind]
        return f"[DelTran] {self.account_id or 'network'}: {what}" + (f" ({self.level})" if self.level else "")

    def payload(self) -> dict[str, Any]:
        return {"event": self.kind, "title": self.title, **asdict(self)}

    def html(self) -> str:
        rows = "".join(
            f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in asdict(self).items()
            if v is not None and k not in ("key", "link")
        )
        link = f"<p><a href='{html.escape(self.link)}'>The Airflow run</a></p>" if self.link else ""
        return f"<p>{html.escape(self.title)}</p><table>{rows}</table>{link}"


def run_link(dag_id: str | None, run_id: str | None, base_url: str) -> str | None:
    """The run's page in the Airflow 3 UI."""
    if not dag_id or not run_id:
        return None
    return f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def control_alerts(
    conn: Any,
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None,
    business_date: date | None = None,
    settings: config.Settings | None = None,
) -> list[ControlAlert]:
    """The alerts a run's controls call for (read only; :func:`raise_control_alerts` sends them)."""
    settings = settings or config.load()
    link = run_link(dag_id, run_id, settings.airflow_base_url)
    found: list[ControlAlert] = []
    if run_id:
        events = conn.execute(
            "select event_id, account_id, kind, reason, level, business_date from control.circuit_breaker_events"
            " where run_id = %s and ((kind = 'breaker' and to_state = 'open')"
            " or (kind = 'suspension' and to_state = 'suspended')) order by event_id",
            (run_id,),
        ).fetchall()
        for event_id, account, kind, reason, level, day in events:
            if kind == "breaker":
                what = "breaker_opened"
            else:
                what = "check_failed_closed" if _FAILED_CLOSED.search(reason or "") else "suspension_started"
            found.append(
                ControlAlert(
                    f"event:{event_id}", what, account, level, reason, day and str(day), dag_id, run_id, task_id, link
                )
            )
    has_findings = conn.execute("select to_regclass('marts.account_findings') is not null").fetchone()[0]
    if business_date is not None and has_findings:
        missing = conn.execute(
            "select finding_id, account_id, detail, servicer_bic from marts.account_findings"
            " where finding_type = 'missing_statement' and business_date = %s order by account_id",
            (business_date,),
        ).fetchall()
        for finding_id, account, detail, bank in missing:
            figures = f"{detail} (bank {bank})" if bank else detail
            found.append(
                ControlAlert(
                    f"finding:{finding_id}",
                    "statement_missing",
                    account,
                    None,
                    figures,
                    str(business_date),
                    dag_id,
                    run_id,
                    task_id,
                    link,
                )
            )
    conn.commit()
    return found


def send_email(alert: ControlAlert, settings: config.Settings) -> bool:
    """The alert by e-mail through Airflow's SMTP provider (its connection ``alert_smtp_conn_id``); never raises."""
    try:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=settings.alert_smtp_conn_id) as hook:
            hook.send_email_smtp(
                to=list(settings.alert_email_to),
                subject=alert.title,
                html_content=alert.html(),
                from_email=settings.alert_email_from,
            )
        return True
    except Exception as exc:  # an alert failure must never fail the task
        log.warning(
            "deltran_alert_email_failed %s",
            json.dumps({"conn_id": settings.alert_smtp_conn_id, "error": f"{type(exc).__name__}: {exc}"}),
        )
        return False


def deliver(alert: ControlAlert, settings: config.Settings) -> dict[str, bool]:
    """Send one alert to every configured channel; returns what each channel answered."""
    # a warning, not an error: the controls acting is the platform working (the task log stays free of ERROR)
    log.warning("deltran_alert %s", json.dumps(alert.payload(), default=str))
    sent = {"log": True}
    if settings.alert_webhook_url:
        sent["webhook"] = send_webhook(settings.alert_webhook_url, alert.payload())
    if settings.alert_email_to:
        sent["email"] = send_email(alert, settings)
    return sent


def raise_control_alerts(
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None,
    business_date: date | None = None,
    settings: config.Settings | None = None,
) -> list[ControlAlert]:
    """Alert once on every control action of the run not alerted yet; returns the alerts sent now.

    Each alert is recorded in control.alert_deliveries before it goes out (a
    retry, or the next task of the run, finds it there and sends nothing).
    """
    from deltran import db

    settings = settings or config.load()
    channels = (
        ["log"] + (["webhook"] if settings.alert_webhook_url else []) + (["email"] if settings.alert_email_to else [])
    )
    sent: list[ControlAlert] = []
    with db.connect(db.database_url(settings)) as conn:
        for alert in control_alerts(conn, dag_id, run_id, task_id, business_date, settings):
            new = conn.execute(
                "insert into control.alert_deliveries"
                " (alert_key, kind, account_id, level, dag_id, run_id, task_id, payload, channels)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict (alert_key) do nothing returning alert_key",
                (
                    alert.key,
                    alert.kind,
                    alert.account_id,
                    alert.level,
                    dag_id,
                    run_id,
                    task_id,
                    json.dumps(alert.payload(), default=str),
                    channels,
                ),
            ).fetchone()
            conn.commit()
            if new:
                deliver(alert, settings)
                sent.append(alert)
    return sent
