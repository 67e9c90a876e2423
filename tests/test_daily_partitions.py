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
# incremental models without a key of (account, business date), compared whole: partitioned by a row's own
# date (a daily run rebuilds its rows from restate_from on, macros/restated_marts.sql), or kept by item (a
# daily run decides again the items of a scope, int_matches__references_scope and int_matching_scope)
RESTATED = (
    "marts.statement_checks",
    "marts.ledger_consistency",
    "marts.transaction_matches",
    "intermediate.int_matches__references",
    "intermediate.int_bank_entries_matched_to_ledger",
)


def _all_rows(conn: psycopg.Connection, table: str) -> list[tuple]:
    """Every row of ``table``, every column, in one order (a table without a key of (account, date))."""
    return sorted((tuple(row) for row in conn.execute(f"select * from {table}")), key=repr)


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
    # each daily run builds other dates, and dbt still parses the project partially: the dates go in the
    # environment (dbt.PARTITION_DATES_ENV), not in --vars, whose change makes dbt parse everything again
    invocations = (settings.var / "dbt" / "logs" / "dbt.log").read_text().split("Running with dbt=")
    last_build = invocations[-1]
    assert "Partial parsing enabled" in last_build
    assert "Unable to do partial parsing" not in last_build
    # day 2's files book day 1's late items: the day-2 run restated day 1, and said why
    assert DAYS[0].isoformat() in runs[0]["restated"]
    with psycopg.connect(warehouse_url) as conn:
        recorded = conn.execute(
            "select business_date, run_business_date, reason from tiers.daily_builds where is_restatement"
            " order by build_id"
        ).fetchall()
        assert (DAYS[0], DAYS[1]) in {(d, r) for d, r, _ in recorded}
        assert all("loaded or decided after its last build" in reason for *_, reason in recorded)
        own = conn.execute(
            "select business_date from tiers.daily_builds where not is_restatement order by build_id"
        ).fetchall()
        assert [d for (d,) in own] == DAYS
        daily = {table: _without_xmin(_rows(conn, table)) for table in DAILY}
        restated = {table: _all_rows(conn, table) for table in RESTATED}
        assert restated["marts.statement_checks"] and restated["marts.transaction_matches"]
        # what day 1 said first is kept in the snapshot history: a closed version per changed account-day
        checked = "bank_opening_balance, bank_closing_balance, ledger_balance, difference, threshold_level,"
        checked += " matched_count, amount_mismatch_count, bank_only_count, ledger_only_count, duplicate_count"
        first = {
            (a, d): rest
            for a, d, *rest in conn.execute(
                f"select account_id, business_date, {checked} from marts.eod_account_snapshots"
                " where dbt_valid_to is not null and business_date = %s",
                (DAYS[0],),
            )
        }
        current = {
            (a, d): rest
            for a, d, *rest in conn.execute(
                f"select account_id, business_date, {checked} from marts.account_reconciliation where business_date = %s",
                (DAYS[0],),
            )
        }
        changed = {
            key for key, row in _without_xmin(day1_first).items() if row != daily["marts.account_reconciliation"][key]
        }
        assert changed, "the demo's day 2 should change day 1's figures"
        assert first, "the restatement should close day 1's first snapshot versions"
        for key, old in first.items():
            assert old != current[key]  # each closed version is what the restatement replaced

    # a build of every date over the daily runs' tables (incremental, no restate_from): the same rows
    pipeline.build_marts(settings)
    with psycopg.connect(warehouse_url) as conn:
        for table in RESTATED:
            assert _all_rows(conn, table) == restated[table], table
    dbt.run(["build", "--full-refresh"], settings)
    with psycopg.connect(warehouse_url) as conn:
        refreshed = {table: _without_xmin(_rows(conn, table)) for table in DAILY}
        refreshed_restated = {table: _all_rows(conn, table) for table in RESTATED}
    assert refreshed == daily
    for table in RESTATED:
        assert refreshed_restated[table] == restated[table], table


@hsettings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.sampled_from(DAYS), min_size=3, max_size=3))
def test_a_rerun_or_backfill_of_a_day_writes_no_row_of_another_day(warehouse_url, runs):
    """Daily runs in any order (a later day first, then an earlier one: a backfill; a day twice: a rerun):
    each rewrites its own date's rows, to the values they had, and no row of another date."""
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    # all three days' files are in before any run, so no run has late files to restate
    # (the same files again in later examples: ingest skips them)
    previous = None
    for day in DAYS:
        previous = generate_day(settings.inbox, day, 42, opening=previous is None, previous=previous)
    pipeline.ingest_files(settings)
    # the warehouse's first build (every date: its tables do not exist yet); in later examples a rerun
    pipeline.build_marts(settings, business_date=DAYS[-1], run_id="first")
    for day in runs:
        with psycopg.connect(warehouse_url) as conn:
            before = {table: _rows(conn, table) for table in DAILY}
        built = pipeline.build_marts(settings, business_date=day, run_id=f"run-{day}")
        with psycopg.connect(warehouse_url) as conn:
            after = {table: _rows(conn, table) for table in DAILY}
        for table in DAILY:
            assert {d for _, d in before[table]} == set(DAYS)
            others_before = {k: v for k, v in before[table].items() if k[1] != day}
            others_after = {k: v for k, v in after[table].items() if k[1] != day}
            assert others_after == others_before  # the same row versions (xmin): not even rewritten
            mine_before = {k: v for k, v in before[table].items() if k[1] == day}
            mine_after = {k: v for k, v in after[table].items() if k[1] == day}
            assert _without_xmin(mine_after) == _without_xmin(mine_before)
            assert {v[0] for v in mine_after.values()}.isdisjoint(v[0] for v in mine_before.values())  # rewritten
        assert built["restated"] == {}  # no file loaded since the first build: nothing to restate
