"""Shared fixtures of the ISO 20022 reader tests.

The sample corpus stays in the shared folder beside the repository (never
copied into it); DELTRAN_ISO20022_SAMPLES points elsewhere when needed.
"""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stdout
from pathlib import Path
from typing import Callable

import pytest

from parsers.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("DELTRAN_ISO20022_SAMPLES", REPO.parent / "shared" / "iso20022-samples"))
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample corpus not found at {SAMPLES}")
    return SAMPLES


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
