"""Worked cases stay attached to their breaks when the bank re-sends a statement (real files, dbt)."""

from __future__ import annotations

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
