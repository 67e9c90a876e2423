"""The circuit breaker, suspensions and payout gate on a real PostgreSQL, without GX."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from deltran import db
from deltran.recon import breaker
from deltran.recon.breaker import BreakerError, CheckOutcome

pytestmark = pytest.mark.db

DAY1 = date(2024, 3, 1)
DAY2 = date(2024, 3, 2)


def outcome(account: str, level: str, day: date = DAY1, evidence: str | None = None, run_id: str = "run-1"):
    return CheckOutcome(
        account_id=account,
        level=level,
        business_date=day,
        check_name="test_check",
        run_id=run_id,
        reason=f"{level} on {day}",
        evidence=evidence or f"{account}-{level}-{day}",
    )


def gate(conn) -> dict[str, tuple[bool, str | None]]:
    return {
        a: (ok, why)
        for a, ok, why in conn.execute("select account_id, payouts_allowed, reason from control.payout_gate").fetchall()
    }


def checked_ok(conn, accounts: list[str]) -> None:
    """Known accounts whose latest check was OK (a known account never checked may not pay out)."""
    breaker.apply_checks(conn, [outcome(a, "OK") for a in accounts])


def event_count(conn) -> int:
    return conn.execute("select count(*) from control.circuit_breaker_events").fetchone()[0]


def test_control_schema_is_idempotent(conn):
    db.ensure_schema(conn)
    db.ensure_schema(conn)
    assert conn.execute("select account_id, state from control.circuit_breakers").fetchall() == [("*", "closed")]


def test_known_accounts_are_allowed_and_unknown_ones_are_not(conn):
    breaker.register_accounts(conn, ["ACC-A", "ACC-B"])
    assert gate(conn) == {"ACC-A": (False, "no threshold check yet"), "ACC-B": (False, "no threshold check yet")}
    checked_ok(conn, ["ACC-A", "ACC-B"])
    assert gate(conn) == {"ACC-A": (True, None), "ACC-B": (True, None)}
    assert breaker.payouts_allowed(conn, "ACC-NEW")[0] is False


def test_network_switch_halts_every_account(conn):
    checked_ok(conn, ["ACC-A", "ACC-B"])
    with pytest.raises(BreakerError, match="non-empty reason"):
        breaker.open_network(conn, " ", "alice")
    breaker.open_network(conn, "settlement bank outage", "alice")
    assert gate(conn) == {
        "ACC-A": (False, "network circuit breaker open: settlement bank outage"),
        "ACC-B": (False, "network circuit breaker open: settlement bank outage"),
    }
    with pytest.raises(BreakerError, match="already open"):
        breaker.open_network(conn, "again", "bob")

    event = breaker.reset(conn, "*", "outage over", "bob")
    assert (event.account_id, event.actor, event.reason, event.to_state) == ("*", "bob", "outage over", "closed")
    assert gate(conn) == {"ACC-A": (True, None), "ACC-B": (True, None)}
    with pytest.raises(BreakerError, match="already closed"):
        breaker.reset_network(conn, "again", "bob")


def test_a_missing_network_row_fails_closed(conn):
    checked_ok(conn, ["ACC-A"])
    # only the owner can take the guard off (here the test's superuser), as a damaged warehouse would be
    conn.execute("alter table control.circuit_breakers disable trigger circuit_breakers_guarded")
    conn.execute("delete from control.circuit_breakers where account_id = '*'")
    conn.execute("alter table control.circuit_breakers enable always trigger circuit_breakers_guarded")
    assert gate(conn) == {"ACC-A": (False, "network circuit breaker open: network switch missing")}


def test_critical_opens_once_and_only_reset_closes(conn):
    opened = breaker.apply_check(conn, outcome("ACC-A", "Critical"))
    assert [
        (e.kind, e.from_state, e.to_state, e.actor, e.level, e.check_name, e.run_id, e.business_date) for e in opened
    ] == [("breaker", "closed", "open", "system", "Critical", "test_check", "run-1", DAY1)]
    assert gate(conn)["ACC-A"] == (False, "circuit breaker open: Critical on 2024-03-01")

    # Same outcome again, then later checks that are fine: nothing closes it.
    assert breaker.apply_check(conn, outcome("ACC-A", "Critical")) == []
    assert breaker.apply_check(conn, outcome("ACC-A", "OK", DAY2)) == []
    assert gate(conn)["ACC-A"][0] is False

    with pytest.raises(BreakerError, match="non-empty actor"):
        breaker.reset(conn, "ACC-A", "fixed", "")
    breaker.reset(conn, "ACC-A", "fixed", "alice")
    assert gate(conn)["ACC-A"] == (True, None)
    # The evidence already acted on does not reopen; new evidence does.
    assert breaker.apply_check(conn, outcome("ACC-A", "Critical")) == []
    assert len(breaker.apply_check(conn, outcome("ACC-A", "Critical", DAY2))) == 1


def test_reset_errors_are_clear(conn):
    with pytest.raises(BreakerError, match="no circuit breaker for account ACC-X"):
        breaker.reset(conn, "ACC-X", "why", "alice")
    checked_ok(conn, ["ACC-A"])
    with pytest.raises(
        BreakerError, match=r"breaker of account ACC-A is already closed \(since .*\); nothing to reset"
    ):
        breaker.reset(conn, "ACC-A", "why", "alice")
    assert event_count(conn) == 0


def test_reset_is_committed_and_logged_with_actor_and_reason(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        breaker.apply_check(conn, outcome("ACC-A", "Critical"))
    with psycopg.connect(warehouse_url) as conn:  # a fresh connection, as the CLI has
        breaker.reset(conn, "ACC-A", "ledger corrected (ticket OPS-12)", "alice")
    with psycopg.connect(warehouse_url) as other:
        assert other.execute(
            "select state, reason from control.circuit_breakers where account_id = 'ACC-A'"
        ).fetchone() == ("closed", "ledger corrected (ticket OPS-12)")
        last = breaker.history(other, "ACC-A")[0]
        assert (last.actor, last.reason, last.from_state, last.to_state) == (
            "alice",
            "ledger corrected (ticket OPS-12)",
            "open",
            "closed",
        )


def test_manual_open_of_an_account(conn):
    event = breaker.open_account(conn, "ACC-A", "fraud investigation", "carol")
    assert (event.actor, event.to_state, event.check_name) == ("carol", "open", None)
    # opened by hand before any check has seen it: both reasons stand
    assert gate(conn)["ACC-A"] == (False, "circuit breaker open: fraud investigation; no threshold check yet")


def test_significant_suspends_and_same_or_later_ok_or_minor_lifts(conn):
    assert [e.to_state for e in breaker.apply_check(conn, outcome("ACC-A", "Significant"))] == ["suspended"]
    assert breaker.apply_check(conn, outcome("ACC-A", "Significant")) == []  # idempotent
    assert gate(conn)["ACC-A"] == (False, "payouts suspended: Significant on 2024-03-01")

    lifted = breaker.apply_check(conn, outcome("ACC-A", "Minor", DAY1))  # same date, corrected data
    assert [(e.kind, e.from_state, e.to_state) for e in lifted] == [("suspension", "suspended", "allowed")]
    assert gate(conn)["ACC-A"] == (True, None)


def test_an_older_date_never_overrides_a_newer_one(conn):
    breaker.apply_check(conn, outcome("ACC-A", "OK", DAY2))
    assert breaker.apply_check(conn, outcome("ACC-A", "Significant", DAY1)) == []  # a backfill
    assert gate(conn)["ACC-A"] == (True, None)
    breaker.apply_check(conn, outcome("ACC-A", "Significant", DAY2))
    assert breaker.apply_check(conn, outcome("ACC-A", "OK", DAY1)) == []
    assert gate(conn)["ACC-A"][0] is False


def test_breaker_and_suspension_reasons_are_both_given(conn):
    breaker.apply_check(conn, outcome("ACC-A", "Significant", DAY1))
    breaker.apply_check(conn, outcome("ACC-A", "Critical", DAY2))
    breaker.open_network(conn, "drill", "alice")
    allowed, why = gate(conn)["ACC-A"]
    assert not allowed
    assert why == (
        "network circuit breaker open: drill; circuit breaker open: Critical on 2024-03-02; "
        "payouts suspended: Significant on 2024-03-01"
    )


def test_events_are_append_only(conn):
    breaker.apply_check(conn, outcome("ACC-A", "Critical"))
    conn.commit()
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("update control.circuit_breaker_events set reason = 'rewritten'")
    conn.rollback()
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("delete from control.circuit_breaker_events")
    conn.rollback()


def test_status_lists_scopes_for_the_cli(conn):
    checked_ok(conn, ["ACC-OK"])
    breaker.apply_check(conn, outcome("ACC-CRIT", "Critical"))
    breaker.apply_check(conn, outcome("ACC-SIG", "Significant"))
    status = breaker.status(conn)
    assert status.network.breaker == "closed"
    assert [s.account_id for s in status.accounts] == ["ACC-CRIT", "ACC-OK", "ACC-SIG"]
    assert [s.account_id for s in status.open_breakers] == ["ACC-CRIT"]
    assert [s.account_id for s in status.suspended] == ["ACC-SIG"]
    assert [s.payouts_allowed for s in status.accounts] == [False, True, False]
    text = str(status)
    assert "network switch '*': CLOSED" in text
    assert "3 accounts: 1 breaker(s) open, 1 payout suspension(s), 2 not allowed to pay out" in text
    assert "ACC-CRIT" in text and "circuit breaker open: Critical on 2024-03-01" in text


def test_the_network_is_not_an_account(conn):
    with pytest.raises(BreakerError, match="network switch"):
        breaker.apply_check(conn, outcome("*", "Critical"))


def test_the_command_line_reset_needs_a_reason_and_records_who(conn, capsys):
    from deltran import cli

    breaker.apply_check(conn, outcome("ACC-A", "Critical"))
    with pytest.raises(SystemExit):  # --reason is required by the command itself
        cli.main(["breaker", "reset", "ACC-A"])
    assert cli.main(["breaker", "reset", "ACC-A", "--reason", "bank confirmed the funds", "--actor", "alice"]) == 0
    assert "closed by alice: bank confirmed the funds" in capsys.readouterr().out
    assert cli.main(["breaker", "reset", "ACC-A", "--reason", "again", "--actor", "alice"]) == 2  # already closed
    assert "deltran breaker reset:" in capsys.readouterr().err
    last = breaker.history(conn, "ACC-A")[0]
    assert (last.to_state, last.actor, last.reason) == ("closed", "alice", "bank confirmed the funds")
    assert cli.main(["breaker", "status"]) == 0
    assert "ACC-A" in capsys.readouterr().out
