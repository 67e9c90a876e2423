"""Control alerts (issue 10, Alerts): a breaker opens, a suspension starts, a check fails closed, a statement is
missing; delivered to a real local HTTP server (the webhook), a real local SMTP server (aiosmtpd, through
Airflow's SMTP provider) and the log, once each, through the listener in plugins/."""

from __future__ import annotations

import email
import importlib
import json
import logging
import socket
import time
from datetime import UTC, date, datetime
from email.message import Message
from types import SimpleNamespace

import airflow.providers.smtp.hooks.smtp  # noqa: F401 (Airflow sets its logging up on import: before caplog)
import pytest
from aiosmtpd.controller import Controller

from deltran import alerts, config
from deltran.recon import breaker
from deltran.recon.breaker import CheckOutcome
from tests.test_plugins import PLUGINS, Receiver

pytestmark = pytest.mark.db

DAY = date(2026, 11, 20)
RUN = "scheduled__2026-11-20T00:00:00+00:00"


class Inbox:
    """aiosmtpd handler: keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    # an Airflow connection from the environment, as a deployment would set it
    monkeypatch.setenv(
        "AIRFLOW_CONN_DELTRAN_SMTP_TEST", f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&timeout=10"
    )
    monkeypatch.setenv("DELTRAN_ALERT_SMTP_CONN_ID", "deltran_smtp_test")
    monkeypatch.setenv("DELTRAN_ALERT_EMAIL_TO", "ops@deltran.example, risk@deltran.example")
    monkeypatch.setenv("DELTRAN_ALERT_EMAIL_FROM", "alerts@deltran.example")
    monkeypatch.setenv("DELTRAN_AIRFLOW_BASE_URL", "http://airflow.deltran.example:8080/")
    yield inbox
    controller.stop()


@pytest.fixture
def webhook(monkeypatch):
    receiver = Receiver()
    monkeypatch.setenv("DELTRAN_ALERT_WEBHOOK_URL", receiver.url())
    yield receiver
    receiver.close()


def apply(conn, account: str, level: str, reason: str, run_id: str = RUN) -> None:
    breaker.apply_checks(conn, [CheckOutcome(account, level, DAY, "test_check", run_id, reason, f"{account}-{level}")])
    conn.commit()


def wait_for(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_breaker_and_a_suspension_alert_every_channel_once(conn, smtp, webhook, caplog):
    caplog.set_level(logging.INFO, logger="deltran.alerts")
    apply(conn, "ACC-CRIT", "Critical", "Critical on 2026-11-20: difference 0.7937 %, under-backing 0.7937 %")
    apply(conn, "ACC-SIG", "Significant", "Significant on 2026-11-20: difference 0.2000 %")
    apply(conn, "ACC-FAIL", "Significant", "check failed closed: the database went away mid-checkpoint")
    apply(conn, "ACC-OTHER", "Critical", "another run's breaker", run_id="manual__other")

    sent = alerts.raise_control_alerts("eod_reconciliation", RUN, "check_thresholds")
    assert [(a.kind, a.account_id, a.level) for a in sent] == [
        ("breaker_opened", "ACC-CRIT", "Critical"),
        ("suspension_started", "ACC-SIG", "Significant"),
        ("check_failed_closed", "ACC-FAIL", "Significant"),
    ]
    link = (
        "http://airflow.deltran.example:8080/dags/eod_reconciliation/runs/scheduled__2026-11-20T00%3A00%3A00%2B00%3A00"
    )

    hooks = [r["json"] for r in webhook.requests]
    assert [h["account_id"] for h in hooks] == ["ACC-CRIT", "ACC-SIG", "ACC-FAIL"]
    assert hooks[0]["event"] == "breaker_opened" and hooks[0]["level"] == "Critical"
    assert hooks[0]["figures"].startswith("Critical on 2026-11-20: difference 0.7937 %")
    assert hooks[0]["link"] == link and hooks[0]["run_id"] == RUN and hooks[0]["business_date"] == "2026-11-20"

    wait_for(lambda: len(smtp.messages) == 3)
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == [
        "[DelTran] ACC-CRIT: circuit breaker OPEN, payouts halted (Critical)",
        "[DelTran] ACC-FAIL: check could not run, payouts suspended (failed closed) (Significant)",
        "[DelTran] ACC-SIG: payouts SUSPENDED (Significant)",
    ]
    crit = next(m for m in smtp.messages if "ACC-CRIT" in m["Subject"])
    assert crit["From"] == "alerts@deltran.example" and "ops@deltran.example" in crit["To"]
    body = next(p for p in crit.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "0.7937 %" in body and link.replace("&", "&amp;") in body

    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("deltran_alert {")]
    assert [json.loads(m.split(" ", 1)[1])["account_id"] for m in logged] == ["ACC-CRIT", "ACC-SIG", "ACC-FAIL"]

    # a retry, or the next checking task of the run, sends nothing twice
    assert alerts.raise_control_alerts("eod_reconciliation", RUN, "check_thresholds") == []
    assert len(webhook.requests) == 3
    recorded = conn.execute(
        "select alert_key, kind, channels from control.alert_deliveries order by alert_key"
    ).fetchall()
    assert [r[2] for r in recorded] == [["log", "webhook", "email"]] * 3


def test_a_statement_missing_past_its_cut_off_alerts(conn, webhook, monkeypatch):
    conn.execute(
        "create schema if not exists marts; create table marts.account_findings (finding_id text, finding_type text,"
        " account_id text, business_date date, message_type text, statement_id text, currency text,"
        " servicer_bic text, detail text)"
    )
    conn.execute(
        "insert into marts.account_findings values ('f-1', 'missing_statement', 'ACC-LATE', %s, 'camt.053', null,"
        " 'USD', 'LATEGB2LXXX', 'no camt.053 for this registry account and business date')",
        (DAY,),
    )
    conn.commit()
    [alert] = alerts.raise_control_alerts("eod_reconciliation", RUN, "check_thresholds", business_date=DAY)
    assert (alert.kind, alert.account_id) == ("statement_missing", "ACC-LATE")
    assert webhook.requests[0]["json"]["figures"] == (
        "no camt.053 for this registry account and business date (bank LATEGB2LXXX)"
    )
    with pytest.raises(Exception, match="append-only"):
        conn.execute("delete from control.alert_deliveries")
    conn.rollback()


def test_an_unreachable_channel_never_fails_the_caller(conn, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DELTRAN_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{port}/hook")
    monkeypatch.setenv("AIRFLOW_CONN_DELTRAN_SMTP_DOWN", f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true")
    monkeypatch.setenv("DELTRAN_ALERT_SMTP_CONN_ID", "deltran_smtp_down")
    monkeypatch.setenv("DELTRAN_ALERT_EMAIL_TO", "ops@deltran.example")
    apply(conn, "ACC-CRIT", "Critical", "Critical")
    alert = alerts.control_alerts(conn, "eod_reconciliation", RUN, "check_thresholds")[0]
    assert alerts.deliver(alert, config.load()) == {"log": True, "webhook": False, "email": False}


def test_the_listener_raises_control_alerts_when_a_checking_task_ends(conn, webhook, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    listener = importlib.import_module("deltran_alert_listener").task_failure_alerts
    apply(conn, "ACC-CRIT", "Critical", "Critical on 2026-11-20")
    ti = SimpleNamespace(
        dag_id="eod_reconciliation",
        run_id=RUN,
        task_id="build_marts",
        try_number=1,
        logical_date=datetime(2026, 11, 20, tzinfo=UTC),
        task=SimpleNamespace(dag=None),
    )
    listener.on_task_instance_success(None, ti)  # not a checking task: nothing
    assert webhook.requests == []
    ti.task_id = "check_thresholds"
    listener.on_task_instance_success(None, ti)
    assert [r["json"]["event"] for r in webhook.requests] == ["breaker_opened"]
    listener.on_task_instance_failed(None, ti, RuntimeError("boom"))  # the failure alert, no second breaker alert
    assert [r["json"].get("event") for r in webhook.requests] == ["breaker_opened", None]
    assert webhook.requests[1]["json"]["error"] == "RuntimeError: boom"
