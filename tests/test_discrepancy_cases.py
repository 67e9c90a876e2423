"""The workflow of a discrepancy on a real PostgreSQL: owner, state, note, history."""

from __future__ import annotations

import pytest

from deltran import cli
from deltran.recon import cases

pytestmark = pytest.mark.db


@pytest.fixture
def breaks(conn):
    # marts.discrepancies as dbt leaves it (only the columns the workflow reads)
    conn.execute("create schema if not exists marts")  # the access migration creates it for its grants
    conn.execute(
        "create table marts.discrepancies (discrepancy_id text primary key, state text,"
        " business_date date, bank_amount numeric, ledger_amount numeric, difference numeric)"
    )
    conn.execute("insert into marts.discrepancies values ('d1', 'open'), ('d2', 'expected')")
    conn.commit()
    return conn


def test_a_case_moves_through_its_states_and_keeps_its_history(breaks):
    change = cases.update(breaks, "d1", actor="alice", state="investigating", owner="treasury", note="asked DLTA")
    assert (change.from_state, change.to_state, change.owner) == ("open", "investigating", "treasury")
    with pytest.raises(cases.CaseError, match="needs a resolution note"):
        cases.update(breaks, "d2", actor="bob", state="resolved")
    cases.update(breaks, "d1", actor="bob", state="resolved", note="bank booked it late, value date kept")
    assert [(actor, before, after, owner) for _, actor, before, after, owner, _ in cases.history(breaks, "d1")] == [
        ("alice", "open", "investigating", "treasury"),
        ("bob", "investigating", "resolved", "treasury"),
    ]
    state = breaks.execute("select state, owner, resolution_note from control.discrepancy_cases").fetchall()
    assert state == [("resolved", "treasury", "bank booked it late, value date kept")]


def test_refusals_are_clear(breaks):
    with pytest.raises(cases.CaseError, match="no discrepancy nope"):
        cases.update(breaks, "nope", actor="alice", state="investigating")
    with pytest.raises(cases.CaseError, match="state must be one of"):
        cases.update(breaks, "d1", actor="alice", state="closed")
    with pytest.raises(cases.CaseError, match="nothing to change"):
        cases.update(breaks, "d1", actor="alice", state="open")
    with pytest.raises(cases.CaseError, match="an actor is required"):
        cases.update(breaks, "d1", actor=" ", state="escalated")
    assert breaks.execute("select count(*) from control.discrepancy_case_events").fetchone()[0] == 0


def test_the_command_line_records_who(breaks, capsys):
    assert cli.main(["discrepancy", "update", "d1", "--state", "escalated", "--actor", "carol", "--note", "CFO"]) == 0
    assert "d1: open -> escalated, owner operations" in capsys.readouterr().out
    capsys.readouterr()
    # the escalation's note is not a resolution: resolving needs its own
    assert cli.main(["discrepancy", "update", "d1", "--state", "resolved", "--actor", "carol"]) == 2
    assert "needs a resolution note" in capsys.readouterr().err
    assert cli.main(["discrepancy", "history", "d1"]) == 0
    assert capsys.readouterr().out.strip().endswith("carol: open -> escalated (owner operations): CFO")
