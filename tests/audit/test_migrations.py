"""Schema evolution: Alembic revisions bring an existing warehouse to head, whatever built it.

Each test works on an empty database of its own (not the ``warehouse_url``
fixture's, which is migrated to head already).
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deltran import audit, cli, config, db
from deltran.warehouse import schema

pytestmark = pytest.mark.db
VERSIONS = Path(str(resources.files("deltran.warehouse") / "migrations" / "versions"))


@pytest.fixture
def empty_url(request, monkeypatch, tmp_path) -> Iterator[str]:
    settings = config.load()
    admin = settings.database_url or db._embedded_url(settings.pgdata, "postgres")
    name = f"t_migr_{re.sub(r'[^a-z0-9]+', '_', request.node.name.lower())[:30]}_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        db.create_database(conn, name)
    parts = conninfo_to_dict(admin)
    parts["dbname"] = name
    url = make_conninfo(**parts)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DELTRAN_HOME", str(tmp_path))
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def connect_as(url: str, user: str) -> psycopg.Connection:
    parts = conninfo_to_dict(url)
    parts["user"] = user
    return psycopg.connect(make_conninfo(**parts))


def _always(conn: psycopg.Connection, trigger: str) -> bool:
    return conn.execute("select tgenabled = 'A' from pg_trigger where tgname = %s", (trigger,)).fetchone() == (True,)


def test_a_warehouse_at_the_baseline_is_upgraded_and_sees_the_changes(empty_url, capsys):
    with psycopg.connect(empty_url) as conn:
        assert schema.upgrade(conn, "0001") == (None, "0001")
        # life at the baseline: history written, and the direct grants operators had then
        conn.execute("select control.register_account('ACC-1')")
        conn.execute(
            "select control.change_breaker('ACC-1', 'closed', 'open', 'system', 'Critical', 'suite', 'run-1',"
            " '2026-11-20', 'Critical', 'ev')"
        )
        conn.execute(
            "insert into control.match_decisions (bank_entry_id, ledger_entry_id, decision, reason, decided_by)"
            " values ('b-1', 'l-1', 'confirm', 'same payer', 'bob')"
        )
        conn.execute("grant insert on control.match_decisions, control.discrepancy_case_events to operator")
        conn.commit()
        assert conn.execute("select to_regclass('control.audit_trail')").fetchone() == (None,)
        assert not _always(conn, "match_decisions_append_only")

        db.ensure_schema(conn)  # what every task does: pending revisions run

        assert schema.current_revision(conn) == schema.head_revision()
        assert _always(conn, "match_decisions_append_only")  # a changed trigger reached it
        result = audit.verify(conn)  # the events from before the trail are on it, oldest first
        assert result.ok and result.events == 2
        assert not conn.execute(
            "select has_table_privilege('operator', 'control.match_decisions', 'insert')"
            " or has_table_privilege('operator', 'control.discrepancy_case_events', 'insert')"
        ).fetchone()[0]
        assert conn.execute("select has_schema_privilege('analyst', 'marts', 'usage')").fetchone() == (True,)
        assert conn.execute(
            "select pg_get_userbyid(relowner) from pg_class where relname = 'audit_trail'"
        ).fetchone() == ("deltran_owner",)
    assert cli.main(["db", "upgrade"]) == 0
    assert "(up to date)" in capsys.readouterr().out


def test_a_warehouse_set_up_before_migrations_is_adopted(empty_url):
    with psycopg.connect(empty_url) as conn:
        for script in ast.literal_eval(_assigned(VERSIONS / "0001_baseline.py", "SCRIPTS")):
            conn.execute(schema.script_text(script))  # how ensure_schema used to do it
        conn.commit()
        assert schema.current_revision(conn) is None
        db.ensure_schema(conn)
        assert schema.current_revision(conn) == schema.head_revision()
        db.ensure_schema(conn)  # again: nothing to do
        assert schema.current_revision(conn) == schema.head_revision()


def test_the_pipeline_waits_for_the_owner_to_migrate(empty_url):
    with psycopg.connect(empty_url) as conn:
        schema.upgrade(conn, "0001")
    with connect_as(empty_url, "pipeline") as pipe, pytest.raises(RuntimeError, match="deltran db upgrade"):
        db.ensure_schema(pipe)


def _assigned(path: Path, name: str) -> str:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.unparse(node.value)
    raise AssertionError(f"{name} not in {path}")


def test_every_sql_script_is_applied_by_exactly_one_revision_on_a_single_line_of_revisions():
    """A new file in deltran/warehouse/sql/ reaches no warehouse until a revision applies it (docs/design.md)."""
    applied: list[str] = []
    parents: dict[str, str | None] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        text = path.read_text()
        applied += re.findall(r"\"(\d\d_[a-z0-9_]+\.sql)\"", text)
        parents[ast.literal_eval(_assigned(path, "revision"))] = ast.literal_eval(_assigned(path, "down_revision"))
    scripts = sorted(p.name for p in (VERSIONS.parent.parent / "sql").glob("*.sql"))
    assert sorted(applied) == scripts
    assert sorted(parents.values(), key=lambda parent: parent or "") == [
        None,
        *sorted(parents)[:-1],
    ]  # one line, no branches
    assert schema.head_revision() == sorted(parents)[-1]
