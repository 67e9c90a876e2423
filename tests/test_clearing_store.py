"""A clearing window against a real PostgreSQL: membership, late items, re-runs.

intermediate.int_obligations is created by dbt from its model (run on the empty
raw tables of a fresh warehouse) and filled here row by row, so the window SQL
is tested on its own against the model's real columns.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from lxml import etree

from deltran import config
from deltran.clearing import store
from deltran.clearing.windows import window_closing
from deltran.warehouse import dbt

pytestmark = pytest.mark.db
UTC = timezone.utc
T06 = datetime(2026, 11, 20, 6, tzinfo=UTC)
T12 = T06 + timedelta(hours=6)
T18 = T12 + timedelta(hours=6)
A, B, C = "DLTAAEADXXX", "DLTBGB2LXXX", "DLTCILITXXX"


@pytest.fixture
def obligations(conn):
    dbt.run_model("int_obligations", config.load())  # the raw tables are empty: so is the model

    def add(oid, debtor, creditor, amount, accepted_at, received_at, currency="USD"):
        conn.execute(
            "insert into intermediate.int_obligations (obligation_id, obligation_kind, debtor_bic, creditor_bic,"
            " currency, amount, accepted_at, received_at, own_window_closing, is_clearable)"
            " values (%s, 'transfer', %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                oid,
                debtor,
                creditor,
                currency,
                Decimal(amount),
                accepted_at,
                received_at,
                window_closing(accepted_at),
                debtor != creditor,
            ),
        )
        conn.commit()

    return add


def rows(conn, table, closing):
    found = conn.execute(
        f"select * from clearing.{table} where window_closing = %s order by 2, 3", (closing,)
    ).fetchall()
    conn.commit()  # clear_window runs and commits its own transaction
    return found


def test_a_window_nets_its_own_obligations_and_writes_pacs009(conn, obligations, tmp_path):
    early = T06 - timedelta(hours=1)
    obligations("o1", A, B, "100.00", early, early)
    obligations("o2", B, C, "60.00", early, early)
    obligations("o3", C, A, "40.00", T06, early)  # exactly at the closing: this window
    obligations("o4", A, C, "5.00", T06 + timedelta(microseconds=1), early)  # next window
    summary = store.clear_window(conn, T06, config.load())
    usd = summary["currencies"]["USD"]
    assert usd["obligations"] == 3 and usd["gross"] == "200.00"
    # A: -100 + 40 = -60; B: +100 - 60 = +40; C: +60 - 40 = +20 -> net 60, efficiency 1 - 60/200
    positions = {r[2]: r[5] for r in rows(conn, "positions", T06)}
    assert positions == {A: Decimal("-60.00"), B: Decimal("40.00"), C: Decimal("20.00")}
    assert usd["net"] == "60.00" and usd["efficiency_pct"] == "70.0000"
    instructions = [(r[3], r[4], r[5]) for r in rows(conn, "instructions", T06)]
    assert sorted(instructions) == [(A, B, Decimal("40.00")), (A, C, Decimal("20.00"))]
    document = etree.parse(usd["pacs009"])
    assert document.getroot().tag.endswith("Document")
    amounts = [e.text for e in document.iter("{*}IntrBkSttlmAmt")]
    assert sorted(amounts) == ["20.00", "40.00"]


def test_rerunning_a_window_gives_identical_rows_and_late_items_go_to_the_next(conn, obligations):
    before = T06 - timedelta(hours=2)
    obligations("o1", A, B, "100.00", before, before)
    store.clear_window(conn, T06, config.load())
    first = {t: rows(conn, t, T06) for t in ("window_currencies", "positions", "instructions", "bilateral_nets")}
    # a payment accepted in the 06:00 window arrives after that window was cleared
    cleared_at = conn.execute(
        "select first_cleared_at from clearing.windows where window_closing = %s", (T06,)
    ).fetchone()[0]
    obligations("late", B, A, "30.00", before, cleared_at + timedelta(microseconds=1))
    store.clear_window(conn, T06, config.load())
    again = {t: rows(conn, t, T06) for t in first}
    assert again == first  # the re-run does not take the late item
    summary = store.clear_window(conn, T12, config.load())
    assert summary["currencies"]["USD"]["obligations"] == 1 and summary["currencies"]["USD"]["late"] == 1
    assert summary["currencies"]["USD"]["gross"] == "30.00"


def test_a_late_item_skips_windows_that_were_already_cleared_when_it_arrived(conn, obligations):
    t = T06 - timedelta(hours=1)
    obligations("o1", A, B, "1.00", t, t)
    store.clear_window(conn, T06, config.load())
    store.clear_window(conn, T12, config.load())
    last = conn.execute("select max(first_cleared_at) from clearing.windows").fetchone()[0]
    obligations("very-late", B, A, "7.00", t, last + timedelta(microseconds=1))
    assert "USD" not in store.clear_window(conn, T12, config.load())["currencies"]
    assert store.clear_window(conn, T18, config.load())["currencies"]["USD"]["late"] == 1


def test_a_cap_breach_holds_settlement(conn, obligations):
    t = T06 - timedelta(hours=1)
    obligations("o1", A, B, "500.00", t, t)
    summary = store.clear_window(conn, T06, config.load(), caps={(A, "USD"): Decimal("100")})
    usd = summary["currencies"]["USD"]
    assert usd["cap_breaches"] == 1 and usd["pacs009"] is None
    breach = rows(conn, "cap_breaches", T06)[0]
    assert breach[2:] == (A, Decimal("-500.00"), Decimal("100"), Decimal("400.00"))
