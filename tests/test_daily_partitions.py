"""The daily marts by partition, on a real PostgreSQL with real dbt builds (no Airflow).

Three demo business days arrive one at a time; each day's run builds its own
business date. Day 2's files book day 1's late items (the bank's late credit,
the ledger's late posting), so they change day 1: the day-2 run restates it,
says why in tiers.daily_builds, and the snapshot keeps day 1's first figures.
The rows the daily runs leave are the rows a full refresh gives. A rerun or a
backfill of a day writes no row of any other date (hypothesis picks the days).
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from deltran import config, pipeline
from deltran.demo.generator import generate_day
from deltran.warehouse import dbt

pytestmark = [pytest.mark.slow, pytest.mark.db]
DAY1 = date(2026, 11, 20)
DAYS = [DAY1 + timedelta(days=n) for n in range(3)]
DAILY = ("marts.account_reconciliation", "intermediate.int_ledger_balances_daily")


def _rows(conn: psycopg.Connection, table: str) -> dict[tuple, tuple]:
    """(account, date) -> the row's values; and the row versions (xmin) it was written by."""
    cur = conn.execute(f"select xmin::text, * from {table} order by account_id, business_date")
    names = [c.name for c in cur.description or ()]
    out = {}
    for row in cur.fetchall():
        values = dict(zip(names, row, strict=True))
        out[(values["account_id"], values["business_date"])] = tuple(row)
    return out


def _without_xmin(rows: dict[tuple, tuple]) -> dict[tuple, tuple]:
    return {k: v[1:] for k, v in rows.items()}


def _run_day(settings: config.Settings, day: date, previous):
    manifest = generate_day(settings.inbox, day, 42, opening=previous is None, previous=previous)
    pipeline.ingest_files(settings)
    return manifest, pipeline.build_marts(settings, business_date=day, run_id=f"run-{day}")


def test_daily_runs_restate_late_days_and_equal_a_full_refresh(warehouse_url):
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    manifest, first = _run_day(settings, DAYS[0], None)
    assert first["restated"] == {}
    with psycopg.connect(warehouse_url) as conn:
        day1_first = _rows(conn, "marts.account_reconciliation")
    assert {d for _, d in day1_first} == {DAYS[0]}

    previous = manifest
    runs = []
    for day in DAYS[1:]:
        previous, built = _run_day(settings, day, previous)
        runs.append(built)
    # day 2's files book day 1's late items: the day-2 run restated day 1, and said why
    assert DAYS[0].isoformat() in runs[0]["restated"]
    with psycopg.connect(warehouse_url) as conn:
        recorded = conn.execute(
            "select business_date, run_business_date, reason from tiers.daily_builds where is_restatement"
            " order by build_id"
        ).fetchall()
        assert (DAYS[0], DAYS[1]) in {(d, r) for d, r, _ in recorded}
        assert all("file(s) loaded after its last build" in reason for *_, reason in recorded)
        own = conn.execute(
            "select business_date from tiers.daily_builds where not is_restatement order by build_id"
        ).fetchall()
        assert [d for (d,) in own] == DAYS
        daily = {table: _without_xmin(_rows(conn, table)) for table in DAILY}
        # what day 1 said first is kept in the snapshot history when the restatement changed it
        changed = {
            key for key, row in _without_xmin(day1_first).items() if daily["marts.account_reconciliation"][key] != row
        }
        assert changed, "the demo's day 2 should change day 1's figures"
        versions = dict(
            conn.execute(
                "select account_id, count(*) from marts.eod_account_snapshots where business_date = %s"
                " group by account_id",
                (DAYS[0],),
            ).fetchall()
        )
        for account, _ in changed:
            assert versions[account] >= 1

    dbt.run(["build", "--full-refresh"], settings)
    with psycopg.connect(warehouse_url) as conn:
        refreshed = {table: _without_xmin(_rows(conn, table)) for table in DAILY}
    assert refreshed == daily


@hsettings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_rerun_or_backfill_of_a_day_writes_no_row_of_another_day(warehouse_url, data):
    """Run days 1 and 3, then day 2 as a backfill, then any day again: other dates' rows are untouched."""
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    # all three days' files are in before any run, so no run has late files to restate
    # (the same files again in later examples: ingest skips them)
    previous = None
    for day in DAYS:
        previous = generate_day(settings.inbox, day, 42, opening=previous is None, previous=previous)
    pipeline.ingest_files(settings)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:  # every example from empty marts
        conn.execute("drop schema if exists marts, intermediate cascade")
        conn.execute("truncate tiers.daily_builds")
    order = data.draw(st.permutations(DAYS), label="order of the days' first runs")
    again = data.draw(st.sampled_from(DAYS), label="the day run again")
    for day in order:
        with psycopg.connect(warehouse_url) as conn:
            exists = conn.execute("select to_regclass('marts.account_reconciliation') is not null").fetchone()
            before = {table: _rows(conn, table) for table in DAILY} if exists and exists[0] else {}
        built = pipeline.build_marts(settings, business_date=day, run_id=f"run-{day}")
        assert built["restated"] == {}
        with psycopg.connect(warehouse_url) as conn:
            after = {table: _rows(conn, table) for table in DAILY}
        for table, rows in before.items():  # the other dates' rows: the same row versions, untouched
            assert {k: v for k, v in after[table].items() if k[1] != day} == {
                k: v for k, v in rows.items() if k[1] != day
            }
    with psycopg.connect(warehouse_url) as conn:
        before = {table: _rows(conn, table) for table in DAILY}
    pipeline.build_marts(settings, business_date=again, run_id=f"rerun-{again}")
    with psycopg.connect(warehouse_url) as conn:
        after = {table: _rows(conn, table) for table in DAILY}
    for table in DAILY:
        assert {k: v for k, v in after[table].items() if k[1] != again} == {
            k: v for k, v in before[table].items() if k[1] != again
        }
        # the rerun day: rewritten, to the same values
        assert _without_xmin({k: v for k, v in after[table].items() if k[1] == again}) == _without_xmin(
            {k: v for k, v in before[table].items() if k[1] == again}
        )
