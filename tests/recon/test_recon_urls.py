"""The SQLAlchemy URL GX gets, from either form DATABASE_URL may take."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from deltran.db import sqlalchemy_url


def test_a_libpq_url_keeps_host_port_password_and_options():
    url = make_url(sqlalchemy_url("postgresql://alice:s%40cret@db.example:5433/deltran?sslmode=require"))
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg",
        "alice",
        "s@cret",
        "db.example",
        5433,
        "deltran",
    )
    assert url.query == {"sslmode": "require", "application_name": "deltran-checks"}


def test_a_conninfo_with_a_socket_folder_passes_the_folder_as_host_option():
    url = make_url(sqlalchemy_url("user=postgres dbname=t_1 host=/work/main/.pgdata port=5432"))
    assert (url.username, url.host, url.database) == ("postgres", None, "t_1")
    assert url.query == {"host": "/work/main/.pgdata", "port": "5432", "application_name": "deltran-checks"}


def test_the_embedded_url_form():
    url = make_url(sqlalchemy_url("postgresql://postgres:@/deltran?host=/srv/.pgdata"))
    assert (url.username, url.password, url.database, url.query) == (
        "postgres",
        None,
        "deltran",
        {"host": "/srv/.pgdata", "application_name": "deltran-checks"},
    )


def test_a_url_that_names_its_sessions_keeps_the_name():
    url = make_url(sqlalchemy_url("postgresql://alice@db.example/deltran?application_name=ops"))
    assert url.query == {"application_name": "ops"}
