"""The warehouse schema outside dbt (raw, control, clearing, tiers) and its roles, by migrations.

Alembic revisions in ``migrations/versions`` are the one history of what the
platform owns outside dbt: 0001 is the baseline (the SQL scripts of
``sql/`` as they stood when migrations came), every later change is a revision
of its own, so a changed view, table or function reaches a warehouse that
already exists. The version is kept in ``control.alembic_version``.

``upgrade`` runs on the caller's psycopg connection and transaction (which
``deltran.db.ensure_schema`` has locked): a warehouse at head costs one
catalogue read; otherwise every pending revision runs, then ``90_roles.sql``
hands the new objects to their owners (it is idempotent, so it runs after
every upgrade, like a repeatable migration).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import psycopg

VERSION_SCHEMA = "control"
VERSION_TABLE = "alembic_version"
ROLES_SCRIPT = "90_roles.sql"


def script_text(name: str) -> str:
    """The text of ``deltran/warehouse/sql/NAME``."""
    return (resources.files("deltran.warehouse") / "sql" / name).read_text()


def run_script(name: str) -> None:
    """Inside a revision: run ``sql/NAME`` as it is (several statements, DO blocks, % and : untouched)."""
    run_sql(script_text(name))


def run_sql(text: str) -> None:
    """Inside a revision: run SQL text on the migrating psycopg connection, without SQLAlchemy's parameter parsing."""
    from alembic import op

    driver = op.get_bind().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    driver.execute(text)  # a script read from the package, not user input


def alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "deltran.warehouse:migrations")
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: psycopg.Connection) -> str | None:
    """The revision the warehouse is at; None before its first migration."""
    table = f"{VERSION_SCHEMA}.{VERSION_TABLE}"
    found = conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()
    if not found or not found[0]:
        return None
    row = conn.execute(f"select version_num from {table}").fetchone()
    return row[0] if row else None


def upgrade(conn: psycopg.Connection, target: str = "head") -> tuple[str | None, str]:
    """Run the pending revisions up to ``target`` in one transaction on ``conn``; returns (from, to).

    When something was pending it commits (all revisions and the roles script, or
    nothing). Idempotent: at ``target`` already it only reads the version.
    """
    before = current_revision(conn)
    wanted = head_revision() if target == "head" else target
    if before == wanted:
        return before, wanted
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    # SQLAlchemy over the caller's own connection: same session, role, lock and transaction.
    # No reset on return and no dispose: the connection stays the caller's.
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: conn, poolclass=StaticPool, pool_reset_on_return=None
    )
    cfg = alembic_config()
    with engine.connect() as sa_conn:
        cfg.attributes["connection"] = sa_conn
        command.upgrade(cfg, wanted)
        conn.execute(script_text(ROLES_SCRIPT))  # new objects to their owners
        sa_conn.commit()  # SQLAlchemy would roll its transaction back on close: the upgrade commits here
    return before, wanted
