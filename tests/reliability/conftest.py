"""A PostgreSQL server of the test's own, so a test can really stop it.

Stopping the shared embedded server would pull the floor from under every other
test; this one lives in the test's temporary folder, is stopped the way an
outage stops a server (the postmaster shuts down), and can be started again on
the same data.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deltran import db


class PrivateServer:
    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        self.url = ""

    def start(self) -> str:
        import pgserver
        from pgserver.postgres_server import PostgresServer

        if (
            os.geteuid() == 0 and self.pgdata.exists()
        ):  # pgserver runs postgres as its own user: it must reach the folder
            from pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.pgdata)
        stale = PostgresServer._instances.pop(self.pgdata.resolve(), None)  # its handle outlives a stop
        if stale is not None:
            atexit.unregister(stale._cleanup)
        server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        admin = server.get_uri()
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("select 1 from pg_database where datname = 'deltran'").fetchone():
                db.create_database(conn, "deltran")
        parts = conninfo_to_dict(admin)
        parts["dbname"] = "deltran"
        self.url = make_conninfo(**parts)
        return self.url

    def stop(self) -> None:
        """Shut the server down (fast shutdown: every session is cut) and wait until it is gone."""
        pid_file = self.pgdata / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGINT)
        for _ in range(200):
            if not pid_file.exists():
                return
            time.sleep(0.05)
        raise RuntimeError("the private PostgreSQL did not stop")


@pytest.fixture
def private_server(tmp_path, monkeypatch):
    # outside pytest's own temporary root: another pytest session resets that root to 0700,
    # which would lock the server's user out of a folder it must reach again on restart
    folder = Path(tempfile.mkdtemp(prefix="deltran-private-pg-"))
    server = PrivateServer(folder / "pgdata")
    url = server.start()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DELTRAN_HOME", str(tmp_path / "home"))
    with db.connect(url) as conn:
        db.ensure_schema(conn)
    yield server
    if (server.pgdata / "postmaster.pid").exists():
        server.stop()
    shutil.rmtree(folder, ignore_errors=True)
