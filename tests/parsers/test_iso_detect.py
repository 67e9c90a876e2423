"""Message detection through wrappers, and sources of every kind."""

from __future__ import annotations

import dataclasses
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from parsers import MessageInfo, ParseError, UnknownMessageError, detect, iter_records
from parsers.records import Balance, Entry, Statement
from parsers.writers import write_bank_to_customer


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "pacs.008/moov-io-fednow20022__pacs.008.001.08__sample-participant-to-fednow-message.xml",
            MessageInfo(
                "pacs.008",
                "pacs.008.001.08",
                "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08",
                "FIToFICstmrCdtTrf",
                "FedNowIncoming",
            ),
        ),
        # no namespace at all: known by its element, versioned by the AppHdr's MsgDefIdr
        (
            "pacs.008/aws-guidance-iso20022__pacs.008.001.08__pacs.008.xml",
            MessageInfo("pacs.008", "pacs.008.001.08", None, "FIToFICstmrCdtTrf", "RequestPayload"),
        ),
        (
            "camt.053/viafintech-camt_parser__camt.053.001.02-STUZZA__valid_example_stuzza.xml",
            MessageInfo(
                "camt.053",
                "camt.053.001.02",
                "ISO:camt.053.001.02:APC:STUZZA:payments:003",
                "BkToCstmrStmt",
                "Document",
            ),
        ),
        (
            "pacs.002/paymentcomponents-demo-sepa__pacs.002.001.03S2__pacs.002.001.03S2.xml",
            MessageInfo(
                "pacs.002",
                "pacs.002.001.03S2",
                "urn:iso:std:iso:20022:tech:xsd:pacs.002.001.03S2",
                "FIToFIPmtStsRptS2",
                "Document",
            ),
        ),
        (
            "pain.001/dvbern-iso20022__pain.001.001.03.ch.02__pain001TestReference.xml",
            MessageInfo(
                "pain.001",
                "pain.001.001.03.ch.02",
                "http://www.six-interbank-clearing.com/de/pain.001.001.03.ch.02.xsd",
                "CstmrCdtTrfInitn",
                "Document",
            ),
        ),
        (
            "camt.052/genkgo-camt__camt.052.001.01__camt052.v1.xml",
            MessageInfo(
                "camt.052",
                "camt.052.001.01",
                "urn:iso:std:iso:20022:tech:xsd:camt.052.001.01",
                "BkToCstmrAcctRptV01",
                "Document",
            ),
        ),
        (
            "camt.053/prowide__camt.053.001.07__camt.053.001.07.xml",
            MessageInfo(
                "camt.053",
                "camt.053.001.07",
                "urn:iso:std:iso:20022:tech:xsd:camt.053.001.07",
                "BkToCstmrStmt",
                "message",
            ),
        ),
        # a message the platform does not take is still named; iter_records refuses it
        (
            "pain.002/hbci4java__nonamespace__test-pain-parse-0020110-01.xml",
            MessageInfo("pain.002", None, None, "CstmrPmtStsRpt", "Document"),
        ),
    ],
)
def test_detect_looks_through_wrappers(name: str, expected: MessageInfo, samples: Path) -> None:
    assert dataclasses.replace(detect(samples / name), line=None, business_header={}) == expected


class _Limited(io.RawIOBase):
    """A stream that fails the test if more than ``limit`` bytes are read."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._data, self._limit, self.read_bytes = data, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data[self.read_bytes : self.read_bytes + len(buffer)]
        self.read_bytes += len(chunk)
        assert self.read_bytes <= self._limit, "read past the start of the file"
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _big_statement(entries: int = 3000) -> bytes:
    header = Statement("camt.053", "BIG", "S", "DE89370400440532013000", "EUR")
    balance = Balance("camt.053", "BIG", "S", None, "OPBD", Decimal(0), "EUR", "CRDT", date=date(2024, 1, 1))
    items = (
        Entry("camt.053", "BIG", "S", None, None, Decimal("1.00"), "EUR", "CRDT", status="INFO") for _ in range(entries)
    )
    target = io.BytesIO()
    write_bank_to_customer(target, "camt.053", "BIG", datetime(2024, 1, 1), [(header, [balance], items)])
    return target.getvalue()


def test_detect_reads_only_the_start_of_the_file() -> None:
    data = _big_statement()
    assert len(data) > 200_000
    stream = _Limited(data, limit=64 * 1024)
    assert detect(stream).message_type == "camt.053"


def test_sources_path_binary_file_and_pipe_give_the_same_records(tmp_path: Path) -> None:
    data = _big_statement(300)
    path = tmp_path / "statement.xml"
    path.write_bytes(data)
    from_path = list(iter_records(path))
    from_str = list(iter_records(str(path)))
    with open(path, "rb") as handle:
        from_handle = list(iter_records(handle))
    from_pipe = list(iter_records(io.BufferedReader(_Limited(data, limit=len(data)))))  # cannot seek
    assert len(from_path) == 302 and from_path == from_str == from_handle == from_pipe


def test_unknown_message_names_namespace_and_element() -> None:
    data = b'<Document xmlns="urn:example:other"><Thing/></Document>'
    with pytest.raises(UnknownMessageError) as raised:
        list(iter_records(io.BytesIO(data)))
    error = raised.value
    assert (error.namespace, error.element, error.line, error.path) == (
        "urn:example:other",
        "Thing",
        1,
        "/Document/Thing",
    )
    assert "urn:example:other" in str(error) and "Thing" in str(error) and "<stream>" in str(error)


def test_xml_without_any_message_is_unknown() -> None:
    with pytest.raises(UnknownMessageError, match="no ISO 20022 message element in the file"):
        detect(io.BytesIO(b"<html><body>not a payment</body></html>"))


def test_parse_error_names_file_line_and_path() -> None:
    error = ParseError(
        "amount 'x' is not a decimal number", file="f.xml", line=7, path="/Document/BkToCstmrStmt/Stmt/Ntry/Amt"
    )
    assert str(error) == "f.xml:7: /Document/BkToCstmrStmt/Stmt/Ntry/Amt: amount 'x' is not a decimal number"


def test_detect_puts_a_seekable_file_back_and_refuses_text_streams() -> None:
    data = _big_statement(10)
    handle = io.BytesIO(data)
    assert detect(handle).message_type == "camt.053" and handle.tell() == 0
    assert len(list(iter_records(handle))) == 12
    with pytest.raises(TypeError, match="binary file"):
        detect(io.StringIO(data.decode()))


def test_the_business_application_header_is_read_beside_the_message(samples: Path) -> None:
    info = detect(samples / "pacs.008/moov-io-fednow20022__pacs.008.001.08__sample-participant-to-fednow-message.xml")
    header = info.business_header
    assert (header["bah_from"], header["bah_to"]) == ("CLRSYS:111111111", "CLRSYS:021150706")  # no ClrSysId in the file
    assert (header["bah_biz_msg_id"], header["bah_msg_def_id"]) == (
        "20230604111111111Sc01Step1MsgId",
        "pacs.008.001.08",
    )
    assert header["bah_created_at"].isoformat() == "2023-06-04T10:55:26-04:00"
