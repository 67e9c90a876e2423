"""The daily marts by partition, on a real PostgreSQL with real dbt builds (no Airflow).

Demo business days arrive one at a time (five, three for the reruns); each
day's run builds its own business date. Day 2's files book day 1's late items (the bank's late credit,
the ledger's late posting), so they change day 1: the day-2 run restates it,
says why in tiers.daily_builds, and the snapshot keeps day 1's first figures.
The rows the daily runs leave are the rows a full refresh gives, those of the
models partitioned by a row's own date (numbered movements and postings,
reversals, ledger balances) too, with the cases their daily runs must carry
over from the rows they keep (a copy of a transaction booked on an earlier
day, a reversal an earlier one already took, an account's first statement
after its first postings) made on purpose. A rerun or a backfill of a day
writes no row of any other date (hypothesis picks the days).
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from deltran import config, db, pipeline
from deltran.demo.generator import generate_day
from deltran.warehouse import dbt

pytestmark = [pytest.mark.slow, pytest.mark.db]
DAY1 = date(2026, 11, 20)
DAYS = [DAY1 + timedelta(days=n) for n in range(3)]
# five days for the comparison with a full build: a run restates the business dates from the earliest
# date its files touch less the value-date tolerance (2 days), so only the fifth day's run keeps daily
# rows (of day 1); the rows dated by their own date it rebuilds from that date itself (day 4: it keeps
# days 1-3)
WEEK = [DAY1 + timedelta(days=n) for n in range(5)]
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


# partitioned by a row's own date: a daily run rebuilds its rows from restate_from on
# (macros/daily_partition.sql); {table: (the row's key, its date, or None: a reversal)}
DATED = {
    "intermediate.int_bank_movements_numbered": ("bank_entry_id", "booking_date"),
    "intermediate.int_ledger_postings_numbered": ("ledger_entry_id", "booking_date"),
    "intermediate.int_bank_reversals": ("reversal_id", None),
}
INCREMENTAL = (*DATED, "intermediate.int_ledger_balances_daily")
# incremental strategy 'restate' (macros/daily_partition.sql): a row from restate_from on that the run gives
# again unchanged is not rewritten either
KEPT_WHEN_UNCHANGED = ("intermediate.int_bank_movements_numbered", "intermediate.int_ledger_postings_numbered")
# kept by item with the incremental strategy 'rescope': a row of the scope's items that the run gives again
# unchanged is not rewritten
KEPT_BY_ITEM = (
    "intermediate.int_matches__references",
    "intermediate.int_bank_entries_matched_to_ledger",
    "marts.transaction_matches",
)
NEW_ACCOUNT = "XX00NEWEMIACCOUNT"


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


def _contents(conn: psycopg.Connection, table: str) -> list[str]:
    """Every row of the table as PostgreSQL prints it (a numeric's scale too), in order."""
    return [row for (row,) in conn.execute(f"select t::text from {table} as t order by 1")]


def _dated_rows(conn: psycopg.Connection, table: str) -> dict[str, tuple]:
    """key -> (row version (xmin), the row's date, the row as text)."""
    key, dated = DATED[table]
    when, join = f"t.{dated}", ""
    if not dated:  # a reversal: its movement's booking date
        when, join = (
            "m.booking_date",
            " join intermediate.int_bank_movements_numbered as m on m.bank_entry_id = t.reversal_id",
        )
    cur = conn.execute(f"select t.{key}, t.xmin::text, {when}, t::text from {table} as t{join}")
    return {k: (xmin, d, text) for k, xmin, d, text in cur}


def _row_versions(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """Every row as (row version (xmin), the row as text), in one order."""
    return sorted(conn.execute(f"select t.xmin::text, t::text from {table} as t").fetchall())


def _copy_rows(conn: psycopg.Connection, table: str, where: str, params: dict, changes: dict[str, str]) -> int:
    """Copies of raw rows with some columns changed (SQL expressions over the row): what the demo does not make."""
    conn.execute(f"create temp table copied (like {table})")
    conn.execute(f"insert into copied select * from {table} where {where}", params)
    conn.execute("update copied set " + ", ".join(f"{c} = {e}" for c, e in changes.items()), params)
    copied = conn.execute(f"insert into {table} select * from copied").rowcount
    conn.execute("drop table copied")
    assert copied, f"nothing to copy in {table} where {where}"
    return copied


def _statement_of(conn: psycopg.Connection, account: str, day: date) -> dict:
    """The account's camt.053 statement of the day: where a booking is added to it."""
    row = conn.execute(
        "select file_id, message_id, statement_id, max(entry_index) + 1 from raw.bank_entries"
        " where message_type = 'camt.053' and account = %s and booking_date = %s"
        " group by file_id, message_id, statement_id order by file_id desc limit 1",
        (account, day),
    ).fetchone()
    assert row, f"no statement of {account} on {day}"
    return dict(zip(("file_id", "message_id", "statement_id", "entry_index"), row, strict=True))


def _book_what_the_demo_does_not(conn: psycopg.Connection, day: date) -> None:
    """Bookings that make a daily run carry over what it keeps from the days before restate_from.

    Day 1: the bank reverses its duplicate booking the same day (so the demo's
    reversal of it on day 2 finds it taken and cancels nothing), and an account
    without statements yet posts in the ledger. Day 4: the bank books a day-3
    transaction again and the ledger posts one again (copy 2, numbered after the
    day-3 copy the day-5 run keeps), and a journal spans days 3 and 4 (the day-5
    run checks it whole). Day 5: that account's first statement.
    """
    if day == WEEK[0]:
        duplicate = conn.execute(
            "select e.ctid::text from raw.bank_entries as e"
            " where e.message_type = 'camt.053' and not e.is_reversal and e.uetr is not null and e.booking_date = %s"
            " and exists (select 1 from raw.bank_entries as o where o.message_type = 'camt.053'"
            "   and o.statement_id = e.statement_id and o.account = e.account and o.uetr = e.uetr"
            "   and o.amount = e.amount and o.credit_debit = e.credit_debit and o.entry_index < e.entry_index)"
            " order by e.account, e.entry_index limit 1",
            (day,),
        ).fetchone()
        assert duplicate, "the demo books a duplicate every day"
        row = conn.execute("select account from raw.bank_entries where ctid = %s::tid", duplicate).fetchone()
        assert row
        _copy_rows(
            conn,
            "raw.bank_entries",
            "ctid = %(ctid)s::tid",
            {"ctid": duplicate[0], "index": _statement_of(conn, row[0], day)["entry_index"]},
            {
                "entry_index": "%(index)s",
                "credit_debit": "case credit_debit when 'CRDT' then 'DBIT' else 'CRDT' end",
                "is_reversal": "true",
                "acct_svcr_ref": "acct_svcr_ref || '-R'",
                "tx_acct_svcr_ref": "tx_acct_svcr_ref || '-R'",
            },
        )
        _copy_journal(conn, day, day, "-new", NEW_ACCOUNT)
    elif day == WEEK[3]:
        before = day - timedelta(days=1)
        entry = conn.execute(
            "select e.ctid::text, e.account from raw.bank_entries as e"
            " where e.message_type = 'camt.053' and not e.is_reversal and e.uetr is not null and e.booking_date = %s"
            " and (select count(*) from raw.bank_entries as o where o.uetr = e.uetr) = 1"
            " order by e.account, e.entry_index limit 1",
            (before,),
        ).fetchone()
        assert entry
        _copy_rows(
            conn,
            "raw.bank_entries",
            "ctid = %(ctid)s::tid",
            {"ctid": entry[0], **_statement_of(conn, entry[1], day)},
            {
                "file_id": "%(file_id)s",
                "message_id": "%(message_id)s",
                "statement_id": "%(statement_id)s",
                "entry_index": "%(entry_index)s",
                "booking_date": "booking_date + 1",
                "booking_date_time": "booking_date_time + interval '1 day'",
                "value_date": "value_date + 1",
                "acct_svcr_ref": "acct_svcr_ref || '-AGAIN'",
                "tx_acct_svcr_ref": "tx_acct_svcr_ref || '-AGAIN'",
            },
        )
        _copy_journal(conn, before, day, "-again")
        _copy_journal(conn, before, day, "-span", spanning=True)
    elif day == WEEK[-1]:
        # the new account's first statement: a copy of another account's statement of the day, no entries
        account = conn.execute(
            "select account from raw.bank_statements where message_type = 'camt.053'"
            " and file_id in (select file_id from raw.bank_entries where booking_date = %s) order by account limit 1",
            (day,),
        ).fetchone()
        assert account
        params = {"account": account[0], "new": NEW_ACCOUNT, "day": day}
        dated = "message_type = 'camt.053' and account = %(account)s and file_id = ("
        dated += "select max(file_id) from raw.bank_entries where account = %(account)s and booking_date = %(day)s)"
        renamed = {"account": "%(new)s", "statement_id": "statement_id || '-NEW'"}
        _copy_rows(conn, "raw.bank_statements", dated, params, renamed)
        _copy_rows(conn, "raw.bank_balances", dated, params, renamed)


def _copy_journal(
    conn: psycopg.Connection,
    booked: date,
    day: date,
    suffix: str,
    account: str | None = None,
    *,
    spanning: bool = False,
) -> None:
    """A journal of ``booked`` on an EMI account posted again on ``day`` (whole, so it balances),
    into the day's ledger file; with ``account``, on that account instead of the EMI account.
    ``spanning``: only its EMI line moves to ``day``, the others stay on ``booked``: a journal over
    two days, which balances only with both (a run restating from ``day`` checks it whole, or
    assert_journals_balance fails the build)."""
    journal = conn.execute(
        "select l.journal_id, l.account from raw.ledger_lines as l"
        " where l.kind <> 'opening' and l.uetr is not null and (l.booked_at at time zone 'UTC')::date = %s"
        " and l.account in (select account from raw.bank_statements)"
        " and (select count(*) from raw.ledger_lines as o where o.uetr = l.uetr) = 2"
        " order by l.journal_id desc limit 1",
        (booked,),
    ).fetchone()
    assert journal
    into = conn.execute(
        "select file_id, max(line_number) from raw.ledger_lines"
        " where (booked_at at time zone 'UTC')::date = %s group by file_id order by file_id desc limit 1",
        (day,),
    ).fetchone()
    assert into
    params = {"journal": journal[0], "emi": journal[1], "file": into[0], "line": into[1], "suffix": suffix}
    params |= {"days": (day - booked).days, "account": account, "spanning": spanning}
    moved = "(case when account = %(emi)s or not %(spanning)s then %(days)s else 0 end)"
    _copy_rows(
        conn,
        "raw.ledger_lines",
        "journal_id = %(journal)s",
        params,
        {
            "file_id": "%(file)s",
            "line_number": "%(line)s + line_number",
            "entry_id": "entry_id || %(suffix)s",
            "journal_id": "journal_id || %(suffix)s",
            "booked_at": f"booked_at + make_interval(days => {moved}::int)",
            "value_date": f"value_date + {moved}::int",
            "account": "case when account = %(emi)s then coalesce(%(account)s, account) else account end",
        },
    )


def _run_day(settings: config.Settings, day: date, previous, *, book_more: bool = False):
    manifest = generate_day(settings.inbox, day, 42, opening=previous is None, previous=previous)
    pipeline.ingest_files(settings)
    if book_more:
        with db.connect(db.database_url(settings)) as conn, conn.transaction():
            _book_what_the_demo_does_not(conn, day)
    return manifest, pipeline.build_marts(settings, business_date=day, run_id=f"run-{day}")


def test_daily_runs_restate_late_days_and_equal_a_full_refresh(warehouse_url):
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    manifest, first = _run_day(settings, DAYS[0], None, book_more=True)
    assert first["restated"] == {}
    with psycopg.connect(warehouse_url) as conn:
        day1_first = _rows(conn, "marts.account_reconciliation")
    assert {d for _, d in day1_first} == {DAYS[0]}

    previous = manifest
    runs = []
    for day in WEEK[1:]:
        previous, built = _run_day(settings, day, previous, book_more=True)
        runs.append(built)
    # each daily run builds other dates, and dbt still parses the project partially: the dates go in the
    # environment (dbt.PARTITION_DATES_ENV), not in --vars, whose change makes dbt parse everything again
    invocations = (settings.var / "dbt" / "logs" / "dbt.log").read_text().split("Running with dbt=")
    last_build = invocations[-1]
    assert "Partial parsing enabled" in last_build
    assert "Unable to do partial parsing" not in last_build
    # day 2's files book day 1's late items: the day-2 run restated day 1, and said why
    assert DAYS[0].isoformat() in runs[0]["restated"]
    # day 5's files touch day 4, less the tolerance day 2: the day-5 run keeps day 1's rows and builds on them
    assert DAYS[0].isoformat() not in runs[-1]["restated"]
    assert DAYS[1].isoformat() in runs[-1]["restated"]
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
        assert [d for (d,) in own] == WEEK
        daily = {table: _without_xmin(_rows(conn, table)) for table in DAILY}
        restated = {table: _all_rows(conn, table) for table in RESTATED}
        assert restated["marts.statement_checks"] and restated["marts.transaction_matches"]
        # the journal over days 3 and 4 (the day-5 run restates from day 4, and its lines balance only together)
        spans = conn.execute(
            "select distinct booking_date from staging.stg_ledger__journal_lines where journal_id like '%%-span'"
        ).fetchall()
        assert sorted(spans) == [(WEEK[2],), (WEEK[3],)]
        kept = {table: _contents(conn, table) for table in INCREMENTAL}
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
        whole = {table: _contents(conn, table) for table in INCREMENTAL}
        # the cases made on purpose are there (the equality below would not see a mistake in them otherwise)
        copies = conn.execute(
            "select 'bank', booking_date, copy_number from intermediate.int_bank_movements_numbered"
            " where acct_svcr_ref like '%%-AGAIN'"
            " union all select 'ledger', booking_date, copy_number from intermediate.int_ledger_postings_numbered"
            " where ledger_entry_id like '%%-again'"
        ).fetchall()
        reversals = conn.execute(
            "select m.booking_date, m.acct_svcr_ref like '%%-R', t.booking_date"
            " from intermediate.int_bank_reversals as r"
            " inner join intermediate.int_bank_movements_numbered as m on m.bank_entry_id = r.reversal_id"
            " inner join intermediate.int_bank_movements_numbered as t on t.bank_entry_id = r.reversed_id"
        ).fetchall()
        new_account = conn.execute(
            "select min(booking_date) from intermediate.int_ledger_postings_numbered where account_id = %s",
            (NEW_ACCOUNT,),
        ).fetchone()
        refreshed_restated = {table: _all_rows(conn, table) for table in RESTATED}
        # a whole build leaves the lookup indexes the next daily run needs (after its commit: a
        # --full-refresh's old table holds the same index names until it is dropped)
        indexes = {
            name for (name,) in conn.execute("select indexname from pg_indexes where schemaname = 'intermediate'")
        }
    assert {
        "int_bank_movements_numbered_copies_idx",
        "int_bank_movements_numbered_reversals_idx",
        "int_ledger_postings_numbered_bank_reference_idx",
        "int_ledger_balances_daily_account_idx",
    } <= indexes
    assert refreshed == daily
    for table in RESTATED:
        assert refreshed_restated[table] == restated[table], table
    assert sorted(copies) == [("bank", WEEK[3], 2), ("ledger", WEEK[3], 2)]
    assert (DAYS[0], True, DAYS[0]) in reversals  # the same-day reversal took the duplicate
    assert not [r for r in reversals if r[0] == DAYS[1] and r[2] == DAYS[0]]  # so day 2's reversal of it took none
    assert new_account == (DAYS[0],)
    for table in INCREMENTAL:
        assert whole[table] == kept[table], f"{table}: the daily runs' rows differ from a full build's"


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
            dated_before = {table: _dated_rows(conn, table) for table in DATED}
            items_before = {table: _row_versions(conn, table) for table in KEPT_BY_ITEM}
        built = pipeline.build_marts(settings, business_date=day, run_id=f"run-{day}")
        with psycopg.connect(warehouse_url) as conn:
            after = {table: _rows(conn, table) for table in DAILY}
            dated_after = {table: _dated_rows(conn, table) for table in DATED}
            items_after = {table: _row_versions(conn, table) for table in KEPT_BY_ITEM}
        # the matching tables decide their scope's items again and rewrite none of their rows (nothing changed)
        for table in KEPT_BY_ITEM:
            assert items_before[table], f"{table} is empty: the check below would check nothing"
            assert items_after[table] == items_before[table], f"{table}: rows rewritten by the run of {day}"
        # partitioned by a row's own date: the rows before the day are not rewritten, those from it
        # on (restate_from is the day: nothing new) are, to the values they had; the numbered tables
        # rewrite none (nothing changed), so a rerun or a backfill writes no row of theirs at all
        for table in DATED:
            assert dated_before[table], f"{table} is empty: the check below would check nothing"
            assert dated_after[table].keys() == dated_before[table].keys()
            for key, (xmin, booked, text) in dated_after[table].items():
                old_xmin, _, old_text = dated_before[table][key]
                assert text == old_text
                rewritten = booked >= day and table not in KEPT_WHEN_UNCHANGED
                assert (xmin != old_xmin) == rewritten, f"{table} {key} booked {booked}, run of {day}"
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
