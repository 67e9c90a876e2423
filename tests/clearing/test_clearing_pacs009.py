"""pacs.009.001.08 settlement files: valid against the ISO 20022 schema, exact, deterministic."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from deltran.clearing import Obligation, SettlementInstruction, aggregate, net_currency
from deltran.clearing.pacs009 import (
    NAMESPACE,
    SettlementHeldError,
    build_pacs009,
    build_pacs009_for_result,
    write_pacs009,
)

import iso20022_corpus

XSD = iso20022_corpus.XSD / "pacs.009.001.08.xsd"
NS = {"p": NAMESPACE}
D = Decimal
CLOSING = datetime(2025, 3, 10, 12, tzinfo=timezone.utc)
UUID4 = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    iso20022_corpus.require(XSD)
    return etree.XMLSchema(etree.parse(str(XSD)))


# The hand-worked example of test_clearing_netting, with BICs for A, B, C, D.
A, B, C, DD = "BANKAEAA", "BANKBEBB", "BANKCECC", "BANKDEDD"
HAND = [
    Obligation(A, B, "USD", D("60.00")),
    Obligation(A, B, "USD", D("40.00")),
    Obligation(B, C, "USD", D("80.00")),
    Obligation(C, A, "USD", D("60.00")),
    Obligation(A, C, "USD", D("30.00")),
    Obligation(B, A, "USD", D("20.00")),
    Obligation(DD, B, "USD", D("50.00")),
]


def test_sample_validates_with_the_same_schema(schema):
    # the harness itself: a published pacs.009.001.08 sample passes
    sample = iso20022_corpus.require(
        iso20022_corpus.SAMPLES / "pacs.009" / "phoughton-cbpr-ur__pacs.009.001.08__pacs009_fi_transfer_sample.xml"
    )
    doc = etree.parse(str(sample))
    document = doc.getroot() if doc.getroot().tag.endswith("Document") else doc.find(".//{*}Document")
    schema.assertValid(etree.ElementTree(document))


def test_window_file_is_valid_and_parses_back(schema):
    result = net_currency(aggregate(HAND), "USD")
    xml = build_pacs009_for_result(result, CLOSING)
    doc = etree.fromstring(xml)
    schema.assertValid(doc)

    hdr = doc.find("p:FICdtTrf/p:GrpHdr", NS)
    assert hdr.findtext("p:MsgId", namespaces=NS) == "DELTRAN-20250310T1200Z-USD"
    assert hdr.findtext("p:CreDtTm", namespaces=NS) == "2025-03-10T12:00:00+00:00"
    assert hdr.findtext("p:NbOfTxs", namespaces=NS) == "2"
    total = hdr.find("p:TtlIntrBkSttlmAmt", NS)
    assert (total.text, total.get("Ccy")) == ("100.00", "USD")
    assert hdr.findtext("p:IntrBkSttlmDt", namespaces=NS) == "2025-03-10"
    assert hdr.findtext("p:SttlmInf/p:SttlmMtd", namespaces=NS) == "CLRG"

    rows = []
    for tx in doc.findall("p:FICdtTrf/p:CdtTrfTxInf", NS):
        amt = tx.find("p:IntrBkSttlmAmt", NS)
        rows.append(
            (
                tx.findtext("p:PmtId/p:InstrId", namespaces=NS),
                tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS),
                tx.findtext("p:Dbtr/p:FinInstnId/p:BICFI", namespaces=NS),
                tx.findtext("p:Cdtr/p:FinInstnId/p:BICFI", namespaces=NS),
                amt.text,
                amt.get("Ccy"),
                tx.findtext("p:IntrBkSttlmDt", namespaces=NS),
            )
        )
        assert UUID4.fullmatch(tx.findtext("p:PmtId/p:UETR", namespaces=NS))
    assert rows == [
        ("DELTRAN-20250310T1200Z-USD-00001", "DELTRAN-20250310T1200Z-USD-00001", A, B, "50.00", "USD", "2025-03-10"),
        ("DELTRAN-20250310T1200Z-USD-00002", "DELTRAN-20250310T1200Z-USD-00002", DD, C, "50.00", "USD", "2025-03-10"),
    ]
    uetrs = [e.text for e in doc.iterfind(".//p:UETR", NS)]
    assert len(set(uetrs)) == len(uetrs)


def test_same_input_same_bytes(tmp_path):
    shuffled = list(HAND)
    random.Random(7).shuffle(shuffled)
    first = build_pacs009_for_result(net_currency(aggregate(HAND), "USD"), CLOSING)
    again = build_pacs009_for_result(net_currency(shuffled, "USD"), CLOSING)
    assert first == again
    path = write_pacs009(tmp_path / "w.xml", first)
    assert path.read_bytes() == first
    # another window or currency: other ids
    other = build_pacs009_for_result(net_currency(HAND, "USD"), datetime(2025, 3, 10, 18, tzinfo=timezone.utc))
    assert other != first


@pytest.mark.parametrize(
    "amount, currency, text",
    [
        ("100.50", "USD", "100.50"),
        ("5", "USD", "5.00"),  # in the currency's minor units
        ("1E+3", "JPY", "1000"),  # no exponent
        ("5.000", "JPY", "5"),  # zeros beyond the minor units dropped, value unchanged
        ("1.5", "KWD", "1.500"),
        ("9999999999999999.99", "USD", "9999999999999999.99"),  # 18 digits
    ],
)
def test_amounts_written_exactly_in_minor_units(amount, currency, text, schema):
    xml = build_pacs009([SettlementInstruction(A, B, currency, D(amount))], currency=currency, window_closing=CLOSING)
    schema.assertValid(etree.fromstring(xml))
    assert etree.fromstring(xml).find(".//p:CdtTrfTxInf/p:IntrBkSttlmAmt", NS).text == text
    assert etree.fromstring(xml).find(".//p:TtlIntrBkSttlmAmt", NS).text == text


@pytest.mark.parametrize("amount", ["0.001", "1.123456", "99999999999999999.99"])
def test_amounts_that_cannot_be_written_exactly_raise(amount):
    with pytest.raises(ValueError, match="fraction digits|digits"):
        build_pacs009([SettlementInstruction(A, B, "USD", D(amount))], currency="USD", window_closing=CLOSING)


def test_refusals():
    ins = [SettlementInstruction(A, B, "USD", D("1.00"))]
    with pytest.raises(ValueError, match="no pacs.009"):
        build_pacs009([], currency="USD", window_closing=CLOSING)
    with pytest.raises(ValueError, match="not in EUR"):
        build_pacs009(ins, currency="EUR", window_closing=CLOSING)
    with pytest.raises(ValueError, match="neither a BIC"):
        build_pacs009([SettlementInstruction("A", B, "USD", D(1))], currency="USD", window_closing=CLOSING)
    with pytest.raises(ValueError, match="not a window closing"):
        build_pacs009(ins, currency="USD", window_closing=datetime(2025, 3, 10, 13, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="no timezone"):
        build_pacs009(ins, currency="USD", window_closing=datetime(2025, 3, 10, 12))


def test_held_settlement_is_not_written(schema):
    result = net_currency(HAND, "USD", caps={(A, "USD"): D("40.00")})
    with pytest.raises(SettlementHeldError, match="BANKAEAA"):
        build_pacs009_for_result(result, CLOSING)
    # an operator may still look at what would have been sent
    xml = build_pacs009_for_result(result, CLOSING, allow_held=True, settlement_date=date(2025, 3, 11))
    schema.assertValid(etree.fromstring(xml))
    assert b"<IntrBkSttlmDt>2025-03-11</IntrBkSttlmDt>" in xml


BICS = [f"BANK{c}{c}{i}{i}" for c in "ABCDEFGH" for i in range(2)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(BICS),
            st.sampled_from(BICS),
            st.builds(lambda u, d: D(u).scaleb(-d), st.integers(0, 10**10), st.integers(0, 2)),  # EUR: cents
        ),
        min_size=1,
        max_size=60,
    )
)
def test_random_windows_validate(schema, rows):
    obligations = [Obligation(a, b, "EUR", amt) for a, b, amt in rows if a != b]
    result = net_currency(obligations, "EUR")
    if not result.instructions:
        return
    doc = etree.fromstring(build_pacs009_for_result(result, CLOSING))
    schema.assertValid(doc)
    written = [D(e.text) for e in doc.iterfind(".//p:CdtTrfTxInf/p:IntrBkSttlmAmt", NS)]
    assert written == [i.amount for i in result.instructions]
    assert D(doc.findtext(".//p:TtlIntrBkSttlmAmt", namespaces=NS)) == result.net


def test_window_file_reads_back_with_the_platforms_own_reader(tmp_path):
    """What the clearing writes, the platform's ISO 20022 reader reads back exactly."""
    from parsers import iter_records

    pairs = [
        Obligation("DLTAAEADXXX", "DLTBGB2LXXX", "USD", D("100.10")),
        Obligation("DLTBGB2LXXX", "DLTCILITXXX", "USD", D("40.05")),
        Obligation("DLTCILITXXX", "DLTAAEADXXX", "USD", D("7")),
    ]
    result = net_currency(aggregate(pairs), "USD")
    path = write_pacs009(tmp_path / "window.xml", build_pacs009_for_result(result, CLOSING))
    payments = list(iter_records(path))
    assert [(p.message_type, p.debtor_agent_bic, p.creditor_agent_bic, p.currency, p.amount) for p in payments] == [
        ("pacs.009", i.payer, i.payee, i.currency, i.amount) for i in result.instructions
    ]
    assert all(p.uetr and p.settlement_date == CLOSING.date() for p in payments)


def test_participants_without_a_bic_settle_and_read_back(schema, tmp_path):
    """Banks known by a clearing-system member id or an LEI are netted and addressed in
    pacs.009 the way the readers key them, so the file reads back to the same participants."""
    from parsers import iter_records

    aba_a, aba_b, lei = "USABA:011104238", "USABA:021040078", "LEI:5493001KJTIIGC8Y1R12"
    pairs = [
        Obligation(aba_a, aba_b, "USD", D("500.00")),
        Obligation(aba_b, lei, "USD", D("200.00")),
        Obligation(lei, "DLTAAEADXXX", "USD", D("50.00")),
    ]
    result = net_currency(aggregate(pairs), "USD")
    document = build_pacs009_for_result(result, CLOSING)
    schema.assertValid(etree.fromstring(document))
    payments = list(iter_records(write_pacs009(tmp_path / "window.xml", document)))
    assert [(p.debtor_agent, p.creditor_agent, p.amount) for p in payments] == [
        (i.payer, i.payee, i.amount) for i in result.instructions
    ]
    assert {p.debtor_agent for p in payments} | {p.creditor_agent for p in payments} <= {
        aba_a,
        aba_b,
        lei,
        "DLTAAEADXXX",
    }
