"""No balance is trusted blindly, and currencies agree: real files, dbt, the GX checkpoint, the payout gate.

Each account's statement is written as a bank would send it; the ledger export
says what the ledger holds. The whole chain runs (ingest -> dbt -> checkpoint ->
breaker) and the payout gate is read as a payout system would read it.
"""

from __future__ import annotations

import pytest

from deltran import config, ingest, pipeline

from .files import DAY, camt053, ledger, statement

pytestmark = [pytest.mark.slow, pytest.mark.db]


def test_duplicate_balances_and_foreign_currencies_fail_closed(conn, register_accounts):
    register_accounts(
        dict.fromkeys(["ACC-TWO-CLBD", "ACC-NONE-ADDS-UP", "ACC-EUR-BALANCES", "ACC-EUR-ENTRY", "ACC-FINE"], "USD")
    )
    settings = config.load()
    settings.inbox.mkdir(parents=True)
    statements = [
        # two CLBD: 1200 would look fully backed, but opening 1000 + 100 supports 1100 only
        statement(
            "ACC-TWO-CLBD",
            "USD",
            [("OPBD", "1000.00", "USD"), ("CLBD", "1200.00", "USD"), ("CLBD", "1100.00", "USD")],
            [("100.00", "USD")],
        ),
        # two CLBD and neither adds up: the account fails closed
        statement(
            "ACC-NONE-ADDS-UP",
            "USD",
            [("OPBD", "1000.00", "USD"), ("CLBD", "1300.00", "USD"), ("CLBD", "1250.00", "USD")],
            [("100.00", "USD")],
        ),
        # a USD account whose balances are in EUR: never compared with the USD ledger
        statement("ACC-EUR-BALANCES", "USD", [("OPBD", "0.00", "EUR"), ("CLBD", "500.00", "EUR")], [("500.00", "EUR")]),
        # balances in USD, but its one entry is in EUR
        statement("ACC-EUR-ENTRY", "USD", [("OPBD", "0.00", "USD"), ("CLBD", "500.00", "USD")], [("500.00", "EUR")]),
        # nothing wrong: the control
        statement("ACC-FINE", "USD", [("OPBD", "0.00", "USD"), ("CLBD", "500.00", "USD")], [("500.00", "USD")]),
    ]
    (settings.inbox / "camt053.xml").write_text(camt053(statements))
    (settings.inbox / "ledger.csv").write_text(
        ledger(
            {
                "ACC-TWO-CLBD": ("1200.00", "USD"),
                "ACC-NONE-ADDS-UP": ("1300.00", "USD"),
                "ACC-EUR-BALANCES": ("500.00", "USD"),
                "ACC-EUR-ENTRY": ("500.00", "USD"),
                "ACC-FINE": ("500.00", "USD"),
            }
        )
    )
    assert [o.status for o in ingest.ingest_inbox(settings)] == ["loaded", "loaded"]
    # the threshold check reads its mart, and its freshness check the statements' (statement_checks)
    pipeline.build_marts(settings, select="+account_reconciliation +statement_checks")
    pipeline.check_thresholds(DAY, "reliability-1", settings)

    recon = {
        r[0]: r[1:]
        for r in conn.execute(
            "select account_id, bank_closing_balance, threshold_level, balance_finding"
            " from marts.account_reconciliation where business_date = %s",
            (DAY,),
        )
    }
    gate = {r[0]: r[1:] for r in conn.execute("select account_id, payouts_allowed, reason from control.payout_gate")}

    closing, level, finding = recon["ACC-TWO-CLBD"]
    assert closing == 1100 and level == "Critical" and "CLBD given 2 times" in finding
    assert gate["ACC-TWO-CLBD"][0] is False  # the under-backing is seen, not hidden by the larger CLBD

    closing, level, finding = recon["ACC-NONE-ADDS-UP"]
    assert closing is None and "fails closed" in finding
    assert gate["ACC-NONE-ADDS-UP"][0] is False

    for account in ("ACC-EUR-BALANCES", "ACC-EUR-ENTRY"):
        closing, level, finding = recon[account]
        assert closing is None and "currency disagrees" in finding and "EUR" in finding, account
        assert gate[account][0] is False, account

    assert recon["ACC-FINE"][1:] == ("OK", None)
    assert gate["ACC-FINE"][0] is True
