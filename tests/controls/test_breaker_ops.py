"""Breaker reset, payouts resume and `breaker status ACCOUNT` on a real PostgreSQL (issue 10, breaker and suspensions)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from deltran import cli
from deltran.recon import breaker
from deltran.recon.breaker import BreakerError, CheckOutcome

pytestmark = pytest.mark.db

DAY1 = date(2024, 3, 1)
DAY2 = date(2024, 3, 2)


def check(conn, account: str, level: str, day: date, run_id: str) -> None:
    """A threshold check as checks.run_threshold_checks records and applies it (GX left out)."""
    conn.execute(
        "insert into control.threshold_check_runs (run_id, business_date, check_name, gx_success, accounts,"
        " level_counts, failed_batch_checks, data_docs_index) values (%s, %s, 'test', false, 1, '{}', '{}', '-')"
        " on conflict do nothing",
        (run_id, day),
    )
    conn.execute(
        "insert into control.threshold_checks (run_id, business_date, account_id, check_name, level,"
        " failed_expectations) values (%s, %s, %s, 'test', %s, '{}')",
        (run_id, day, account, level),
    )
    outcome = CheckOutcome(account, level, day, "test", run_id, f"{level} on {day}", f"{account}-{level}-{day}")
    breaker.apply_checks(conn, [outcome])
    conn.commit()


def last_event(conn) -> tuple:
    return conn.execute(
        "select account_id, kind, from_state, to_state, actor, reason from control.circuit_breaker_events"
        " order by event_id desc limit 1"
    ).fetchone()


def test_a_reset_is_refused_while_the_latest_check_is_critical_unless_forced(conn):
    check(conn, "ACC-C", "Critical", DAY1, "run-1")
    with pytest.raises(BreakerError, match=r"still Critical \(2024-03-01, run run-1\).*--force"):
        breaker.reset(conn, "ACC-C", "bank says it is fine", "alice")
    assert breaker.payouts_allowed(conn, "ACC-C")[0] is False

    event = breaker.reset(conn, "ACC-C", "treasury accepts the risk until tomorrow", "alice", force=True)
    assert (event.actor, event.to_state) == ("alice", "closed")
    assert event.reason == (
        "forced reset while the latest check (2024-03-01, run run-1) is Critical: "
        "treasury accepts the risk until tomorrow"
    )
    assert breaker.payouts_allowed(conn, "ACC-C") == (True, None)


def test_a_reset_after_a_later_check_that_is_no_longer_critical_needs_no_force(conn):
    check(conn, "ACC-C", "Critical", DAY1, "run-1")
    check(conn, "ACC-C", "OK", DAY2, "run-2")  # the breaker stays open: only a person closes it
    assert breaker.payouts_allowed(conn, "ACC-C")[0] is False
    event = breaker.reset(conn, "ACC-C", "ledger corrected, DAY2 balances", "alice")
    assert not event.reason.startswith("forced")


def test_the_latest_check_of_any_tier_counts(conn):
    check(conn, "ACC-C", "Critical", DAY1, "run-1")
    check(conn, "ACC-C", "OK", DAY2, "run-2")
    # a tier-2 check later than the end of DAY2 is Critical again
    conn.execute(
        "insert into tiers.intraday_checks (cutoff_at, account_id, as_of, business_date, currency, bank_source,"
        " notified_credits, notified_debits, notified_entries, ledger_postings, level, run_id)"
        " values (%s, 'ACC-C', %s, %s, 'USD', 'camt.052', 0, 0, 0, 0, 'Critical', 'intraday-1')",
        (datetime(2024, 3, 3, 10, tzinfo=UTC), datetime(2024, 3, 3, 9, 45, tzinfo=UTC), date(2024, 3, 3)),
    )
    conn.commit()
    assert breaker.latest_check(conn, "ACC-C") == ("Critical", date(2024, 3, 3), "intraday-1")
    with pytest.raises(BreakerError, match="still Critical"):
        breaker.reset(conn, "ACC-C", "fixed", "alice")


def test_payouts_resume_lifts_a_suspension_and_records_who(conn):
    check(conn, "ACC-S", "Significant", DAY1, "run-1")
    allowed, why = breaker.payouts_allowed(conn, "ACC-S")
    assert not allowed and why.startswith("payouts suspended")
    for reason in ("", "  ", "\u200b"):
        with pytest.raises(BreakerError, match="non-empty reason"):
            breaker.resume(conn, "ACC-S", reason, "alice")
    with pytest.raises(BreakerError, match="reserved for the platform"):
        breaker.resume(conn, "ACC-S", "fine", "system")

    event = breaker.resume(conn, "ACC-S", "difference is a bank fee, booked", "alice")
    assert last_event(conn) == (
        "ACC-S",
        "suspension",
        "suspended",
        "allowed",
        "alice",
        "resumed by hand: difference is a bank fee, booked",
    )
    assert event.event_id
    assert breaker.payouts_allowed(conn, "ACC-S") == (True, None)
    with pytest.raises(BreakerError, match="not suspended; nothing to resume"):
        breaker.resume(conn, "ACC-S", "again", "alice")
    with pytest.raises(BreakerError, match="no payout suspension row"):
        breaker.resume(conn, "ACC-UNKNOWN", "why", "alice")


def test_a_later_ok_or_minor_check_lifts_a_suspension_by_itself(conn):
    check(conn, "ACC-S", "Significant", DAY1, "run-1")
    check(conn, "ACC-S", "Minor", DAY2, "run-2")
    assert last_event(conn)[1:5] == ("suspension", "suspended", "allowed", "system")
    assert breaker.payouts_allowed(conn, "ACC-S") == (True, None)


def test_the_command_line_status_exit_code_and_why(conn, capsys):
    check(conn, "ACC-OK", "OK", DAY1, "run-1")
    check(conn, "ACC-S", "Significant", DAY1, "run-1")
    check(conn, "ACC-C", "Critical", DAY1, "run-1")

    assert cli.main(["breaker", "status", "ACC-OK"]) == 0
    out = capsys.readouterr().out
    assert "account ACC-OK: payouts ALLOWED" in out and "latest check: OK on 2024-03-01 (run run-1)" in out
    assert cli.main(["breaker", "status", "ACC-S"]) == 1
    out = capsys.readouterr().out
    assert "payouts HALTED" in out and "why not: payouts suspended: Significant on 2024-03-01" in out
    assert cli.main(["breaker", "status", "ACC-C"]) == 1
    assert "why not: circuit breaker open: Critical on 2024-03-01" in capsys.readouterr().out
    assert cli.main(["breaker", "status", "ACC-NOBODY"]) == 1
    assert "no threshold check has seen it" in capsys.readouterr().out

    # the whole network halts every account
    assert cli.main(["breaker", "open", "*", "--reason", "bank outage", "--by", "bob"]) == 0
    assert "circuit breaker for * open by bob: bank outage" in capsys.readouterr().out
    assert cli.main(["breaker", "status", "ACC-OK"]) == 1
    assert "network circuit breaker open: bank outage" in capsys.readouterr().out
    assert cli.main(["breaker", "reset", "*", "--reason", "outage over", "--by", "bob"]) == 0
    assert cli.main(["breaker", "status", "ACC-OK"]) == 0


def test_the_command_line_reset_and_resume(conn, capsys):
    check(conn, "ACC-C", "Critical", DAY1, "run-1")
    check(conn, "ACC-S", "Significant", DAY1, "run-1")
    with pytest.raises(SystemExit):  # --reason is required
        cli.main(["breaker", "reset", "ACC-C", "--by", "alice"])
    assert "--reason" in capsys.readouterr().err
    assert cli.main(["breaker", "reset", "ACC-C", "--reason", "fixed", "--by", "alice"]) == 2
    assert "still Critical" in capsys.readouterr().err
    assert cli.main(["breaker", "reset", "ACC-C", "--reason", "risk accepted", "--by", "alice", "--force"]) == 0
    assert "closed by alice: forced reset while" in capsys.readouterr().out
    assert cli.main(["breaker", "status", "ACC-C"]) == 0

    with pytest.raises(SystemExit):
        cli.main(["payouts", "resume", "ACC-S", "--by", "alice"])
    assert cli.main(["payouts", "resume", "ACC-S", "--reason", "fee explained", "--by", "carol"]) == 0
    assert "payout suspension of ACC-S lifted by carol: resumed by hand: fee explained" in capsys.readouterr().out
    assert cli.main(["breaker", "status", "ACC-S"]) == 0
    assert cli.main(["payouts", "resume", "ACC-S", "--reason", "again", "--by", "carol"]) == 2
