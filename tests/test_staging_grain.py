"""The staging views' grain, which no data test re-reads in every daily run (dbt/models/staging/_staging__models.yml).

Each view's key is unique and never null by its SQL and the raw schema: these
tests give the views the raw rows that could break it (every export of an
entry, a statement sent again, a payment delivered twice, a payment with no
identifier at all) and look at the views dbt built; and they show the database
refusing the one thing the SQL cannot absorb, two rows at one place of a file.
"""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from psycopg import errors


@pytest.fixture
def warehouse_template(dbt_warehouse) -> str:
    """Start from the warehouse dbt built (its staging views over empty raw tables)."""
    return dbt_warehouse.dbname


def _file(conn: psycopg.Connection, name: str, kind: str) -> int:
    return conn.execute(
        "insert into raw.ingested_files (sha256, file_name, file_kind, size_bytes, row_counts)"
        " values (%s, %s, %s, 0, '{}') returning file_id",
        (name, name, kind),
    ).fetchone()[0]


def _ledger_line(conn: psycopg.Connection, file_id: int, line: int, entry_id: str, amount: str) -> None:
    conn.execute(
        "insert into raw.ledger_lines (file_id, line_number, entry_id, journal_id, account, amount, currency, side,"
        " booked_at, kind) values (%s, %s, %s, 'J1', 'ACC1', %s, 'USD', 'D', '2026-10-01 12:00+00', 'deposit')",
        (file_id, line, entry_id, amount),
    )


def _statement(conn: psycopg.Connection, file_id: int, statement_id: str, entries: int) -> None:
    conn.execute(
        "insert into raw.bank_statements (file_id, message_type, message_id, statement_id, account, account_currency)"
        " values (%s, 'camt.053', 'M', %s, 'ACC1', 'USD')",
        (file_id, statement_id),
    )
    for index in range(entries):
        _bank_entry(conn, file_id, statement_id, index, "camt.053")


def _bank_entry(conn: psycopg.Connection, file_id: int, statement_id: str, index: int, message_type: str) -> None:
    conn.execute(
        "insert into raw.bank_entries (file_id, message_type, message_id, statement_id, account, entry_index,"
        " detail_index, amount, currency, credit_debit, booking_date, is_reversal, entry_amount)"
        " values (%s, %s, 'M', %s, 'ACC1', %s, 0, 10, 'USD', 'CRDT', '2026-10-01', false, 10)",
        (file_id, message_type, statement_id, index),
    )


def _payment(conn: psycopg.Connection, file_id: int, message_type: str, uetr: str | None) -> None:
    table, uetr_column, amount_column = (
        ("raw.payments", "uetr", "amount")
        if message_type == "pacs.008"
        else ("raw.payment_returns", "original_uetr", "returned_amount")
    )
    conn.execute(
        f"insert into {table} (file_id, message_type, message_id, {uetr_column}, {amount_column}, currency)"
        " values (%s, %s, 'M', %s, 10, 'USD')",
        (file_id, message_type, uetr),
    )


def test_every_export_of_a_ledger_entry_leaves_one_row_the_latest(conn):
    first, second = _file(conn, "ledger-1", "ledger"), _file(conn, "ledger-2", "ledger")
    _ledger_line(conn, first, 1, "E1", "10")
    _ledger_line(conn, second, 4, "E1", "20")
    _ledger_line(conn, second, 9, "E1", "30")  # the same entry twice in one export: the later line wins
    _ledger_line(conn, first, 2, "E2", "5")
    rows = conn.execute(
        "select ledger_entry_id, amount, file_id from staging.stg_ledger__journal_lines order by 1"
    ).fetchall()
    assert rows == [("E1", Decimal("30"), second), ("E2", Decimal("5"), first)]


def test_a_statement_sent_again_gives_each_movement_once(conn):
    first, second = _file(conn, "stmt-1", "camt.053"), _file(conn, "stmt-2", "camt.053")
    _statement(conn, first, "S1", entries=3)
    _statement(conn, second, "S1", entries=3)  # the same statement again: its latest file is kept
    _statement(conn, second, "S2", entries=2)  # another statement in that file, at the same positions
    _bank_entry(conn, second, "S1", 0, "camt.054")  # a notification at S1's first position is not a movement
    rows = conn.execute(
        "select statement_id, count(*), count(distinct bank_entry_id), count(bank_entry_id), min(file_id)"
        " from staging.stg_bank__statement_entries group by 1 order by 1"
    ).fetchall()
    assert rows == [("S1", 3, 3, 3, second), ("S2", 2, 2, 2, second)]


@pytest.mark.parametrize(("message_type", "view", "key"), [
    ("pacs.008", "stg_payments__interbank_transfers", "transfer_id"),
    ("pacs.004", "stg_payments__returns", "return_key"),
])  # fmt: skip
def test_a_payment_delivered_twice_is_one_row_and_no_key_is_null(conn, message_type, view, key):
    files = [_file(conn, f"{message_type}-{n}", message_type) for n in range(2)]
    for file_id in files:
        _payment(conn, file_id, message_type, "AA5E4F4F-6B0A-4D55-9F0E-7C1A3E1D2B01")
        _payment(conn, file_id, message_type, None)  # no identifier at all: a key still (by file and message)
    keys = [row[0] for row in conn.execute(f"select {key} from staging.{view}")]
    assert len(keys) == 2 and None not in keys


@pytest.mark.parametrize("table", ["ledger_lines", "bank_entries"])
def test_two_rows_at_one_place_of_a_file_are_refused(conn, table):
    file_id = _file(conn, "file", "ledger" if table == "ledger_lines" else "camt.053")
    add = (
        (lambda: _ledger_line(conn, file_id, 7, "E1", "10"))
        if table == "ledger_lines"
        else (lambda: _bank_entry(conn, file_id, "S1", 7, "camt.053"))
    )
    add()
    with pytest.raises(errors.UniqueViolation):
        add()
