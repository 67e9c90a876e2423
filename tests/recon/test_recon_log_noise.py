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


def test_tier_checks_have_no_wall_of_lossy_conversion_warnings_either(warehouse_url, caplog):
    """Tiers 1 and 2 run the same suite on a query (run_query_checkpoint): the same one summary line."""
    from deltran import config, db
    from expectations import checkpoint

    rows = " union all ".join(
        f"select 'ACC-{i:02d}'::text as account_id, 1000{i}31.123456789::numeric as bank_closing_balance,"
        f" 1000000.00::numeric as ledger_balance, (1000{i}31.123456789 - 1000000) / 10000::numeric as difference_pct,"
        " 0::numeric as under_backing_pct"
        for i in range(12)
    )
    caplog.set_level(logging.INFO)

    result = checkpoint.run_query_checkpoint(
        f"select * from ({rows}) as r",
        "tier_noise",
        "manual__tier_noise",
        sqlalchemy_url=db.sqlalchemy_url(warehouse_url),
        settings=config.load(),
        max_rows=12,
    )

    assert not result.success  # the figures fail bands: GX serialises the failing values
    lossy = [r for r in caplog.records if "lossy conversion" in r.getMessage()]
    summaries = [r for r in caplog.records if r.getMessage().startswith("GX turned ")]
    assert lossy == []
    assert len(summaries) == 1 and int(summaries[0].getMessage().split()[2]) > 0
    assert not logging.getLogger("great_expectations.util").filters
