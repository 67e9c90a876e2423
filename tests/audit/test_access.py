"""Access: an analyst reads marts and nothing else; an operator acts only through the functions.

Each refusal is the database's own, over a connection logged in as a person in
that group, on the warehouse the migrations built.
"""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from deltran import audit
from deltran.recon import breaker, cases
from deltran.recon.breaker import CheckOutcome

pytestmark = pytest.mark.db
DAY = date(2026, 11, 20)
PLATFORM_SCHEMAS = ("raw", "control", "clearing", "tiers")


@pytest.fixture
def marts(login):
    """Two marts as dbt leaves them: made by the pipeline (a table and a view over control)."""
    pipe = login("pipeline")
    pipe.execute(
        "create table marts.discrepancies (discrepancy_id text primary key, state text,"
        " business_date date, bank_amount numeric, ledger_amount numeric, difference numeric)"
    )
    pipe.execute("insert into marts.discrepancies values ('d-1', 'open')")
    pipe.execute("create view marts.payout_view as select account_id, payouts_allowed from control.payout_gate")
    return pipe


def test_an_analyst_reads_marts_only_and_writes_nothing(conn, login, marts):
    breaker.register_accounts(conn, ["ACC-1"])
    conn.commit()
    analyst = login("analyst")
    assert analyst.execute("select count(*) from marts.discrepancies").fetchone() == (1,)
    assert analyst.execute("select payouts_allowed from marts.payout_view").fetchone() == (False,)  # never checked
    for relation in ("raw.ingested_files", "control.circuit_breakers", "control.audit_trail", "tiers.intraday_checks"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(f"select * from {relation}")
    for write in (
        "insert into marts.discrepancies values ('d-2', 'open')",
        "update marts.discrepancies set state = 'resolved'",
        "delete from marts.discrepancies",
        "create table marts.mine (x int)",
        "select control.change_breaker('ACC-1', 'closed', 'open', 'eve', 'why not')",
        (
            "insert into control.discrepancy_case_events (discrepancy_id, from_state, to_state, owner, actor)"
            " values ('d-1', 'open', 'resolved', 'eve', 'eve')"
        ),
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(write)
    # and nothing anywhere else the platform owns, by the catalogue
    readable = analyst.execute(
        "select n.nspname || '.' || c.relname from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
        " where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p')"
        " and has_table_privilege(c.oid, 'select, insert, update, delete, truncate')",
        (list(PLATFORM_SCHEMAS),),
    ).fetchall()
    assert readable == []


def test_an_operator_acts_through_functions_and_never_writes_history_directly(conn, login, marts):
    breaker.apply_checks(conn, [CheckOutcome("ACC-1", "Critical", DAY, "suite", "run-1", "Critical", "ev-1")])
    breaker.apply_checks(conn, [CheckOutcome("ACC-2", "Significant", DAY, "suite", "run-1", "Significant", "ev-2")])
    conn.commit()
    ops = login("operator")
    for write in (
        (
            "insert into control.discrepancy_case_events (discrepancy_id, from_state, to_state, owner, actor)"
            " values ('d-1', 'open', 'resolved', 'alice', 'alice')"
        ),
        (
            "insert into control.discrepancy_cases (discrepancy_id, state, owner, updated_at, updated_by)"
            " values ('d-1', 'investigating', 'alice', now(), 'alice')"
        ),
        (
            "insert into control.match_decisions (bank_entry_id, ledger_entry_id, decision, reason, decided_by)"
            " values ('b', 'l', 'confirm', 'x', 'alice')"
        ),
        (
            "insert into control.circuit_breaker_events (account_id, from_state, to_state, actor, reason)"
            " values ('ACC-1', 'open', 'closed', 'alice', 'x')"
        ),
        "insert into control.audit_trail values (99, 'x', 1, '{}', repeat('0', 64), repeat('1', 64))",
        "update control.circuit_breaker_events set reason = 'x'",
        "delete from control.discrepancy_case_events",
        "truncate control.match_decisions",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            ops.execute(write)
    # the actions of the command line, as the operator: breaker, payouts, exceptions
    assert breaker.reset(ops, "ACC-1", "bank confirmed the credit", "alice").to_state == "closed"
    ops.execute(
        "select control.change_suspension('ACC-2', 'suspended', 'allowed', 'alice', 'bank confirmed the figures')"
    )
    assert cases.update(ops, "d-1", actor="alice", state="investigating", note="asked the bank").to_state == (
        "investigating"
    )
    with pytest.raises(psycopg.errors.RaiseException, match="reserved for the platform"):
        ops.execute(
            "select control.record_case_change('d-1', 'investigating', 'resolved', 'x', 'n', 'n', 'system', null)"
        )
    # every action is on the trail, in order
    result = audit.verify(conn)
    assert result.ok and result.events == 5
    assert [
        row[0] for row in conn.execute("select payload::jsonb ->> 'actor' from control.audit_trail order by seq")
    ] == [
        "system",
        "system",
        "alice",
        "alice",
        "alice",
    ]
