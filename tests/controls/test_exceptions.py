"""Exceptions worked by people on a real PostgreSQL: ids, filters, states, bulk actions, recurrence (issue 10).

marts.discrepancies is dbt's (a view over the breaks and the current case); here
it is a table with the mart's columns, written by the test, so a break can be
changed, removed and brought back as a rebuild would. The dbt view itself is
tested in test_controls_marts.py.
"""

from __future__ import annotations

import pytest

from deltran import cli
from deltran.recon import cases, exceptions
from deltran.recon.exceptions import ExceptionError, Filter

pytestmark = pytest.mark.db

D1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90"  # MissingTxn, account A, 0-1 d
D2 = "a1b2c3d4ffff0718293a4b5c6d7e8f91"  # AmountMismatch, account A, 2-7 d (same first 8 characters as D1)
D3 = "0b0b0b0b0b0b0718293a4b5c6d7e8f92"  # BalanceMismatch, account B, 8-30 d
D4 = "0c0c0c0c0c0c0718293a4b5c6d7e8f93"  # in flight (expected), account B
UETR = "e4f5a6b7-0000-4000-8000-000000000001"

COLUMNS = """
    discrepancy_id text primary key, discrepancy_type text, side text, account_id text, currency text,
    business_date date, bank_amount numeric, ledger_amount numeric, difference numeric, severity text,
    state text, owner text, resolution_note text, state_updated_at timestamptz, is_expected boolean,
    uetr text, end_to_end_id text, acct_svcr_ref text, bank_entry_id text, ledger_entry_id text,
    statement_id text, journal_id text, missing_from text, age_days integer, ageing_bucket text
"""


def put(conn, discrepancy_id, kind, account, day, difference, state="open", bucket="0-1", uetr=None):
    conn.execute(
        "insert into marts.discrepancies (discrepancy_id, discrepancy_type, account_id, currency, business_date,"
        " bank_amount, difference, severity, state, owner, uetr, ageing_bucket, age_days)"
        " values (%s, %s, %s, 'USD', %s, %s, %s, 'Minor', %s, 'operations', %s, %s, 0)",
        (discrepancy_id, kind, account, day, abs(difference), difference, state, uetr, bucket),
    )
    conn.commit()


@pytest.fixture
def breaks(conn):
    conn.execute(f"create schema if not exists marts; create table marts.discrepancies ({COLUMNS})")
    put(conn, D1, "MissingTxn", "ACC-A", "2026-11-20", 300, uetr=UETR)
    put(conn, D2, "AmountMismatch", "ACC-A", "2026-11-17", -3.25, bucket="2-7")
    put(conn, D3, "BalanceMismatch", "ACC-B", "2026-11-01", 12, bucket="8-30")
    put(conn, D4, "MissingTxn", "ACC-B", "2026-11-20", -50, state="expected")
    return conn


def ids(items) -> list[str]:
    return [i.discrepancy_id for i in items]


def test_filters_select_what_a_person_asks_for(breaks):
    assert ids(exceptions.find(breaks)) == [D3, D2, D1, D4]  # still to work, oldest first
    assert ids(exceptions.find(breaks, Filter(account="ACC-A"))) == [D2, D1]
    assert ids(exceptions.find(breaks, Filter(type="BalanceMismatch"))) == [D3]
    assert ids(exceptions.find(breaks, Filter(age="2-7"))) == [D2]
    assert ids(exceptions.find(breaks, Filter(state="expected"))) == [D4]
    assert ids(exceptions.find(breaks, Filter(owner="treasury"))) == []
    with pytest.raises(ExceptionError, match="age bucket must be one of"):
        exceptions.find(breaks, Filter(age="3"))


def test_the_id_a_person_types(breaks):
    assert exceptions.resolve_id(breaks, D1) == D1
    assert exceptions.resolve_id(breaks, "0b0b0b0b") == D3  # a unique prefix of 8 characters
    with pytest.raises(ExceptionError, match="more than one"):
        exceptions.resolve_id(breaks, "a1b2c3d4")
    with pytest.raises(ExceptionError, match=f"is a payment reference, not an exception id; its exception id.*{D1}"):
        exceptions.resolve_id(breaks, UETR.upper())
    with pytest.raises(ExceptionError, match="no exception 'nope'"):
        exceptions.resolve_id(breaks, "nope")


def test_a_case_goes_open_investigating_resolved_and_reopens_keeping_its_note(breaks):
    [assigned] = exceptions.act(breaks, "assign", [D1], actor="alice", owner="treasury").changed
    assert (assigned.from_state, assigned.to_state, assigned.owner) == ("open", "investigating", "treasury")
    with pytest.raises(ExceptionError, match="needs a resolution note"):
        exceptions.act(breaks, "resolve", [D1], actor="alice")
    exceptions.act(breaks, "resolve", [D1], actor="bob", note="bank booked it late; ledger J-9")
    assert ids(exceptions.find(breaks, Filter(state="resolved"))) == [D1]
    assert D1 not in ids(exceptions.find(breaks))

    skipped = exceptions.act(breaks, "escalate", [D1], actor="bob", note="why").skipped
    assert skipped == [(D1, "is resolved: escalate applies to open, expected, investigating")]
    with pytest.raises(ExceptionError, match="reopen needs a note"):
        exceptions.act(breaks, "reopen", [D1], actor="carol")
    exceptions.act(breaks, "reopen", [D1], actor="carol", note="bank recalled the credit")
    item, history = exceptions.show(breaks, D1)
    assert (item.state, item.owner, item.resolution_note) == ("open", "treasury", "bank booked it late; ledger J-9")
    assert [(e[1], e[2], e[3], e[5]) for e in history] == [
        ("alice", "open", "investigating", None),
        ("bob", "investigating", "resolved", "bank booked it late; ledger J-9"),
        ("carol", "resolved", "open", "bank recalled the credit"),
    ]


def test_bulk_actions_by_filter_on_the_command_line(breaks, capsys):
    assert cli.main(["exceptions", "resolve", "--by", "alice", "--note", "x"]) == 2  # no id and no filter
    assert "give exception ids, or filters" in capsys.readouterr().err
    code = cli.main(["exceptions", "assign", "--account", "ACC-A", "--owner", "treasury", "--by", "alice"])
    assert code == 0
    assert "2 changed, 0 skipped" in capsys.readouterr().out
    assert ids(exceptions.find(breaks, Filter(owner="treasury", state="investigating"))) == [D2, D1]
    code = cli.main(["exceptions", "resolve", "--account", "ACC-A", "--type", "AmountMismatch", "--note", "fee",
                     "--by", "bob"])  # fmt: skip
    assert code == 0 and f"{D2}: investigating -> resolved, owner treasury" in capsys.readouterr().out
    # reopen by filter picks the resolved ones only
    assert cli.main(["exceptions", "reopen", "--account", "ACC-A", "--note", "recalled", "--by", "carol"]) == 0
    assert "1 changed, 0 skipped" in capsys.readouterr().out

    assert cli.main(["exceptions", "list", "--account", "ACC-A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(D2 + "  AmountMismatch  ACC-A  2026-11-17  age 2-7 d")
    assert lines[1].startswith(D1) and UETR in lines[1]
    assert cli.main(["exceptions", "show", "a1b2c3d4ff"]) == 0
    assert "bob: investigating -> resolved (owner treasury): fee" in capsys.readouterr().out
    assert cli.main(["exceptions", "show", UETR]) == 2
    assert "is a payment reference" in capsys.readouterr().err
    # the older form still works on the same cases
    assert cli.main(["discrepancy", "history", D2]) == 0
    assert "carol: resolved -> open (owner treasury): recalled" in capsys.readouterr().out


def test_a_resolved_break_that_recurs_reopens(breaks):
    exceptions.act(breaks, "resolve", [D2, D3], actor="alice", note="explained")
    assert exceptions.reopen_recurred(breaks) == []  # still there with the same figures: stays resolved

    # D2 comes back with other figures
    breaks.execute("update marts.discrepancies set difference = -4.25 where discrepancy_id = %s", (D2,))
    # D3 is gone from the rebuilt marts...
    breaks.execute("delete from marts.discrepancies where discrepancy_id = %s", (D3,))
    breaks.commit()
    [reopened] = exceptions.reopen_recurred(breaks)
    assert (reopened.discrepancy_id, reopened.from_state, reopened.to_state) == (D2, "resolved", "open")
    assert exceptions.reopen_recurred(breaks) == []  # idempotent
    # ... and comes back with the same figures: it recurred
    put(breaks, D3, "BalanceMismatch", "ACC-B", "2026-11-01", 12, bucket="8-30")
    assert [c.discrepancy_id for c in exceptions.reopen_recurred(breaks)] == [D3]

    item, history = exceptions.show(breaks, D2)
    assert (item.state, item.resolution_note) == ("open", "explained")  # the note is never erased
    assert history[-1][1:4] == ("system", "resolved", "open")
    assert history[-1][5].startswith("recurred: the break is back in the reconciliation (business date 2026-11-17")


def test_the_resolution_note_is_kept_through_the_older_command(breaks):
    cases.update(breaks, D1, actor="alice", state="resolved", note="booked")
    cases.update(breaks, D1, actor="alice", state="open", note="not booked after all")
    assert breaks.execute("select state, resolution_note from control.discrepancy_cases").fetchall() == [
        ("open", "booked")
    ]
