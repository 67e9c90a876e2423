"""A warehouse the platform creates compares text byte by byte (deltran.db.create_database)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from deltran import config, db

pytestmark = pytest.mark.db


def test_a_new_warehouse_sorts_text_by_code_point_with_the_servers_character_classes(conn):
    collate, ctype, template_ctype = conn.execute(
        "select d.datcollate, d.datctype, t.datctype from pg_database as d, pg_database as t"
        " where d.datname = current_database() and t.datname = 'template1'"
    ).fetchone()
    assert (collate, ctype) == ("C", template_ctype)
    # code point order, whatever the server's locale: capitals, then small letters, then accented ones
    words = ["é", "b", "Z", "a", "B"]
    ordered = conn.execute("select array_agg(w order by w) from unnest(%s::text[]) as w", (words,)).fetchone()[0]
    assert ordered == ["B", "Z", "a", "b", "é"]


def test_the_embedded_servers_warehouse_is_created_the_same_way():
    settings = config.load()
    if settings.database_url:
        pytest.skip("DATABASE_URL's server: its operator creates the warehouse")
    name = "t_created_collation"
    admin = db._embedded_url(settings.pgdata, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    try:
        with psycopg.connect(db._embedded_url(settings.pgdata, name)) as conn:
            assert (
                conn.execute("select datcollate from pg_database where datname = current_database()").fetchone()[0]
                == "C"
            )
    finally:
        db._embedded_url.cache_clear()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
