"""Every file of the shared sample corpus: read whole, or refused for a reason listed here.

The corpus is walked by glob, so files added later are covered too. A file
either yields complete records, or raises the error its pattern below names;
the patterns are the whole list of expected failures, and each must still
match a file, so neither a regression nor a stale entry can hide.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path

import pytest

from parsers import ParseError, detect, iter_records, to_rows
from parsers.records import Entry, Payment, PaymentReturn, Statement, StatusReport

from iso20022_corpus import SAMPLES  # needed at collection time; without it CI fails at the session start

EXPECTED_FAILURES: dict[str, type[ParseError]] = {
    # the one file of the corpus libxml2 calls not well-formed
    "pain.002/L0C4RD-playset__pain.002.001.14__sample-pain-002-001-14.xml": ParseError,
    # amounts in XXX, ISO 4217's "no currency" code: not an amount of money
    # anyone can settle, so the statement is refused rather than read
    "camt.053/kedder-ofxstatement-iso20022__camt.053.001.02__gcamp6.xml": ParseError,
}


def _corpus() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    # messages only: the XSDs and the corpus description are not samples
    return sorted(
        path
        for path in SAMPLES.rglob("*")
        if path.is_file() and "xsd" not in path.relative_to(SAMPLES).parts[:1] and path.name != "SOURCES.md"
    )


FILES = _corpus()


def _expected_failure(path: Path) -> type[ParseError] | None:
    relative = path.relative_to(SAMPLES).as_posix()
    return next((error for pattern, error in EXPECTED_FAILURES.items() if fnmatch(relative, pattern)), None)


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_sample_reads_whole_or_is_refused_as_listed(path: Path) -> None:
    expected = _expected_failure(path)
    if expected is not None:
        with pytest.raises(expected) as raised:
            for _ in iter_records(path):
                pass
        assert raised.value.file == str(path) and raised.value.message
        return
    records = list(iter_records(path))
    assert records
    message_type = detect(path).message_type
    next_index: dict[str, int] = {}
    for record in records:
        assert record.message_type == message_type
        rows = list(to_rows(record))
        assert rows and all(row["record"] for row in rows)
        if isinstance(record, Entry):  # a statement's entries come first, numbered from 0
            assert record.entry_index == next_index.get(record.statement_id, 0)
            next_index[record.statement_id] = record.entry_index + 1
        if isinstance(record, Statement):  # then the statement, complete
            next_index.pop(record.statement_id, None)
        for name in ("amount", "returned_amount"):
            amount = getattr(record, name, None)
            if amount is not None:
                assert isinstance(amount, Decimal) and amount >= 0
                assert re.fullmatch(r"[A-Z]{3}", record.currency)


def test_expected_failures_all_still_match_a_file(samples: Path) -> None:
    for pattern in EXPECTED_FAILURES:
        assert any(fnmatch(path.relative_to(samples).as_posix(), pattern) for path in FILES), pattern


def _sources_counts(samples: Path) -> dict[str, Counter]:
    """Element counts that SOURCES.md states per file ('Stmt=1, Ntry=4, TxDtls=5, RvslInd=true x1')."""
    counts = {}
    for line in (samples / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([^`]+)` \|", line)
        if match:
            content = line.split("|")[7]
            found = Counter({name: int(number) for name, number in re.findall(r"(\w+)=(\d+)", content)})
            found["RvslInd"] = int(next(iter(re.findall(r"RvslInd=true x(\d+)", content)), 0))
            counts[match.group(1)] = found
    return counts


def test_record_counts_match_the_corpus_description(samples: Path) -> None:
    """The corpus was counted independently of this reader: statements, entries and
    transactions must come out exactly as many times as their elements occur."""
    stated = _sources_counts(samples)
    checked = 0
    for path in FILES:
        if path.name not in stated or _expected_failure(path):
            continue
        counts, records = stated[path.name], list(iter_records(path))
        kinds = Counter(type(record) for record in records)
        entries = [record for record in records if isinstance(record, Entry)]
        assert kinds[Statement] == counts["Stmt"] + counts["Rpt"] + counts["Ntfctn"], path.name
        assert len(entries) == counts["Ntry"], path.name
        assert sum(len(entry.transactions) for entry in entries) == counts["TxDtls"], path.name
        assert sum(entry.is_reversal for entry in entries) == counts["RvslInd"], path.name
        assert kinds[Payment] == counts["CdtTrfTxInf"], path.name
        assert kinds[PaymentReturn] == counts["TxInf"], path.name
        if counts["TxInfAndSts"]:
            assert kinds[StatusReport] == counts["TxInfAndSts"], path.name
        checked += 1
    assert checked
