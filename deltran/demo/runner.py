"""`deltran demo`: a business day through the platform's own DAGs, in one process.

The day's files are generated first: the ledger export, the end-of-day
statements and the interbank traffic into the inbox, and the intraday bank
messages (camt.054 notifications every 2 hours, camt.052 reports every 6
hours) into a holding folder. Then the day is replayed in time order, the way
the scheduler would run it:

* the clearing windows at 00:00, 06:00, 12:00 and 18:00 (logical date = closing);
* the intraday check every 2 hours from 02:00 to 22:00 (logical date = cut-off);
* before each run, the intraday files the bank had created by then are released
  into the inbox; after it, ``notification_reconciliation`` for the camt.054
  files the run loaded (one asset event each; the scheduler gives the events
  that queue up together to one run, and so does this);
* the end-of-day reconciliation of the business date (logical date = D).

Every run goes through Airflow (``dag.test()``, Airflow's own runner) inside
this one process: the DAG folder is parsed once, and Airflow, dbt and Great
Expectations are imported once, instead of once per run. A run's outcome is
the state Airflow gives its DagRun. What `make airflow`'s UI shows of the runs
is what a worker would have left: each task instance's log in the file
Airflow's log reader opens for it, and each run's real start (see
``_TaskLogs`` and ``_record_real_start``); the runs' own orchestration lines go
to var/logs/demo/.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from deltran import config

UTC = timezone.utc
CLEARING_HOURS = (0, 6, 12, 18)
# every 2 hours, when the banks' notifications of the last 2 hours have come in
INTRADAY_CUTOFFS = tuple(timedelta(hours=h) for h in range(2, 24, 2))
TIMELINE_ACCOUNT = "A1"  # the account whose intraday timeline the summary prints


@dataclass(frozen=True)
class Run:
    at: datetime  # when the scheduler would start it (orders the day)
    dag_id: str
    logical_date: datetime | None
    conf: dict | None = None

    @property
    def label(self) -> str:
        when = self.logical_date.isoformat() if self.logical_date else "asset-triggered"
        return f"{self.dag_id} {when}" + (f" {self.conf}" if self.conf else "")


def scheduled_runs(business_date: date) -> list[Run]:
    """The time-scheduled runs of one business date, in the order the scheduler starts them."""
    start = datetime(business_date.year, business_date.month, business_date.day, tzinfo=UTC)
    runs = [Run(start + timedelta(hours=h), "clearing_window", start + timedelta(hours=h)) for h in CLEARING_HOURS]
    runs += [Run(start + cut, "intraday_reconciliation", start + cut) for cut in INTRADAY_CUTOFFS]
    # the business date is the logical date; the run starts once the day is over
    runs.append(Run(start + timedelta(days=1, seconds=1), "eod_reconciliation", start))
    return sorted(runs, key=lambda r: (r.at, r.dag_id))


def demo_runs(business_date: date) -> list[tuple[str, str]]:
    """(dag_id, logical date) of the scheduled runs, as `airflow dags test` takes them."""
    return [(r.dag_id, r.logical_date.isoformat()) for r in scheduled_runs(business_date) if r.logical_date is not None]


class DemoFailed(RuntimeError):
    pass


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Everything written to file descriptors 1 and 2 (Airflow's, dbt's and GX's logs) goes to ``log``.

    At the descriptor level: loggers keep the stream objects they were built
    with, so swapping sys.stdout would leave them writing to a closed file.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = os.dup(1), os.dup(2)
    os.dup2(target, 1)
    os.dup2(target, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (target, *saved):
            os.close(fd)


class _LinesToLog(threading.Thread):
    """Each line written to a pipe goes into ``log`` as one JSON log record, as Airflow's task supervisor does.

    Airflow's own records (JSON, see run_demo) go in as they are; any other line
    (dbt's console output, a print) becomes a record of ``logger`` at ``level``:
    the supervisor files a task's stdout as info and its stderr as error. The
    pipe is read until ``finish()``, not to its end: a process the task started
    (multiprocessing's resource tracker, which dbt starts) inherits its write
    end and may outlive the task.
    """

    def __init__(self, log: BinaryIO, lock: threading.Lock, logger: str, level: str):
        super().__init__(daemon=True)
        self.read_end, self.write_end = os.pipe()
        self.log, self.lock, self.logger, self.level = log, lock, logger, level
        self.done = threading.Event()

    def run(self) -> None:
        pending = b""
        while True:
            readable, _, _ = select.select([self.read_end], [], [], 0.05)
            if readable:
                chunk = os.read(self.read_end, 65536)
                if not chunk:  # every write end is closed
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._write(line)
            elif self.done.is_set():  # finished, and nothing left to read
                break
        self._write(pending)
        os.close(self.read_end)

    def finish(self) -> None:
        self.done.set()
        self.join()

    def _write(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        if not line.strip():
            return
        record = None
        if line.startswith(b"{"):
            with contextlib.suppress(ValueError):
                if isinstance(json.loads(line), dict):
                    record = line
        if record is None:
            text = line.decode("utf-8", errors="replace")
            now = datetime.now(UTC).isoformat()
            record = json.dumps({"timestamp": now, "level": self.level, "event": text, "logger": self.logger}).encode()
        with self.lock:
            self.log.write(record + b"\n")
            self.log.flush()


@contextlib.contextmanager
def _task_log(path: Path) -> Iterator[None]:
    """File descriptors 1 and 2 go, line by line as JSON records, to the task log ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    lock = threading.Lock()
    with path.open("ab") as log:
        saved, readers = [], []
        for fd, logger, level in ((1, "task.stdout", "info"), (2, "task.stderr", "error")):
            reader = _LinesToLog(log, lock, logger, level)
            reader.start()
            readers.append(reader)
            saved.append(os.dup(fd))
            os.dup2(reader.write_end, fd)
            os.close(reader.write_end)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, original in zip((1, 2), saved, strict=True):
                os.dup2(original, fd)
                os.close(original)
            for reader in readers:
                reader.finish()


@contextlib.contextmanager
def _task_logs_where_airflow_reads_them() -> Iterator[None]:
    """Each task instance's log in the file a worker would have written, so the UI opens it.

    dag.test() runs every task in this process, and its log goes to stdout. A
    worker writes it to ``[logging] base_log_folder`` under the log filename
    template, rendered for the task instance and its try (Airflow's executors
    render it with ``log_filename_template_renderer``): the file the UI's log
    reader (FileTaskHandler) opens. dag.test() runs each task instance through
    ``airflow.sdk.definitions.dag._run_task``, which this wraps for the demo.
    """
    from airflow.sdk.definitions import dag as sdk_dag
    from airflow.sdk.log import init_log_file
    from airflow.utils.helpers import log_filename_template_renderer

    render = log_filename_template_renderer()
    run_task = sdk_dag._run_task

    def run_task_logged(*, ti: Any, task: Any, **kwargs: Any) -> Any:
        with _task_log(init_log_file(render(ti=ti))):
            return run_task(ti=ti, task=task, **kwargs)

    sdk_dag._run_task = run_task_logged
    try:
        yield
    finally:
        sdk_dag._run_task = run_task


def _record_real_start(dag_run: Any, started_at: datetime) -> None:
    """dag.test() stamps a run's start with its logical date (a past business date, for the demo),
    so the UI would show days as its duration: record when it really started."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.id == dag_run.id).values(start_date=started_at))


class _Airflow:
    """The DAG folder, parsed once; runs one DagRun at a time with dag.test()."""

    def __init__(self, logs: Path):
        with _output_to(logs / "dagbag.log"):
            from airflow.dag_processing.dagbag import DagBag

            self.bag = DagBag(dag_folder=str(config.PROJECT_ROOT / "dags"))
        self.logs = logs
        if self.bag.import_errors:
            raise DemoFailed(f"DAG import errors: {self.bag.import_errors}")

    def run(self, run: Run, log_name: str) -> tuple[str, float, Path]:
        log = self.logs / f"{log_name}.log"
        started = time.perf_counter()
        with _output_to(log), _task_logs_where_airflow_reads_them():
            try:
                kwargs: dict = {"run_conf": run.conf}
                if run.logical_date is not None:
                    kwargs["logical_date"] = run.logical_date
                started_at = datetime.now(UTC)
                dag_run = self.bag.dags[run.dag_id].test(**kwargs)
                _record_real_start(dag_run, started_at)
                state = str(getattr(dag_run, "state", "none"))
                if state == "failed" and ended_on_breach(dag_run):
                    state = BREACH
            except Exception:
                import traceback

                traceback.print_exc()
                state = "error"
        return state, time.perf_counter() - started, log


# A day with Significant or Critical accounts ends red on purpose: its last task,
# report_breaches, fails with the breach summary after the breaker has acted.
BREACH_TASK = "report_breaches"
BREACH = "breach"


def ended_on_breach(dag_run: Any) -> bool:
    """The run failed only because its breach task reported the day's breaches (every other task succeeded)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        states = session.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
            )
        ).all()
    failed = {task for task, state in states if str(state).lower().endswith("failed")}
    return failed == {BREACH_TASK}


def _release(manifest: Any, holding: Path, inbox: Path, until: datetime) -> list[str]:
    """Move the intraday files the bank had created by ``until`` into the inbox."""
    moved = []
    for created, name in manifest.intraday_files:
        source = holding / name
        if created <= until and source.exists():
            shutil.move(str(source), inbox / name)
            moved.append(name)
    return moved


def _pending_notifications() -> list[tuple[int, str]]:
    from deltran import db
    from deltran.recon import tiers

    with db.connect() as conn:
        db.ensure_schema(conn)
        return tiers.notification_files(conn)


def replay_day(
    business_date: date, manifest: Any, holding: Path, inbox: Path, execute: Callable[[Run, str], bool]
) -> bool:
    """Every run of the day in time order; ``execute(run, log_name) -> bool`` runs one.

    Stops at the first run that fails and returns False.
    """
    for run in scheduled_runs(business_date):
        _release(manifest, holding, inbox, run.at)
        if not execute(run, f"{run.dag_id}_{run.logical_date:%Y-%m-%dT%H%M}"):
            return False
        pending = _pending_notifications()
        if pending:  # the asset events of this run's notification files, taken by one tier-1 run
            tier1 = Run(run.at, "notification_reconciliation", None, {"file_ids": [f for f, _ in pending]})
            if not execute(tier1, f"notification_reconciliation_{run.at:%Y-%m-%dT%H%M}"):
                return False
    return True


def use_airflow_environment(settings: config.Settings) -> None:
    """The project's Airflow environment for this process; Airflow reads it when first imported."""
    from deltran.airflow_env import airflow_environment

    # Airflow's records as JSON lines, as a worker writes task logs (the UI shows their level and time)
    os.environ.setdefault("AIRFLOW__LOGGING__JSON_LOGS", "True")
    for key, value in airflow_environment(settings).items():
        if key.startswith("AIRFLOW") or key == "PATH":
            os.environ[key] = value


def run_demo(business_date: date, seed: int = 42, out: TextIO | None = None) -> int:
    from deltran import db
    from deltran.demo.generator import generate_day

    # The demo replays a past day: its payout gate measures the horizon from that day,
    # or every account would read "no check since" the demo date. A set value wins.
    replayed_hours = datetime.now(timezone.utc) - datetime.combine(business_date, datetime.min.time(), timezone.utc)
    os.environ.setdefault("DELTRAN_PAYOUT_CHECK_HORIZON_HOURS", str(int(replayed_hours.total_seconds() // 3600) + 48))
    settings = config.load()
    out = out or os.fdopen(os.dup(1), "w", buffering=1)  # the console, whatever fd 1 points at meanwhile
    use_airflow_environment(settings)
    logs = settings.var / "logs" / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    # Airflow's metadata schema (a no-op when current), while the files are generated
    with (logs / "airflow-db-migrate.log").open("w") as log:
        migrate = subprocess.Popen(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=dict(os.environ), stdout=log, stderr=log
        )
    settings.inbox.mkdir(parents=True, exist_ok=True)
    holding = settings.var / "demo" / "bank_intraday"
    shutil.rmtree(holding, ignore_errors=True)
    manifest = generate_day(settings.inbox, business_date, seed=seed, intraday=holding)
    print(
        f"demo: generated {len(manifest.files)} files for {business_date} into {settings.inbox}, and "
        f"{len(manifest.intraday_files)} camt.054/camt.052 the bank sends through the day",
        file=out,
    )
    print(f"demo: warehouse {db.database_url()}", file=out)
    if migrate.wait():
        print(f"demo: airflow db migrate failed; log: {logs / 'airflow-db-migrate.log'}", file=out)
        return 1
    started = time.perf_counter()
    airflow = _Airflow(logs)
    print(f"demo: DAGs parsed once ({', '.join(sorted(airflow.bag.dags))})", file=out)

    def execute(run: Run, log_name: str) -> bool:
        print(f"demo: {run.label} ...", end=" ", flush=True, file=out)
        state, seconds, log = airflow.run(run, log_name)
        if state == BREACH:
            print(
                f"ended red in {seconds:.1f} s, as intended: the day has breaches, so its last task "
                f"({BREACH_TASK}) fails with the breach summary after the breaker acted (log: {log})",
                file=out,
            )
            return True
        if state != "success":
            print(f"FAILED ({state}; log: {log})", file=out)
            return False
        print(f"success in {seconds:.1f} s", file=out)
        return True

    from deltran.warehouse import dbt

    with dbt.many_invocations_in_this_process():  # every run of the day is in this process
        if not replay_day(business_date, manifest, holding, settings.inbox, execute):
            return 1
    print(f"demo: every run ended as intended, {time.perf_counter() - started:.0f} s in Airflow", file=out)
    print_summary(business_date, settings, out)
    return 0


def print_summary(business_date: date, settings: config.Settings, out: TextIO = sys.stdout) -> None:
    from deltran import db, report
    from deltran.demo.reference import ACCOUNTS
    from deltran.recon import tiers

    account = next(a for a in ACCOUNTS if a.key == TIMELINE_ACCOUNT)
    with db.connect() as conn:
        print(file=out)
        print(report.format_summary(report.eod_summary(conn, business_date)), file=out)
        print(file=out)
        print(f"Intraday timeline of {account.key} {account.iban} ({account.currency}), tier 2:", file=out)
        print(
            f"  {'cut-off':>5}  {'source':8}  {'bank':>16}  {'ledger':>16}  {'difference':>12}  "
            f"{'%':>8}  {'drift':>12}  level",
            file=out,
        )
        for row in tiers.intraday_timeline(conn, account.iban, business_date):
            drift = "" if row["drift"] is None else f"{row['drift']:,.2f}"
            print(
                f"  {row['cutoff_at']:%H:%M}  {row['bank_source']:8}  {row['bank_balance'] or 0:>16,.2f}  "
                f"{row['ledger_balance'] or 0:>16,.2f}  {row['difference'] or 0:>12,.2f}  "
                f"{row['difference_pct']:>8.4f}  {drift:>12}  {row['level']}",
                file=out,
            )
        tier1 = conn.execute(
            "select c.cutoff_at, c.account_id, c.level, f.file_name from tiers.notification_checks c"
            " join raw.ingested_files f using (file_id)"
            " where c.level in ('Significant', 'Critical') and c.business_date = %s order by c.cutoff_at, c.account_id",
            (business_date,),
        ).fetchall()
        print(file=out)
        print("Notifications (tier 1) that acted at once:", file=out)
        for at, acct, level, name in tier1:
            print(f"  {at:%H:%M} {acct} {level:11} {name}", file=out)
    print(file=out)
    print(f"Reports: dbt docs    {settings.reports / 'dbt_docs' / 'index.html'}", file=out)
    print(f"         Data Docs   {settings.reports / 'data_docs' / 'index.html'}", file=out)
    print(f"         summary     {settings.reports / 'eod' / (business_date.isoformat() + '.txt')}", file=out)
    print(f"         quarantine  {settings.quarantine}", file=out)
