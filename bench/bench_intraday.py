"""make bench-intraday: an intraday (tier 2) run with 10,000 new camt.054 notifications.

The six demo registry accounts have their morning camt.052 (the anchor) and a
ledger with one posting per notified entry already loaded. Then 10,000 new
notified entries arrive (100 camt.054 files of 100 entries) and one intraday
run takes them: ingest (parse + COPY, one transaction per file) and the tier-2
check of every registry account at the cut-off (balances at the cut-off, the
threshold suite, the breaker, the cut-off's partition written).

Measured in one run, on the same files:

- the intraday run's task time: ``pipeline.ingest_files`` + ``pipeline.check_intraday``;
- the limit: the bare parse + COPY of the same notifications (every record
  parsed and COPYed into a scratch table, nothing else).

Target (issue 7): the intraday run under 15 s. Uses its own database
(deltran_bench_intraday on the embedded server, or DATABASE_URL's server).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("DELTRAN_DATABASE", "deltran_bench_intraday")
os.environ.setdefault("DELTRAN_HOME", tempfile.mkdtemp(prefix="deltran-bench-intraday-"))

import psycopg
from psycopg import sql

import parsers
from deltran import config, db, pipeline
from deltran.demo.reference import ACCOUNTS
from deltran.ledger import FIELDS
from parsers.records import Balance, Entry, Statement, TransactionDetails
from parsers.writers import write_bank_to_customer

UTC = timezone.utc
START = datetime(2026, 11, 20, tzinfo=UTC)
CUTOFF = START + timedelta(hours=12)
FILES, PER_FILE = 100, 100
TARGET_SECONDS = 15.0
OPENING = Decimal("25000000.00")


def fresh_database(settings: config.Settings) -> str:
    admin = db._embedded_url(settings.pgdata, "postgres") if not settings.database_url else settings.database_url
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(settings.database_name)))
        db.create_database(conn, settings.database_name)
    parts = conninfo_to_dict(admin)
    parts["dbname"] = settings.database_name
    url = make_conninfo(**parts)
    os.environ["DATABASE_URL"] = url
    return url


def write_files(folder: Path, rng: random.Random) -> tuple[list[Path], list[Path]]:
    """(what is there before the run: reports + ledger, the 100 new notification files)."""
    before: list[Path] = []
    ledger_rows = [",".join(FIELDS)]
    for account in ACCOUNTS:
        mid, sid = f"R{account.key}", f"R-{account.iban}"
        anchor = START + timedelta(minutes=5)
        header = Statement("camt.052", mid, sid, account.iban, account.currency, account.bank.bic, anchor)
        balances = [
            Balance("camt.052", mid, sid, account.iban, "ITBD", OPENING, account.currency, "CRDT", date_time=anchor)
        ]
        path = folder / f"camt052_{account.key}.xml"
        write_bank_to_customer(path, "camt.052", mid, anchor, [(header, balances, [])])
        before.append(path)
        ledger_rows.append(
            f"OPEN{account.key},JOPEN{account.key},{account.iban},{OPENING},{account.currency},D,"
            f"{START.isoformat()},{START.date()},opening,,,,opening balance"
        )
    notifications: list[Path] = []
    number = 0
    for f in range(FILES):
        account = ACCOUNTS[f % len(ACCOUNTS)]
        created = START + timedelta(hours=1) + timedelta(seconds=f * 300)
        mid, sid = f"N{f:04d}", f"N-{f:04d}-{account.iban}"
        entries = []
        for i in range(PER_FILE):
            number += 1
            booked = created - timedelta(seconds=PER_FILE - i)
            amount = Decimal(rng.randint(100, 500_000)) / 100
            side = "CRDT" if rng.random() < 0.5 else "DBIT"
            uetr = f"{number:08x}-0000-4000-8000-{number:012x}"
            ref = f"B{number:09d}"
            entries.append(
                Entry(
                    "camt.054",
                    mid,
                    sid,
                    account.iban,
                    account.currency,
                    amount,
                    account.currency,
                    side,
                    status="BOOK",
                    booking_date=booked.date(),
                    booking_date_time=booked,
                    value_date=booked.date(),
                    acct_svcr_ref=ref,
                    entry_index=i,
                    transactions=[TransactionDetails(uetr=uetr, acct_svcr_ref=ref)],
                )
            )
            ledger_side = "D" if side == "CRDT" else "C"
            ledger_rows.append(
                f"L{number:09d},J{number:09d},{account.iban},{amount},{account.currency},{ledger_side},"
                f"{(booked + timedelta(seconds=30)).isoformat()},{booked.date()},deposit,{uetr},,{ref},"
            )
        header = Statement("camt.054", mid, sid, account.iban, account.currency, account.bank.bic, created)
        path = folder / f"camt054_{f:04d}.xml"
        write_bank_to_customer(path, "camt.054", mid, created, [(header, [], entries)])
        notifications.append(path)
    ledger = folder / "ledger.csv"
    ledger.write_text("\n".join(ledger_rows) + "\n")
    # the ledger's contra side keeps every journal balanced
    text = ledger.read_text().splitlines()
    contra = [text[0]]
    for line in text[1:]:
        cells = line.split(",")
        contra.append(line)
        cells[0], cells[2], cells[5] = cells[0] + "X", "LIAB:CLIENT:" + cells[4], "C" if cells[5] == "D" else "D"
        contra.append(",".join(cells))
    ledger.write_text("\n".join(contra) + "\n")
    before.append(ledger)
    return before, notifications


def bare_parse_and_copy(url: str, files: list[Path]) -> float:
    """Every record of the files parsed and COPYed into a scratch table: the floor of any ingest."""
    started = time.perf_counter()
    columns = parsers.ROW_FIELDS["entry"]
    with psycopg.connect(url) as conn:
        conn.execute("create temporary table scratch_entries (like raw.bank_entries including defaults)")
        with conn.cursor() as cur:
            for path in files:
                with cur.copy(
                    sql.SQL("copy scratch_entries ({}) from stdin").format(
                        sql.SQL(", ").join(sql.Identifier(c) for c in ("file_id",) + columns)
                    )
                ) as copy:
                    for record in parsers.iter_records(path):
                        for row in parsers.to_rows(record):
                            if row["record"] == "entry":
                                copy.write_row((0,) + tuple(row.get(c) for c in columns))
        conn.rollback()
    return time.perf_counter() - started


def main() -> int:
    settings = config.load()
    url = fresh_database(settings)
    settings = config.load()
    folder = Path(tempfile.mkdtemp(prefix="intraday-files-"))
    before, notifications = write_files(folder, random.Random(7))
    settings.inbox.mkdir(parents=True, exist_ok=True)
    for path in before:
        shutil.copy(path, settings.inbox / path.name)
    print(f"bench-intraday: database {settings.database_name}; loading the morning (reports, ledger) ...", flush=True)
    pipeline.ingest_files(settings)
    pipeline.check_intraday(START + timedelta(minutes=30), "bench-warmup", settings)  # seed, GX imports
    limit = bare_parse_and_copy(url, notifications)

    for path in notifications:
        shutil.copy(path, settings.inbox / path.name)
    started = time.perf_counter()
    ingested = pipeline.ingest_files(settings)
    ingest_seconds = time.perf_counter() - started
    checked = pipeline.check_intraday(CUTOFF, "bench-intraday", settings)
    total = time.perf_counter() - started
    with psycopg.connect(url) as conn:
        entries = conn.execute("select count(*) from raw.bank_entries where message_type = 'camt.054'").fetchone()[0]
        notified = conn.execute(
            "select sum(notified_entries) from tiers.intraday_checks where cutoff_at = %s", (CUTOFF,)
        ).fetchone()[0]
    assert len(ingested["loaded"]) == FILES and entries == FILES * PER_FILE and notified == FILES * PER_FILE
    print(
        f"intraday run with {FILES * PER_FILE:,} new notified entries ({FILES} camt.054 files), "
        f"{len(checked['levels'])} accounts checked:"
    )
    print(
        f"  the platform: {total:.2f} s task time (ingest {ingest_seconds:.2f} s + tier-2 check "
        f"{total - ingest_seconds:.2f} s)"
    )
    print(f"  limit, same run: bare parse + COPY of the same notifications: {limit:.2f} s")
    print(f"  target: < {TARGET_SECONDS:.0f} s: {'met' if total < TARGET_SECONDS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
