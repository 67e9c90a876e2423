"""Great Expectations Data Docs without internet: every run on the index, no CDN, business language.

The slow test runs the real checkpoint twice and opens the site in headless
Chromium with the network off (screenshots in var/test-artifacts/data-docs/).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import browser_support
import pytest

from deltran import config
from deltran.recon.checks import run_threshold_checks
from expectations import data_docs
from expectations.checkpoint import data_docs_dir

DAY = date(2024, 6, 3)
ARTIFACTS = browser_support.ARTIFACTS / "data-docs"
GX_HEAD = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="//unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js"></script>
<link rel="stylesheet" href="../static/styles/data_docs_default_styles.css">
<script>$(function(){ $('#t').bootstrapTable() })</script>
</head><body><img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png">
<i class="fas fa-check-circle text-success"></i></body></html>"""


def test_a_gx_page_loses_every_outside_resource_and_script_once():
    page = data_docs.offline_page(GX_HEAD, "../")
    assert not re.search(r"https?://|//unpkg|<script", page)
    assert '<link rel="stylesheet" href="../static/styles/data_docs_default_styles.css">' in page  # local kept
    assert '<link rel="stylesheet" href="../static/deltran/offline.css">' in page
    assert data_docs.offline_page(page, "../") == page  # idempotent


@pytest.mark.slow
@pytest.mark.db
def test_data_docs_list_every_run_and_work_offline(mart):
    mart.add("ACC-OK", DAY, "1000000.00", "1000000.00")
    mart.add("ACC-MINOR", DAY, "1000200.00", "1000000.00")
    mart.add("ACC-UNDER", DAY, "990000.00", "1000000.00")
    first = run_threshold_checks(DAY, "scheduled__2024-06-03T00:00:00+00:00")
    second = run_threshold_checks(DAY, "manual__2024-06-04T08:00:00+00:00")
    docs = data_docs_dir(config.load())
    pages = sorted(docs.rglob("*.html"))
    for page in pages:
        html = page.read_text()
        assert "<script" not in html, page
        assert not re.search(r"""<(?:link|img|script)\b[^>]*(?:href|src)=["']?(?:https?:)?//""", html), page
    index = (docs / "index.html").read_text()
    rows = re.findall(r"<tr><td>2024-06-03</td><td>([^<]+)</td>", index)
    assert rows == ["manual__2024-06-04T08:00:00+00:00", "scheduled__2024-06-03T00:00:00+00:00"]  # newest first
    assert "under_backing_within_ok (accounts beyond it: Critical)" in index
    # each run's page is the one the check recorded (and the reconciliation page links)
    for result in (first, second):
        assert result.data_docs_page.is_file() and "deltran: offline data docs" in result.data_docs_page.read_text()

    browser_support.require_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_support.CHROMIUM, args=browser_support.CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(offline=True, viewport={"width": 1300, "height": 900})
            page = context.new_page()
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith("file:") else None)
            page.goto((docs / "index.html").as_uri())
            assert page.locator("#validation-runs tbody tr").count() == 2
            assert page.locator("#validation-runs").inner_text().count("checks failed") == 2
            page.screenshot(path=ARTIFACTS / "index-offline.png", full_page=True)
            page.get_by_role("link", name="open the run").first.click()
            page.wait_for_load_state()
            text = page.locator("body").inner_text()
            assert "Backing: the ledger exceeds the bank's closing balance by at most" in text
            assert "ACC-UNDER" in text
            # the status icons are drawn by the local stylesheet (no icon font from a CDN)
            icon = page.locator(".fa-times").first
            assert icon.evaluate("e => getComputedStyle(e, '::before').content") == '"\u2716"'
            page.screenshot(path=ARTIFACTS / "validation-offline.png", full_page=True)
        finally:
            browser.close()
    assert outside == []
    assert Path(ARTIFACTS / "index-offline.png").stat().st_size > 0
