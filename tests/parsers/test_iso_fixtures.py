"""Hand-written fixtures: valid/ inputs beside their rows, invalid/ inputs beside their error.

An invalid fixture's JSON names the error class, a substring of its message,
and the exact line and element path it must report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers import ParseError, UnknownMessageError, iter_records

DATA = Path(__file__).parent / "data"
VALID = sorted((DATA / "valid").glob("*.xml"))
INVALID = sorted((DATA / "invalid").glob("*.xml"))
ERRORS = {"ParseError": ParseError, "UnknownMessageError": UnknownMessageError}


@pytest.mark.parametrize("path", VALID, ids=[path.stem for path in VALID])
def test_valid_fixture_gives_expected_rows(path: Path, rows_of) -> None:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert rows_of(path) == expected


@pytest.mark.parametrize("path", INVALID, ids=[path.stem for path in INVALID])
def test_invalid_fixture_is_refused_where_it_is_wrong(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    with pytest.raises(ParseError) as raised:
        for _ in iter_records(path):
            pass
    error = raised.value
    assert type(error) is ERRORS[expected["error"]]
    assert expected["message"] in error.message
    assert (error.line, error.path) == (expected["line"], expected["path"])
    assert error.file == str(path)
    assert str(path) in str(error) and (error.path or "?") in str(error)


def test_every_fixture_has_its_expectation() -> None:
    for folder in ("valid", "invalid"):
        inputs = {path.stem for path in (DATA / folder).glob("*.xml")}
        expectations = {path.stem for path in (DATA / folder).glob("*.json")}
        assert inputs == expectations, folder
