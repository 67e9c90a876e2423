"""Worked cases stay attached to their breaks when the bank re-sends a statement (real files, dbt)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from deltran import config, ingest, pipeline
from deltran.recon import cases

from .files import camt053, ledger, statement

pytestmark = [pytest.mark.slow, pytest.mark.db]


def _breaks(conn) -> dict[str, tuple]:
    found = {
        r[0]: r[1:]
        for r in conn.execute(
            "select discrepancy_id, discrepancy_type, side, end_to_end_id, state, owner from marts.discrepancies"
        )
    }
    conn.commit()
    return found


def test_a_resent_statement_keeps_every_case_with_its_break(conn, register_accounts):
    register_accounts({"ACC-CASE": "USD"})
    settings = config.load()
    settings.inbox.mkdir(parents=True)
    document = camt053(
        [
            statement(
                "ACC-CASE",
                "USD",
                [("OPBD", "0.00", "USD"), ("CLBD", "540.00", "USD")],
                [("500.00", "USD"), ("40.00", "USD")],
            )
        ]
    )
    (settings.inbox / "camt053_first.xml").write_text(document)
    (settings.inbox / "ledger.csv").write_text(ledger({"ACC-CASE": ("500.00", "USD")}))
    ingest.ingest_inbox(settings)
    pipeline.build_marts(settings, select="+discrepancies")
    before = _breaks(conn)
    [worked] = [d for d, b in before.items() if b[:3] == ("MissingTxn", "bank", "E2E-1")]
    cases.update(conn, worked, actor="alice", state="investigating", owner="treasury", note="asked the bank")

    # the bank sends the same statement again, laid out differently (another file to ingest)
    (settings.inbox / "camt053_resent.xml").write_text(document.replace("><", ">\n  <"))
    assert [o.status for o in ingest.ingest_inbox(settings)] == ["loaded"]
    pipeline.build_marts(settings, select="+discrepancies")
    after = _breaks(conn)

    assert set(after) == set(before), "a re-sent statement changed which breaks exist"
    assert after[worked][3:] == ("investigating", "treasury")
    assert [(e[1], e[3]) for e in cases.history(conn, worked)] == [("alice", "investigating")]
    assert [b[3] for b in after.values() if b[0] != "BalanceMismatch"].count("open") == 1  # only the unworked one


def _without_references(document: str) -> str:
    """The same statement with no UETR, EndToEndId or AcctSvcrRef on any entry."""
    return re.sub(r"<NtryDtls>.*?</NtryDtls>", "", document)


def test_a_case_on_a_movement_without_references_follows_it_when_the_bank_reorders_the_statement(
    conn, register_accounts
):
    # Nothing but its content names such a movement: its position in the
    # statement (bank_entry_id) changes when the bank sends the entries in
    # another order, and the case must stay on the movement, not the position.
    register_accounts({"ACC-BARE": "USD"})
    settings = config.load()
    settings.inbox.mkdir(parents=True)
    balances = [("OPBD", "0.00", "USD"), ("CLBD", "110.00", "USD")]

    def document(amounts: list[str]) -> str:
        return _without_references(camt053([statement("ACC-BARE", "USD", balances, [(a, "USD") for a in amounts])]))

    (settings.inbox / "camt053_first.xml").write_text(document(["40.00", "70.00"]))
    (settings.inbox / "ledger.csv").write_text(ledger({"ACC-BARE": ("500.00", "USD")}))
    ingest.ingest_inbox(settings)
    pipeline.build_marts(settings, select="+discrepancies")

    def bank_breaks() -> dict[str, tuple]:
        found = {
            r[0]: r[1:]
            for r in conn.execute(
                "select discrepancy_id, bank_amount, state, owner, uetr, end_to_end_id, acct_svcr_ref"
                " from marts.discrepancies where discrepancy_type = 'MissingTxn' and side = 'bank'"
            )
        }
        conn.commit()
        return found

    before = bank_breaks()
    assert sorted(b[0] for b in before.values()) == [Decimal("40.00"), Decimal("70.00")]
    assert all(b[3:] == (None, None, None) for b in before.values()), "the movements must share no reference"
    [worked] = [d for d, b in before.items() if b[0] == Decimal("40.00")]
    cases.update(conn, worked, actor="alice", state="investigating", owner="treasury", note="no reference: asked")

    # the same statement again in another file, its entries in the other order
    (settings.inbox / "camt053_reordered.xml").write_text(document(["70.00", "40.00"]))
    assert [o.status for o in ingest.ingest_inbox(settings)] == ["loaded"]
    pipeline.build_marts(settings, select="+discrepancies")
    after = bank_breaks()

    assert set(after) == set(before), "a re-ordered statement changed which breaks exist"
    assert after[worked][:3] == (Decimal("40.00"), "investigating", "treasury"), "the case moved to another movement"
    [other] = set(after) - {worked}
    assert after[other][:3] == (Decimal("70.00"), "open", "operations")
    assert [(e[1], e[3]) for e in cases.history(conn, worked)] == [("alice", "investigating")]
