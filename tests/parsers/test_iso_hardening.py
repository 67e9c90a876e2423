"""Hostile XML is refused before any entity could be expanded or fetched.

How fast is not asserted here (tests never assert on wall time): a refusal
that comes from the DTD check itself, before parsing, is what keeps it fast.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from parsers import ParseError, detect, iter_records

INVALID = Path(__file__).parent / "data" / "invalid"


def _refused(source) -> ParseError:
    with pytest.raises(ParseError) as raised:
        for _ in iter_records(source):
            pass
    return raised.value


@pytest.mark.parametrize("name", ["billion_laughs.xml", "external_entity.xml"])
def test_dtd_is_refused_quickly(name: str) -> None:
    error = _refused(INVALID / name)
    assert "DTD is not allowed" in error.message
    assert "root:" not in str(error)  # nothing of /etc/passwd leaked into the message


def test_dtd_is_refused_from_a_stream_and_by_detect() -> None:
    data = (INVALID / "billion_laughs.xml").read_bytes()
    assert "DTD" in _refused(io.BytesIO(data)).message
    with pytest.raises(ParseError, match="DTD"):
        detect(io.BytesIO(data))


def test_a_dtd_larger_than_the_first_read_is_refused_before_it_is_parsed() -> None:
    declarations = "".join(f'<!ENTITY e{n} "{"x" * 100}">\n' for n in range(5000))  # ~600 KB
    data = f'<?xml version="1.0"?>\n<!DOCTYPE Document [\n{declarations}]>\n<Document/>'.encode()
    error = _refused(io.BytesIO(data))
    assert (error.line, "DTD" in error.message) == (2, True)


def test_an_external_dtd_is_never_fetched() -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://192.0.2.1/iso.dtd"><Document/>'
    assert "DTD" in _refused(io.BytesIO(data)).message


def test_a_dtd_in_utf16_is_refused_at_the_root() -> None:
    """The byte scan cannot read UTF-16; the check at the root element still can."""
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE D [<!ENTITY a "b">]><Document/>'
    assert "DTD" in _refused(io.BytesIO(text.encode("utf-16"))).message


def test_a_doctype_mentioned_after_the_root_is_only_text() -> None:
    data = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10"><FIToFIPmtStsRpt>'
        b"<GrpHdr><MsgId>M</MsgId></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>O</OrgnlMsgId>"
        b"<GrpSts>RJCT</GrpSts><StsRsnInf><AddtlInf><![CDATA[<!DOCTYPE x>]]></AddtlInf>"
        b"</StsRsnInf></OrgnlGrpInfAndSts></FIToFIPmtStsRpt></Document>"
    )
    [status] = iter_records(io.BytesIO(data))
    assert status.reason_text == "<!DOCTYPE x>"


def test_a_file_is_refused_for_its_own_error_not_an_earlier_files() -> None:
    # lxml's error log belongs to the thread: before each message is read it is
    # cleared, or the undefined entity of the file before would name this one's
    # truncation (ingest quarantined a truncated statement as "undefined entity")
    assert "undefined entity" in str(_refused(INVALID / "undefined_entity.xml"))
    message = str(_refused(INVALID / "truncated.xml"))
    assert "not well-formed" in message and "undefined entity" not in message
