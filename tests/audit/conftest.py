"""Logins for the access and audit tests: the platform's roles, and people in its groups."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def connect_as(url: str, user: str) -> psycopg.Connection:
    """A connection to the test's warehouse logged in as ``user`` (autocommit: each statement on its own)."""
    parts = conninfo_to_dict(url)
    parts["user"] = user
    return psycopg.connect(make_conninfo(**parts), autocommit=True)


@pytest.fixture
def login(warehouse_url) -> Iterator[Callable[[str], psycopg.Connection]]:
    """``login("analyst")``: a connection as a person in that group ("pipeline" logs in as the pipeline itself).

    Roles are per server: each person's name is this process's own, dropped afterwards.
    """
    made: list[str] = []
    opened: list[psycopg.Connection] = []

    def as_member(group: str) -> psycopg.Connection:
        if group == "pipeline":
            user = "pipeline"
        else:
            user = f"{group}_person_{os.getpid()}"
            with psycopg.connect(warehouse_url, autocommit=True) as admin:
                admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))
                admin.execute(
                    sql.SQL("create role {} login in role {}").format(sql.Identifier(user), sql.Identifier(group))
                )
            made.append(user)
        connection = connect_as(warehouse_url, user)
        opened.append(connection)
        return connection

    yield as_member
    for connection in opened:
        connection.close()
    with psycopg.connect(warehouse_url, autocommit=True) as admin:
        for user in made:
            admin.execute(sql.SQL("drop owned by {}").format(sql.Identifier(user)))
            admin.execute(sql.SQL("drop role {}").format(sql.Identifier(user)))
