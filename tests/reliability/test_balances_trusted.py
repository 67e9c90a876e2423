"""No balance is trusted blindly, and currencies agree: real files, dbt, the GX checkpoint, the payout gate.

Each account's statement is written as a bank would send it; the ledger export
says what the ledger holds. The whole chain runs (ingest -> dbt -> checkpoint ->
breaker) and the payout gate is read as a payout system would read it.
"""

from __future__ import annotations

from datetime import date

import pytest

from deltran import config, ingest, pipeline

pytestmark = [pytest.mark.slow, pytest.mark.db]
DAY = date(2026, 11, 20)


def _balance(kind: str, amount: str, ccy: str) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp><Amt Ccy='{ccy}'>{amount}</Amt>"
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{DAY.isoformat()}</Dt></Dt></Bal>"
    )


def _entry(n: int, amount: str, ccy: str) -> str:
    return (
        f"<Ntry><Amt Ccy='{ccy}'>{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{DAY.isoformat()}</Dt></BookgDt><ValDt><Dt>{DAY.isoformat()}</Dt></ValDt>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>E2E-{n}</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>"
    )


def _statement(account: str, ccy: str, balances: list[tuple[str, str, str]], entries: list[tuple[str, str]]) -> str:
    return (
        f"<Stmt><Id>S-{account}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{DAY.isoformat()}T23:00:00Z</CreDtTm>"
        f"<Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>{ccy}</Ccy></Acct>"
        + "".join(_balance(*b) for b in balances)
        + "".join(_entry(n, amount, c) for n, (amount, c) in enumerate(entries))
        + "</Stmt>"
    )


def _camt053(statements: list[str]) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'><BkToCstmrStmt>"
        f"<GrpHdr><MsgId>EOD-{DAY.isoformat()}</MsgId><CreDtTm>{DAY.isoformat()}T23:00:00Z</CreDtTm></GrpHdr>"
        + "".join(statements)
        + "</BkToCstmrStmt></Document>"
    )


LEDGER_HEADER = "entry_id,journal_id,account,amount,currency,side,booked_at,value_date,kind,uetr,end_to_end_id,bank_reference,description\n"


def _ledger(holdings: dict[str, tuple[str, str]]) -> str:
    lines = [LEDGER_HEADER]
    for n, (account, (amount, ccy)) in enumerate(sorted(holdings.items())):
        at = f"{DAY.isoformat()}T09:00:00Z"
        lines.append(f"o{n},open{n},{account},{amount},{ccy},D,{at},{DAY.isoformat()},opening,,,,\n")
        lines.append(f"c{n},open{n},LIAB:CLIENT:{ccy},{amount},{ccy},C,{at},{DAY.isoformat()},opening,,,,\n")
    return "".join(lines)


def test_duplicate_balances_and_foreign_currencies_fail_closed(conn):
    settings = config.load()
    settings.inbox.mkdir(parents=True)
    statements = [
        # two CLBD: 1200 would look fully backed, but opening 1000 + 100 supports 1100 only
        _statement(
            "ACC-TWO-CLBD",
            "USD",
            [("OPBD", "1000.00", "USD"), ("CLBD", "1200.00", "USD"), ("CLBD", "1100.00", "USD")],
            [("100.00", "USD")],
        ),
        # two CLBD and neither adds up: the account fails closed
        _statement(
            "ACC-NONE-ADDS-UP",
            "USD",
            [("OPBD", "1000.00", "USD"), ("CLBD", "1300.00", "USD"), ("CLBD", "1250.00", "USD")],
            [("100.00", "USD")],
        ),
        # a USD account whose balances are in EUR: never compared with the USD ledger
        _statement(
            "ACC-EUR-BALANCES", "USD", [("OPBD", "0.00", "EUR"), ("CLBD", "500.00", "EUR")], [("500.00", "EUR")]
        ),
        # balances in USD, but its one entry is in EUR
        _statement("ACC-EUR-ENTRY", "USD", [("OPBD", "0.00", "USD"), ("CLBD", "500.00", "USD")], [("500.00", "EUR")]),
        # nothing wrong: the control
        _statement("ACC-FINE", "USD", [("OPBD", "0.00", "USD"), ("CLBD", "500.00", "USD")], [("500.00", "USD")]),
    ]
    (settings.inbox / "camt053.xml").write_text(_camt053(statements))
    (settings.inbox / "ledger.csv").write_text(
        _ledger(
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
    pipeline.build_marts(settings, select="+account_reconciliation")
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
