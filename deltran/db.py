"""The warehouse connection: the embedded PostgreSQL by default, DATABASE_URL otherwise.

Every part of the platform (ingest, dbt, Great Expectations, the breaker, the
command line) asks this module for the connection, so pointing DATABASE_URL at
another server moves all of them by the same code path.

The embedded server is PostgreSQL 16 from the ``pgserver`` wheel, started
without root on a Unix socket in the git-ignored ``.pgdata`` folder. It is left
running when the process exits (``cleanup_mode=None``): the next process, a dbt
run or an Airflow task, finds it up and reuses it; ``deltran db stop`` stops it.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from deltran import config

log = logging.getLogger(__name__)
# pgserver logs at interpreter exit, after pytest or Airflow closed the streams
logging.getLogger("pgserver").setLevel(logging.WARNING)


def create_database(conn: psycopg.Connection, name: str, template: str | None = None) -> None:
    """``create database name`` on an autocommit connection: a copy of ``template``, or a new
    warehouse whose text compares byte by byte (collation "C").

    Every index insert, sort and merge of the warehouse compares text keys (ids, references,
    UUIDs). Under a libc locale each comparison is a strcoll call and PostgreSQL gives up its
    abbreviated sort keys; under "C" it is a memcmp: a first dbt build of a million entries took
    89 s instead of 106 s (C.UTF-8, same rows). "C" orders UTF-8 text by code point as C.UTF-8
    does, and the same on every machine, where a linguistic locale (en_US.UTF-8, the server's
    default on many) sorts by rules that differ between them. The character classes (lower(),
    regular expressions) stay the server's: template1's encoding and LC_CTYPE.
    """
    create = sql.SQL("create database {}").format(sql.Identifier(name))
    if template is not None:
        conn.execute(create + sql.SQL(" template {}").format(sql.Identifier(template)))
        return
    encoding, ctype = one(
        conn.execute("select pg_encoding_to_char(encoding), datctype from pg_database where datname = 'template1'")
    )
    # libc's "C", not the server's default provider (ICU on some servers since PostgreSQL 15)
    provider = sql.SQL(" locale_provider libc" if conn.info.server_version >= 150000 else "")
    conn.execute(
        create
        + sql.SQL(" template template0 encoding {}{} lc_collate 'C' lc_ctype {}").format(
            sql.Literal(encoding), provider, sql.Literal(ctype)
        )
    )


@functools.cache
def _embedded_url(pgdata: Path, database: str) -> str:
    import warnings

    # pgserver asks platformdirs for a runtime folder it does not use here
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pgserver  # imported here: only the embedded default needs it

    server = pgserver.get_server(pgdata, cleanup_mode=None)
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            create_database(conn, database)
            log.info("created database %s on the embedded server in %s", database, pgdata)
    parts = conninfo_to_dict(admin_url)
    return f"postgresql://{parts.get('user', 'postgres')}:@/{quote(database)}?host={parts['host']}"


# The role everything the platform runs connects as on the embedded server: not a
# superuser and not the owner of the control history (warehouse/sql/90_roles.sql).
PIPELINE_ROLE = "pipeline"


@functools.cache
def _embedded_pipeline_url(pgdata: Path, database: str) -> str:
    """Set the database up as its admin (schemas, guards, roles), then hand out the pipeline role."""
    admin_url = _embedded_url(pgdata, database)
    with psycopg.connect(admin_url) as conn:
        ensure_schema(conn)
    host = conninfo_to_dict(admin_url)["host"]
    return f"postgresql://{PIPELINE_ROLE}:@/{quote(database)}?host={host}"


def database_url(settings: config.Settings | None = None) -> str:
    """The libpq URL in use; starts the embedded server when DATABASE_URL is unset.

    Embedded, it is the ``pipeline`` role's URL (the server's admin sets the
    database up first); with DATABASE_URL, whatever role that URL names.
    """
    settings = settings or config.load()
    if settings.database_url:
        return settings.database_url
    return _embedded_pipeline_url(settings.pgdata, settings.database_name)


def connection_parts(url: str | None = None) -> dict[str, str]:
    """host/port/user/password/dbname of the URL, as dbt's profile wants them.

    For the embedded server ``host`` is the socket folder, which dbt-postgres
    (libpq) takes as it is.
    """
    parts = conninfo_to_dict(url or database_url())
    return {
        "host": str(parts.get("host") or "localhost"),
        "port": str(parts.get("port") or "5432"),
        "user": str(parts.get("user") or "postgres"),
        "password": str(parts.get("password") or ""),
        "dbname": str(parts.get("dbname") or "postgres"),
    }


CHECKS_APPLICATION_NAME = "deltran-checks"


def sqlalchemy_url(url: str | None = None) -> str:
    """The same server as a SQLAlchemy URL (psycopg 3 driver), for Great Expectations.

    Takes a libpq URL or a ``key=value`` conninfo (DATABASE_URL may be either).
    A socket folder as host goes into the query string, which SQLAlchemy's
    psycopg dialect passes on to libpq. The sessions are named
    ``deltran-checks`` (unless the URL names them) so that a DBA sees in
    pg_stat_activity which queries are the checkpoints'.
    """
    from sqlalchemy.engine import URL

    parts = {k: str(v) for k, v in conninfo_to_dict(url or database_url()).items() if v not in (None, "")}
    host = parts.pop("host", None)
    port = parts.pop("port", None)
    query: dict[str, str] = {k: str(v) for k, v in parts.items() if k not in ("user", "password", "dbname")}
    query.setdefault("application_name", CHECKS_APPLICATION_NAME)
    if host and ("/" in host or "," in host):  # socket folder(s) or several hosts: leave to libpq
        query["host"] = host
        if port:
            query["port"] = str(port)
        host = port = None
    return URL.create(
        "postgresql+psycopg",
        username=parts.get("user"),
        password=parts.get("password"),
        host=host,
        port=int(port) if port else None,
        database=parts.get("dbname"),
        query=query,
    ).render_as_string(hide_password=False)


def connect(url: str | None = None, *, settings: config.Settings | None = None, **kwargs: Any) -> psycopg.Connection:
    """A connection to ``url``, else to the warehouse ``settings`` (default: the environment's) name."""
    return psycopg.connect(url or database_url(settings), **kwargs)


RowT = TypeVar("RowT")


def one(cursor: psycopg.Cursor[RowT]) -> RowT:
    """The row a statement always returns (INSERT ... RETURNING, an aggregate, a lookup by key)."""
    return cursor.fetchone() or no_row()


def no_row() -> NoReturn:
    """For ``cursor.fetchone() or db.no_row()``: a statement that must return a row returned none."""
    raise LookupError("the statement returned no row")


def ensure_schema(conn: psycopg.Connection) -> None:
    """Bring the schemas and roles the platform owns outside dbt to the latest migration; idempotent.

    dbt owns staging/intermediate/marts; these are the tables dbt reads from
    (raw) and the ones no dbt run may ever rebuild (control: history, breakers).
    They are made and changed by the Alembic revisions of deltran/warehouse
    (``deltran db upgrade``): a warehouse already at head costs a catalogue read.
    Run as a role that may not migrate (the pipeline, once deltran_owner exists)
    it only checks that the owner has brought the warehouse to head.
    """
    from deltran.warehouse import schema

    # one at a time: parallel tasks (two clearing windows, the day's checks) all start here,
    # and two sessions migrating at once would fail each other
    conn.execute("select pg_advisory_xact_lock(hashtext('deltran.ensure_schema'))")
    is_owner = one(
        conn.execute(
            # CASE, not OR: pg_has_role raises when the role does not exist
            "select case when r.rolsuper then true"
            " when not exists (select 1 from pg_roles where rolname = 'deltran_owner') then true"
            " else pg_has_role(current_user, 'deltran_owner', 'member') end"
            " from pg_roles as r where r.rolname = current_user"
        )
    )[0]
    if is_owner:
        before, after = schema.upgrade(conn)  # commits when it migrated (the lock goes with it)
        if before != after:
            log.info("warehouse migrated from %s to %s", before or "nothing", after)
            conn.execute("select pg_advisory_xact_lock(hashtext('deltran.ensure_schema'))")
        _apply_gate_settings(conn, config.load())
    else:
        current, head = schema.current_revision(conn), schema.head_revision()
        if current != head:
            raise RuntimeError(
                f"the warehouse is at migration {current or 'none'}, the platform needs {head}: run"
                " `deltran db upgrade` as the warehouse's owner (a superuser or a member of deltran_owner)"
            )
    conn.commit()


def upgrade(url: str | None = None) -> tuple[str | None, str]:
    """``deltran db upgrade``: migrate the warehouse as its owner; returns (from, to) revisions.

    Embedded, that is the server's admin; with DATABASE_URL, the role it names
    (which must be a superuser or a member of deltran_owner where roles are managed).
    """
    from deltran.warehouse import schema

    settings = config.load()
    admin = url or settings.database_url or _embedded_url(settings.pgdata, settings.database_name)
    with psycopg.connect(admin) as conn:
        before = schema.current_revision(conn)
        ensure_schema(conn)
        return before, one(conn.execute("select version_num from control.alembic_version"))[0]


def _apply_gate_settings(conn: psycopg.Connection, settings: config.Settings) -> None:
    """The payout gate's check horizon from the configuration (written only when it changed)."""
    if settings.payout_check_horizon_hours <= 0:
        raise ValueError("DELTRAN_PAYOUT_CHECK_HORIZON_HOURS must be a positive number of hours")
    conn.execute(
        "update control.payout_gate_settings set check_horizon = make_interval(hours => %s), updated_at = now()"
        " where check_horizon <> make_interval(hours => %s)",
        (settings.payout_check_horizon_hours, settings.payout_check_horizon_hours),
    )


def stop_embedded(settings: config.Settings | None = None) -> bool:
    """Stop the embedded server if it runs (fast shutdown); returns whether it ran."""
    import atexit
    import os
    import signal
    import time

    settings = settings or config.load()
    pid_file = settings.pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    except ProcessLookupError:
        return False
    for _ in range(100):
        if not pid_file.exists():
            break
        time.sleep(0.1)
    _embedded_url.cache_clear()
    _embedded_pipeline_url.cache_clear()
    try:  # pgserver keeps a handle per folder; a stale one would not start the server again
        from pgserver.postgres_server import PostgresServer

        stale = PostgresServer._instances.pop(settings.pgdata.resolve(), None)
        if stale is not None:
            atexit.unregister(stale._cleanup)  # it would look itself up again at exit
    except ImportError:
        pass
    return True
