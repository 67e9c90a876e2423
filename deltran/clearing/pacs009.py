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

Participants are BICs (BICFI), or for banks without one the participant keys
the readers give them (``parsers.values.participant``): ``USABA:021000021`` is
written as ClrSysMmbId (system code and member id), ``LEI:...`` as LEI; amounts go
through parsers.xmlwrite.format_amount, the one formatter of every writer:
exact, in the currency's minor units, never rounded (an amount that would
need rounding raises).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, localcontext
from pathlib import Path

from parsers import xmlwrite
from parsers.currencies import is_currency
from parsers.xmlwrite import sub as _sub

from .netting import _EXACT, NettingResult, SettlementInstruction
from .windows import check_closing, window_label

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08"
_UETR_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://deltran/clearing/pacs.009")


class SettlementHeldError(RuntimeError):
    """The netting result breached a net debit cap: its instructions must not be issued."""


def message_id(closing: datetime, currency: str) -> str:
    return f"DELTRAN-{window_label(closing)}-{currency}"


def uetr(closing: datetime, currency: str, index: int) -> str:
    name = f"{window_label(closing)}|{currency}|{index}"
    return str(uuid.UUID(bytes=uuid.uuid5(_UETR_NAMESPACE, name).bytes, version=4))


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
    currency, a participant cannot be addressed, or an amount cannot be written exactly.
    """
    closing = check_closing(window_closing)
    if not is_currency(currency):
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

    doc, root = xmlwrite.document(NAMESPACE, "FICdtTrf")
    hdr = _sub(root, "GrpHdr")
    _sub(hdr, "MsgId", msg_id)
    _sub(hdr, "CreDtTm", closing.isoformat())
    _sub(hdr, "NbOfTxs", str(len(instructions)))
    xmlwrite.amount(hdr, "TtlIntrBkSttlmAmt", total, currency)
    _sub(hdr, "IntrBkSttlmDt", settlement_date.isoformat())
    _sub(_sub(hdr, "SttlmInf"), "SttlmMtd", "CLRG")

    for n, ins in enumerate(instructions, start=1):
        tx = _sub(root, "CdtTrfTxInf")
        pmt = _sub(tx, "PmtId")
        ref = f"{msg_id}-{n:05d}"
        _sub(pmt, "InstrId", ref)
        _sub(pmt, "EndToEndId", ref)
        _sub(pmt, "UETR", uetr(closing, currency, n))
        xmlwrite.amount(tx, "IntrBkSttlmAmt", ins.amount, currency)
        _sub(tx, "IntrBkSttlmDt", settlement_date.isoformat())
        xmlwrite.agent(tx, "Dbtr", ins.payer)
        xmlwrite.agent(tx, "Cdtr", ins.payee)

    return xmlwrite.to_bytes(doc)


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
