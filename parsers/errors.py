"""Typed errors of the ISO 20022 readers.

Ingest quarantines a file with the message of its error, so the message must
say where the problem is without anyone opening the file: which file, which
line, which element (by local names, e.g. /Document/BkToCstmrStmt/Stmt/Ntry/Amt).
"""

from __future__ import annotations


class ParseError(Exception):
    """A file that cannot be read into complete records."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, path: str | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        line = "?" if self.line is None else self.line
        return f"{self.file or '<stream>'}:{line}: {self.path or '?'}: {self.message}"


class UnknownMessageError(ParseError):
    """The file is XML, but not a message (or version family) the platform takes."""

    def __init__(
        self,
        message: str,
        *,
        namespace: str | None,
        element: str | None,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
    ) -> None:
        self.namespace = namespace
        self.element = element
        super().__init__(
            f"{message} (namespace {namespace or '(none)'}, element {element or '(none)'})",
            file=file,
            line=line,
            path=path,
        )
