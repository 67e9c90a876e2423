"""Version-independent records that every ISO 20022 reader produces.

Whatever the message version (camt.053.001.02 or .13, pacs.008.001.02 or .13),
a reader maps it onto these records, so everything downstream (ingest, clearing,
reconciliation) is written once. Amounts are ``Decimal`` exactly as written in
the file; a balance's or entry's sign is carried by ``credit_debit`` (CRDT/DBIT),
and ``Balance.signed_amount`` applies it.

Readers yield records in document order, so a statement of millions of entries
is never held in memory: first its ``Statement`` header, then its ``Balance``
records, then its ``Entry`` records, each carrying the context it needs
(message id, statement id, account, currency), then a ``Finding`` for each
arithmetic check the statement fails.

``to_rows`` flattens a record into plain dicts with snake_case keys: one per
balance, payment, status and return, and one per entry or, for a batch-booked
entry, one per transaction detail. ``deltran parse`` prints these rows and the
ingest loads them into the raw tables, so both see exactly the same fields
(``ROW_FIELDS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Iterator

CREDIT = "CRDT"
DEBIT = "DBIT"


@dataclass(slots=True)
class Statement:
    """Header of a camt.053 statement, camt.052 report or camt.054 notification."""

    message_type: str  # 'camt.053', 'camt.052', 'camt.054'
    message_id: str
    statement_id: str
    account: str | None  # IBAN, else the other id
    account_currency: str | None
    servicer_bic: str | None = None
    created_at: datetime | None = None
    from_at: datetime | None = None
    to_at: datetime | None = None
    electronic_seq_nb: int | None = None
    legal_seq_nb: int | None = None
    # TxsSummry, where the file carries it (used for the arithmetic checks)
    summary_entry_count: int | None = None
    summary_credit_count: int | None = None
    summary_credit_sum: Decimal | None = None
    summary_debit_count: int | None = None
    summary_debit_sum: Decimal | None = None
    line: int | None = None


@dataclass(slots=True)
class Balance:
    message_type: str
    message_id: str
    statement_id: str
    account: str | None
    type_code: str  # OPBD, CLBD, CLAV, ITBD, PRCD... or the proprietary code
    amount: Decimal  # as written, always >= 0
    currency: str
    credit_debit: str  # CRDT or DBIT
    date: date | None = None
    date_time: datetime | None = None
    line: int | None = None

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.credit_debit == CREDIT else -self.amount


@dataclass(slots=True)
class TransactionDetails:
    end_to_end_id: str | None = None
    uetr: str | None = None
    tx_id: str | None = None
    instr_id: str | None = None
    msg_id: str | None = None
    acct_svcr_ref: str | None = None
    amount: Decimal | None = None  # the detail's own amount (batch entries)
    currency: str | None = None
    credit_debit: str | None = None
    debtor_name: str | None = None
    debtor_account: str | None = None
    debtor_agent_bic: str | None = None
    creditor_name: str | None = None
    creditor_account: str | None = None
    creditor_agent_bic: str | None = None
    remittance_info: str | None = None


@dataclass(slots=True)
class Entry:
    message_type: str
    message_id: str
    statement_id: str
    account: str | None
    account_currency: str | None
    amount: Decimal
    currency: str
    credit_debit: str
    status: str | None = None  # BOOK, PDNG, INFO...
    booking_date: date | None = None
    booking_date_time: datetime | None = None
    value_date: date | None = None
    entry_ref: str | None = None
    acct_svcr_ref: str | None = None
    is_reversal: bool = False
    bank_tx_code: str | None = None  # Domn/Cd/Fmly/Cd/SubFmlyCd joined by '/', else Prtry/Cd
    entry_index: int = 0  # position of the entry in its statement, from 0
    transactions: list[TransactionDetails] = field(default_factory=list)
    line: int | None = None


@dataclass(slots=True)
class Payment:
    """One CdtTrfTxInf of a pacs.008, or one CdtTrfTxInf of a pain.001 PmtInf."""

    message_type: str  # 'pacs.008', 'pain.001'
    message_id: str
    amount: Decimal
    currency: str
    created_at: datetime | None = None
    instr_id: str | None = None
    end_to_end_id: str | None = None
    tx_id: str | None = None
    uetr: str | None = None
    settlement_date: date | None = None  # IntrBkSttlmDt, or ReqdExctnDt for pain.001
    accepted_at: datetime | None = None  # AccptncDtTm where present
    debtor_agent_bic: str | None = None
    creditor_agent_bic: str | None = None
    instructing_agent_bic: str | None = None
    instructed_agent_bic: str | None = None
    debtor_name: str | None = None
    debtor_account: str | None = None
    creditor_name: str | None = None
    creditor_account: str | None = None
    remittance_info: str | None = None
    line: int | None = None


@dataclass(slots=True)
class StatusReport:
    """One status of a pacs.002 (transaction level, else group level)."""

    message_type: str  # 'pacs.002'
    message_id: str
    status: str  # ACSC, ACCP, ACSP, PDNG, RJCT...
    created_at: datetime | None = None
    original_message_id: str | None = None
    original_message_type: str | None = None
    original_instr_id: str | None = None
    original_end_to_end_id: str | None = None
    original_tx_id: str | None = None
    original_uetr: str | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    line: int | None = None


@dataclass(slots=True)
class PaymentReturn:
    """One TxInf of a pacs.004."""

    message_type: str  # 'pacs.004'
    message_id: str
    returned_amount: Decimal
    currency: str
    created_at: datetime | None = None
    return_id: str | None = None
    original_message_id: str | None = None
    original_message_type: str | None = None
    original_instr_id: str | None = None
    original_end_to_end_id: str | None = None
    original_tx_id: str | None = None
    original_uetr: str | None = None
    settlement_date: date | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    # agents of the return itself: the returning bank pays the original debtor's bank
    debtor_agent_bic: str | None = None
    creditor_agent_bic: str | None = None
    instructing_agent_bic: str | None = None
    instructed_agent_bic: str | None = None
    line: int | None = None


@dataclass(slots=True)
class Finding:
    """A statement whose figures do not add up, reported as data rather than raised.

    The file is still what the bank sent; reconciliation decides what a mismatch
    means. ``expected`` is the figure the file states (closing balance, a
    TxsSummry count or sum), ``actual`` what the statement's entries add up to.
    """

    message_type: str
    message_id: str
    statement_id: str
    account: str | None
    check: str  # 'balance', 'entry_count', 'credit_count', 'credit_sum', 'debit_count', 'debit_sum'
    expected: Decimal
    actual: Decimal
    detail: str
    line: int | None = None


Record = Statement | Balance | Entry | Payment | StatusReport | PaymentReturn | Finding

# The flat rows: record kind -> its fields, in a stable order. The raw tables of
# the warehouse have exactly these columns (plus file bookkeeping).
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "statement": (
        "message_type",
        "message_id",
        "statement_id",
        "account",
        "account_currency",
        "servicer_bic",
        "created_at",
        "from_at",
        "to_at",
        "electronic_seq_nb",
        "legal_seq_nb",
        "summary_entry_count",
        "summary_credit_count",
        "summary_credit_sum",
        "summary_debit_count",
        "summary_debit_sum",
    ),
    "balance": (
        "message_type",
        "message_id",
        "statement_id",
        "account",
        "type_code",
        "amount",
        "currency",
        "credit_debit",
        "date",
        "date_time",
    ),
    "entry": (
        "message_type",
        "message_id",
        "statement_id",
        "account",
        "account_currency",
        "entry_index",
        "detail_index",
        "entry_ref",
        "amount",
        "currency",
        "credit_debit",
        "status",
        "booking_date",
        "booking_date_time",
        "value_date",
        "acct_svcr_ref",
        "is_reversal",
        "bank_tx_code",
        "entry_amount",
        "detail_count",
        "end_to_end_id",
        "uetr",
        "tx_id",
        "instr_id",
        "msg_id",
        "tx_acct_svcr_ref",
        "debtor_name",
        "debtor_account",
        "debtor_agent_bic",
        "creditor_name",
        "creditor_account",
        "creditor_agent_bic",
        "remittance_info",
    ),
    "payment": (
        "message_type",
        "message_id",
        "created_at",
        "instr_id",
        "end_to_end_id",
        "tx_id",
        "uetr",
        "amount",
        "currency",
        "settlement_date",
        "accepted_at",
        "debtor_agent_bic",
        "creditor_agent_bic",
        "instructing_agent_bic",
        "instructed_agent_bic",
        "debtor_name",
        "debtor_account",
        "creditor_name",
        "creditor_account",
        "remittance_info",
    ),
    "status": (
        "message_type",
        "message_id",
        "created_at",
        "original_message_id",
        "original_message_type",
        "original_instr_id",
        "original_end_to_end_id",
        "original_tx_id",
        "original_uetr",
        "status",
        "reason_code",
        "reason_text",
    ),
    "return": (
        "message_type",
        "message_id",
        "created_at",
        "return_id",
        "original_message_id",
        "original_message_type",
        "original_instr_id",
        "original_end_to_end_id",
        "original_tx_id",
        "original_uetr",
        "returned_amount",
        "currency",
        "settlement_date",
        "reason_code",
        "reason_text",
        "debtor_agent_bic",
        "creditor_agent_bic",
        "instructing_agent_bic",
        "instructed_agent_bic",
    ),
    "finding": (
        "message_type",
        "message_id",
        "statement_id",
        "account",
        "check",
        "expected",
        "actual",
        "detail",
    ),
}

_KIND = {
    Statement: "statement",
    Balance: "balance",
    Entry: "entry",
    Payment: "payment",
    StatusReport: "status",
    PaymentReturn: "return",
    Finding: "finding",
}


def record_kind(record: Record) -> str:
    return _KIND[type(record)]


def to_rows(record: Record) -> Iterator[dict]:
    """Flatten one record into rows of ROW_FIELDS[kind] (plus 'record': kind).

    An entry gives one row per transaction detail when it has several (a batch):
    ``amount`` is then the detail's own amount (falling back to the entry amount
    when the bank did not give one per detail), ``entry_amount`` the booked total,
    ``detail_count`` how many details share the entry. An entry with zero or one
    detail gives one row whose ``amount`` is the entry amount.
    """
    kind = record_kind(record)
    if kind != "entry":
        row = {"record": kind}
        for name in ROW_FIELDS[kind]:
            row[name] = getattr(record, name)
        yield row
        return

    assert isinstance(record, Entry)  # record_kind said so
    entry = record
    details = entry.transactions or [TransactionDetails()]
    batch = len(details) > 1
    for index, tx in enumerate(details):
        amount = tx.amount if (batch and tx.amount is not None) else entry.amount
        yield {
            "record": "entry",
            "message_type": entry.message_type,
            "message_id": entry.message_id,
            "statement_id": entry.statement_id,
            "account": entry.account,
            "account_currency": entry.account_currency,
            "entry_index": entry.entry_index,
            "detail_index": index,
            "entry_ref": entry.entry_ref,
            "amount": amount,
            "currency": (tx.currency if batch and tx.currency else entry.currency),
            "credit_debit": (tx.credit_debit if batch and tx.credit_debit else entry.credit_debit),
            "status": entry.status,
            "booking_date": entry.booking_date,
            "booking_date_time": entry.booking_date_time,
            "value_date": entry.value_date,
            "acct_svcr_ref": entry.acct_svcr_ref,
            "is_reversal": entry.is_reversal,
            "bank_tx_code": entry.bank_tx_code,
            "entry_amount": entry.amount,
            "detail_count": len(entry.transactions),
            "end_to_end_id": tx.end_to_end_id,
            "uetr": tx.uetr,
            "tx_id": tx.tx_id,
            "instr_id": tx.instr_id,
            "msg_id": tx.msg_id,
            "tx_acct_svcr_ref": tx.acct_svcr_ref,
            "debtor_name": tx.debtor_name,
            "debtor_account": tx.debtor_account,
            "debtor_agent_bic": tx.debtor_agent_bic,
            "creditor_name": tx.creditor_name,
            "creditor_account": tx.creditor_account,
            "creditor_agent_bic": tx.creditor_agent_bic,
            "remittance_info": tx.remittance_info,
        }
