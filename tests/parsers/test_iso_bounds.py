"""Bounded in time and memory, whatever arrives.

Batches of many transaction details are streamed in parts, never held whole;
floods of elements and huge attributes, texts or CDATA sections are refused
once they pass the bound, not after the tree has grown; the scan before the
root element reads each byte of the prolog a bounded number of times.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from parsers import ParseError, iter_records, to_rows
from parsers.camt import DETAILS_PER_PART
from parsers.detect import MAX_UNREPORTED_BYTES, _Prolog
from parsers.records import Entry, Finding

HEAD = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M</MsgId><CreDtTm>2024-01-01T00:00:00Z</CreDtTm></GrpHdr>
<Stmt><Id>S</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-01-01</Dt></Dt></Bal>
"""
TAIL = b"</Stmt></BkToCstmrStmt></Document>\n"


class _Stream(io.RawIOBase):
    """A file made on the fly from byte pieces, never whole in memory."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = bytearray()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def _batch(details: int, amount: str = "1.00") -> Iterator[bytes]:
    yield HEAD
    total = f"{details * int(amount.split('.')[0])}.00"
    yield (
        f'<Ntry><Amt Ccy="EUR">{total}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BkTxCd/><NtryDtls>'
    ).encode()
    for index in range(details):
        yield (
            f"<TxDtls><Refs><EndToEndId>E{index}</EndToEndId></Refs>"
            f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd></TxDtls>'
        ).encode()
    yield b"</NtryDtls><AddtlNtryInf>after the details</AddtlNtryInf></Ntry>"
    yield TAIL


def test_a_large_batch_comes_in_parts_that_number_every_detail_once() -> None:
    count = 2 * DETAILS_PER_PART + 17
    parts = [record for record in iter_records(_Stream(_batch(count))) if isinstance(record, Entry)]
    assert [len(part.transactions) for part in parts] == [DETAILS_PER_PART, DETAILS_PER_PART, 17]
    assert [part.detail_offset for part in parts] == [0, DETAILS_PER_PART, 2 * DETAILS_PER_PART]
    assert [part.more_details for part in parts] == [True, True, False]
    assert {part.entry_index for part in parts} == {0} and parts[-1].additional_info == "after the details"
    rows = [row for part in parts for row in to_rows(part)]
    assert [row["detail_index"] for row in rows] == list(range(count))
    assert [row["end_to_end_id"] for row in rows] == [f"E{index}" for index in range(count)]
    assert {row["entry_amount"] for row in rows} == {parts[0].amount} and {row["detail_count"] for row in rows} == {
        None
    }


def test_a_streamed_batch_is_still_checked_against_its_entry() -> None:
    """Details of 2.00 under an entry stated as if they were 1.00 each: the sum finding still comes."""
    pieces = (piece.replace(b'<Amt Ccy="EUR">1.00</Amt>', b'<Amt Ccy="EUR">2.00</Amt>') for piece in _batch(2500))
    findings = [record for record in iter_records(_Stream(pieces)) if isinstance(record, Finding)]
    assert [(finding.check, finding.expected, finding.actual) for finding in findings] == [("details_sum", 2500, 5000)]


def test_many_details_never_make_one_record() -> None:
    """The memory a batch takes is bounded by the part, however many details arrive
    (``bench/bench_parse.py --details 1000000`` measures the peak RSS of a million)."""
    largest = 0
    for record in iter_records(_Stream(_batch(100_000))):
        if isinstance(record, Entry):
            largest = max(largest, len(record.transactions))
    assert largest == DETAILS_PER_PART


def _entry_with(inside: bytes) -> Iterator[bytes]:
    yield HEAD
    yield b'<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BkTxCd/>'
    yield inside
    yield b"</Ntry>"
    yield TAIL


@pytest.mark.parametrize(
    "inside",
    [
        pytest.param(lambda size: (b"<X/>" for _ in range(size // 4)), id="element flood"),
        pytest.param(lambda size: iter([b'<AddtlNtryInf a="', b"x" * size, b'">t</AddtlNtryInf>']), id="attribute"),
        pytest.param(lambda size: iter([b"<AddtlNtryInf><![CDATA[", b"x" * size, b"]]></AddtlNtryInf>"]), id="cdata"),
        pytest.param(lambda size: iter([b"<AddtlNtryInf>", b"x" * size, b"</AddtlNtryInf>"]), id="text"),
    ],
)
def test_floods_and_huge_values_are_refused_at_the_bound(inside) -> None:
    fed = 0

    def pieces() -> Iterator[bytes]:
        nonlocal fed
        for piece in _entry_with(b"".join(inside(8 * MAX_UNREPORTED_BYTES))):
            for start in range(0, len(piece), 4096):
                fed += min(4096, len(piece) - start)
                yield piece[start : start + 4096]

    with pytest.raises(ParseError, match="without a complete") as raised:
        for _ in iter_records(_Stream(pieces())):
            pass
    assert "/Ntry" in (raised.value.path or "") or raised.value.path == "/Document"
    assert fed < 2 * MAX_UNREPORTED_BYTES + 256 * 1024  # refused early, not after reading all of it


class _CountingBuffer(bytearray):
    """Counts the bytes each search looks at, to show the prolog scan is linear."""

    searched = 0

    def find(self, sub, start=0, end=None):  # type: ignore[override]
        found = super().find(sub, start, end)
        _CountingBuffer.searched += (found if found >= 0 else len(self)) - start + len(sub)
        return found


def test_the_prolog_scan_reads_each_byte_a_bounded_number_of_times() -> None:
    """A few MB of processing instructions and comments arriving in chunks: the old scan
    started again from byte 0 on every chunk (quadratic: over a minute for a few MB)."""
    prolog = b"".join(b"<?pi " + b"x" * 40 + b"?><!-- " + b"y" * 40 + b" -->" for _ in range(40_000))
    head = _CountingBuffer()
    scanner = _Prolog()
    _CountingBuffer.searched = 0
    for start in range(0, len(prolog), 64 * 1024):
        head += prolog[start : start + 64 * 1024]
        scanner.check(head, "<test>", complete=False)
    head += b"<Document/>"
    scanner.check(head, "<test>", complete=False)
    assert scanner.done
    assert _CountingBuffer.searched < 3 * len(head)


def test_a_flood_before_the_message_element_is_refused_at_once() -> None:
    """Wrappers and the business application header are looked through, but only so far."""
    fed = 0

    def pieces() -> Iterator[bytes]:
        nonlocal fed
        yield b"<Envelope><AppHdr>"
        for _ in range(1_000_000):
            fed += 4
            yield b"<a/>"
        yield b'</AppHdr><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10"/></Envelope>'

    with pytest.raises(ParseError, match="elements before the message element") as raised:
        for _ in iter_records(_Stream(pieces())):
            pass
    assert raised.value.path == "/Envelope/AppHdr/a"
    assert fed < 256 * 1024


def _compact_batch(details: int, padding: int) -> Iterator[bytes]:
    """One entry of ``details`` empty TxDtls, each followed by ``padding`` spaces (same lines either way)."""
    yield HEAD
    yield b'<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BkTxCd/><NtryDtls>'
    for _ in range(details):
        yield b"<TxDtls/>" + b" " * padding
    yield b"</NtryDtls><AddtlNtryInf>after the details</AddtlNtryInf></Ntry>"
    yield TAIL


def test_a_batch_gives_the_same_parts_whether_read_whole_or_streamed() -> None:
    """1,500 details in a few kB are read when their entry ends; padded to 150 kB, as they end
    (a chunk of input passes without the entry ending): the records must not tell the difference."""
    whole = list(iter_records(_Stream(_compact_batch(1500, 0))))
    streamed = list(iter_records(_Stream(_compact_batch(1500, 100))))
    assert whole == streamed
    parts = [record for record in whole if isinstance(record, Entry)]
    assert [(len(part.transactions), part.detail_offset, part.more_details) for part in parts] == [
        (DETAILS_PER_PART, 0, True),
        (500, DETAILS_PER_PART, False),
    ]
    assert [part.additional_info for part in parts] == [None, "after the details"]
