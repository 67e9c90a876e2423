"""ISO 20022 readers: every message the platform takes, every version banks send.

``iter_records(path_or_binary_file)`` streams version-independent records
(``parsers.records``); ``detect`` names the message from the first bytes;
``read_message`` gives both from one reading;
``ParseError`` says which file, line and element is wrong. ``parsers.writers``
writes camt.05x files; ``parsers.cli`` is ``deltran parse``.
"""

from parsers.detect import MessageInfo, detect
from parsers.errors import ParseError, UnknownMessageError
from parsers.records import ROW_FIELDS, to_rows
from parsers.registry import iter_records, read_message

__all__ = [
    "ROW_FIELDS",
    "MessageInfo",
    "ParseError",
    "UnknownMessageError",
    "detect",
    "iter_records",
    "read_message",
    "to_rows",
]
