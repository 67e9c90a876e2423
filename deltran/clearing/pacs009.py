"""One window's settlement instructions for one currency as ISO 20022 pacs.009.001.08.

The file is a pure function of (window closing, currency, instructions): the
same input gives the same bytes, so re-running a window rewrites an identical
file. Nothing reads the clock: CreDtTm is the window's closing time.

Identifiers, all deterministic:
- MsgId ``DELTRAN-<window>-<CCY>`` e.g. ``DELTRAN-20250310T1200Z-USD``;
- InstrId = EndToEndId ``<MsgId>-<n>`` with n the 1-based position (5 digits);
- UETR: a name-based UUID (uuid5 of ``window|currency|n``) re-stamped as
  version 4, because the schema's UUIDv4Identifier pattern demands the version
  nibble 4; it is still unique per window, currency and position.

Participants are BICs (BICFI); amounts are written exactly as the Decimal holds
them (trailing zeros beyond 5 fraction digits are dropped, as the schema allows
at most 5; an amount that really needs more digits raises, never rounds).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, localcontext
from pathlib import Path

from lxml import etree

from .netting import _EXACT, NettingResult, SettlementInstruction
from .windows import check_closing, window_label

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08"
_UETR_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://deltran/clearing/pacs.009")
_BICFI = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")
_CCY = re.compile(r"[A-Z]{3}")
_MAX_FRACTION_DIGITS = 5
_MAX_TOTAL_DIGITS = 18


class SettlementHeldError(RuntimeError):
    """The netting result breached a net debit cap: its instructions must not be issued."""


def format_amount(amount: Decimal) -> str:
    """The exact decimal text of an ISO 20022 amount (ActiveCurrencyAndAmount).

    No exponent, no rounding: at most 5 fraction digits (trailing zeros beyond
    that are dropped, the value unchanged) and 18 digits in all, not negative.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError(f"amount must be a finite Decimal, got {amount!r}")
    if amount < 0:
        raise ValueError(f"amount {amount} is negative")
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # a finite Decimal
    while exponent < -_MAX_FRACTION_DIGITS and len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    if exponent < -_MAX_FRACTION_DIGITS:
        raise ValueError(f"amount {amount} has more than {_MAX_FRACTION_DIGITS} fraction digits")
    text = format(Decimal((sign, digits, exponent)), "f")
    significant = text.replace(".", "").lstrip("0")
    if len(significant) > _MAX_TOTAL_DIGITS:
        raise ValueError(f"amount {amount} has more than {_MAX_TOTAL_DIGITS} digits")
    return text


def message_id(closing: datetime, currency: str) -> str:
    return f"DELTRAN-{window_label(closing)}-{currency}"


def uetr(closing: datetime, currency: str, index: int) -> str:
    name = f"{window_label(closing)}|{currency}|{index}"
    return str(uuid.UUID(bytes=uuid.uuid5(_UETR_NAMESPACE, name).bytes, version=4))


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrib)
    if text is not None:
        el.text = text
    return el


def _agent(parent: etree._Element, tag: str, bic: str) -> None:
    if not _BICFI.fullmatch(bic):
        raise ValueError(f"participant {bic!r} is not a BIC (BICFI): cannot address it in pacs.009")
    _sub(_sub(_sub(parent, tag), "FinInstnId"), "BICFI", bic)


def build_pacs009(
    instructions: Sequence[SettlementInstruction],
    *,
    currency: str,
    window_closing: datetime,
    settlement_date: date | None = None,
) -> bytes:
    """The pacs.009.001.08 document (UTF-8 bytes) for one window and currency.

    ``settlement_date`` (IntrBkSttlmDt) defaults to the UTC date of the
    window closing. Raises ValueError when there is nothing to settle (the
    schema needs at least one transaction), an instruction is in another
    currency, a participant is not a BIC, or an amount cannot be written exactly.
    """
    closing = check_closing(window_closing)
    if not _CCY.fullmatch(currency):
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code")
    if not instructions:
        raise ValueError(f"no instructions for {currency} in window {window_label(closing)}: no pacs.009 to write")
    for ins in instructions:
        if ins.currency != currency:
            raise ValueError(f"instruction {ins} is not in {currency}")
    settlement_date = settlement_date or closing.date()
    msg_id = message_id(closing, currency)
    with localcontext(_EXACT):
        total = sum((ins.amount for ins in instructions), Decimal(0))

    doc = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    root = _sub(doc, "FICdtTrf")
    hdr = _sub(root, "GrpHdr")
    _sub(hdr, "MsgId", msg_id)
    _sub(hdr, "CreDtTm", closing.isoformat())
    _sub(hdr, "NbOfTxs", str(len(instructions)))
    _sub(hdr, "TtlIntrBkSttlmAmt", format_amount(total), Ccy=currency)
    _sub(hdr, "IntrBkSttlmDt", settlement_date.isoformat())
    _sub(_sub(hdr, "SttlmInf"), "SttlmMtd", "CLRG")

    for n, ins in enumerate(instructions, start=1):
        tx = _sub(root, "CdtTrfTxInf")
        pmt = _sub(tx, "PmtId")
        ref = f"{msg_id}-{n:05d}"
        _sub(pmt, "InstrId", ref)
        _sub(pmt, "EndToEndId", ref)
        _sub(pmt, "UETR", uetr(closing, currency, n))
        _sub(tx, "IntrBkSttlmAmt", format_amount(ins.amount), Ccy=currency)
        _sub(tx, "IntrBkSttlmDt", settlement_date.isoformat())
        _agent(tx, "Dbtr", ins.payer)
        _agent(tx, "Cdtr", ins.payee)

    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def build_pacs009_for_result(
    result: NettingResult,
    window_closing: datetime,
    *,
    settlement_date: date | None = None,
    allow_held: bool = False,
) -> bytes:
    """``build_pacs009`` for a netting result; refuses a held result (cap breach)."""
    if result.settlement_held and not allow_held:
        who = ", ".join(f"{b.participant} (excess {b.excess})" for b in result.cap_breaches)
        raise SettlementHeldError(f"{result.currency}: settlement held, net debit cap breached by {who}")
    return build_pacs009(
        result.instructions,
        currency=result.currency,
        window_closing=window_closing,
        settlement_date=settlement_date,
    )


def write_pacs009(path: str | Path, document: bytes) -> Path:
    """Write the bytes of ``build_pacs009`` to ``path`` (atomically: temp file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(document)
    tmp.replace(path)
    return path
