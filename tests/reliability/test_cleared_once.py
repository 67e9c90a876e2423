"""A payment is cleared once: re-sent pacs.008 files, real ingest, real dbt, real windows.

The payments arrive in a file, are cleared in their window; the same payments
then arrive again (the same file with other whitespace, and under a new MsgId
with the same UETRs) and the next window clears nothing of them. Re-running the
cleared window rewrites identical rows and identical pacs.009 bytes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from deltran import config, db, ingest, pipeline
from deltran.clearing import store
from deltran.demo.messages import Transfer, write_pacs008
from deltran.warehouse import dbt

pytestmark = [pytest.mark.slow, pytest.mark.db]
T06 = datetime(2026, 11, 20, 6, tzinfo=UTC)
T12 = T06 + timedelta(hours=6)
A, B, C = "DLTAAEADXXX", "DLTBGB2LXXX", "DLTCILITXXX"
HUB = "DLTRAEADXXX"


def _transfer(n: int, debtor: str, creditor: str, amount: str, uetr: str | None) -> Transfer:
    return Transfer(
        instr_id=f"I{n}",
        end_to_end_id=f"E2E{n}",
        tx_id=f"TX{n}",
        uetr=uetr or "",
        amount=Decimal(amount),
        currency="USD",
        settlement_date=date(2026, 11, 20),
        accepted_at=T06 - timedelta(hours=1, minutes=n),
        debtor_agent=debtor,
        creditor_agent=creditor,
        debtor_name="Debtor",
        debtor_account="AE070331234567890123456",
        creditor_name="Creditor",
        creditor_account="GB33BUKB20201555555555",
        remittance=f"invoice {n}",
    )


TRANSFERS = [
    _transfer(1, A, B, "100.00", "6f1c8b0e-1d0a-4c1e-9a52-000000000001"),
    _transfer(2, B, C, "60.00", "6f1c8b0e-1d0a-4c1e-9a52-000000000002"),
    _transfer(3, C, A, "25.00", "6f1c8b0e-1d0a-4c1e-9a52-000000000003"),
]


def _write(path: Path, message_id: str, transfers=TRANSFERS) -> Path:
    write_pacs008(path, message_id, T06 - timedelta(minutes=30), A, HUB, transfers)
    return path


def _cleared(settings: config.Settings, closing: datetime) -> dict:
    with db.connect() as conn:
        return store.clear_window(conn, closing, settings)


def _window_rows(conn, closing: datetime) -> dict:
    return {
        table: conn.execute(
            f"select * from clearing.{table} where window_closing = %s order by 2, 3", (closing,)
        ).fetchall()
        for table in ("window_currencies", "positions", "bilateral_nets", "instructions")
    }


def test_a_resent_payment_is_never_cleared_again(warehouse_url, conn):
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    _write(settings.inbox / "pacs008_first.xml", "MSG-1")
    assert [o.status for o in ingest.ingest_inbox(settings)] == ["loaded"]
    pipeline.build_marts(settings, select="+int_obligations")
    first = _cleared(settings, T06)["currencies"]["USD"]
    assert first["obligations"] == 3 and first["gross"] == "185.00"
    rows_before = _window_rows(conn, T06)
    conn.commit()
    pacs009 = Path(first["pacs009"]).read_bytes()

    # the same payments again: the same file with other whitespace (another
    # SHA-256, so ingest loads it), and the same UETRs under a new MsgId
    original = (settings.archive / "pacs008_first.xml").read_bytes()
    tree = etree.fromstring(original)
    (settings.inbox / "pacs008_resent_whitespace.xml").write_bytes(etree.tostring(tree, xml_declaration=True))
    _write(settings.inbox / "pacs008_resent_new_msgid.xml", "MSG-1-RESENT")
    assert [o.status for o in ingest.ingest_inbox(settings)] == ["loaded", "loaded"]
    pipeline.build_marts(settings, select="+int_obligations")

    later = _cleared(settings, T12)
    assert "USD" not in later["currencies"], f"re-sent payments cleared again: {later}"
    cleared = conn.execute(
        "select window_closing, sum(obligation_count) from clearing.window_pair_totals group by 1 order by 1"
    ).fetchall()
    assert cleared == [(T06, 3)]

    # a re-run of the cleared window changes no row and rewrites identical bytes
    again = _cleared(settings, T06)["currencies"]["USD"]
    assert again == first
    assert _window_rows(conn, T06) == rows_before
    assert Path(again["pacs009"]).read_bytes() == pacs009


def test_a_payment_without_uetr_is_known_by_instructing_agent_msgid_and_txid(warehouse_url, conn):
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    no_uetr = [_transfer(7, A, B, "10.00", None), _transfer(8, B, A, "4.00", None)]
    _write(settings.inbox / "a.xml", "MSG-7", no_uetr)
    ingest.ingest_inbox(settings)
    pipeline.build_marts(settings, select="+int_obligations")
    assert _cleared(settings, T06)["currencies"]["USD"]["obligations"] == 2
    # the same message re-serialised (another file, same MsgId and TxIds)
    tree = etree.fromstring((settings.archive / "a.xml").read_bytes())
    (settings.inbox / "b.xml").write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    assert [o.status for o in ingest.ingest_inbox(settings)] == ["loaded"]
    pipeline.build_marts(settings, select="+int_obligations")
    assert "USD" not in _cleared(settings, T12)["currencies"]
    copies = conn.execute("select copies_received from staging.stg_payments__interbank_transfers").fetchall()
    assert copies == [(2,), (2,)]


def test_outbox_files_appear_only_after_the_window_committed(conn, tmp_path):
    """The database refuses the window's rows at the last step: no pacs.009 may be left in the outbox."""
    dbt.run_model("int_obligations", config.load())  # the model's own table, empty: raw holds nothing yet
    accepted = T06 - timedelta(hours=1)
    conn.execute(
        "insert into intermediate.int_obligations (obligation_id, obligation_kind, debtor_bic, creditor_bic,"
        " currency, amount, accepted_at, received_at, own_window_closing, is_clearable)"
        " values ('o1', 'transfer', %s, %s, 'USD', 100, %s, %s, %s, true)",
        (A, B, accepted, accepted, T06),
    )
    # the database refuses the window's instruction rows (a real refusal, raised inside the transaction)
    conn.execute("alter table clearing.instructions add constraint fail_at_commit check (amount < 0) not valid")
    conn.commit()
    settings = config.load()
    with pytest.raises(Exception, match="fail_at_commit"):
        store.clear_window(conn, T06, settings)
    conn.rollback()
    assert not list(settings.outbox.rglob("*.xml")), "a pacs.009 left for a window the database does not hold"
    assert conn.execute("select count(*) from clearing.windows").fetchone()[0] == 0
