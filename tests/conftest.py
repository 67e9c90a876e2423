"""Shared fixtures: a real PostgreSQL for every test that needs one.

With no DATABASE_URL the embedded server (pgserver, in .pgdata) is started once
and left running; with DATABASE_URL set, that server is used. Each test that asks
for ``warehouse_url`` gets a database of its own, created fresh, and the
environment points the whole platform (ingest, dbt, Great Expectations) at it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deltran import config, db
from deltran.airflow_env import airflow_environment

import iso20022_corpus

# Airflow reads its configuration when first imported: set the project's
# Airflow environment (DAG and plugin folders) before any test imports it, with
# a home (and SQLite metadata) of this test session's own, so tests never touch
# the developer's .airflow/ nor another suite running beside them.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="deltran-test-airflow-")
for _key, _value in airflow_environment().items():
    if _key.startswith("AIRFLOW"):
        os.environ.setdefault(_key, _value)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI a missing sample corpus fails the run: the golden tests must not skip there."""
    reason = iso20022_corpus.missing_reason()
    if reason and iso20022_corpus.in_ci():
        raise pytest.UsageError(reason + ": CI (CI=true) needs the corpus")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes a database is a ``db`` test, whether or not its module says so."""
    for item in items:
        if {"warehouse_url", "conn"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def iso20022_samples() -> Path:
    """The shared ISO 20022 sample corpus (skips without it; fails under CI)."""
    return iso20022_corpus.require()


def _admin_url() -> str:
    settings = config.load()
    if settings.database_url:
        return settings.database_url
    return db._embedded_url(settings.pgdata, "postgres")


def _url_for(admin_url: str, dbname: str) -> str:
    parts = conninfo_to_dict(admin_url)
    parts["dbname"] = dbname
    return make_conninfo(**parts)


def _create_database(admin: str, dbname: str, template: str | None = None) -> str:
    """A new database ``dbname`` (empty, or a copy of ``template``); returns its URL."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))
        db.create_database(conn, dbname, template)
    return _url_for(admin, dbname)


@dataclass(frozen=True)
class DbtWarehouse:
    dbname: str
    manifest: dict  # dbt's target/manifest.json of the run: each model's compiled SQL


@pytest.fixture(scope="session")
def dbt_warehouse(tmp_path_factory) -> Iterator[DbtWarehouse]:
    """A warehouse database in which dbt has seeded and run every model, over empty raw tables.

    Built once per session; a test whose folder overrides ``warehouse_template``
    with its name starts from a copy (milliseconds) instead of running dbt itself.
    """
    from deltran.warehouse import dbt

    dbname = f"t_dbt_warehouse_{os.getpid()}"
    url = _create_database(_admin_url(), dbname)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        patch.setenv("DELTRAN_HOME", str(tmp_path_factory.mktemp("dbt-warehouse")))
        with psycopg.connect(url) as conn:
            db.ensure_schema(conn)
        settings = config.load()
        dbt.run(["seed"], settings)
        dbt.run(["run"], settings)
        manifest = json.loads((settings.var / "dbt" / "target" / "manifest.json").read_text())
    yield DbtWarehouse(dbname, manifest)
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))


@pytest.fixture
def warehouse_template() -> str | None:
    """The database each test's warehouse starts as a copy of: none (an empty warehouse) unless a conftest says so."""
    return None


@pytest.fixture
def warehouse_url(request, monkeypatch, tmp_path, warehouse_template) -> str:
    """A fresh warehouse database with the raw and control schemas (empty, or a copy of ``warehouse_template``)."""
    name = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    dbname = f"t_{name}_{digest}_{os.getpid()}"  # unique per process: suites may run side by side
    admin = _admin_url()
    url = _create_database(admin, dbname, warehouse_template)
    # Point every part of the platform at this database, by the normal path.
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DELTRAN_HOME", str(tmp_path))
    # the tests' business dates lie in the past: a gate that halted payouts for
    # every check older than two days would hide what they test (the horizon has tests of its own)
    monkeypatch.setenv("DELTRAN_PAYOUT_CHECK_HORIZON_HOURS", "1000000")
    with psycopg.connect(url) as conn:
        db.ensure_schema(conn)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))


@pytest.fixture
def conn(warehouse_url):
    with psycopg.connect(warehouse_url) as connection:
        yield connection


@pytest.fixture
def register_accounts(monkeypatch, tmp_path):
    """An account registry of the test's own accounts, which the platform then reconciles.

    ``register({"ACC-1": "USD", ...})`` writes account_registry.csv into a folder of
    the test's and points DELTRAN_REGISTRY_DIR (the dbt seed folder) at it.
    """

    def register(accounts: dict[str, str], bank_bic: str = "TESTGB2LXXX") -> None:
        folder = tmp_path / "registry"
        folder.mkdir(exist_ok=True)
        lines = ["account_id,servicing_bank_bic,currency,opened_on,closed_on,owner"]
        lines += [f"{account},{bank_bic},{currency},2020-01-01,,test" for account, currency in accounts.items()]
        (folder / "account_registry.csv").write_text("\n".join(lines) + "\n")
        monkeypatch.setenv("DELTRAN_REGISTRY_DIR", str(folder))

    return register
