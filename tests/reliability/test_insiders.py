"""Insiders: what the pipeline role, an operator and even the owner cannot do to history and state.

Real PostgreSQL, real roles: each refusal is the database's own, tried the way
an insider would try it (a plain UPDATE, DELETE, disabling a trigger,
session_replication_role), over a connection logged in as that role.
"""

from __future__ import annotations

import os
from datetime import date

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deltran import config, db, ingest
from deltran.recon import breaker, cases
from deltran.recon.breaker import BreakerError, CheckOutcome

pytestmark = pytest.mark.db
DAY = date(2026, 11, 20)


def _as(url: str, user: str) -> psycopg.Connection:
    parts = conninfo_to_dict(url)
    parts["user"] = user
    return psycopg.connect(make_conninfo(**parts), autocommit=True)


def _critical(account: str) -> CheckOutcome:
    return CheckOutcome(account, "Critical", DAY, "suite", "run-1", "Critical on 2026-11-20", f"ev-{account}")


@pytest.fixture
def operator_login(warehouse_url):
    """A person's login in the operator group (roles are per server: a name of this process's own)."""
    name = f"ops_alice_{os.getpid()}"
    with psycopg.connect(warehouse_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create role {} login in role operator").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(warehouse_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


REFUSED = (psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)


def test_the_pipeline_role_cannot_rewrite_history_or_state(warehouse_url, conn):
    breaker.apply_checks(conn, [_critical("ACC-X")])  # the platform opened a breaker
    conn.execute(
        "insert into control.threshold_check_runs values ('r', %s, 'suite', true, 1, '{}', '{}', 'docs', null, now())",
        (DAY,),
    )
    conn.commit()
    with _as(warehouse_url, "pipeline") as pipe:
        assert pipe.execute("select rolsuper from pg_roles where rolname = current_user").fetchone() == (False,)
        owners = dict(
            pipe.execute(
                "select relname, pg_get_userbyid(relowner) from pg_class"
                " where relnamespace = 'control'::regnamespace and relkind = 'r'"
            ).fetchall()
        )
        assert owners and set(owners.values()) == {"deltran_owner"}
        for attempt in (
            "update control.circuit_breakers set state = 'closed', reason = 'quietly' where account_id = 'ACC-X'",
            "update control.payout_suspensions set as_of_date = '2099-01-01'",
            "delete from control.circuit_breakers where account_id = 'ACC-X'",
            "update control.circuit_breaker_events set reason = 'rewritten'",
            "delete from control.circuit_breaker_events",
            "delete from control.threshold_check_runs",
            "delete from control.threshold_checks",
            "delete from control.discrepancy_case_events",
            "truncate control.circuit_breaker_events",
            "alter table control.circuit_breaker_events disable trigger all",
            "set session_replication_role = replica",
        ):
            with pytest.raises(REFUSED):
                pipe.execute(attempt)
        # the one way: the function, which appends the event
        event = breaker.reset(pipe, "ACC-X", "bank confirmed the funds", "carol")
        assert (event.actor, event.to_state) == ("carol", "closed")
    assert conn.execute(
        "select state, last_event_id from control.circuit_breakers where account_id = 'ACC-X'"
    ).fetchone() == (
        "closed",
        event.event_id,
    )


def test_even_the_owner_cannot_change_state_without_its_event_nor_silence_the_guards(conn):
    breaker.apply_checks(conn, [_critical("ACC-Y")])
    conn.execute(
        "insert into control.threshold_check_runs values ('r', %s, 'suite', true, 1, '{}', '{}', 'docs', null, now())",
        (DAY,),
    )
    conn.commit()
    conn.execute("set session_replication_role = replica")  # the superuser of this test can; triggers fire anyway
    with pytest.raises(psycopg.errors.RaiseException, match="changes only with its event"):
        conn.execute("update control.circuit_breakers set state = 'closed' where account_id = 'ACC-Y'")
    conn.rollback()
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("delete from control.circuit_breaker_events")
    conn.rollback()
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("delete from control.threshold_check_runs")
    conn.rollback()
    # nothing cascades a delete into history
    rules = conn.execute(
        "select confdeltype from pg_constraint where contype = 'f' and connamespace = 'control'::regnamespace"
    ).fetchall()
    assert rules and all(rule != "c" for (rule,) in rules)


def test_an_operator_acts_through_the_functions_and_is_not_system(warehouse_url, conn, operator_login):
    breaker.apply_checks(conn, [_critical("ACC-Z")])
    conn.commit()
    with _as(warehouse_url, operator_login) as ops:
        with pytest.raises(REFUSED):
            ops.execute("update control.circuit_breakers set state = 'closed' where account_id = 'ACC-Z'")
        with pytest.raises(psycopg.errors.RaiseException, match="reserved for the platform"):
            ops.execute(
                "select control.change_suspension('ACC-Z', 'allowed', 'suspended', 'system', 'spoofed',"
                " 'suite', 'run-x', %s, 'Significant', 'e')",
                (DAY,),
            )
        assert breaker.reset(ops, "ACC-Z", "checked with the bank", "alice").actor == "alice"


@pytest.mark.parametrize("actor", ["", "   ", "\u200b\u200b", "\t", "system", " System ", "SYSTEM"])
def test_a_person_needs_a_visible_name_that_is_not_system(conn, actor):
    breaker.apply_checks(conn, [_critical("ACC-V")])
    with pytest.raises(BreakerError):
        breaker.reset(conn, "ACC-V", "a fine reason", actor)
    with pytest.raises(BreakerError):
        breaker.reset(conn, "ACC-V", "\u200b \u00a0", "alice")
    conn.rollback()
    # the database holds the same rule, whoever writes
    if actor != "system":
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("select control.change_breaker('ACC-V', 'open', 'closed', %s, 'a fine reason')", (actor,))
        conn.rollback()
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("select control.change_breaker('ACC-V', 'open', 'closed', 'alice', %s)", ("\u200b",))
    conn.rollback()
    conn.execute("create schema if not exists marts")
    conn.execute("create table if not exists marts.discrepancies (discrepancy_id text primary key, state text)")
    conn.execute("insert into marts.discrepancies values ('d1', 'open') on conflict do nothing")
    conn.commit()
    with pytest.raises((cases.CaseError, psycopg.errors.CheckViolation)):
        cases.update(conn, "d1", actor=actor, state="investigating")


def test_the_embedded_default_runs_as_the_pipeline_role(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DELTRAN_HOME", str(tmp_path))
    settings = config.load()
    try:
        url = db.database_url(settings)
        with db.connect(url) as conn:
            who = conn.execute("select current_user, rolsuper from pg_roles where rolname = current_user").fetchone()
            assert who == ("pipeline", False)
        settings.inbox.mkdir(parents=True)
        (settings.inbox / "notes.txt").write_text("not a payment file")
        [outcome] = ingest.ingest_inbox(settings)  # the platform's own work goes on as that role
        assert outcome.status == "quarantined"
    finally:
        db.stop_embedded(settings)
