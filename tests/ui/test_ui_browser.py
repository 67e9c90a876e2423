"""The Reconciliation page in a real browser, inside the real Airflow UI.

Airflow is started the way ``make airflow`` starts it (``deltran airflow
standalone``, the environment of deltran/airflow_env.py) on a free port, with
its own home and SimpleAuthManager users of known passwords. Playwright drives
Debian's Chromium (``/usr/bin/chromium``; Playwright's own browser download
cannot work here): log in as an operator, open Reconciliation from the
navigation, read the accounts table, reset a breaker with a reason. Screenshots
are kept in var/test-artifacts/ui/.

Outside CI the test skips when Chromium or Playwright is missing, saying so;
under CI=true a missing browser fails it (the CI set-up installs Chromium).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import browser_support
import psycopg
import pytest
import ui_warehouse_day as warehouse_day

from deltran.airflow_env import airflow_environment

pytestmark = [pytest.mark.slow, pytest.mark.db]

ARTIFACTS = browser_support.ARTIFACTS / "ui"
CRITICAL = "DE89370400440532013000"
PASSWORD = "a-long-test-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"airflow standalone exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(2)
    pytest.fail(f"the Airflow API server did not answer {url} within {seconds:.0f} s:\n{log.read_text()[-4000:]}")


@pytest.fixture
def airflow_ui(warehouse_url, tmp_path):
    """``deltran airflow standalone`` on a free port, on this test's warehouse; yields its base URL."""
    browser_support.require_browser()
    warehouse_day.build(warehouse_url)
    home = tmp_path / "airflow"
    home.mkdir()
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"olivia": PASSWORD, "vera": PASSWORD}))
    port = _free_port()
    env = airflow_environment()
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "olivia:op,vera:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
            # sized for the project's 2-core machine
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__SCHEDULER__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            # the log servers too, so a developer's running `make airflow` is never in the way
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        }
    )
    log = tmp_path / "airflow-standalone.log"
    deltran = Path(sys.executable).parent / "deltran"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(deltran), "airflow", "standalone"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/api/v2/monitor/health", process, log)
        yield base
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=30)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / "airflow-standalone.log")


def test_an_operator_resets_a_breaker_from_the_reconciliation_page(airflow_ui, warehouse_url):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_support.CHROMIUM, args=browser_support.CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.set_default_timeout(60_000)
            page.goto(airflow_ui + "/")
            # not logged in: Airflow's own login page (SimpleAuthManager)
            page.locator('input[name="username"]').fill("olivia")
            page.locator('input[name="password"]').fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            nav = page.get_by_role("link", name="Reconciliation")
            expect(nav).to_be_visible(timeout=60_000)
            page.screenshot(path=ARTIFACTS / "01-airflow-home.png")
            nav.click()
            frame = page.frame_locator("iframe")
            table = frame.locator("#accounts-table")
            expect(table).to_be_visible(timeout=60_000)
            accounts = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.account)")
            assert accounts[:2] == [CRITICAL, "IL620108000000099999999"] and len(accounts) == 5
            first = table.locator("tbody tr").first.inner_text()
            assert "Critical" in first and "-3,968.25 USD" in first and "halted" in first
            page.screenshot(path=ARTIFACTS / "02-reconciliation-page.png", full_page=True)

            board = frame.locator("#breakers ~ table").first
            expect(board).to_contain_text(CRITICAL)
            board.locator('input[name="reason"]').fill("bank confirmed the funds by phone, ticket OPS-1")
            board.locator('input[name="force"]').check()  # the latest check is still Critical
            board.get_by_role("button", name="Reset breaker").click()
            expect(frame.locator("p.msg.ok")).to_contain_text(f"Breaker of {CRITICAL} closed by olivia")
            expect(frame.locator(f'#accounts-table tr[data-account="{CRITICAL}"]')).to_contain_text("allowed")
            page.screenshot(path=ARTIFACTS / "03-after-reset.png", full_page=True)
        except Exception:
            page.screenshot(path=ARTIFACTS / "failure.png", full_page=True)
            raise
        finally:
            browser.close()
    with psycopg.connect(warehouse_url) as conn:
        actor, reason, state = conn.execute(
            "select e.actor, e.reason, b.state from control.circuit_breakers as b"
            " join control.circuit_breaker_events as e on e.event_id = b.last_event_id where b.account_id = %s",
            (CRITICAL,),
        ).fetchone()
    forced = "forced reset while the latest check (2026-11-20, run scheduled__2026-11-20) is Critical: "
    assert (actor, reason, state) == ("olivia", forced + "bank confirmed the funds by phone, ticket OPS-1", "closed")
