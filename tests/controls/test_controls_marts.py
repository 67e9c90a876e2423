"""The marts read the control state through views: a change shows at once, with no dbt run (real files, dbt)."""

from __future__ import annotations

from datetime import date

import pytest

from deltran import config, ingest, pipeline
from deltran.recon import breaker, exceptions
from deltran.recon.breaker import CheckOutcome
from tests.reliability.files import camt053, ledger, statement

pytestmark = [pytest.mark.slow, pytest.mark.db]

DAY = date(2026, 11, 20)


def permissions(conn) -> dict[str, tuple]:
    rows = conn.execute(
        "select account_id, payouts_allowed, why_not, since is not null, breaker_state, is_suspended"
        " from marts.payout_permissions order by account_id"
    ).fetchall()
    conn.commit()
    return {r[0]: r[1:] for r in rows}


def test_case_and_payout_changes_show_in_the_marts_at_once(conn, register_accounts):
    register_accounts({"ACC-OPS": "USD", "ACC-NEW": "USD"})
    settings = config.load()
    settings.inbox.mkdir(parents=True)
    document = camt053(
        [statement("ACC-OPS", "USD", [("OPBD", "0.00", "USD"), ("CLBD", "540.00", "USD")], [("500.00", "USD"), ("40.00", "USD")])]
    )  # fmt: skip
    (settings.inbox / "camt053.xml").write_text(document)
    (settings.inbox / "ledger.csv").write_text(ledger({"ACC-OPS": ("500.00", "USD")}))
    ingest.ingest_inbox(settings)
    built = pipeline.build_marts(settings, select="+discrepancies +discrepancy_events +payout_permissions")
    assert built["reopened_exceptions"] == []
    kinds = dict(
        conn.execute(
            "select table_name, table_type from information_schema.tables where table_schema = 'marts'"
            " and table_name in ('discrepancies', 'discrepancy_events', 'payout_permissions')"
        ).fetchall()
    )
    assert kinds == dict.fromkeys(("discrepancies", "discrepancy_events", "payout_permissions"), "VIEW")

    # payouts: every registry account, not allowed until a check has seen it
    assert permissions(conn) == {
        "ACC-NEW": (False, "unknown to the payout gate: no threshold check has seen it", False, "closed", False),
        "ACC-OPS": (False, "unknown to the payout gate: no threshold check has seen it", False, "closed", False),
    }
    outcome = CheckOutcome("ACC-OPS", "Significant", DAY, "test", "run-1", f"Significant on {DAY}", "e1")
    breaker.apply_checks(conn, [outcome])
    assert permissions(conn)["ACC-OPS"] == (False, f"payouts suspended: Significant on {DAY}", True, "closed", True)
    breaker.resume(conn, "ACC-OPS", "the 40.00 is a known fee", "alice")
    assert permissions(conn)["ACC-OPS"] == (True, None, True, "closed", False)

    # exceptions: a person's change is in marts.discrepancies and its history at once
    [lone] = [
        i.discrepancy_id
        for i in exceptions.find(conn, exceptions.Filter(account="ACC-OPS", type="MissingTxn"))
        if i.reference == "E2E-1"
    ]
    exceptions.act(conn, "assign", [lone], actor="alice", owner="treasury", note="asked the bank")
    exceptions.act(conn, "resolve", [lone], actor="bob", note="fee, booked in the ledger as J-40")
    conn.commit()
    state = conn.execute(
        "select state, owner, resolution_note from marts.discrepancies where discrepancy_id = %s", (lone,)
    ).fetchone()
    assert state == ("resolved", "treasury", "fee, booked in the ledger as J-40")
    history = conn.execute(
        "select account_id, discrepancy_type, from_state, to_state, owner, actor from marts.discrepancy_events"
        " where discrepancy_id = %s order by event_id",
        (lone,),
    ).fetchall()
    assert history == [
        ("ACC-OPS", "MissingTxn", "open", "investigating", "treasury", "alice"),
        ("ACC-OPS", "MissingTxn", "investigating", "resolved", "treasury", "bob"),
    ]
    conn.commit()
    # a rebuild with the same data keeps the resolved case resolved
    assert pipeline.build_marts(settings, select="discrepancies")["reopened_exceptions"] == []
