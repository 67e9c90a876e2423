"""One clearing window against the warehouse: select, net, replace, write pacs.009.

The window closing at T clears every obligation of intermediate.int_obligations
accepted in (T - 6h, T] that had arrived when T was first cleared, plus the late
ones: obligations whose own window had already been cleared when they arrived
go to the next window that had not. A payment is one obligation however often
its file was re-sent (staging knows it by its identity and keeps its first
delivery), so it is cleared once. The first run of a window records what it
netted (clearing.window_pair_totals); re-running the window (a retry, a
backfill) nets that record again and gives identical rows and pacs.009.

The pacs.009 files are published only after the window's transaction has
committed (temporary name, then rename): the outbox never holds an instruction
for a window the database does not.

The obligations are summed per (debtor, creditor, currency) in SQL: the netting
in Python then sees at most n x (n - 1) edges per currency, however many
obligations there were.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping

import psycopg

from deltran import config, db
from deltran.clearing.netting import NettingResult, PairTotal, net_all
from deltran.clearing.pacs009 import build_pacs009_for_result
from deltran.clearing.windows import WINDOW_LENGTH, check_closing, window_label
from deltran.numbers import efficiency_pct

# how far back a late obligation's own window may lie (bounds the late scan)
LATE_LOOKBACK = timedelta(days=7)

# The first run of a window decides its members: the obligations of its own
# window that had arrived when it was first cleared, plus the late ones (their
# own window was already cleared when they arrived, and this is the first window
# still open at their arrival). A payment is one row of int_obligations however
# often it was delivered (staging keeps its first delivery by payment identity),
# and its arrival time never changes, so it falls in exactly one window.
FIRST_RUN_PAIR_TOTALS_SQL = """
with on_time as (
    -- accepted in (T - 6h, T] and arrived before T was first cleared
    select debtor_bic, creditor_bic, currency, sum(amount) as amount, count(*) as obligations
    from intermediate.int_obligations
    where is_clearable and own_window_closing = %(closing)s and received_at <= %(first_cleared_at)s
    group by debtor_bic, creditor_bic, currency
),
late as (
    -- its own window was cleared before it arrived, and this window is the
    -- first after its own that was still open when it arrived
    select o.debtor_bic, o.creditor_bic, o.currency, sum(o.amount) as amount, count(*) as obligations
    from intermediate.int_obligations as o
    inner join clearing.windows as own on own.window_closing = o.own_window_closing
    where o.is_clearable
      and o.own_window_closing >= %(closing)s::timestamptz - %(lookback)s::interval
      and o.own_window_closing < %(closing)s
      and own.first_cleared_at < o.received_at
      and o.received_at < %(first_cleared_at)s
      and not exists (
          select 1
          from generate_series(
              o.own_window_closing + %(window)s::interval,
              %(closing)s::timestamptz - %(window)s::interval,
              %(window)s::interval
          ) as g(w)
          left join clearing.windows as between_w on between_w.window_closing = g.w
          where between_w.first_cleared_at is null or between_w.first_cleared_at >= o.received_at
      )
    group by o.debtor_bic, o.creditor_bic, o.currency
),
both_kinds as (
    select *, 0::bigint as late from on_time
    union all
    select *, obligations from late
)
select debtor_bic, creditor_bic, currency, sum(amount), sum(obligations)::bigint, sum(late)::bigint
from both_kinds
group by debtor_bic, creditor_bic, currency
"""

# What the first run netted, summed per pair, is recorded in
# clearing.window_pair_totals; every re-run nets exactly that record, so it
# rewrites identical rows and pacs.009 bytes whatever arrived, was rejected or
# was re-sent since (a rejection after clearing is a return, not a re-run).
# (Selected, then copied in: an INSERT ... SELECT would run the aggregation
# without PostgreSQL's parallel workers.)
PAIR_TOTALS_SQL = """
select debtor_bic, creditor_bic, currency, amount, obligation_count, late_count
from clearing.window_pair_totals
where window_closing = %(closing)s
order by debtor_bic, creditor_bic, currency
"""


def _mark_cleared(conn: psycopg.Connection, closing: datetime) -> tuple[datetime, bool]:
    """Record this run; returns when the window was first cleared and whether this is that run."""
    first_cleared_at, runs = db.one(
        conn.execute(
            "insert into clearing.windows (window_closing, first_cleared_at, last_cleared_at, runs)"
            " values (%s, clock_timestamp(), clock_timestamp(), 1)"
            " on conflict (window_closing) do update set last_cleared_at = excluded.last_cleared_at,"
            " runs = clearing.windows.runs + 1"
            " returning first_cleared_at, runs",
            (closing,),
        )
    )
    return first_cleared_at, runs == 1


def select_pair_totals(
    conn: psycopg.Connection, closing: datetime, first_cleared_at: datetime | None = None
) -> tuple[list[PairTotal], dict[str, int]]:
    """The window's pair totals and late count per currency.

    With ``first_cleared_at`` (the window's first run) they are selected from
    the obligations and recorded; without, read from that record.
    """
    pairs: list[PairTotal] = []
    late: dict[str, int] = {}
    cur = conn.cursor(binary=True)  # binary results: numeric arrives as Decimal without text parsing
    if first_cleared_at is None:
        rows = cur.execute(PAIR_TOTALS_SQL, {"closing": closing}).fetchall()
    else:
        params = {
            "closing": closing,
            "first_cleared_at": first_cleared_at,
            "lookback": LATE_LOOKBACK,
            "window": WINDOW_LENGTH,
        }
        rows = sorted(cur.execute(FIRST_RUN_PAIR_TOTALS_SQL, params).fetchall(), key=lambda r: r[:3])
        with conn.cursor() as copy_cur:
            _copy(copy_cur, "window_pair_totals", ((closing, *row) for row in rows))
    for debtor, creditor, currency, amount, count, late_count in rows:
        pairs.append(PairTotal(debtor, creditor, currency, amount, count))
        late[currency] = late.get(currency, 0) + late_count
    return pairs, late


def _copy(cur: psycopg.Cursor[Any], table: str, rows: Iterable[tuple[object, ...]]) -> None:
    with cur.copy(f"copy clearing.{table} from stdin") as copy:
        for row in rows:
            copy.write_row(row)


def _replace_rows(
    conn: psycopg.Connection,
    closing: datetime,
    results: Mapping[str, NettingResult],
    late: Mapping[str, int],
    files: Mapping[str, str | None],
) -> None:
    for table in ("window_currencies", "positions", "bilateral_nets", "instructions", "cap_breaches"):
        conn.execute(f"delete from clearing.{table} where window_closing = %s", (closing,))
    with conn.cursor() as cur:
        cur.executemany(
            f"insert into clearing.window_currencies values ({', '.join(['%s'] * 18)})",
            [
                (
                    closing,
                    ccy,
                    r.obligation_count,
                    late.get(ccy, 0),
                    len(r.participants),
                    r.gross,
                    r.bilateral_net,
                    r.net,
                    r.efficiency,
                    r.bilateral_efficiency,
                    len(r.cycles),
                    r.simple_cycle_count,
                    json.dumps(
                        [
                            {"participants": list(c.participants), "edges": c.edge_count, "gross": str(c.gross)}
                            for c in r.cycles
                        ]
                    ),
                    r.instruction_count,
                    r.instruction_bound,
                    len(r.cap_breaches),
                    r.settlement_held,
                    files.get(ccy),
                )
                for ccy, r in results.items()
            ],
        )
        # the many-row tables go by COPY (a window has up to n x (n - 1) pairs)
        _copy(
            cur,
            "positions",
            (
                (closing, p.currency, p.participant, p.paid, p.received, p.net)
                for r in results.values()
                for p in r.positions
            ),
        )
        _copy(
            cur,
            "bilateral_nets",
            (
                (closing, r.currency, b.party_a, b.party_b, b.a_to_b, b.b_to_a, b.payer, b.payee, b.amount)
                for r in results.values()
                for b in r.bilateral
            ),
        )
        _copy(
            cur,
            "instructions",
            (
                (closing, i.currency, n, i.payer, i.payee, i.amount)
                for r in results.values()
                for n, i in enumerate(r.instructions, start=1)
            ),
        )
        cur.executemany(
            "insert into clearing.cap_breaches values (%s, %s, %s, %s, %s, %s)",
            [
                (closing, b.currency, b.participant, b.net, b.cap, b.excess)
                for r in results.values()
                for b in r.cap_breaches
            ],
        )


def _pacs009_documents(closing: datetime, results: Mapping[str, NettingResult]) -> dict[str, bytes | None]:
    """One pacs.009 per currency with something to settle; a held currency gets none."""
    return {
        ccy: None if not result.instructions or result.settlement_held else build_pacs009_for_result(result, closing)
        for ccy, result in results.items()
    }


def _outbox_path(closing: datetime, currency: str, outbox: Path) -> Path:
    return outbox / f"window_{window_label(closing)}" / f"pacs009_{window_label(closing)}_{currency}.xml"


def _publish_outbox(closing: datetime, documents: Mapping[str, bytes | None], outbox: Path) -> None:
    """Called only after the window's rows committed: a payment instruction never
    leaves for a window the database does not hold. Each file is written under a
    hidden temporary name and renamed (atomic), so a reader of the outbox never
    sees half a file; a re-run rewrites identical bytes. Files of this window that
    it no longer issues (a currency now held) are removed."""
    folder = outbox / f"window_{window_label(closing)}"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {_outbox_path(closing, ccy, outbox).name for ccy, doc in documents.items() if doc is not None}
    for ccy, document in documents.items():
        if document is None:
            continue
        target = _outbox_path(closing, ccy, outbox)
        tmp = folder / f".{target.name}.tmp"
        with tmp.open("wb") as handle:
            handle.write(document)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    for stale in folder.glob("pacs009_*.xml"):
        if stale.name not in wanted:
            stale.unlink()


def clear_window(
    conn: psycopg.Connection,
    closing: datetime,
    settings: config.Settings | None = None,
    caps: Mapping[tuple[str, str], Decimal] | None = None,
) -> dict:
    """Clear the window closing at ``closing``; returns a summary per currency."""
    settings = settings or config.load()
    closing = check_closing(closing)
    caps = settings.net_debit_caps if caps is None else caps
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        # the window commits on its own before any file leaves: never inside a caller's transaction
        raise RuntimeError("clear_window commits its own transaction: call it outside an open transaction")
    with conn.transaction():
        first_cleared_at, is_first_run = _mark_cleared(conn, closing)
        pairs, late = select_pair_totals(conn, closing, first_cleared_at if is_first_run else None)
        results = net_all(pairs, caps)
        documents = _pacs009_documents(closing, results)
        files = {
            ccy: str(_outbox_path(closing, ccy, settings.outbox)) if doc is not None else None
            for ccy, doc in documents.items()
        }
        _replace_rows(conn, closing, results, late, files)
    _publish_outbox(closing, documents, settings.outbox)
    return {
        "window": window_label(closing),
        "currencies": {
            ccy: {
                "obligations": r.obligation_count,
                "late": late.get(ccy, 0),
                "gross": str(r.gross),
                "net": str(r.net),
                "efficiency_pct": str(efficiency_pct(r.efficiency)),
                "instructions": r.instruction_count,
                "bound": r.instruction_bound,
                "cap_breaches": len(r.cap_breaches),
                "pacs009": files.get(ccy),
            }
            for ccy, r in results.items()
        },
    }
