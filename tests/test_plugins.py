"""Operations alerts when a platform task fails: deltran.alerts and the Airflow plugin in plugins/.

The webhook is tested against a real HTTP server on 127.0.0.1 (a random port,
in a thread), not a mock: what it receives is what a receiver would. The plugin
is loaded by Airflow's own plugin loader and registered through its listener
manager; the slow test runs a real failing task with `airflow dags test`.
"""

from __future__ import annotations

import http.server
import importlib
import json
import logging
import shutil
import socket
import subprocess
import threading
from types import SimpleNamespace

import pytest

from deltran import config

PLUGINS = config.PROJECT_ROOT / "plugins"
PAYLOAD_KEYS = {"dag_id", "run_id", "task_id", "try_number", "error"}


class Receiver:
    """A real local webhook receiver: records each request, answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 204
        self.delay = 0.0
        self.release = threading.Event()  # ends a delayed answer early at teardown
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body or b"null")}
                )
                if receiver.delay:
                    receiver.release.wait(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks/ops-token-123") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def closed_port_url() -> str:
    """A local URL nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@pytest.fixture
def alerts(monkeypatch):
    monkeypatch.delenv("DELTRAN_ALERT_WEBHOOK_URL", raising=False)
    from deltran import alerts

    return alerts


@pytest.fixture
def listener_module(alerts, monkeypatch):
    """The plugin file, imported as Airflow's plugin loader does (from the plugins folder)."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    return importlib.import_module("deltran_alert_listener")


@pytest.fixture
def alert_log(caplog):
    caplog.set_level(logging.INFO, logger="deltran.alerts")
    return caplog


def _alert_lines(caplog, marker: str) -> list[dict]:
    lines = []
    for record in caplog.records:
        message = record.getMessage()
        if record.name == "deltran.alerts" and message.startswith(marker + " "):
            lines.append(json.loads(message[len(marker) + 1 :]))
    return lines


def fake_ti(fileloc: str | None = None, **fields):
    """What the listener reads off a RuntimeTaskInstance / TaskInstance."""
    dag = SimpleNamespace(fileloc=fileloc) if fileloc else None
    values = {
        "dag_id": "eod_reconciliation",
        "run_id": "scheduled__2026-11-20T00:00:00+00:00",
        "task_id": "build_marts",
        "try_number": 2,
        "task": SimpleNamespace(dag=dag),
    }
    values.update(fields)
    return SimpleNamespace(**values)


# --- the webhook sender ------------------------------------------------------------


def test_send_webhook_posts_the_json(alerts, receiver):
    payload = alerts.build_payload("eod_reconciliation", "manual__1", "ingest_files", 1, ValueError("bad camt"))
    assert alerts.send_webhook(receiver.url(), payload) is True
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/hooks/ops-token-123"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "dag_id": "eod_reconciliation",
        "run_id": "manual__1",
        "task_id": "ingest_files",
        "try_number": 1,
        "error": "ValueError: bad camt",
    }


def test_alert_logs_a_structured_line_and_posts_when_the_url_is_set(alerts, receiver, alert_log, monkeypatch):
    monkeypatch.setenv("DELTRAN_ALERT_WEBHOOK_URL", receiver.url())
    payload = alerts.alert_task_failure("eod_reconciliation", "r1", "check_thresholds", 3, RuntimeError("GX failed"))
    assert [r["json"] for r in receiver.requests] == [payload]
    assert set(payload) == PAYLOAD_KEYS
    assert payload["error"] == "RuntimeError: GX failed" and payload["try_number"] == 3
    [line] = _alert_lines(alert_log, "deltran_alert")
    assert line == {"event": "task_failed", **payload}


def test_no_url_logs_but_posts_nothing(alerts, receiver, alert_log):
    alerts.alert_task_failure("eod_reconciliation", "r1", "publish_reports", 1, "disk full")
    assert receiver.requests == []
    [line] = _alert_lines(alert_log, "deltran_alert")
    assert line["task_id"] == "publish_reports" and line["error"] == "disk full"


def test_long_errors_are_cut(alerts):
    text = alerts.error_text(RuntimeError("x" * 10_000))
    assert len(text) == alerts.MAX_ERROR_CHARS and text.startswith("RuntimeError: xxx")


# --- an alert failure never fails the task ---------------------------------------------


def test_server_error_is_swallowed_and_logged(alerts, receiver, alert_log):
    receiver.status = 500
    assert alerts.send_webhook(receiver.url(), {"dag_id": "d"}) is False
    [failure] = _alert_lines(alert_log, "deltran_alert_webhook_failed")
    assert "500" in failure["error"]
    # the token in the URL's path never reaches the log
    assert failure["target"] == f"http://127.0.0.1:{receiver.server.server_port}"
    assert "ops-token-123" not in alert_log.text


def test_refused_connection_is_swallowed_and_logged(alerts, closed_port_url, alert_log):
    assert alerts.send_webhook(closed_port_url, {"dag_id": "d"}) is False
    [failure] = _alert_lines(alert_log, "deltran_alert_webhook_failed")
    assert "refused" in failure["error"].lower() or "URLError" in failure["error"]


def test_timeout_is_swallowed_and_logged(alerts, receiver, alert_log):
    assert alerts.TIMEOUT_SECONDS == 5
    receiver.delay = 30  # answers long after the sender gave up
    assert alerts.send_webhook(receiver.url(), {"dag_id": "d"}, timeout=0.5) is False
    assert len(receiver.requests) == 1  # it did reach the server
    [failure] = _alert_lines(alert_log, "deltran_alert_webhook_failed")
    assert "timed out" in failure["error"].lower() or "timeout" in failure["error"].lower()


def test_a_non_http_url_is_refused_not_opened(alerts, alert_log, tmp_path):
    target = tmp_path / "secret.txt"
    target.write_text("nope")
    assert alerts.send_webhook(target.as_uri(), {"dag_id": "d"}) is False
    assert _alert_lines(alert_log, "deltran_alert_webhook_failed")


@pytest.mark.airflow
def test_the_listener_never_raises(listener_module, closed_port_url, alert_log, monkeypatch):
    monkeypatch.setenv("DELTRAN_ALERT_WEBHOOK_URL", closed_port_url)
    hook = listener_module.task_failure_alerts.on_task_instance_failed
    assert hook(previous_state=None, task_instance=fake_ti(), error=RuntimeError("boom")) is None
    assert _alert_lines(alert_log, "deltran_alert")
    assert _alert_lines(alert_log, "deltran_alert_webhook_failed")
    # even a task instance missing everything the listener reads
    assert hook(previous_state=None, task_instance=object(), error=None) is None


# --- which DAGs alert --------------------------------------------------------------------


def test_is_platform_dag(alerts, tmp_path):
    dags = tmp_path / "dags"
    assert alerts.is_platform_dag(dags / "eod_reconciliation.py", dags)
    assert alerts.is_platform_dag(dags / "sub" / "x.py", dags)
    assert not alerts.is_platform_dag(tmp_path / "elsewhere" / "x.py", dags)
    assert not alerts.is_platform_dag(tmp_path / "dags_old" / "x.py", dags)  # a prefix is not a parent
    assert alerts.is_platform_dag(None, dags)  # unknown: alert rather than miss it


@pytest.mark.airflow
def test_only_the_platforms_dags_alert(listener_module, receiver, monkeypatch, tmp_path):
    dags = tmp_path / "dags"
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags))
    monkeypatch.setenv("DELTRAN_ALERT_WEBHOOK_URL", receiver.url())
    hook = listener_module.task_failure_alerts.on_task_instance_failed
    hook(previous_state=None, task_instance=fake_ti(str(tmp_path / "other" / "x.py"), task_id="foreign"), error="e")
    hook(previous_state=None, task_instance=fake_ti(str(dags / "eod_reconciliation.py")), error="e")
    assert [r["json"]["task_id"] for r in receiver.requests] == ["build_marts"]


# --- the plugin, as Airflow loads it ------------------------------------------------------


@pytest.mark.airflow
def test_airflow_loads_the_plugin_and_registers_the_listener(receiver, monkeypatch):
    """Airflow's plugin loader finds the AirflowPlugin subclass; its listener matches the 3.x hookspec."""
    from airflow._shared.listeners.spec import taskinstance
    from airflow._shared.plugins_manager import (
        _load_plugins_from_plugin_directory,
        integrate_listener_plugins,
    )
    from airflow.listeners.listener import ListenerManager
    from airflow.plugins_manager import AirflowPlugin

    monkeypatch.syspath_prepend(str(PLUGINS))
    plugins, errors = _load_plugins_from_plugin_directory(str(PLUGINS))
    assert errors == {}
    [plugin] = [p for p in plugins if p.name == "deltran_alerts"]
    assert isinstance(plugin, AirflowPlugin)
    assert plugin.listeners, "the plugin registers no listener"

    manager = ListenerManager()
    manager.add_hookspecs(taskinstance)  # pluggy checks each hookimpl's arguments against the spec
    integrate_listener_plugins(manager, plugins=[plugin])
    assert manager.has_listeners
    impls = [impl.plugin for impl in manager.pm.hook.on_task_instance_failed.get_hookimpls()]
    assert any(listener in impls for listener in plugin.listeners)

    monkeypatch.setenv("DELTRAN_ALERT_WEBHOOK_URL", receiver.url())
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER", raising=False)
    manager.hook.on_task_instance_failed(previous_state=None, task_instance=fake_ti(), error=KeyError("IBAN"))
    assert [r["json"] for r in receiver.requests] == [
        {
            "dag_id": "eod_reconciliation",
            "run_id": "scheduled__2026-11-20T00:00:00+00:00",
            "task_id": "build_marts",
            "try_number": 2,
            "error": "KeyError: 'IBAN'",
        }
    ]


FAILING_DAG = """
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="alert_probe", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def alert_probe():
    @task(retries=0)
    def explode():
        raise RuntimeError("ledger export missing")

    explode()


alert_probe()
"""


@pytest.mark.slow
def test_a_real_failing_task_raises_the_alert(receiver, tmp_path):
    """`airflow dags test` on a failing DAG, with the project's plugins folder: the webhook hears of it."""
    from deltran.airflow_env import airflow_environment

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "alert_probe.py").write_text(FAILING_DAG)
    env = airflow_environment()
    for key in [k for k in env if k.startswith("AIRFLOW__DATABASE__")]:
        del env[key]  # a throwaway SQLite metadata database in AIRFLOW_HOME
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "DELTRAN_ALERT_WEBHOOK_URL": receiver.url("/ops"),
        }
    )
    airflow = shutil.which("airflow", path=env["PATH"])
    assert airflow, "the airflow command is not on the virtualenv's PATH"
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    run = subprocess.run(
        [airflow, "dags", "test", "alert_probe", "2026-01-02"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert "ledger export missing" in output, output[-3000:]  # the task did run and fail
    assert [r["json"] for r in receiver.requests] == [
        {
            "dag_id": "alert_probe",
            "run_id": receiver.requests[0]["json"]["run_id"] if receiver.requests else None,
            "task_id": "explode",
            "try_number": 1,
            "error": "RuntimeError: ledger export missing",
        }
    ], output[-3000:]
    assert receiver.requests[0]["path"] == "/ops"
    assert receiver.requests[0]["json"]["run_id"].startswith("manual__")
    assert "deltran_alert " in output
