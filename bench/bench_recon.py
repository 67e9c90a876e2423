"""End of day at scale: files in the inbox -> raw -> marts built -> checks run.

    python bench/bench_recon.py [--entries N] [--accounts A] [--workdir DIR]

Writes (once; reused while present) one business day: N bank movements over A
EMI accounts in 10 camt.053 files (one per bank, one statement per account) and
the ledger export with N postings on those accounts (journals of ten postings,
balanced by a client-liability line, plus the opening journal). 20 % of the
movements share no reference with their posting (no UETR, EndToEndId or bank
reference: the suggested-match pass; half of them carry a structured creditor
reference on both sides); the others carry a UETR. 1 % are faults:
a movement the ledger lacks, a posting the bank lacks, an amount off by 0.01, a
movement booked twice.

Then, on a fresh database of the embedded PostgreSQL (or DATABASE_URL's server),
it runs what the eod_reconciliation DAG runs, timing each stage: ingest (parse,
hash, COPY), the daily run's `dbt build` (the business date's partition of
every model the eod_reconciliation DAG builds, with their data tests: the
selector daily_reconciliation, deltran.pipeline.DAILY_SELECTION), the Great Expectations
checkpoint and breaker. Beside it, the limit, on the same files and rows: bare
lxml iterparse of the camt.053 files (every end event cleared, nothing
extracted), PostgreSQL COPY of the same rows into plain tables, and one
hand-written SQL join of the two on UETR. Targets: <= 60 s in all, within 3x of
the limit. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runs from a checkout, installed or not

from lxml import etree  # noqa: E402 (after the sys.path line above)

from parsers.records import Balance, Entry, Statement, TransactionDetails  # noqa: E402
from parsers.writers import write_bank_to_customer  # noqa: E402

DAY = date(2026, 11, 20)
BANKS = 10
CURRENCIES = ("EUR", "USD", "GBP")
NO_REFERENCE_EVERY = 5  # 20 %
FAULT_EVERY = 100  # 1 %
JOURNAL_SIZE = 10
TOTAL_TARGET_S = 60.0
RATIO_TARGET = 3.0
OPENING = Decimal("1000000.00")


def _account(n: int) -> tuple[str, str, str]:
    """(account id, currency, servicing bank BIC) of account n."""
    return f"BENCH{n:06d}", CURRENCIES[n % len(CURRENCIES)], f"BNK{n % BANKS:02d}XXXXXX"[:8] + "XXX"


def _movements(n: int, per_account: int, rng: Random):
    """Account n's movements: (index, amount, direction, uetr, counterparty, fault)."""
    for i in range(per_account):
        k = n * per_account + i
        amount = Decimal(1000 + i * 1009 + n % 97) / 100  # distinct within the account
        direction = "DBIT" if k % 3 == 0 else "CRDT"
        no_reference = i % NO_REFERENCE_EVERY == 0
        uetr = None if no_reference else str(uuid.UUID(int=rng.getrandbits(128), version=4))
        fault = None
        if i % FAULT_EVERY == 1:
            fault = ("bank_only", "ledger_only", "amount", "duplicate")[(k // FAULT_EVERY) % 4]
        yield i, amount, direction, uetr, f"Client {k % 5000}", fault


def generate(store: Path, entries: int, accounts: int) -> dict:
    """Write the day's files into ``store``; returns the counts."""
    store.mkdir(parents=True, exist_ok=True)
    per_account = entries // accounts
    rng = Random(7)
    by_bank: dict[str, list] = {}
    ledger_rows: list[tuple] = []
    bank_count = ledger_count = 0
    created = datetime.combine(DAY + timedelta(days=1), clock(1), UTC)
    eve = datetime.combine(DAY - timedelta(days=1), clock(23, 59, 59), UTC)
    journal = 0
    for n in range(accounts):
        iban, ccy, bic = _account(n)
        journal += 1
        ledger_rows.append(
            (f"OP{n:06d}", f"JO{n:06d}", iban, OPENING, ccy, "D", eve, DAY - timedelta(days=1), "opening")
        )
        ledger_rows.append((f"OQ{n:06d}", f"JO{n:06d}", f"LIAB:CLIENT:{ccy}", OPENING, ccy, "C", eve, None, "opening"))
        entries_of_account: list[Entry] = []
        postings: list[tuple] = []
        for i, amount, direction, uetr, client, fault in _movements(n, per_account, rng):
            ref = f"{bic[:5]}{n:06d}{i:06d}"
            booked = datetime.combine(DAY, clock(8), UTC) + timedelta(seconds=i * 30)
            bank_amount = amount - Decimal("0.01") if fault == "amount" else amount
            # half the movements without a reference carry a structured creditor reference on both sides
            creditor_ref = f"RF{n:06d}{i:06d}" if uetr is None and i % 2 == 0 else None
            entry = Entry(
                "camt.053", f"M{bic}", f"S{iban}", iban, ccy, bank_amount, ccy, direction,
                status="BOOK", booking_date=DAY, value_date=DAY, acct_svcr_ref=ref,
                bank_tx_code="PMNT/RCDT/ESCT" if direction == "CRDT" else "PMNT/ICDT/ESCT",
                transactions=[
                    TransactionDetails(
                        end_to_end_id=f"E{n:06d}{i:06d}" if uetr else None, uetr=uetr,
                        acct_svcr_ref=ref,
                        debtor_name=client if direction == "CRDT" else "DelTran EMI",
                        creditor_name="DelTran EMI" if direction == "CRDT" else client,
                        remittance_info=f"Invoice {n}-{i}",
                        creditor_reference=creditor_ref,
                    )
                ],
            )  # fmt: skip
            if fault != "ledger_only":
                entries_of_account += [entry, entry] if fault == "duplicate" else [entry]
            if fault != "bank_only":
                postings.append(
                    (amount, direction, uetr, f"E{n:06d}{i:06d}" if uetr else None, client, booked, creditor_ref)
                )
        for start in range(0, len(postings), JOURNAL_SIZE):
            journal += 1
            chunk = postings[start : start + JOURNAL_SIZE]
            net = Decimal(0)
            for j, (amount, direction, uetr, e2e, client, booked, creditor_ref) in enumerate(chunk):
                side = "D" if direction == "CRDT" else "C"
                net += amount if side == "D" else -amount
                ledger_rows.append(
                    (f"L{n:06d}{start + j:06d}", f"J{journal:08d}", iban, amount, ccy, side,
                     booked, DAY, "deposit" if side == "D" else "withdrawal", uetr, e2e, None,
                     f"client {client}", client if uetr is None else None, creditor_ref)
                )  # fmt: skip
            if net:
                ledger_rows.append(
                    (f"B{journal:08d}", f"J{journal:08d}", f"LIAB:CLIENT:{ccy}", abs(net), ccy,
                     "C" if net > 0 else "D", chunk[-1][5], DAY, "transfer")
                )  # fmt: skip
        ledger_count += len(postings)
        bank_count += len(entries_of_account)
        signed = sum(e.amount if e.credit_debit == "CRDT" else -e.amount for e in entries_of_account)
        closing = OPENING + signed
        credits = [e.amount for e in entries_of_account if e.credit_debit == "CRDT"]
        debits = [e.amount for e in entries_of_account if e.credit_debit == "DBIT"]
        header = Statement(
            "camt.053", f"M{bic}", f"S{iban}", iban, ccy, bic, created,
            datetime.combine(DAY, clock(), UTC), datetime.combine(DAY, clock(23, 59, 59), UTC), 1000, 1000,
            len(entries_of_account), len(credits), sum(credits), len(debits), sum(debits),
        )  # fmt: skip
        balances = [
            Balance("camt.053", f"M{bic}", f"S{iban}", iban, "OPBD", OPENING, ccy, "CRDT", date=DAY),
            Balance(
                "camt.053", f"M{bic}", f"S{iban}", iban, "CLBD", abs(closing), ccy,
                "CRDT" if closing >= 0 else "DBIT", date=DAY,
            ),
        ]  # fmt: skip
        entries_of_account = [dataclasses.replace(e, entry_index=k) for k, e in enumerate(entries_of_account)]
        by_bank.setdefault(bic, []).append((header, balances, entries_of_account))
    for bic, statements in sorted(by_bank.items()):
        write_bank_to_customer(store / f"camt053_{bic}_{DAY}.xml", "camt.053", f"M{bic}", created, statements)
    from deltran.ledger import FIELDS

    with (store / f"ledger_{DAY}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in ledger_rows:
            row = list(row) + [None] * (len(FIELDS) - len(row))
            row[3] = format(row[3], "f")
            row[6] = row[6].strftime("%Y-%m-%dT%H:%M:%SZ")
            row[7] = row[7].isoformat() if row[7] else ""
            writer.writerow(["" if v is None else v for v in row])
    counts = {"bank_entries": bank_count, "ledger_postings": ledger_count, "ledger_lines": len(ledger_rows)}
    (store / "counts.json").write_text(json.dumps(counts))
    return counts


def _fresh_database() -> str:
    """A new empty warehouse database; returns its URL."""
    import psycopg
    from psycopg import sql

    from deltran import config, db

    settings = config.load()
    admin = settings.database_url or db._embedded_url(settings.pgdata, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(settings.database_name)))
    db._embedded_url.cache_clear()
    url = db.database_url(settings) if not settings.database_url else admin
    with psycopg.connect(url) as conn:
        db.ensure_schema(conn)
    return url


def _timed(label: str, results: dict, fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    results[label] = time.perf_counter() - started
    print(f"  {label:<44} {results[label]:8.2f} s", flush=True)
    return value


def bare_iterparse(paths: list[Path]) -> int:
    events = 0
    for path in paths:
        for _, element in etree.iterparse(str(path), events=("end",)):
            element.clear()
            events += 1
    return events


def limit_copy_and_join(url: str, bank_rows: Path, ledger_csv: Path, results: dict) -> int:
    """COPY the same rows into plain tables, then one hand-written join on UETR."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists bench_limit cascade")
        conn.execute("create schema bench_limit")
        conn.execute("create table bench_limit.bank (like raw.bank_entries)")
        conn.execute("create table bench_limit.ledger (like raw.ledger_lines including defaults)")
        conn.execute("alter table bench_limit.ledger drop column file_id, drop column line_number")

        def copy(table: str, path: Path, header: bool) -> None:
            with conn.cursor() as cur, path.open("rb") as handle:
                options = "(format csv, header true)" if header else "(format text)"
                with cur.copy(f"copy bench_limit.{table} from stdin {options}") as copier:
                    while data := handle.read(1 << 20):
                        copier.write(data)

        _timed("limit: COPY bank rows", results, copy, "bank", bank_rows, False)
        _timed("limit: COPY ledger rows", results, copy, "ledger", ledger_csv, True)

        def join() -> int:
            conn.execute(
                "create table bench_limit.matched as select b.statement_id, b.entry_index, l.entry_id"
                " from bench_limit.bank as b join bench_limit.ledger as l on l.uetr = b.uetr"
            )
            return conn.execute("select count(*) from bench_limit.matched").fetchone()[0]

        return _timed("limit: SQL join on UETR", results, join)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "deltran-bench-recon")
    args = parser.parse_args()
    home = args.workdir.resolve()
    store = home / f"files-{args.entries}-{args.accounts}"
    os.environ["DELTRAN_HOME"] = str(home)
    os.environ.setdefault("DELTRAN_DATABASE", "bench_recon")

    if not (store / "counts.json").exists():
        print(f"writing {args.entries:,} movements over {args.accounts:,} accounts into {store} (once)", flush=True)
        started = time.perf_counter()
        if store.exists():
            shutil.rmtree(store)
        generate(store, args.entries, args.accounts)
        print(f"  written in {time.perf_counter() - started:.1f} s", flush=True)
    counts = json.loads((store / "counts.json").read_text())
    files = sorted(p for p in store.iterdir() if p.suffix in (".xml", ".csv"))
    size = sum(p.stat().st_size for p in files)
    print(
        f"day: {counts['bank_entries']:,} bank movements, {counts['ledger_postings']:,} ledger postings"
        f" ({counts['ledger_lines']:,} ledger lines) over {args.accounts:,} accounts; {len(files)} files, {size / 1e6:,.0f} MB"
    )

    # the day's accounts are the registry's (the marts reconcile registry accounts only)
    registry = home / f"registry-{args.accounts}"
    registry.mkdir(parents=True, exist_ok=True)
    with (registry / "account_registry.csv").open("w", encoding="utf-8") as handle:
        handle.write("account_id,servicing_bank_bic,currency,opened_on,closed_on,owner\n")
        for n in range(args.accounts):
            iban, ccy, bic = _account(n)
            handle.write(f"{iban},{bic},{ccy},2020-01-01,,bench\n")
    os.environ["DELTRAN_REGISTRY_DIR"] = str(registry)

    from deltran import config, pipeline

    # GX logs a line for every decimal it serialises: thousands of accounts, thousands of lines
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    settings = config.load()
    url = _fresh_database()
    for folder in (settings.inbox, settings.archive, settings.quarantine):
        shutil.rmtree(folder, ignore_errors=True)
    settings.inbox.mkdir(parents=True)
    for path in files:
        os.link(path, settings.inbox / path.name)

    platform: dict[str, float] = {}
    print("the platform (what the eod_reconciliation DAG runs):")
    outcome = _timed("ingest: inbox -> raw (parse, SHA-256, COPY)", platform, pipeline.ingest_files)
    if outcome["quarantined"]:
        raise SystemExit(f"quarantined: {outcome['quarantined']}")
    _timed(
        "dbt build: staging -> matching -> marts + tests",
        platform,
        pipeline.build_marts,
        business_date=DAY,
        run_id="bench-recon",
    )
    _timed("checks: GX checkpoint + breaker", platform, pipeline.check_thresholds, DAY, "bench")
    total = sum(platform.values())

    import psycopg

    with psycopg.connect(url) as conn:
        figures = conn.execute(
            "select sum(bank_movement_count), sum(confirmed_movement_count), sum(suggested_count),"
            " count(*) filter (where unexplained_difference <> 0) from marts.account_reconciliation"
        ).fetchone()
        breaks = conn.execute(
            "select discrepancy_type, count(*) from marts.discrepancies group by 1 order by 1"
        ).fetchall()
        bank_rows = home / "bank_rows.copy"
        with bank_rows.open("wb") as handle, conn.cursor().copy("copy raw.bank_entries to stdout") as copier:
            for data in copier:
                handle.write(data)
    run_results = json.loads((settings.var / "dbt" / "target" / "run_results.json").read_text())
    slowest = sorted(
        ((r["execution_time"], r["unique_id"].split(".")[-1]) for r in run_results["results"]), reverse=True
    )[:6]
    print("  slowest dbt nodes: " + ", ".join(f"{name} {seconds:.1f} s" for seconds, name in slowest))

    limit: dict[str, float] = {}
    print("the limit (same files, same rows):")
    _timed(
        "limit: bare lxml iterparse of the camt.053 files",
        limit,
        bare_iterparse,
        [p for p in files if p.suffix == ".xml"],
    )
    joined = limit_copy_and_join(url, bank_rows, store / f"ledger_{DAY}.csv", limit)
    bank_rows.unlink()
    limit_total = sum(limit.values())

    movements, confirmed, suggested, unexplained = figures
    print(
        f"matching: {confirmed:,} of {movements:,} movements confirmed (auto-match rate {confirmed / movements:.1%}),"
        f" {suggested:,} suggested, {joined:,} pairs by the bare UETR join; accounts with an unexplained difference:"
        f" {unexplained}; breaks: " + ", ".join(f"{t} {n:,}" for t, n in breaks)
    )
    ratio = total / limit_total
    print(
        f"end of day: {total:.1f} s (target <= {TOTAL_TARGET_S:.0f} s: {'met' if total <= TOTAL_TARGET_S else 'MISSED'});"
        f" limit {limit_total:.1f} s; platform / limit = {ratio:.2f}x"
        f" (target <= {RATIO_TARGET:.0f}x: {'met' if ratio <= RATIO_TARGET else 'MISSED'})"
    )
    return 0 if total <= TOTAL_TARGET_S and ratio <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
