"""A successful check's task log stays readable: GX's per-value float notices are summed up in one line."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from deltran.recon.checks import run_threshold_checks

pytestmark = [pytest.mark.slow, pytest.mark.db]

DAY = date(2024, 5, 2)


def test_no_wall_of_lossy_conversion_warnings_per_check(mart, caplog):
    # figures with more digits than a float carries: GX would log one warning per value it serialises
    for i in range(12):
        mart.add(f"ACC-{i:02d}", DAY, f"1000{i}31.123456789", "1000000.00")
    caplog.set_level(logging.INFO)

    result = run_threshold_checks(DAY, "manual__lossy")

    assert result.accounts and len(result.level_counts) >= 1
    lossy = [r for r in caplog.records if "lossy conversion" in r.getMessage()]
    summaries = [r for r in caplog.records if r.getMessage().startswith("GX turned ")]
    assert lossy == []
    assert len(summaries) == 1 and int(summaries[0].getMessage().split()[2]) > 0  # GX did convert figures
    # the filter is gone after the run: it hides nothing outside the checkpoint
    assert not logging.getLogger("great_expectations.util").filters
