"""Writing ISO 20022 XML: the one amount formatter and the element helpers every writer uses.

Elements: :func:`element` (a standalone subtree), :func:`sub`, :func:`path`
(nested, reusing what is there), :func:`amount`, :func:`account` (IBAN or
Othr), :func:`institution` and :func:`agent` (a participant key as the readers
give it: BIC, clearing-system member id or LEI), :func:`document`, :func:`to_bytes`.

The three writers (``parsers.writers`` for camt.05x, ``deltran.demo.messages``
for the demo's pacs.008/002/004 and camt.056, ``deltran.clearing.pacs009`` for
settlement instructions) write amounts only through :func:`format_amount`, so an
amount is written the same way, and refused for the same reasons, wherever it
goes.

An amount (ActiveCurrencyAndAmount, ActiveOrHistoricCurrencyAndAmount) is
written exactly, in its currency's minor units (ISO 4217, ``parsers.currencies``):
``Decimal('100')`` USD is ``100.00``, JPY ``100``, KWD ``100.000``. Nothing is
ever rounded: a value with a non-zero digit beyond the currency's minor units
raises, as do a float, a negative or non-finite value, an unknown currency and
more than 18 digits (the schemas' totalDigits).
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation, localcontext

from lxml import etree

from parsers.currencies import minor_units, quantum

MAX_TOTAL_DIGITS = 18  # totalDigits of every ISO 20022 amount and decimal type
MAX_FRACTION_DIGITS = 5  # fractionDigits of ISO 20022 amounts; DecimalNumber allows 17
_WIDE = Context(prec=60)  # wide enough that quantize never fails for a value of 18 digits


def format_amount(amount: Decimal, currency: str) -> str:
    """The exact text of ``amount`` in ``currency``, with the currency's minor-unit digits."""
    _check_decimal(amount, f"amount {amount!r} {currency}")
    units = minor_units(currency)  # UnknownCurrency (a ValueError) for a code not in use
    try:
        with localcontext(_WIDE):
            exact = amount.quantize(quantum(currency))
    except InvalidOperation:
        raise ValueError(f"amount {amount} {currency} has too many digits") from None
    if exact != amount:
        raise ValueError(f"amount {amount} {currency} has more than {units} fraction digits: it would be rounded")
    return _within_total_digits(format(exact.copy_abs(), "f"), f"amount {amount} {currency}")


def format_decimal(value: Decimal, max_fraction_digits: int = MAX_FRACTION_DIGITS) -> str:
    """An exact decimal without a currency (TxsSummry/Sum, rates): no exponent, never rounded.

    Trailing zeros beyond ``max_fraction_digits`` are dropped (the value is the
    same); a value that needs more fraction digits raises.
    """
    _check_decimal(value, f"decimal {value!r}")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent < -max_fraction_digits:
        with localcontext(_WIDE):
            reduced = value.quantize(Decimal(1).scaleb(-max_fraction_digits))
        if reduced != value:
            raise ValueError(f"decimal {value} has more than {max_fraction_digits} fraction digits")
        value = reduced
    return _within_total_digits(format(value.copy_abs(), "f"), f"decimal {value}")


def _check_decimal(value: object, what: str) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what}: amounts are Decimal, never {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{what} is not a finite number")
    if value < 0:
        raise ValueError(f"{what} is negative: ISO amounts are never negative (CdtDbtInd carries the direction)")


def _within_total_digits(text: str, what: str) -> str:
    if len(text.replace(".", "").lstrip("0")) > MAX_TOTAL_DIGITS:
        raise ValueError(f"{what} has more than {MAX_TOTAL_DIGITS} digits")
    return text


def element(tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    """A standalone ``tag`` without a namespace, for a subtree written into a namespaced document later."""
    made = etree.Element(tag, attrib)
    if text is not None:
        made.text = text
    return made


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    """A child ``tag`` in the parent's namespace (none if the parent has none), with text and attributes."""
    made = etree.SubElement(parent, etree.QName(etree.QName(parent).namespace, tag), attrib)
    if text is not None:
        made.text = text
    return made


def path(parent: etree._Element, *tags: str) -> etree._Element:
    """The last of the nested elements ``tags`` under ``parent``, reusing the ones already there."""
    for tag in tags:
        found = parent.find(etree.QName(etree.QName(parent).namespace, tag).text)
        parent = found if found is not None else sub(parent, tag)
    return parent


def amount(parent: etree._Element, tag: str, value: Decimal, currency: str) -> etree._Element:
    """``<tag Ccy="currency">value</tag>``, through :func:`format_amount`."""
    return sub(parent, tag, format_amount(value, currency), Ccy=currency)


_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}")
_BICFI = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")
# the readers' key of a clearing-system member (parsers.values.participant): system code, or
# CLRSYS for a member id without its system (ExternalClearingSystemIdentification1Code)
_CLEARING_MEMBER = re.compile(r"([A-Z]{5}|CLRSYS):([A-Za-z0-9]{1,35})")
_LEI = re.compile(r"LEI:([A-Z0-9]{18}[0-9]{2})")


def account(parent: etree._Element, account_id: str) -> etree._Element:
    """``<Id><IBAN>`` for an IBAN, else ``<Id><Othr><Id>`` (a US or SG account number)."""
    if _IBAN.fullmatch(account_id):
        return sub(sub(parent, "Id"), "IBAN", account_id)
    return sub(path(parent, "Id", "Othr"), "Id", account_id)


def institution(parent: etree._Element, participant: str, bic_tag: str = "BICFI") -> etree._Element:
    """The FinInstnId content for a participant key as the readers give it (parsers.values.participant).

    A BIC is written as ``bic_tag`` (``BIC`` in old versions), ``USABA:021000021``
    as ClrSysMmbId (system code and member id), ``LEI:...`` as LEI; any other key
    cannot be addressed and raises ValueError.
    """
    if _BICFI.fullmatch(participant):
        return sub(parent, bic_tag, participant)
    if member := _CLEARING_MEMBER.fullmatch(participant):
        clearing = sub(parent, "ClrSysMmbId")
        if member.group(1) != "CLRSYS":
            sub(sub(clearing, "ClrSysId"), "Cd", member.group(1))
        sub(clearing, "MmbId", member.group(2))
        return clearing
    if lei := _LEI.fullmatch(participant):
        return sub(parent, "LEI", lei.group(1))
    raise ValueError(f"participant {participant!r} is neither a BIC, a clearing-system member id nor an LEI")


def agent(parent: etree._Element, tag: str, participant: str, bic_tag: str = "BICFI") -> etree._Element:
    """``<tag><FinInstnId>...</FinInstnId></tag>`` for a participant key (see :func:`institution`)."""
    made = sub(parent, tag)
    institution(sub(made, "FinInstnId"), participant, bic_tag)
    return made


def document(namespace: str, message_tag: str) -> tuple[etree._Element, etree._Element]:
    """``(Document, its message element)`` with ``namespace`` as the default namespace."""
    doc = etree.Element(etree.QName(namespace, "Document"), nsmap={None: namespace})
    return doc, sub(doc, message_tag)


def to_bytes(doc: etree._Element) -> bytes:
    """The document as UTF-8 with its declaration, indented: byte-stable for the same tree."""
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)
