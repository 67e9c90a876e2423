"""ISO 20022 readers: every message the platform takes, every version banks send.

``iter_records(path_or_binary_file)`` streams version-independent records
(``parsers.records``); ``detect`` names the message from the first bytes;
``ParseError`` says which file, line and element is wrong. ``parsers.writers``
writes camt.05x files; ``parsers.cli`` is ``deltran parse``.
"""

from parsers.detect import MessageInfo, detect
from parsers.errors import ParseError, UnknownMessageError
from parsers.records import PARSE_ONLY_FIELDS, ROW_FIELDS, to_rows
from parsers.registry import iter_records

__all__ = [
    "PARSE_ONLY_FIELDS",
    "ROW_FIELDS",
    "MessageInfo",
    "ParseError",
    "UnknownMessageError",
    "detect",
    "iter_records",
    "to_rows",
]
