"""Golden rows for real samples, one or more per message type and version family.

Each ``data/golden/<sample file name>.json`` was written by hand from the XML
(the sample itself stays in the shared corpus) and lists, per row, the fields
that have a value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GOLDEN = sorted((Path(__file__).parent / "data" / "golden").glob("*.json"))


@pytest.mark.parametrize("expected", GOLDEN, ids=[path.stem for path in GOLDEN])
def test_rows_match_golden(expected: Path, samples: Path, rows_of) -> None:
    matches = list(samples.glob(f"*/{expected.stem}"))
    assert len(matches) == 1, f"sample {expected.stem} not found once in {samples}"
    assert rows_of(matches[0]) == json.loads(expected.read_text(encoding="utf-8"))


def test_golden_covers_every_message_family() -> None:
    families = {path.stem.split("__")[1][:12] for path in GOLDEN}
    assert {
        "camt.052.001",
        "camt.053.001",
        "camt.054.001",
        "pacs.008.001",
        "pacs.002.001",
        "pacs.004.001",
        "pain.001.001",
        "pain.002.001",
        "pacs.009.001",
    } <= families
    versions = {path.stem.split("__")[1] for path in GOLDEN}
    for old, new in (
        ("camt.052.001.02", "camt.052.001.12"),
        ("camt.053.001.02", "camt.053.001.08"),
        ("camt.054.001.04", "camt.054.001.08"),
        ("pacs.008.001.02", "pacs.008.001.12"),
        ("pain.001.001.03", "pain.001.001.09"),
    ):
        assert {old, new} <= versions
