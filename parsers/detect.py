"""Which message is this file, read from its first bytes; and the hardened parse.

A file's message is found by looking through whatever wraps the ISO Document
(SWIFT ``Envelope``, ``BusMsg``, ``RequestPayload``, FedNow envelopes, a
business application header ``AppHdr`` beside it): the first element in an
ISO 20022 message namespace, or named like an ISO message element, decides.
Message type and version come from the namespace (``...:camt.053.001.02``,
the Swiss ``pain.001.001.03.ch.02``, the Austrian ``ISO:camt.053.001.02:APC:
STUZZA...``, the EBA ``pacs.002.001.03S2``); a file without any namespace is
known by its message element (``BkToCstmrStmt``...), its version then taken
from the AppHdr's ``MsgDefIdr`` where there is one.

Every parse refuses DTDs: ISO 20022 messages never have one, and a DTD is how
entity-expansion ("billion laughs") and external-entity attacks arrive. The
refusal happens at the root element, before any entity could be used.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Sequence, cast, overload

from lxml import etree

from parsers.errors import ParseError, UnknownMessageError
from parsers.values import element_path, local_name, participant

Source = str | Path | BinaryIO

HARDENED = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    remove_comments=True,
    remove_pis=True,
    huge_tree=False,
    collect_ids=False,
)

# local name of the message element -> message type (V01.. and S2 suffixes removed)
MESSAGE_ELEMENTS = {
    "BkToCstmrAcctRpt": "camt.052",
    "BkToCstmrStmt": "camt.053",
    "BkToCstmrDbtCdtNtfctn": "camt.054",
    "FIToFICstmrCdtTrf": "pacs.008",
    "FIToFIPmtStsRpt": "pacs.002",
    "PmtRtr": "pacs.004",
    "CstmrCdtTrfInitn": "pain.001",
    "FICdtTrf": "pacs.009",
    "CstmrPmtStsRpt": "pain.002",
}
_ELEMENT_SUFFIX = re.compile(r"(?:V\d{2}|S2)$")
_VERSION = re.compile(r"([a-z]{4}\.\d{3})\.\d{3}\.\d{2}(?:S2|\.ch\.\d{2})?")
_CHUNK = 64 * 1024
_DETECT_LIMIT = 4 * 1024 * 1024  # AppHdr with signatures stays far below
_DETECT_EVENTS = 20_000  # start and end events before the message element (a signed AppHdr has a few hundred)
# The most a message may hold between two reported elements (entries, transactions,
# headers): no real entry or transaction comes near it; an element flood does.
MAX_UNREPORTED_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class MessageInfo:
    message_type: str  # 'camt.053'
    version: str | None  # 'camt.053.001.02'; None when neither namespace nor AppHdr names it
    namespace: str | None  # of the message's content (its element's, but for odd wrappers); None when the file has none
    element: str  # local name of the message element: 'BkToCstmrStmt'
    root: str  # local name of the file's root element: 'Document', 'Envelope', 'BusMsg'...
    line: int | None = None  # line of the message element
    # the business application header beside the Document, as record fields (bah_biz_msg_id...)
    business_header: dict[str, Any] = field(default_factory=dict)


def message_type_of(namespace: str | None, element: str) -> tuple[str, str | None] | None:
    """(message type, version) from a namespace, else (type, None) from the element name."""
    match = _VERSION.search(namespace or "")
    if match:
        return match.group(1), match.group(0)
    by_name = MESSAGE_ELEMENTS.get(_ELEMENT_SUFFIX.sub("", element))
    return (by_name, None) if by_name else None


def file_name(source: Source) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


def detect(source: Source) -> MessageInfo:
    """The message in ``source``, reading only as far as its message element.

    A seekable file object is put back where it was, ready to be read again.
    """
    stream = None if isinstance(source, (str, Path)) else source
    position = stream.tell() if stream is not None and stream.seekable() else None
    try:
        with open_message(source) as (_, info, _):
            return info
    finally:
        if stream is not None and position is not None:
            stream.seek(position)


@contextmanager
def open_message(source: Source) -> Iterator[tuple[BinaryIO, MessageInfo, str]]:
    """(stream from the first byte, message info, file name); closes what it opened."""
    name = file_name(source)
    stream = open(source, "rb") if isinstance(source, (str, Path)) else source  # noqa: SIM115 (closed below)
    try:
        info, head = _detect(stream, name)
        yield cast(BinaryIO, _Replay(head, stream)), info, name  # read() is all the readers use
    finally:
        if stream is not source:
            stream.close()


class _Replay:
    """The bytes detection already read, then the rest of the stream (pipes cannot seek)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size < 0 or size >= len(self._head):
            data, self._head = self._head, b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data


def _detect(stream: BinaryIO, file: str) -> tuple[MessageInfo, bytes]:
    # lxml's error log is the thread's, not the parser's: an earlier file's
    # errors (an undefined entity) would otherwise name this file's failure
    etree.clear_error_log()
    parser = etree.XMLPullParser(events=("start", "end"), **HARDENED)
    head = bytearray()
    prolog = _Prolog()
    root: etree._Element | None = None
    document: etree._Element | None = None  # a Document whose first child is the message
    message_definition: str | None = None  # AppHdr/MsgDefIdr
    header: dict[str, object] = {}  # AppHdr fields
    seen = 0  # start and end events so far
    while True:
        chunk = stream.read(_CHUNK)
        if not isinstance(chunk, bytes):
            raise TypeError(f"{file}: a path or a binary file is needed, not a text stream")
        head += chunk
        if not prolog.done:
            prolog.check(head, file, complete=not chunk)
        if not head:
            raise ParseError("the file is empty", file=file)
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for event, element in parser.read_events():
                if root is None:
                    root = element
                    _refuse_dtd(element, file)
                seen += 1
                if seen > _DETECT_EVENTS:
                    raise ParseError(
                        f"more than {_DETECT_EVENTS // 2:,} elements before the message element: an element flood, "
                        "not a wrapper or business application header",
                        file=file,
                        line=element.sourceline,
                        path=element_path(element),
                    )
                namespace, _, name = element.tag.rpartition("}")
                namespace = namespace[1:] or None
                if event == "end":
                    if name == "MsgDefIdr":
                        message_definition = (element.text or "").strip()
                    if name in _HEADER_FIELDS:
                        parent = element.getparent()
                        if parent is not None and local_name(parent.tag) == "AppHdr":
                            _header_field(header, name, element, file)
                    elif element is document:
                        raise UnknownMessageError(
                            "Document holds no message",
                            file=file,
                            line=element.sourceline,
                            namespace=namespace,
                            element=name,
                            path=element_path(element),
                        )
                    continue
                if document is not None:
                    return _info(element, root, message_definition, file, header), bytes(head)
                known = message_type_of(namespace, name)
                if name == "Document":
                    document = element
                elif known and not known[0].startswith("head."):
                    return _info(element, root, message_definition, file, header), bytes(head)
        except etree.XMLSyntaxError as exc:
            raise syntax_error(file, exc, root) from None
        if not chunk or len(head) > _DETECT_LIMIT:
            where = f"in the first {len(head)} bytes" if chunk else "in the file"
            root_ns, _, root_name = root.tag.rpartition("}") if root is not None else ("", "", "")
            raise UnknownMessageError(
                f"no ISO 20022 message element {where}",
                file=file,
                line=root.sourceline if root is not None else None,
                namespace=root_ns[1:] or None,
                element=root_name or None,
                path=f"/{root_name}" if root_name else None,
            )


class _Prolog:
    """Refuse a DOCTYPE before lxml reads it, scanning each byte of the prolog once.

    Scans declarations, comments and processing instructions up to the root
    element's start tag, resuming where the previous chunk's scan stopped, so
    megabytes of comments or processing instructions cost linear time. (A file
    in an encoding this byte scan cannot read, such as UTF-16, is still caught
    by the docinfo check at its root.)
    """

    def __init__(self) -> None:
        self.done = False
        self.position = 0  # where the next markup may start
        self.searched = 0  # how far the search for a terminator has got

    def check(self, head: bytearray, file: str, complete: bool) -> None:
        position = self.position
        while True:
            position = head.find(b"<", position)
            if position < 0 or (len(head) - position < len(b"<!DOCTYPE") and not complete):
                self.position = max(self.position, len(head) - 1 if position < 0 else position)
                self.done = complete
                return
            if head.startswith(b"<!DOCTYPE", position):
                raise ParseError(
                    "a DTD is not allowed in an ISO 20022 message",
                    file=file,
                    line=head.count(b"\n", 0, position) + 1,
                    path="/",
                )
            if head.startswith(b"<?", position):
                terminator = b"?>"
            elif head.startswith(b"<!--", position):
                terminator = b"-->"
            else:
                self.done = True  # the root element starts: no DOCTYPE can follow
                return
            end = head.find(terminator, max(position, self.searched))
            if end < 0:
                self.position = position
                self.searched = max(position, len(head) - len(terminator))
                self.done = complete
                return
            position = end + len(terminator)
            self.position = self.searched = position


def _refuse_dtd(root: etree._Element, file: str) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ParseError(
            "a DTD is not allowed in an ISO 20022 message",
            file=file,
            line=root.sourceline,
            path=f"/{local_name(root.tag)}",
        )


_HEADER_FIELDS = {
    "BizMsgIdr": "bah_biz_msg_id",
    "MsgDefIdr": "bah_msg_def_id",
    "CreDt": "bah_created_at",
    "Fr": "bah_from",
    "To": "bah_to",
}
_PARTY_IDS = ("BICFI", "BIC", "AnyBIC", "MmbId", "Id")


def _header_field(header: dict[str, Any], name: str, element: etree._Element, file: str) -> None:
    if name in ("Fr", "To"):
        # the sender or receiver: an institution's participant key (BIC, else
        # clearing-system id...), else the first BIC or id under it
        institution = next((node for node in element.iter() if local_name(node.tag) == "FinInstnId"), None)
        value = participant(institution).key if institution is not None else None
        if value is None:
            found = {local_name(node.tag): node.text for node in element.iter() if node.text and node.text.strip()}
            value = next((found[key].strip() for key in _PARTY_IDS if key in found), None)
    else:
        value = (element.text or "").strip() or None
        if name == "CreDt" and value is not None:
            try:
                header[_HEADER_FIELDS[name]] = datetime.fromisoformat(value)
                return
            except ValueError:
                raise ParseError(
                    f"{value[:40]!r} is not a date-time", file=file, line=element.sourceline, path=element_path(element)
                ) from None
    header[_HEADER_FIELDS[name]] = value


def _info(
    element: etree._Element,
    root: etree._Element,
    message_definition: str | None,
    file: str,
    header: dict[str, object] | None = None,
) -> MessageInfo:
    namespace, _, name = element.tag.rpartition("}")
    namespace = namespace[1:] or None
    known = message_type_of(namespace, name)
    if known is None:
        raise UnknownMessageError(
            "not an ISO 20022 message this platform knows",
            file=file,
            line=element.sourceline,
            path=element_path(element),
            namespace=namespace,
            element=name,
        )
    message_type, version = known
    by_name = MESSAGE_ELEMENTS.get(_ELEMENT_SUFFIX.sub("", name))
    if by_name and by_name != message_type:
        raise UnknownMessageError(
            f"the namespace says {message_type} but {name} is a {by_name}",
            file=file,
            line=element.sourceline,
            path=element_path(element),
            namespace=namespace,
            element=name,
        )
    if namespace and not _VERSION.search(namespace):
        # a message element in a wrapper's own namespace whose content is in the
        # ISO one (xmlns:isct="...pacs.009.001.09"): read the content's namespace
        iso = {ns for ns in element.nsmap.values() if (m := _VERSION.search(ns)) and m.group(1) == message_type}
        if len(iso) == 1:
            namespace = iso.pop()
            found = _VERSION.search(namespace)
            version = found.group(0) if found else version
    if version is None and message_definition and message_definition.startswith(message_type):
        version = message_definition
    return MessageInfo(
        message_type, version, namespace, name, local_name(root.tag), element.sourceline, dict(header or {})
    )


def syntax_error(
    file: str, exc: etree.XMLSyntaxError, near: etree._Element | None, fallback: str | None = None
) -> ParseError:
    """A not-well-formed file, located near the deepest element read when parsing stopped.

    An undefined entity gets its own message (lxml reports only its
    consequence, 'no element found', with no line): without a DTD only the
    five XML entities exist.
    """
    path = fallback
    if near is not None:
        node = near.getroottree().getroot()
        while len(node):
            node = node[-1]
        path = element_path(node)
    message, line = exc.msg, exc.lineno or None
    undeclared = [entry for entry in exc.error_log if entry.type_name == "ERR_UNDECLARED_ENTITY"]
    if undeclared:
        entity = re.search(r"Entity '([^']*)'", undeclared[-1].message)
        name = entity.group(1) if entity else "?"
        line = undeclared[-1].line or line
        return ParseError(
            f"undefined entity &{name};: an ISO 20022 message has no DTD, so only &amp; &lt; &gt; &quot; "
            "&apos; and character references (&#...;) can be used",
            file=file,
            line=line,
            path=path,
        )
    return ParseError(f"not well-formed XML: {message}", file=file, line=line, path=path)


class Quiet:
    """Asks end_elements for None after each chunk of input that ended no reported element.

    The reader may then read (and remove) what the tree holds of an element still
    open, such as the finished details of a large batch entry, and sets
    ``progress`` when it did: that counts as a reported element for the bound.
    """

    __slots__ = ("progress",)

    def __init__(self) -> None:
        self.progress = False


@overload
def end_elements(
    stream: BinaryIO, file: str, info: MessageInfo, tags: Sequence[str], quiet: None = None
) -> Iterator[etree._Element]: ...


@overload
def end_elements(
    stream: BinaryIO, file: str, info: MessageInfo, tags: Sequence[str], quiet: Quiet
) -> Iterator[etree._Element | None]: ...


def end_elements(
    stream: BinaryIO, file: str, info: MessageInfo, tags: Sequence[str], quiet: Quiet | None = None
) -> Iterator[etree._Element | None]:
    """Elements named ``tags`` as each ends, from a hardened streaming parse
    (with ``quiet``, also None after a chunk that ended none of them).

    Readers release each reported element (``release``), so the tree holds at
    most what arrived since the last one. That is bounded here: when no
    reported element ends within MAX_UNREPORTED_BYTES (an element flood, a
    huge attribute, text or CDATA section), the file is refused there, before
    it can take the memory the bound protects.
    """
    etree.clear_error_log()  # this message's errors only (see _detect)
    parser = etree.XMLPullParser(events=("end",), tag=tags, **HARDENED)
    last = None
    unreported = 0
    try:
        while True:
            chunk = stream.read(_CHUNK)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            reported = False
            for _, last in parser.read_events():
                reported = True
                yield last
            if not chunk:
                return
            if not reported and quiet is not None:
                quiet.progress = False
                yield None
                reported = quiet.progress
            unreported = 0 if reported else unreported + len(chunk)
            if unreported > MAX_UNREPORTED_BYTES:
                raise ParseError(
                    f"more than {MAX_UNREPORTED_BYTES >> 20} MB without a complete "
                    f"{' or '.join(tag.rpartition('}')[2] for tag in tags)}: an element flood, or an attribute, "
                    "text or CDATA section far larger than any ISO 20022 field",
                    file=file,
                    line=None,
                    path=_deepest(parser, last, info),
                )
    except etree.XMLSyntaxError as exc:
        # before the first reported element lxml knows no root: name the file's root
        raise syntax_error(file, exc, last, fallback=f"/{info.root}") from None


def _deepest(parser: etree.XMLPullParser, last: etree._Element | None, info: MessageInfo) -> str:
    root = last.getroottree().getroot() if last is not None else None
    if root is None:
        return f"/{info.root}"
    node = root
    while len(node):
        node = node[-1]
    return element_path(node)


def release(element: etree._Element) -> None:
    """Clear a finished element and drop its earlier siblings, so memory stays flat."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
