"""The payout decision states its age, and an old one halts payouts (real PostgreSQL, the real gate view)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from deltran import db
from deltran.recon import breaker
from deltran.recon.breaker import CheckOutcome

pytestmark = pytest.mark.db


def _ok(account: str, day: date) -> CheckOutcome:
    return CheckOutcome(account, "OK", day, "test_check", f"run-{day}", f"OK on {day}", f"{account}-{day}")


def _gate(conn) -> dict:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "select account_id, payouts_allowed, reason, checked_business_date from control.payout_gate"
        )
    }


def test_a_decision_older_than_the_horizon_halts_payouts(conn, monkeypatch):
    monkeypatch.setenv("DELTRAN_PAYOUT_CHECK_HORIZON_HOURS", "36")
    db.ensure_schema(conn)  # applies the configured horizon
    today = datetime.now(UTC).date()
    fresh, old = today - timedelta(days=1), today - timedelta(days=3)
    breaker.register_accounts(conn, ["ACC-NEVER"])
    breaker.apply_checks(conn, [_ok("ACC-FRESH", fresh), _ok("ACC-OLD", old)])

    gate = _gate(conn)
    assert gate["ACC-FRESH"] == (True, None, fresh)
    assert gate["ACC-OLD"] == (False, f"no check since {old.isoformat()}", old)
    assert gate["ACC-NEVER"] == (False, "no threshold check yet", None)
    assert breaker.payouts_allowed(conn, "ACC-OLD") == (False, f"no check since {old.isoformat()}")

    # a new check brings it back; a longer horizon is read at once by every consumer
    breaker.apply_checks(conn, [_ok("ACC-OLD", fresh)])
    assert _gate(conn)["ACC-OLD"] == (True, None, fresh)
    breaker.apply_checks(conn, [_ok("ACC-OLD2", old)])
    monkeypatch.setenv("DELTRAN_PAYOUT_CHECK_HORIZON_HOURS", str(24 * 10))
    db.ensure_schema(conn)
    assert _gate(conn)["ACC-OLD2"][0] is True
