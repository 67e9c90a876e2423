"""The one amount formatter of every ISO 20022 writer: exact, in minor units, never through float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from parsers import xmlwrite
from parsers.currencies import MINOR_UNITS, UnknownCurrency


@pytest.mark.parametrize(
    "amount, currency, text",
    [
        ("100", "USD", "100.00"),
        ("100.5", "EUR", "100.50"),
        ("100.50000", "EUR", "100.50"),  # zeros beyond the minor units: same value
        ("1E+3", "USD", "1000.00"),  # never an exponent
        ("7", "JPY", "7"),
        ("7.000", "JPY", "7"),
        ("1.5", "KWD", "1.500"),
        ("0", "AED", "0.00"),
        ("-0", "AED", "0.00"),  # a negative zero is zero
        ("0.0001", "CLF", "0.0001"),
        ("9999999999999999.99", "USD", "9999999999999999.99"),  # 18 digits
    ],
)
def test_amounts_in_minor_units(amount, currency, text):
    assert xmlwrite.format_amount(Decimal(amount), currency) == text


@pytest.mark.parametrize(
    "amount, currency, error, message",
    [
        ("1.005", "USD", ValueError, "more than 2 fraction digits"),
        ("0.5", "JPY", ValueError, "more than 0 fraction digits"),
        ("99999999999999999.99", "USD", ValueError, "more than 18 digits"),
        ("-1", "USD", ValueError, "negative"),
        ("NaN", "USD", ValueError, "not a finite"),
        ("Infinity", "USD", ValueError, "not a finite"),
        ("1", "XXX", UnknownCurrency, "XXX"),
        ("1E+40", "USD", ValueError, "digits"),
    ],
)
def test_amounts_that_cannot_be_written_exactly_raise(amount, currency, error, message):
    with pytest.raises(error, match=message):
        xmlwrite.format_amount(Decimal(amount), currency)


def test_a_float_is_refused_not_converted():
    with pytest.raises(TypeError, match="never float"):
        xmlwrite.format_amount(0.1, "USD")  # type: ignore[arg-type]


@given(
    currency=st.sampled_from(sorted(MINOR_UNITS)),
    minor=st.integers(0, 10**15),
    extra_zeros=st.integers(0, 3),
)
def test_every_amount_of_a_currency_reads_back_exactly(currency, minor, extra_zeros):
    units = MINOR_UNITS[currency]
    value = Decimal(minor).scaleb(-units)
    padded = value.quantize(Decimal(1).scaleb(-(units + extra_zeros)))  # same value, more zeros
    text = xmlwrite.format_amount(padded, currency)
    assert Decimal(text) == value
    whole, _, fraction = text.partition(".")
    assert len(fraction) == units and whole.isdigit()


@pytest.mark.parametrize(
    "value, text", [("12.5", "12.5"), ("3.000000", "3.00000"), ("1E+2", "100"), ("0.00001", "0.00001")]
)
def test_decimals_without_currency(value, text):
    assert xmlwrite.format_decimal(Decimal(value)) == text


def test_a_decimal_needing_more_digits_raises():
    with pytest.raises(ValueError, match="more than 5 fraction digits"):
        xmlwrite.format_decimal(Decimal("0.000001"))


def test_elements_take_their_parents_namespace():
    doc, message = xmlwrite.document("urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08", "FICdtTrf")
    xmlwrite.amount(message, "TtlIntrBkSttlmAmt", Decimal("5"), "EUR")
    xmlwrite.agent(message, "Dbtr", "BANKAEAA")
    plain = xmlwrite.sub(etree.Element("Ntry"), "Amt", "1")
    assert etree.QName(plain).namespace is None
    ns = "{urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08}"
    assert message.tag == ns + "FICdtTrf"
    assert doc.find(f"{ns}FICdtTrf/{ns}TtlIntrBkSttlmAmt").attrib == {"Ccy": "EUR"}
    assert doc.findtext(f"{ns}FICdtTrf/{ns}TtlIntrBkSttlmAmt") == "5.00"
    assert doc.findtext(f"{ns}FICdtTrf/{ns}Dbtr/{ns}FinInstnId/{ns}BICFI") == "BANKAEAA"
    assert xmlwrite.to_bytes(doc).startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
