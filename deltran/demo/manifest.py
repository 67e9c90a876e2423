"""What a generated demo day contains and what the platform should find in it.

The manifest is the answer key of the demo: the tests and the end-to-end checks
compare the platform's reconciliation and clearing output with it. It is never
written into the inbox (ingest scans that folder).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path


@dataclass
class AccountExpectation:
    key: str  # A1..A6
    iban: str
    bic: str
    currency: str
    expected_level: str  # OK, Minor, Significant, Critical
    bank_opening: Decimal
    bank_closing: Decimal
    ledger_opening: Decimal
    ledger_balance: Decimal  # ledger balance of the IBAN at end of day
    entry_count: int  # statement entries
    electronic_seq_nb: int

    @property
    def ratio(self) -> Decimal:
        """|bank - ledger| / ledger, as the thresholds define it."""
        return abs(self.bank_closing - self.ledger_balance) / self.ledger_balance


@dataclass
class Fault:
    """An injected discrepancy.

    ``difference`` is the fault's effect on bank - ledger for the account, so the
    differences of an account's faults sum to its bank_closing - ledger_balance.
    """

    type: str  # MissingTxn, DuplicateTxn, AmountMismatch
    account: str  # IBAN
    account_key: str
    currency: str
    side: str  # ledger, bank, both
    kind: str  # what the transaction is: deposit, mint, interest
    amount: Decimal  # the transaction's amount (ledger amount for AmountMismatch)
    difference: Decimal
    uetr: str | None = None
    end_to_end_id: str | None = None
    acct_svcr_ref: str | None = None
    booked_at: datetime | None = None
    description: str = ""


@dataclass
class Resolution:
    """A booking on this day that settles a fault of the previous day."""

    fault_type: str
    resolves_date: date
    account: str
    account_key: str
    currency: str
    booked_by: str  # bank or ledger
    action: str  # LateBooking, BankReversal, LedgerAdjustment, LedgerBurn
    amount: Decimal
    uetr: str | None = None
    end_to_end_id: str | None = None
    acct_svcr_ref: str | None = None


@dataclass
class PaymentIds:
    """The identifiers of one interbank payment (a pacs.008 CdtTrfTxInf)."""

    message_id: str
    instr_id: str
    end_to_end_id: str
    tx_id: str
    uetr: str
    amount: Decimal
    currency: str
    debtor_agent: str
    creditor_agent: str
    accepted_at: datetime
    window_close: datetime


@dataclass
class ReferencedPayment:
    """A payment rejected (pacs.002) or returned (pacs.004), and the message that said so."""

    payment: PaymentIds
    message_id: str
    file: str
    reason_code: str
    created_at: datetime


@dataclass
class MatchingCase:
    """Movements the matching passes must handle beyond shared references."""

    case: str  # no_reference_unique, no_reference_ambiguous, batch_without_details, instalments
    account: str  # IBAN
    account_key: str
    currency: str
    amounts: list[Decimal]  # the ledger postings' amounts (for a batch: its postings; the entry is their sum)
    expected: str  # suggested, unpaired, batch_sum, end_to_end_id
    bank_entries: int
    ledger_postings: int
    end_to_end_id: str | None = None


@dataclass
class DemoManifest:
    business_date: date
    seed: int
    accounts: list[AccountExpectation] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # names inside the inbox, sorted
    bad_files: list[str] = field(default_factory=list)  # also in files; quarantine expected
    rejected: ReferencedPayment | None = None
    returned: ReferencedPayment | None = None
    cycle: list[PaymentIds] = field(default_factory=list)  # A->B->C->A, same currency
    counts: dict[str, int] = field(default_factory=dict)
    # camt.054 / camt.052 written outside the inbox (generate_day(intraday=...)), with creation times
    intraday_files: list[tuple[datetime, str]] = field(default_factory=list)
    matching_cases: list[MatchingCase] = field(default_factory=list)

    def account(self, key: str) -> AccountExpectation:
        return next(a for a in self.accounts if a.key == key)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_plain) + "\n"

    def write_manifest(self, path: Path | str) -> Path:
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
