"""The day's summary links each threshold check run to its own Data Docs page (issue 12: risk and audit)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from psycopg.rows import dict_row

from deltran import report
from deltran.recon.checks import run_threshold_checks

pytestmark = [pytest.mark.slow, pytest.mark.db]

DAY = date(2024, 5, 3)


def test_the_summary_names_each_check_run_and_its_data_docs_page(mart, conn):
    mart.add("ACC-1", DAY, "1000000.00", "1000000.00")
    mart.add("ACC-2", DAY, "1000900.00", "1000000.00")  # 0.09 %: Significant, the run fails expectations
    run_threshold_checks(DAY, "manual__summary_links")

    with conn.cursor(row_factory=dict_row) as cur:
        (check,) = report.threshold_check_runs(cur, DAY)
    assert check["run_id"] == "manual__summary_links" and check["gx_success"] is False
    page = Path(check["data_docs"])
    assert page.is_file() and page.suffix == ".html" and "manual__summary_links" in str(page)
    assert any(str(page) in line for line in report.format_check_runs([check]))
