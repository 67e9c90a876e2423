"""Fail closed, and make breaches visible: the end-of-day DAG through Airflow (dag.test()), real PostgreSQL and GX.

* The database stops accepting connections while the threshold checkpoint
  queries it: payouts on every registry account are suspended (recorded once
  the database is back), the task fails without retries, and the alert reaches
  a real local HTTP server as a webhook.
* No statement has arrived for the day: the run ends at check_thresholds with
  one freshness finding per account naming bank and account, at the first try.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from reliability.files import DAY, camt053, ledger, statement

from deltran import config, db

pytestmark = [pytest.mark.slow, pytest.mark.db, pytest.mark.airflow]
ACCOUNTS = {"ACC-FC-1": "USD", "ACC-FC-2": "USD"}


@pytest.fixture(scope="module")
def dagbag():
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


@pytest.fixture
def webhook(monkeypatch):
    """A real HTTP server on localhost that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DELTRAN_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/alerts")
    yield received
    server.shutdown()


def _task_states(dag_run) -> dict[str, tuple[str, int]]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.state, TaskInstance.try_number).where(
                TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
            )
        ).all()
    return {task: (str(state), tries) for task, state, tries in rows}


def _write_day(settings, with_statements: bool = True) -> None:
    settings.inbox.mkdir(parents=True, exist_ok=True)
    if with_statements:
        statements = [
            statement(a, "USD", [("OPBD", "1000.00", "USD"), ("CLBD", "1000.00", "USD")], []) for a in ACCOUNTS
        ]
        (settings.inbox / "camt053.xml").write_text(camt053(statements))
    (settings.inbox / "ledger.csv").write_text(ledger(dict.fromkeys(ACCOUNTS, ("1000.00", "USD"))))


class DatabaseStopper(threading.Thread):
    """Stops the test's database while the threshold checkpoint (GX) reads the mart.

    It holds a lock on marts.account_reconciliation so that every reader waits
    for it; it lets the other readers through (dbt, the pipeline's own read),
    and when the waiter is a checkpoint's session (GX's engine names its
    sessions ``deltran-checks``) it refuses new connections to the database and
    ends every session in it. ``outage`` seconds later the database accepts
    connections again.
    """

    def __init__(self, url: str, admin_url: str, outage: float = 4.0) -> None:
        super().__init__(daemon=True)
        self.url, self.admin_url, self.outage = url, admin_url, outage
        self.dbname = conninfo_to_dict(url)["dbname"]
        self.stopped_at: datetime | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _run(self) -> None:
        deadline = time.monotonic() + 600
        with psycopg.connect(self.url) as conn:
            conn.execute("set lock_timeout = '2s'")
            conn.commit()
            while not self.done.is_set() and time.monotonic() < deadline:
                if conn.execute("select to_regclass('marts.account_reconciliation')").fetchone()[0] is None:
                    conn.rollback()
                    time.sleep(0.2)
                    continue
                try:
                    conn.execute("lock table marts.account_reconciliation in access exclusive mode")
                except psycopg.errors.LockNotAvailable:
                    conn.rollback()
                    continue
                if self._wait_for_reader(conn) == "gx":
                    self._stop_database(conn)
                    return
                # someone else (dbt, the pipeline's own read): let it through and queue
                # for the lock again at once, so that no later reader slips past unseen
                conn.rollback()

    def _wait_for_reader(self, conn: psycopg.Connection) -> str | None:
        """Until some session waits for our lock: 'gx' when it is a checkpoint's, else 'other'."""
        for _ in range(200):
            # pg_stat_activity is read once per transaction unless its snapshot is cleared:
            # without this, a session that connected after the lock was taken is never seen
            conn.execute("select pg_stat_clear_snapshot()")
            rows = conn.execute(
                """
                select a.application_name from pg_locks as l join pg_stat_activity as a on a.pid = l.pid
                where not l.granted and l.relation = 'marts.account_reconciliation'::regclass
                """
            ).fetchall()
            if rows:
                return "gx" if any(name == db.CHECKS_APPLICATION_NAME for (name,) in rows) else "other"
            time.sleep(0.05)
        return None

    def _stop_database(self, conn: psycopg.Connection) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("alter database {} allow_connections false").format(sql.Identifier(self.dbname)))
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> %s",
                (self.dbname, conn.info.backend_pid),
            )
        self.stopped_at = datetime.now(timezone.utc)
        conn.rollback()
        time.sleep(self.outage)
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("alter database {} allow_connections true").format(sql.Identifier(self.dbname)))


def test_database_stopped_during_the_checkpoint_suspends_fails_and_alerts(
    dagbag, warehouse_url, register_accounts, webhook, monkeypatch
):
    register_accounts(ACCOUNTS)
    monkeypatch.setenv("DELTRAN_FAIL_CLOSED_WAIT_SECONDS", "120")
    settings = config.load()
    _write_day(settings)
    parts = conninfo_to_dict(warehouse_url)
    admin_url = make_conninfo(**{**parts, "dbname": "postgres"})
    stopper = DatabaseStopper(warehouse_url, admin_url)
    stopper.start()
    try:
        dag_run = dagbag.dags["eod_reconciliation"].test(logical_date=datetime(2026, 11, 20, tzinfo=timezone.utc))
    finally:
        stopper.done.set()
        stopper.join(timeout=30)
    assert stopper.error is None, stopper.error
    assert stopper.stopped_at is not None, "the checkpoint never read the mart: the database was not stopped"

    states = _task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["check_thresholds"] == ("failed", 1), states  # failed at once, no retry
    # nothing downstream ran (dag.test leaves them unscheduled, the scheduler marks them upstream_failed)
    assert all(
        states.get(t, ("None",))[0] in ("upstream_failed", "None") for t in ("check_integrity", "report_breaches")
    )

    with psycopg.connect(warehouse_url) as conn:
        gate = {
            a: (allowed, reason)
            for a, allowed, reason in conn.execute(
                "select account_id, payouts_allowed, reason from control.payout_gate"
            )
        }
        recorded = conn.execute("select count(*) from control.threshold_check_runs").fetchone()[0]
    assert set(gate) == set(ACCOUNTS)
    assert all(allowed is False for allowed, _ in gate.values()), gate
    assert all("could not run" in (reason or "") for _, reason in gate.values()), gate
    assert recorded == 0  # no level was recorded: nothing reads as all clear

    closed = [p for p in webhook if "FAILED CLOSED" in (p.get("error") or "")]
    assert closed, webhook
    assert closed[0]["dag_id"] == "eod_reconciliation" and closed[0]["task_id"] == "check_thresholds"
    assert "payouts suspended on 2 account(s)" in closed[0]["error"]


def test_statements_not_arrived_end_as_a_freshness_finding_without_retries(
    dagbag, warehouse_url, register_accounts, webhook
):
    register_accounts(ACCOUNTS, bank_bic="BANKGB2LXXX")
    settings = config.load()
    _write_day(settings, with_statements=False)

    dag_run = dagbag.dags["eod_reconciliation"].test(logical_date=datetime(2026, 11, 20, tzinfo=timezone.utc))

    states = _task_states(dag_run)
    assert dag_run.state == "failed"
    assert states["check_thresholds"] == ("failed", 1), states
    freshness = [p["error"] for p in webhook if "FRESHNESS" in (p.get("error") or "")]
    assert freshness, webhook
    for account in ACCOUNTS:
        assert f"bank BANKGB2LXXX account {account}" in freshness[0]
    with psycopg.connect(warehouse_url) as conn:
        gate = dict(conn.execute("select account_id, payouts_allowed from control.payout_gate"))
    assert gate == dict.fromkeys(ACCOUNTS, False)


def test_breach_summary_names_accounts_and_findings():
    from deltran.recon.controls import breach_summary

    day = DAY
    assert breach_summary(day, {"levels": {"A": "OK", "B": "Minor"}, "freshness": []}, {"findings": []}) is None
    text = breach_summary(
        day,
        {"levels": {"A": "Critical", "B": "Significant", "C": "OK"}, "freshness": ["missing statement: bank X"]},
        {"findings": ["ledger_consistency.journals_balance (2026-11-20): journal does not balance: journal_id J1"]},
    )
    assert text is not None and text.startswith("BREACH on 2026-11-20: 1 Critical, 1 Significant")
    assert "Critical: A: circuit breaker open" in text and "Significant: B: payouts suspended" in text
    assert "missing statement: bank X" in text and "journal_id J1" in text
