"""Fixtures for the reconciliation controls: marts.account_reconciliation as the dbt models build it.

A test states each account's bank and ledger balance for a day; the fixture
writes them as raw inputs (a camt.053 statement, ledger postings, a registry
row) and runs the models' own SQL, as dbt compiled it, over them: the derived
columns (difference, percentages, dbt's threshold_level) are the models', never
a copy. dbt itself runs once per session (``dbt_warehouse``); each test starts
from a copy of that database, and re-running the compiled models on a handful
of rows takes milliseconds.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timezone
from decimal import Decimal
from graphlib import TopologicalSorter

import psycopg
import pytest
from psycopg import sql

MART = "model.deltran.account_reconciliation"


@pytest.fixture(scope="session")
def compiled_models(dbt_warehouse) -> list[tuple[str, str, str]]:
    """(schema, table, compiled select) of every table model the mart reads, in build order, from dbt's manifest."""
    nodes = dbt_warehouse.manifest["nodes"]
    needed, todo = set(), [MART]
    while todo:
        node = todo.pop()
        if node not in needed and node.startswith("model."):
            needed.add(node)
            todo.extend(nodes[node]["depends_on"]["nodes"])
    order = TopologicalSorter({n: [d for d in nodes[n]["depends_on"]["nodes"] if d in needed] for n in needed})
    models = []
    for node in order.static_order():
        # views follow their inputs by themselves; an incremental model was compiled whole (its first build)
        if nodes[node]["config"]["materialized"] in ("table", "incremental"):
            # refs name the database dbt ran in; the tests' copies have names of their own
            code = nodes[node]["compiled_code"].replace(f'"{dbt_warehouse.dbname}".', "")
            models.append((nodes[node]["schema"], nodes[node]["alias"], code))
    return models


class Mart:
    """marts.account_reconciliation for a test: add(account, day, bank, ledger), built by the models."""

    def __init__(self, url: str, models: list[tuple[str, str, str]]) -> None:
        self.url = url
        self.models = models
        self.balances: dict[tuple[str, date], tuple[Decimal | None, Decimal]] = {}
        self.tampering: list[tuple[str, tuple]] = []

    def add(self, account_id: str, business_date: date, bank, ledger, label: str | None = None) -> None:
        """The account's end-of-day bank balance (None: a statement without one) and ledger balance.

        ``label`` then overwrites dbt's threshold_level in the built mart (to test the cross-check).
        """
        self.balances[account_id, business_date] = (None if bank is None else Decimal(str(bank)), Decimal(str(ledger)))
        if label is not None:
            self.tamper(
                "update marts.account_reconciliation set threshold_level = %s where account_id = %s and business_date = %s",
                (label, account_id, business_date),
            )
        self.build()

    def tamper(self, statement: str, params: tuple = ()) -> None:
        """A change to the built mart that dbt would never make (to test the checks' own defences); kept on rebuilds."""
        self.tampering.append((statement, params))
        self.build()

    def build(self) -> None:
        with psycopg.connect(self.url) as conn:
            self._write_inputs(conn)
            for schema, table, code in self.models:
                relation = sql.Identifier(schema, table)
                columns = [
                    row[0]
                    for row in conn.execute(
                        "select column_name from information_schema.columns"
                        " where table_schema = %s and table_name = %s order by ordinal_position",
                        (schema, table),
                    )
                ]
                listed = sql.SQL(", ").join(map(sql.Identifier, columns))
                conn.execute(sql.SQL("delete from {}").format(relation))
                conn.execute(
                    sql.SQL("insert into {} ({}) select {} from ({}) as model").format(
                        relation,
                        listed,
                        listed,
                        sql.SQL(code),  # type: ignore[arg-type]
                    )
                )
            for statement, params in self.tampering:
                conn.execute(statement, params)

    def _write_inputs(self, conn: psycopg.Connection) -> None:
        """The raw rows behind the balances: one camt.053 per account and day, ledger postings, the registry."""
        for table in ("raw.bank_balances", "raw.bank_statements", "raw.ledger_lines", "reference.account_registry"):
            conn.execute(f"delete from {table}")
        conn.execute("delete from raw.ingested_files")
        file_id = conn.execute(
            "insert into raw.ingested_files (sha256, file_name, file_kind, size_bytes, row_counts)"
            " values ('test', 'test-balances', 'test', 0, '{}') returning file_id"
        ).fetchone()[0]
        ledger_before: dict[str, Decimal] = {}
        line_numbers = itertools.count(1)  # a line's place in its file is unique (raw.ledger_lines_position_key)
        for (account_id, day), (bank, ledger) in sorted(self.balances.items(), key=lambda item: item[0][1]):
            statement_id = f"STMT-{account_id}-{day}"
            end_of_day = datetime.combine(day, time(23, 59), timezone.utc)
            conn.execute(
                "insert into raw.bank_statements (file_id, message_type, message_id, statement_id, account,"
                " account_currency, servicer_bic, created_at, to_at)"
                " values (%s, 'camt.053', %s, %s, %s, 'USD', 'BANKUS33XXX', %s, %s)",
                (file_id, statement_id, statement_id, account_id, end_of_day, end_of_day),
            )
            if bank is not None:  # opening = closing and no entries: the statement adds up
                for type_code in ("OPBD", "CLBD"):
                    conn.execute(
                        "insert into raw.bank_balances (file_id, message_type, message_id, statement_id, account,"
                        " type_code, amount, currency, credit_debit, date)"
                        " values (%s, 'camt.053', %s, %s, %s, %s, %s, 'USD', %s, %s)",
                        (file_id, statement_id, statement_id, account_id, type_code, abs(bank),
                         "DBIT" if bank < 0 else "CRDT", day),
                    )  # fmt: skip
            # the ledger balance as postings of kind 'opening': balances carried in, which matching leaves alone
            change = ledger - ledger_before.get(account_id, Decimal(0))
            ledger_before[account_id] = ledger
            if change:
                conn.execute(
                    "insert into raw.ledger_lines (file_id, line_number, entry_id, journal_id, account, amount,"
                    " currency, side, booked_at, kind) values (%s, %s, %s, %s, %s, %s, 'USD', %s, %s, 'opening')",
                    (file_id, next(line_numbers), statement_id, statement_id, account_id, abs(change), "D" if change > 0 else "C",
                     datetime.combine(day, time(12), timezone.utc)),
                )  # fmt: skip
        for account_id in sorted({account_id for account_id, _ in self.balances}):
            conn.execute(
                "insert into reference.account_registry (account_id, servicing_bank_bic, currency, opened_on, owner)"
                " values (%s, 'BANKUS33XXX', 'USD', '2020-01-01', 'test')",
                (account_id,),
            )


@pytest.fixture
def warehouse_template(request) -> str | None:
    """The mart's tests start from the warehouse dbt built; the others (the breaker's) from an empty one."""
    return request.getfixturevalue("dbt_warehouse").dbname if "mart" in request.fixturenames else None


@pytest.fixture
def mart(warehouse_url, compiled_models) -> Mart:
    return Mart(warehouse_url, compiled_models)


@pytest.fixture
def conn(warehouse_url):
    """An autocommit connection (overrides the shared one for these tests).

    The code under test opens its own connections; a test connection left in an
    open transaction would hold locks (a breaker row after ``reset``) that those
    wait for, and would not see their commits. Autocommit makes each helper call
    its own transaction, as a CLI command is.
    """
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        yield connection
