"""Turning element text into typed values, with errors that say where.

Every reader converts through these functions so that one rule holds for all
messages: amounts are ``Decimal`` exactly as written, never negative, always in
an ISO 4217 currency in use (``parsers.currencies``), with no more significant
fraction digits than that currency has (EUR 2, JPY 0, KWD 3: ``10.500`` EUR is
ten and a half euros and is read, ``10.505`` EUR is refused; trailing zeros
appear in real banks' files) and at most 18 digits in all (the schemas'
totalDigits); date-times keep the offset written in the
file (a date-time without one stays naive: the file does not say which zone it
means, and guessing UTC would invent data), fractions of a second beyond
microseconds are cut (Python keeps six digits), and a date written with an
offset (xs:date allows ``2020-01-01+01:00``) keeps only the date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from parsers.currencies import MINOR_UNITS, InvalidAmount, parse_amount
from parsers.errors import ParseError

# [0-9], not \d: Python's \d also matches other scripts' digits, which Decimal would accept
_PLAIN = re.compile(r"[0-9]*\.?[0-9]*")
_SIGNED_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_CURRENCY = re.compile(r"[A-Z]{3}")
_WHOLE_NUMBER = re.compile(r"([0-9]+)(?:\.0*)?")  # xs:decimal with no fraction: '1000.00' is valid
_DATE_WITH_OFFSET = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})")
CREDIT_DEBIT = frozenset({"CRDT", "DBIT"})


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def element_path(element: etree._Element) -> str:
    """/Document/BkToCstmrStmt/Stmt/Ntry/Amt: local names from the root down."""
    names = []
    node: etree._Element | None = element
    while node is not None:
        names.append(local_name(node.tag))
        node = node.getparent()
    return "/" + "/".join(reversed(names))


def error(file: str, element: etree._Element, message: str) -> ParseError:
    return ParseError(message, file=file, line=element.sourceline, path=element_path(element))


def missing(file: str, parent: etree._Element, name: str) -> ParseError:
    return ParseError(
        f"mandatory element {name} is missing", file=file, line=parent.sourceline, path=f"{element_path(parent)}/{name}"
    )


def text(element: etree._Element | None) -> str | None:
    """Stripped text, None when absent or empty (pretty-printed files pad values)."""
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


# up to 15 whole digits and 0 to 2 fraction digits: most amounts, and always valid in a currency of 2+ minor units
_COMMON_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{0,2})?")
_TWO_DIGIT = frozenset(code for code, units in MINOR_UNITS.items() if units >= 2)


def amount(file: str, element: etree._Element) -> tuple[Decimal, str]:
    """(amount, currency) of an ActiveOrHistoricCurrencyAndAmount element (``currencies.parse_amount``)."""
    raw = element.text
    currency = element.get("Ccy")
    if raw is not None and currency in _TWO_DIGIT and _COMMON_AMOUNT.fullmatch(raw):
        return Decimal(raw), currency  # what parse_amount would accept as it is, decided in one match
    raw = (raw or "").strip()
    if currency is None:
        raise error(file, element, f"amount {raw[:40]} has no Ccy attribute")
    currency = currency.strip()
    if not _CURRENCY.fullmatch(currency) and _PLAIN.fullmatch(raw):
        raise error(file, element, f"amount {raw[:40]} has currency {currency[:20]!r}, not an ISO 4217 code")
    try:
        return parse_amount(raw, currency), currency
    except InvalidAmount as exc:
        raise error(file, element, str(exc)) from None


def signed_decimal(file: str, element: etree._Element) -> Decimal:
    """A DecimalNumber (TxsSummry sums may be negative)."""
    raw = (element.text or "").strip()
    if not _SIGNED_DECIMAL.fullmatch(raw):
        raise error(file, element, f"{raw!r} is not a decimal number")
    return Decimal(raw)


def integer(file: str, element: etree._Element) -> int:
    raw = (element.text or "").strip()
    whole = _WHOLE_NUMBER.fullmatch(raw)
    if not whole:
        raise error(file, element, f"{raw!r} is not a whole number")
    return int(whole.group(1))


def credit_debit(file: str, element: etree._Element) -> str:
    raw = (element.text or "").strip()
    if raw not in CREDIT_DEBIT:
        raise error(file, element, f"credit/debit indicator {raw!r} is neither CRDT nor DBIT")
    return raw


def to_date(file: str, element: etree._Element) -> date:
    raw = (element.text or "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        with_offset = _DATE_WITH_OFFSET.fullmatch(raw)
        if with_offset:
            return date.fromisoformat(with_offset.group(1))
        raise error(file, element, f"{raw!r} is not a date (YYYY-MM-DD)") from None


def to_datetime(file: str, element: etree._Element) -> datetime:
    raw = (element.text or "").strip()
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise error(file, element, f"{raw!r} is not a date-time (YYYY-MM-DDThh:mm:ss)") from None


def _prefix(element: etree._Element) -> int:
    """Length of the '{namespace}' prefix its children share (cheaper than parsing each tag)."""
    return element.tag.find("}") + 1


def date_choice(file: str, element: etree._Element, cut: int = -1) -> tuple[date | None, datetime | None]:
    """(date, date-time) of a Dt/DtTm choice; the date is derived from a date-time."""
    if cut < 0:
        cut = _prefix(element)
    for child in element:
        name = child.tag[cut:]
        if name == "Dt":
            return to_date(file, child), None
        if name == "DtTm":
            moment = to_datetime(file, child)
            return moment.date(), moment
    return None, None


def code_choice(element: etree._Element | None, cut: int = -1) -> str | None:
    """Cd, else Prtry, of a code-or-proprietary choice; a plain code as it is."""
    if element is None:
        return None
    if cut < 0:
        cut = _prefix(element)
    value = None
    for child in element:
        name = child.tag[cut:]
        if name == "Cd":
            return text(child)
        if name == "Prtry":
            value = text(child)
    return value if value is not None else text(element)


def account_id(account: etree._Element | None, cut: int = -1) -> str | None:
    """IBAN, else Othr/Id (PrtryAcct/Id, BBAN, UPIC in .001.01) of a CashAccount's Id."""
    if account is None:
        return None
    if cut < 0:
        cut = _prefix(account)
    for identification in account:
        if identification.tag[cut:] != "Id":
            continue
        for choice in identification:
            if choice.tag[cut:] == "IBAN":
                return text(choice)
            inner = next((c for c in choice if c.tag[cut:] == "Id"), None)
            return text(inner) if inner is not None else text(choice)
    return None


def agent_bic(agent: etree._Element | None) -> str | None:
    """BICFI or BIC of an agent's FinInstnId (or directly under it, as in .001.01)."""
    if agent is None:
        return None
    cut = _prefix(agent)
    for child in agent:
        name = child.tag[cut:]
        if name == "BICFI" or name == "BIC":
            return text(child)
        if name == "FinInstnId":
            return agent_bic(child)
    return None


def party_name(party: etree._Element | None, cut: int = -1) -> str | None:
    """Nm of a party: directly (up to .001.07) or under Pty (Party40Choice and later)."""
    if party is None:
        return None
    if cut < 0:
        cut = _prefix(party)
    for child in party:
        name = child.tag[cut:]
        if name == "Nm":
            value = child.text
            return value.strip() or None if value is not None else None
        if name == "Pty":
            return party_name(child, cut)
    return None


def joined_text(elements: list[etree._Element]) -> str | None:
    """Several Ustrd or AddtlInf lines as one text, one line each (a newline between them).

    Each line is kept as written but for the padding around it, so content that
    spans lines (a reference cut in two, an embedded record) survives.
    """
    parts = [value for value in map(text, elements) if value]
    return "\n".join(parts) if parts else None


# Children that the schemas let repeat under the elements read through children()
REPEATABLE = frozenset(
    {
        "Authstn",
        "InstrForCdtrAgt",
        "InstrForNxtAgt",
        "RgltryRptg",
        "RltdRmtInf",
        "ChrgsInf",
        "SplmtryData",
        "CdtTrfTxInf",
        "StsRsnInf",
        "NbOfTxsPerSts",
        "RtrRsnInf",
        "TxInfAndSts",
        "TxInf",
        "Ustrd",
        "Strd",
        "AddtlInf",
        "AddtlRmtInf",
        "Rcrd",
        "Othr",
        "AdrLine",
        "PmtInf",
        "OrgnlPmtInfAndSts",
        "OrgnlGrpInfAndSts",
        "Prtry",
        "RfrdDocInf",
        "Tax",
        "TxDtls",
        "NtryDtls",
    }
)


def once(file: str, element: etree._Element, name: str, seen: set[str]) -> None:
    """Refuse a second ``name`` where the schema allows one: which one is the value would be a guess."""
    if name in seen:
        parent = element.getparent()
        where = local_name(parent.tag) if parent is not None else "its parent"
        raise error(file, element, f"{name} appears more than once in one {where}")
    seen.add(name)


def children(element: etree._Element, qlen: int, file: str | None = None) -> dict[str, etree._Element]:
    """Direct children by local name: one pass, then lookups.

    With ``file``, a child the schema allows once (not in REPEATABLE) that
    appears twice is refused; of a repeatable one the first is kept.
    """
    found: dict[str, etree._Element] = {}
    for child in element:
        name = child.tag[qlen:]
        if name in found:
            if file is not None and name not in REPEATABLE:
                once(file, child, name, {name})
            continue
        found[name] = child
    return found


_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


def boolean(file: str, element: etree._Element) -> bool:
    """xs:boolean: true, false, 1 or 0; anything else is refused, not read as false."""
    raw = (element.text or "").strip()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise error(file, element, f"{raw[:40]!r} is not a boolean (true, false, 1 or 0)")


@dataclass(frozen=True, slots=True)
class Participant:
    """A financial institution however it is identified (FinInstnId)."""

    key: str | None  # BIC, else 'USABA:021000021' (clearing system:member), else 'LEI:...', else 'scheme:id'
    bic: str | None = None
    name: str | None = None
    lei: str | None = None


_NO_PARTICIPANT = Participant(None)


def participant(agent: etree._Element | None) -> Participant:
    """The institution of an agent (or of a pacs.009 Dbtr/Cdtr), BIC or not.

    The key is what clearing nets by: the BIC when there is one; else the
    clearing-system member id prefixed by its system code (ClrSysId/Cd, else
    Prtry: ``USABA:021000021``, ``GBDSC:401234``); else ``LEI:`` and the LEI;
    else the other id prefixed by its scheme (``Othr/SchmeNm``, else Issr,
    else ``OTHR``). The name is kept beside it.
    """
    if agent is None:
        return _NO_PARTICIPANT
    cut = _prefix(agent)
    institution = agent
    for child in agent:
        if child.tag[cut:] == "FinInstnId":
            institution = child
            break
    bic = name = lei = member = other = None
    for child in institution:
        name_ = child.tag[cut:]
        if name_ == "BICFI" or name_ == "BIC":
            bic = text(child)
        elif name_ == "Nm":
            name = text(child)
        elif name_ == "LEI":
            lei = text(child)
        elif name_ == "ClrSysMmbId":
            system = member_id = None
            for part in child:
                part_name = part.tag[cut:]
                if part_name == "ClrSysId":
                    system = code_choice(part)
                elif part_name == "MmbId":
                    member_id = text(part)
            if member_id:
                member = f"{system or 'CLRSYS'}:{member_id}"
        elif name_ == "Othr":
            fields = {part.tag[cut:]: part for part in child}
            identifier = text(fields.get("Id"))
            if identifier:
                scheme = code_choice(fields.get("SchmeNm")) or text(fields.get("Issr")) or "OTHR"
                other = f"{scheme}:{identifier}"
    key = bic or member or (f"LEI:{lei}" if lei else None) or other
    return Participant(key, bic, name, lei)


@dataclass(frozen=True, slots=True)
class Remittance:
    unstructured: str | None = None
    creditor_reference: str | None = None
    creditor_reference_type: str | None = None
    referred_documents: str | None = None


def remittance(element: etree._Element | None, file: str, qlen: int) -> Remittance:
    """RmtInf: Ustrd lines, and from Strd the creditor reference (and its type) and the referred documents."""
    if element is None:
        return Remittance()
    lines, documents = [], []
    reference = reference_type = None
    for child in element:
        name = child.tag[qlen:]
        if name == "Ustrd":
            lines.append(child)
        elif name == "Strd":
            for part in child:
                part_name = part.tag[qlen:]
                if part_name == "CdtrRefInf" and reference is None:
                    fields = children(part, qlen, file)
                    reference = text(fields.get("Ref"))
                    kind = fields.get("Tp")
                    if kind is not None:
                        inner = children(kind, qlen, file).get("CdOrPrtry", kind)
                        reference_type = code_choice(inner)
                elif part_name == "RfrdDocInf":
                    number = text(children(part, qlen, file).get("Nb"))
                    if number:
                        documents.append(number)
    return Remittance(joined_text(lines), reference, reference_type, "\n".join(documents) if documents else None)


def reason(element: etree._Element | None, qlen: int) -> tuple[str | None, str | None]:
    """(Rsn Cd or Prtry, AddtlInf lines) of a StsRsnInf / RtrRsnInf / RtrInf."""
    if element is None:
        return None, None
    rsn = None
    lines = []
    for child in element:
        name = child.tag[qlen:]
        if name == "Rsn" and rsn is None:
            rsn = child
        elif name == "AddtlInf":
            lines.append(child)
    return code_choice(rsn), joined_text(lines)


@dataclass(frozen=True, slots=True)
class GroupHeader:
    """What every record of a message repeats from its GrpHdr."""

    message_id: str
    created_at: datetime | None
    fields: dict[str, etree._Element]  # all GrpHdr children, for message-specific defaults
    pagination: dict[str, Any]  # page_number, last_page from MsgPgntn
    tx_count: int | None = None  # NbOfTxs


def group_header(element: etree._Element, file: str, qlen: int) -> GroupHeader:
    fields = children(element, qlen, file)
    message_id = text(fields.get("MsgId"))
    if message_id is None:
        raise missing(file, element, "MsgId")
    created = fields.get("CreDtTm")
    pagination: dict[str, Any] = {}
    paging = fields.get("MsgPgntn")
    if paging is not None:
        for part in paging:
            name = part.tag[qlen:]
            if name == "PgNb":
                pagination["page_number"] = integer(file, part)
            elif name == "LastPgInd":
                pagination["last_page"] = boolean(file, part)
    count = fields.get("NbOfTxs")
    return GroupHeader(
        message_id,
        None if created is None else to_datetime(file, created),
        fields,
        pagination,
        None if count is None else integer(file, count),
    )
