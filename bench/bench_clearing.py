"""make bench-clearing: one clearing window of 1,000,000 obligations, from the database.

50 participants, 5 currencies, every obligation in the window closing at
06:00, already in intermediate.int_obligations (as dbt leaves them). Measured
in one run, on the same data:

- the platform: deltran.clearing.store.clear_window, from the query to the
  instructions written (pair totals recorded in clearing.window_pair_totals,
  rows in clearing.*, pacs.009 files in the outbox), each timed run a first run;
  a re-run of the cleared window is printed beside it;
- the limit: a plain SQL GROUP BY computing the same net positions.

Target (issue 4): the platform under 1.5 s on 2 cores. Uses its own database
(deltran_bench on the embedded server, or DATABASE_URL's server).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg

# the bench's own database, chosen before deltran reads its settings
os.environ.setdefault("DELTRAN_DATABASE", "deltran_bench")
from deltran import config, db
from deltran.clearing import store
from deltran.warehouse import dbt

CLOSING = datetime(2026, 11, 20, 6, tzinfo=timezone.utc)
CURRENCIES = ("USD", "EUR", "AED", "ILS", "GBP")
TARGET_SECONDS = 1.5

NET_POSITIONS_SQL = """
select participant, currency, sum(amount) as net
from (
    select creditor_bic as participant, currency, amount
    from intermediate.int_obligations where own_window_closing = %(t)s
    union all
    select debtor_bic, currency, -amount from intermediate.int_obligations where own_window_closing = %(t)s
) as legs
group by participant, currency
"""


def loaded(conn: psycopg.Connection, count: int, participants: int, seed: int) -> bool:
    """The same data is already there from an earlier run (loading takes longer than the bench)."""
    found = (
        conn.execute("select obj_description('intermediate.int_obligations'::regclass)").fetchone()
        if conn.execute("select to_regclass('intermediate.int_obligations')").fetchone()[0]
        else None
    )
    return bool(found) and found[0] == f"bench {count} {participants} {seed}"


def load(conn: psycopg.Connection, count: int, participants: int, seed: int) -> None:
    # the model's own table: built by dbt on this database's raw tables, which the bench leaves empty
    conn.commit()  # nothing of ours open while dbt replaces the table
    dbt.run_model("int_obligations", config.load())
    conn.execute("truncate intermediate.int_obligations")
    rng = random.Random(seed)
    banks = [f"BK{chr(65 + n // 26)}{chr(65 + n % 26)}AE2LXXX" for n in range(participants)]  # well-formed BICs
    received = (CLOSING - timedelta(hours=7)).isoformat()
    with (
        conn.cursor() as cur,
        cur.copy(
            "copy intermediate.int_obligations (obligation_id, obligation_kind, debtor_bic, creditor_bic, currency,"
            " amount, accepted_at, received_at, original_transfer_id, own_window_closing, is_clearable) from stdin"
        ) as copy,
    ):
        buffer = io.StringIO()
        for n in range(count):
            debtor, creditor = rng.sample(banks, 2)
            cents = rng.randint(100, 50_000_000)
            accepted = (CLOSING - timedelta(seconds=rng.randint(0, 6 * 3600 - 1))).isoformat()
            buffer.write(
                f"o{n}\ttransfer\t{debtor}\t{creditor}\t{CURRENCIES[n % 5]}\t{cents // 100}.{cents % 100:02d}"
                f"\t{accepted}\t{received}\t\\N\t{CLOSING.isoformat()}\tt\n"
            )
            if n % 50_000 == 49_999:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    conn.execute("analyze intermediate.int_obligations")
    conn.execute(f"comment on table intermediate.int_obligations is 'bench {count} {participants} {seed}'")
    conn.commit()


def forget_window(conn: psycopg.Connection) -> None:
    """Untimed: the window as never cleared, so each timed run is a first run (it records what it nets)."""
    conn.execute("delete from clearing.window_pair_totals where window_closing = %s", (CLOSING,))
    conn.execute("delete from clearing.windows where window_closing = %s", (CLOSING,))
    conn.commit()


def timed(fn, repeat: int, before=None) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        if before:
            before()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--obligations", type=int, default=1_000_000)
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the median is reported")
    parser.add_argument("--seed", type=int, default=20261120)
    args = parser.parse_args(argv)

    # the warehouse first (embedded server of this checkout, or DATABASE_URL),
    # then a temporary home so the pacs.009 outbox goes to a temp folder
    os.environ["DATABASE_URL"] = db.database_url()
    with tempfile.TemporaryDirectory() as home:
        os.environ["DELTRAN_HOME"] = home
        settings = config.load()
        with db.connect() as conn:
            db.ensure_schema(conn)
            if not loaded(conn, args.obligations, args.participants, args.seed):
                print(
                    f"loading {args.obligations:,} obligations ({args.participants} participants, 5 currencies) ...",
                    flush=True,
                )
                load(conn, args.obligations, args.participants, args.seed)
            group_by, rows = timed(lambda: conn.execute(NET_POSITIONS_SQL, {"t": CLOSING}).fetchall(), args.repeat)
            conn.commit()
            platform, summary = timed(
                lambda: store.clear_window(conn, CLOSING, settings, caps={}), args.repeat, lambda: forget_window(conn)
            )
            rerun, _ = timed(lambda: store.clear_window(conn, CLOSING, settings, caps={}), args.repeat)
            positions = {(p, c): n for p, c, n in rows}
            stored = {
                (p, c): n
                for p, c, n in conn.execute(
                    "select participant, currency, net_amount from clearing.positions where window_closing = %s",
                    (CLOSING,),
                )
            }
            files = sorted(Path(home, "var", "outbox").rglob("*.xml"))
    if positions != stored:
        print("MISMATCH: the platform's net positions differ from the plain GROUP BY", file=sys.stderr)
        return 1
    instructions = sum(c["instructions"] for c in summary["currencies"].values())
    print()
    print(f"{'figure':<58} {'seconds':>9}")
    print(f"{'plain SQL GROUP BY net positions (the limit)':<58} {group_by:>9.3f}")
    print(f"{'clear_window: query -> netting -> rows + pacs.009 written':<58} {platform:>9.3f}")
    print(f"{'ratio platform / plain GROUP BY':<58} {platform / group_by:>9.2f}")
    print(f"{'re-run of the cleared window (recorded pair totals)':<58} {rerun:>9.3f}")
    print(f"{'target':<58} {TARGET_SECONDS:>9.3f}  {'PASS' if platform < TARGET_SECONDS else 'FAIL'}")
    print(
        f"positions equal to the GROUP BY's: yes ({len(stored)}); instructions: {instructions}; "
        f"pacs.009 files: {len(files)}"
    )
    print(
        "efficiency per currency: "
        + ", ".join(f"{c} {Decimal(v['efficiency']) * 100:.2f} %" for c, v in summary["currencies"].items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
