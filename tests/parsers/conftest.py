"""Shared fixtures of the ISO 20022 reader tests.

The sample corpus is located once, by tests/iso20022_corpus.py (never copied
into the project); ``samples`` skips without it, and fails under CI.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Callable

import pytest

from parsers.cli import main

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def samples(iso20022_samples: Path) -> Path:
    return iso20022_samples


@pytest.fixture(scope="session")
def rows_of() -> Callable[[Path], list[dict]]:
    """The rows `deltran parse FILE` prints, as JSON objects without their null fields.

    Expected files list only the fields that have a value, so a field the
    reader fills where the file has nothing fails the comparison just as a
    missing one does.
    """

    def rows(path: Path) -> list[dict]:
        out = io.StringIO()
        with redirect_stdout(out):
            assert main([str(path)]) == 0
        return [
            {key: value for key, value in json.loads(line).items() if value is not None}
            for line in out.getvalue().splitlines()
        ]

    return rows
