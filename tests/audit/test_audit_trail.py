"""The tamper-evident audit trail: every control event on one hash chain, and `deltran audit verify`.

Real PostgreSQL and real roles. The guards refuse every rewrite to every role;
a superuser can still switch them off, so the tests do exactly that and check
that verify names the event that was altered, deleted or inserted.
"""

from __future__ import annotations

import threading
from datetime import date

import psycopg
import pytest

from deltran import audit, cli
from deltran.recon import breaker, cases
from deltran.recon.breaker import CheckOutcome

pytestmark = pytest.mark.db
DAY = date(2026, 11, 20)
HISTORY = ("circuit_breaker_events", "discrepancy_case_events", "match_decisions", "audit_trail")
REFUSED = (psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)


def _events(conn: psycopg.Connection) -> None:
    """One event of every kind: a breaker opens, a suspension starts, a person resets the breaker, a case
    moves, a match is decided (chain entries 1 to 5)."""
    breaker.apply_checks(conn, [CheckOutcome("ACC-1", "Critical", DAY, "suite", "run-1", "Critical", "ev-1")])
    breaker.apply_checks(conn, [CheckOutcome("ACC-2", "Significant", DAY, "suite", "run-1", "Significant", "ev-2")])
    breaker.reset(conn, "ACC-1", "the bank confirmed the credit", "dana")  # event 1 is no state's latest any more
    conn.execute("create schema if not exists marts")
    conn.execute(
        "create table marts.discrepancies (discrepancy_id text primary key, state text,"
        " business_date date, bank_amount numeric, ledger_amount numeric, difference numeric)"
    )
    conn.execute("insert into marts.discrepancies values ('d-1', 'open')")
    cases.update(conn, "d-1", actor="alice", state="investigating", note="asked the bank")
    conn.execute("select control.record_match_decision('b-1', 'k-1', 'l-1', 'confirm', 'same payer', 'bob')")
    conn.commit()


def _verify_cli(capsys) -> tuple[int, str]:
    code = cli.main(["audit", "verify"])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_every_kind_of_event_is_chained_and_verify_passes(conn, capsys):
    _events(conn)
    chain = conn.execute("select seq, source, prev_hash, hash from control.audit_trail order by seq").fetchall()
    assert [source for _, source, _, _ in chain] == [
        "control.circuit_breaker_events",
        "control.circuit_breaker_events",
        "control.circuit_breaker_events",
        "control.discrepancy_case_events",
        "control.match_decisions",
    ]
    # each entry carries the hash of the one before
    assert chain[0][2] == audit.GENESIS
    assert all(chain[i][2] == chain[i - 1][3] for i in range(1, len(chain)))
    result = audit.verify(conn)
    assert result.ok and result.events == 5 and result.head_hash == chain[-1][3]
    code, text = _verify_cli(capsys)
    assert code == 0 and "intact: 5 events" in text


@pytest.mark.parametrize("role", ["pipeline", "operator", "analyst", "deltran_owner"])
def test_no_role_may_rewrite_history(conn, login, warehouse_url, role):
    _events(conn)
    if role == "deltran_owner":  # nobody logs in as the owner: a superuser takes its role
        who = psycopg.connect(warehouse_url, autocommit=True)
        who.execute("set role deltran_owner")
    else:
        who = login(role)
    with who:
        assert who.execute("select rolsuper from pg_roles where rolname = current_user").fetchone() == (False,)
        for table in HISTORY:
            for attempt in (
                f"update control.{table} set {'decided_by' if table == 'match_decisions' else 'source' if table == 'audit_trail' else 'actor'} = 'mallory'",
                f"delete from control.{table}",
                f"truncate control.{table} cascade",  # cascade: what an attacker would add
            ):
                with pytest.raises(REFUSED):
                    who.execute(attempt)
        if role != "deltran_owner":  # the trail is written by its trigger only
            with pytest.raises(REFUSED):
                who.execute(
                    "insert into control.audit_trail values (99, 'x', 1, '{}', repeat('0', 64), repeat('1', 64))"
                )
    assert audit.verify(conn).ok


def _unguarded(conn: psycopg.Connection, table: str) -> None:
    """What only a superuser can do: switch off every trigger of a history table (guards and chaining)."""
    conn.execute(f"alter table control.{table} disable trigger user")


@pytest.mark.parametrize(
    ("tampering", "what", "source_id"),
    [
        ("update control.circuit_breaker_events set reason = 'nothing happened' where event_id = 2", "altered", 2),
        ("delete from control.circuit_breaker_events where event_id = 1", "deleted", 1),
        (
            (
                "insert into control.circuit_breaker_events"
                " (event_id, account_id, kind, from_state, to_state, actor, reason)"
                " values (4, 'ACC-9', 'breaker', 'open', 'closed', 'mallory', 'all fine')"
            ),
            "inserted",
            4,
        ),
    ],
    ids=["altered", "deleted", "inserted"],
)
def test_verify_names_the_event_a_superuser_tampered_with(conn, capsys, tampering, what, source_id):
    _events(conn)
    assert audit.verify(conn).ok
    _unguarded(conn, "circuit_breaker_events")
    conn.execute(tampering)
    conn.commit()
    result = audit.verify(conn)
    assert not result.ok
    first = result.findings[0]
    assert (first.what, first.source, first.source_id) == (what, "control.circuit_breaker_events", source_id)
    code, text = _verify_cli(capsys)
    assert code == 1
    assert f"BROKEN: first {what}: control.circuit_breaker_events #{source_id}" in text


def test_verify_names_a_chain_entry_altered_or_removed(conn):
    _events(conn)
    _unguarded(conn, "audit_trail")
    conn.execute("update control.audit_trail set payload = replace(payload, 'bob', 'eve') where seq = 5")
    conn.commit()
    first = audit.verify(conn).findings[0]
    assert (first.what, first.source_id) == ("altered", 1) and "entry 5" in first.detail
    conn.execute("update control.audit_trail set payload = replace(payload, 'eve', 'bob') where seq = 5")
    conn.execute("delete from control.audit_trail where seq = 2")
    conn.commit()
    first = audit.verify(conn).findings[0]
    assert first.what == "deleted" and "entries 2..2" in first.detail


def test_a_rewritten_chain_is_caught_by_the_head_kept_outside(conn):
    _events(conn)
    head = audit.verify(conn).head_hash
    # a superuser rewrites an event, its entry and every hash after it: the chain is consistent again ...
    for table in ("circuit_breaker_events", "audit_trail"):
        _unguarded(conn, table)
    conn.execute("set timezone = 'UTC'")  # the payload's canonical form
    conn.execute("update control.circuit_breaker_events set reason = 'nothing happened' where event_id = 1")
    conn.execute(
        "update control.audit_trail set payload = (select to_jsonb(e)::text from control.circuit_breaker_events as e"
        " where e.event_id = 1) where seq = 1"
    )
    previous = audit.GENESIS
    for seq, source, source_id, payload in conn.execute(
        "select seq, source, source_id, payload from control.audit_trail order by seq"
    ).fetchall():
        new = audit.chain_hash(previous, seq, source, source_id, payload)
        conn.execute("update control.audit_trail set prev_hash = %s, hash = %s where seq = %s", (previous, new, seq))
        previous = new
    conn.commit()
    assert audit.verify(conn).ok  # ... which is why the head is kept elsewhere
    broken = audit.verify(conn, expected_head=head)
    assert not broken.ok and "rewritten" in broken.findings[0].detail


def test_concurrent_appends_chain_one_after_the_other(warehouse_url, conn):
    def decide(worker: int) -> None:
        with psycopg.connect(warehouse_url) as own:
            for n in range(5):
                own.execute(
                    "select control.record_match_decision(%s, null, %s, 'confirm', 'checked', 'carol')",
                    (f"b-{worker}-{n}", f"l-{worker}-{n}"),
                )
                own.commit()

    threads = [threading.Thread(target=decide, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = audit.verify(conn)
    assert result.ok and result.events == 20 and result.head_seq == 20


def test_events_are_chained_at_commit_so_an_open_transaction_blocks_no_one(warehouse_url, conn):
    conn.execute(
        "select control.record_match_decision('b-a', 'k-a', 'l-a', 'confirm', 'checked', 'carol')"
    )  # still open
    with psycopg.connect(warehouse_url) as other:
        other.execute("set lock_timeout = '20s'")  # fail rather than hang if the trail were held
        other.execute("select control.record_match_decision('b-b', 'k-b', 'l-b', 'confirm', 'checked', 'dave')")
        other.commit()
    conn.commit()
    result = audit.verify(conn)
    assert result.ok and result.events == 2
    order = [
        row[0] for row in conn.execute("select payload::jsonb ->> 'decided_by' from control.audit_trail order by seq")
    ]
    assert order == ["dave", "carol"]  # in the order they committed
