"""Which reader reads which message, and the one entry point over them all.

The registry is keyed by message type, which ``detect`` takes from the root
namespace (``urn:iso:std:iso:20022:tech:xsd:camt.053.001.02`` -> camt.053) or,
in a file without one, from the message element. Every version of a type goes
to the same reader, which reads by local element name, so a version that
differs from its neighbours only in its namespace needs no code at all.
"""

from __future__ import annotations

import contextlib
from typing import BinaryIO, Callable, Iterator

from parsers.camt import read_bank_to_customer
from parsers.detect import MessageInfo, Source, open_message
from parsers.errors import UnknownMessageError
from parsers.payments import (
    read_credit_transfers,
    read_initiations,
    read_returns,
    read_status_reports,
)
from parsers.records import Record

Reader = Callable[[BinaryIO, MessageInfo, str], Iterator[Record]]

READERS: dict[str, Reader] = {
    "camt.052": read_bank_to_customer,
    "camt.053": read_bank_to_customer,
    "camt.054": read_bank_to_customer,
    "pacs.008": read_credit_transfers,
    "pacs.009": read_credit_transfers,  # FI credit transfers: how clearing settles
    "pacs.002": read_status_reports,
    "pain.002": read_status_reports,  # the bank's status of the pain.001 orders the platform sends
    "pacs.004": read_returns,
    "pain.001": read_initiations,
}


def reader_for(info: MessageInfo, file: str) -> Reader:
    reader = READERS.get(info.message_type)
    if reader is None:
        raise UnknownMessageError(
            f"{info.message_type} ({info.element}) is not a message the platform takes; "
            f"it reads {', '.join(sorted(READERS))}",
            namespace=info.namespace,
            element=info.element,
            file=file,
            line=info.line,
            path=f"/{info.root}/.../{info.element}" if info.root != info.element else f"/{info.element}",
        )
    return reader


def read_message(source: Source) -> tuple[MessageInfo, Iterator[Record]]:
    """The message in ``source`` and its records, from one reading of the file.

    What ingest needs: the message type (known once the head is read) before the
    records, without detecting the file a second time. A file named by its path is
    opened here and closed when the records end (exhausted, failed, or closed once
    started); records never started leave it to the garbage collector.
    """
    opened = contextlib.ExitStack()
    stream, info, file = opened.enter_context(open_message(source))

    def records() -> Iterator[Record]:
        with opened:
            yield from reader_for(info, file)(stream, info, file)

    return info, records()


def iter_records(source: Source) -> Iterator[Record]:
    """Records of the message in ``source`` (path or binary file), in document order.

    Streams: records come out while the file is read, so a consumer that must
    not keep a partial file (ingest) has to treat a ParseError raised late as
    failing the whole file.
    """
    _, records = read_message(source)
    yield from records
