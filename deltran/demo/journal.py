"""The two books of the demo: ledger journals and bank entries, before they are files.

A ``Journal`` is one balanced posting of the internal ledger; a ``BankEntry`` is
one booking the bank makes on an EMI account. Movements create both, linked by
UETR and EndToEndId; faults create one without the other, or make them differ.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from deltran.ledger import FIELDS as LEDGER_FIELDS  # the export's columns: what the reader takes

from .reference import Account

KINDS = frozenset({"opening", "deposit", "withdrawal", "fee", "transfer", "fx", "mint", "burn"})
CREDIT, DEBIT = "CRDT", "DBIT"


def cents(n: int) -> Decimal:
    """Integer cents to an exact two-digit Decimal (never through float)."""
    return Decimal(n).scaleb(-2)


def to_cents(amount: Decimal) -> int:
    return int(amount.scaleb(2))


def utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class BankEntry:
    account: Account
    cents: int
    credit_debit: str  # CRDT / DBIT as the bank books it
    booked_at: datetime
    value_date: date
    bank_tx_code: str
    uetr: str | None = None
    end_to_end_id: str | None = None
    debtor_name: str | None = None
    debtor_account: str | None = None
    debtor_agent: str | None = None
    creditor_name: str | None = None
    creditor_account: str | None = None
    creditor_agent: str | None = None
    remittance: str | None = None
    is_reversal: bool = False
    without_details: bool = False  # a batch booked as one entry, no TxDtls
    acct_svcr_ref: str = ""  # assigned per bank once the day is complete

    @property
    def signed_cents(self) -> int:
        return self.cents if self.credit_debit == CREDIT else -self.cents


@dataclass
class Line:
    account: str
    side: str  # D / C
    cents: int
    currency: str


@dataclass
class Journal:
    kind: str
    booked_at: datetime
    value_date: date
    lines: list[Line]
    uetr: str | None = None
    end_to_end_id: str | None = None
    description: str = ""
    bank_reference: str | None = None
    counterparty: str | None = None
    # The ledger learnt the bank's reference (a fee notice): shown once assigned.
    bank_entry: BankEntry | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind

    @property
    def reference(self) -> str:
        if self.bank_entry is not None:
            return self.bank_entry.acct_svcr_ref
        return self.bank_reference or ""


def double(
    kind: str, booked_at: datetime, value_date: date, debit: str, credit: str, amount: int, currency: str, **kwargs: Any
) -> Journal:
    """A two-line journal: D ``debit`` / C ``credit``."""
    return Journal(
        kind, booked_at, value_date, [Line(debit, "D", amount, currency), Line(credit, "C", amount, currency)], **kwargs
    )


def ledger_delta(journals: Iterable[Journal], account: str) -> int:
    """Net D - C on one account (an asset: its balance)."""
    return sum((ln.cents if ln.side == "D" else -ln.cents) for j in journals for ln in j.lines if ln.account == account)


def write_ledger_csv(path: Path, business_date: date, journals: list[Journal]) -> int:
    """Write the journals in booking order; ids carry the date so they are unique across days."""
    day = business_date.strftime("%Y%m%d")
    ordered = sorted(enumerate(journals), key=lambda item: (item[1].booked_at, item[0]))
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LEDGER_FIELDS)
        for number, (_, journal) in enumerate(ordered, start=1):
            for line in journal.lines:
                rows += 1
                writer.writerow(
                    (
                        f"LE{day}{rows:06d}",
                        f"JR{day}{number:05d}",
                        line.account,
                        format(cents(line.cents), "f"),
                        line.currency,
                        line.side,
                        utc_text(journal.booked_at),
                        journal.value_date.isoformat(),
                        journal.kind,
                        journal.uetr or "",
                        journal.end_to_end_id or "",
                        journal.reference,
                        journal.description,
                        journal.counterparty or "",
                    )
                )
    return rows
