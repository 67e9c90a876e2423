"""camt.052 reports, camt.053 statements, camt.054 notifications: every version, streamed.

One reader serves all three messages and all versions (.001.01 to .001.14 and
the national variants), because they share the statement structure and differ
only in element names, which are read by local name: ``BIC``/``BICFI``, a plain
``Sts`` code or ``Sts/Cd``/``Prtry``, ``Dbtr/Nm`` or ``Dbtr/Pty/Nm``,
``TxDtls/Amt`` or ``TxDtls/AmtDtls/TxAmt/Amt``, ``NtryDtls/TxDtls`` or (.001.01)
``Ntry/TxDtls``, ``Bal/Tp/CdOrPrtry`` or ``Bal/Tp``.

Memory stays flat on files of any size: the parse reports only GrpHdr, the
statement element and its ``Ntry`` elements; each entry is read when it ends,
in one pass over its children and its details (looked up by whole namespaced
tag, one dict lookup a child), then cleared and removed with everything before
it. An entry still open after a whole chunk of input (a large batch) is instead
read from the tree as its TxDtls end: after each such chunk the details it has
completed are read and removed (``detect.Quiet``), so the tree never holds more
than a chunk of them. An entry of more than DETAILS_PER_PART details is
yielded in parts of that many (records.Entry), however it was read. The statement header (and its
balances) is read when the first entry ends, or the statement itself when it
has none; its AddtlStmtInf, which the schema puts after the entries, when the
statement ends: so the Statement and Balance records come after the
statement's entries. A statement without its own CreDtTm (optional from
.001.08) takes the message's.

Arithmetic checks run when a statement ends and come out as ``Finding``
records: TxsSummry counts and sums against the entries, and, where the
statement has an opening (OPBD, else PRCD) and a closing (CLBD) balance,
opening + credits - debits = closing over the BOOK entries in the closing
balance's currency. Reversal entries (RvslInd) count in the direction their
CdtDbtInd states: in camt that is already the direction of the reversal
booking (a returned credit is a DBIT entry). The corpus agrees: the dvbern
PostFinance statement of 2016-04-30, with two reversals, balances this way and
no other (leaving reversals out, or flipping them, misses by 21.53 or 43.06).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, Iterator

from lxml import etree

from parsers import values
from parsers.detect import MessageInfo, Quiet, end_elements, release
from parsers.errors import ParseError
from parsers.records import (
    CREDIT,
    Balance,
    Entry,
    Finding,
    Record,
    Statement,
    TransactionDetails,
)

STATEMENT_ELEMENTS = {"camt.052": "Rpt", "camt.053": "Stmt", "camt.054": "Ntfctn"}
DETAILS_PER_PART = 1000  # a batch entry with more details is yielded in parts (records.Entry)
_BOOKED = "BOOK"
_STATEMENT_TRAILER = ("AddtlStmtInf", "AddtlRptInf", "AddtlNtfctnInf")  # the schema puts it after the entries
_OPENING, _PREVIOUS_CLOSING = "OPBD", "PRCD"  # PRCD stands in when there is no OPBD
_CLOSING = "CLBD"
# children a statement or a balance may hold once only
_STATEMENT_SINGLES = frozenset(
    {"Id", "ElctrncSeqNb", "LglSeqNb", "CreDtTm", "FrToDt", "Acct", "TxsSummry", "CpyDplctInd", *_STATEMENT_TRAILER}
)
_BALANCE_SINGLES = frozenset({"Tp", "Amt", "CdtDbtInd", "Dt"})


@dataclass(slots=True)
class _Open:
    """The statement being read, and what its entries have added up to so far."""

    element: etree._Element
    statement: Statement
    balances: list[Balance]
    entries: int = 0
    credit_count: int = 0
    credit_sum: Decimal = Decimal(0)
    debit_count: int = 0
    debit_sum: Decimal = Decimal(0)
    booked: dict[str, Decimal] = field(default_factory=dict)  # currency -> credits - debits


@dataclass(slots=True)
class _Batch:
    """The entry whose details are being read, one TxDtls at a time."""

    element: etree._Element
    entry: Entry  # header of the entry: its fields before the first NtryDtls
    details: list[TransactionDetails] = field(default_factory=list)  # not yet yielded
    count: int = 0  # details read so far
    total: Decimal = Decimal(0)  # signed sum of the details in the entry's currency
    unsigned: Decimal = Decimal(0)  # the same, every detail counted in the entry's direction
    summable: bool = True  # every detail states an amount in the entry's currency
    contrary: int = 0  # details whose CdtDbtInd contradicts the entry's


def read_bank_to_customer(stream: BinaryIO, info: MessageInfo, file: str) -> Iterator[Record]:
    t = _tags(f"{{{info.namespace}}}" if info.namespace else "")
    statement_tag, entry_tag, detail_tag = t.statement[info.message_type], t.entry_tag, t.detail_tag
    group: values.GroupHeader | None = None
    current: _Open | None = None
    batch: _Batch | None = None  # an entry too large for one chunk of input, streamed
    root: etree._Element | None = None
    quiet = Quiet()
    # no TxDtls events (each would cost a proxy and a generator step on every entry):
    # the details of an entry that outlasts a chunk of input are read from the tree
    tags = (t.header_tag, statement_tag, entry_tag)
    for element in end_elements(stream, file, info, tags, quiet):
        if element is None:  # a chunk ended no entry: read the details the open one has completed
            if root is None:
                continue
            holder, done = _completed_details(root, t)
            if holder is None or not done:
                continue
            statement_element = holder.getparent()
            if statement_element is None or statement_element.tag != statement_tag:
                continue  # a TxDtls outside a statement's entry: none of the versions has one
            if current is None or current.element is not statement_element:
                current = _open(statement_element, group, info, file, t)
            if batch is None or batch.element is not holder:
                batch = _Batch(holder, _entry(holder, current.statement, current.entries, file, t, None))
            quiet.progress = True
            for detail_element in done:
                yield from _read_detail(batch, detail_element, file, t)
                detail_element.getparent().remove(detail_element)
            continue
        if root is None:
            root = element.getroottree().getroot()
        tag = element.tag
        if tag == entry_tag:
            parent = element.getparent()
            if current is None or current.element is not parent:  # (a statement's tag is known)
                if parent is None or parent.tag != statement_tag:
                    continue  # not a statement's entry (none of the versions nests one)
                current = _open(parent, group, info, file, t)
            if batch is not None and batch.element is element:
                for detail_element in element.iter(detail_tag):  # those not read yet
                    yield from _read_detail(batch, detail_element, file, t)
                _finish_entry(batch.entry, element, file, t.qlen)
                entry = _part(batch, more=False)
                _add_to_statement(current, entry)
                yield entry
                if batch.contrary or (batch.summable and batch.total != entry.amount):
                    yield from _detail_findings(batch, current.statement)
                batch = None
            else:
                entry = _entry(element, current.statement, current.entries, file, t, [])
                _add_to_statement(current, entry)
                if len(entry.transactions) > DETAILS_PER_PART:
                    yield from _parts(entry)  # as a streamed batch comes (records.Entry)
                else:
                    yield entry
                if entry.transactions and _details_disagree(entry):
                    checked = _Batch(element, entry)
                    for detail in entry.transactions:
                        _count_detail(checked, detail)
                    yield from _detail_findings(checked, current.statement)
        elif tag == statement_tag:
            if current is None or current.element is not element:
                current = _open(element, group, info, file, t)  # no entries: every child is still there
            else:
                _close(current, element, file, t)  # what the statement holds after its entries
            yield current.statement
            yield from current.balances
            yield from _findings(current, file)
            current = None
        else:
            group = values.group_header(element, file, t.qlen)
            continue
        release(element)


def _completed_details(root: etree._Element, t: _Tags) -> tuple[etree._Element | None, list[etree._Element]]:
    """The entry the parser is inside (the last one on the tree's open path) and its TxDtls that
    have ended (all but the one still open), or (None, [])."""
    node, holder, open_detail = root, None, None
    while len(node):
        node = node[-1]
        tag = node.tag
        if tag == t.entry_tag:
            holder = node
        elif tag == t.detail_tag and holder is not None:
            open_detail = node
            break
    if holder is None:
        return None, []
    return holder, [detail for detail in holder.iter(t.detail_tag) if detail is not open_detail]


def _read_detail(batch: _Batch, element: etree._Element, file: str, t: _Tags) -> Iterator[Entry]:
    detail = _details(element, file, t)
    _count_detail(batch, detail)
    batch.details.append(detail)
    if len(batch.details) == DETAILS_PER_PART:
        yield _part(batch, more=True)


def _parts(entry: Entry) -> Iterator[Entry]:
    """An entry read whole whose details are more than one part: the parts a streamed batch gives
    (only the last carries what the file writes after the details)."""
    details = entry.transactions
    last = (len(details) - 1) // DETAILS_PER_PART * DETAILS_PER_PART
    for offset in range(0, last, DETAILS_PER_PART):
        yield dataclasses.replace(
            entry,
            transactions=details[offset : offset + DETAILS_PER_PART],
            detail_offset=offset,
            more_details=True,
            additional_info=None,
        )
    yield dataclasses.replace(entry, transactions=details[last:], detail_offset=last, more_details=False)


class _Tags:
    """Namespaced tags of one message namespace, built once: readers compare and look up whole tags."""

    def __init__(self, q: str) -> None:
        self.qlen = len(q)
        self.header_tag, self.entry_tag, self.detail_tag = q + "GrpHdr", q + "Ntry", q + "TxDtls"
        self.statement = {message: q + name for message, name in STATEMENT_ELEMENTS.items()}
        self.statement_trailer = frozenset(q + name for name in _STATEMENT_TRAILER)
        self.entry = {q + name: code for name, code in _ENTRY_CODES.items()}
        self.detail = {q + name: code for name, code in _DETAIL_CODES.items()}
        self.references = {q + name: attribute for name, attribute in _REFERENCES.items()}
        self.entry_details, self.batch = q + "NtryDtls", q + "Btch"
        self.dt, self.dttm, self.cd, self.prtry = q + "Dt", q + "DtTm", q + "Cd", q + "Prtry"
        self.nm, self.pty, self.id, self.iban = q + "Nm", q + "Pty", q + "Id", q + "IBAN"
        self.ustrd, self.domain, self.family, self.issuer = q + "Ustrd", q + "Domn", q + "Fmly", q + "Issr"
        self.parties = {q + "Dbtr": 1, q + "DbtrAcct": 2, q + "Cdtr": 3, q + "CdtrAcct": 4}


@functools.lru_cache(maxsize=64)
def _tags(q: str) -> _Tags:
    return _Tags(q)


# The children of an entry and of a transaction detail the readers take, by code;
# codes up to _ENTRY_SINGLE / _DETAIL_SINGLE may appear once (two Amt would make the money ambiguous)
_ENTRY_CODES = {
    "Amt": 1,
    "CdtDbtInd": 2,
    "Sts": 3,
    "BookgDt": 4,
    "ValDt": 5,
    "AcctSvcrRef": 6,
    "NtryRef": 7,
    "RvslInd": 8,
    "BkTxCd": 9,
    "AddtlNtryInf": 10,
    "NtryDtls": 11,
    "TxDtls": 12,  # .001.01: directly under Ntry
}
_ENTRY_SINGLE = 10
_DETAIL_CODES = {
    "Refs": 1,
    "Amt": 2,
    "CdtDbtInd": 3,
    "AmtDtls": 4,
    "BkTxCd": 5,
    "RltdPties": 6,
    "RltdAgts": 7,
    "LclInstrm": 8,
    "Purp": 9,
    "RmtInf": 10,
    "RltdDts": 11,
    "RtrInf": 12,
    "AddtlTxInf": 13,
    "Chrgs": 14,  # once from .001.03; one per charge in .001.02
}
_DETAIL_SINGLE = 13


def _twice(file: str, element: etree._Element, parent: str) -> ParseError:
    return values.error(file, element, f"{values.local_name(element.tag)} appears more than once in one {parent}")


def _entry(
    element: etree._Element,
    statement: Statement,
    index: int,
    file: str,
    t: _Tags,
    details: list[TransactionDetails] | None,
) -> Entry:
    """The entry, read in one pass over its children.

    With ``details`` (a list) the entry has ended: its transaction details are
    read into it. Without, it is a batch still being read: only the fields
    before its first detail (its details are read from the tree as they end: read_bank_to_customer).
    """
    amount = currency = direction = status = None
    booking_date = booking_moment = value_date = entry_ref = servicer_ref = additional = None
    code = proprietary = issuer = None
    reversal = False
    batch: dict[str, Any] | None = None
    seen = 0
    codes = t.entry
    for child in element:
        kind = codes.get(child.tag)
        if kind is None:
            continue
        if kind <= _ENTRY_SINGLE:
            bit = 1 << kind
            if seen & bit:
                raise _twice(file, child, "Ntry")
            seen |= bit
            if kind == 1:
                amount, currency = values.amount(file, child)
            elif kind == 2:
                direction = child.text
                if direction not in values.CREDIT_DEBIT:  # padded, or wrong: the full rule says which
                    direction = values.credit_debit(file, child)
            elif kind == 3:
                status = _code_choice(child, t)
            elif kind == 4:
                booking_date, booking_moment = _date_choice(file, child, t)
            elif kind == 5:
                value_date = _date_choice(file, child, t)[0]
            elif kind == 6:
                servicer_ref = values.text(child)
            elif kind == 7:
                entry_ref = values.text(child)
            elif kind == 8:
                reversal = values.boolean(file, child)
            elif kind == 9:
                code, proprietary, issuer = _bank_tx_code(child, t)
            else:
                additional = values.text(child)
        elif details is None:
            if kind == 12 or batch is not None:
                break  # a streamed batch's details are read one by one as they end
            batch = _batch(child, file, t)
        elif kind == 11:
            for part in child:
                part_tag = part.tag
                if part_tag == t.detail_tag:
                    details.append(_details(part, file, t))
                elif part_tag == t.batch and batch is None:
                    batch = _batch_fields(part, file, t.qlen)
        else:
            details.append(_details(child, file, t))
    if amount is None or currency is None:
        raise values.missing(file, element, "Amt")
    if direction is None:
        raise values.missing(file, element, "CdtDbtInd")
    entry = Entry(
        message_type=statement.message_type,
        message_id=statement.message_id,
        statement_id=statement.statement_id,
        account=statement.account,
        account_currency=statement.account_currency,
        amount=amount,
        currency=currency,
        credit_debit=direction,
        status=status,
        booking_date=booking_date,
        booking_date_time=booking_moment,
        value_date=value_date,
        entry_ref=entry_ref,
        acct_svcr_ref=servicer_ref,
        is_reversal=reversal,
        bank_tx_code=code,
        bank_tx_code_proprietary=proprietary,
        bank_tx_code_issuer=issuer,
        entry_index=index,
        transactions=details if details is not None else [],
        additional_info=additional,
        line=element.sourceline,
    )
    if batch:
        entry.batch_message_id = batch.get("batch_message_id")
        entry.batch_payment_info_id = batch.get("batch_payment_info_id")
        entry.batch_tx_count = batch.get("batch_tx_count")
        entry.batch_total_amount = batch.get("batch_total_amount")
    return entry


def _code_choice(element: etree._Element, t: _Tags) -> str | None:
    """values.code_choice on whole tags: Cd, else Prtry, else the element's own text."""
    value = None
    for child in element:
        tag = child.tag
        if tag == t.cd:
            return values.text(child)
        if tag == t.prtry:
            value = values.text(child)
    return value if value is not None else values.text(element)


def _date_choice(file: str, element: etree._Element, t: _Tags) -> tuple[date | None, datetime | None]:
    """(date, date-time) of a Dt/DtTm choice (values.date_choice, on whole tags)."""
    for child in element:
        tag = child.tag
        if tag == t.dt:
            raw = child.text
            try:
                return date.fromisoformat(raw), None
            except (TypeError, ValueError):
                return values.to_date(file, child), None  # padded, with an offset, or not a date
        if tag == t.dttm:
            moment = values.to_datetime(file, child)
            return moment.date(), moment
    return None, None


def _part(batch: _Batch, more: bool) -> Entry:
    """The batch's details read since the last part, as an Entry record (see records.Entry)."""
    details, batch.details = batch.details, []
    offset = batch.count - len(details)
    if offset == 0 and not more:
        batch.entry.transactions = details
        return batch.entry
    return dataclasses.replace(batch.entry, transactions=details, detail_offset=offset, more_details=more)


def _count_detail(batch: _Batch, detail: TransactionDetails) -> None:
    entry = batch.entry
    batch.count += 1
    if detail.credit_debit is not None and detail.credit_debit != entry.credit_debit:
        batch.contrary += 1
    if detail.amount is None or detail.currency != entry.currency:
        batch.summable = False
        return
    batch.unsigned += detail.amount
    if (detail.credit_debit or entry.credit_debit) == entry.credit_debit:
        batch.total += detail.amount
    else:
        batch.total -= detail.amount


def _add_to_statement(current: _Open, entry: Entry) -> None:
    current.entries += 1
    amount = entry.amount
    if entry.credit_debit == CREDIT:
        current.credit_count += 1
        current.credit_sum += amount
    else:
        current.debit_count += 1
        current.debit_sum += amount
        amount = -amount
    if entry.status == _BOOKED:
        booked = current.booked
        booked[entry.currency] = booked.get(entry.currency, Decimal(0)) + amount


def _detail_findings(batch: _Batch, statement: Statement) -> Iterator[Finding]:
    """A batch entry's details against the entry: they must add up to it and share its direction."""
    entry = batch.entry
    where = f"entry {entry.entry_index}" + (f" (NtryRef {entry.entry_ref})" if entry.entry_ref else "")
    # a detail in the other direction is its own finding; the sum is then only
    # wrong when it misses whichever way the contrary details are counted
    if batch.summable and batch.total != entry.amount and batch.unsigned != entry.amount:
        yield Finding(
            statement.message_type,
            statement.message_id,
            statement.statement_id,
            statement.account,
            "details_sum",
            entry.amount,
            batch.total,
            f"{where}: {entry.amount} {entry.currency} {entry.credit_debit}, but its {batch.count} "
            f"transaction details add up to {batch.total} in its direction",
            entry.line,
        )
    if batch.contrary:
        yield Finding(
            statement.message_type,
            statement.message_id,
            statement.statement_id,
            statement.account,
            "details_direction",
            Decimal(0),
            Decimal(batch.contrary),
            f"{where} is {entry.credit_debit}, but {batch.contrary} of its {batch.count} transaction details "
            f"state the other direction",
            entry.line,
        )


def _open(element: etree._Element, group: values.GroupHeader | None, info: MessageInfo, file: str, t: _Tags) -> _Open:
    """The statement header and balances, read from the children before the first Ntry
    (and, of a statement without entries, its AddtlStmtInf: see _close)."""
    qlen = t.qlen
    if group is None:
        raise values.missing(file, element.getparent(), "GrpHdr")
    statement_id = account = currency = servicer = None
    electronic = legal = None
    created_at = from_at = to_at = None
    summary: dict[str, Any] = {}
    has_account = False
    balance_elements = []
    extras: dict[str, Any] = dict(group.pagination)
    seen: set[str] = set()
    for child in element:
        name = child.tag[qlen:]
        if name == "Ntry":
            break
        if name in _STATEMENT_SINGLES:
            values.once(file, child, name, seen)
        if name == "Id":
            statement_id = values.text(child)
        elif name == "Acct":
            has_account = True
            account = values.account_id(child)
            for part in child:
                part_name = part.tag[qlen:]
                if part_name == "Ccy":
                    currency = values.text(part)
                elif part_name == "Svcr":
                    servicer = values.agent_bic(part)
        elif name == "Bal":
            balance_elements.append(child)
        elif name == "CreDtTm":
            created_at = values.to_datetime(file, child)
        elif name == "FrToDt":
            for bound in child:
                if bound.tag[qlen:] == "FrDtTm":
                    from_at = values.to_datetime(file, bound)
                elif bound.tag[qlen:] == "ToDtTm":
                    to_at = values.to_datetime(file, bound)
        elif name == "ElctrncSeqNb":
            electronic = values.integer(file, child)
        elif name == "LglSeqNb":
            legal = values.integer(file, child)
        elif name == "TxsSummry":
            summary = _summary(child, file, qlen)
        elif name == "AddtlStmtInf" or name == "AddtlRptInf" or name == "AddtlNtfctnInf":
            extras["additional_info"] = values.text(child)
        elif name == "CpyDplctInd":
            extras["copy_duplicate"] = values.text(child)
    if statement_id is None:
        raise values.missing(file, element, "Id")
    if not has_account:
        raise values.missing(file, element, "Acct")
    statement = Statement(
        message_type=info.message_type,
        message_id=group.message_id,
        statement_id=statement_id,
        account=account,
        account_currency=currency,
        servicer_bic=servicer,
        created_at=created_at or group.created_at,
        from_at=from_at,
        to_at=to_at,
        electronic_seq_nb=electronic,
        legal_seq_nb=legal,
        line=element.sourceline,
        **summary,
        **extras,
        **info.business_header,
    )
    balances = [_balance(child, statement, file, qlen) for child in balance_elements]
    return _Open(element, statement, balances)


def _close(current: _Open, element: etree._Element, file: str, t: _Tags) -> None:
    """What the statement holds after its entries (its earlier children are released by now):
    AddtlStmtInf (AddtlRptInf, AddtlNtfctnInf), the statement's additional information."""
    seen: set[str] = set()
    for child in element:
        if child.tag in t.statement_trailer:
            values.once(file, child, child.tag[t.qlen :], seen)
            current.statement.additional_info = values.text(child)


def _details_disagree(entry: Entry) -> bool:
    """Whether an entry's details state the other direction or, all in its currency, miss its amount
    (the cheap test; _detail_findings says how)."""
    direction, currency = entry.credit_debit, entry.currency
    total = Decimal(0)
    summable = True
    for detail in entry.transactions:
        if detail.credit_debit is not None and detail.credit_debit != direction:
            return True
        if summable:
            if detail.amount is None or detail.currency != currency:
                summable = False
            else:
                total += detail.amount
    return summable and total != entry.amount


def _summary(element: etree._Element, file: str, qlen: int) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    prefixes = {"TtlNtries": "summary_entry", "TtlCdtNtries": "summary_credit", "TtlDbtNtries": "summary_debit"}
    for part in element:
        prefix = prefixes.get(part.tag[qlen:])
        if prefix is None:
            continue
        for child in part:
            name = child.tag[qlen:]
            if name == "NbOfNtries":
                fields[prefix + "_count"] = values.integer(file, child)
            elif name == "Sum" and prefix != "summary_entry":
                fields[prefix + "_sum"] = values.signed_decimal(file, child)
    return fields


def _balance(element: etree._Element, statement: Statement, file: str, qlen: int) -> Balance:
    type_code = amount = currency = direction = day = moment = None
    seen: set[str] = set()
    for child in element:
        name = child.tag[qlen:]
        if name in _BALANCE_SINGLES:
            if name in seen:
                values.once(file, child, name, seen)
            seen.add(name)
        if name == "Tp":
            choice = next((c for c in child if c.tag[qlen:] == "CdOrPrtry"), child)
            type_code = values.code_choice(choice)
        elif name == "Amt":
            amount, currency = values.amount(file, child)
        elif name == "CdtDbtInd":
            direction = values.credit_debit(file, child)
        elif name == "Dt":
            day, moment = values.date_choice(file, child)
    for value, name in ((type_code, "Tp"), (amount, "Amt")):
        if value is None:
            raise values.missing(file, element, name)
    assert type_code is not None and amount is not None and currency is not None
    return Balance(
        message_type=statement.message_type,
        message_id=statement.message_id,
        statement_id=statement.statement_id,
        account=statement.account,
        type_code=type_code,
        amount=amount,
        currency=currency,
        # tolerated: real exports leave CdtDbtInd out of credit balances; the
        # statement's arithmetic confirms or refutes the assumption (_findings)
        credit_debit=direction or CREDIT,
        date=day,
        date_time=moment,
        credit_debit_assumed=direction is None,
        line=element.sourceline,
    )


def _finish_entry(entry: Entry, element: etree._Element, file: str, qlen: int) -> None:
    """What a batch entry holds after its details: AddtlNtryInf, the last child the schema allows."""
    count = len(element)
    last = element[count - 1] if count else None
    if last is None or last.tag[qlen:] != "AddtlNtryInf":
        return
    if count > 1 and element[count - 2].tag[qlen:] == "AddtlNtryInf":
        raise values.error(file, last, "AddtlNtryInf appears more than once in one Ntry")
    entry.additional_info = values.text(last)


def _batch(element: etree._Element, file: str, t: _Tags) -> dict[str, Any]:
    """The Btch of an NtryDtls, if it has one."""
    for child in element:
        if child.tag == t.batch:
            return _batch_fields(child, file, t.qlen)
    return {}


def _batch_fields(element: etree._Element, file: str, qlen: int) -> dict[str, Any]:
    """NtryDtls/Btch: message id, payment-information id, number and total of its transactions."""
    batch: dict[str, Any] = {}
    for part in element:
        name = part.tag[qlen:]
        if name == "MsgId":
            batch["batch_message_id"] = values.text(part)
        elif name == "PmtInfId":
            batch["batch_payment_info_id"] = values.text(part)
        elif name == "NbOfTxs":
            batch["batch_tx_count"] = values.integer(file, part)
        elif name == "TtlAmt":
            batch["batch_total_amount"] = values.amount(file, part)[0]
    return batch


def _bank_tx_code(element: etree._Element, t: _Tags) -> tuple[str | None, str | None, str | None]:
    """(code, proprietary code, its issuer) of a BkTxCd.

    The code is Domn/Cd/Fmly/Cd/SubFmlyCd joined by '/', else Prtry/Cd; the
    proprietary code (Prtry/Cd) and its issuer (Prtry/Issr) are kept beside it
    whether or not there is a domain code (banks send both).
    """
    code = proprietary = issuer = None
    choice = None  # the Prtry
    for child in element:
        tag = child.tag
        if tag == t.domain:
            if code is not None:
                continue
            domain = family = None
            for part in child:
                part_tag = part.tag
                if part_tag == t.cd:
                    domain = part.text
                elif part_tag == t.family:
                    family = part
            if domain is not None and family is not None and len(family) == 2:
                first, second = family  # Cd, SubFmlyCd
                domain, family_code, sub_family = domain.strip(), first.text, second.text
                if domain and family_code and sub_family:
                    family_code, sub_family = family_code.strip(), sub_family.strip()
                    if family_code and sub_family:
                        code = f"{domain}/{family_code}/{sub_family}"
        elif tag == t.prtry:
            choice = child
            for part in child:
                part_tag = part.tag
                if part_tag == t.cd:
                    proprietary = values.text(part)
                elif part_tag == t.issuer:
                    issuer = values.text(part)
    if code is None and choice is not None:
        code = _code_choice(choice, t)
    return code, proprietary, issuer


def _details(element: etree._Element, file: str, t: _Tags) -> TransactionDetails:
    tx = TransactionDetails()
    amount_details = None
    seen = 0
    codes, qlen = t.detail, t.qlen
    for child in element:
        kind = codes.get(child.tag)
        if kind is None:
            continue
        if kind <= _DETAIL_SINGLE:
            bit = 1 << kind
            if seen & bit:
                raise _twice(file, child, "TxDtls")
            seen |= bit
        if kind == 1:
            _references(tx, child, file, t)
        elif kind == 2:
            tx.amount, tx.currency = values.amount(file, child)
        elif kind == 3:
            direction = child.text
            tx.credit_debit = direction if direction in values.CREDIT_DEBIT else values.credit_debit(file, child)
        elif kind == 6:
            _related_parties(tx, child, t)
        elif kind == 10:
            _remittance(tx, child, file, t)
        elif kind == 4:
            amount_details = child
        elif kind == 5:
            tx.bank_tx_code, tx.bank_tx_code_proprietary, tx.bank_tx_code_issuer = _bank_tx_code(child, t)
        elif kind == 14:
            amount, currency, bearer = _charges(child, file, qlen)
            if tx.charges_amount is None or tx.charges_currency == currency:
                tx.charges_amount = (tx.charges_amount or Decimal(0)) + (amount or Decimal(0))
                tx.charges_currency = currency
            tx.charge_bearer = tx.charge_bearer or bearer
        elif kind == 7:
            for agent in child:
                agent_name = agent.tag[qlen:]
                if agent_name == "DbtrAgt":
                    tx.debtor_agent_bic = values.agent_bic(agent)
                    tx.debtor_agent = values.participant(agent).key
                elif agent_name == "CdtrAgt":
                    tx.creditor_agent_bic = values.agent_bic(agent)
                    tx.creditor_agent = values.participant(agent).key
        elif kind == 8:
            tx.local_instrument = values.code_choice(child)
        elif kind == 9:
            tx.purpose = values.code_choice(child)
        elif kind == 11:
            for moment in child:
                moment_name = moment.tag[qlen:]
                if moment_name == "AccptncDtTm":
                    tx.accepted_at = values.to_datetime(file, moment)
                elif moment_name == "IntrBkSttlmDt":
                    tx.settlement_date = values.to_date(file, moment)
        elif kind == 12:
            tx.return_reason_code, tx.return_additional_info = values.reason(child, qlen)
        else:
            tx.additional_info = values.text(child)
    if amount_details is not None:
        _amount_details(tx, amount_details, file, qlen)
    return tx


def _related_parties(tx: TransactionDetails, element: etree._Element, t: _Tags) -> None:
    """RltdPties: the debtor's and creditor's names (Nm, or Pty/Nm from .001.08) and accounts (IBAN, else Othr/Id)."""
    roles, nm, pty = t.parties, t.nm, t.pty
    for party in element:
        role = roles.get(party.tag)
        if role is None:
            continue
        value = None
        if role == 1 or role == 3:  # Dbtr, Cdtr: a party
            for child in party:
                tag = child.tag
                if tag == nm:
                    value = child.text
                    break
                if tag == pty:
                    value = _party_name(child, t)
                    break
        else:  # DbtrAcct, CdtrAcct: an account
            for identification in party:
                if identification.tag == t.id:
                    for choice in identification:
                        value = choice.text if choice.tag == t.iban else values.account_id(party, t.qlen)
                        break
                    break
        if value is not None:
            value = value.strip() or None
        if role == 1:
            tx.debtor_name = value
        elif role == 2:
            tx.debtor_account = value
        elif role == 3:
            tx.creditor_name = value
        else:
            tx.creditor_account = value


def _party_name(party: etree._Element, t: _Tags) -> str | None:
    """values.party_name on whole tags."""
    for child in party:
        tag = child.tag
        if tag == t.nm:
            value = child.text
            return value.strip() or None if value is not None else None
        if tag == t.pty:
            return _party_name(child, t)
    return None


def _remittance(tx: TransactionDetails, element: etree._Element, file: str, t: _Tags) -> None:
    """RmtInf; one Ustrd line, the most common form, read directly."""
    if len(element) == 1:
        line = element[0]
        if line.tag == t.ustrd:
            value = line.text
            tx.remittance_info = value.strip() or None if value is not None else None
            return
    remittance = values.remittance(element, file, t.qlen)
    tx.remittance_info = remittance.unstructured
    tx.creditor_reference = remittance.creditor_reference
    tx.creditor_reference_type = remittance.creditor_reference_type
    tx.referred_documents = remittance.referred_documents


def _references(tx: TransactionDetails, element: etree._Element, file: str, t: _Tags) -> None:
    seen: set[str] = set()
    proprietary = []
    attributes = t.references
    for ref in element:
        tag = ref.tag
        attribute = attributes.get(tag)
        if attribute is None:
            if tag == t.prtry:
                fields = values.children(ref, t.qlen, file)
                kind, value = values.text(fields.get("Tp")), values.text(fields.get("Ref"))
                proprietary.append(f"{kind}={value}" if kind else value or "")
                continue
            name = tag[t.qlen :]
            if name in seen:
                values.once(file, ref, name, seen)
            seen.add(name)
            continue
        if tag in seen:
            raise _twice(file, ref, "Refs")
        seen.add(tag)
        value = ref.text
        setattr(tx, attribute, value.strip() or None if value is not None else None)
    if proprietary:
        tx.proprietary_refs = "\n".join(proprietary)


_REFERENCES = {
    "EndToEndId": "end_to_end_id",
    "UETR": "uetr",
    "TxId": "tx_id",
    "InstrId": "instr_id",
    "MsgId": "msg_id",
    "AcctSvcrRef": "acct_svcr_ref",
    "PmtInfId": "payment_info_id",
    "MndtId": "mandate_id",
}


def _amount_details(tx: TransactionDetails, element: etree._Element, file: str, qlen: int) -> None:
    """AmtDtls: instructed amount, exchange rate; the transaction amount where TxDtls has no Amt (.001.02)."""
    for part in element:
        name = part.tag[qlen:]
        if name not in ("InstdAmt", "TxAmt"):
            continue
        fields = values.children(part, qlen, file)
        amount = fields.get("Amt")
        exchange = fields.get("CcyXchg")
        if exchange is not None and tx.exchange_rate is None:
            rate = values.children(exchange, qlen, file).get("XchgRate")
            if rate is not None:
                tx.exchange_rate = values.signed_decimal(file, rate)
        if amount is None:
            continue
        if name == "InstdAmt":
            tx.instructed_amount, tx.instructed_currency = values.amount(file, amount)
        elif tx.amount is None:
            # .001.02 has no TxDtls/Amt: the transaction amount sits in AmtDtls/TxAmt/Amt
            tx.amount, tx.currency = values.amount(file, amount)


def _charges(element: etree._Element, file: str, qlen: int) -> tuple[Decimal | None, str | None, str | None]:
    """(total, currency, bearer) of Chrgs: TtlChrgsAndTaxAmt, else the sum of its records (.001.02: flat)."""
    total = currency = bearer = None
    summed: Decimal | None = None
    for child in element:
        name = child.tag[qlen:]
        if name == "TtlChrgsAndTaxAmt":
            total, currency = values.amount(file, child)
        elif name in ("Rcrd", "Chrgs") or (name == "Amt" and len(child) == 0):
            record = values.children(child, qlen, file) if len(child) else {"Amt": child}
            amount = record.get("Amt")
            if amount is not None:
                value, record_currency = values.amount(file, amount)
                if summed is None or record_currency == currency:
                    summed = (summed or Decimal(0)) + value
                    currency = currency or record_currency
            for bearer_name in ("ChrgBr", "Br"):
                if record.get(bearer_name) is not None:
                    bearer = bearer or values.text(record[bearer_name])
        elif name == "ChrgBr" or name == "Br":
            bearer = values.text(child)
    return (total if total is not None else summed), currency, bearer


def _findings(current: _Open, file: str) -> Iterator[Finding]:
    statement = current.statement

    def finding(check: str, expected: Decimal, actual: Decimal, detail: str) -> Finding:
        return Finding(
            statement.message_type,
            statement.message_id,
            statement.statement_id,
            statement.account,
            check,
            expected,
            actual,
            detail,
            statement.line,
        )

    stated = (
        ("entry_count", statement.summary_entry_count, current.entries),
        ("credit_count", statement.summary_credit_count, current.credit_count),
        ("credit_sum", statement.summary_credit_sum, current.credit_sum),
        ("debit_count", statement.summary_debit_count, current.debit_count),
        ("debit_sum", statement.summary_debit_sum, current.debit_sum),
    )
    for check, expected, actual in stated:
        # some banks write the debit sum negative; entry amounts are unsigned
        if expected is not None and abs(Decimal(expected)) != actual:
            yield finding(
                check, Decimal(expected), Decimal(actual), f"TxsSummry states {expected}, the entries give {actual}"
            )

    openings: dict[str, Balance] = {}
    closings: dict[str, Balance] = {}
    for balance in current.balances:
        if balance.type_code == _OPENING:
            openings[balance.currency] = balance
        elif balance.type_code == _PREVIOUS_CLOSING:
            openings.setdefault(balance.currency, balance)
        elif balance.type_code == _CLOSING:
            closings.setdefault(balance.currency, balance)
    pairs = [(openings[currency], closing) for currency, closing in closings.items() if currency in openings]
    if openings and closings and not pairs:
        opening, closing = next(iter(openings.values())), next(iter(closings.values()))
        yield finding(
            "balance",
            closing.signed_amount,
            opening.signed_amount,
            f"opening {opening.type_code} is in {opening.currency}, closing CLBD in {closing.currency}",
        )
    checked: set[int] = set()
    for opening, closing in pairs:
        movement = current.booked.get(closing.currency, Decimal(0))
        actual = opening.signed_amount + movement
        holds = actual == closing.signed_amount
        assumed = [balance for balance in (opening, closing) if balance.credit_debit_assumed]
        if assumed and not holds:
            balance = assumed[0]
            raise ParseError(
                f"balance {balance.type_code} {balance.amount} {balance.currency} has no CdtDbtInd; read as a "
                f"credit, opening + booked credits - debits gives {actual} but closing CLBD is "
                f"{closing.signed_amount}: the direction of the money is ambiguous",
                file=file,
                line=balance.line,
                path=f"/.../{STATEMENT_ELEMENTS[statement.message_type]}/Bal/CdtDbtInd",
            )
        for balance in assumed:
            checked.add(id(balance))
            yield finding(
                "balance_direction",
                balance.amount,
                balance.amount,
                f"balance {balance.type_code} has no CdtDbtInd: read as a credit, confirmed by opening "
                f"{opening.signed_amount} + booked credits - debits {movement} = closing {closing.signed_amount}",
            )
        if not holds:
            yield finding(
                "balance",
                closing.signed_amount,
                actual,
                f"opening {opening.type_code} {opening.signed_amount} + booked "
                f"credits - debits {movement} = {actual} {closing.currency}, "
                f"but closing CLBD is {closing.signed_amount}",
            )
    for balance in current.balances:
        if balance.credit_debit_assumed and id(balance) not in checked:
            yield finding(
                "balance_direction",
                balance.amount,
                balance.amount,
                f"balance {balance.type_code} has no CdtDbtInd: read as a credit, which the statement's "
                "arithmetic cannot confirm (no opening and closing balance in one currency)",
            )
