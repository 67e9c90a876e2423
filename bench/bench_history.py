"""make bench-history: does the cost of a day grow with the history in the warehouse?

    python bench/bench_history.py [--days 30] [--repeat 3]

The demo's business days (six registry accounts, about 2,300 bank movements and
their ledger postings a day: a reduced volume, so the whole bench takes minutes)
with continuity: each day opens at the previous close and books the previous
day's late items. Two warehouses, on the embedded PostgreSQL (or DATABASE_URL's
server):

- **day 1**: an empty warehouse; day 1's files arrive and its daily run runs;
- **day N** (30): days 1..N-1 are loaded and built (one build: the rows daily
  runs leave are the rows a full build gives, tests/test_daily_partitions.py),
  then day N's files arrive and its daily run runs.

A day's daily run is what eod_reconciliation runs: ingest, ``dbt build`` with
the day's partition (plus any earlier date the new files restate), the Great
Expectations checkpoint and the breaker. Each attempt is a first run: day 1 on
a new empty warehouse, day N on a copy of the N-1-day warehouse (CREATE
DATABASE ... TEMPLATE), its files released into the inbox again. The attempts
go in rounds (day 1, day K, day N, then again, ``--repeat`` rounds), so that a
shared machine's slow spells fall on every day alike; the fastest of each day
counts, and each round's day N / day 1 is printed beside it. (A rerun would
restate only day N, where the first run restates what day N's late items
touch: timing reruns flattered day N.) Beside it, in the same run, a full
rebuild of the N-day warehouse (every date, ``build_marts()`` without a date):
the cost the partitions avoid.

Day 1 restates nothing (nothing is before it); day N's files book day N-1's
late items, so its run restates the days the value-date tolerance reaches back
too. Day K (``--same-shape``, default 4: the first day that restates as many
days as day N) is measured the same way, so day N / day K is the cost of the
history alone, at the same work.

Target (issue 7): day N costs at most 1.2x day 1. Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("DELTRAN_DATABASE", "deltran_bench_history")
os.environ.setdefault("DELTRAN_HOME", tempfile.mkdtemp(prefix="deltran-bench-history-"))

import psycopg
from psycopg import sql

from deltran import config, db, pipeline
from deltran.demo.generator import generate_days

DAY1 = date(2026, 10, 1)
ADMIN_URL = os.environ.get("DATABASE_URL")  # the server's, before the bench points DATABASE_URL at its own database
RATIO_TARGET = 1.2


def _server_url(settings: config.Settings) -> str:
    return ADMIN_URL or db._embedded_url(settings.pgdata, "postgres")


def fresh_database(settings: config.Settings, template: str | None = None) -> str:
    """An empty warehouse (its own database), or a copy of ``template``; the inbox, archive and reports emptied."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    admin = _server_url(settings)
    name = sql.Identifier(settings.database_name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(name))
        if template is None:
            db.create_database(conn, settings.database_name)
        else:
            # a file copy, then a checkpoint: the default (WAL_LOG) writes the whole copy to the WAL
            # and leaves it to a checkpoint during the timed run, which would time the bench's own copying
            conn.execute(
                sql.SQL("create database {} template {} strategy file_copy").format(name, sql.Identifier(template))
            )
        # the earlier attempts' writes too: each attempt starts clean (DATABASE_URL's role may not
        # checkpoint: the figures are then noisier)
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("checkpoint")
    parts = conninfo_to_dict(admin)
    parts["dbname"] = settings.database_name
    os.environ["DATABASE_URL"] = make_conninfo(**parts)
    for folder in (settings.inbox, settings.archive, settings.quarantine):
        shutil.rmtree(folder, ignore_errors=True)
    settings.inbox.mkdir(parents=True)
    return os.environ["DATABASE_URL"]


def keep_copy(settings: config.Settings, copy: str) -> None:
    """Copy the bench's warehouse as it stands (the template of each day-N attempt), vacuumed first.

    A warehouse that daily runs built day after day has been vacuumed and
    analyzed by autovacuum as it grew; one loaded in one go just now has not,
    and autovacuum would start on it (and on each copy) during the timed runs.
    """
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("vacuum (analyze)")
    with psycopg.connect(_server_url(settings), autocommit=True) as conn:
        conn.execute(  # a template must have no session: end the pools' idle ones
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
            (settings.database_name,),
        )
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(copy)))
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(copy), sql.Identifier(settings.database_name)
            )
        )


def release(store: Path, day: date, inbox: Path) -> int:
    """Hard-link one business date's files (by the date in their names) into the inbox."""
    files = [p for p in store.iterdir() if p.is_file() and day.isoformat() in p.name]
    for path in files:
        os.link(path, inbox / path.name)
    return len(files)


def node_seconds(settings: config.Settings) -> dict[str, float]:
    """Each dbt node's execution time in the last invocation (dbt's run_results.json)."""
    path = settings.var / "dbt" / "target" / "run_results.json"
    results = json.loads(path.read_text())["results"] if path.exists() else []
    return {r["unique_id"]: float(r.get("execution_time") or 0) for r in results}


def daily_run(day: date, run_id: str) -> tuple[float, float, dict, dict[str, float]]:
    """One first daily run of ``day``: (ingest seconds, build + checks seconds, the build's plan, seconds per dbt node)."""
    settings = config.load()
    started = time.perf_counter()
    pipeline.ingest_files(settings)
    ingest = time.perf_counter() - started
    started = time.perf_counter()
    plan = pipeline.build_marts(settings, business_date=day, run_id=run_id)
    nodes = node_seconds(settings)
    pipeline.check_thresholds(day, run_id, settings)
    return ingest, time.perf_counter() - started, plan, nodes


class FirstRun(NamedTuple):
    url: str  # the warehouse it ran on
    ingest: float
    build: float  # dbt build + checks
    plan: dict  # build_marts' summary: the dates it restated
    nodes: dict[str, float]  # seconds per dbt node

    @property
    def total(self) -> float:
        return self.ingest + self.build


def first_run(store: Path, day: date, template: str | None, attempt: int) -> FirstRun:
    """One first run of ``day`` on a new warehouse: empty, or a copy of ``template``."""
    settings = config.load()
    url = fresh_database(settings, template)
    settings = config.load()  # DATABASE_URL now names the bench's database
    release(store, day, settings.inbox)
    return FirstRun(url, *daily_run(day, f"bench-{day}-{attempt}"))


def print_growth(day1: dict[str, float], day_n: dict[str, float], label: str, top: int = 12) -> None:
    """The dbt nodes whose time grew most from day 1 to day N: where the history still costs."""
    grew = sorted(((day_n.get(k, 0.0) - day1.get(k, 0.0), k) for k in set(day1) | set(day_n)), reverse=True)
    print(
        f"  dbt nodes that grew most (seconds, day 1 -> {label}; sum of all nodes "
        f"{sum(day1.values()):.1f} -> {sum(day_n.values()):.1f}):"
    )
    for _delta, key in grew[:top]:
        print(f"    {day1.get(key, 0.0):6.2f} -> {day_n.get(key, 0.0):6.2f}  {key}")


def warehouse_size(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select (select count(*) from raw.bank_entries), (select count(*) from raw.ledger_lines),"
            " (select count(*) from marts.account_reconciliation)"
        ).fetchone()
    assert row is not None
    return f"{row[0]:,} bank entries, {row[1]:,} ledger lines, {row[2]:,} account-days"


def history_before(store: Path, n: int) -> str:
    """Days 1..n-1 loaded and built (one build), kept as the template of day n's attempts: its name."""
    settings = config.load()
    fresh_database(settings)
    settings = config.load()
    for offset in range(n - 1):
        release(store, DAY1 + timedelta(days=offset), settings.inbox)
    started = time.perf_counter()
    pipeline.ingest_files(settings)
    pipeline.build_marts(settings, business_date=DAY1 + timedelta(days=n - 2), run_id=f"bench-history-load-{n}")
    print(f"  days 1..{n - 1} loaded and built in {time.perf_counter() - started:.0f} s", flush=True)
    template = f"{settings.database_name}_before_day_{n}"
    keep_copy(settings, template)
    return template


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--same-shape",
        type=int,
        default=4,
        help="also day K (default 4: the first day whose late items restate as many days as day N's), "
        "to tell the cost of more history from the cost of more restated days; 0 to skip",
    )
    args = parser.parse_args()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    last = DAY1 + timedelta(days=args.days - 1)
    settings = config.load()
    store = Path(tempfile.mkdtemp(prefix="history-files-"))
    started = time.perf_counter()
    generate_days(store, DAY1, args.days)
    print(f"bench-history: {args.days} demo business days written in {time.perf_counter() - started:.0f} s", flush=True)

    # Each day's warehouse first (day K's and day N's histories, kept as templates), then the
    # attempts in rounds: day 1, day K, day N, again and again. A shared host speeds up and slows
    # down over minutes (steal, I/O wait); interleaved, each day's fastest attempt comes from the
    # same spells as the others', and each round gives a ratio of attempts made side by side.
    days: list[tuple[int, str | None]] = [(1, None)]
    if 1 < args.same_shape < args.days:
        days.append((args.same_shape, history_before(store, args.same_shape)))
    days.append((args.days, history_before(store, args.days)))
    attempts: dict[int, list[FirstRun]] = {n: [] for n, _ in days}
    sizes: dict[int, str] = {}
    for attempt in range(args.repeat):
        print(f"  round {attempt + 1}:", flush=True)
        for n, template in days:
            run = first_run(store, DAY1 + timedelta(days=n - 1), template, attempt)
            attempts[n].append(run)
            if attempt == 0:  # the database now holds that day's warehouse
                sizes[n] = warehouse_size(run.url)
            print(f"    day {n:>2}: ingest {run.ingest:.2f} s + build and checks {run.build:.2f} s", flush=True)
    fastest = {n: min(runs, key=lambda r: r.total) for n, runs in attempts.items()}
    first, day_n = fastest[1], fastest[args.days]
    shape = fastest.get(args.same_shape) if args.same_shape != args.days else None
    for n, run in fastest.items():
        restated = sorted(run.plan["restated"]) or "none"
        print(f"  day {n}: {sizes[n]}; restated: {restated}", flush=True)
    paired = sorted(later.total / one.total for later, one in zip(attempts[args.days], attempts[1], strict=True))
    ratio = day_n.total / first.total
    print(f"daily run (ingest + dbt build of the partition + checks; first runs, fastest of {args.repeat}):")
    for label, run in [("1", first), (str(args.days), day_n)] + ([(str(args.same_shape), shape)] if shape else []):
        print(f"  day {label}: {run.total:6.2f} s  (ingest {run.ingest:.2f} s + build and checks {run.build:.2f} s)")
    if shape is not None:
        print(
            f"  (day {args.same_shape} restates {len(shape.plan['restated'])} days, day {args.days} {len(day_n.plan['restated'])})"
        )
    print_growth(first.nodes, day_n.nodes, f"day {args.days}")
    if shape is not None:
        print_growth(shape.nodes, day_n.nodes, f"day {args.days}, from day {args.same_shape}")
    settings = config.load()  # DATABASE_URL now names the bench's database
    started = time.perf_counter()
    pipeline.build_marts(settings)  # every date: what a day cost before the partitions
    pipeline.check_thresholds(last, "bench-history-full", settings)
    full_n = time.perf_counter() - started
    print(f"  beside it, same run: day {args.days} rebuilding every date: {day_n.ingest + full_n:.2f} s")
    if shape is not None:  # the same work on more days of history: what the history costs
        print(
            f"  day {args.days} / day {args.same_shape} = {day_n.total / shape.total:.2f}x"
            " (the same restatement, more history)"
        )
    print(
        f"  day {args.days} / day 1 in each round: {', '.join(f'{r:.2f}x' for r in paired)}"
        f" (median {paired[len(paired) // 2]:.2f}x)"
    )
    print(
        f"  day {args.days} / day 1 = {ratio:.2f}x (fastest against fastest), limit {RATIO_TARGET}x: "
        f"{'met' if ratio <= RATIO_TARGET else 'NOT met'}"
    )
    return 0 if ratio <= RATIO_TARGET else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:  # the bench's own embedded server (not DATABASE_URL's) would run on, idle, after it
        if ADMIN_URL is None:
            db.stop_embedded(config.load())
