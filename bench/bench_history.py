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
Expectations checkpoint and the breaker. The ingest is timed once (the day's
files load once); build and checks are then rerun (a rerun does the same work)
and the fastest of ``--repeat`` counted, to damp the noise of a shared machine.
Beside it, in the same run, a full rebuild of the N-day warehouse (every date,
``build_marts()`` without a date): the cost the partitions avoid.

Target (issue 7): day N costs at most 1.2x day 1. Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("DELTRAN_DATABASE", "deltran_bench_history")
os.environ.setdefault("DELTRAN_HOME", tempfile.mkdtemp(prefix="deltran-bench-history-"))

import psycopg
from psycopg import sql

from deltran import config, db, pipeline
from deltran.demo.generator import generate_days

DAY1 = date(2026, 10, 1)
ADMIN_URL = os.environ.get("DATABASE_URL")  # the server's, before the bench points DATABASE_URL at its own database
RATIO_TARGET = 1.2


def fresh_database(settings: config.Settings) -> str:
    """An empty warehouse (its own database) and the inbox, archive and reports emptied."""
    admin = ADMIN_URL or db._embedded_url(settings.pgdata, "postgres")
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(settings.database_name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(settings.database_name)))
    parts = conninfo_to_dict(admin)
    parts["dbname"] = settings.database_name
    os.environ["DATABASE_URL"] = make_conninfo(**parts)
    for folder in (settings.inbox, settings.archive, settings.quarantine):
        shutil.rmtree(folder, ignore_errors=True)
    settings.inbox.mkdir(parents=True)
    return os.environ["DATABASE_URL"]


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


def daily_run(day: date, repeat: int) -> tuple[float, float, dict, dict[str, float]]:
    """(ingest seconds, fastest build + checks seconds, the build's plan, that build's seconds per dbt node)."""
    settings = config.load()
    started = time.perf_counter()
    pipeline.ingest_files(settings)
    ingest = time.perf_counter() - started
    best, built, nodes = float("inf"), {}, {}
    for attempt in range(repeat):
        started = time.perf_counter()
        plan = pipeline.build_marts(settings, business_date=day, run_id=f"bench-{day}-{attempt}")
        took_nodes = node_seconds(settings)
        pipeline.check_thresholds(day, f"bench-{day}-{attempt}", settings)
        took = time.perf_counter() - started
        if took < best:
            best, nodes = took, took_nodes
        built = built or plan  # the first run's plan (its restatements); reruns restate nothing
    return ingest, best, built, nodes


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    last = DAY1 + timedelta(days=args.days - 1)
    settings = config.load()
    store = Path(tempfile.mkdtemp(prefix="history-files-"))
    started = time.perf_counter()
    generate_days(store, DAY1, args.days)
    print(f"bench-history: {args.days} demo business days written in {time.perf_counter() - started:.0f} s", flush=True)

    # day 1 on an empty warehouse
    url = fresh_database(settings)
    settings = config.load()  # DATABASE_URL now names the bench's database
    release(store, DAY1, settings.inbox)
    ingest1, build1, _, nodes1 = daily_run(DAY1, args.repeat)
    print(f"  day 1 ({DAY1}): {warehouse_size(url)}: {ingest1 + build1:.2f} s", flush=True)

    # day N on a warehouse holding days 1..N-1
    url = fresh_database(settings)
    settings = config.load()
    for offset in range(args.days - 1):
        release(store, DAY1 + timedelta(days=offset), settings.inbox)
    started = time.perf_counter()
    pipeline.ingest_files(settings)
    pipeline.build_marts(settings, business_date=last - timedelta(days=1), run_id="bench-history-load")
    print(f"  days 1..{args.days - 1} loaded and built in {time.perf_counter() - started:.0f} s", flush=True)
    release(store, last, settings.inbox)
    ingest_n, build_n, plan, nodes_n = daily_run(last, args.repeat)
    print(f"  day {args.days} ({last}): {warehouse_size(url)}; restated: {sorted(plan['restated']) or 'none'}")
    day1, day_n = ingest1 + build1, ingest_n + build_n
    ratio = day_n / day1
    print(f"daily run (ingest + dbt build of the partition + checks; build and checks fastest of {args.repeat}):")
    print(f"  day 1:  {day1:6.2f} s  (ingest {ingest1:.2f} s + build and checks {build1:.2f} s)")
    print(
        f"  day {args.days}: {day_n:6.2f} s  (ingest {ingest_n:.2f} s + build and checks {build_n:.2f} s)", flush=True
    )
    print_growth(nodes1, nodes_n, f"day {args.days}")
    settings = config.load()  # DATABASE_URL now names the bench's database
    started = time.perf_counter()
    pipeline.build_marts(settings)  # every date: what a day cost before the partitions
    pipeline.check_thresholds(last, "bench-history-full", settings)
    full_n = time.perf_counter() - started
    print(f"  beside it, same run: day {args.days} rebuilding every date: {ingest_n + full_n:.2f} s")
    print(
        f"  day {args.days} / day 1 = {ratio:.2f}x, limit {RATIO_TARGET}x: "
        f"{'met' if ratio <= RATIO_TARGET else 'NOT met'}"
    )
    return 0 if ratio <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
