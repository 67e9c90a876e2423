"""Version-independent records that every ISO 20022 reader produces.

Whatever the message version (camt.053.001.02 or .13, pacs.008.001.02 or .13),
a reader maps it onto these records, so everything downstream (ingest, clearing,
reconciliation) is written once. Amounts are ``Decimal`` exactly as written in
the file; a balance's or entry's sign is carried by ``credit_debit`` (CRDT/DBIT),
and ``Balance.signed_amount`` applies it.

Readers stream, so a statement of millions of entries is never held in memory:
first its ``Entry`` records as they are read, each carrying the context it
needs (message id, statement id, account, currency), then, once the statement
has ended and is complete (its AddtlStmtInf comes after the entries), its
``Statement`` header and ``Balance`` records, then a ``Finding`` for each
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
from typing import Any, Iterator

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
    additional_info: str | None = None  # AddtlStmtInf (AddtlRptInf, AddtlNtfctnInf), after the entries
    copy_duplicate: str | None = None  # CpyDplctInd: CODU, COPY, DUPL
    page_number: int | None = None  # GrpHdr/MsgPgntn
    last_page: bool | None = None
    # business application header (AppHdr) beside the Document, where the file has one
    bah_biz_msg_id: str | None = None
    bah_msg_def_id: str | None = None
    bah_created_at: datetime | None = None
    bah_from: str | None = None
    bah_to: str | None = None
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
    credit_debit_assumed: bool = False  # the file had no CdtDbtInd: read as CRDT (see camt.py)
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
    # participants with or without a BIC (values.participant): BIC, else 'USABA:021000021', 'LEI:...'
    debtor_agent: str | None = None
    creditor_agent: str | None = None
    bank_tx_code: str | None = None  # the transaction's own BkTxCd (as Entry.bank_tx_code)
    additional_info: str | None = None  # AddtlTxInf
    payment_info_id: str | None = None  # Refs/PmtInfId
    mandate_id: str | None = None  # Refs/MndtId
    proprietary_refs: str | None = None  # Refs/Prtry as 'Tp=Ref', several joined by newline
    instructed_amount: Decimal | None = None  # AmtDtls/InstdAmt
    instructed_currency: str | None = None
    exchange_rate: Decimal | None = None  # AmtDtls/.../CcyXchg/XchgRate
    charges_amount: Decimal | None = None  # Chrgs: TtlChrgsAndTaxAmt, else the records' sum
    charges_currency: str | None = None
    charge_bearer: str | None = None  # Chrgs/.../ChrgBr
    purpose: str | None = None  # Purp
    local_instrument: str | None = None  # LclInstrm (camt: under the transaction's own references or not at all)
    return_reason_code: str | None = None  # RtrInf/Rsn
    return_additional_info: str | None = None  # RtrInf/AddtlInf
    creditor_reference: str | None = None  # RmtInf/Strd/CdtrRefInf/Ref
    creditor_reference_type: str | None = None  # its Tp/CdOrPrtry (SCOR, ...)
    referred_documents: str | None = None  # RmtInf/Strd/RfrdDocInf/Nb, several joined by newline
    accepted_at: datetime | None = None  # RltdDts/AccptncDtTm
    settlement_date: date | None = None  # RltdDts/IntrBkSttlmDt
    bank_tx_code_proprietary: str | None = None  # its BkTxCd/Prtry/Cd, with or without a domain code
    bank_tx_code_issuer: str | None = None  # its BkTxCd/Prtry/Issr


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
    additional_info: str | None = None  # AddtlNtryInf
    # NtryDtls/Btch: the batch as the bank describes it
    batch_message_id: str | None = None
    batch_payment_info_id: str | None = None
    batch_tx_count: int | None = None
    batch_total_amount: Decimal | None = None
    bank_tx_code_proprietary: str | None = None  # BkTxCd/Prtry/Cd, kept also beside a domain code
    bank_tx_code_issuer: str | None = None  # BkTxCd/Prtry/Issr (ZKA, SWIFT, a bank's own list...)
    # A batch of more details than camt.DETAILS_PER_PART comes as several Entry
    # records (parts) with the same entry_index, so that its details are streamed,
    # never held: detail_offset is the index of the part's first detail, and
    # more_details says a later part follows. Only the last part carries what the
    # file writes after the details (additional_info).
    detail_offset: int = 0
    more_details: bool = False
    line: int | None = None

    @property
    def is_first_part(self) -> bool:
        return self.detail_offset == 0

    @property
    def is_streamed(self) -> bool:
        return self.more_details or self.detail_offset > 0


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
    # participants, BIC or not (values.participant): what clearing nets by
    debtor_agent: str | None = None
    creditor_agent: str | None = None
    instructing_agent: str | None = None
    instructed_agent: str | None = None
    debtor_agent_name: str | None = None
    creditor_agent_name: str | None = None
    group_tx_count: int | None = None  # GrpHdr/NbOfTxs
    payment_info_id: str | None = None  # pain.001 PmtInfId
    instructed_amount: Decimal | None = None  # InstdAmt (pacs.008)
    instructed_currency: str | None = None
    exchange_rate: Decimal | None = None  # XchgRate
    charge_bearer: str | None = None  # ChrgBr
    charges_amount: Decimal | None = None  # ChrgsInf/Amt, summed where in one currency
    charges_currency: str | None = None
    purpose: str | None = None  # Purp
    local_instrument: str | None = None  # PmtTpInf/LclInstrm
    creditor_reference: str | None = None  # RmtInf/Strd/CdtrRefInf/Ref
    creditor_reference_type: str | None = None
    referred_documents: str | None = None
    # business application header (AppHdr) beside the Document, where the file has one
    bah_biz_msg_id: str | None = None
    bah_msg_def_id: str | None = None
    bah_created_at: datetime | None = None
    bah_from: str | None = None
    bah_to: str | None = None
    line: int | None = None


@dataclass(slots=True)
class StatusReport:
    """One status of a pacs.002 or pain.002 (transaction level, else payment-information, else group level)."""

    message_type: str  # 'pacs.002', 'pain.002'
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
    original_payment_info_id: str | None = None  # pain.002 OrgnlPmtInfId
    # business application header (AppHdr) beside the Document, where the file has one
    bah_biz_msg_id: str | None = None
    bah_msg_def_id: str | None = None
    bah_created_at: datetime | None = None
    bah_from: str | None = None
    bah_to: str | None = None
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
    # participant keys (values.participant): the return's own agents where the message
    # states them (RtrChain), else the original's from OrgnlTxRef, swapped (payments.read_returns)
    debtor_agent: str | None = None
    creditor_agent: str | None = None
    instructing_agent: str | None = None
    instructed_agent: str | None = None
    debtor_agent_name: str | None = None
    creditor_agent_name: str | None = None
    # business application header (AppHdr) beside the Document, where the file has one
    bah_biz_msg_id: str | None = None
    bah_msg_def_id: str | None = None
    bah_created_at: datetime | None = None
    bah_from: str | None = None
    bah_to: str | None = None
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
    # 'balance', 'entry_count', 'credit_count', 'credit_sum', 'debit_count', 'debit_sum';
    # 'details_sum', 'details_direction' (a batch entry's details against the entry);
    # 'balance_direction' (a balance without CdtDbtInd, read as credit)
    check: str
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
        "additional_info",
        "copy_duplicate",
        "page_number",
        "last_page",
        "bah_biz_msg_id",
        "bah_msg_def_id",
        "bah_created_at",
        "bah_from",
        "bah_to",
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
        "credit_debit_assumed",
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
        "tx_acct_svcr_ref",
        "entry_currency",
        "entry_credit_debit",
        "detail_amount",
        "detail_currency",
        "detail_credit_debit",
        "additional_entry_info",
        "batch_message_id",
        "batch_payment_info_id",
        "batch_tx_count",
        "batch_total_amount",
        "tx_bank_tx_code",
        "additional_tx_info",
        "tx_accepted_at",
        "tx_settlement_date",
        "bank_tx_code_proprietary",  # Ntry/BkTxCd/Prtry/Cd, also where a domain code is given
        "bank_tx_code_issuer",  # Ntry/BkTxCd/Prtry/Issr
        "tx_bank_tx_code_proprietary",  # TxDtls/BkTxCd/Prtry/Cd
        "tx_bank_tx_code_issuer",  # TxDtls/BkTxCd/Prtry/Issr
        # the transaction detail's own fields, same names as in TransactionDetails
        "end_to_end_id",
        "uetr",
        "tx_id",
        "instr_id",
        "msg_id",
        "debtor_name",
        "debtor_account",
        "debtor_agent_bic",
        "creditor_name",
        "creditor_account",
        "creditor_agent_bic",
        "remittance_info",
        "debtor_agent",
        "creditor_agent",
        "payment_info_id",
        "mandate_id",
        "proprietary_refs",
        "instructed_amount",
        "instructed_currency",
        "exchange_rate",
        "charges_amount",
        "charges_currency",
        "charge_bearer",
        "purpose",
        "local_instrument",
        "return_reason_code",
        "return_additional_info",
        "creditor_reference",
        "creditor_reference_type",
        "referred_documents",
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
        "debtor_agent",
        "creditor_agent",
        "instructing_agent",
        "instructed_agent",
        "debtor_agent_name",
        "creditor_agent_name",
        "group_tx_count",
        "payment_info_id",
        "instructed_amount",
        "instructed_currency",
        "exchange_rate",
        "charge_bearer",
        "charges_amount",
        "charges_currency",
        "purpose",
        "local_instrument",
        "creditor_reference",
        "creditor_reference_type",
        "referred_documents",
        "bah_biz_msg_id",
        "bah_msg_def_id",
        "bah_created_at",
        "bah_from",
        "bah_to",
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
        "original_payment_info_id",
        "bah_biz_msg_id",
        "bah_msg_def_id",
        "bah_created_at",
        "bah_from",
        "bah_to",
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
        "debtor_agent",
        "creditor_agent",
        "bah_biz_msg_id",
        "bah_msg_def_id",
        "bah_created_at",
        "bah_from",
        "bah_to",
        "instructing_agent",
        "instructed_agent",
        "debtor_agent_name",
        "creditor_agent_name",
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


# detail fields copied into an entry row under the same name (the end of ROW_FIELDS["entry"])
_DETAIL_FIELDS = ROW_FIELDS["entry"][ROW_FIELDS["entry"].index("end_to_end_id") :]
_NO_DETAILS = TransactionDetails()


def to_rows(record: Record) -> Iterator[dict]:
    """Flatten one record into rows of ROW_FIELDS[kind] (plus 'record': kind).

    An entry gives one row per transaction detail (one row when it has none).
    Both levels are kept side by side: ``entry_amount``, ``entry_currency`` and
    ``entry_credit_debit`` are the booked entry's (what anything summing entries
    uses), ``detail_amount``, ``detail_currency`` and ``detail_credit_debit`` the
    detail's own, as the file gives them (empty where it does not). ``amount``,
    ``currency`` and ``credit_debit`` are the row's movement, all three from one
    level: the detail's for a batch (several details) whose detail states an
    amount, else the entry's. ``detail_count`` is the number of details of the
    entry, empty for an entry whose details were streamed in parts.
    """
    kind = record_kind(record)
    row: dict[str, Any]
    if kind != "entry":
        row = {"record": kind}
        for name in ROW_FIELDS[kind]:
            row[name] = getattr(record, name)
        yield row
        return

    assert isinstance(record, Entry)  # record_kind said so
    entry = record
    details = entry.transactions or [_NO_DETAILS]
    streamed = entry.is_streamed
    batch = streamed or len(details) > 1
    for index, tx in enumerate(details, entry.detail_offset):
        if batch and tx.amount is not None:
            amount, currency, direction = tx.amount, tx.currency, tx.credit_debit or entry.credit_debit
        else:
            amount, currency, direction = entry.amount, entry.currency, entry.credit_debit
        row = {
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
            "currency": currency,
            "credit_debit": direction,
            "status": entry.status,
            "booking_date": entry.booking_date,
            "booking_date_time": entry.booking_date_time,
            "value_date": entry.value_date,
            "acct_svcr_ref": entry.acct_svcr_ref,
            "is_reversal": entry.is_reversal,
            "bank_tx_code": entry.bank_tx_code,
            "entry_amount": entry.amount,
            "detail_count": None if streamed else len(entry.transactions),
            "tx_acct_svcr_ref": tx.acct_svcr_ref,
            "entry_currency": entry.currency,
            "entry_credit_debit": entry.credit_debit,
            "detail_amount": tx.amount,
            "detail_currency": tx.currency,
            "detail_credit_debit": tx.credit_debit,
            "additional_entry_info": entry.additional_info,
            "batch_message_id": entry.batch_message_id,
            "batch_payment_info_id": entry.batch_payment_info_id,
            "batch_tx_count": entry.batch_tx_count,
            "batch_total_amount": entry.batch_total_amount,
            "tx_bank_tx_code": tx.bank_tx_code,
            "additional_tx_info": tx.additional_info,
            "tx_accepted_at": tx.accepted_at,
            "tx_settlement_date": tx.settlement_date,
            "bank_tx_code_proprietary": entry.bank_tx_code_proprietary,
            "bank_tx_code_issuer": entry.bank_tx_code_issuer,
            "tx_bank_tx_code_proprietary": tx.bank_tx_code_proprietary,
            "tx_bank_tx_code_issuer": tx.bank_tx_code_issuer,
        }
        for name in _DETAIL_FIELDS:
            row[name] = getattr(tx, name)
        yield row
