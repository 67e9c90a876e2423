"""``deltran parse FILE [--format jsonl|csv]``: the rows ingest would load, on stdout.

Rows are exactly ``to_rows`` of each record (the raw tables' columns), plus
``record`` naming the kind. JSON lines keep every amount as a string holding
the decimal as the file wrote it ('100.50' stays '100.50'); dates and times are
ISO 8601 (with the file's offset where it gave one). CSV has a single header:
``record`` and the union of the fields of the record kinds the message can
produce, in ``ROW_FIELDS`` order; a field a kind does not have is empty.

Exit status: 0 when the whole file was read, 2 when it could not be (the
ParseError, naming file, line and element, goes to stderr). Rows already
printed before a late error belong to a failed file and must be discarded.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, Callable, Iterable, TextIO

from parsers.errors import ParseError
from parsers.records import ROW_FIELDS, Record, to_rows
from parsers.registry import read_message, reader_for

# record kinds each message type produces: the CSV header is their fields' union
KINDS = {
    "camt.052": ("statement", "balance", "entry", "finding"),
    "camt.053": ("statement", "balance", "entry", "finding"),
    "camt.054": ("statement", "balance", "entry", "finding"),
    "pacs.008": ("payment",),
    "pacs.009": ("payment",),
    "pain.001": ("payment",),
    "pacs.002": ("status",),
    "pain.002": ("status",),
    "pacs.004": ("return",),
}
_PROGRESS_MIN_BYTES = 50 * 1024 * 1024
_PROGRESS_EVERY = 10_000  # records between progress updates


def main(argv: list[str] | None = None) -> int:
    """``argv`` is what follows ``deltran parse``: FILE [--format jsonl|csv]."""
    parser = argparse.ArgumentParser(prog="deltran parse", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="camt.052/053/054, pacs.008/009/002/004 or pain.001/002 XML")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    args = parser.parse_args(argv)
    try:
        with open(args.file, "rb") as handle:
            info, records = read_message(handle)  # one reading: detected once, then read on
            reader_for(info, args.file)  # refuse a message not taken before any output
            size = os.fstat(handle.fileno()).st_size
            show_progress = sys.stderr.isatty() and size >= _PROGRESS_MIN_BYTES
            rows = _rows(records, _progress(handle, size) if show_progress else None)
            if args.format == "csv":
                _write_csv(rows, KINDS[info.message_type], sys.stdout)
            else:
                _write_jsonl(rows, sys.stdout)
        sys.stdout.flush()
    except ParseError as exc:
        print(f"deltran parse: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # e.g. `| head`: the reader has gone
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        print(f"deltran parse: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _rows(records: Iterable[Record], progress: Callable[[int], None] | None) -> Iterable[dict]:
    for count, record in enumerate(records, 1):
        yield from to_rows(record)
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(count)
    if progress is not None:
        progress(-1)


def _progress(handle: BinaryIO, size: int) -> Callable[[int], None]:
    def show(count: int) -> None:
        if count < 0:
            sys.stderr.write("\n")
            return
        done = handle.tell()
        sys.stderr.write(f"\r{done * 100 // size:3d}% {done >> 20}/{size >> 20} MB, {count:,} records")
        sys.stderr.flush()

    return show


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _write_jsonl(rows: Iterable[dict], out: TextIO) -> None:
    for row in rows:
        out.write(json.dumps({key: _json_value(value) for key, value in row.items()}, ensure_ascii=False))
        out.write("\n")


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _write_csv(rows: Iterable[dict], kinds: Iterable[str], out: TextIO) -> None:
    columns = ["record"]
    for kind in kinds:
        columns.extend(name for name in ROW_FIELDS[kind] if name not in columns)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(name)) for name in columns])


if __name__ == "__main__":
    sys.exit(main())
