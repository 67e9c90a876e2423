"""Run the dbt project in-process, on the warehouse deltran.db points at.

Why in-process (dbtRunner) and one `dbt build` per run rather than one Airflow
task per model (astronomer-cosmos): the marts of a business date are only
meaningful together, a build is a few seconds at this scale, and one task keeps
the DAG readable for operations; dbt's own DAG, tests and lineage are in the
dbt docs. The connection and the thresholds are passed on every invocation
(environment for the profile, --vars for the models), so nobody can run the
models with other numbers than deltran.config's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from deltran import config, db


class DbtError(RuntimeError):
    pass


# The daily partition's dates, read by dbt/macros/daily_partition.sql (comma-separated ISO dates).
PARTITION_DATES_ENV = "DELTRAN_PARTITION_DATES"
RESTATE_FROM_ENV = "DELTRAN_RESTATE_FROM"


def profile_env(url: str | None = None) -> dict[str, str]:
    """Environment variables read by dbt/profiles.yml."""
    parts = db.connection_parts(url)
    return {f"DELTRAN_PG_{key.upper()}": value for key, value in parts.items()}


# The commands that run on a parsed project and accept one already parsed (dbtRunner(manifest=...)).
_TAKE_A_MANIFEST = {"build", "run", "seed", "test", "snapshot", "compile", "docs"}
# While many_invocations_in_this_process() is active: the parsed project, per what its parse depended on,
# and no full garbage collection after each invocation.
_parsed: dict[str, Any] | None = None
_collect_after_each = True


@contextlib.contextmanager
def many_invocations_in_this_process() -> Iterator[None]:
    """For one process that runs many dbt invocations and ends normally (the demo replays a day in one).

    * The project is parsed once for every invocation in this block. Each
      invocation otherwise parses it again: even a partial parse
      (target/partial_parse.msgpack) reads and hashes every file and rebuilds
      the manifest. dbt's programmatic runner takes a parsed manifest instead
      (``dbtRunner(manifest=...)``); it is kept per warehouse, vars and seed
      folder, so a change of any of them parses again.
    * No full garbage collection after each invocation (see _release_adapters):
      in a process that ends normally, multiprocessing's finalizers release the
      adapters' semaphores at exit. A full collection walks every object of the
      process (Airflow, dbt and GX loaded): seconds, on every invocation.

    An Airflow worker runs one dbt invocation per task process and ends it with
    ``os._exit``: there neither applies.
    """
    global _parsed, _collect_after_each
    outer = _parsed, _collect_after_each
    _parsed, _collect_after_each = ({} if _parsed is None else _parsed), False
    try:
        yield
    finally:
        _parsed, _collect_after_each = outer


def _manifest_for(args: list[str], common: list[str], settings: config.Settings) -> Any:
    """The project parsed once under many_invocations_in_this_process(), or None (dbt parses as usual)."""
    from dbt.cli.main import dbtRunner

    if _parsed is None or not args or args[0] not in _TAKE_A_MANIFEST:
        return None
    key = json.dumps([common, os.environ.get("DELTRAN_SEED_DIR"), sorted(profile_env(db.database_url(settings)))])
    if key not in _parsed:
        try:
            parsed = dbtRunner().invoke(["parse", *common])
        finally:
            _release_adapters()
        if not parsed.success:
            return None  # the invocation itself parses, and reports what is wrong
        _parsed[key] = parsed.result
    return _parsed[key]


def run(
    args: list[str],
    settings: config.Settings | None = None,
    *,
    with_vars: bool = True,
    extra_vars: dict[str, object] | None = None,
    partition_dates: Sequence[date] | None = None,
    restate_from: date | None = None,
) -> object:
    """Invoke ``dbt ARGS`` against the current warehouse; raise DbtError on failure.

    ``partition_dates``: the business dates the daily marts' incremental models
    build (macros/daily_partition.sql); None builds every date. They go to dbt
    in the environment (PARTITION_DATES_ENV), not in ``--vars``: a change of
    ``--vars`` makes dbt parse the whole project again, and the dates change on
    every daily run. The variable is set or removed on every call, so a build
    of every date never inherits an earlier call's dates in the same process.
    ``restate_from`` (with ``partition_dates``): the earliest date whose rows may
    change, for the models partitioned by a row's own date (RESTATE_FROM_ENV);
    it may be later than the earliest partition date (a date the value-date
    tolerance reaches); without it the earliest partition date.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when dbt actually runs

    settings = settings or config.load()
    os.environ.update(profile_env(db.database_url(settings)))
    if partition_dates is None:
        os.environ.pop(PARTITION_DATES_ENV, None)
        os.environ.pop(RESTATE_FROM_ENV, None)
    else:
        # dates, formatted here: nothing else reaches the SQL the macro writes
        dates = [date.fromisoformat(str(d)) for d in partition_dates]
        os.environ[PARTITION_DATES_ENV] = ",".join(d.isoformat() for d in dates)
        earliest = date.fromisoformat(str(restate_from)) if restate_from else min(dates, default=None)
        if earliest is None:
            os.environ.pop(RESTATE_FROM_ENV, None)
        else:
            os.environ[RESTATE_FROM_ENV] = earliest.isoformat()
    os.environ["DELTRAN_SEED_DIR"] = _seed_dir(settings)
    work = settings.var / "dbt"
    common = [
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    if with_vars:
        common += ["--vars", json.dumps({**settings.dbt_vars(), **(extra_vars or {})})]
    if not sys.stdout.isatty():  # a task log: no terminal colour codes in its lines
        common.append("--no-use-colors")
    full = [*args, *common]
    try:
        result = dbtRunner(manifest=_manifest_for(args, common, settings)).invoke(full)
    finally:
        _release_adapters()
    if not result.success:
        failures = []
        for node in getattr(result.result, "results", None) or []:
            if str(getattr(node, "status", "")).lower() in ("error", "fail"):
                failures.append(f"{node.node.unique_id}: {node.message}")
        detail = "; ".join(failures) or str(result.exception or "see dbt logs in " + str(work / "logs"))
        raise DbtError(f"dbt {' '.join(args)} failed: {detail}")
    return result.result


def _seed_dir(settings: config.Settings) -> str:
    """dbt_project.yml's seed-paths: the folder of the account registry (account_registry.csv).

    The project's own dbt/seeds by default. Another folder (DELTRAN_REGISTRY_DIR) is
    copied into dbt's work folder first: dbt writes a seed's run SQL to
    target/run/<seed path>, which for a seed path outside the project is the CSV
    itself, so it must never be the user's file.
    """
    if settings.registry_dir == settings.dbt_project_dir / "seeds":
        return "seeds"
    copy = settings.var / "dbt" / "registry"
    copy.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.registry_dir / "account_registry.csv", copy / "account_registry.csv")
    return str(copy)


def run_model(select: str, settings: config.Settings | None = None) -> object:
    """``dbt run`` of the model ``select`` and every model it reads (``+select``).

    On a warehouse whose raw tables are empty this creates the model's table with
    dbt's own columns and types and no rows: the benchmark and the tests that load
    intermediate.int_obligations directly start from it, never from a hand-copied
    DDL. (``dbt run --empty`` would do it on any warehouse, but dbt 1.11 wraps
    ``{{ ref() }} as alias`` into invalid SQL.)
    """
    return run(["run", "--select", f"+{select}"], settings)


def _release_adapters() -> None:
    """Drop the adapters dbt keeps after an invocation, so their semaphores are freed now.

    Each dbt adapter's connection manager holds a ``multiprocessing`` lock of the
    *spawn* context: a named POSIX semaphore registered with Python's resource
    tracker, unlinked only when the lock is garbage collected. dbt keeps the last
    adapter alive in its global factory until the next invocation, and an Airflow
    task process ends with ``os._exit`` (no finalizers), so the tracker found the
    semaphore still registered and printed "leaked semaphore objects" to the task
    log's stderr (shown as ERROR lines). Resetting the factory and collecting
    releases it at the end of every run; the next invocation creates its adapter
    afresh anyway (dbt resets the factory when it starts). Under
    many_invocations_in_this_process() the collection is left to Python.
    """
    import gc

    from dbt.adapters.factory import reset_adapters

    reset_adapters()
    if _collect_after_each:
        gc.collect()


def build(settings: config.Settings | None = None) -> object:
    """``dbt build``: staging -> intermediate -> marts, with every data and unit test."""
    return run(["build"], settings)


def generate_docs(settings: config.Settings | None = None) -> Path:
    """dbt docs as one static page in reports/dbt_docs/index.html; returns its path."""
    settings = settings or config.load()
    run(["docs", "generate", "--static"], settings)
    target = settings.reports / "dbt_docs"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.var / "dbt" / "target" / "static_index.html", target / "index.html")
    return target / "index.html"
