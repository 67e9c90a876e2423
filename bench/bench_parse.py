"""How fast and how lean the camt reader is on a big statement.

    python bench/bench_parse.py [--entries N] [--details N] [--files K] [--workdir DIR]

Writes (once; reused while present) a camt.053 of N entries, each with
TxDtls, UETR and EndToEndId, through ``parsers.writers``. Then measures in one
run: the reader's peak RSS in a fresh process (target < 200 MB), the reader's
entries/second through ``iter_records`` (every record consumed, every field
extracted), and beside it two references over the same file: lxml
``iterparse`` filtered to ``Ntry`` (each cleared and dropped, nothing
extracted: what no Python reader can beat; target: the reader at >= 50 % of
it) and bare ``iterparse`` (every end event cleared; target >= 60 %).

``--files K`` (default 10, 0 to skip) also splits the same N entries over K
files, a batch as ingest takes it, and measures the reader on them with one
worker process per core (``DELTRAN_INGEST_WORKERS``'s default, pool start-up
included) beside the Ntry-only reference reading the same files in one
process: the issue allows a batch's files to be parsed in parallel where one
core is not enough. Both figures are printed; the one-core ratio stays the
reader's own.

``--details N`` also writes one batch entry with N transaction details and
measures the reader's peak RSS on it (target < 200 MB): the details are
streamed in parts, never held. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runs from a checkout, installed or not

from lxml import etree  # noqa: E402

from deltran import config  # noqa: E402
from parsers import iter_records  # noqa: E402
from parsers.detect import release  # noqa: E402
from parsers.records import (  # noqa: E402
    Balance,
    Entry,
    Finding,
    Statement,
    TransactionDetails,
)
from parsers.writers import ISO_NAMESPACE, write_bank_to_customer  # noqa: E402

RATIO_TARGET = 0.60  # of bare iterparse
FILTERED_TARGET = 0.50  # of iterparse filtered to Ntry
RSS_TARGET_MB = 200
_MEASURE_RSS = """
import resource, sys
from parsers import iter_records
for _ in iter_records(sys.argv[1]):
    pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _amount(index: int) -> tuple[Decimal, str]:
    """Deterministic amounts, so the balances can be computed without a second pass."""
    return Decimal(1 + (index * 7919) % 1_000_000) / 100, "DBIT" if index % 3 == 0 else "CRDT"


def _entries(count: int, day: date) -> Iterator[Entry]:
    random = Random(20)
    for index in range(count):
        amount, direction = _amount(index)
        uetr = str(uuid.UUID(int=random.getrandbits(128), version=4))
        yield Entry(
            "camt.053",
            "BENCH",
            "BENCH-1",
            None,
            None,
            amount,
            "EUR",
            direction,
            status="BOOK",
            booking_date=day,
            value_date=day,
            acct_svcr_ref=f"REF{index:09d}",
            bank_tx_code="PMNT/RCDT/ESCT" if direction == "CRDT" else "PMNT/ICDT/ESCT",
            transactions=[
                TransactionDetails(
                    end_to_end_id=f"E2E{index:012d}",
                    uetr=uetr,
                    tx_id=f"TX{index:010d}",
                    amount=amount,
                    currency="EUR",
                    credit_debit=direction,
                    debtor_name="Debtor Bank Customer",
                    debtor_account="DE89370400440532013000",
                    creditor_name="Creditor Customer",
                    creditor_account="NL91ABNA0417164300",
                    remittance_info=f"Invoice {index}",
                )
            ],
        )


def generate(path: Path, count: int) -> None:
    day = date(2024, 3, 1)
    credits = debits = Decimal(0)
    credit_count = 0
    for index in range(count):
        amount, direction = _amount(index)
        if direction == "CRDT":
            credits += amount
            credit_count += 1
        else:
            debits += amount
    opening = Decimal("1000000.00")
    closing = opening + credits - debits
    statement = Statement(
        "camt.053",
        "BENCH",
        "BENCH-1",
        "DE89370400440532013000",
        "EUR",
        created_at=datetime(2024, 3, 2, 6, 0, tzinfo=timezone.utc),
        electronic_seq_nb=1,
        summary_entry_count=count,
        summary_credit_count=credit_count,
        summary_credit_sum=credits,
        summary_debit_count=count - credit_count,
        summary_debit_sum=debits,
    )
    balances = [
        Balance("camt.053", "BENCH", "BENCH-1", None, "OPBD", opening, "EUR", "CRDT", date=day - timedelta(days=1)),
        Balance(
            "camt.053",
            "BENCH",
            "BENCH-1",
            None,
            "CLBD",
            abs(closing),
            "EUR",
            "CRDT" if closing >= 0 else "DBIT",
            date=day,
        ),
    ]
    partial = path.with_suffix(".partial")
    write_bank_to_customer(
        partial, "camt.053", "BENCH", statement.created_at, [(statement, balances, _entries(count, day))]
    )
    partial.replace(path)


def generate_batch(path: Path, details: int) -> None:
    """One statement, one CRDT entry of ``details`` transaction details of 1.00 EUR each."""
    day = date(2024, 3, 1)
    total = Decimal(details)
    statement = Statement("camt.053", "BATCH", "BATCH-1", "DE89370400440532013000", "EUR", electronic_seq_nb=1)
    balances = [
        Balance("camt.053", "BATCH", "BATCH-1", None, "OPBD", Decimal(0), "EUR", "CRDT", date=day),
        Balance("camt.053", "BATCH", "BATCH-1", None, "CLBD", total, "EUR", "CRDT", date=day),
    ]

    class Details(list):  # the writer iterates it; nothing is held
        def __iter__(self):
            for index in range(details):
                yield TransactionDetails(
                    end_to_end_id=f"E2E{index:012d}", amount=Decimal("1.00"), currency="EUR", credit_debit="CRDT"
                )

        def __bool__(self) -> bool:
            return details > 0

    entry = Entry("camt.053", "BATCH", "BATCH-1", None, None, total, "EUR", "CRDT", status="BOOK", booking_date=day)
    entry.transactions = Details()
    partial = path.with_suffix(".partial")
    write_bank_to_customer(
        partial, "camt.053", "BATCH", datetime(2024, 3, 2, tzinfo=timezone.utc), [(statement, balances, [entry])]
    )
    partial.replace(path)


def _entries_read(path: str) -> int:
    """Read one file whole (every record consumed, every field extracted); its entries.

    A worker's job too (batch_reader_rate): what ingest's workers do with a file.
    """
    entries = 0
    for record in iter_records(path):
        if isinstance(record, Entry):
            entries += 1
        elif isinstance(record, Finding):
            raise SystemExit(f"reader gave a finding on {path}, expected none: {record}")
    return entries


def reader_rate(path: Path, count: int) -> float:
    started = time.perf_counter()
    entries = _entries_read(str(path))
    elapsed = time.perf_counter() - started
    if entries != count:
        raise SystemExit(f"reader gave {entries} entries, expected {count}")
    return count / elapsed


def batch_reader_rate(paths: list[Path], count: int, workers: int) -> float:
    """Entries/s of the reader over a batch of files on ``workers`` processes (start-up included)."""
    started = time.perf_counter()
    # spawn, as ingest: a fresh interpreter per worker, whatever the caller holds
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        entries = sum(pool.map(_entries_read, [str(path) for path in paths]))
    elapsed = time.perf_counter() - started
    if entries != count:
        raise SystemExit(f"reader gave {entries} entries over the batch, expected {count}")
    return count / elapsed


def bare_rate(path: Path, count: int) -> float:
    started = time.perf_counter()
    for _, element in etree.iterparse(str(path), events=("end",)):
        element.clear()
    return count / (time.perf_counter() - started)


def parse_only_rate(paths: Path | list[Path], count: int) -> float:
    tag = f"{{{ISO_NAMESPACE}camt.053.001.08}}Ntry"
    started = time.perf_counter()
    for path in [paths] if isinstance(paths, Path) else paths:
        for _, element in etree.iterparse(str(path), events=("end",), tag=tag):
            release(element)
    return count / (time.perf_counter() - started)


def peak_rss_mb(path: Path) -> float:
    """Run first: Linux keeps ru_maxrss across fork and exec, so a child started
    after this process had grown would report this process's peak, not its own."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_RSS, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    return int(done.stdout.strip()) / 1024  # ru_maxrss is in KiB on Linux


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--write-batch"]:
        generate_batch(Path(argv[1]), int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--details", type=int, default=0, help="also measure one batch entry of N details")
    parser.add_argument("--files", type=int, default=10, help="also read the entries split over K files in parallel")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "deltran-bench")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"camt053_{args.entries}.xml"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.entries)
        print(
            f"wrote {path} ({path.stat().st_size >> 20} MB) in {time.perf_counter() - started:.0f} s", file=sys.stderr
        )

    parts: list[Path] = []
    if args.files:
        per_file = args.entries // args.files
        for index in range(args.files):
            part = args.workdir / f"camt053_{args.entries}_part{index + 1}of{args.files}.xml"
            if not part.exists():
                generate(part, per_file)
            parts.append(part)

    batch_rss = None
    if args.details:
        batch = args.workdir / f"camt053_batch_{args.details}.xml"
        if not batch.exists():
            # in a child: the writer holds the entry's tree, and Linux would pass
            # this process's grown peak on to the reader's measuring child
            subprocess.run([sys.executable, __file__, "--write-batch", str(batch), str(args.details)], check=True)
        batch_rss = (batch, peak_rss_mb(batch))

    rss = peak_rss_mb(path)
    bare = bare_rate(path, args.entries)
    parse_only = parse_only_rate(path, args.entries)
    reader = reader_rate(path, args.entries)
    ratio = reader / bare
    filtered = reader / parse_only
    rows = [
        ("file", f"{path.stat().st_size >> 20} MB, {args.entries:,} entries", "", ""),
        ("reader (iter_records)", f"{reader:,.0f} entries/s", "", ""),
        ("iterparse, Ntry only", f"{parse_only:,.0f} entries/s", "", ""),
        ("bare lxml iterparse", f"{bare:,.0f} entries/s", "", ""),
        (
            "reader / Ntry-only",
            f"{filtered:.0%}",
            f">= {FILTERED_TARGET:.0%}",
            "pass" if filtered >= FILTERED_TARGET else "FAIL",
        ),
        ("reader / bare", f"{ratio:.0%}", f">= {RATIO_TARGET:.0%}", "pass" if ratio >= RATIO_TARGET else "FAIL"),
        ("reader peak RSS", f"{rss:.0f} MB", f"< {RSS_TARGET_MB} MB", "pass" if rss < RSS_TARGET_MB else "FAIL"),
    ]
    if parts:
        workers = config.load().ingest_workers  # DELTRAN_INGEST_WORKERS, default one per core up to 2
        per_file = args.entries // args.files
        batch_count = per_file * args.files
        batch_reference = parse_only_rate(parts, batch_count)
        batch_reader = batch_reader_rate(parts, batch_count, workers)
        batch_filtered = batch_reader / batch_reference
        rows += [
            ("batch", f"{args.files} files of {per_file:,} entries", "", ""),
            (f"reader, {workers} processes", f"{batch_reader:,.0f} entries/s", "", ""),
            ("iterparse, Ntry only", f"{batch_reference:,.0f} entries/s", "", ""),
            (
                "batch / Ntry-only",
                f"{batch_filtered:.0%}",
                f">= {FILTERED_TARGET:.0%}",
                "pass" if batch_filtered >= FILTERED_TARGET else "FAIL",
            ),
        ]
    if batch_rss is not None:
        batch, batch_peak = batch_rss
        rows.append(
            (
                f"one entry, {args.details:,} details",
                f"{batch.stat().st_size >> 20} MB, peak RSS {batch_peak:.0f} MB",
                f"< {RSS_TARGET_MB} MB",
                "pass" if batch_peak < RSS_TARGET_MB else "FAIL",
            )
        )
    for figure, value, target, result in rows:
        print(f"{figure:<24}{value:>34}  {target:<12}{result}")
    return 0 if all(result != "FAIL" for *_, result in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
