"""``deltran net OBLIGATIONS.csv``: net a CSV of obligations and print the result as JSON.

The CSV has the header ``debtor,creditor,currency,amount`` (other columns are
ignored). Amounts are read as exact decimals and every amount in the output is
a string holding an exact decimal; efficiency is the one rounded figure, in
percent with four decimals (``deltran.numbers``). A bad row raises ``ObligationsFileError`` naming its
line, and nothing is netted.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from deltran.numbers import efficiency_pct
from parsers.currencies import InvalidAmount, parse_amount

from .netting import NettingResult, Obligation, aggregate, net_all

COLUMNS = ("debtor", "creditor", "currency", "amount")
CSV_HELP = """\
The CSV: one obligation per row (the debtor owes the creditor the amount), with
the header debtor,creditor,currency,amount (other columns are ignored). The
currency is an ISO 4217 code in use; the amount is a plain unsigned decimal
with at most the currency's minor units (EUR 2, JPY 0, KWD 3).

  debtor,creditor,currency,amount
  BANKGB2LXXX,BANKDEFFXXX,EUR,1000.00
  BANKDEFFXXX,BANKGB2LXXX,EUR,400.50
  BANKDEFFXXX,BANKJPJTXXX,JPY,150000

example: deltran net obligations.csv > netted.json
"""


class ObligationsFileError(ValueError):
    """The obligations file cannot be read: which file, which line, what is wrong."""


def _dec(value: Decimal) -> str:
    return format(value, "f")


def read_obligations(path: str | Path) -> list[Obligation]:
    """Every row of the file as an Obligation; the first bad row raises, naming its line."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ObligationsFileError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with handle:
        try:
            return _read(path, handle)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ObligationsFileError(f"{path}: not a readable UTF-8 CSV file: {exc}") from exc


def _read(path: Path, handle: TextIO) -> list[Obligation]:
    out: list[Obligation] = []
    reader = csv.DictReader(handle)
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ObligationsFileError(f"{path} line 1: header must name {','.join(COLUMNS)}; missing {','.join(missing)}")
    for row in reader:
        line = reader.line_num

        def bad(why: str, line: int = line) -> ObligationsFileError:
            return ObligationsFileError(f"{path} line {line}: {why}")

        if None in row:
            raise bad(f"more fields than the header has: {row[None]!r}")
        values = {}
        for column in COLUMNS:
            value = (row.get(column) or "").strip()
            if not value:
                raise bad(f"missing {column}")
            values[column] = value
        try:  # the platform's one amount rule: an ISO 4217 code in use, at most its minor units
            amount = parse_amount(values["amount"], values["currency"])
        except InvalidAmount as exc:
            raise bad(str(exc)) from None
        if values["debtor"] == values["creditor"]:
            raise bad(f"debtor and creditor are both {values['debtor']!r}")
        out.append(Obligation(values["debtor"], values["creditor"], values["currency"], amount))
    return out


def report(results: Mapping[str, NettingResult]) -> dict:
    """The JSON-able summary of netting results (all amounts exact decimal strings)."""
    positions, instructions, currencies = [], [], {}
    for ccy, r in results.items():
        positions += [
            {
                "participant": p.participant,
                "currency": ccy,
                "paid": _dec(p.paid),
                "received": _dec(p.received),
                "net": _dec(p.net),
            }
            for p in r.positions
        ]
        instructions += [
            {"payer": i.payer, "payee": i.payee, "currency": ccy, "amount": _dec(i.amount)} for i in r.instructions
        ]
        currencies[ccy] = {
            "gross": _dec(r.gross),
            "net": _dec(r.net),
            "efficiency_pct": _dec(efficiency_pct(r.efficiency)),
            "bilateral_net": _dec(r.bilateral_net),
            "bilateral_efficiency_pct": _dec(efficiency_pct(r.bilateral_efficiency)),
            "participants": len(r.participants),
            "obligations": r.obligation_count,
            "instruction_count": r.instruction_count,
            "instruction_bound": r.instruction_bound,
            "cycles": [list(c.participants) for c in r.cycles],
            "simple_cycle_count": r.simple_cycle_count,
            "simple_cycles_truncated": r.simple_cycles_truncated,
        }
    return {"positions": positions, "instructions": instructions, "currencies": currencies}


def net_csv(path: str | Path) -> dict:
    """Net every currency of an obligations CSV; the JSON-able report (see ``report``)."""
    return report(net_all(aggregate(read_obligations(path))))


def main(argv: Sequence[str] | None = None) -> int:
    """``deltran net OBLIGATIONS.csv``: print the report as JSON; 0, or 2 with the error on stderr."""
    parser = argparse.ArgumentParser(
        prog="deltran net",
        description="Multilateral netting of a CSV of obligations, per currency; prints positions, "
        "settlement instructions and each currency's figures as JSON.",
        epilog=CSV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("obligations", help="CSV file with the header debtor,creditor,currency,amount")
    args = parser.parse_args(argv)
    try:
        result = net_csv(args.obligations)
    except ObligationsFileError as exc:
        print(f"deltran net: {exc}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
