"""Reader for the ledger journal export (CSV or JSON Lines).

The internal double-entry ledger exports journal lines, one per line:

    entry_id,journal_id,account,amount,currency,side,booked_at,value_date,kind,
    uetr,end_to_end_id,bank_reference,description[,counterparty_name][,creditor_reference]

``side`` is D or C from the ledger's point of view. An EMI account is an asset
in the ledger, so money arriving at the bank (a CRDT on the statement) is a D
line on that account's IBAN. ``amount`` obeys the rule every amount the
platform reads obeys (``parsers.currencies.parse_amount``): plain unsigned
digits (no exponent notation), a currency in use, no more significant fraction
digits than the currency has, at most 18 digits; ``booked_at`` carries its
time zone. A CSV line with more fields than the header, or a JSON object with
a key the export does not have, is an error: nothing is silently dropped.

Every journal must balance per currency (debits = credits); a file with an
unbalanced journal is refused whole, so a half-posted journal never reaches the
warehouse.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from parsers.currencies import InvalidAmount, is_currency
from parsers.currencies import parse_amount as parse_currency_amount

FIELDS = (
    "entry_id",
    "journal_id",
    "account",
    "amount",
    "currency",
    "side",
    "booked_at",
    "value_date",
    "kind",
    "uetr",
    "end_to_end_id",
    "bank_reference",
    "description",
    "counterparty_name",  # optional: who paid in or was paid (suggested matching compares it with the bank's)
    "creditor_reference",  # optional: the structured creditor reference (RF..., the bank's Strd/CdtrRefInf/Ref)
)
REQUIRED = ("entry_id", "journal_id", "account", "amount", "currency", "side", "booked_at", "kind")
SUFFIXES = (".csv", ".jsonl", ".ndjson")
_CODE = re.compile(r"[A-Z]{3}")


class LedgerFormatError(ValueError):
    """A ledger export that cannot be loaded; names the file and line."""

    def __init__(self, file: str, line: int | None, message: str):
        self.file, self.line = file, line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")


def parse_amount(text: object, currency: str) -> Decimal:
    """The exact amount of ``currency`` that ``text`` (as the export wrote it) states; ValueError if none."""
    if isinstance(text, float):  # JSON numbers are read as their text; a float here is a bug
        raise ValueError("amount must be a decimal string, not a float")
    try:
        return parse_currency_amount(str(text).strip(), currency)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None


_FIELD_SET = frozenset(FIELDS)


def _typed(raw: dict, file: str, line: int) -> dict:
    # runs once per journal line (a million a day): set operations, one pass over the fields
    if not _FIELD_SET.issuperset(raw):
        if None in raw:  # the key of the fields beyond the header (_raw_rows, as csv.DictReader)
            raise LedgerFormatError(file, line, f"{len(raw[None])} field(s) more than the header has")
        extra = [name for name in raw if name not in _FIELD_SET]
        raise LedgerFormatError(file, line, f"unknown field(s) {', '.join(map(repr, extra))}")
    row: dict[str, Any] = {}
    for name in FIELDS:
        value = raw.get(name)
        row[name] = None if value is None or value == "" else (value if value.__class__ is str else str(value)).strip()
    # absent, empty or blank (and a JSON false, [] or {}: falsy as given)
    missing = [name for name in REQUIRED if not raw.get(name) or not row[name]]
    if missing:
        raise LedgerFormatError(file, line, f"missing {', '.join(missing)}")
    currency = row["currency"]
    if not _CODE.fullmatch(currency) or not is_currency(currency):
        raise LedgerFormatError(file, line, f"currency {currency[:20]!r} is not an ISO 4217 currency code in use")
    try:
        row["amount"] = parse_amount(raw["amount"], currency)
        booked_at = datetime.fromisoformat(row["booked_at"])
        if booked_at.tzinfo is None:
            raise ValueError(f"booked_at {row['booked_at']!r} has no time zone")
        row["booked_at"] = booked_at
        row["value_date"] = date.fromisoformat(row["value_date"]) if row["value_date"] else None
    except ValueError as exc:
        raise LedgerFormatError(file, line, str(exc)) from None
    if row["side"] not in ("D", "C"):
        raise LedgerFormatError(file, line, f"side must be D or C, not {row['side']!r}")
    row["line_number"] = line
    return row


def _raw_rows(path: Path) -> Iterator[tuple[int, dict]]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            # csv.DictReader's rows (fields beyond the header under the key None, those
            # short of it None; blank lines skipped), from the C reader without
            # DictReader's per-row Python
            reader = csv.reader(handle)
            header = next(reader, [])
            absent = [name for name in REQUIRED if name not in header]
            if absent:
                raise LedgerFormatError(path.name, 1, f"header lacks {', '.join(absent)}")
            width = len(header)
            for fields in reader:
                if len(fields) == width:
                    yield reader.line_num, dict(zip(header, fields, strict=True))
                elif fields:
                    row: dict[str | None, Any] = dict(zip(header, fields, strict=False))  # one side is longer
                    if len(fields) > width:
                        row[None] = fields[width:]
                    else:
                        row.update(dict.fromkeys(header[len(fields) :]))
                    yield reader.line_num, row
        return
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                # numbers keep their text, so '1e2' is refused as written, not read as 100
                obj = json.loads(text, parse_float=str, parse_int=str)
            except json.JSONDecodeError as exc:
                raise LedgerFormatError(path.name, number, f"not JSON: {exc.msg}") from None
            if not isinstance(obj, dict):
                raise LedgerFormatError(path.name, number, "each line must be a JSON object")
            yield number, obj


def read_ledger(path: Path) -> Iterator[dict]:
    """Typed journal lines; raises LedgerFormatError at the first bad line, or at
    the end if any journal does not balance (the caller loads nothing then)."""
    balance: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    seen_entries: set[str] = set()
    for line, raw in _raw_rows(path):
        row = _typed(raw, path.name, line)
        if row["entry_id"] in seen_entries:
            raise LedgerFormatError(path.name, line, f"entry_id {row['entry_id']} appears twice")
        seen_entries.add(row["entry_id"])
        signed = row["amount"] if row["side"] == "D" else -row["amount"]
        balance[(row["journal_id"], row["currency"])] += signed
        yield row
    unbalanced = [
        f"{journal} {currency} off by {amount}" for (journal, currency), amount in sorted(balance.items()) if amount
    ]
    if unbalanced:
        shown = "; ".join(unbalanced[:5]) + (f" (and {len(unbalanced) - 5} more)" if len(unbalanced) > 5 else "")
        raise LedgerFormatError(path.name, None, f"{len(unbalanced)} journal(s) do not balance: {shown}")
